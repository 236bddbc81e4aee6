"""Rigged avatar files: a small rigged hand built and exported (glb) by Blender itself, read back
into hopgen.avatars.rig, posed by the grasp pipeline and rendered through `hopgen render`."""
from pathlib import Path

import numpy as np
import pytest

from hopgen.avatars import rig as rg
from hopgen.core import skeleton as sk
from hopfixtures import render_two_sided, render_with_blender_binary

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")

# joint -> bone of the test hand: <finger>1..3 are the links, <finger>4 an end bone at the tip.
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
BONE_MAP = {"wrist": "hand"}
for _f, _name in enumerate(FINGERS):
    _joints = ("cmc", "mcp", "ip", "tip") if _f == 0 else ("mcp", "pip", "dip", "tip")
    for _k, _j in enumerate(_joints):
        BONE_MAP[f"{_name}_{_j}"] = f"{_name}{_k + 1}"


def _box(p, q, r_x, r_z, zref):
    """8 corners and 12 triangles of a box from p to q (half widths r_x, r_z)."""
    y = (q - p) / np.linalg.norm(q - p)
    z = zref - np.dot(zref, y) * y
    z /= np.linalg.norm(z)
    x = np.cross(y, z)
    v = np.array([c + sx * r_x * x + sz * r_z * z for c in (p, q) for sx in (-1, 1) for sz in (-1, 1)])
    f = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1), (2, 3, 7), (2, 7, 6),
         (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]
    return v, np.array(f)


def build_rigged_hand(path, weights=True, extra_armature=False):
    """Build a right hand (kinematic joints, fingers slightly curled) with an armature and boxes
    skinned to it in Blender, and export it to ``path`` (.glb)."""
    import bpy

    from hopgen.hand import kinematics as kin
    from hopgen.blender import scene as hscene

    hscene.reset_scene()
    shape = kin.shape_from_measurements(185.0, 85.0)
    angles = np.zeros(kin.NUM_DOF)
    for f in range(1, 5):
        for d in kin.FLEX_DOFS[f]:
            angles[d] = 0.35
    angles[kin.DOF_INDEX["thumb_cmc_abd"]] = 0.4
    joints, _ = kin.forward_kinematics(shape, angles, "right")  # hand frame: z out of the palm
    arm_data = bpy.data.armatures.new("hand_rig")
    arm = bpy.data.objects.new("hand_rig", arm_data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    eb = arm_data.edit_bones
    fore = eb.new("forearm")
    fore.head, fore.tail = (0.0, -0.2, 0.0), (0.0, 0.0, 0.0)
    hand = eb.new("hand")
    hand.head, hand.tail, hand.parent = tuple(joints[0]), tuple(joints[9]), fore
    for f, name in enumerate(FINGERS):
        parent = hand
        for k in range(4):
            a = 1 + 4 * f + k
            b = eb.new(f"{name}{k + 1}")
            b.head = tuple(joints[a])
            end = joints[a + 1] if k < 3 else joints[a] + 0.01 * (joints[a] - joints[a - 1]) / np.linalg.norm(
                joints[a] - joints[a - 1])
            b.tail = tuple(end)
            b.parent, b.use_connect = parent, False
            parent = b
    bpy.ops.object.mode_set(mode="OBJECT")
    verts, faces, groups = [], [], []
    zref = np.array([0.0, 0.0, 1.0])

    def add(v, f, bone):
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v)
        groups.append((bone, len(v)))

    add(*_box(np.array([0.0, -0.2, 0.0]), np.array([0.0, 0.0, 0.0]), 0.03, 0.022, zref), "forearm")
    add(*_box(np.array([0.0, -0.005, 0.0]), joints[9] * [0, 1, 0], 0.045, 0.014, zref), "hand")
    for f, name in enumerate(FINGERS):
        for k in range(3):
            a = 1 + 4 * f + k
            add(*_box(joints[a], joints[a + 1], 0.0085, 0.0085, zref), f"{name}{k + 1}")
    mesh = bpy.data.meshes.new("hand_skin")
    v = np.concatenate(verts)
    mesh.from_pydata(v.tolist(), [], np.concatenate(faces).tolist())
    skin = bpy.data.objects.new("hand_skin", mesh)
    bpy.context.scene.collection.objects.link(skin)
    if weights:
        start = 0
        for bone, n in groups:
            g = skin.vertex_groups.get(bone) or skin.vertex_groups.new(name=bone)
            g.add(list(range(start, start + n)), 1.0, "REPLACE")
            start += n
    skin.parent = arm
    mod = skin.modifiers.new("armature", "ARMATURE")
    mod.object = arm
    if extra_armature:
        second = bpy.data.objects.new("other_rig", bpy.data.armatures.new("other_rig"))
        bpy.context.scene.collection.objects.link(second)
    if str(path).endswith(".blend"):
        bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    else:
        bpy.ops.export_scene.gltf(filepath=str(path), export_format="GLB")
    return joints


