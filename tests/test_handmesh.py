"""Procedural hand mesh: watertight, mirror-exact, skinning quality, joints inside, subjects."""
import hashlib
import time

import numpy as np
import pytest

from hopgen.hand import handmesh as H
from hopgen.hand import kinematics as K
from hopgen.core import skeleton
from hopgen.hand import subjects as S


def winding_numbers(v, f, points):
    """Generalised winding number of each point w.r.t. a closed triangle mesh (1 inside, 0 outside)."""
    out = []
    for p in points:
        a, b, c = (v[f[:, i]] - p for i in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        det = np.einsum("ij,ij->i", a, np.cross(b, c))
        den = la * lb * lc + np.einsum("ij,ij->i", a, b) * lc + np.einsum("ij,ij->i", b, c) * la \
            + np.einsum("ij,ij->i", c, a) * lb
        out.append(np.sum(2 * np.arctan2(det, den)) / (4 * np.pi))
    return np.array(out)


def signed_volume(v, f):
    return np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0


@pytest.fixture(scope="module")
def subject():
    return S.get_subject("m03")


@pytest.fixture(scope="module")
def shape(subject):
    return S.subject_shape(subject)


@pytest.fixture(scope="module")
def right(subject):
    return H.build_hand_mesh(subject, "right")


@pytest.fixture(scope="module")
def left(subject):
    return H.build_hand_mesh(subject, "left")


def extreme_poses():
    return [K.LIMITS_LO.copy(), K.LIMITS_HI.copy(), np.where(np.arange(K.NUM_DOF) % 2, K.LIMITS_LO, K.LIMITS_HI)]


def test_mesh_arrays_and_sizes(right):
    v, f = right.rest_vertices, right.faces
    assert 15000 <= len(v) <= 45000
    assert f.dtype == np.int32 and f.shape[1] == 3 and f.min() >= 0 and f.max() < len(v)
    assert right.weights.shape == (len(v), H.NUM_SKIN_BONES) and right.weights.dtype == np.float32
    assert np.all(right.weights >= 0)
    np.testing.assert_allclose(right.weights.sum(axis=1), 1.0, atol=1e-5)
    assert right.face_labels.dtype == np.uint8 and right.face_labels.shape == (len(f),)
    assert right.face_material.dtype == np.uint8 and right.crease.shape == (len(v),)
    assert 0.0 <= right.crease.min() and right.crease.max() <= 1.0
    assert not np.any(np.all(f[:, [0]] == f[:, [1, 2]], axis=1))  # no degenerate index triples


def test_watertight_and_outward(right):
    f = right.faces
    assert np.all(edge_use_counts(f) == 2)
    # consistently oriented: every directed edge appears once, and its reverse exists
    d = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]).astype(np.int64)
    key = d[:, 0] * len(right.rest_vertices) + d[:, 1]
    rev = d[:, 1] * len(right.rest_vertices) + d[:, 0]
    assert len(np.unique(key)) == len(key)
    assert np.all(np.isin(rev, key))
    vol = signed_volume(right.rest_vertices, f)
    assert 3e-4 < vol < 1.5e-3  # hand + 18 cm forearm is roughly 0.4-1.0 litre, outward normals


def test_labels_and_nails(right):
    labels = set(np.unique(right.face_labels).tolist())
    want = {skeleton.SEG_ARM, skeleton.SEG_PALM} | {skeleton.seg_phalanx(f, s) for f in range(5) for s in range(3)}
    assert labels == want
    nails = right.face_material == 1
    assert nails.sum() > 200
    distal = {skeleton.seg_phalanx(f, 2) for f in range(5)}
    assert set(np.unique(right.face_labels[nails]).tolist()) <= distal
    # every finger has a nail, on the dorsal (-z) side at the rest pose
    assert set(np.unique(right.face_labels[nails]).tolist()) == distal
    cen = right.rest_vertices[right.faces[nails]].mean(axis=1)
    fingers = right.face_labels[nails] != skeleton.seg_phalanx(0, 2)
    assert np.all(cen[fingers][:, 2] < right.rest_joints[8][2] + 0.002)
    # arm faces lie proximal to the wrist
    arm = right.face_labels == skeleton.SEG_ARM
    assert np.all(right.rest_vertices[right.faces[arm]].mean(axis=1)[:, 1] < 0.0)


def test_left_is_exact_mirror(right, left, shape):
    np.testing.assert_array_equal(left.rest_vertices, right.rest_vertices * [-1, 1, 1])
    np.testing.assert_array_equal(left.faces, right.faces[:, ::-1])
    assert signed_volume(left.rest_vertices, left.faces) > 0
    a = K.random_angles(np.random.default_rng(0))
    pr = H.pose_vertices(right, shape, a, "right")
    pl = H.pose_vertices(left, shape, a, "left")
    np.testing.assert_array_equal(pl, pr * [-1, 1, 1])
    with pytest.raises(ValueError, match="left hand"):
        H.pose_vertices(left, shape, a, "right")


def test_rest_pose_is_identity(right, shape):
    p = H.pose_vertices(right, shape, K.neutral_angles(), "right")
    np.testing.assert_allclose(p, right.rest_vertices, atol=1e-12)


@pytest.mark.parametrize("pose", range(3))
def test_extreme_poses_keep_volume(right, shape, pose):
    a = extreme_poses()[pose]
    p = H.pose_vertices(right, shape, a, "right")
    assert np.all(np.isfinite(p))
    v0 = signed_volume(right.rest_vertices, right.faces)
    v1 = signed_volume(p, right.faces)
    assert abs(v1 / v0 - 1) < 0.12


