"""Skinned rigs (MakeHuman bodies, rigged hands from files) posed for a grasp, in pure numpy.

A ``Rig`` is what every non-procedural avatar becomes: rest vertices, triangles, linear-blend
skin weights, bones with rest frames, and, per hand side, where the 21 contract joints
(hopgen.core.skeleton) sit on the bones. Posing turns local bone rotations into world bone frames
and skinned vertices; ``retarget_fingers`` gives the rig's fingers the directions of a
hopgen.hand.kinematics pose; ``solve_arm`` bends a shoulder-elbow-wrist chain so the hand lands on a
given hand frame.

Conventions:
- World frame Z-up, metres. Bone frames are orthonormal with the origin at the bone's head; their
  axis directions are free (file rigs keep theirs), only tails are needed for tip joints.
- ``joint_refs[side]`` (21, 2) int: joint j is the head (``[b, 0]``) or tail (``[b, 1]``) of bone b.
  Non-tip joints must be heads: the bone whose head sits at a joint is the bone that turns there.
- Local rotations ``local`` (B, 3, 3) rotate a bone about its head in its own frame (identity =
  rest); ``pose`` returns (B, 4, 4) world frames; ``root`` (4, 4) carries the whole rig rigidly.
- Hand frame (hand_frame): origin wrist, +Y to the middle MCP, +X radial for a right hand
  (ulnar for a left one), +Z = X x Y out of the palm, as in hopgen.hand.kinematics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy as np

from hopgen.core import skeleton as sk

SIDES = ("left", "right")
WRIST_CUFF_M = 0.015  # forearm skin this close to the wrist joint is labelled palm (hand mask)
TWIST_SHARE = (0.35, 0.65)  # forearm twist (pronation) shared by the forearm bones, proximal first


class RigError(ValueError):
    """A rig or bone map that cannot be used (the message names the avatar and the problem)."""


@dataclass
class ArmChain:
    """Bone indices of one arm: upper-arm bones (shoulder -> elbow), forearm bones (elbow -> wrist)."""

    upper: Tuple[int, ...]
    fore: Tuple[int, ...]


@dataclass
class Rig:
    """A skinned mesh with bones; see the module docstring for frames."""

    name: str
    bone_names: Tuple[str, ...]
    parents: np.ndarray          # (B,) parent index, -1 for roots; parents come first
    rest: np.ndarray             # (B, 4, 4) world rest frames
    tails: np.ndarray            # (B, 3) rest tails
    vertices: np.ndarray         # (N, 3) rest vertices
    triangles: np.ndarray        # (T, 3) vertex indices
    weight_bone: np.ndarray      # (N, K) bone of each weight slot
    weight: np.ndarray           # (N, K) weights, rows sum to 1
    joint_refs: Dict[str, np.ndarray]  # side -> (21, 2) [bone, is_tail]
    arms: Dict[str, ArmChain] = field(default_factory=dict)  # side -> arm chain (bodies only)
    region: Optional[np.ndarray] = None  # (T,) appearance region (REGION_*), None: all skin
    sleeve: Optional[np.ndarray] = None  # (T,) bool: skin a long sleeve covers (forearms)
    dominant: Optional[np.ndarray] = None  # (T,) dominant bone per triangle (dominant_bones), when known
    _rel: np.ndarray = field(default=None, repr=False)       # (B, 4, 4) rest frame in the parent's
    _rest_inv: np.ndarray = field(default=None, repr=False)  # (B, 4, 4) inverse rest frames

    def __post_init__(self):
        p = np.asarray(self.parents)
        if np.any(p >= np.arange(len(p))):
            raise RigError(f"rig {self.name}: bones must be listed parents first")
        inv = np.linalg.inv(self.rest)
        self._rest_inv = inv
        self._rel = np.array([self.rest[i] if q < 0 else inv[q] @ self.rest[i] for i, q in enumerate(p)])

    @property
    def num_bones(self):
        return len(self.bone_names)

    def bone(self, name):
        try:
            return self.bone_names.index(name)
        except ValueError:
            raise RigError(f"rig {self.name}: no bone {name!r}") from None

    def sides(self):
        return tuple(s for s in SIDES if s in self.joint_refs)

    def refs(self, side):
        if side not in self.joint_refs:
            raise RigError(f"rig {self.name}: no {side} hand (it has: {', '.join(self.sides()) or 'none'})")
        return self.joint_refs[side]


# Appearance regions of body triangles (the renderer gives each its material).
REGION_SKIN, REGION_TOP, REGION_BOTTOM, REGION_SHOES = 0, 1, 2, 3
REGION_HAIR, REGION_BROWS = 4, 5  # scalp and eyebrows (hair material; brows stay on the skin)


# ----------------------------------------------------------------------------- posing


def identity_pose(rig):
    """(B, 3, 3) local rotations of the rest pose."""
    return np.tile(np.eye(3), (rig.num_bones, 1, 1))


def pose(rig, local, root=None):
    """(B, 4, 4) world bone frames for local rotations (B, 3, 3); root (4, 4) moves the whole rig."""
    root = np.eye(4) if root is None else np.asarray(root, np.float64)
    out = np.empty((rig.num_bones, 4, 4))
    loc = np.tile(np.eye(4), (rig.num_bones, 1, 1))
    loc[:, :3, :3] = local
    for i, p in enumerate(rig.parents):
        base = root @ rig._rel[i] if p < 0 else out[p] @ rig._rel[i]
        out[i] = base @ loc[i]
    return out


def skin(rig, posed, ids=None):
    """Linear blend skinning: (N, 3) posed vertices (or those of vertex indices ``ids``)."""
    m = (posed @ rig._rest_inv)[:, :3, :]                         # (B, 3, 4)
    wb, w, v = rig.weight_bone, rig.weight, rig.vertices
    if ids is not None:
        wb, w, v = wb[ids], w[ids], v[ids]
    blend = np.einsum("nk,nkij->nij", w, m[wb])                    # (N, 3, 4)
    return np.einsum("nij,nj->ni", blend[:, :, :3], v) + blend[:, :, 3]


def joint_points(rig, posed, refs):
    """(J, 3) world positions of joints given as (J, 2) [bone, is_tail] refs."""
    refs = np.asarray(refs)
    b, tail = refs[:, 0], refs[:, 1].astype(bool)
    out = posed[b, :3, 3].copy()
    if tail.any():
        local = np.einsum("nij,nj->ni", rig._rest_inv[b[tail]][:, :3, :3],
                          rig.tails[b[tail]] - rig.rest[b[tail], :3, 3])
        out[tail] = np.einsum("nij,nj->ni", posed[b[tail], :3, :3], local) + posed[b[tail], :3, 3]
    return out


def hand_joints(rig, posed, side):
    """(21, 3) contract joints of the hand on ``side`` (joint centres, world)."""
    return joint_points(rig, posed, rig.refs(side))


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def hand_frame(hand, side):
    """(4, 4) hand frame of (21, 3) contract joints (module docstring)."""
    hand = np.asarray(hand, np.float64)
    y = _unit(hand[9] - hand[0])
    radial = hand[5] - hand[17]
    x = _unit(radial - np.dot(radial, y) * y)
    if side == "left":
        x = -x
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, np.cross(x, y), hand[0]
    return m


def rotation_between(a, b):
    """(3, 3) smallest rotation taking direction a to direction b."""
    a, b = _unit(np.asarray(a, np.float64)), _unit(np.asarray(b, np.float64))
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1 + 1e-12:
        axis = _unit(np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return 2 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def axis_rotation(axis, angle):
    """(3, 3) rotation by ``angle`` about unit ``axis``."""
    k = _unit(np.asarray(axis, np.float64))
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * (kx @ kx)


def _turn(local, posed, b, world_rot):
    """Update local[b] so bone b's world frame turns by ``world_rot`` about its head."""
    r = posed[b, :3, :3]
    local[b] = local[b] @ (r.T @ world_rot @ r)


