"""MakeHuman avatars from a MakeHuman 1.x data folder, in pure numpy.

Takes a data folder read by hopgen.avatars.makehuman_files (hm08 base mesh, morph targets, the
default skeleton and its skin weights) and turns it into what the episodes need: a posable body mesh, its 21 hand joints in the
contract order (hopgen.core.skeleton), seg labels per face, and 10 default subjects.

Conventions (chosen here, used by every function of this module):

- World frame: Blender's Z-up, metres. MakeHuman files are Y-up decimetres with the character
  facing +Z; a file point (x, y, z) becomes 0.1 * (x, -z, y). The character then faces -Y and
  its left side (MakeHuman ``.L`` / ``l-``) is +X. Target deltas are converted the same way.
- ``vertices`` arrays are always the *full* base-mesh vertex array (helper and joint geometry
  included), because targets and joint positions index into it. The render mesh is the faces
  outside the ``helper-*`` / ``joint-*`` groups; ``MakeHumanData.render_vertex_ids`` picks its
  vertices out of a full array, and the render faces index those render vertices.
- A skeleton joint (e.g. ``finger2-1.L____head``) is the centroid of the vertices the .mhskel
  lists for it.
- Bone frames: origin at the head, +Y from head to tail, +X the normal of the bone's
  ``rotation_plane`` (three joints p1, p2, p3: normal = (p2 - p1) x (p3 - p2)) made orthogonal
  to +Y, +Z = X x Y. For finger bones this X is the flexion axis, and flexion (toward the palm)
  is a *negative* rotation about it on both sides (the rest pose is curled that way).

Hand mapping (checked against the default rig in tests/test_makehuman.py). MakeHuman has no
thumb metacarpal bone besides ``finger1-1`` (a child of ``wrist``); ``metacarpal1-4`` carry
fingers 2-5 (index..pinky)::

    wrist          head of wrist.S        (= tail of lowerarm02.S, vertex group joint-s-hand)
    thumb CMC      head of finger1-1.S    (joint-s-finger-1-1)
    thumb MCP      head of finger1-2.S    (joint-s-finger-1-2)
    thumb IP       head of finger1-3.S    (joint-s-finger-1-3)
    thumb tip      tail of finger1-3.S    (joint-s-finger-1-4)
    finger N=2..5  MCP/PIP/DIP = heads of fingerN-1/-2/-3.S, tip = tail of fingerN-3.S
                   (joint-s-finger-N-1 .. -4; fingerN-1 head = tail of metacarpal(N-1).S)

with S = L for the left hand and R for the right. Seg labels follow the same bones: wrist and
metacarpals -> palm, fingerF-K -> phalanx (F-1, K-1) (the thumb's segment 0 is finger1-1,
CMC->MCP, as in hopgen.core.skeleton.labels_at_joint), every other bone -> arm/body.
"""
from __future__ import annotations

import numpy as np

from hopgen.avatars import rig
from hopgen.avatars.makehuman_files import (  # noqa: F401  (the data folder API, used with this module's)
    FILE_TO_WORLD, MakeHumanData, MakeHumanError, apply_targets, load_makehuman, load_target, resolve_data_dir)
from hopgen.core import skeleton as sk

ETHNICITIES = ("african", "asian", "caucasian")
SEXES = ("female", "male")
# Signed hand shape targets: name -> (suffix for negative weight, suffix for positive weight).
HAND_TARGETS = {
    "hand-scale": ("decr", "incr"),
    "hand-fingers-length": ("decr", "incr"),
    "hand-fingers-diameter": ("decr", "incr"),
    "hand-fingers-distance": ("decr", "incr"),
    "hand-trans": ("in", "out"),
}
SIDE_SUFFIX = {"left": ".L", "right": ".R"}
SIDE_PREFIX = {"left": "l", "right": "r"}



# ----------------------------------------------------------------------------- subjects


def macro_targets(sex, ethnicity):
    """Macro target weights {name: weight} for a young adult.

    ``sex`` in [0, 1] (0 female, 1 male); ``ethnicity`` {african|asian|caucasian: share},
    shares summing to 1. As in MakeHuman, target (e, s) gets share_e * weight_s.
    """
    total = sum(ethnicity.values())
    bad = set(ethnicity) - set(ETHNICITIES)
    if bad or not 0 <= sex <= 1 or abs(total - 1) > 1e-6:
        raise MakeHumanError(f"bad macro parameters sex={sex} ethnicity={ethnicity}: "
                             f"ethnicities from {ETHNICITIES} with shares summing to 1, sex in [0, 1]")
    out = {}
    for e, share in ethnicity.items():
        for s, ws in (("female", 1.0 - sex), ("male", float(sex))):
            if share * ws:
                out[f"macrodetails/{e}-{s}-young"] = share * ws
    return out


