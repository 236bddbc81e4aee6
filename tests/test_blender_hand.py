"""Blender hand object (bpy module): mesh counts, hop_label faces, material slots, posing, a tiny render."""
import numpy as np
import pytest

from hopgen.hand import handmesh as H
from hopgen.hand import kinematics as K
from hopgen.hand import subjects as S


@pytest.mark.bpy
def test_build_hand_object_and_pose(tmp_path):
    import bpy

    from hopgen.blender import hand

    bpy.ops.wm.read_factory_settings(use_empty=True)
    sub = S.get_subject("f04")
    m = H.build_hand_mesh(sub, "left")
    obj = hand.build_hand_object(m, "hand_f04_left", subject=sub)
    me = obj.data
    assert len(me.vertices) == len(m.rest_vertices) and len(me.polygons) == len(m.faces)
    labels = np.zeros(len(me.polygons), dtype=np.int32)
    me.attributes["hop_label"].data.foreach_get("value", labels)
    np.testing.assert_array_equal(labels, m.face_labels)
    mat_idx = np.zeros(len(me.polygons), dtype=np.int32)
    me.polygons.foreach_get("material_index", mat_idx)
    np.testing.assert_array_equal(mat_idx, m.face_material)
    assert len(obj.material_slots) == 2 and obj.material_slots[1].material.name.endswith("_nail")
    crease = np.zeros(len(me.vertices), dtype=np.float32)
    me.attributes[hand.CREASE_ATTRIBUTE].data.foreach_get("value", crease)
    np.testing.assert_allclose(crease, m.crease)
    smooth = np.zeros(len(me.polygons), dtype=bool)
    me.polygons.foreach_get("use_smooth", smooth)
    assert smooth.all()
    assert len(obj.modifiers) == 0  # subdivision is opt-in (slow Cycles sync)

    a = K.neutral_angles()
    for f in range(5):
        for i in K.FLEX_DOFS[f]:
            a[i] = 0.5 * K.LIMITS_HI[i]
    posed = H.pose_vertices(m, S.subject_shape(sub), a, "left")
    hand.set_hand_pose(obj, posed)
    co = np.zeros(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    np.testing.assert_allclose(co.reshape(-1, 3), posed, atol=1e-6)

    # a tiny Cycles render sees the skin (materials compile, hand in front of the camera)
    scn = bpy.context.scene
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scn.collection.objects.link(cam)
    cam.location = (0.0, 0.09, 0.45)
    scn.camera = cam
    light = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scn.collection.objects.link(light)
    scn.render.engine = "CYCLES"
    scn.cycles.samples = 2
    scn.cycles.use_denoising = False
    scn.render.resolution_x = scn.render.resolution_y = 32
    scn.render.filepath = str(tmp_path / "hand.png")
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(tmp_path / "hand.png"))
    px = np.array(img.pixels[:]).reshape(32, 32, 4)
    centre = px[12:20, 12:20, :3]
    assert centre.mean() > 0.02 and centre[..., 0].mean() > centre[..., 2].mean()  # lit, skin-ish (red > blue)
    assert px[:3, :3, :3].mean() < 0.5 * centre.mean()  # the corner sees the empty (black) world

    sub_obj = hand.build_hand_object(m, "hand_subsurf", bpy.data.materials[0], bpy.data.materials[1],
                                     subsurf=True)
    assert sub_obj.modifiers["hop_subsurf"].render_levels == 1 and sub_obj.modifiers["hop_subsurf"].levels == 0
