"""Blender layer: exact label/depth/amodal passes, RGB PNG, materials and HDRIs, in both Blenders.

The scenes and measurements live in tests/blender_probe.py so the bpy module (in-process) and
the Blender binary (subprocess) are held to the same assertions.
"""

import numpy as np
import pytest

import blender_probe
from test_reprojection import run_probe_binary


def assert_passes(r):
    # Only labels that exist in the scene (table 2, object 1, hand faces 5-7; the table fills the view).
    assert set(r["labels"]) <= {0, 1, 2, 5, 6, 7} and {1, 2} <= set(r["labels"]), r["labels"]
    assert set(r["labels"]) & {5, 6, 7}
    # The hovering hand box hides part of the object; rendered alone (or amodally) it is whole.
    assert r["alone_labels"] == [0, 1]
    assert r["alone_object_px"] > r["visible_object_px"] + 30, r
    assert r["amodal_object_px"] == r["alone_object_px"]
    assert r["amodal_vs_alone_mismatch"] == 0
    assert r["hand_mask_vs_visible_mismatch"] == 0 and r["amodal_hand_px"] > 50
    # Depth is the OpenCV z (not the ray length) of the analytic table plane, sub-millimetre.
    assert r["depth_table_px"] > 1000
    assert r["depth_table_max_err"] < 5e-4, r["depth_table_max_err"]
    assert r["depth_background_max"] == 0.0
    assert 1.0 < r["depth_min_object"] < 1.8
    assert r["rgb_shape"] == [64, 64, 3] and r["rgb_dtype"] == "uint8" and r["rgb_std"] > 1.0
    assert r["restored"], "annotation passes must restore the beauty settings"
    assert r["rgb_same_before_after"], "the beauty render changed after annotation passes"


def assert_materials(r):
    assert len(r["built"]) == 13
    assert 10 < r["rgb_mean"] < 250 and r["rgb_std"] > 5, r
    assert r["lamp_visible_camera"] is False
    assert r["hdris"] == 8


def assert_backplate(r):
    want = {"tl": (255, 0, 0), "tr": (0, 255, 0), "bl": (0, 0, 255), "br": (255, 255, 255)}
    for corner, colour in want.items():
        assert np.abs(np.array(r["corners"][corner]) - colour).max() <= 8, (corner, r["corners"])
    assert r["labels_max"] == 0 and r["depth_max"] == 0.0  # backplates are hidden from the passes


def assert_hdri(r):
    assert r["count"] == 8 and "studio.exr" in r["names"]
    assert r["size"][0] > 0 and r["size"][1] > 0 and r["is_float"]


@pytest.mark.bpy
def test_passes_bpy_module(tmp_path):
    assert_passes(blender_probe.check_passes(str(tmp_path)))


@pytest.mark.bpy
def test_materials_bpy_module(tmp_path):
    assert_materials(blender_probe.check_materials(str(tmp_path)))


@pytest.mark.bpy
def test_backplate_bpy_module(tmp_path):
    assert_backplate(blender_probe.check_backplate(str(tmp_path)))


@pytest.mark.bpy
def test_hdri_bpy_module(tmp_path):
    r = blender_probe.check_hdri(str(tmp_path))
    assert_hdri(r)
    assert r["version"][0] >= 4 and r["oidn"] is True


@pytest.mark.blender_binary
def test_blender_binary_passes_materials_hdri_backplate(tmp_path):
    r = run_probe_binary(["passes", "materials", "hdri", "backplate"], tmp_path)
    assert_passes(r["passes"])
    assert_backplate(r["backplate"])
    assert_materials(r["materials"])
    assert_hdri(r["hdri"])


@pytest.mark.bpy
def test_annotations_deterministic_and_labels_exact_per_face():
    """Two renders give identical arrays; per-face labels of one mesh all survive unmixed."""
    from hopgen.blender import passes
    s, K, T, table, obj, hand = blender_probe._pass_scene(size=48)
    a = passes.render_annotations(s, groups={"hand": [hand]})
    b = passes.render_annotations(s, groups={"hand": [hand]})
    assert np.array_equal(a["labels"], b["labels"]) and np.array_equal(a["depth"], b["depth"])
    alone = passes.render_labels(s, include=[hand])
    assert set(np.unique(alone)) <= {0, 5, 6, 7} and len(np.unique(alone)) >= 3
    assert np.array_equal(alone > 0, a["masks"]["hand"])
    # Group weights change between calls (hand 1 -> 256); persistent render data must follow.
    c = passes.render_annotations(s, groups={"object": [obj], "hand": [hand]})
    assert np.array_equal(c["masks"]["hand"], a["masks"]["hand"])
    assert np.array_equal(c["masks"]["object"], passes.render_labels(s, include=[obj]) == 1)


