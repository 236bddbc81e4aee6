"""Visibility code 4 (hidden by the surroundings): a real tiny render with a distractor between the
lens and the hand, the seg PNG mapping, and validate's "visible joint without a hand pixel" rule."""
import json
import shutil

import numpy as np
import pytest

from hopfixtures import make_toy_hop
from hopgen.core import camera as cam
from hopgen.core.pngio import encode_png
from hopgen.core.skeleton import SEG_BACKGROUND, SEG_SURROUNDINGS, VIS_SURROUNDINGS, VIS_VISIBLE
from hopgen.dataset.validate import validate_dataset
from hopgen.dataset.visibility import compute_visibility, seg_for_file, visible_without_hand


def test_surroundings_label_gives_code_4_and_is_background_on_file():
    seg = np.zeros((8, 8), np.uint8)
    seg[1, 1], seg[7, 7] = SEG_SURROUNDINGS, 3
    uv = np.zeros((21, 2))
    uv[0], uv[1:] = (1, 1), (7, 7)
    vis = compute_visibility(uv, seg)
    assert vis[0] == VIS_SURROUNDINGS
    out = seg_for_file(seg)
    assert out.dtype == np.uint8 and out[1, 1] == SEG_BACKGROUND and out[7, 7] == 3
    # The same joint coded visible has no hand pixel within 3 px: validate's rule catches it.
    assert visible_without_hand(uv, np.zeros(21, int), seg_for_file(seg)) == [0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return make_toy_hop(tmp_path_factory.mktemp("toy") / "d", n=2, size=64)


def _edit(root, sid, fn):
    p = root / "anno" / f"{sid}.json"
    a = json.loads(p.read_text())
    fn(a)
    p.write_text(json.dumps(a))


def test_validate_accepts_code_4_on_background_and_flags_visible_joints_without_hand(clean, tmp_path):
    root = tmp_path / "d"
    shutil.copytree(clean, root)
    sid = "00000000"
    # A backdrop covers the whole hand: seg (as written) is background everywhere.
    (root / "seg" / f"{sid}.png").write_bytes(encode_png(np.zeros((64, 64), np.uint8)))
    (root / "hand_mask" / f"{sid}.png").write_bytes(encode_png(np.zeros((64, 64), np.uint8)))
    a = json.loads((root / "anno" / f"{sid}.json").read_text())
    inside = [v != 3 for v in a["hand"]["visibility"]]

    def all_visible(a):
        a["hand"]["visibility"] = [0 if i else 3 for i in inside]
    _edit(root, sid, all_visible)
    found = [p for p in validate_dataset(root) if p.sample == sid]
    assert any("no hand pixel" in p.message for p in found), found

    def behind_table(a):
        a["hand"]["visibility"] = [4 if i else 3 for i in inside]
    _edit(root, sid, behind_table)
    assert [p for p in validate_dataset(root) if p.sample == sid and p.rule == "visibility"] == []


@pytest.mark.bpy
def test_real_render_distractor_in_front_of_the_hand_gives_code_4():
    import bpy

    from hopgen.blender import hand, passes, scene, world
    from hopgen.hand import handmesh as H
    from hopgen.hand import kinematics as K
    from hopgen.hand import subjects as S

    bpy.ops.wm.read_factory_settings(use_empty=True)
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=1, adaptive_threshold=None)
    sub = S.get_subject("f04")
    mesh = H.build_hand_mesh(sub, "right")
    hand.build_hand_object(mesh, "hop_hand", subject=sub)
    joints, _ = K.forward_kinematics(S.subject_shape(sub), K.neutral_angles(), "right")
    centre = joints.mean(0)
    eye = centre + np.array([0.0, 0.0, 0.5])  # looking down at the back of the hand
    w2c = cam.look_at(eye, centre, up=(0.0, 1.0, 0.0))
    size = 48
    K_ = cam.intrinsics(60.0, 60.0, (size - 1) / 2, (size - 1) / 2)
    scene.set_camera(K_, size, size, w2c)
    # A box between the lens and the hand: covers the middle of the frame (fingers and palm).
    world.add_distractor({"shape": "box", "size": 0.05, "location": tuple(centre + [0.0, 0.0, 0.2]),
                          "rotation": (0.0, 0.0, 0.0), "surface": {}})
    labels = passes.render_annotations(s)["labels"]
    uv = cam.project(K_, cam.transform(w2c, joints))
    vis = compute_visibility(uv, labels)
    assert (labels == SEG_SURROUNDINGS).sum() > 50
    assert (vis == VIS_SURROUNDINGS).sum() >= 3, vis
    assert (vis == VIS_VISIBLE).sum() >= 1, vis  # the box does not cover every joint
    on_file = seg_for_file(labels)
    assert SEG_SURROUNDINGS not in on_file
    # Coded visible instead, those joints break validate's rule on the file labels.
    hidden = np.nonzero(vis == VIS_SURROUNDINGS)[0]
    forged = np.where(vis == VIS_SURROUNDINGS, VIS_VISIBLE, vis)
    assert set(visible_without_hand(uv, forged, on_file)) & set(hidden.tolist())
