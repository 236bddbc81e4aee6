"""Hand kinematics: limits, bone lengths, mirror symmetry, plausible neutral pose."""
import numpy as np
import pytest

from hopgen.hand import kinematics as K
from hopgen.core import skeleton


@pytest.fixture(scope="module")
def shape():
    return K.shape_from_measurements(190.0, 86.0)


def test_dof_table_consistent():
    assert K.NUM_DOF == len(K.DOF_NAMES) == len(set(K.DOF_NAMES))
    assert K.LIMITS_LO.shape == K.LIMITS_HI.shape == (K.NUM_DOF,)
    assert np.all(K.LIMITS_LO < K.LIMITS_HI)
    assert K.within_limits(K.neutral_angles())
    # every finger has MCP flex+abd, PIP, DIP; the thumb CMC flex+abd, MCP flex, IP flex
    for name in ("index", "middle", "ring", "pinky"):
        for dof in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"):
            assert f"{name}_{dof}" in K.DOF_INDEX
    for dof in ("cmc_flex", "cmc_abd", "mcp_flex", "ip_flex"):
        assert f"thumb_{dof}" in K.DOF_INDEX


def test_clamp_enforces_limits():
    rng = np.random.default_rng(0)
    a = rng.uniform(-4, 4, K.NUM_DOF)
    assert not K.within_limits(a)
    c = K.clamp_angles(a)
    assert K.within_limits(c)
    inside = (a >= K.LIMITS_LO) & (a <= K.LIMITS_HI)
    np.testing.assert_array_equal(c[inside], a[inside])
    assert np.all((c == K.LIMITS_LO) | (c == K.LIMITS_HI) | inside)


def test_dict_roundtrip_and_errors():
    a = K.random_angles(np.random.default_rng(1))
    d = K.angles_to_dict(a)
    assert list(d) == list(K.DOF_NAMES)
    np.testing.assert_array_equal(K.angles_from_dict(d), a)
    with pytest.raises(ValueError, match="unknown"):
        K.angles_from_dict({"elbow": 0.0})
    with pytest.raises(ValueError, match="missing"):
        K.angles_from_dict({"index_pip_flex": 0.1})
    with pytest.raises(ValueError, match="shape"):
        K.clamp_angles(np.zeros(3))


def test_couple_dip():
    assert K.couple_dip(0.9) == pytest.approx(0.6)
    assert K.couple_dip(10.0) == pytest.approx(K.LIMITS_HI[K.DOF_INDEX["index_dip_flex"]])


@pytest.mark.parametrize("side", ["left", "right"])
def test_bone_lengths_preserved_and_rigid_transforms(shape, side):
    rng = np.random.default_rng(2)
    j0, _ = K.forward_kinematics(shape, K.neutral_angles(), side)
    l0 = K.bone_lengths(j0)
    for _ in range(20):
        a = K.random_angles(rng)
        r = K.forward_kinematics_full(shape, a, side)
        np.testing.assert_allclose(K.bone_lengths(r.joints), l0, atol=1e-12)
        rot = r.transforms[:, :3, :3]
        np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
        # the rest-to-posed transform of bone b carries both rest joints of b onto the posed ones
        for b, (p, c) in enumerate(skeleton.BONES):
            for jj in (p, c):
                moved = r.transforms[b, :3, :3] @ j0[jj] + r.transforms[b, :3, 3]
                np.testing.assert_allclose(moved, r.joints[jj], atol=1e-12)
        # local frames: origin at the parent joint, y toward the child joint
        for b, (p, c) in enumerate(skeleton.BONES):
            np.testing.assert_allclose(r.frames[b, :3, 3], r.joints[p], atol=1e-12)
            u = (r.joints[c] - r.joints[p]) / np.linalg.norm(r.joints[c] - r.joints[p])
            np.testing.assert_allclose(r.frames[b, :3, 1], u, atol=1e-12)
            assert np.linalg.det(r.frames[b, :3, :3]) == pytest.approx(1.0)


