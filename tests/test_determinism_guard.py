"""Determinism guard (in the spirit of infinigen's): the generator draws only from numpy Generators
seeded from (config, manifest, seed, id). An ast scan of every module under hopgen/ fails on global
or unseeded randomness: np.random.<fn> other than default_rng/Generator/SeedSequence/bit generators,
an unseeded default_rng(), the `random` and `uuid` modules, and seeds built from time, datetime,
hash(), id(), the pid, os.urandom or secrets (those two for temporary file names are fine). Beside it, the build-twice-and-hash tests check the outcome.
Random draws inside hopgen/blender are banned altogether: Blender code only builds what the pure
side drew."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "hopgen"
SEEDED_API = {"default_rng", "Generator", "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM", "Philox", "SFC64"}
GLOBAL_MODULES = {"random", "uuid"}
SEED_CALLS = {"default_rng", "SeedSequence", "Generator", "PCG64", "seed"}
ENTROPY = {"time", "datetime", "perf_counter", "monotonic", "time_ns", "now", "utcnow", "today", "hash", "id",
           "getpid", "urandom", "token_bytes", "token_hex", "randbits"}
GENERATOR_METHODS = {"random", "uniform", "integers", "normal", "choice", "permutation", "shuffle", "standard_normal",
                     "beta", "gamma", "exponential", "poisson", "binomial", "multivariate_normal", "vonmises"}


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def randomness_hits(tree, in_blender=False):
    """(line, what) of every global, unseeded or entropy-seeded draw in one module's ast."""
    numpy_names = {"numpy", "np"}
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in GLOBAL_MODULES:
                    hits.append((node.lineno, f"import {a.name}"))
                if a.name == "numpy":
                    numpy_names.add(a.asname or "numpy")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in GLOBAL_MODULES:
                hits.append((node.lineno, f"from {node.module} import ..."))
            if node.module == "numpy.random":
                hits += [(node.lineno, f"from numpy.random import {a.name}") for a in node.names if a.name not in SEEDED_API]
            if node.module == "numpy" and any(a.name == "random" for a in node.names):
                hits.append((node.lineno, "from numpy import random"))
        elif isinstance(node, ast.Attribute):
            name = _dotted(node)
            head, _, rest = name.partition(".")
            if head in numpy_names and rest.startswith("random.") and rest.split(".")[1] not in SEEDED_API:
                hits.append((node.lineno, name))
        elif isinstance(node, ast.Call):
            fn = _dotted(node.func)
            last = fn.rpartition(".")[2]
            if last in SEED_CALLS and (fn.startswith(tuple(f"{n}.random." for n in numpy_names)) or fn == last):
                if last == "default_rng" and not node.args and not node.keywords:
                    hits.append((node.lineno, f"{fn}() without a seed"))
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    for sub in ast.walk(arg):
                        if isinstance(sub, ast.Call) and _dotted(sub.func).rpartition(".")[2] in ENTROPY:
                            hits.append((node.lineno, f"{fn}() seeded from {_dotted(sub.func)}()"))
            if in_blender and (last in SEED_CALLS | {"default_rng"} or
                               (last in GENERATOR_METHODS and isinstance(node.func, ast.Attribute)
                                and "rng" in _dotted(node.func.value).lower())):
                hits.append((node.lineno, f"{fn}(): a random draw inside hopgen/blender"))
    return hits


def test_generator_has_no_global_or_unseeded_randomness():
    hits = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        in_blender = "blender" in path.relative_to(ROOT).parts
        hits += [f"{path.relative_to(ROOT.parent)}:{line}: {what}" for line, what in randomness_hits(tree, in_blender)]
    assert not hits, "randomness outside seeded numpy Generators:\n" + "\n".join(hits)


@pytest.mark.parametrize("source, what", [
    ("import numpy as np\nx = np.random.rand(3)\n", "np.random.rand"),
    ("import numpy\nnumpy.random.seed(0)\n", "numpy.random.seed"),
    ("from numpy.random import uniform\n", "from numpy.random import uniform"),
    ("import random\n", "import random"),
    ("import uuid\n", "import uuid"),
    ("import numpy as np\nr = np.random.default_rng()\n", "np.random.default_rng() without a seed"),
    ("import time\nimport numpy as np\nr = np.random.default_rng(int(time.time()))\n",
     "np.random.default_rng() seeded from time.time()"),
    ("from numpy.random import default_rng\nr = default_rng([1, hash('a')])\n", "default_rng() seeded from hash()"),
    ("import os\nimport numpy as np\nr = np.random.default_rng(int.from_bytes(os.urandom(4), 'little'))\n",
     "np.random.default_rng() seeded from os.urandom()"),
])
def test_the_guard_finds_each_kind_of_randomness(source, what):
    assert what in [w for _, w in randomness_hits(ast.parse(source))]


def test_seeded_generators_pass_and_blender_draws_fail():
    ok = "import numpy as np\nrng = np.random.default_rng([1, 2, 3])\nx = rng.uniform(0, 1)\n"
    assert randomness_hits(ast.parse(ok)) == []
    assert [w for _, w in randomness_hits(ast.parse(ok), in_blender=True)] == [
        "np.random.default_rng(): a random draw inside hopgen/blender", "rng.uniform(): a random draw inside hopgen/blender"]
