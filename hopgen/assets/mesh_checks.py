"""Mesh sanity of manifest object files, checked when the manifest is loaded (before any output).

An object file must be a mesh hopgen can read (.obj .stl .ply .gltf .glb with the pure readers;
.fbx .blend through the triangles Blender extracted, checked as soon as they exist), parse, have
finite vertices and in-range face indices, enough vertices and faces to enclose a volume, and be a
size one hand can hold after its `units`/`scale` (the limits of hopgen.core.graspable).

Open meshes (scans with holes, cups modelled without a lid) are accepted when the generalised
winding number still tells inside from outside: just behind and just in front of sample points of
the surface it must say inside (> 0.5) and outside (< 0.5) for at least MIN_SOUND_SIDES of them;
grasp synthesis then signs its distances with the winding number. Otherwise the file is refused
with the share that failed (a single sheet, a surface with most of it missing).
"""

import numpy as np

from hopgen.core.graspable import UngraspableObjectError, check_graspable
from hopgen.core.meshfiles import BLENDER_TYPES, PURE_TYPES, MeshFileError, load_mesh

MESH_FILE_TYPES = PURE_TYPES + BLENDER_TYPES
MIN_VERTICES = 4                              # a tetrahedron: the smallest closed mesh
MIN_FACES = 4
SIDE_SAMPLES = 128                            # surface points probed on an open mesh
SIDE_OFFSET = 0.01                            # of the bounding-box diagonal
MIN_SOUND_SIDES = 0.9


def boundary_edges(faces):
    """Number of edges used by exactly one face (0: closed)."""
    f = np.asarray(faces, np.int64)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return int(np.sum(counts == 1))


def sound_sides(vertices, faces):
    """Share of probed surface points where the winding number puts the point just behind the
    surface inside and the point just in front of it outside (1.0 on a closed, outward mesh)."""
    from hopgen.core.meshgeom import TriangleMesh
    v, f = np.asarray(vertices, np.float64), np.asarray(faces, np.int64)
    tri = v[f]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(n, axis=1)
    keep = np.nonzero(area > 0)[0]
    pick = keep[np.linspace(0, len(keep) - 1, min(SIDE_SAMPLES, len(keep))).astype(int)]  # spread, no RNG
    c, nn = tri[pick].mean(1), n[pick] / area[pick, None]
    eps = SIDE_OFFSET * float(np.linalg.norm(np.ptp(v, axis=0)))
    w = TriangleMesh(v, f).winding_number(np.concatenate([c - eps * nn, c + eps * nn]))
    inside, outside = w[:len(c)], w[len(c):]
    return float(np.mean((inside > 0.5) & (outside < 0.5)))


MAGICS = {".blend": (b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd"),   # plain, gzip, zstd
          ".fbx": (b"Kaydara FBX Binary", b"; FBX")}


def magic_problem(path):
    """None when an .fbx/.blend file starts like one (read fully only by Blender), else the reason."""
    import os
    ext = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except OSError as e:
        return f"{path}: cannot read ({e})"
    if not head.lstrip(b"\xef\xbb\xbf").startswith(MAGICS[ext]):
        return f"{path}: not a {'Blender' if ext == '.blend' else 'FBX'} file (its first bytes are {head[:12]!r})"
    return None


def check_mesh(name, path, scale, extracted=None):
    """(problem, closed): problem None when the object file `path` (scaled by `scale` to metres) is
    a usable object, else a one-line reason (the caller adds the manifest entry and field); closed
    tells whether the mesh has no boundary edges (None when the triangles are not available yet:
    an .fbx/.blend before its extraction)."""
    low = path.lower()
    if not low.endswith(MESH_FILE_TYPES):
        return (f"{path}: hopgen reads {' '.join(MESH_FILE_TYPES)} object files; convert the file "
                "to one of those"), None
    if low.endswith(BLENDER_TYPES) and extracted is None:
        return magic_problem(path), None
    try:
        vertices, faces = load_mesh(path, scale=scale, extracted=extracted)
    except MeshFileError as e:
        return str(e), None
    if len(vertices) < MIN_VERTICES or len(faces) < MIN_FACES:
        return (f"{path}: not a closed mesh ({len(vertices)} vertices, {len(faces)} faces; "
                f"at least {MIN_VERTICES} and {MIN_FACES} needed)"), None
    try:
        check_graspable(name, vertices, faces)
    except UngraspableObjectError as e:
        return f"{path}: {e.reason}", None
    from hopgen.core.meshfiles import weld
    holes = boundary_edges(weld(vertices, faces)[1])  # UV seams split vertices; they are no holes
    if holes:
        share = sound_sides(vertices, faces)
        if share < MIN_SOUND_SIDES:
            return (f"{path}: open mesh ({holes} boundary edges) whose inside cannot be told: the winding "
                    f"number is sound at {share:.0%} of probed surface points (< {MIN_SOUND_SIDES:.0%}); "
                    "close its holes or give the surface a thickness"), False
    return None, holes == 0


def mesh_problem(name, path, scale, extracted=None):
    """check_mesh's problem only."""
    return check_mesh(name, path, scale, extracted)[0]
