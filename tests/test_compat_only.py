"""Every Blender-version branch lives in hopgen/blender/compat.py: no other hopgen module reads
bpy.app.version, compares blender_version(), probes bpy objects with hasattr/getattr defaults, or
patches numpy for an importer. Pure ast scan, no Blender needed."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "hopgen"
COMPAT = ROOT / "blender" / "compat.py"
LEGACY_NAMES = {"ShaderNodeMixRGB", "use_auto_smooth", "auto_smooth_angle", "sample_as_light"}
# Importers whose operator differs between Blender 3.4 and 5.0 (OBJ, PLY, STL): only compat calls them.
VERSIONED_IMPORTERS = {("wm", "obj_import"), ("import_scene", "obj"), ("wm", "ply_import"), ("import_mesh", "ply"),
                       ("wm", "stl_import"), ("import_mesh", "stl")}


def version_checks(tree, in_blender):
    """(line, what) of every version check in one module's ast."""
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("version", "version_string", "version_file") \
                and isinstance(node.value, ast.Attribute) and node.value.attr == "app":
            hits.append((node.lineno, f"bpy.app.{node.attr}"))
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Call) and getattr(side.func, "attr", getattr(side.func, "id", "")) == "blender_version":
                    hits.append((node.lineno, "comparison with blender_version()"))
        if in_blender and isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr":
            hits.append((node.lineno, "hasattr() feature probe"))
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and t.attr == "bool" and getattr(t.value, "id", "") in ("np", "numpy"):
                    hits.append((node.lineno, "np.bool patched"))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and (node.value.attr, node.attr) in VERSIONED_IMPORTERS \
                and isinstance(node.value.value, ast.Attribute) and node.value.value.attr == "ops":
            hits.append((node.lineno, f"bpy.ops.{node.value.attr}.{node.attr} (versioned importer)"))
        if in_blender and isinstance(node, ast.Constant) and node.value in LEGACY_NAMES:
            hits.append((node.lineno, f"legacy Blender name {node.value!r}"))
    return hits


def test_version_branches_only_in_compat():
    hits = []
    for path in sorted(ROOT.rglob("*.py")):
        if path == COMPAT:
            continue
        tree = ast.parse(path.read_text(), str(path))
        hits += [f"{path.relative_to(ROOT.parent)}:{line}: {what}"
                 for line, what in version_checks(tree, "blender" in path.relative_to(ROOT).parts)]
    assert not hits, "Blender-version branches outside hopgen/blender/compat.py:\n" + "\n".join(hits)


@pytest.mark.parametrize("source, what", [
    ("import bpy\nif bpy.app.version >= (4, 1, 0):\n    pass\n", "bpy.app.version"),
    ("from hopgen.blender import compat\nx = compat.blender_version() < (4, 0, 0)\n", "comparison with blender_version()"),
    ("def f(mesh):\n    return hasattr(mesh, 'set_sharp_from_angle')\n", "hasattr() feature probe"),
    ("import numpy as np\nnp.bool = np.bool_\n", "np.bool patched"),
    ("n = 'ShaderNodeMixRGB'\n", "legacy Blender name 'ShaderNodeMixRGB'"),
    ("import bpy\nbpy.ops.wm.obj_import(filepath='a.obj')\n", "bpy.ops.wm.obj_import (versioned importer)"),
])
def test_the_scan_finds_each_kind_of_check(source, what):
    assert [w for _, w in version_checks(ast.parse(source), True)] == [what]


def test_compat_itself_has_the_branches():
    # The scan would pass vacuously if compat's branches were not recognised at all.
    assert version_checks(ast.parse(COMPAT.read_text()), True)
