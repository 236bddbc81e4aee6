"""Mesh sanity of manifest object files, checked when the manifest is loaded (before any output).

An object file must be a mesh grasp synthesis can read (.obj/.stl/.ply), parse, have finite
vertices and in-range face indices, enough vertices and faces to enclose a volume, and be a size
one hand can hold after its `units`/`scale` (the limits of hopgen.core.graspable.check_graspable).
"""

from hopgen.core.graspable import UngraspableObjectError, check_graspable
from hopgen.core.meshfiles import MeshFileError, load_mesh

MESH_FILE_TYPES = (".obj", ".stl", ".ply")   # what grasp synthesis reads (hopgen.episode.scene)
MIN_VERTICES = 4                              # a tetrahedron: the smallest closed mesh
MIN_FACES = 4


def mesh_problem(name, path, scale):
    """None when the object file `path` (scaled by `scale` to metres) is a usable object, else a
    one-line reason (the caller adds the manifest entry and field)."""
    if not path.lower().endswith(MESH_FILE_TYPES):
        return (f"{path}: grasp synthesis reads {' '.join(MESH_FILE_TYPES)} meshes only; convert the file "
                "to one of those")
    try:
        vertices, faces = load_mesh(path, scale=scale)
    except MeshFileError as e:
        return str(e)
    if len(vertices) < MIN_VERTICES or len(faces) < MIN_FACES:
        return (f"{path}: not a closed mesh ({len(vertices)} vertices, {len(faces)} faces; "
                f"at least {MIN_VERTICES} and {MIN_FACES} needed)")
    try:
        check_graspable(name, vertices, faces)
    except UngraspableObjectError as e:
        return f"{path}: {e.reason}"
    return None