@pytest.fixture(scope="module")
def hand_glb(tmp_path_factory):
    # Used by bpy-marked tests only (conftest skips those without bpy, except in CI).
    path = tmp_path_factory.mktemp("rigged") / "hand.glb"
    joints = build_rigged_hand(path)
    return path, joints


def _manifest(folder, glb, bone_map=BONE_MAP, options=None):
    import json
    entry = {"name": "test_hand", "kind": "rigged", "file": glb.name, "bone_map": bone_map}
    if options:
        entry["options"] = options
    data = {"avatars": [entry],
            "objects": [{"name": "ball", "category": "spherical", "procedural": {"generator": "tennis_ball"}},
                        {"name": "can", "category": "cylindrical", "procedural": {"generator": "can"}}]}
    path = folder / "manifest.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.bpy
def test_read_rig_matches_the_built_hand(hand_glb):
    from hopgen.blender import rigged
    path, joints = hand_glb
    r = rigged.read_rig("test_hand", str(path), BONE_MAP)
    assert r.sides() == ("right",)  # handedness from the geometry
    hand = rg.hand_joints(r, r.rest, "right")
    np.testing.assert_allclose(hand, joints, atol=1e-4)  # bone heads at the joint centres, metres
    assert len(r.triangles) == 17 * 12 and len(r.vertices) >= 17 * 8  # glTF splits flat-shaded corners
    np.testing.assert_allclose(r.weight.sum(1), 1.0)
    labels = rg.triangle_labels(r, "right")
    assert set(labels.tolist()) == {sk.SEG_ARM, sk.SEG_PALM, *range(4, 19)}
    left = rg.mirrored(r)
    assert left.sides() == ("left",) and rg.handedness(left, "left") == "left"
    np.testing.assert_allclose(rg.hand_joints(left, left.rest, "left"), joints * [-1, 1, 1], atol=1e-4)


@pytest.mark.bpy
def test_rigged_errors_and_blend_files(hand_glb, tmp_path):
    from hopgen.blender import rigged
    from hopgen.assets.manifest import ManifestError, load_manifest
    path, joints = hand_glb
    bad = dict(BONE_MAP, index_pip="index_pip_bone")
    with pytest.raises(rg.RigError, match="bone_map.index_pip: no bone 'index_pip_bone'"):
        rigged.read_rig("test_hand", str(path), bad)
    with pytest.raises(rg.RigError, match="':tail' is for \\*_tip joints only"):
        rigged.read_rig("test_hand", str(path), dict(BONE_MAP, index_mcp="index1:tail"))
    swapped = dict(BONE_MAP, index_pip="middle4")  # a bone of another finger
    r = rigged.read_rig("test_hand", str(path), swapped)
    with pytest.raises(rg.RigError, match="does not move with bone"):
        rg.check_hand_refs(r, "right")
    unweighted = tmp_path / "unweighted.blend"  # a .blend keeps an armature nothing is skinned to
    build_rigged_hand(unweighted, weights=False)
    with pytest.raises(rigged.RiggedFileError, match="no mesh has vertex groups"):
        rigged.read_rig("test_hand", str(unweighted), BONE_MAP)
    build_rigged_hand(tmp_path / "unweighted.glb", weights=False)
    with pytest.raises(rigged.RiggedFileError, match="holds 0 armatures.*only when a mesh is skinned"):
        rigged.read_rig("test_hand", str(tmp_path / "unweighted.glb"), BONE_MAP)
    weighted = tmp_path / "weighted.blend"
    build_rigged_hand(weighted)
    blend_rig = rigged.read_rig("test_hand", str(weighted), BONE_MAP)
    np.testing.assert_allclose(rg.hand_joints(blend_rig, blend_rig.rest, "right"), joints, atol=1e-6)
    with pytest.raises(rigged.RiggedFileError, match="rigged file not found"):
        rigged.read_rig("test_hand", str(tmp_path / "nope.glb"), BONE_MAP)
    (tmp_path / "m").mkdir()
    with pytest.raises(ManifestError, match=r"avatars\[0\] \(test_hand\)\.file: file not found"):
        load_manifest(_manifest(tmp_path / "m", tmp_path / "missing.glb"))
    partial = {k: v for k, v in BONE_MAP.items() if k != "ring_dip"}
    (tmp_path / "m" / "hand.glb").write_bytes(path.read_bytes())
    with pytest.raises(ManifestError, match="bone_map: missing joints: ring_dip"):
        load_manifest(_manifest(tmp_path / "m", path, bone_map=partial))
    with pytest.raises(ManifestError, match="options.side"):
        load_manifest(_manifest(tmp_path / "m", path, options={"side": "up"}))


