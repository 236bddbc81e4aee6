"""Manifest object files brought into Blender by Blender's own importers (hopgen.blender.compat):
every part merged into one mesh object with its UVs and materials, placed in the object frame of
the pure geometry (geom.file_to_object), and checked to lie where the grasp geometry lies. Also
extracts the triangles (and the images used) of .fbx/.blend files into the mesh cache, once per
file content (hopgen.assets.object_files), atomically.
"""

import os

import bpy
import numpy as np
from mathutils import Matrix

from hopgen.blender import compat

PLACEMENT_TOLERANCE = 0.01   # of the object's size: imported and pure geometry must agree this well


class ObjectImportError(RuntimeError):
    """An object file Blender cannot bring in as hopgen's readers see it (names object and file)."""


def _remove(objects):
    for o in objects:
        if o.name in bpy.data.objects:
            bpy.data.objects.remove(o, do_unlink=True)


def import_merged(path, name):
    """Import ``path`` and merge its mesh parts into one object named ``name`` whose mesh holds
    world (file) coordinates at an identity transform; non-mesh objects are removed."""
    new = compat.import_object_file(path)
    meshes = [o for o in new if o.type == "MESH"]
    if not meshes:
        _remove(new)
        raise ObjectImportError(f"{path}: Blender imported no mesh from it")
    for o in meshes:
        if o.data.users > 1:  # an instanced mesh: give each part its own data before baking
            o.data = o.data.copy()
        mw = o.matrix_world.copy()
        o.parent = None
        o.data.transform(mw)
        o.matrix_world = Matrix.Identity(4)
    _remove([o for o in new if o.type != "MESH"])
    target = meshes[0]
    if len(meshes) > 1:
        scene_objects = bpy.context.scene.collection.all_objects
        for o in meshes:
            if o.name not in scene_objects:
                bpy.context.scene.collection.objects.link(o)
        with bpy.context.temp_override(active_object=target, object=target, selected_objects=meshes,
                                       selected_editable_objects=meshes):
            bpy.ops.object.join()
    target.name = name
    target.data.name = name
    return target


def _vertex_colour_material(mesh, name):
    """A material showing a PLY's vertex colours (importers bring the colours, not a material)."""
    layers = compat.colour_attribute_names(mesh)
    if not layers:
        return None
    mat = bpy.data.materials.new(name)
    tree = compat.node_tree(mat)
    bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    col = tree.nodes.new("ShaderNodeVertexColor")
    col.layer_name = layers[0]
    tree.links.new(col.outputs["Color"], compat.find_input(bsdf, compat.PRINCIPLED["base_color"]))
    compat.set_input(bsdf, compat.PRINCIPLED["roughness"], 0.6)
    return mat


def build_file_object(geom, name, collection=None, materials=True):
    """The object of a file geometry (geom.file, geom.file_to_object): the imported file, with its
    own materials when geom.material_source is "file", else geom's procedural material."""
    from hopgen.blender.object_materials import build_material
    obj = import_merged(geom.file, name)
    mesh = obj.data
    mesh.transform(Matrix(np.asarray(geom.file_to_object, np.float64).tolist()))
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(-1, 3)
    used = np.asarray(geom.vertices)[np.unique(np.asarray(geom.faces))]
    size = float(np.ptp(used, axis=0).max())
    off = max(np.abs(co.min(0) - used.min(0)).max(), np.abs(co.max(0) - used.max(0)).max()) if len(co) else np.inf
    if off > PLACEMENT_TOLERANCE * size:
        _remove([obj])
        raise ObjectImportError(f"object {geom.name}: {geom.file}: Blender's importer puts the mesh "
                                f"{off * 1000:.1f} mm away from where hopgen's reader has it (axes or units differ)")
    if geom.material_source != "file" or not materials:
        mesh.materials.clear()
        if materials:
            mesh.materials.append(build_material(geom.materials[0], f"{name}_0_{geom.materials[0]['kind']}"))
        for p in mesh.polygons:
            p.material_index = 0
    elif not any(m is not None for m in mesh.materials):
        mat = _vertex_colour_material(mesh, f"{name}_vertex_colours")
        if mat is not None:
            mesh.materials.append(mat)
    if collection is not None:
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        collection.objects.link(obj)
    elif obj.name not in bpy.context.scene.collection.all_objects:
        bpy.context.scene.collection.objects.link(obj)
    obj["hop_object"] = geom.name
    obj["hop_category"] = geom.category
    return obj


def _used_images(mesh):
    """External image files the mesh's materials read (packed images travel inside the file)."""
    files = set()
    for mat in mesh.materials:
        tree = mat.node_tree if mat is not None else None
        for node in (tree.nodes if tree is not None else ()):
            img = node.image if node.bl_idname == "ShaderNodeTexImage" else None
            if img is not None and img.source == "FILE" and img.packed_file is None:
                files.add(os.path.normpath(bpy.path.abspath(img.filepath)))
    return sorted(files)


def extract_triangles(path, cache_dir, sha256):
    """Write the triangles of ``path`` (file coordinates as imported, world transforms applied)
    and a JSON report (materials, images, Blender version) into ``cache_dir``, atomically; the
    JSON is written last, so its presence means the entry is complete."""
    from hopgen.assets.object_files import cache_paths
    from hopgen.core.atomic import atomic_write_bytes, atomic_write_json
    from hopgen.core.meshfiles import ply_bytes
    ply, report = cache_paths(cache_dir, sha256)
    obj = import_merged(path, "hop_extract")
    try:
        mesh = obj.data
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
        mesh.calc_loop_triangles()
        tri = np.empty(len(mesh.loop_triangles) * 3, np.int64)
        mesh.loop_triangles.foreach_get("vertices", tri)
        info = {"file": os.path.basename(path), "sha256": sha256, "blender": ".".join(map(str, compat.blender_version())),
                "materials": sum(m is not None for m in mesh.materials) + (0 if any(mesh.materials) else
                                                                            len(compat.colour_attribute_names(mesh))),
                "images": _used_images(mesh), "triangles": len(tri) // 3}
    finally:
        _remove([obj])
    os.makedirs(cache_dir, exist_ok=True)
    atomic_write_bytes(ply, ply_bytes(co.reshape(-1, 3), tri.reshape(-1, 3)))
    atomic_write_json(report, info)
    return info


def ensure_extracted(manifest, cache_dir):
    """Extract every .fbx/.blend object of ``manifest`` missing from ``cache_dir``; returns how
    many were extracted. Safe with several workers at once (each write is atomic, same content)."""
    from hopgen.assets.object_entries import sha256_file
    from hopgen.assets.object_files import cache_paths
    done = 0
    for entry in manifest.objects:
        if not entry.needs_blender_geometry:
            continue
        sha = entry.sha256 or sha256_file(entry.file)
        ply, report = cache_paths(cache_dir, sha)
        if os.path.isfile(ply) and os.path.isfile(report):
            continue
        try:
            extract_triangles(entry.file, cache_dir, sha)
        except (RuntimeError, OSError, ObjectImportError) as e:
            raise ObjectImportError(f"object {entry.name}: {entry.file}: Blender cannot import it "
                                    f"({str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__})") from None
        done += 1
    return done
