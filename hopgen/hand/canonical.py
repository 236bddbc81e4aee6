"""The canonical hand frame of Zimmermann & Brox (hand3d), used by the 3D lifting stage.

Inputs and outputs are in the NATIVE joint order of the HOP contract (hopgen.core.skeleton). The
frame is defined (PAPER.md) on RHD keypoints; the ones used here map to native joints as
    RHD 0  wrist          -> native 0
    RHD 11 middle PIP     -> native 10
    RHD 12 middle MCP     -> native 9
    RHD 20 pinky MCP      -> native 17
(through skeleton.RHD_FROM_NATIVE), so no array is permuted: only these indices are looked up.

Definition, for a pose x (21, 3):
  1. right hands are mirrored first (z -> -z), so every canonical pose is a left hand;
  2. root = wrist (RHD 0), or the palm centre 0.5 * (RHD 0 + RHD 12) with root="palm";
  3. scale = |RHD 12 - RHD 11| (middle MCP to PIP bone); the pose is (x - root) / scale;
  4. a rotation Q (about z then x, then about y; computed here in closed form as the unique
     proper rotation with these properties) puts RHD 12 on the negative y axis and RHD 20 in the
     z = 0 plane with x > 0.

Row-vector convention, as hand3d/ViewPoint: with M = diag(1, 1, -1) for right hands (identity for
left), the returned `rotation` R satisfies
    (x - root) / scale == (canonical @ M) @ R        (relative pose, see relative_pose_from_canonical)
so R is what the ViewPoint network predicts. Pure numpy.
"""

import numpy as np

from hopgen.core.skeleton import NUM_JOINTS, RHD_FROM_NATIVE

# Native indices of the RHD keypoints that define the frame.
WRIST = RHD_FROM_NATIVE[0]
MIDDLE_PIP = RHD_FROM_NATIVE[11]
MIDDLE_MCP = RHD_FROM_NATIVE[12]
PINKY_MCP = RHD_FROM_NATIVE[20]

MIRROR = np.diag([1.0, 1.0, -1.0])  # z -> -z; its own inverse
ROOTS = ("wrist", "palm")
SIDES = ("left", "right")


class CanonicalError(ValueError):
    """Bad input to the canonical frame functions (shape, side, or a degenerate hand)."""