def finger_bones(rig, side):
    """The 15 (bone, head joint, child joint) links that flex: thumb CMC/MCP/IP, finger MCP/PIP/DIP."""
    refs = rig.refs(side)
    out = []
    for f in range(5):
        for k in range(3):
            a = 1 + 4 * f + k
            out.append((int(refs[a, 0]), a, a + 1))
    return out


def retarget_fingers(rig, local, side, goal, root=None, rolls=None):
    """Turn the finger bones (in place in ``local``) so each link points like ``goal`` (21, 3).

    ``goal`` must already be expressed where the rig's hand is (same hand frame). Each link turns
    by the smallest rotation (the rig keeps its own bone lengths), proximal first. ``rolls``
    {link: (pulp_local (3,), pulp_goal (3,))} also turns those links about their own axis so the
    bone-frame vector pulp_local faces pulp_goal (world), e.g. the thumb's pronation.
    """
    refs = rig.refs(side)
    rest_joints = joint_points(rig, rig.rest, refs)  # rest pose (no root): local offsets below
    links = finger_bones(rig, side)
    for b, a, c in links:
        local[b] = np.eye(3)
    for k, (b, a, c) in enumerate(links):
        posed = pose(rig, local, root)
        rest_dir = rig.rest[b, :3, :3].T @ (rest_joints[c] - rest_joints[a])  # in bone b's frame
        cur = posed[b, :3, :3] @ rest_dir
        want = goal[c] - goal[a]
        _turn(local, posed, b, rotation_between(cur, want))
        if rolls and k in rolls:
            posed = pose(rig, local, root)
            axis = _unit(want)
            have = posed[b, :3, :3] @ rolls[k][0]
            have, aim = have - np.dot(have, axis) * axis, rolls[k][1] - np.dot(rolls[k][1], axis) * axis
            angle = np.arctan2(np.dot(axis, np.cross(have, aim)), np.dot(have, aim))
            _turn(local, posed, b, axis_rotation(axis, angle))
    return local


