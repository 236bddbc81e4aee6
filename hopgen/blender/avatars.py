"""Rigged avatars (MakeHuman bodies, rigged hand files) as labelled Blender meshes.

The episode (hopgen.episode.body.BodyEpisodeScene) already holds every frame's skinned vertices; here
the rig's triangles become two objects sharing those vertices: ``hop_hand`` (palm + fingers of the
grasping side: the amodal hand mask) and ``hop_body`` (everything else, seg label arm/body),
dressed by appearance region (scene_data.region: skin from the subject's tone with the skin maps
and detail of hopgen.episode.skin, a top, trousers and shoes from the episode's looks, hair and
eyebrows from the subject's hair colour). The clothes and hair stand off the skin by
scene_data.garment_offset along the posed normals (loose fit with folds); the hand never moves.
"""

import numpy as np

from hopgen.avatars import rig as rg
from hopgen.core.skeleton import SEG_ARM
from hopgen.core.meshgeom import vertex_normals
from hopgen.episode.skin import body_skin_maps
from hopgen.blender import compat, materials, scene as hscene
from hopgen.blender import rigged  # noqa: F401  (registers the rigged-file reader)
from hopgen.blender.skin import detailed_skin_material, set_point_attributes


def hair_material(name, params):
    """Hair: a dark fibrous albedo (stretched noise), fairly glossy, a little sheen."""
    mat, tree, out = materials._new_material(name)
    bsdf = materials._principled(tree, out)
    c = tuple(params["colour"])
    colour, height = materials.pattern(tree, "grain", c, tuple(min(1.0, 1.6 * x + 0.01) for x in c), 300.0)
    tree.links.new(colour, bsdf.inputs["Base Color"])
    compat.set_input(bsdf, "roughness", float(params["roughness"]))
    compat.set_input(bsdf, "sheen", 0.3)
    tree.links.new(materials._bump(tree, height, 0.3, 0.0005), bsdf.inputs["Normal"])
    return mat


def _cloth(name, params):
    return materials.cloth_material(name, {k: v for k, v in params.items() if k != "name"})


class BodyAvatar:
    """The two mesh objects of a rigged avatar; ``pose(state)`` moves them to a frame."""

    def __init__(self, scene_data, ep, skin_detail=None):
        r, labels = scene_data.rig, np.asarray(scene_data.labels)
        tris = np.asarray(r.triangles)
        self.tris = tris
        v0 = scene_data.frames[0].vertices
        maps = None
        if skin_detail is not None:
            maps = body_skin_maps(r.vertices, tris, {s: rg.hand_joints(r, r.rest, s) for s in r.sides()})
            skin = detailed_skin_material("hop_skin", scene_data.skin_rgb, skin_detail)
        else:
            skin = materials.skin_material("hop_skin", scene_data.skin_rgb)
        is_hand = labels != SEG_ARM
        self.hand = hscene.add_mesh_object("hop_hand", v0, tris[is_hand], labels[is_hand], materials=[skin])
        region = getattr(scene_data, "region", None)
        if region is None:  # rigs dressed before hopgen.episode.body.dress existed
            region = np.zeros(len(tris), np.int64) if r.region is None else np.asarray(r.region, np.int64).copy()
            if ep.sleeve and r.sleeve is not None:
                region[np.asarray(r.sleeve) & ~is_hand] = rg.REGION_TOP
        clothes = scene_data.looks.clothes
        mats = [skin] + [_cloth(f"hop_{piece}", clothes[piece]) for piece in ("top", "bottom", "shoes")]
        hair = getattr(scene_data, "hair", None)
        mats += [hair_material("hop_hair", hair)] * 2 if hair is not None else [skin, skin]
        rest = ~is_hand
        if scene_data.shown is not None:  # avatar.body false: only the grasping hand and forearm
            rest &= np.asarray(scene_data.shown)
        self.body = None
        if rest.any():
            self.body = hscene.add_mesh_object("hop_body", v0, tris[rest], SEG_ARM, materials=mats,
                                               face_material=np.asarray(region)[rest])
        self.offset = getattr(scene_data, "garment_offset", None)
        if self.offset is not None and not np.any(self.offset):
            self.offset = None
        if maps is not None:
            for obj in (self.hand, self.body):
                if obj is not None:
                    set_point_attributes(obj, maps)

    def pose(self, state):
        hscene.update_vertices(self.hand, state.vertices)
        if self.body is not None:
            v = state.vertices
            if self.offset is not None:  # clothes and hair stand off the posed skin
                v = v + self.offset[:, None] * vertex_normals(v, self.tris)
            hscene.update_vertices(self.body, v)