def _as_pose(xyz, name="xyz"):
    a = np.asarray(xyz, dtype=np.float64)
    if a.ndim < 2 or a.shape[-2:] != (NUM_JOINTS, 3):
        raise CanonicalError(f"{name}: expected shape (21, 3) or (N, 21, 3), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise CanonicalError(f"{name}: contains NaN or inf")
    return a


def _right_mask(side, batch_shape):
    """Boolean array of batch_shape: True where the hand is a right hand.

    `side` is "left"/"right", a sequence of those, or a bool/int array (1/True = right).
    """
    if isinstance(side, str):
        if side not in SIDES:
            raise CanonicalError(f"side: expected 'left' or 'right', got {side!r}")
        return np.full(batch_shape, side == "right")
    arr = np.asarray(side)
    if arr.dtype.kind in "US":
        bad = set(arr.ravel().tolist()) - set(SIDES)
        if bad:
            raise CanonicalError(f"side: expected 'left' or 'right', got {sorted(bad)}")
        arr = arr == "right"
    elif arr.dtype.kind in "biu":
        arr = arr.astype(bool)
    else:
        raise CanonicalError(f"side: expected strings or a bool/int array, got dtype {arr.dtype}")
    try:
        return np.broadcast_to(arr, batch_shape)
    except ValueError:
        raise CanonicalError(f"side: shape {arr.shape} does not match the poses' batch shape {batch_shape}")


def _mirror_where(pts, right):
    """Mirror z of the (..., K, 3) points where `right` (...) is True."""
    sign = np.where(right, -1.0, 1.0)[..., None]
    out = pts.copy()
    out[..., 2] = out[..., 2] * sign
    return out


def canonicalize(xyz, side, root="wrist"):
    """Canonical pose of hands in native joint order.

    xyz: (21, 3) or (N, 21, 3) in any metric frame (camera frame, metres).
    side: "left"/"right" or one per pose (strings, or bools with True = right).
    root: "wrist" (RHD 0) or "palm" (0.5 * (RHD 0 + RHD 12)).
    Returns (canonical (..., 21, 3) native order, unitless, a left hand;
             rotation (..., 3, 3) proper, see module doc;
             scale (...) the middle MCP-PIP bone length in input units;
             root_xyz (..., 3) the root point in input units).
    Raises CanonicalError for a zero bone or when wrist, middle MCP and pinky MCP are collinear.
    """
    x = _as_pose(xyz)
    if root not in ROOTS:
        raise CanonicalError(f"root: expected one of {ROOTS}, got {root!r}")
    batch = x.shape[:-2]
    right = _right_mask(side, batch)

    root_xyz = x[..., WRIST, :] if root == "wrist" else 0.5 * (x[..., WRIST, :] + x[..., MIDDLE_MCP, :])
    scale = np.linalg.norm(x[..., MIDDLE_MCP, :] - x[..., MIDDLE_PIP, :], axis=-1)  # (...)
    if np.any(scale < 1e-12):
        raise CanonicalError("xyz: the middle-finger MCP-PIP bone has zero length")
    v = _mirror_where((x - root_xyz[..., None, :]) / scale[..., None, None], right)  # (..., 21, 3)

    # Frame axes as rows of Q (canonical = v @ Q^T): y points from the middle MCP to the root,
    # x towards the pinky MCP's component orthogonal to y, z = x cross y (proper rotation).
    # (With root="palm" the root lies on the wrist-MCP line, so the same two points define the frame.)
    mcp = v[..., MIDDLE_MCP, :]
    mcp_norm = np.linalg.norm(mcp, axis=-1, keepdims=True)
    if np.any(mcp_norm < 1e-12):
        raise CanonicalError("xyz: the middle MCP coincides with the wrist (no unique frame)")
    y_axis = -mcp / mcp_norm
    p = v[..., PINKY_MCP, :]
    x_dir = p - np.sum(p * y_axis, axis=-1, keepdims=True) * y_axis
    x_norm = np.linalg.norm(x_dir, axis=-1, keepdims=True)
    if np.any(x_norm < 1e-9 * np.linalg.norm(p, axis=-1, keepdims=True) + 1e-12):
        raise CanonicalError("xyz: wrist, middle MCP and pinky MCP are collinear (no unique frame)")
    x_axis = x_dir / x_norm
    z_axis = np.cross(x_axis, y_axis)
    q = np.stack([x_axis, y_axis, z_axis], axis=-2)  # (..., 3, 3) rows = axes
    canonical = v @ np.swapaxes(q, -1, -2)
    # Mirrored hand: v_mirrored = canonical @ Q, so relative = v_mirrored @ M = (canonical @ M) @ (M Q M).
    rotation = np.where(right[..., None, None], MIRROR @ q @ MIRROR, q)
    return canonical, rotation, scale, root_xyz


def relative_pose_from_canonical(canonical, rotation, side):
    """Root-relative, scale-normalised pose (..., 21, 3): (canonical mirrored back if right) @ rotation.

    This is the ViewPoint composition of hand3d; rotation (..., 3, 3) acts on row vectors.
    """
    c = _as_pose(canonical, "canonical")
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape[-2:] != (3, 3):
        raise CanonicalError(f"rotation: expected shape (..., 3, 3), got {r.shape}")
    return _mirror_where(c, _right_mask(side, c.shape[:-2])) @ r


def uncanonicalize(canonical, rotation, scale, root, side):
    """Exact inverse of canonicalize: the pose (..., 21, 3) in the input frame, native order."""
    rel = relative_pose_from_canonical(canonical, rotation, side)
    scale = np.asarray(scale, dtype=np.float64)
    root = np.asarray(root, dtype=np.float64)
    return rel * scale[..., None, None] + root[..., None, :]
