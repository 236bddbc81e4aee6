"""Canonical hand frame (hopgen.hand.canonical): round trip, invariances and the frame conditions."""

import numpy as np
import pytest

from hopgen.hand import canonical as cn
from hopgen.core.camera import rotation_matrix
from hopgen.core.skeleton import NUM_JOINTS


def synthetic_hands(rng, n):
    """(n, 21, 3) plausible left hands in native order (metres), random finger curls, in a local
    frame (fingers along +y, palm facing -z). Shared with test_models3d."""
    # Base of each finger (thumb CMC, then index..pinky MCP) and its direction in the palm plane.
    bases = np.array([[0.020, 0.020, -0.005], [0.025, 0.085, 0], [0.005, 0.090, 0],
                      [-0.015, 0.085, 0], [-0.032, 0.075, 0]])
    spread = np.array([0.9, 0.15, 0.0, -0.12, -0.25])  # radians about z
    lengths = np.array([[0.040, 0.032, 0.028], [0.042, 0.025, 0.022], [0.046, 0.028, 0.024],
                        [0.043, 0.027, 0.023], [0.034, 0.020, 0.020]])
    out = np.zeros((n, NUM_JOINTS, 3))
    for s in range(n):
        size = rng.uniform(0.85, 1.15)
        for f in range(5):
            curl = rng.uniform(0.0, 1.2)
            d = rotation_matrix([0, 0, 1], spread[f] + rng.normal(0, 0.05)) @ np.array([0.0, 1.0, 0.0])
            axis = np.cross(d, [0.0, 0.0, 1.0])  # flexion axis: fingers curl towards -z
            p = bases[f].copy()
            j0 = 1 + 4 * f
            out[s, j0] = p
            for k in range(3):
                d = rotation_matrix(axis, curl * (0.6 + 0.2 * k)) @ d
                p = p + lengths[f, k] * d
                out[s, j0 + k + 1] = p
        out[s] *= size
    return out


def random_rotation(rng):
    return rotation_matrix(rng.normal(size=3), rng.uniform(0, np.pi))


@pytest.fixture
def hands():
    return synthetic_hands(np.random.default_rng(0), 6)


