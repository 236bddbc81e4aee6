"""Hand kinematic model: anatomical joint angles -> the 21 joints of hopgen.core.skeleton.

HAND FRAME (all positions in metres):
  origin  = wrist joint centre,
  +y      = toward the middle-finger MCP (the middle MCP lies on the +y axis),
  +z      = out of the palm (palmar normal),
  +x      = y cross z.  For a RIGHT hand +x points to the thumb (radial) side.
A LEFT hand is the exact mirror x -> -x of the right hand with the same angles, so left
and right differ only by that reflection (its thumb is at -x).

Joint positions are joint CENTRES (inside the finger); a tip "joint" is the end of the
distal phalanx, about 2 mm inside the fingertip skin.

Angles (radians, vector of NUM_DOF in DOF_NAMES order).  All zero = NEUTRAL/REST pose:
fingers extended and slightly spread in the palm plane, thumb beside the palm.
  *_flex   > 0 bends toward the palm (+z); < 0 is hyperextension.
  *_abd    finger MCP: > 0 spreads away from the middle finger (index, middle: radial;
           ring, pinky: ulnar).  thumb_cmc_abd > 0: palmar abduction (thumb lifts off
           the palm plane toward +z).  thumb_cmc_flex > 0: thumb sweeps in the palm
           plane toward the fingers.  thumb_mcp_abd: small side-to-side play.
  thumb_cmc_roll > 0 pronates the thumb (pulp turns toward the finger pulps), used for
           opposition together with cmc_abd and cmc_flex.
  wrist_flex > 0 flexes the hand toward the palm side of the forearm, wrist_dev > 0 is
           ulnar deviation.  The hand frame is attached to the hand, so the wrist angles
           move only the FOREARM (skin transform index 20), never the 21 joints.

Bones follow skeleton.BONES: bone b goes from joint PARENTS[b+1] to joint b+1.
Bones 0, 4, 8, 12, 16 (wrist -> thumb CMC and wrist -> finger MCPs, i.e. carpus and
metacarpals) are rigid in the hand frame.  Bone 1 is the thumb metacarpal.

Pure module: numpy + standard library only (also runs inside Blender's Python).
"""
from dataclasses import dataclass, field

import numpy as np

from hopgen.core import skeleton

FINGERS = skeleton.FINGER_NAMES  # thumb, index, middle, ring, pinky

DOF_NAMES = (
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_cmc_roll", "thumb_mcp_flex", "thumb_mcp_abd", "thumb_ip_flex",
    "index_mcp_flex", "index_mcp_abd", "index_pip_flex", "index_dip_flex",
    "middle_mcp_flex", "middle_mcp_abd", "middle_pip_flex", "middle_dip_flex",
    "ring_mcp_flex", "ring_mcp_abd", "ring_pip_flex", "ring_dip_flex",
    "pinky_mcp_flex", "pinky_mcp_abd", "pinky_pip_flex", "pinky_dip_flex",
    "wrist_flex", "wrist_dev",
)
NUM_DOF = len(DOF_NAMES)
DOF_INDEX = {n: i for i, n in enumerate(DOF_NAMES)}

# Active ranges of motion in degrees (AAOS / Hume et al. 1990 style adult values; slightly
# conservative so that synthesized grasps look natural).
_LIMITS_DEG = {
    "thumb_cmc_flex": (-20.0, 50.0), "thumb_cmc_abd": (-15.0, 70.0), "thumb_cmc_roll": (-25.0, 45.0),
    "thumb_mcp_flex": (-10.0, 65.0), "thumb_mcp_abd": (-12.0, 12.0), "thumb_ip_flex": (-15.0, 85.0),
    "mcp_flex": (-25.0, 90.0), "mcp_abd": (-20.0, 20.0), "pip_flex": (-5.0, 110.0), "dip_flex": (-10.0, 90.0),
    "pinky_mcp_abd": (-20.0, 30.0),
    "wrist_flex": (-70.0, 75.0), "wrist_dev": (-20.0, 35.0),
}


def _limit_deg(name):
    if name in _LIMITS_DEG:
        return _LIMITS_DEG[name]
    return _LIMITS_DEG[name.split("_", 1)[1]]