def reach_tips(rig, local, side, goal, root=None, iterations=3, fingers=range(5)):
    """Cyclic-coordinate-descent on each finger (in place in ``local``): its links turn, distal
    first, so the rig's fingertip joint reaches ``goal``'s (21, 3) tip positions (world).

    Run after retarget_fingers: when the rig's phalanges are longer or shorter than the
    kinematic ones, matching directions alone would push the tips into (or off) the grasped
    object; matching the tips keeps the contacts where the grasp synthesis put them.
    """
    refs = rig.refs(side)
    links = finger_bones(rig, side)
    for f in fingers:
        tip = 4 + 4 * f
        for _ in range(iterations):
            for b, a, c in reversed(links[3 * f:3 * f + 3]):
                posed = pose(rig, local, root)
                pts = joint_points(rig, posed, refs[[a, tip]])
                _turn(local, posed, b, rotation_between(pts[1] - pts[0], goal[tip] - pts[0]))
    return local


def _twist_angle(rot, axis):
    """Angle of the twist of rotation ``rot`` about unit ``axis`` (swing-twist decomposition):
    2 atan2(q_v . axis, q_w) with both quaternion parts scaled by 4 q_w (stable near half turns)."""
    m = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return 2.0 * float(np.arctan2(np.dot(m, axis), 1.0 + np.trace(rot)))


@dataclass
class ArmSolution:
    """How far an arm pose is from natural (the body placement search ranks by these)."""

    wrist_error_m: float     # wrist left short of the target (reach)
    twist_rad: float         # forearm twist (pronation/supination) away from rest
    wrist_bend_rad: float    # wrist flexion/deviation left after the forearm is aimed
    elbow_rad: float         # interior elbow angle (pi: straight arm)