@pytest.mark.bpy
@pytest.mark.slow
def test_render_rigged_hand_both_sides(hand_glb, tmp_path):
    path, _ = hand_glb
    (tmp_path / "hand.glb").write_bytes(path.read_bytes())
    ds = render_two_sided(tmp_path, _manifest(tmp_path, tmp_path / "hand.glb"), 64)
    sides = set()
    for sid in ds.ids:
        a = ds.annotation(sid)
        sides.add(a["hand"]["side"])
        assert a["subject"]["avatar"] == "rigged" and a["subject"]["id"] == "test_hand"
        seg = ds.image("seg", sid)
        assert np.isin(seg, sk.HAND_LABELS).sum() > 30, "the rigged hand is visible"
        vis = np.asarray(a["hand"]["visibility"])
        px = np.floor(np.asarray(a["hand"]["uv"]) + 0.5).astype(int)
        on_hand = [seg[y, x] in sk.HAND_LABELS for (x, y), v in zip(px, vis) if v == 0]
        assert np.mean(on_hand) > 0.6, "visible joints lie on the rendered hand"
    assert sides == {"left", "right"}


@pytest.mark.blender_binary
@pytest.mark.bpy
@pytest.mark.slow
def test_blender_binary_renders_rigged_hand(hand_glb, tmp_path):
    """Debian's Blender 3.4 reads the same .glb (its glTF importer needs numpy's old np.bool alias)."""
    from conftest import BLENDER_BIN
    path, _ = hand_glb
    (tmp_path / "hand.glb").write_bytes(path.read_bytes())
    render_with_blender_binary(BLENDER_BIN, tmp_path, _manifest(tmp_path, tmp_path / "hand.glb"))


def test_rigged_reader_comes_from_the_registry(monkeypatch, tmp_path):
    # Pure code never imports hopgen.blender: without a registered reader a rigged avatar is a clear
    # error; hopgen.blender.rigged registers its reader when Blender imports it.
    from hopgen.assets.manifest import load_manifest
    from hopgen.avatars import entries
    monkeypatch.setattr(entries, "_RIGGED_READER", None)
    monkeypatch.setattr(entries, "_RIG_CACHE", {})
    (tmp_path / "hand.glb").write_bytes(b"glTF")  # never read: no reader is registered
    m = load_manifest(data={"avatars": [{"name": "studio_hand", "kind": "rigged", "file": str(tmp_path / "hand.glb"),
                                         "bone_map": BONE_MAP}], "objects": [{"builtin": True}]})
    with pytest.raises(rg.RigError, match="studio_hand: reading rigged file .*hand.glb needs Blender"):
        entries.avatar_rig(m.avatar("studio_hand"))
    seen = []

    def reader(entry):
        seen.append(entry.name)
        raise rg.RigError("reader reached")

    entries.register_rigged_reader(reader)
    with pytest.raises(rg.RigError, match="reader reached"):
        entries.avatar_rig(m.avatar("studio_hand"))
    assert seen == ["studio_hand"]
