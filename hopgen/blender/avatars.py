"""Rigged avatars (MakeHuman bodies, rigged hand files) as labelled Blender meshes.

The episode (hopgen.episode.body.BodyEpisodeScene) already holds every frame's skinned vertices; here
the rig's triangles become two objects sharing those vertices: ``hop_hand`` (palm + fingers of the
grasping side: the amodal hand mask) and ``hop_body`` (everything else, seg label arm/body),
dressed by appearance region: skin from the subject's tone, a top, trousers and shoes as drawn
in the episode's looks (hopgen.episode.appearance); a long sleeve covers the upper forearms when the
plan asks for one.
"""

import numpy as np

from hopgen.avatars import rig as rg
from hopgen.core.skeleton import SEG_ARM
from hopgen.blender import materials, scene as hscene
from hopgen.blender import rigged  # noqa: F401  (registers the rigged-file reader)


class BodyAvatar:
    """The two mesh objects of a rigged avatar; ``pose(state)`` moves them to a frame."""

    def __init__(self, scene_data, ep):
        r, labels = scene_data.rig, np.asarray(scene_data.labels)
        tris = np.asarray(r.triangles)
        v0 = scene_data.frames[0].vertices
        skin = materials.skin_material("hop_skin", scene_data.skin_rgb)
        is_hand = labels != SEG_ARM
        self.hand = hscene.add_mesh_object("hop_hand", v0, tris[is_hand], labels[is_hand], materials=[skin])
        region = np.zeros(len(tris), np.int64) if r.region is None else np.asarray(r.region, np.int64).copy()
        if ep.sleeve and r.sleeve is not None:
            region[np.asarray(r.sleeve) & ~is_hand] = rg.REGION_TOP
        clothes = scene_data.looks.clothes
        mats = [skin] + [materials.cloth_material(f"hop_{piece}", clothes[piece]) for piece in ("top", "bottom", "shoes")]
        rest = ~is_hand
        if scene_data.shown is not None:  # avatar.body false: only the grasping hand and forearm
            rest &= np.asarray(scene_data.shown)
        self.body = None
        if rest.any():
            self.body = hscene.add_mesh_object("hop_body", v0, tris[rest], SEG_ARM, materials=mats,
                                               face_material=region[rest])

    def pose(self, state):
        hscene.update_vertices(self.hand, state.vertices)
        if self.body is not None:
            hscene.update_vertices(self.body, state.vertices)
