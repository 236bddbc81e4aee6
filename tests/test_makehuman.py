"""hopgen.avatars.makehuman on real MakeHuman 1.x data (CC0 subset kept outside the repo)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from hopgen.avatars import makehuman as mh
from hopgen.avatars import makehuman_files
from hopgen.avatars import rig as rg
from hopgen.core import skeleton as sk

MH_DIR = Path(os.environ.get("HOPGEN_MAKEHUMAN_DIR")
              or Path(__file__).resolve().parents[1].parent / "shared/assets/makehuman")
if not (MH_DIR / "data" / "3dobjs" / "base.obj").is_file() and not (MH_DIR / "3dobjs" / "base.obj").is_file():
    pytest.skip(f"MakeHuman data folder not found at {MH_DIR} (set HOPGEN_MAKEHUMAN_DIR)", allow_module_level=True)

DATA = mh.resolve_data_dir(MH_DIR)
OBJ = DATA / "3dobjs" / "base.obj"


@pytest.fixture(scope="module")
def data():
    return mh.load_makehuman(MH_DIR)


@pytest.fixture(scope="module")
def obj_text():
    """Independent reading of base.obj: vertex lines, uv count, vertex set of each group's faces."""
    verts, n_uv, groups, face_groups = [], 0, {}, []
    group = None
    for line in OBJ.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:]])
        elif line.startswith("vt "):
            n_uv += 1
        elif line.startswith("g "):
            group = line[2:].strip()
        elif line.startswith("f "):
            ids = [int(c.split("/")[0]) - 1 for c in line.split()[1:]]
            groups.setdefault(group, set()).update(ids)
            face_groups.append(group)
    return np.array(verts), n_uv, groups, face_groups


@pytest.fixture(scope="module")
def skel_json():
    return json.loads((DATA / "rigs" / "default.mhskel").read_text())


def _is_hidden(group):
    return group.startswith(("helper-", "joint-"))


def test_counts_match_files(data, obj_text, skel_json):
    verts, n_uv, _, face_groups = obj_text
    assert data.vertices.shape == (len(verts), 3) == (19158, 3)
    assert data.uvs.shape == (n_uv, 2)
    n_render = sum(not _is_hidden(g) for g in face_groups)
    assert data.num_faces == n_render == 13378
    assert len(data.triangles) == (data.face_sizes - 2).sum()
    assert len(data.bones) == len(skel_json["bones"]) == 163
    assert len(data.joint_names) == len(skel_json["joints"])
    # parents come before children
    for i, p in enumerate(data.bone_parents):
        assert p < i


def test_helper_and_joint_geometry_dropped(data, obj_text):
    _, _, groups, _ = obj_text
    assert data.group_names == ("body",)
    shown = set().union(*(ids for g, ids in groups.items() if not _is_hidden(g)))
    assert set(data.render_vertex_ids.tolist()) == shown
    hidden_only = set().union(*(ids for g, ids in groups.items() if _is_hidden(g))) - shown
    assert len(hidden_only) > 5000 and not hidden_only & set(data.render_vertex_ids.tolist())
    assert data.face_loops.max() == len(data.render_vertex_ids) - 1


def test_units_metres_and_frame(data, obj_text):
    verts = obj_text[0]
    x, y, z = verts[:, 0], verts[:, 1], verts[:, 2]
    np.testing.assert_allclose(data.vertices, 0.1 * np.stack([x, -z, y], 1))
    body = mh.render_vertices(data, data.vertices)
    height = np.ptp(body[:, 2])
    assert 1.5 < height < 2.0
    nose_forward = body[:, 1].min()  # the character faces -Y
    assert abs(nose_forward) > abs(body[:, 1].max())


def test_joints_are_centroids(data, skel_json):
    joints = mh.joint_positions(data, data.vertices)
    for name in ("wrist.L____head", "finger2-3.R____tail", "root____head", "head____tail"):
        ids = skel_json["joints"][name]
        np.testing.assert_allclose(joints[data.joint_index[name]], data.vertices[ids].mean(0))


def _raw_target(path):
    rows = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    idx = np.array([int(r[0]) for r in rows])
    d = np.array([[float(v) for v in r[1:]] for r in rows])
    return idx, 0.1 * np.stack([d[:, 0], -d[:, 2], d[:, 1]], 1)


