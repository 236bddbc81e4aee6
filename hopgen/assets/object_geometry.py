"""The geometry of a manifest object entry (pure): a procedural generator's mesh, or an object file
read by hopgen's readers, centred for grasping, with what the renderer needs to show the file
itself. The episode builders (hopgen.episode), `assets list` and the asset sheet all use this."""

import numpy as np


def load_object_geometry(entry, seed):
    """Geometry of a manifest object entry: a procedural generator or a mesh file."""
    if entry.source == "procedural":
        from hopgen.objects import build_object, sample_object_params
        params = sample_object_params(entry.generator, np.random.default_rng(seed), ranges=entry.ranges or None)
        return build_object(params)
    return load_file_object(entry)


_MATERIAL_FOR_FILES = {"kind": "plastic", "color": [0.55, 0.55, 0.58], "roughness": 0.45}


def load_file_object(entry):
    """A manifest object file as ObjectGeometry: scaled to metres, centred at its bounding box, checked
    graspable (UngraspableObjectError names the object and the reason). Grasp synthesis then uses
    the triangle-mesh signed distance, signed by the winding number when the mesh is open. Every
    accepted format is read here (.fbx/.blend through the triangles Blender extracted).

    ``geom.file_to_object`` (4, 4) maps the file's coordinates (as its importer brings them into
    Blender) into the object frame, so the renderer can show the file itself, with its own materials
    when ``geom.material_source`` is "file"."""
    from hopgen.core.graspable import check_graspable, normalise_for_grasp
    from hopgen.core.meshfiles import MeshFileError, load_mesh
    from hopgen.objects.registry import ObjectGeometry
    try:
        vertices, faces = load_mesh(entry.file, scale=entry.scale, extracted=entry.extracted)
    except MeshFileError as e:
        raise MeshFileError(f"object {entry.name}: {e}") from None
    check_graspable(entry.name, vertices, faces)
    frame = normalise_for_grasp(vertices, faces)
    v = frame.vertices
    f = np.asarray(faces, np.int32)
    geom = ObjectGeometry(name=entry.name, category=entry.category, vertices=v, faces=f,
                          face_material=np.zeros(len(f), np.int32), materials=[dict(_MATERIAL_FOR_FILES)],
                          vertex_part=np.zeros(len(v), np.int32))
    geom.source = "file"
    geom.file = entry.file
    geom.material_source = entry.material
    geom.file_to_object = np.diag([entry.scale] * 3 + [1.0])
    geom.file_to_object[:3, 3] = -frame.centre
    if entry.closed is False:
        geom.sign_method = "winding"  # open mesh: pseudo-normals cannot tell inside at its holes
    return geom