def solve_arm(rig, local, side, wrist_goal, elbow_hint, root=None, iterations=3):
    """Bend the arm on ``side`` (in place in ``local``) so the wrist bone takes the frame ``wrist_goal``.

    wrist_goal (4, 4): wanted world frame of the wrist bone (origin = wrist joint). elbow_hint (3,):
    a world point the elbow leans toward (picks the elbow on its circle). Upper arm and forearm are
    aimed by their first bones, the forearm twist is shared over the forearm bones (TWIST_SHARE),
    and the wrist bone takes what is left. Returns an ArmSolution.
    """
    chain = rig.arms.get(side)
    if chain is None:
        raise RigError(f"rig {rig.name}: no {side} arm chain")
    wb = int(rig.refs(side)[0, 0])
    up0, fo0 = chain.upper[0], chain.fore[0]
    rest_len_u = np.linalg.norm(rig.rest[fo0, :3, 3] - rig.rest[up0, :3, 3])
    rest_len_f = np.linalg.norm(rig.rest[wb, :3, 3] - rig.rest[fo0, :3, 3])
    target = np.asarray(wrist_goal, np.float64)
    w = target[:3, 3]
    for b in chain.upper + chain.fore + (wb,):
        local[b] = np.eye(3)
    twist = bend = 0.0
    for _ in range(iterations):
        posed = pose(rig, local, root)
        s = posed[up0, :3, 3]
        d = np.linalg.norm(w - s)
        dc = float(np.clip(d, abs(rest_len_u - rest_len_f) + 1e-4, rest_len_u + rest_len_f - 1e-4))
        n = (w - s) / max(d, 1e-9)
        a = (dc ** 2 + rest_len_u ** 2 - rest_len_f ** 2) / (2 * dc)
        r = np.sqrt(max(rest_len_u ** 2 - a ** 2, 0.0))
        hint = np.asarray(elbow_hint, np.float64) - (s + a * n)
        perp = hint - np.dot(hint, n) * n
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(n, [1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.cross(n, [0.0, 1.0, 0.0])
        e = s + a * n + r * _unit(perp)
        _turn(local, posed, up0, rotation_between(posed[fo0, :3, 3] - s, e - s))
        posed = pose(rig, local, root)
        e_now = posed[fo0, :3, 3]
        _turn(local, posed, fo0, rotation_between(posed[wb, :3, 3] - e_now, w - e_now))
        posed = pose(rig, local, root)
        axis = _unit(posed[wb, :3, 3] - posed[fo0, :3, 3])
        twist = _twist_angle(target[:3, :3] @ posed[wb, :3, :3].T, axis)
        for b, share in zip(chain.fore, _shares(len(chain.fore))):
            _turn(local, posed, b, axis_rotation(axis, share * twist))
            posed = pose(rig, local, root)
        rel = posed[wb, :3, :3].T @ target[:3, :3]
        local[wb] = local[wb] @ rel
        bend = float(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
    posed = pose(rig, local, root)
    s, e, wr = posed[up0, :3, 3], posed[fo0, :3, 3], posed[wb, :3, 3]
    elbow = float(np.arccos(np.clip(np.dot(_unit(s - e), _unit(wr - e)), -1, 1)))
    return ArmSolution(float(np.linalg.norm(wr - w)), abs(float(twist)), bend, elbow)


def _shares(n):
    return TWIST_SHARE if n == 2 else (1.0 / n,) * n


# ----------------------------------------------------------------------------- labels


def bone_labels(rig, side):
    """(B,) seg label of every bone for the hand on ``side``: mapped finger bones and their
    descendants -> their phalanx, the wrist bone and its other descendants -> palm, the rest arm/body."""
    refs = rig.refs(side)
    labels = np.full(rig.num_bones, sk.SEG_ARM, np.uint8)
    own = {int(refs[0, 0]): sk.SEG_PALM}
    for j in range(1, 21):
        b, tail = int(refs[j, 0]), bool(refs[j, 1])
        f, k = (j - 1) // 4, (j - 1) % 4
        if tail:
            continue
        own[b] = sk.seg_phalanx(f, min(k, 2))  # a tip bone (head at the tip) is distal phalanx
    for i, p in enumerate(rig.parents):  # parents first: inherit the nearest labelled ancestor
        if i in own:
            labels[i] = own[i]
        elif p >= 0 and labels[p] != sk.SEG_ARM:
            labels[i] = labels[p]
    return labels


def dominant_bones(rig):
    """(T,) bone with the largest summed corner weight of each triangle."""
    t = rig.triangles
    score = np.zeros((len(t), rig.num_bones))
    rows = np.repeat(np.arange(len(t)), 3 * rig.weight.shape[1])
    np.add.at(score, (rows, rig.weight_bone[t].reshape(-1)), rig.weight[t].reshape(-1))
    return score.argmax(1)


def triangle_labels(rig, side, dominant=None):
    """(T,) uint8 seg labels for the hand on ``side``; forearm skin within WRIST_CUFF_M of the
    wrist joint counts as palm, so the hand mask and the wrist joint's label meet at the wrist."""
    dominant = dominant_bones(rig) if dominant is None else dominant
    labels = bone_labels(rig, side)[dominant]
    wb = int(rig.refs(side)[0, 0])
    p = int(rig.parents[wb])
    if p >= 0:
        wrist = rig.rest[wb, :3, 3]
        axis = _unit(wrist - rig.rest[p, :3, 3])
        centre = rig.vertices[rig.triangles].mean(1)
        cuff = (dominant == p) & ((centre - wrist) @ axis > -WRIST_CUFF_M)
        labels[cuff] = sk.SEG_PALM
    return labels


def resolve_bone_map(name, bone_names, bone_map):
    """Contract joint -> [bone index, is_tail] (21, 2) from a manifest bone map.

    Each joint names the bone whose HEAD is at that joint; ``Bone:tail`` takes the bone's tail
    instead (allowed for the five tips only, e.g. when the rig has no fingertip end bones).
    """
    index = {n: i for i, n in enumerate(bone_names)}
    refs = np.zeros((sk.NUM_JOINTS, 2), np.int64)
    for j, joint in enumerate(sk.JOINT_NAMES):
        if joint not in bone_map:
            raise RigError(f"avatar {name}: bone_map lacks joint {joint!r}")
        value = str(bone_map[joint])
        bone, _, end = value.rpartition(":") if value.endswith((":head", ":tail")) else (value, "", "head")
        if bone not in index:
            raise RigError(f"avatar {name}: bone_map.{joint}: no bone {bone!r} in the armature "
                           f"(bones: {', '.join(sorted(bone_names)[:40])}{' ...' if len(bone_names) > 40 else ''})")
        if end == "tail" and not joint.endswith("_tip"):
            raise RigError(f"avatar {name}: bone_map.{joint}: ':tail' is for *_tip joints only")
        refs[j] = index[bone], end == "tail"
    return refs


def check_hand_refs(rig, side):
    """Each flexing link's child joint must ride on a descendant of the link's bone (else it
    would not move with it); the finger bones must differ from each other and from the wrist bone."""
    refs = rig.refs(side)
    bones = [int(refs[0, 0])] + [b for b, _, _ in finger_bones(rig, side)]
    if len(set(bones)) != len(bones):
        raise RigError(f"rig {rig.name} ({side}): the wrist and the 15 finger joints need 16 different bones")

    def descends(b, a):
        while b >= 0:
            if b == a:
                return True
            b = int(rig.parents[b])
        return False

    for b, a, c in finger_bones(rig, side):
        cb = int(refs[c, 0])
        ok = descends(cb, b) and (cb != b or bool(refs[c, 1]))
        if not ok:
            raise RigError(f"rig {rig.name} ({side}): joint {sk.JOINT_NAMES[c]} (bone {rig.bone_names[cb]}) "
                           f"does not move with bone {rig.bone_names[b]} of joint {sk.JOINT_NAMES[a]}")
        if not descends(b, int(refs[0, 0])):
            raise RigError(f"rig {rig.name} ({side}): finger bone {rig.bone_names[b]} is not under the wrist "
                           f"bone {rig.bone_names[int(refs[0, 0])]}")


def handedness(rig, side):
    """'right' or 'left': which hand the joints mapped for ``side`` form, from their geometry.

    The palm side is where the fingers curl and the thumb tip lies (rest poses are never bent
    backwards); a right hand has it on (radial x wrist->middle-MCP), a left hand opposite.
    """
    j = hand_joints(rig, rig.rest, side)
    y = _unit(j[9] - j[0])
    radial = _unit(j[5] - j[17])
    z_right = np.cross(radial, y)
    palmar = np.zeros(3)
    for f in range(1, 5):
        mcp, pip, tip = j[1 + 4 * f], j[2 + 4 * f], j[4 + 4 * f]
        d = _unit(pip - mcp)
        palmar += (tip - mcp) - np.dot(tip - mcp, d) * d
    palm_n = np.cross(j[5] - j[0], j[17] - j[0])  # either way; the thumb tip tells the palm side
    palmar += np.sign(np.dot(j[4] - j[0], palm_n)) * _unit(palm_n) * 0.01
    return "right" if np.dot(palmar, z_right) >= 0 else "left"


def mirrored(rig):
    """The rig reflected x -> -x: a right hand becomes a left one (joint_refs and arms swap sides)."""
    m = np.diag([-1.0, 1.0, 1.0, 1.0])
    swap = {"left": "right", "right": "left"}
    out = Rig(name=rig.name, bone_names=rig.bone_names, parents=rig.parents, rest=m @ rig.rest @ m,
              tails=rig.tails * [-1.0, 1.0, 1.0], vertices=rig.vertices * [-1.0, 1.0, 1.0],
              triangles=rig.triangles[:, ::-1].copy(), weight_bone=rig.weight_bone, weight=rig.weight,
              joint_refs={swap[s]: r for s, r in rig.joint_refs.items()},
              arms={swap[s]: a for s, a in rig.arms.items()}, region=rig.region, sleeve=rig.sleeve,
              dominant=rig.dominant)
    return out
