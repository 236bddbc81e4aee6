"""A MakeHuman body as a labelled Blender mesh; all maths lives in hopgen.avatars.makehuman.

Usage (render side)::

    data = mh.load_makehuman(folder)
    full = mh.subject_vertices(data, subject)                     # (V, 3) morphed, rest pose
    joints = mh.joint_positions(data, full)
    rest = mh.bone_rest_matrices(data, joints)
    obj = build_body(data, full, side="right", material=skin_material(subject["skin_rgb"]))
    posed = mh.pose_bones(data, rest, {"finger2-1.R": rot, ...})
    set_body_vertices(obj, data, mh.skin_vertices(mh.render_vertices(data, full), data.weights,
                                                  mh.skinning_matrices(rest, posed)))

The mesh is the fan triangulation of the render faces (MakeHumanData.triangles), so vertex i of
the object is render vertex i and triangle t carries the seg label of render face
``data.triangle_face[t]`` in the INT FACE attribute "hop_label" (hopgen.blender.scene).
"""

import numpy as np

from hopgen.avatars import makehuman as mh
from hopgen.blender import compat, scene


def _render_vertices(data, vertices):
    """(R, 3) render vertices from a full (V, 3) or already-render (R, 3) array."""
    v = np.asarray(vertices, np.float64)
    if v.ndim == 2 and len(v) == len(data.vertices) and len(v) != len(data.render_vertex_ids):
        return mh.render_vertices(data, v)
    if v.ndim == 2 and len(v) == len(data.render_vertex_ids):
        return v
    raise scene.SceneError(f"makehuman body: vertices of shape {v.shape}; expected ({len(data.vertices)}, 3) "
                           f"full or ({len(data.render_vertex_ids)}, 3) render vertices")


def build_body(data, vertices, side, name="makehuman_body", material=None, collection=None, smooth=True):
    """Create the body mesh object (world coordinates = vertices) labelled for the hand on ``side``.

    data: MakeHumanData; vertices: full (V, 3) or render (R, 3) positions in metres;
    side: 'left' | 'right' (that hand gets palm/phalanx labels, everything else arm/body).
    """
    labels = mh.face_labels(data, side)[data.triangle_face]  # (Tr,)
    return scene.add_mesh_object(name, _render_vertices(data, vertices), data.triangles, face_labels=labels,
                                 materials=[material] if material is not None else None, smooth=smooth,
                                 collection=collection)


def set_body_vertices(obj, data, vertices):
    """Move the body's vertices (full or render array, e.g. skinned per frame)."""
    scene.update_vertices(obj, _render_vertices(data, vertices))


def skin_material(rgb, name="makehuman_skin", roughness=0.5, subsurface=0.1):
    """A simple Principled skin: base colour ``rgb`` (linear), a little subsurface scattering."""
    import bpy

    mat = bpy.data.materials.new(name)
    tree = compat.node_tree(mat)
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    compat.set_input(bsdf, "base_color", tuple(float(c) for c in rgb))
    compat.set_input(bsdf, "roughness", float(roughness))
    compat.set_input(bsdf, "subsurface", float(subsurface))
    # Mean free paths of skin in metres (red scatters furthest); scale 1 makes 4.0+ read them as
    # absolute like 3.x does.
    compat.set_input(bsdf, "subsurface_radius", (0.0037, 0.0014, 0.0007))
    compat.set_input(bsdf, "subsurface_scale", 1.0)
    compat.set_input(bsdf, "subsurface_color", tuple(float(c) for c in rgb))  # 3.x only
    return mat