@pytest.mark.parametrize("root", ["wrist", "palm"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_round_trip(hands, root, side):
    rng = np.random.default_rng(1)
    x = np.stack([h @ random_rotation(rng).T + rng.normal(size=3) for h in hands])
    can, rot, scale, root_xyz = cn.canonicalize(x, side, root=root)
    assert can.shape == x.shape and rot.shape == (len(x), 3, 3) and scale.shape == (len(x),)
    np.testing.assert_allclose(cn.uncanonicalize(can, rot, scale, root_xyz, side), x, atol=1e-12)
    # relative pose == (x - root) / scale, the ViewPoint composition
    rel = cn.relative_pose_from_canonical(can, rot, side)
    np.testing.assert_allclose(rel, (x - root_xyz[:, None]) / scale[:, None, None], atol=1e-12)
    # rotations are proper
    np.testing.assert_allclose(rot @ np.swapaxes(rot, 1, 2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)


def test_frame_conditions(hands):
    can, _, scale, _ = cn.canonicalize(hands, "left")
    mcp, pip, pinky = can[:, cn.MIDDLE_MCP], can[:, cn.MIDDLE_PIP], can[:, cn.PINKY_MCP]
    np.testing.assert_allclose(can[:, cn.WRIST], 0.0, atol=1e-12)
    np.testing.assert_allclose(mcp[:, [0, 2]], 0.0, atol=1e-12)  # middle MCP on the y axis ...
    assert np.all(mcp[:, 1] < 0)                                  # ... negative side
    np.testing.assert_allclose(pinky[:, 2], 0.0, atol=1e-12)      # pinky MCP in z = 0 ...
    assert np.all(pinky[:, 0] > 0)                                # ... with x > 0
    np.testing.assert_allclose(np.linalg.norm(mcp - pip, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(scale, np.linalg.norm(hands[:, 9] - hands[:, 10], axis=-1))


def test_palm_root_frame(hands):
    can, _, _, root = cn.canonicalize(hands, "left", root="palm")
    np.testing.assert_allclose(root, 0.5 * (hands[:, 0] + hands[:, 9]))
    np.testing.assert_allclose(can[:, 0] + can[:, 9], 0.0, atol=1e-12)  # root = palm centre
    np.testing.assert_allclose(can[:, 9, [0, 2]], 0.0, atol=1e-12)
    assert np.all(can[:, 9, 1] < 0)
    # same orientation as the wrist-rooted frame, shifted along y only
    can_w, rot_w, _, _ = cn.canonicalize(hands, "left")
    _, rot_p, _, _ = cn.canonicalize(hands, "left", root="palm")
    np.testing.assert_allclose(rot_p, rot_w, atol=1e-12)
    np.testing.assert_allclose(can - can_w, np.broadcast_to(can[:, :1] - can_w[:, :1], can.shape), atol=1e-12)


def test_invariant_to_similarity_transforms(hands):
    rng = np.random.default_rng(2)
    can0 = cn.canonicalize(hands, "left")[0]
    for _ in range(5):
        r, t, s = random_rotation(rng), rng.normal(size=3), rng.uniform(0.1, 10)
        moved = s * hands @ r.T + t
        np.testing.assert_allclose(cn.canonicalize(moved, "left")[0], can0, atol=1e-10)


def test_left_and_mirrored_right_agree(hands):
    rng = np.random.default_rng(3)
    right = (hands * [1, 1, -1]) @ random_rotation(rng).T + rng.normal(size=3)  # a mirror image, moved
    can_l = cn.canonicalize(hands, "left")[0]
    can_r, rot_r, scale_r, root_r = cn.canonicalize(right, "right")
    np.testing.assert_allclose(can_r, can_l, atol=1e-10)
    np.testing.assert_allclose(cn.uncanonicalize(can_r, rot_r, scale_r, root_r, "right"), right, atol=1e-12)
    # without mirroring a right hand is a different (reflected) canonical pose
    assert not np.allclose(cn.canonicalize(right, "left")[0], can_l, atol=1e-3)


def test_single_pose_and_mixed_sides(hands):
    sides = ["left", "right", "left", "right", "right", "left"]
    can, rot, scale, root = cn.canonicalize(hands, sides)
    for i, s in enumerate(sides):
        c1, r1, s1, o1 = cn.canonicalize(hands[i], s)
        assert c1.shape == (21, 3) and r1.shape == (3, 3) and np.shape(s1) == () and o1.shape == (3,)
        np.testing.assert_allclose(c1, can[i]); np.testing.assert_allclose(r1, rot[i])
    can_b = cn.canonicalize(hands, np.array(sides) == "right")[0]
    np.testing.assert_allclose(can_b, can)


def test_matches_sequential_rotations(hands):
    """The closed form equals hand3d's sequence: about z, then x (kp12 to -y), then about y (kp20 to z=0)."""
    def rz(a): return rotation_matrix([0, 0, 1], a)
    def rx(a): return rotation_matrix([1, 0, 0], a)
    def ry(a): return rotation_matrix([0, 1, 0], a)
    for h in hands:
        v = (h - h[0]) / np.linalg.norm(h[9] - h[10])
        p = v[9]
        m = rz(np.arctan2(p[0], p[1]))           # p -> yz plane
        p = m @ v[9]
        m = rx(np.arctan2(-p[2], -p[1])) @ m     # p -> -y axis
        q = m @ v[17]
        m = ry(np.arctan2(q[2], q[0])) @ m       # pinky MCP -> z = 0, x > 0
        np.testing.assert_allclose(v @ m.T, cn.canonicalize(h, "left")[0], atol=1e-12)


def test_bad_input_errors(hands):
    with pytest.raises(ValueError, match="shape"):
        cn.canonicalize(np.zeros((20, 3)), "left")
    with pytest.raises(ValueError, match="side"):
        cn.canonicalize(hands[0], "up")
    with pytest.raises(ValueError, match="root"):
        cn.canonicalize(hands[0], "left", root="elbow")
    flat = hands[0].copy()
    flat[10] = flat[9]
    with pytest.raises(ValueError, match="zero length"):
        cn.canonicalize(flat, "left")
    line = hands[0].copy()
    line[17] = 2 * line[9]
    with pytest.raises(ValueError, match="collinear"):
        cn.canonicalize(line, "left")
