"""`hopgen bench grasp|render|train`: run a benchmark from benchmarks/ and write its JSON result."""

import importlib
import json
import os
import sys

DEFAULT_OUT = os.path.join("benchmarks", "results", "{}.json")


def _parse_extra(extra):
    out = {}
    for item in extra or ():
        if "=" not in item:
            raise ValueError(f"benchmark option {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def run_benchmark(what, out=None, quick=False, extra=()):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if repo not in sys.path:
        sys.path.insert(0, repo)
    try:
        module = importlib.import_module(f"benchmarks.bench_{what}")
    except ImportError as e:
        raise RuntimeError(f"benchmark {what!r} is not available: {e}") from None
    out = out or DEFAULT_OUT.format(what)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    kwargs = _parse_extra(extra)
    import inspect
    if quick:
        if "quick" not in inspect.signature(module.run).parameters:
            raise ValueError(f"benchmark {what!r} has no quick mode")
        kwargs["quick"] = True
    result = module.run(out, **kwargs)
    print(json.dumps(result, indent=1)[:4000])
    print(f"wrote {out}")
    return 0