def hand_targets(shape, side):
    """Signed hand shape weights {hand target name: w in [-1, 1]} -> {target name: |w|} for one side."""
    out = {}
    for name, w in shape.items():
        if name not in HAND_TARGETS or not -1 <= w <= 1:
            raise MakeHumanError(f"bad hand target {name!r}={w}: names {sorted(HAND_TARGETS)}, weights in [-1, 1]")
        if w:
            out[f"armslegs/{SIDE_PREFIX[side]}-{name}-{HAND_TARGETS[name][w > 0]}"] = abs(w)
    return out


def _subject(i, sex, ethnicity, skin_tone, tint, hand):
    """A default subject; its skin colour is the procedural hands' albedo of its Fitzpatrick type
    (hopgen.hand.subjects._skin) with ``tint`` = (redness, lightness), so a type-6 MakeHuman person
    is as dark as a type-6 procedural hand."""
    from hopgen.hand.subjects import _skin
    return {"id": f"makehuman_{i:02d}", "sex": sex, "ethnicity": ethnicity, "skin_tone": skin_tone,
            "skin_rgb": _skin(skin_tone, *tint), "hand": hand}


# 5 female + 5 male young adults over the three ethnicity targets; skin_tone is the Fitzpatrick
# type, skin_rgb (from the type, hopgen.hand.subjects) the linear base colour of the skin shader; hand weights vary hand size and shape
# (hand lengths, wrist to middle tip: 0.16-0.18 m female, 0.19-0.20 m male; see tests).
DEFAULT_MAKEHUMAN_SUBJECTS = (
    _subject(0, "female", {"caucasian": 1.0}, 1, (0.05, 1.0),
             {"hand-scale": -0.1, "hand-fingers-length": 0.2, "hand-fingers-diameter": -0.3}),
    _subject(1, "female", {"asian": 0.8, "caucasian": 0.2}, 3, (0.0, 1.05),
             {"hand-scale": 0.1, "hand-fingers-distance": 0.3}),
    _subject(2, "female", {"african": 1.0}, 6, (0.0, 1.1),
             {"hand-fingers-length": 0.2, "hand-trans": 0.2}),
    _subject(3, "female", {"caucasian": 0.5, "african": 0.5}, 4, (0.05, 1.0),
             {"hand-scale": -0.2, "hand-fingers-diameter": 0.3}),
    _subject(4, "female", {"asian": 1.0}, 2, (0.0, 1.0),
             {"hand-scale": 0.2, "hand-fingers-length": 0.1, "hand-fingers-distance": -0.3}),
    _subject(5, "male", {"caucasian": 1.0}, 2, (0.08, 0.95),
             {"hand-scale": -0.2, "hand-fingers-diameter": 0.4}),
    _subject(6, "male", {"african": 0.8, "caucasian": 0.2}, 5, (0.0, 1.05),
             {"hand-scale": -0.3, "hand-fingers-length": 0.1}),
    _subject(7, "male", {"asian": 0.6, "caucasian": 0.4}, 3, (0.03, 1.0),
             {"hand-fingers-length": -0.2, "hand-fingers-distance": 0.4}),
    _subject(8, "male", {"african": 1.0}, 6, (0.0, 0.95),
             {"hand-scale": -0.2, "hand-fingers-diameter": -0.2}),
    _subject(9, "male", {"asian": 0.5, "african": 0.5}, 4, (0.05, 1.05),
             {"hand-scale": -0.3, "hand-fingers-length": 0.1, "hand-trans": -0.3}),
)


def subject_targets(data, subject, sides=("left", "right")):
    """{target path: weight} of a subject: macro targets plus hand targets on the given sides.

    A subject may list its own ``targets`` {name relative to targets/: weight}; they are added, and
    when one of them is a ``macrodetails/`` target they replace the sex/ethnicity macro targets.
    """
    own = {str(k)[:-len(".target")] if str(k).endswith(".target") else str(k): float(w)
           for k, w in (subject.get("targets") or {}).items()}
    names = {} if any(k.startswith("macrodetails/") for k in own) else \
        macro_targets(1.0 if subject["sex"] == "male" else 0.0, subject.get("ethnicity") or {"caucasian": 1.0})
    names.update(own)
    for side in sides:
        if side not in SIDE_SUFFIX:
            raise MakeHumanError(f"bad side {side!r}: use 'left' or 'right'")
        names.update(hand_targets(subject.get("hand", {}), side))
    return {data.target_path(n): w for n, w in names.items()}


def subject_vertices(data, subject, side=None):
    """Full (V, 3) morphed vertices of a subject; hand targets on ``side`` only, or both if None."""
    sides = ("left", "right") if side is None else (side,)
    return apply_targets(data.vertices, subject_targets(data, subject, sides))


# ----------------------------------------------------------------------------- skeleton