def test_targets_move_listed_vertices_by_weight(data):
    path = data.target_path("armslegs/r-hand-scale-incr")
    idx, delta = _raw_target(path)
    out = mh.apply_targets(data.vertices, {path: 0.5})
    moved = np.nonzero(np.any(out != data.vertices, axis=1))[0]
    assert set(moved.tolist()) <= set(idx.tolist()) and len(moved) > 0.9 * len(idx)
    np.testing.assert_allclose(out[idx] - data.vertices[idx], 0.5 * delta, atol=1e-12)
    # signed hand weights pick decr/incr and scale linearly; targets add
    neg = mh.apply_targets(data.vertices, {data.target_path(n): w for n, w in
                                           mh.hand_targets({"hand-scale": -0.3}, "right").items()})
    idx2, delta2 = _raw_target(data.target_path("armslegs/r-hand-scale-decr"))
    np.testing.assert_allclose(neg[idx2] - data.vertices[idx2], 0.3 * delta2, atol=1e-12)
    both = mh.apply_targets(data.vertices, {path: 0.5, data.target_path("armslegs/r-hand-scale-decr"): 0.3})
    np.testing.assert_allclose(both - data.vertices, (out - data.vertices) + (neg - data.vertices), atol=1e-12)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hand_mapping_matches_joint_groups(data, obj_text, side):
    groups = obj_text[2]
    s = mh.SIDE_PREFIX[side]
    expected = [f"joint-{s}-hand"] + [f"joint-{s}-finger-{f}-{k}" for f in range(1, 6) for k in range(1, 5)]
    for (bone, end), group in zip(mh.hand_joint_sources(side), expected):
        b = data.bones[data.bone_index[bone]]
        ids = data.joint_vertex_ids[data.joint_index[b.head if end == "head" else b.tail]]
        assert set(ids.tolist()) == groups[group], (bone, end, group)
    # fingers 2-5 hang off metacarpals 1-4, the thumb off the wrist
    for f in range(2, 6):
        assert data.bones[data.bone_index[f"finger{f}-1{mh.SIDE_SUFFIX[side]}"]].parent == \
            f"metacarpal{f - 1}{mh.SIDE_SUFFIX[side]}"
    assert data.bones[data.bone_index[f"finger1-1{mh.SIDE_SUFFIX[side]}"]].parent == f"wrist{mh.SIDE_SUFFIX[side]}"


def _check_hand_layout(hand, side):
    assert hand.shape == (21, 3)
    assert 0.15 < mh.hand_length(hand) < 0.22
    for f in range(5):
        chain = [0] + [1 + 4 * f + k for k in range(4)]
        dist = np.linalg.norm(hand[chain] - hand[0], axis=1)
        assert np.all(np.diff(dist) > 0.005), (f, dist)
    # MCPs in order index..pinky across the hand, thumb nearer the index than the pinky
    mcp = hand[[5, 9, 13, 17]]
    across = mcp[3] - mcp[0]
    assert np.all(np.diff(mcp @ across) > 0)
    assert np.linalg.norm(hand[1] - hand[5]) < np.linalg.norm(hand[1] - hand[17])
    # character's left hand is on +X
    assert np.sign(hand[:, 0]).tolist() == [1.0 if side == "left" else -1.0] * 21


@pytest.mark.parametrize("side", ["left", "right"])
def test_hand_joints_plausible_for_all_subjects(data, side):
    for subject in (None,) + mh.DEFAULT_MAKEHUMAN_SUBJECTS:
        verts = data.vertices if subject is None else mh.subject_vertices(data, subject)
        _check_hand_layout(mh.hand_joints(data, mh.joint_positions(data, verts), side), side)


def test_left_right_mirror(data):
    joints = mh.joint_positions(data, data.vertices)
    left, right = mh.hand_joints(data, joints, "left"), mh.hand_joints(data, joints, "right")
    np.testing.assert_allclose(left * [-1, 1, 1], right, atol=1e-6)


def test_weights_normalised_and_match_file(data):
    w = data.weights
    assert w.bone.shape == w.weight.shape == (len(data.render_vertex_ids), w.bone.shape[1])
    np.testing.assert_allclose(w.weight.sum(1), 1.0)
    assert w.weight.min() >= 0 and w.bone.max() < len(data.bones)
    raw = json.loads((DATA / "rigs" / "default_weights.mhw").read_text())["weights"]
    v = int(data.render_vertex_ids[1234])
    expect = {data.bone_index[b]: x for b, pairs in raw.items() for i, x in pairs if i == v}
    got = {int(b): x for b, x in zip(w.bone[1234], w.weight[1234]) if x > 0}
    total = sum(expect.values())
    assert got.keys() == expect.keys()
    for b in got:
        assert got[b] == pytest.approx(expect[b] / total)


