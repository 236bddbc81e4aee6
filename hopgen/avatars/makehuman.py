"""MakeHuman avatars from a MakeHuman 1.x data folder, in pure numpy.

Reads the hm08 base mesh (``3dobjs/base.obj``), morph targets (``targets/**.target``), the
default skeleton (``rigs/default.mhskel``) and its skin weights (``rigs/default_weights.mhw``),
and turns them into what the render side needs: a posable body mesh, its 21 hand joints in the
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

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from hopgen.avatars import rig
from hopgen.core import skeleton as sk

# File (x, y, z) decimetres Y-up -> world 0.1 * (x, -z, y) metres Z-up.
FILE_TO_WORLD = 0.1 * np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

HIDDEN_GROUP_PREFIXES = ("helper-", "joint-")
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


class MakeHumanError(ValueError):
    """A MakeHuman data folder or file is missing or malformed (the message names it)."""


# ----------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Bone:
    """One .mhskel bone: joint names of head and tail, parent bone name, rotation plane joints."""

    name: str
    parent: Optional[str]
    head: str
    tail: str
    plane: Tuple[str, str, str]


@dataclass(frozen=True)
class SkinWeights:
    """Sparse per-vertex skin weights: row n blends bones ``bone[n, k]`` by ``weight[n, k]``.

    Rows sum to 1; unused slots have weight 0 (and bone 0).
    """

    bone: np.ndarray    # (N, K) int32 bone indices into MakeHumanData.bones
    weight: np.ndarray  # (N, K) float64


@dataclass
class MakeHumanData:
    """A parsed MakeHuman data folder (see the module docstring for frames and units)."""

    data_dir: Path                      # the folder holding 3dobjs/, rigs/, targets/
    vertices: np.ndarray                # (V, 3) full base mesh, metres, world frame
    uvs: np.ndarray                     # (T, 2) texture coordinates
    group_names: Tuple[str, ...]        # obj groups of the render faces
    render_vertex_ids: np.ndarray       # (R,) full-vertex index of each render vertex
    face_loops: np.ndarray              # (L,) render-vertex index of each face corner
    face_uv_loops: np.ndarray           # (L,) uv index of each face corner (-1: none)
    face_starts: np.ndarray             # (F,) first loop of each render face
    face_sizes: np.ndarray              # (F,) corners per face (3 or 4)
    face_groups: np.ndarray             # (F,) index into group_names
    triangles: np.ndarray               # (Tr, 3) render-vertex triangles (fan of each face)
    triangle_face: np.ndarray           # (Tr,) render face of each triangle
    joint_names: Tuple[str, ...]        # .mhskel joints, e.g. "wrist.L____head"
    joint_vertex_ids: Tuple[np.ndarray, ...]  # per joint, full-vertex indices (centroid = joint)
    bones: Tuple[Bone, ...]             # parents before children
    bone_parents: np.ndarray            # (B,) parent bone index, -1 for roots
    weights: SkinWeights                # over the render vertices
    skin: Dict[str, str] = field(default_factory=dict)  # skins/default.mhmat key -> value
    bone_index: Dict[str, int] = field(default_factory=dict)
    joint_index: Dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.bone_index = {b.name: i for i, b in enumerate(self.bones)}
        self.joint_index = {n: i for i, n in enumerate(self.joint_names)}

    @property
    def num_faces(self):
        return len(self.face_sizes)

    def face_lists(self):
        """Render faces as lists of render-vertex indices (for bpy's from_pydata)."""
        return [self.face_loops[s:s + n].tolist() for s, n in zip(self.face_starts, self.face_sizes)]

    def target_path(self, name):
        """Absolute path of a target given relative to targets/, with or without '.target'."""
        name = name if name.endswith(".target") else name + ".target"
        return self.data_dir / "targets" / name


# ----------------------------------------------------------------------------- loading

_DATA_CACHE: Dict[Path, MakeHumanData] = {}
_TARGET_CACHE: Dict[Path, Tuple[np.ndarray, np.ndarray]] = {}


def resolve_data_dir(path):
    """The MakeHuman data folder for ``path``: ``path`` itself or its ``data/`` subfolder."""
    path = Path(path)
    if not path.is_dir():
        raise MakeHumanError(f"not a MakeHuman data folder: {path} does not exist or is not a folder")
    if not (path / "3dobjs").is_dir() and (path / "data" / "3dobjs").is_dir():
        path = path / "data"
    for rel in ("3dobjs/base.obj", "rigs/default.mhskel", "targets"):
        if not (path / rel).exists():
            raise MakeHumanError(f"not a MakeHuman data folder: {path} lacks {rel}")
    return path.resolve()


def load_makehuman(data_dir):
    """Load (and cache per folder) a MakeHuman data folder; raises MakeHumanError when bad.

    ``data_dir`` is a MakeHuman ``data`` folder or an installation folder holding ``data/``.
    Arrays of the cached result are read-only: copy before editing.
    """
    path = resolve_data_dir(data_dir)
    if path not in _DATA_CACHE:
        _DATA_CACHE[path] = _load(path)
    return _DATA_CACHE[path]


def _load(path):
    mesh = _parse_obj(path / "3dobjs" / "base.obj")
    skel_path = path / "rigs" / "default.mhskel"
    skel = _read_json(skel_path)
    joint_names, joint_vertex_ids = _parse_joints(skel, skel_path, len(mesh["vertices"]))
    bones = _parse_bones(skel, skel_path, set(joint_names))
    bone_index = {b.name: i for i, b in enumerate(bones)}
    weights_path = skel_path.parent / str(skel.get("weights_file") or "default_weights.mhw")
    if not weights_path.is_file():
        raise MakeHumanError(f"not a MakeHuman data folder: {path} lacks rigs/{weights_path.name}")
    weights = _parse_weights(_read_json(weights_path), weights_path, bone_index, mesh["render_vertex_ids"],
                             len(mesh["vertices"]))
    skin_path = path / "skins" / "default.mhmat"
    data = MakeHumanData(
        data_dir=path,
        joint_names=joint_names,
        joint_vertex_ids=joint_vertex_ids,
        bones=bones,
        bone_parents=np.array([bone_index[b.parent] if b.parent else -1 for b in bones], np.int32),
        weights=weights,
        skin=_parse_mhmat(skin_path) if skin_path.is_file() else {},
        **mesh,
    )
    for arr in (data.vertices, data.uvs, data.render_vertex_ids, data.face_loops, data.face_uv_loops,
                data.face_starts, data.face_sizes, data.face_groups, data.triangles, data.triangle_face,
                data.bone_parents, weights.bone, weights.weight, *joint_vertex_ids):
        arr.setflags(write=False)  # shared through the cache
    return data


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MakeHumanError(f"{path}: not readable JSON ({e})") from e


def _parse_obj(path):
    """Vertices, uvs and faces of base.obj; faces of helper/joint groups are dropped."""
    verts, uvs, loops, uv_loops, sizes, groups = [], [], [], [], [], []
    group_ids = {}
    group = "default"
    keep = True
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            tag = line[:2]
            try:
                if tag == "v ":
                    x, y, z = line.split()[1:4]
                    verts.append((float(x), float(y), float(z)))
                elif tag == "vt":
                    u, v = line.split()[1:3]
                    uvs.append((float(u), float(v)))
                elif tag == "g ":
                    group = line[2:].strip()
                    keep = not group.startswith(HIDDEN_GROUP_PREFIXES)
                elif tag == "f " and keep:
                    corners = line.split()[1:]
                    if len(corners) < 3:
                        raise ValueError("face with fewer than 3 corners")
                    for c in corners:
                        parts = c.split("/")
                        loops.append(int(parts[0]) - 1)
                        uv_loops.append(int(parts[1]) - 1 if len(parts) > 1 and parts[1] else -1)
                    sizes.append(len(corners))
                    groups.append(group_ids.setdefault(group, len(group_ids)))
            except ValueError as e:
                raise MakeHumanError(f"{path}:{lineno}: bad line {line.strip()[:60]!r} ({e})") from e
    if not verts or not sizes:
        raise MakeHumanError(f"{path}: no vertices or no render faces")
    vertices = np.asarray(verts, np.float64) @ FILE_TO_WORLD.T  # (V, 3)
    loops = np.asarray(loops, np.int64)
    if loops.min() < 0 or loops.max() >= len(vertices):
        raise MakeHumanError(f"{path}: face vertex index out of range 1..{len(vertices)}")
    render_ids, render_loops = np.unique(loops, return_inverse=True)
    sizes = np.asarray(sizes, np.int32)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    tri, tri_face = _fan_triangles(render_loops, starts, sizes)
    return dict(
        vertices=vertices,
        uvs=np.asarray(uvs, np.float64).reshape(-1, 2),
        group_names=tuple(group_ids),
        render_vertex_ids=render_ids.astype(np.int64),
        face_loops=render_loops.astype(np.int64).reshape(-1),
        face_uv_loops=np.asarray(uv_loops, np.int64),
        face_starts=starts,
        face_sizes=sizes,
        face_groups=np.asarray(groups, np.int32),
        triangles=tri,
        triangle_face=tri_face,
    )


def _fan_triangles(loops, starts, sizes):
    """Fan triangulation (0, k, k+1) of each face -> ((Tr, 3) vertex ids, (Tr,) face ids)."""
    tris, faces = [], []
    for n in np.unique(sizes):
        fids = np.nonzero(sizes == n)[0]
        for k in range(1, n - 1):
            base = starts[fids]
            tris.append(np.stack([loops[base], loops[base + k], loops[base + k + 1]], 1))
            faces.append(fids)
    order = np.argsort(np.concatenate(faces), kind="stable")
    return np.concatenate(tris)[order], np.concatenate(faces)[order]


def _parse_joints(skel, path, num_vertices):
    joints = skel.get("joints")
    if not isinstance(joints, dict) or not joints:
        raise MakeHumanError(f"{path}: field 'joints' missing or empty")
    names, ids = [], []
    for name, idx in joints.items():
        arr = np.asarray(idx, np.int64).reshape(-1)
        if arr.size == 0 or arr.min() < 0 or arr.max() >= num_vertices:
            raise MakeHumanError(f"{path}: joint {name!r} lists no vertices or one outside 0..{num_vertices - 1}")
        names.append(name)
        ids.append(arr)
    return tuple(names), tuple(ids)


def _parse_bones(skel, path, joint_names):
    raw = skel.get("bones")
    if not isinstance(raw, dict) or not raw:
        raise MakeHumanError(f"{path}: field 'bones' missing or empty")
    planes = skel.get("planes") or {}
    bones = {}
    for name, b in raw.items():
        try:
            head, tail, parent = b["head"], b["tail"], b.get("parent")
            plane = tuple(planes[b["rotation_plane"]]) if b.get("rotation_plane") in planes else ()
        except (KeyError, TypeError) as e:
            raise MakeHumanError(f"{path}: bone {name!r} lacks field {e}") from e
        for j in (head, tail, *plane):
            if j not in joint_names:
                raise MakeHumanError(f"{path}: bone {name!r} refers to unknown joint {j!r}")
        if parent is not None and parent not in raw:
            raise MakeHumanError(f"{path}: bone {name!r} has unknown parent {parent!r}")
        if len(plane) not in (0, 3):
            raise MakeHumanError(f"{path}: rotation plane of bone {name!r} needs 3 joints")
        bones[name] = Bone(name, parent, head, tail, plane or (head, tail, head))
    # Parents first (the file lists bones alphabetically).
    ordered, seen = [], set()
    for name in bones:
        chain = []
        while name is not None and name not in seen:
            if name in chain:
                raise MakeHumanError(f"{path}: bone parent cycle through {name!r}")
            chain.append(name)
            name = bones[name].parent
        for n in reversed(chain):
            seen.add(n)
            ordered.append(bones[n])
    return tuple(ordered)


def _parse_weights(raw, path, bone_index, render_ids, num_vertices):
    """Sparse normalised weights of the render vertices; a vertex without any gets the root bone."""
    table = raw.get("weights") if isinstance(raw, dict) else None
    if not isinstance(table, dict):
        raise MakeHumanError(f"{path}: field 'weights' missing")
    rows, cols, vals = [], [], []
    for bone, pairs in table.items():
        if bone not in bone_index:
            raise MakeHumanError(f"{path}: weights for unknown bone {bone!r}")
        arr = np.asarray(pairs, np.float64).reshape(-1, 2)
        rows.append(arr[:, 0].astype(np.int64))
        vals.append(arr[:, 1])
        cols.append(np.full(len(arr), bone_index[bone], np.int64))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    if rows.min() < 0 or rows.max() >= num_vertices or vals.min() < 0:
        raise MakeHumanError(f"{path}: weight with a vertex outside 0..{num_vertices - 1} or a negative value")
    # Restrict to render vertices: full index -> render index (-1 elsewhere).
    to_render = np.full(num_vertices, -1, np.int64)
    to_render[render_ids] = np.arange(len(render_ids))
    r = to_render[rows]
    ok = (r >= 0) & (vals > 0)
    r, cols, vals = r[ok], cols[ok], vals[ok]
    order = np.lexsort((-vals, r))  # by vertex, heaviest first
    r, cols, vals = r[order], cols[order], vals[order]
    counts = np.bincount(r, minlength=len(render_ids))
    k = max(int(counts.max()), 1)
    slot = np.arange(len(r)) - np.repeat(np.cumsum(counts) - counts, counts)
    bone = np.zeros((len(render_ids), k), np.int32)
    weight = np.zeros((len(render_ids), k), np.float64)
    bone[r, slot] = cols
    weight[r, slot] = vals
    weight[counts == 0, 0] = 1.0  # unweighted vertex follows the first (root) bone
    weight /= weight.sum(1, keepdims=True)
    return SkinWeights(bone, weight)


def _parse_mhmat(path):
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "//")):
                key, _, value = line.partition(" ")
                out[key] = value.strip()
    return out