LIMITS_LO = np.radians([_limit_deg(n)[0] for n in DOF_NAMES])  # (NUM_DOF,)
LIMITS_HI = np.radians([_limit_deg(n)[1] for n in DOF_NAMES])  # (NUM_DOF,)
LIMITS_LO.flags.writeable = False
LIMITS_HI.flags.writeable = False


def finger_dofs(finger):
    """DoF indices of one finger (0 thumb .. 4 pinky), proximal to distal."""
    if not 0 <= finger < 5:
        raise ValueError(f"finger must be 0..4, got {finger}")
    name = FINGERS[finger]
    return tuple(i for i, n in enumerate(DOF_NAMES) if n.startswith(name + "_"))


# Flexion DoFs of each finger, proximal to distal (the ones grasp closing drives).
FLEX_DOFS = tuple(tuple(i for i in finger_dofs(f) if DOF_NAMES[i].endswith("_flex")) for f in range(5))


class AnglesError(ValueError):
    """Bad joint-angle vector or dict."""


def neutral_angles():
    """The neutral (rest) pose: all zeros, (NUM_DOF,) float64.  The mesh is built in it."""
    return np.zeros(NUM_DOF)


def _check(a):
    a = np.asarray(a, dtype=np.float64)
    if a.shape != (NUM_DOF,):
        raise AnglesError(f"joint angles must have shape ({NUM_DOF},), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise AnglesError("joint angles contain NaN or inf")
    return a


def clamp_angles(a):
    """Clip an angle vector into [LIMITS_LO, LIMITS_HI] (returns a new array)."""
    return np.clip(_check(a), LIMITS_LO, LIMITS_HI)


def within_limits(a, tol=1e-6):
    """True when every angle lies inside its limits (+- tol radians)."""
    a = _check(a)
    return bool(np.all(a >= LIMITS_LO - tol) and np.all(a <= LIMITS_HI + tol))


def couple_dip(pip):
    """DIP flexion coupled to PIP flexion (DIP ~ 2/3 PIP), clipped to the DIP range."""
    lo, hi = np.radians(_LIMITS_DEG["dip_flex"])
    return np.clip(np.asarray(pip, dtype=np.float64) * (2.0 / 3.0), lo, hi)


def angles_to_dict(a):
    """Angle vector -> {dof name: float radians} (JSON-friendly, for annotations)."""
    a = _check(a)
    return {n: float(v) for n, v in zip(DOF_NAMES, a)}


def angles_from_dict(d, strict=True):
    """{dof name: radians} -> angle vector.  Missing names are 0 unless strict."""
    unknown = sorted(set(d) - set(DOF_NAMES))
    if unknown:
        raise AnglesError(f"joint_angles: unknown DoF names {unknown}")
    missing = [n for n in DOF_NAMES if n not in d]
    if strict and missing:
        raise AnglesError(f"joint_angles: missing DoF names {missing}")
    return _check([float(d.get(n, 0.0)) for n in DOF_NAMES])


def random_angles(rng, spread=1.0):
    """Uniform random pose inside the limits (spread < 1 shrinks toward neutral). For tests/augmentation."""
    u = rng.uniform(LIMITS_LO, LIMITS_HI)
    return np.clip(u * spread, LIMITS_LO, LIMITS_HI)


# ----------------------------------------------------------------------------- shape

# Buchholz, Armstrong & Goldstein (1992), "Anthropometric data for describing the kinematics
# of the human hand", Ergonomics 35(3): segment length / hand length, joint centre to joint
# centre.  Rows thumb..pinky; columns metacarpal, proximal, middle, distal phalanx (the thumb
# has no middle phalanx: its columns are metacarpal, proximal, distal).
_BUCHHOLZ = np.array([
    [0.251, 0.196, 0.158],  # thumb: MC, PP, DP
    [0.265, 0.143, 0.097],  # index: PP, MP, DP
    [0.277, 0.170, 0.108],  # middle
    [0.259, 0.165, 0.107],  # ring
    [0.206, 0.117, 0.093],  # pinky
])
# Finger joint-centre breadths / hand breadth at (base, 2nd, 3rd joint, tip).  From adult
# anthropometry (e.g. Greiner 1991 US Army hand survey): index PIP breadth ~ 21 mm for a
# 86 mm hand breadth; pinky ~ 17 mm; thumb IP ~ 22 mm.  Radii are half of these.
_BREADTH = np.array([
    [0.300, 0.265, 0.255, 0.215],  # thumb CMC(metacarpal), MCP, IP, tip
    [0.260, 0.240, 0.210, 0.190],  # index MCP, PIP, DIP, tip
    [0.265, 0.245, 0.215, 0.195],  # middle
    [0.245, 0.228, 0.200, 0.180],  # ring
    [0.215, 0.200, 0.178, 0.162],  # pinky
])
# Base joint positions: x in hand breadths, y and z in hand lengths (right hand).  Middle MCP
# on +y by definition of the frame; the MCP row is arched (index/pinky more palmar).
_BASE_XB = np.array([0.205, 0.265, 0.0, -0.235, -0.445])
_BASE_YL = np.array([0.115, 0.405, 0.420, 0.400, 0.362])
_BASE_ZL = np.array([0.030, -0.030, -0.040, -0.036, -0.026])
# Rest finger direction: splay in the palm plane (deg, > 0 toward radial +x).
_SPLAY_DEG = np.array([0.0, 9.0, 0.0, -7.0, -15.0])
# Rest thumb: in-plane angle from +y toward radial, elevation toward +z, and the angle of the
# thumb pulp from the palmar normal toward the ulnar side (thumb nail faces radial/dorsal).
_THUMB_SPLAY_DEG, _THUMB_ELEV_DEG, _THUMB_PULP_DEG = 40.0, 12.0, 55.0
TIP_SKIN_MARGIN_MM = 2.0  # the tip joint lies this far inside the fingertip skin


@dataclass
class HandShape:
    """Bone geometry of one (right) hand in the hand frame at rest; metres.

    base_pos[f]   (5,3)   thumb CMC / finger MCP joint centres.
    base_rot[f]   (5,3,3) rest frame at the base joint: columns x, y (along the finger),
                          z (flexion side = pulp).  Proper rotations.
    lengths[f]    (5,3)   mobile segment lengths proximal to distal (thumb: MC, PP, DP).
    radii[f]      (5,4)   skin radius (half breadth) at base joint, 2nd, 3rd joint, tip.
    """
    hand_length_mm: float
    hand_breadth_mm: float
    thickness_scale: float = 1.0
    base_pos: np.ndarray = field(default=None, repr=False)
    base_rot: np.ndarray = field(default=None, repr=False)
    lengths: np.ndarray = field(default=None, repr=False)
    radii: np.ndarray = field(default=None, repr=False)

    @property
    def hand_length(self):
        return self.hand_length_mm * 1e-3

    @property
    def hand_breadth(self):
        return self.hand_breadth_mm * 1e-3

    def to_dict(self):
        """Shape parameters for annotations (JSON-friendly)."""
        return {"hand_length_mm": float(self.hand_length_mm), "hand_breadth_mm": float(self.hand_breadth_mm),
                "thickness_scale": float(self.thickness_scale),
                "segment_lengths_mm": (self.lengths * 1e3).round(3).tolist()}


def _rot_x(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _rot_z(t):
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _rot_axis(axis, t):
    """Rodrigues rotation about a unit axis."""
    k = np.asarray(axis, dtype=np.float64)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * (kx @ kx)


def _frame_from_yz(y, zref):
    y = y / np.linalg.norm(y)
    z = zref - y * np.dot(zref, y)
    z /= np.linalg.norm(z)
    return np.stack([np.cross(y, z), y, z], axis=1)


def shape_from_measurements(hand_length_mm, hand_breadth_mm, thickness_scale=1.0):
    """HandShape from hand length (wrist crease to middle fingertip) and hand breadth (mm)."""
    for name, v, lo, hi in (("hand_length_mm", hand_length_mm, 120.0, 260.0),
                            ("hand_breadth_mm", hand_breadth_mm, 55.0, 120.0),
                            ("thickness_scale", thickness_scale, 0.6, 1.6)):
        if not (np.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"HandShape: {name}={v} outside the plausible range [{lo}, {hi}]")
    L, B = hand_length_mm * 1e-3, hand_breadth_mm * 1e-3
    base_pos = np.stack([_BASE_XB * B, _BASE_YL * L, _BASE_ZL * L], axis=1)
    base_rot = np.zeros((5, 3, 3))
    for f in range(1, 5):
        base_rot[f] = _rot_z(-np.radians(_SPLAY_DEG[f]))  # y tilted toward +x for splay > 0
    a, e, p = np.radians([_THUMB_SPLAY_DEG, _THUMB_ELEV_DEG, _THUMB_PULP_DEG])
    ythumb = np.array([np.sin(a) * np.cos(e), np.cos(a) * np.cos(e), np.sin(e)])
    base_rot[0] = _frame_from_yz(ythumb, np.array([-np.sin(p), 0.0, np.cos(p)]))
    lengths = _BUCHHOLZ * L
    # Fingertip skin lies TIP_SKIN_MARGIN_MM beyond the tip joint; Buchholz's distal lengths run
    # to the bone tip, which is about that far inside the skin, so they are used directly.
    radii = 0.5 * _BREADTH * B * thickness_scale
    return HandShape(float(hand_length_mm), float(hand_breadth_mm), float(thickness_scale),
                     base_pos, base_rot, lengths, radii)


# ----------------------------------------------------------------------------- FK

_MIRROR = np.diag([-1.0, 1.0, 1.0])
_ABD_SIGN = np.array([0.0, -1.0, -1.0, 1.0, 1.0])  # Rz(sign*abd): index/middle radial, ring/pinky ulnar
_MIRROR_SIGNS = np.outer([-1.0, 1, 1, 1], [-1.0, 1, 1, 1])  # (4, 4): M T M = T * this, M = diag(-1, 1, 1, 1)


@dataclass
class FKResult:
    """Full forward-kinematics output (see forward_kinematics for the two main arrays).

    joints      (21,3)   joint centres, hand frame.
    frames      (20,4,4) posed LOCAL frame of each bone: origin at its parent joint, columns
                         x (across), y (along the bone toward the child joint), z (flexion /
                         pulp side).  Right-handed for both sides.
    transforms  (21,4,4) REST-TO-POSED rigid transforms for skinning: rows 0..19 bones, row 20
                         the forearm.  posed_point = T @ rest_point (homogeneous).
    """
    joints: np.ndarray
    frames: np.ndarray
    transforms: np.ndarray


class _ShapeConsts:
    """Pose-independent parts of FK for one shape: the rigid carpal/metacarpal frames, the
    thumb's abduction axis and the inverse rest frames (computed once, reused every call)."""

    def __init__(self, shape):
        z = np.array([0.0, 0.0, 1.0])
        self.base_frames = [_frame_from_yz(shape.base_pos[f], z) for f in range(5)]  # (3, 3) each
        y_rest = shape.base_rot[0][:, 1]
        u_abd = np.cross(y_rest, z)
        self.u_abd = u_abd / np.linalg.norm(u_abd)
        self.rest_inv = None  # (20, 4, 4), filled in by _consts (needs FK itself)


_CONSTS = {}
_CONSTS_MAX = 64


def _consts(shape):
    """Cached _ShapeConsts, keyed by the shape's numbers (so an edited shape never gets stale ones)."""
    key = (shape.base_pos.tobytes(), shape.base_rot.tobytes(), shape.lengths.tobytes())
    c = _CONSTS.get(key)
    if c is None:
        if len(_CONSTS) >= _CONSTS_MAX:
            _CONSTS.clear()
        c = _ShapeConsts(shape)
        _, frames, _ = _fk_right(shape, neutral_angles(), c)
        c.rest_inv = np.linalg.inv(frames)
        _CONSTS[key] = c
    return c


def _fk_right(shape, a, consts=None):
    """Right-hand FK: returns joints (21,3), frames (20,4,4), forearm rotation (3,3)."""
    c = consts if consts is not None else _consts(shape)
    joints = np.zeros((21, 3))
    frames = np.tile(np.eye(4), (20, 1, 1))

    def put(bone, rot, origin):
        frames[bone, :3, :3] = rot
        frames[bone, :3, 3] = origin

    # thumb
    cmc = shape.base_pos[0]
    ta = a[0:6]  # cmc_flex, cmc_abd, cmc_roll, mcp_flex, mcp_abd, ip_flex (finger_dofs(0))
    r = _rot_z(ta[0]) @ _rot_axis(c.u_abd, ta[1]) @ shape.base_rot[0] @ _rot_y(-ta[2])
    joints[1] = cmc
    put(0, c.base_frames[0], np.zeros(3))
    chain = [r, r @ _rot_z(ta[4]) @ _rot_x(ta[3]), None]
    chain[2] = chain[1] @ _rot_x(ta[5])
    p = cmc
    for s in range(3):
        put(1 + s, chain[s], p)
        p = p + chain[s][:, 1] * shape.lengths[0, s]
        joints[2 + s] = p
    # fingers
    for f in range(1, 5):
        flex_m, abd, flex_p, flex_d = a[2 + 4 * f:6 + 4 * f]  # finger_dofs(f)
        j0 = 1 + 4 * f  # MCP joint index
        mcp = shape.base_pos[f]
        joints[j0] = mcp
        put(j0 - 1, c.base_frames[f], np.zeros(3))
        r = shape.base_rot[f] @ _rot_z(_ABD_SIGN[f] * abd) @ _rot_x(flex_m)
        p = mcp
        for s, flex in enumerate((None, flex_p, flex_d)):
            if flex is not None:
                r = r @ _rot_x(flex)
            put(j0 + s, r, p)
            p = p + r[:, 1] * shape.lengths[f, s]
            joints[j0 + 1 + s] = p
    fw, dev = a[DOF_INDEX["wrist_flex"]], a[DOF_INDEX["wrist_dev"]]
    forearm = _rot_x(-fw) @ _rot_z(-dev)  # forearm relative to the hand (inverse of hand motion)
    return joints, frames, forearm


def _rest_frames_inv(shape):
    """Inverse rest-pose bone frames (20,4,4) (cached per shape)."""
    return _consts(shape).rest_inv


def _check_side(side):
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")


def forward_kinematics_full(shape, angles, side):
    """FK with local bone frames and skinning transforms; see FKResult."""
    _check_side(side)
    a = _check(angles)
    joints, frames, forearm = _fk_right(shape, a)
    transforms = np.tile(np.eye(4), (21, 1, 1))
    transforms[:20] = frames @ _rest_frames_inv(shape)
    transforms[20, :3, :3] = forearm
    if side == "left":
        joints = joints * np.array([-1.0, 1.0, 1.0])
        # M @ T @ M with M = diag(-1, 1, 1, 1) flips the signs of row 0 and column 0 (exactly).
        transforms = transforms * _MIRROR_SIGNS + 0.0  # + 0.0: no negative zeros
        frames = frames * _MIRROR_SIGNS + 0.0  # = mirror of origin/axes with the x axis flipped: right-handed again
    return FKResult(joints, frames, transforms)


def forward_kinematics(shape, angles, side):
    """Joint centres (21,3) and bone transforms (20,4,4) in the hand frame.

    bone_frames[b] is the REST-TO-POSED rigid transform of bone b (rest = neutral_angles()):
    a point rigidly attached to bone b at rest (e.g. a mesh vertex of HandMesh.rest_vertices)
    moves to bone_frames[b] @ [p, 1].  Use forward_kinematics_full for the local bone frames
    and the forearm transform.
    """
    r = forward_kinematics_full(shape, angles, side)
    return r.joints, r.transforms[:20]


def bone_lengths(joints):
    """(20,) lengths of skeleton.BONES for a (21,3) joint array."""
    j = np.asarray(joints)
    par = np.array([p for p, _ in skeleton.BONES])
    ch = np.array([c for _, c in skeleton.BONES])
    return np.linalg.norm(j[ch] - j[par], axis=1)