def test_rest_frames_and_skinning(data):
    # The rig the episodes pose (makehuman_rig -> hopgen.avatars.rig): orthonormal rest frames,
    # the identity pose skins to the rest mesh, and MakeHuman flexion is a negative rotation
    # about the bone's local X that moves the finger to the palm side.
    r = mh.makehuman_rig(data, {"id": "plain", "sex": "female", "targets": {}}, name="plain")
    rest = r.rest
    np.testing.assert_allclose(np.einsum("bji,bjk->bik", rest[:, :3, :3], rest[:, :3, :3]),
                               np.broadcast_to(np.eye(3), (len(rest), 3, 3)), atol=1e-9)
    body = r.vertices
    np.testing.assert_allclose(rg.skin(r, rg.pose(r, rg.identity_pose(r))), body, atol=1e-9)

    # Flex the left index MCP by 60 degrees: negative rotation about the bone's local X.
    a = np.radians(-60)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    local = rg.identity_pose(r)
    i1, i3 = data.bone_index["finger2-1.L"], data.bone_index["finger2-3.L"]
    local[i1] = rot
    posed = rg.pose(r, local)
    joints = mh.joint_positions(data, mh.subject_vertices(data, {"id": "plain", "sex": "female", "targets": {}}))
    tail_rest = joints[data.joint_index["finger2-3.L____tail"]]
    tail_posed = posed[i3] @ np.linalg.solve(rest[i3], np.append(tail_rest, 1.0))
    head = rest[i1, :3, 3]
    assert np.linalg.norm(tail_posed[:3] - head) == pytest.approx(np.linalg.norm(tail_rest - head))
    # the fingertip moves to the palm side (the side of the plane wrist/index MCP/pinky MCP
    # where the rest thumb tip lies)
    hand = mh.hand_joints(data, joints, "left")
    normal = np.cross(hand[5] - hand[0], hand[17] - hand[0])
    palm_side = np.sign(np.dot(hand[4] - hand[0], normal))
    assert palm_side * np.dot(tail_posed[:3] - tail_rest, normal) > 0
    skinned = rg.skin(r, posed)
    moved = np.linalg.norm(skinned - body, axis=1) > 1e-9
    labels = mh.face_labels(data, "left")
    index_faces = np.isin(labels, [sk.seg_phalanx(1, s) for s in range(3)])
    index_verts = np.unique(data.face_loops[np.repeat(index_faces, data.face_sizes)])
    assert moved[index_verts].mean() > 0.95
    assert moved.mean() < 0.04  # only the finger and its neighbourhood move


@pytest.mark.parametrize("side", ["left", "right"])
def test_face_labels(data, side):
    labels = mh.face_labels(data, side)
    assert labels.shape == (data.num_faces,) and labels.dtype == np.uint8
    counts = np.bincount(labels, minlength=sk.NUM_SEG_LABELS)
    assert counts[sk.SEG_ARM] > 10000
    # MakeHuman weights the thenar mostly to the wrist, so finger1-1 (thumb segment 0) is small
    assert np.all(counts[list(sk.HAND_LABELS)] >= 10)
    assert counts[sk.SEG_PALM] > 150
    assert counts[sk.SEG_BACKGROUND] == counts[sk.SEG_OBJECT] == 0
    # hand faces lie on the requested side, near the hand joints
    body = mh.render_vertices(data, data.vertices)
    hand = mh.hand_joints(data, mh.joint_positions(data, data.vertices), side)
    centres = np.array([body[data.face_loops[s:s + n]].mean(0) for s, n in zip(data.face_starts, data.face_sizes)])
    is_hand = labels >= sk.SEG_PALM
    assert np.all(np.sign(centres[is_hand, 0]) == (1 if side == "left" else -1))
    # distal index faces are nearest the index tip among all joints
    distal = centres[labels == sk.seg_phalanx(1, 2)]
    nearest = np.linalg.norm(distal[:, None] - hand[None], axis=2).argmin(1)
    assert np.isin(nearest, [7, 8]).mean() > 0.9