def test_left_is_mirror_of_right(shape):
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = K.random_angles(rng)
        jr, tr = K.forward_kinematics(shape, a, "right")
        jl, tl = K.forward_kinematics(shape, a, "left")
        np.testing.assert_array_equal(jl, jr * [-1, 1, 1])
        m = np.diag([-1.0, 1, 1, 1])
        np.testing.assert_allclose(tl, m @ tr @ m, atol=1e-15)


def test_neutral_pose_plausible(shape):
    j, t = K.forward_kinematics(shape, K.neutral_angles(), "right")
    np.testing.assert_allclose(t, np.broadcast_to(np.eye(4), t.shape), atol=1e-12)
    assert np.allclose(j[0], 0)
    assert abs(j[9][0]) < 1e-12 and j[9][1] > 0  # middle MCP on +y
    length_mm = (np.linalg.norm(j[12]) + K.TIP_SKIN_MARGIN_MM * 1e-3) * 1e3
    assert abs(length_mm - 190.0) < 19.0
    assert j[1][0] > 0 and j[4][0] > j[5][0]  # right thumb on +x (radial side)
    assert j[17][0] < j[13][0] < j[9][0] < j[5][0]  # pinky .. index ordered along x
    # finger lengths ordered like real hands: middle > ring ~ index > pinky
    flen = [np.linalg.norm(j[4 * f + 4] - j[4 * f + 1]) for f in range(1, 5)]
    assert flen[1] > flen[0] and flen[1] > flen[2] > flen[3]


def test_flexion_bends_toward_palm(shape):
    a = K.neutral_angles()
    for f in range(1, 5):
        for i in K.FLEX_DOFS[f]:
            a[i] = 0.6
    for i in K.FLEX_DOFS[0]:
        a[i] = 0.3
    j0, _ = K.forward_kinematics(shape, K.neutral_angles(), "right")
    j, _ = K.forward_kinematics(shape, a, "right")
    for f in range(1, 5):
        assert j[4 * f + 4][2] > j0[4 * f + 4][2] + 0.03  # fingertips move to +z
    # thumb flexion sweeps it toward the fingers (ulnar, -x)
    assert j[4][0] < j0[4][0]


def test_thumb_can_oppose_index(shape):
    """A pulp-to-pulp pinch is reachable inside the limits (pulps face each other)."""
    a = K.neutral_angles()
    deg = dict(thumb_cmc_flex=39, thumb_cmc_abd=14, thumb_cmc_roll=-15, thumb_mcp_flex=-5, thumb_mcp_abd=-1,
               thumb_ip_flex=-15, index_mcp_flex=23, index_mcp_abd=-13, index_pip_flex=51, index_dip_flex=90)
    for k, v in deg.items():
        a[K.DOF_INDEX[k]] = np.radians(v)
    assert K.within_limits(a)
    r = K.forward_kinematics_full(shape, a, "right")
    assert np.linalg.norm(r.joints[4] - r.joints[8]) < 0.022
    assert r.frames[3][:3, 2] @ r.frames[7][:3, 2] < -0.7


def test_wrist_moves_only_the_forearm(shape):
    a = K.neutral_angles()
    a[K.DOF_INDEX["wrist_flex"]] = 0.8
    r = K.forward_kinematics_full(shape, a, "right")
    j0, _ = K.forward_kinematics(shape, K.neutral_angles(), "right")
    np.testing.assert_array_equal(r.joints, j0)
    elbow = r.transforms[20, :3, :3] @ np.array([0.0, -0.2, 0.0])
    assert elbow[2] > 0.1  # flexing the hand puts the forearm on the palm side of the hand frame


def test_shape_validation():
    with pytest.raises(ValueError, match="hand_length_mm"):
        K.shape_from_measurements(20.0, 80.0)
    s = K.shape_from_measurements(175.0, 76.0, 0.95)
    assert s.to_dict()["hand_length_mm"] == 175.0