def joint_positions(data, vertices):
    """(J, 3) positions of the .mhskel joints (centroids of their vertices) for full ``vertices``."""
    vertices = np.asarray(vertices, np.float64)
    return np.stack([vertices[ids].mean(0) for ids in data.joint_vertex_ids])


def bone_heads_tails(data, joints):
    """((B, 3) heads, (B, 3) tails) of every bone from (J, 3) joint positions."""
    ji = data.joint_index
    heads = joints[[ji[b.head] for b in data.bones]]
    tails = joints[[ji[b.tail] for b in data.bones]]
    return heads, tails


def bone_rest_matrices(data, joints):
    """(B, 4, 4) world rest frames of the bones (module docstring: origin head, +Y to tail, +X plane normal)."""
    ji = data.joint_index
    heads, tails = bone_heads_tails(data, joints)
    y = _unit(tails - heads)
    p = joints[[[ji[n] for n in b.plane] for b in data.bones]]  # (B, 3 points, 3)
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 1])
    x = normal - (normal * y).sum(1, keepdims=True) * y
    # Degenerate plane (collinear points): fall back to any axis orthogonal to Y.
    bad = np.linalg.norm(x, axis=1) < 1e-9
    if bad.any():
        alt = np.where(np.abs(y[bad, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        x[bad] = np.cross(y[bad], alt)
    x = _unit(x)
    z = np.cross(x, y)
    mats = np.zeros((len(data.bones), 4, 4))
    mats[:, :3, 0], mats[:, :3, 1], mats[:, :3, 2], mats[:, :3, 3] = x, y, z, heads
    mats[:, 3, 3] = 1.0
    return mats


def _unit(v):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def render_vertices(data, vertices):
    """(R, 3) render-mesh vertices out of a full (V, 3) vertex array."""
    return np.asarray(vertices)[data.render_vertex_ids]


# ----------------------------------------------------------------------------- hand


def hand_joint_sources(side):
    """The 21 (bone name, 'head'|'tail') sources of the contract joints (see module docstring)."""
    s = SIDE_SUFFIX.get(side)
    if s is None:
        raise MakeHumanError(f"bad side {side!r}: use 'left' or 'right'")
    out = [("wrist" + s, "head")]
    for f in range(1, 6):
        out += [(f"finger{f}-{k}{s}", "head") for k in (1, 2, 3)] + [(f"finger{f}-3{s}", "tail")]
    return tuple(out)


def hand_joints(data, joints, side):
    """(21, 3) contract hand joints (hopgen.core.skeleton.JOINT_NAMES order) from (J, 3) .mhskel joints."""
    names = []
    for bone, end in hand_joint_sources(side):
        if bone not in data.bone_index:
            raise MakeHumanError(f"{data.data_dir}/rigs/default.mhskel: no hand bone {bone!r}")
        b = data.bones[data.bone_index[bone]]
        names.append(b.head if end == "head" else b.tail)
    return np.asarray(joints)[[data.joint_index[n] for n in names]]


def hand_length(hand):
    """Wrist to middle fingertip distance (m) of (21, 3) contract joints."""
    return float(np.linalg.norm(hand[sk.JOINT_NAMES.index("middle_tip")] - hand[0]))


def bone_label(name, side):
    """Seg label of a bone for the hand on ``side`` (other-side hand bones are arm/body)."""
    s = SIDE_SUFFIX[side]
    if not name.endswith(s):
        return sk.SEG_ARM
    stem = name[:-len(s)]
    if stem == "wrist" or stem.startswith("metacarpal"):
        return sk.SEG_PALM
    if stem.startswith("finger") and "-" in stem:
        f, k = stem[len("finger"):].split("-", 1)
        if f.isdigit() and k.isdigit():
            return sk.seg_phalanx(int(f) - 1, int(k) - 1)
    return sk.SEG_ARM


def face_labels(data, side):
    """(F,) uint8 seg label per render face from its dominant bone (largest summed corner weight)."""
    labels_of_bone = np.array([bone_label(b.name, side) for b in data.bones], np.uint8)
    corner_bone = data.weights.bone[data.face_loops]      # (L, K)
    corner_w = data.weights.weight[data.face_loops]       # (L, K)
    face_of_loop = np.repeat(np.arange(data.num_faces), data.face_sizes)
    score = np.zeros((data.num_faces, len(data.bones)))
    np.add.at(score, (np.repeat(face_of_loop, corner_bone.shape[1]), corner_bone.reshape(-1)),
              corner_w.reshape(-1))
    return labels_of_bone[score.argmax(1)]


# ----------------------------------------------------------------------------- rig

# Appearance region of a body bone by name stem (the renderer dresses the body with it).
_TOP_STEMS = ("spine", "breast", "clavicle", "shoulder", "upperarm")
_BOTTOM_STEMS = ("root", "pelvis", "upperleg", "lowerleg")
_SHOE_STEMS = ("foot", "toe")


def _region_of_bone(name):
    from hopgen.avatars import rig as rg
    if name.startswith(_TOP_STEMS):
        return rg.REGION_TOP
    if name.startswith(_BOTTOM_STEMS):
        return rg.REGION_BOTTOM
    if name.startswith(_SHOE_STEMS):
        return rg.REGION_SHOES
    return rg.REGION_SKIN


def makehuman_rig(data, subject, name=None):
    """A hopgen.avatars.rig.Rig of one subject: morphed render mesh, skeleton, weights, both hands and arms.

    Triangles are MakeHumanData.triangles (render-vertex indices); regions dress torso/upper arms
    (top), hips/legs (bottom) and feet (shoes); ``sleeve`` marks the upper forearms.
    """
    from hopgen.avatars import rig as rg
    full = subject_vertices(data, subject)
    joints = joint_positions(data, full)
    rest = bone_rest_matrices(data, joints)
    _, tails = bone_heads_tails(data, joints)
    bi = data.bone_index
    refs = {side: np.array([[bi[b], end == "tail"] for b, end in hand_joint_sources(side)], np.int64)
            for side in SIDE_SUFFIX}
    arms = {side: rg.ArmChain(upper=(bi["upperarm01" + s], bi["upperarm02" + s]),
                              fore=(bi["lowerarm01" + s], bi["lowerarm02" + s]))
            for side, s in SIDE_SUFFIX.items()}
    out = rg.Rig(name=name or subject.get("id", "makehuman"), bone_names=tuple(b.name for b in data.bones),
                 parents=np.asarray(data.bone_parents, np.int64), rest=rest, tails=tails,
                 vertices=render_vertices(data, full), triangles=np.asarray(data.triangles, np.int64),
                 weight_bone=np.asarray(data.weights.bone, np.int64), weight=np.asarray(data.weights.weight),
                 joint_refs=refs, arms=arms)
    dominant = rg.dominant_bones(out)
    out.region = np.array([_region_of_bone(b.name) for b in data.bones], np.uint8)[dominant]
    _hair_regions(out, dominant)
    out.sleeve = np.isin(dominant, [bi["lowerarm01.L"], bi["lowerarm01.R"]])
    out.dominant = dominant
    return out


# Hair and eyebrows by geometry relative to the eyes (the data folder has no hair or eyebrow
# proxies): the hairline runs HAIRLINE_M above the eye centres at the front and falls toward the
# nape; the ears stay bare; brows are strips above each eye on the front of the face.
HAIRLINE_M = 0.045
HAIRLINE_FALL = 0.55     # the hairline drops this many metres per metre toward the back of the head
BROW_RISE_M = (0.013, 0.023)
BROW_SPAN_M = (0.008, 0.05)   # |x - eye x| inner .. outer, outer end lower (arch)


def _hair_regions(out, dominant):
    """Set REGION_HAIR / REGION_BROWS on head triangles of a MakeHuman rig (in place)."""
    from hopgen.avatars import rig as rg
    names = list(out.bone_names)
    if not all(b in names for b in ("eye.L", "eye.R", "head")):
        return
    eyes = out.rest[[names.index("eye.L"), names.index("eye.R")], :3, 3]
    mid = eyes.mean(0)
    head = np.isin(dominant, [names.index(b) for b in ("head", "neck03", "neck02") if b in names])
    c = out.vertices[out.triangles].mean(1)                  # (T, 3) triangle centres, rest
    n = np.cross(out.vertices[out.triangles[:, 1]] - out.vertices[out.triangles[:, 0]],
                 out.vertices[out.triangles[:, 2]] - out.vertices[out.triangles[:, 0]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    h = c[:, 2] - mid[2]
    back = np.maximum(c[:, 1] - mid[1], 0.0)                 # the character faces -Y
    ear = (np.abs(c[:, 0]) > 0.062) & (back > 0.06) & (back < 0.14) & (h < 0.03)
    hair = head & (h > HAIRLINE_M - HAIRLINE_FALL * back) & ~ear & (h > -0.07)
    out.region[hair] = rg.REGION_HAIR
    brows = np.zeros(len(c), bool)
    for e in eyes:
        dx = np.abs(c[:, 0] - e[0])
        arch = 0.004 * np.clip((dx - 0.025) / 0.025, 0.0, 1.0)
        rise = h - arch
        brows |= (dx > BROW_SPAN_M[0]) & (dx < BROW_SPAN_M[1]) & (rise > BROW_RISE_M[0]) & (rise < BROW_RISE_M[1]) \
            & (np.sign(c[:, 0]) == np.sign(e[0]))
    brows &= head & (n[:, 1] < -0.3) & (back < 0.03)
    out.region[brows & ~hair] = rg.REGION_BROWS