def test_default_subjects(data):
    subs = mh.DEFAULT_MAKEHUMAN_SUBJECTS
    assert len(subs) == 10 and len({s["id"] for s in subs}) == 10
    assert sum(s["sex"] == "female" for s in subs) == 5 and sum(s["sex"] == "male" for s in subs) == 5
    assert {e for s in subs for e in s["ethnicity"]} == set(mh.ETHNICITIES)
    for s in subs:
        weights = mh.subject_targets(data, s)
        macro = [w for p, w in weights.items() if "macrodetails" in str(p)]
        assert sum(macro) == pytest.approx(1.0)
        assert all(p.is_file() for p in weights)
    a = mh.subject_vertices(data, subs[0])
    np.testing.assert_array_equal(a, mh.subject_vertices(data, subs[0]))  # deterministic
    assert np.abs(a - mh.subject_vertices(data, subs[5])).max() > 0.01
    # side="left" applies the hand targets to the left hand only
    left_only = mh.subject_vertices(data, subs[0], side="left")
    joints = mh.joint_positions(data, left_only)
    base = mh.joint_positions(data, mh.apply_targets(data.vertices, {
        p: w for p, w in mh.subject_targets(data, subs[0], sides=()).items()}))
    assert not np.allclose(mh.hand_joints(data, joints, "left"), mh.hand_joints(data, base, "left"))
    np.testing.assert_allclose(mh.hand_joints(data, joints, "right"), mh.hand_joints(data, base, "right"))
    # female hands are shorter than male ones on average
    lengths = [mh.hand_length(mh.hand_joints(data, mh.joint_positions(data, mh.subject_vertices(data, s)), "right"))
               for s in subs]
    assert np.mean(lengths[:5]) + 0.015 < np.mean(lengths[5:])


def _fake_folder(tmp_path, skip=()):
    """A data folder made of links to the real files, minus those in ``skip``."""
    root = tmp_path / "mh"
    for rel in ("3dobjs/base.obj", "rigs/default.mhskel", "rigs/default_weights.mhw", "targets"):
        if rel in skip:
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(DATA / rel)
    return root


def test_bad_folders(tmp_path):
    with pytest.raises(mh.MakeHumanError, match="lacks 3dobjs/base.obj"):
        mh.load_makehuman(tmp_path)
    with pytest.raises(mh.MakeHumanError, match="does not exist"):
        mh.load_makehuman(tmp_path / "nope")
    with pytest.raises(mh.MakeHumanError, match="lacks rigs/default.mhskel"):
        mh.load_makehuman(_fake_folder(tmp_path / "a", skip=("rigs/default.mhskel",)))
    with pytest.raises(mh.MakeHumanError, match="lacks rigs/default_weights.mhw"):
        mh.load_makehuman(_fake_folder(tmp_path / "b", skip=("rigs/default_weights.mhw",)))
    broken = _fake_folder(tmp_path / "c", skip=("rigs/default.mhskel",))
    (broken / "rigs" / "default.mhskel").write_text("{not json")
    with pytest.raises(mh.MakeHumanError, match="default.mhskel.*not readable JSON"):
        mh.load_makehuman(broken)
    assert issubclass(mh.MakeHumanError, ValueError)


def test_bad_targets(tmp_path, data):
    bad = tmp_path / "bad.target"
    bad.write_text("# comment\n12 0.1 0.2 0.3\n13 0.1 zero 0.3\n")
    with pytest.raises(mh.MakeHumanError, match=r"bad.target:3: bad target line"):
        mh.apply_targets(data.vertices, {bad: 1.0})
    far = tmp_path / "far.target"
    far.write_text("999999 0.1 0.2 0.3\n")
    with pytest.raises(mh.MakeHumanError, match="far.target: vertex index 999999 outside"):
        mh.apply_targets(data.vertices, {far: 1.0})
    with pytest.raises(mh.MakeHumanError, match="target file not found"):
        mh.apply_targets(data.vertices, {tmp_path / "missing.target": 1.0})
    with pytest.raises(mh.MakeHumanError, match="bad hand target 'hand-size'"):
        mh.hand_targets({"hand-size": 0.5}, "left")
    with pytest.raises(mh.MakeHumanError, match="bad macro parameters"):
        mh.macro_targets(0.0, {"martian": 1.0})


def test_load_is_cached_and_read_only():
    # (no wall-clock bound here: speed belongs in benchmarks, and a loaded CI machine made it flaky)
    fresh = makehuman_files._load(DATA)
    assert mh.load_makehuman(MH_DIR) is mh.load_makehuman(DATA)
    assert fresh.vertices.shape == mh.load_makehuman(DATA).vertices.shape
    with pytest.raises(ValueError):
        fresh.vertices[0, 0] = 1.0  # cached arrays are read-only
