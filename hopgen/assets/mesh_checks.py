"""Mesh sanity of manifest object files, checked when the manifest is loaded (before any output).

An object file must be a mesh hopgen can read (.obj .stl .ply .gltf .glb with the pure readers;
.fbx .blend through the triangles Blender extracted, checked as soon as they exist), parse, have
finite vertices and in-range face indices, enough vertices and faces to enclose a volume, and be a
size one hand can hold after its `units`/`scale` (the limits of hopgen.core.graspable).

Open meshes (scans with holes, cups modelled without a lid) are accepted when the generalised
winding number still tells inside from outside around them: on a grid over the mesh's padded box
it must be decisive (near 0 or 1, not near 1/2) at MIN_SOUND_SHARE of the points; grasp synthesis
then signs its distances with the winding number. Otherwise the file is refused with the share it
reached (a tube open at both ends, a corner of three sides, a single sheet).
"""

import numpy as np

from hopgen.core.graspable import UngraspableObjectError, check_graspable
from hopgen.core.meshfiles import BLENDER_TYPES, PURE_TYPES, MeshFileError, load_mesh

MESH_FILE_TYPES = PURE_TYPES + BLENDER_TYPES
MIN_VERTICES = 4                              # a tetrahedron: the smallest closed mesh
MIN_FACES = 4
GRID, GRID_PAD = 10, 0.25                     # probe grid of an open mesh: 10^3 points over its padded box
DECISIVE = 0.25                               # |winding - 0.5| above this: clearly inside or outside
MIN_SOUND_SHARE = 0.86                        # a box missing one side passes, a tube open at both ends not


def boundary_edges(faces):
    """Number of edges used by exactly one face (0: closed)."""
    f = np.asarray(faces, np.int64)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return int(np.sum(counts == 1))


def sound_sides(vertices, faces, n=GRID):
    """Share of a grid over the mesh's box (padded by GRID_PAD of its size each side) where the
    generalised winding number is decisive: below 0.5 - DECISIVE or above 0.5 + DECISIVE (1.0 on
    a closed mesh; lower the more of the surface is missing)."""
    from hopgen.core.meshgeom import TriangleMesh
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    pad = GRID_PAD * (hi - lo)
    axes = [np.linspace(a - p, b + p, n) for a, b, p in zip(lo, hi, pad)]
    P = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    w = TriangleMesh(v, faces).winding_number(P)
    return float(np.mean(np.abs(w - 0.5) > DECISIVE))


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
        if share < MIN_SOUND_SHARE:
            return (f"{path}: open mesh ({holes} boundary edges) whose inside cannot be told: the winding "
                    f"number is decisive at {share:.0%} of the points around it (< {MIN_SOUND_SHARE:.0%}); "
                    "close its holes or give the surface a thickness"), False
    return None, holes == 0


def mesh_problem(name, path, scale, extracted=None):
    """check_mesh's problem only."""
    return check_mesh(name, path, scale, extracted)[0]