# ----------------------------------------------------------------------------- targets


def load_target(path):
    """Parse (and cache) a .target file -> ((n,) vertex indices, (n, 3) deltas in metres, world frame)."""
    path = Path(path).resolve()
    if path in _TARGET_CACHE:
        return _TARGET_CACHE[path]
    if not path.is_file():
        raise MakeHumanError(f"target file not found: {path}")
    idx, deltas = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            try:
                if len(parts) != 4:
                    raise ValueError(f"expected 'index dx dy dz', got {len(parts)} fields")
                idx.append(int(parts[0]))
                deltas.append((float(parts[1]), float(parts[2]), float(parts[3])))
            except ValueError as e:
                raise MakeHumanError(f"{path}:{lineno}: bad target line {line[:60]!r} ({e})") from e
    idx = np.asarray(idx, np.int64)
    d = np.asarray(deltas, np.float64).reshape(-1, 3) @ FILE_TO_WORLD.T
    if idx.size and idx.min() < 0:
        raise MakeHumanError(f"{path}: negative vertex index")
    idx.setflags(write=False)
    d.setflags(write=False)
    _TARGET_CACHE[path] = (idx, d)
    return idx, d


def apply_targets(base_vertices, targets):
    """``base_vertices`` (V, 3) plus sum of weight * delta of each {target path: weight}."""
    out = np.array(base_vertices, np.float64, copy=True)
    for path, w in targets.items():
        if w == 0:
            continue
        idx, d = load_target(path)
        if idx.size and idx.max() >= len(out):
            raise MakeHumanError(f"{path}: vertex index {int(idx.max())} outside the mesh of {len(out)} vertices")
        np.add.at(out, idx, float(w) * d)
    return out


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


