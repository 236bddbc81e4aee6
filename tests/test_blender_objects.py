"""Blender side of the object library: meshes match the pure geometry, materials build and render."""

import os
import subprocess
import textwrap

import numpy as np
import pytest

from hopgen.objects import MATERIAL_KINDS, build_object, list_object_types, sample_object_params

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.bpy
def test_every_object_type_builds_in_bpy_and_matches_pure_geometry():
    import bpy

    from hopgen.blender.objects import build_object_object, evaluated_vertices

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(0)
    for name, _ in list_object_types():
        g = build_object(sample_object_params(name, np.random.default_rng([11, 0])))
        obj = build_object_object(g, name)
        co, tri = evaluated_vertices(obj)
        assert co.shape == g.vertices.shape and np.abs(co - g.vertices).max() < 1e-6, name
        assert len(tri) == len(g.faces)
        # surface points of the Blender triangles lie on the pure surface (SDF) within 1 mm
        if g.sdf is not None:
            pick = tri[rng.integers(0, len(tri), 300)]
            pts = np.einsum("nk,nkd->nd", rng.dirichlet(np.ones(3), 300), co[pick])
            part = g.vertex_part[pick[:, 0]]
            dist = np.array([g.part_sdfs[k](p[None])[0] for k, p in zip(part, pts)])
            assert np.abs(dist).max() < 1e-3, name
        assert len(obj.material_slots) == len(g.materials)
        idx = np.empty(len(obj.data.polygons), dtype=np.int32)
        obj.data.polygons.foreach_get("material_index", idx)
        np.testing.assert_array_equal(idx, g.face_material)
        for slot in obj.material_slots:
            out = next(n for n in slot.material.node_tree.nodes if n.type == "OUTPUT_MATERIAL")
            assert out.inputs["Surface"].is_linked
    assert sum(o.type == "MESH" for o in bpy.data.objects) == len(list_object_types())


@pytest.mark.bpy
def test_every_material_kind_and_pattern_builds_and_renders(tmp_path):
    import bpy

    from hopgen.blender.object_materials import build_material
    from hopgen.blender.objects import build_object_object
    from hopgen.objects.materials import catalogue

    bpy.ops.wm.read_factory_settings(use_empty=True)
    specs = catalogue(np.random.default_rng(0))
    assert {s["kind"] for s in specs} == set(MATERIAL_KINDS)
    for i, spec in enumerate(specs):
        mat = build_material(spec, f"m{i}")
        assert mat.node_tree is not None and len(mat.node_tree.nodes) >= 2
    with pytest.raises(ValueError, match="velvet"):
        build_material({"kind": "velvet", "color": [1, 1, 1], "roughness": 0.5}, "bad")

    # a tiny Cycles render of two textured objects: they must show up against the transparent film
    sc = bpy.context.scene
    for x, name in ((-0.05, "tennis_ball"), (0.05, "bottle")):
        g = build_object(sample_object_params(name, np.random.default_rng([1, 1])))
        build_object_object(g, name).location = (x, 0, 0)
    light = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sc.collection.objects.link(light)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    sc.collection.objects.link(cam)
    sc.camera = cam
    cam.location = (0, -0.6, 0)
    cam.rotation_euler = (np.pi / 2, 0, 0)
    sc.render.engine = "CYCLES"
    sc.cycles.samples = 2
    sc.cycles.use_denoising = False
    sc.render.film_transparent = True
    sc.render.resolution_x = sc.render.resolution_y = 32
    sc.render.filepath = str(tmp_path / "objs.png")
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(tmp_path / "objs.png"))
    px = np.array(img.pixels[:]).reshape(32, 32, 4)
    assert 0.05 < (px[..., 3] > 0.5).mean() < 0.6
    assert px[..., :3][px[..., 3] > 0.5].max() > 0.05  # lit, not black


@pytest.mark.blender_binary
def test_objects_and_materials_in_blender_binary(tmp_path):
    script = tmp_path / "build_objects.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {REPO!r})
        import bpy
        import numpy as np
        from hopgen.objects import build_object, sample_object_params
        from hopgen.blender.objects import build_object_object, evaluated_vertices
        from hopgen.blender.object_materials import build_material
        from hopgen.objects.materials import catalogue
        bpy.ops.wm.read_factory_settings(use_empty=True)
        for i, spec in enumerate(catalogue(np.random.default_rng(0))):
            build_material(spec, "cat%d" % i)
        for i, name in enumerate(("mug", "pencil", "phone", "tennis_ball", "orange", "cutting_board", "jar")):
            g = build_object(sample_object_params(name, np.random.default_rng([2, i])))
            obj = build_object_object(g, name)
            co, tri = evaluated_vertices(obj)
            assert np.abs(co - g.vertices).max() < 1e-6 and len(tri) == len(g.faces), name
            assert len(obj.material_slots) == len(g.materials)
        sc = bpy.context.scene
        cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
        sc.collection.objects.link(cam)
        sc.camera = cam
        cam.location = (0, -1.0, 0)
        cam.rotation_euler = (np.pi / 2, 0, 0)
        sc.render.engine = "CYCLES"
        sc.cycles.samples = 1
        sc.cycles.use_denoising = False
        sc.render.resolution_x = sc.render.resolution_y = 16
        sc.render.filepath = {str(tmp_path / "render.png")!r}
        bpy.ops.render.render(write_still=True)
        print("HOP_OBJECTS_OK", bpy.app.version_string)
    """))
    proc = subprocess.run(["blender", "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "HOP_OBJECTS_OK" in proc.stdout
    assert (tmp_path / "render.png").exists()