@pytest.mark.bpy
def test_compat_helpers():
    import bpy
    from hopgen.blender import compat, materials, scene
    scene.reset_scene()
    mat = bpy.data.materials.new("m")
    tree = compat.node_tree(mat)
    bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    for key in ("subsurface", "specular", "transmission", "emission", "coat", "sheen"):
        assert compat.set_input(bsdf, key, 0.5 if key != "emission" else (1.0, 0.0, 0.0)) is not None, key
    assert compat.set_input(bsdf, ["No Such Socket"], 1.0) is None
    mix = compat.new_mix_rgb(tree, "MULTIPLY")
    assert mix.result.type == "RGBA" and mix.a.type == "RGBA" and mix.fac.type == "VALUE"
    s = bpy.context.scene
    assert compat.set_view_transform(s, "Filmic") in ("Filmic", "AgX")
    assert compat.set_view_transform(s, "Standard") == "Standard"
    assert compat.use_gpu(s, None) == "CPU"
    used = compat.set_denoise(s, True, prefilter="FAST")
    assert used == ("OPENIMAGEDENOISE" if compat.has_oidn() else None)
    if used:
        assert s.cycles.use_denoising and s.cycles.denoising_prefilter == "FAST"
    assert compat.set_denoise(s, False) is None and not s.cycles.use_denoising


@pytest.mark.bpy
def test_subsurface_method_is_set_on_skin_only():
    import bpy
    from hopgen.blender import compat, materials, scene
    scene.reset_scene()
    skin = materials.skin_material("skin", (0.6, 0.45, 0.35))
    plain = bpy.data.materials.new("plain")
    bsdf = compat.node_tree(plain).nodes.new("ShaderNodeBsdfPrincipled")
    compat.set_input(bsdf, "subsurface", 0.0)
    before = bsdf.subsurface_method

    def methods(mat):
        return {n.subsurface_method for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED"}

    assert compat.set_subsurface_methods([skin, plain], "burley") == "BURLEY"
    assert methods(skin) == {"BURLEY"} and bsdf.subsurface_method == before  # no SSS: left alone
    assert compat.set_subsurface_methods([skin], "random_walk").startswith("RANDOM_WALK")
    assert all(m.startswith("RANDOM_WALK") for m in methods(skin))


@pytest.mark.bpy
def test_lamp_colour_temperature():
    from hopgen.blender import world
    white, warm = world.blackbody_rgb(6500), world.blackbody_rgb(3200)
    assert max(white) == 1.0 and min(white) > 0.9
    assert warm[0] == 1.0 and warm[1] < 0.6 and warm[2] < 0.3  # tungsten: orange-white in linear RGB
    with pytest.raises(world.WorldError, match="colour temperature"):
        world.blackbody_rgb(500)


@pytest.mark.bpy
def test_bad_inputs_raise_clear_errors():
    from hopgen.blender import materials, scene, world
    from hopgen.core import camera as cam
    scene.reset_scene()
    with pytest.raises(scene.SceneError, match="face_labels"):
        scene.add_mesh_object("x", np.zeros((3, 3)), [[0, 1, 2]], [1, 2])
    with pytest.raises(scene.SceneError, match="outside"):
        scene.add_mesh_object("x", np.zeros((3, 3)), [[0, 1, 5]], 1)
    with pytest.raises(scene.SceneError, match="rigid"):
        scene.set_camera(cam.intrinsics(50, 50, 10, 10), 20, 20, np.zeros((4, 4)))
    with pytest.raises(materials.MaterialError, match="unknown field"):
        materials.cloth_material("c", {"patern": "checks"})
    with pytest.raises(materials.MaterialError, match="pattern"):
        materials.cloth_material("c", {"pattern": "plaid"})
    with pytest.raises(world.WorldError, match="not found"):
        world.set_hdri_world("/nonexistent.exr")
