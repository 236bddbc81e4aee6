"""Reading a MakeHuman 1.x data folder (pure numpy): the hm08 base mesh (``3dobjs/base.obj``), the
default skeleton (``rigs/default.mhskel``), its skin weights (``rigs/default_weights.mhw``),
materials and morph targets (``targets/**.target``), cached per folder and file.

Everything comes out in hopgen's world frame (Z-up metres; FILE_TO_WORLD); the conventions and
what the avatars do with the data are in hopgen.avatars.makehuman.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

# File (x, y, z) decimetres Y-up -> world 0.1 * (x, -z, y) metres Z-up.
FILE_TO_WORLD = 0.1 * np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

HIDDEN_GROUP_PREFIXES = ("helper-", "joint-")


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