@pytest.mark.parametrize("finger", [1, 2, 3, 4])
def test_pip_cross_section_does_not_collapse(right, shape, finger):
    """At 100 deg PIP (and 90 deg MCP) flexion the finger stays round near the joints."""
    a = K.neutral_angles()
    mcp, pip, dip = K.FLEX_DOFS[finger]
    a[mcp], a[pip], a[dip] = np.radians(90), np.radians(100), np.radians(70)
    fk0 = K.forward_kinematics_full(shape, K.neutral_angles(), "right")
    fk = K.forward_kinematics_full(shape, a, "right")
    p = H.pose_vertices(right, shape, a, "right")
    bones = [4 * finger + s for s in range(1, 4)]  # proximal, middle, distal phalanx
    owned = right.weights[:, bones].sum(axis=1) > 0.5
    for s, jnt in ((1, 4 * finger + 2), (0, 4 * finger + 1)):  # PIP, MCP
        fr = fk0.frames[4 * finger + 1]  # proximal phalanx: origin MCP, y toward PIP
        loc = (right.rest_vertices - fr[:3, 3]) @ fr[:3, :3]
        axial = loc[:, 1] - (shape.lengths[finger, 0] if s == 1 else 0.0)
        near = (np.abs(axial) < 0.003) & (np.linalg.norm(loc[:, [0, 2]], axis=1) < 2 * shape.radii[finger, 1]) \
            & (owned | (s == 0))
        assert near.sum() > 20
        r_rest = np.linalg.norm(loc[near][:, [0, 2]], axis=1).mean()
        # distance of posed vertices from the posed joint centre (the axis through the bent joint)
        dist = np.linalg.norm(p[near] - fk.joints[jnt], axis=1)
        assert dist.min() > 0.4 * r_rest, (s, dist.min() / r_rest)
        # the joint-local ring keeps most of its mean radius (no candy-wrapper collapse)
        assert dist.mean() > 0.8 * r_rest


@pytest.mark.parametrize("side", ["right", "left"])
def test_joints_inside_posed_mesh(subject, shape, side):
    m = H.build_hand_mesh(subject, side)
    rng = np.random.default_rng(7)
    poses = [K.neutral_angles(), K.LIMITS_HI.copy()] + [K.random_angles(rng) for _ in range(3)]
    for a in poses:
        j, _ = K.forward_kinematics(shape, a, side)
        p = H.pose_vertices(m, shape, a, side)
        w = winding_numbers(p, m.faces, j)
        assert np.all(w > 0.5), (side, np.nonzero(w <= 0.5)[0])


def test_neutral_hand_length_matches_subject(right, subject):
    v = right.rest_vertices
    tip_y = v[:, 1].max()
    assert abs(tip_y * 1e3 - subject.hand_length_mm) < 0.1 * subject.hand_length_mm
    y_mcp = right.rest_joints[5][1]  # index MCP level, thumb excluded
    band = (np.abs(v[:, 1] - y_mcp) < 0.003) & (right.weights[:, 1:4].sum(axis=1) < 0.5)
    breadth = (v[band, 0].max() - v[band, 0].min()) * 1e3
    assert abs(breadth - subject.hand_breadth_mm) < 0.15 * subject.hand_breadth_mm


def test_deterministic_rebuild(subject):
    def digest(m):
        h = hashlib.sha256()
        for arr in (m.rest_vertices, m.faces, m.weights, m.face_labels, m.face_material):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()
    H._CACHE.clear()
    a = H.build_hand_mesh(subject, "right")
    H._CACHE.clear()
    b = H.build_hand_mesh(subject, "right")
    assert a is not b and digest(a) == digest(b)
    with pytest.raises(ValueError):
        a.rest_vertices[0, 0] = 1.0  # cached arrays are read-only


def test_builtin_subjects():
    subs = S.BUILTIN_SUBJECTS
    assert len(subs) == 10 and len({s.id for s in subs}) == 10
    assert sum(s.sex == "female" for s in subs) == 5 and sum(s.sex == "male" for s in subs) == 5
    assert {s.fitzpatrick for s in subs} == {1, 2, 3, 4, 5, 6}
    for s in subs:
        lo, hi = (170, 190) if s.sex == "female" else (184, 206)
        assert lo <= s.hand_length_mm <= hi and 73 <= s.hand_breadth_mm <= 93
        assert all(0 < c < 1 for c in s.skin_rgb)
        assert S.get_subject(s.id) is s
    lum = [np.dot(s.skin_rgb, [0.2126, 0.7152, 0.0722]) for s in sorted(subs, key=lambda s: s.fitzpatrick)]
    assert lum[0] > 4 * lum[-1]  # type I far lighter than type VI
    with pytest.raises(ValueError, match="unknown subject"):
        S.get_subject("x99")


def test_sample_subject_deterministic_and_plausible():
    a = [S.sample_subject(np.random.default_rng([3, i])) for i in range(40)]
    b = [S.sample_subject(np.random.default_rng([3, i])) for i in range(40)]
    assert a == b
    fem = [s.hand_length_mm for s in a if s.sex == "female"]
    mal = [s.hand_length_mm for s in a if s.sex == "male"]
    assert fem and mal and np.mean(mal) > np.mean(fem)
    assert all(150 < s.hand_length_mm < 230 for s in a)
    assert S.sample_subject(np.random.default_rng(1), sex="female").sex == "female"


@pytest.mark.slow
def test_all_builtin_subjects_watertight():
    for s in S.BUILTIN_SUBJECTS:
        m = H.build_hand_mesh(s, "right")
        assert np.all(edge_use_counts(m.faces) == 2), s.id
        assert 15000 <= len(m.rest_vertices) <= 45000, (s.id, len(m.rest_vertices))


def edge_use_counts(faces):
    """How many faces use each undirected edge: (E,) counts (all 2 for a closed manifold)."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return counts