def _subject(i, sex, ethnicity, skin_tone, skin_rgb, hand):
    return {"id": f"makehuman_{i:02d}", "sex": sex, "ethnicity": ethnicity, "skin_tone": skin_tone,
            "skin_rgb": skin_rgb, "hand": hand}


# 5 female + 5 male young adults over the three ethnicity targets; skin_tone is the Fitzpatrick
# type, skin_rgb a linear base colour for the skin shader; hand weights vary hand size and shape
# (hand lengths, wrist to middle tip: 0.16-0.18 m female, 0.19-0.20 m male; see tests).
DEFAULT_MAKEHUMAN_SUBJECTS = (
    _subject(0, "female", {"caucasian": 1.0}, 1, (0.80, 0.56, 0.45),
             {"hand-scale": -0.1, "hand-fingers-length": 0.2, "hand-fingers-diameter": -0.3}),
    _subject(1, "female", {"asian": 0.8, "caucasian": 0.2}, 3, (0.66, 0.45, 0.30),
             {"hand-scale": 0.1, "hand-fingers-distance": 0.3}),
    _subject(2, "female", {"african": 1.0}, 6, (0.20, 0.11, 0.07),
             {"hand-fingers-length": 0.2, "hand-trans": 0.2}),
    _subject(3, "female", {"caucasian": 0.5, "african": 0.5}, 4, (0.45, 0.28, 0.18),
             {"hand-scale": -0.2, "hand-fingers-diameter": 0.3}),
    _subject(4, "female", {"asian": 1.0}, 2, (0.72, 0.52, 0.38),
             {"hand-scale": 0.2, "hand-fingers-length": 0.1, "hand-fingers-distance": -0.3}),
    _subject(5, "male", {"caucasian": 1.0}, 2, (0.75, 0.52, 0.40),
             {"hand-scale": -0.2, "hand-fingers-diameter": 0.4}),
    _subject(6, "male", {"african": 0.8, "caucasian": 0.2}, 5, (0.28, 0.16, 0.10),
             {"hand-scale": -0.3, "hand-fingers-length": 0.1}),
    _subject(7, "male", {"asian": 0.6, "caucasian": 0.4}, 3, (0.62, 0.42, 0.28),
             {"hand-fingers-length": -0.2, "hand-fingers-distance": 0.4}),
    _subject(8, "male", {"african": 1.0}, 6, (0.17, 0.10, 0.06),
             {"hand-scale": -0.2, "hand-fingers-diameter": -0.2}),
    _subject(9, "male", {"asian": 0.5, "african": 0.5}, 4, (0.42, 0.26, 0.16),
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


def pose_bones(data, rest, rotations):
    """(B, 4, 4) posed world bone frames.

    ``rest`` (B, 4, 4) from bone_rest_matrices; ``rotations`` {bone name: (3, 3)} rotates a bone
    about its head in its own rest frame (children follow); bones not listed keep their rest pose.
    """
    unknown = set(rotations) - set(data.bone_index)
    if unknown:
        raise MakeHumanError(f"pose for unknown bones {sorted(unknown)}")
    posed = np.array(rest, np.float64, copy=True)
    for i, b in enumerate(data.bones):  # parents come first
        local = np.eye(4)
        if b.name in rotations:
            local[:3, :3] = np.asarray(rotations[b.name], np.float64)
        p = data.bone_parents[i]
        base = rest[i] if p < 0 else posed[p] @ np.linalg.solve(rest[p], rest[i])
        posed[i] = base @ local
    return posed


def skinning_matrices(rest, posed):
    """(B, 4, 4) matrices taking rest-pose points to posed points: posed @ inverse(rest)."""
    return posed @ np.linalg.inv(rest)


def skin_vertices(rest_vertices, weights, bone_matrices):
    """Linear blend skinning: (N, 3) rest vertices -> (N, 3) posed.

    ``weights`` SkinWeights with N rows; ``bone_matrices`` (B, 4, 4) skinning matrices
    (skinning_matrices(rest, posed)).
    """
    rest_vertices = np.asarray(rest_vertices, np.float64)
    m = np.asarray(bone_matrices, np.float64)[weights.bone][:, :, :3, :]  # (N, K, 3, 4)
    blend = np.einsum("nk,nkij->nij", weights.weight, m)                  # (N, 3, 4)
    return np.einsum("nij,nj->ni", blend[:, :, :3], rest_vertices) + blend[:, :, 3]


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


def posed_joint_positions(data, rest, posed, joints):
    """(J, 3) .mhskel joints after posing: each moves with a bone that ends there (else starts there).

    rest, posed: (B, 4, 4) bone frames (bone_rest_matrices, pose_bones); joints: (J, 3) rest joints.
    Feed the result to hand_joints for the posed 21 contract joints.
    """
    skin = skinning_matrices(rest, posed)
    owner = np.full(len(data.joint_names), -1)
    for i, b in enumerate(data.bones):
        if owner[data.joint_index[b.head]] < 0:
            owner[data.joint_index[b.head]] = i
    for i, b in enumerate(data.bones):
        owner[data.joint_index[b.tail]] = i
    joints = np.asarray(joints, np.float64)
    out = joints.copy()
    has = owner >= 0
    m = skin[owner[has]]
    out[has] = np.einsum("nij,nj->ni", m[:, :3, :3], joints[has]) + m[:, :3, 3]
    return out


def hand_frame(hand, side):
    """(4, 4) world pose of the hopgen.hand.kinematics hand frame of (21, 3) contract joints.

    Origin the wrist, +Y toward the middle MCP, +X toward the thumb side (radial) for a right
    hand and the ulnar side for a left one (the mirror), +Z = X x Y, out of the palm.
    """
    if side not in ("left", "right"):
        raise MakeHumanError(f"bad side {side!r}: use 'left' or 'right'")
    return rig.hand_frame(hand, side)


def _rotation_between(a, b):
    """(3, 3) smallest rotation taking direction a to direction b."""
    a, b = _unit(a), _unit(b)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1 + 1e-12:  # opposite: half turn about any axis orthogonal to a
        axis = _unit(np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return 2 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def retarget_hand(data, rest, joints, target, side, orient=False):
    """Bone rotations {bone: (3, 3)} that give the MakeHuman hand the pose of ``target``.

    target: (21, 3) contract joints (any hand size, e.g. hopgen.hand.kinematics output). Each finger
    bone (finger1-1..finger5-3) turns by the smallest rotation that points it like the matching
    target bone (MakeHuman keeps its own bone lengths and twist). With orient=False only the
    fingers move: the target is first carried into the MakeHuman hand frame (hand_frame), so
    only its pose relative to the palm matters. With orient=True the wrist bone also turns so
    the hand frame takes the target's orientation (about the MakeHuman wrist; the caller moves
    the body to place the wrist). Feed the result to pose_bones.
    """
    rest_hand = hand_joints(data, joints, side)
    f_rest, f_target = hand_frame(rest_hand, side), hand_frame(target, side)
    s = SIDE_SUFFIX[side]
    rotations = {}
    if orient:
        wrist = data.bone_index["wrist" + s]
        r_world = f_target[:3, :3] @ f_rest[:3, :3].T
        rotations["wrist" + s] = rest[wrist, :3, :3].T @ r_world @ rest[wrist, :3, :3]
        frame = f_target
    else:
        frame = f_rest
    # target in the hand frame wanted for the MakeHuman hand (rest or target orientation)
    to_world = frame @ np.linalg.inv(f_target)
    goal = np.asarray(target, np.float64) @ to_world[:3, :3].T + to_world[:3, 3]
    for f in range(5):
        for k in range(3):
            name = f"finger{f + 1}-{k + 1}{s}"
            rotations[name] = np.eye(3)
            posed = pose_bones(data, rest, rotations)  # parents' current pose
            b = data.bone_index[name]
            a, c = 1 + 4 * f + k, 2 + 4 * f + k  # contract joints at the bone's head and tail
            swing = _rotation_between(posed[b, :3, 1], goal[c] - goal[a])
            rotations[name] = posed[b, :3, :3].T @ swing @ posed[b, :3, :3]
    return rotations


def default_data_dir():
    """``$HOPGEN_MAKEHUMAN_DIR`` if set, else None (callers pass a folder from the manifest)."""
    env = os.environ.get("HOPGEN_MAKEHUMAN_DIR")
    return Path(env) if env else None


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
    out.sleeve = np.isin(dominant, [bi["lowerarm01.L"], bi["lowerarm01.R"]])
    out.dominant = dominant
    return out
