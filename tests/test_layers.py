"""The import graph of hopgen/ (built with ast from every import statement, module level and inside
functions alike): no circles between modules, sub-packages import only lower layers (the order is
documented in hopgen/__init__.py), few top-level modules, no oversized module. Pure, no imports run."""
import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
ROOT = REPO / "hopgen"

# Layer of each sub-package / top-level module: an import may only go to a strictly lower layer
# (same layer: only inside one sub-package). Keep in step with hopgen/__init__.py's docstring.
LAYERS = {
    "hopgen": 0,                                   # the package root: __version__ and FORMAT only
    "core": 1,
    "hand": 2, "objects": 2, "dataset": 2,
    "grasp": 3, "avatars": 3,
    "assets": 4, "config": 4, "physics": 4,
    "episode": 5,
    "blender": 6,
    "render": 7,
    "bench": 8,
    "cli": 9,
    "__main__": 10,                                # python -m hopgen
}
MAX_TOP_LEVEL_MODULES = 8
MAX_LINES = 600
REASON_LINES = 450  # longer modules say why at their top ("lines on purpose")


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root=ROOT):
    """{module: {imported hopgen module}} over every .py file under ``root``. ``from pkg import x``
    is an edge to pkg.x when that is a module, else to pkg (its __init__ defines x)."""
    mods = {module_name(p): p for p in root.rglob("*.py")}

    def resolve(name):
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for mod, path in mods.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for name in names:
                target = resolve(name) if name.split(".")[0] == "hopgen" else None
                if target and target != mod:
                    edges.add(target)
        graph[mod] = edges
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer_of(mod):
    parts = mod.split(".")
    return "hopgen" if len(parts) == 1 else parts[1]


def layer_violations(graph):
    bad = []
    for a, targets in sorted(graph.items()):
        for b in sorted(targets):
            la, lb = layer_of(a), layer_of(b)
            if la == lb:
                continue
            if la not in LAYERS or lb not in LAYERS:
                bad.append(f"{a} -> {b}: {la if la not in LAYERS else lb} has no layer in tests/test_layers.py")
            elif LAYERS[lb] >= LAYERS[la]:
                bad.append(f"{a} -> {b}: layer {la} ({LAYERS[la]}) imports {lb} ({LAYERS[lb]})")
    return bad


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_sub_packages_import_only_lower_layers():
    assert layer_violations(import_graph()) == []


def test_every_layer_is_documented_in_the_package_docstring():
    doc = ast.get_docstring(ast.parse((ROOT / "__init__.py").read_text()))
    for name in LAYERS:
        if name != "hopgen":
            assert name in doc, f"hopgen/__init__.py's docstring does not place {name}"


def test_top_level_modules_and_module_sizes():
    top = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    too_long, unexplained = [], []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        n = text.count("\n")
        if n > MAX_LINES:
            too_long.append(f"{path.relative_to(REPO)}: {n} lines")
        elif n > REASON_LINES and "lines on purpose" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{path.relative_to(REPO)}: {n} lines and no reason at its top")
    assert not too_long and not unexplained, too_long + unexplained


def _graph_of(tmp_path, files):
    for rel, text in files.items():
        p = tmp_path / "hopgen" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return {k.replace(f"{tmp_path.name}.", ""): v for k, v in import_graph(tmp_path / "hopgen").items()}


def test_the_checks_see_function_level_imports_and_cycles(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "REPO", tmp_path)
    graph = _graph_of(tmp_path, {
        "__init__.py": "", "core/__init__.py": "", "episode/__init__.py": "",
        "core/a.py": "def f():\n    from hopgen.episode import b\n",   # a lower layer reaching up, in a function
        "episode/b.py": "from hopgen.core import a\n",
    })
    assert graph["hopgen.core.a"] == {"hopgen.episode.b"}
    assert cycles(graph) == [["hopgen.core.a", "hopgen.episode.b"]]
    assert layer_violations(graph) == ["hopgen.core.a -> hopgen.episode.b: layer core (1) imports episode (5)"]


@pytest.mark.parametrize("stmt, target", [
    ("from hopgen.core import camera", "hopgen.core.camera"),   # a submodule
    ("from hopgen.core import helper", "hopgen.core"),          # a name of the package __init__
    ("import hopgen.core.camera as cam", "hopgen.core.camera"),
    ("from . import camera", "hopgen.core.camera"),
])
def test_edges_name_the_module_that_runs(tmp_path, monkeypatch, stmt, target):
    monkeypatch.setattr(__import__(__name__), "REPO", tmp_path)
    graph = _graph_of(tmp_path, {"__init__.py": "", "core/__init__.py": "helper = 1\n", "core/camera.py": "",
                                 "core/user.py": stmt + "\n"})
    assert graph["hopgen.core.user"] == {target}
