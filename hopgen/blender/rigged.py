"""Read a rigged avatar file (.glb/.gltf/.fbx/.blend) into the pure hopgen.avatars.rig.Rig.

The file is imported with Blender's own importers (a .blend is appended with bpy.data.libraries,
so no script in it runs: autoexec stays off); it must hold exactly one armature and at least one
mesh weighted to its bones (vertex groups named like the bones). Everything is read in the rest
pose, in world coordinates (metres): bone frames (orthonormalised, origin at the head), tails,
parents, triangles of every skinned mesh and their normalised weights. The imported objects are
removed again, so reading does not disturb the scene being built.
"""

import os

import numpy as np

import bpy

from hopgen.avatars.entries import register_rigged_reader
from hopgen.blender import compat
from hopgen.avatars import rig as rg


class RiggedFileError(rg.RigError):
    """A rigged avatar file that cannot be used (names the avatar, the file and the problem)."""


def _import(path):
    """Import ``path`` with Blender's own importer (compat.import_object_file: a .blend is appended with
    autoexec off); returns the new objects."""
    if os.path.splitext(path)[1].lower() not in (".glb", ".gltf", ".fbx", ".blend"):
        raise RiggedFileError(f"{path}: unsupported rigged file type {os.path.splitext(path)[1].lower()!r}")
    return compat.import_object_file(path)


def _orthonormal(m):
    """Rotation part of a 3x3 with scale/shear removed (polar decomposition)."""
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def _topological(bones):
    order, seen = [], set()

    def visit(b):
        if b.name in seen:
            return
        if b.parent is not None:
            visit(b.parent)
        seen.add(b.name)
        order.append(b)

    for b in bones:
        visit(b)
    return order


def read_rig(name, path, bone_map):
    """The Rig of a rigged file, with the hand on the side its geometry has (see rig_for_entry)."""
    if not os.path.isfile(path):
        raise RiggedFileError(f"avatar {name}: rigged file not found: {path}")
    new = _import(path)
    try:
        arms = [o for o in new if o.type == "ARMATURE"]
        if len(arms) != 1:
            hint = " (glTF/FBX files keep an armature only when a mesh is skinned to it)" if not arms else ""
            raise RiggedFileError(f"avatar {name}: {path} holds {len(arms)} armatures; exactly one is needed{hint}")
        arm = arms[0]
        bones = _topological(list(arm.data.bones))
        names = tuple(b.name for b in bones)
        index = {n: i for i, n in enumerate(names)}
        aw = np.array(arm.matrix_world, np.float64)
        rest = np.tile(np.eye(4), (len(bones), 1, 1))
        tails = np.zeros((len(bones), 3))
        for i, b in enumerate(bones):
            m = aw @ np.array(b.matrix_local, np.float64)
            rest[i, :3, :3] = _orthonormal(m[:3, :3])
            rest[i, :3, 3] = m[:3, 3]
            tails[i] = (aw @ np.append(np.array(b.tail_local, np.float64), 1.0))[:3]
        parents = np.array([index[b.parent.name] if b.parent else -1 for b in bones], np.int64)
        verts, tris, slots = [], [], []
        for obj in new:
            if obj.type != "MESH":
                continue
            groups = {g.index: index[g.name] for g in obj.vertex_groups if g.name in index}
            if not groups:
                continue
            mesh = obj.data
            mw = np.array(obj.matrix_world, np.float64)
            co = np.zeros(len(mesh.vertices) * 3)
            mesh.vertices.foreach_get("co", co)
            co = co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3]
            mesh.calc_loop_triangles()
            t = np.zeros(len(mesh.loop_triangles) * 3, np.int64)
            mesh.loop_triangles.foreach_get("vertices", t)
            base = sum(len(v) for v in verts)
            verts.append(co)
            tris.append(t.reshape(-1, 3) + base)
            for v in mesh.vertices:
                slots.append([(groups[g.group], g.weight) for g in v.groups if g.group in groups and g.weight > 0])
        if not verts:
            raise RiggedFileError(f"avatar {name}: {path}: no mesh has vertex groups (skin weights) named after "
                                  f"bones of armature {arm.name!r}")
        if not any(slots):
            raise RiggedFileError(f"avatar {name}: {path}: the meshes carry no skin weights")
        k = max(len(s) for s in slots)
        wb = np.zeros((len(slots), k), np.int64)
        w = np.zeros((len(slots), k))
        for n, s in enumerate(slots):
            for j, (b, x) in enumerate(s):
                wb[n, j], w[n, j] = b, x
        w[w.sum(1) == 0, 0] = 1.0  # unweighted vertices follow the first (root) bone
        w /= w.sum(1, keepdims=True)
        refs = rg.resolve_bone_map(name, names, bone_map)
        r = rg.Rig(name=name, bone_names=names, parents=parents, rest=rest, tails=tails,
                   vertices=np.concatenate(verts), triangles=np.concatenate(tris), weight_bone=wb, weight=w,
                   joint_refs={"right": refs})
        if rg.handedness(r, "right") != "right":
            r.joint_refs = {"left": refs}
        return r
    finally:
        for obj in new:
            bpy.data.objects.remove(obj, do_unlink=True)


def rig_for_entry(entry):
    """The registered rigged-file reader: the Rig of a `rigged` manifest entry (its own side;
    hopgen.avatars.entries mirrors it when the other hand is asked for)."""
    return read_rig(entry.name, entry.file, entry.bone_map)


register_rigged_reader(rig_for_entry)  # pure code asks hopgen.avatars.entries for rigs
