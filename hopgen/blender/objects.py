"""Blender objects from pure ObjectGeometry (hopgen.objects), with procedural materials; a
manifest object file is imported from the file itself (hopgen.blender.object_import)."""

import math

import bpy
import numpy as np

from hopgen.blender import compat
from hopgen.blender.object_materials import build_material

SMOOTH_ANGLE = math.radians(35.0)  # edges sharper than this stay sharp (box edges, cap rims)


def build_object_object(geom, name, collection=None, materials=True):
    """Create a mesh object for ObjectGeometry `geom`; returns the bpy object.

    One material slot per spec in geom.materials (built procedurally unless materials=False),
    face material indices from geom.face_material, smooth shading with angle-based sharp edges.
    The object is linked to `collection` (default: the scene collection) at the identity pose.
    A file object (geom.file set) is the imported file, with its own materials or the procedural one.
    """
    if getattr(geom, "file", None):
        from hopgen.blender.object_import import build_file_object
        return build_file_object(geom, name, collection=collection, materials=materials)
    mesh = bpy.data.meshes.new(name)
    verts = np.asarray(geom.vertices, dtype=np.float64)
    faces = np.asarray(geom.faces, dtype=np.int64)
    mesh.from_pydata(verts.tolist(), [], faces.tolist())
    mesh.polygons.foreach_set("material_index", np.asarray(geom.face_material, dtype=np.int32))
    compat.shade_smooth_by_angle(mesh, SMOOTH_ANGLE)
    for i, spec in enumerate(geom.materials):
        mesh.materials.append(build_material(spec, f"{name}_{i}_{spec['kind']}") if materials else None)
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    (collection or bpy.context.scene.collection).objects.link(obj)
    obj["hop_object"] = geom.name
    obj["hop_category"] = geom.category
    return obj


def evaluated_vertices(obj):
    """(V, 3) world-independent (object frame) vertex positions of the evaluated mesh."""
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    me = ev.to_mesh()
    try:
        co = np.empty(len(me.vertices) * 3)
        me.vertices.foreach_get("co", co)
        me.calc_loop_triangles()
        tri = np.empty(len(me.loop_triangles) * 3, dtype=np.int64)
        me.loop_triangles.foreach_get("vertices", tri)
    finally:
        ev.to_mesh_clear()
    return co.reshape(-1, 3), tri.reshape(-1, 3)
