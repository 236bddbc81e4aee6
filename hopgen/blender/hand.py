"""Blender object for a procedural hand (hopgen.hand.handmesh.HandMesh): labels, materials, posing."""
import numpy as np

from hopgen.blender import materials, scene
from hopgen.blender.skin import set_point_attributes

CREASE_ATTRIBUTE = "hop_crease"  # POINT FLOAT attribute (0..1) read by the skin shader


def build_hand_object(mesh, name, skin_material=None, nail_material=None, subject=None, subsurf=False,
                      collection=None, faces=None, point_attributes=None):
    """Create the hand + forearm object from a HandMesh at its rest pose (the asset sheet, the
    preview and the dataset render all build hands here).

    faces: optional (F',) indices of the mesh faces to use (the dataset render makes the hand proper
    and the forearm separate objects); every vertex is kept, so set_hand_pose takes the full posed
    (V, 3) array. Faces carry the INT FACE attribute "hop_label" (mesh.face_labels) and material slots
    [skin, nail] (mesh.face_material).  Missing materials are made with
    hopgen.blender.materials from `subject` (a subjects.Subject; its skin/nail colours), or a
    neutral skin tone when no subject is given.  Smooth shading (the ~1.7 mm mesh needs no
    subdivision); point_attributes: {name: (V,) or (V, 3) float} extra POINT attributes (skin maps of
    hopgen.episode.skin.hand_skin_maps); with `subsurf`, a Subdivision Surface modifier (render level 1, viewport 0) --
    it costs ~20 s of Cycles sync per scene on 2 CPU cores, so it is off by default.  Vertex positions: set_hand_pose.
    """
    skin_rgb = tuple(subject.skin_rgb) if subject is not None else (0.6, 0.42, 0.33)
    if skin_material is None:
        skin_material = materials.skin_material(f"{name}_skin", skin_rgb, crease_attribute=CREASE_ATTRIBUTE)
    if nail_material is None:
        gloss = subject.nail_gloss if subject is not None else 0.6
        nail_material = materials.nail_material(f"{name}_nail", skin_rgb, gloss=gloss)
    sel = slice(None) if faces is None else np.asarray(faces)
    obj = scene.add_mesh_object(name, mesh.rest_vertices, np.asarray(mesh.faces)[sel],
                                face_labels=np.asarray(mesh.face_labels)[sel], materials=[skin_material, nail_material],
                                face_material=np.asarray(mesh.face_material)[sel], smooth=True, collection=collection)
    set_point_attributes(obj, {CREASE_ATTRIBUTE: mesh.crease, **(point_attributes or {})})
    if subsurf:
        mod = obj.modifiers.new("hop_subsurf", "SUBSURF")
        mod.levels, mod.render_levels = 0, 1
    obj["hop_subject"] = mesh.subject_id
    obj["hop_side"] = mesh.side
    return obj


def set_hand_pose(obj, vertices):
    """Move the hand object's vertices to posed positions (V,3) from handmesh.pose_vertices."""
    scene.update_vertices(obj, vertices)
