"""`hopgen bench grasp|render|train`: run a benchmark of the source checkout and write its JSON result.

The benchmarks are a developer entry, not part of the installed package: they measure the
checkout's own configs (configs/hop.yaml, configs/train/*.yaml) and, without data, its test
fixtures (tests/hopfixtures.py), none of which a wheel ships. So `hopgen bench` looks for
benchmarks/bench_WHAT.py in the current directory, then in the checkout that holds the imported
hopgen package (an editable install or PYTHONPATH), loads that file by path (nothing is added to
sys.path) and says plainly where to run it when there is no checkout.
"""

import importlib.util
import inspect
import json
import os

BENCHMARKS = ("grasp", "render", "train")
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


def find_benchmark(what, cwd=None):
    """Path of benchmarks/bench_WHAT.py in the current directory or the checkout of this package."""
    if what not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {what!r}; expected one of {', '.join(BENCHMARKS)}")
    package_checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (os.path.abspath(cwd or os.getcwd()), package_checkout):
        path = os.path.join(root, "benchmarks", f"bench_{what}.py")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"hopgen bench {what}: benchmarks/bench_{what}.py not found in {os.getcwd()} or {package_checkout}; "
                       "the benchmarks belong to the source checkout (they measure its configs), so run "
                       "`hopgen bench` from a hopgen checkout (e.g. after `pip install -e .`)")


def load_benchmark(what, cwd=None):
    path = find_benchmark(what, cwd)
    spec = importlib.util.spec_from_file_location(f"hopgen_bench_{what}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_benchmark(what, out=None, quick=False, extra=()):
    module = load_benchmark(what)
    out = out or DEFAULT_OUT.format(what)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    kwargs = _parse_extra(extra)
    if quick:
        if "quick" not in inspect.signature(module.run).parameters:
            raise ValueError(f"benchmark {what!r} has no quick mode")
        kwargs["quick"] = True
    result = module.run(out, **kwargs)
    print(json.dumps(result, indent=1)[:4000])
    print(f"wrote {out}")
    return 0
