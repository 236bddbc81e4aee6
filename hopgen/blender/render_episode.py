"""Render the samples of one planned episode into a HOP folder (inside Blender).

The episode is built once in pure code (hopgen.episode.build: avatar, object, grasp, animated frames);
here it becomes a Cycles scene, and each sample is one frame x camera: a beauty render plus one
exact annotation render (labels, depth, amodal hand/object masks; hopgen.blender.passes).
"""

import os

import numpy as np

import bpy
from mathutils import Matrix

from hopgen.episode import appearance
from hopgen.core import camera as cam
from hopgen.episode.build import annotation_core, build_episode, place_camera
from hopgen.dataset.hopformat import sample_id
from hopgen.core.skeleton import SEG_ARM, SEG_OBJECT
from hopgen.dataset.visibility import compute_visibility
from hopgen.blender import compat, materials, scene as hscene, world
from hopgen.blender.passes import render_annotations, render_rgb

SLEEVE_START_M = 0.05
SLEEVE_OFFSET_M = 0.004


def _split_hand(mesh):
    """Face indices of the hand proper (palm + fingers) and of the arm: separate objects, so the
    amodal hand mask covers palm and fingers only."""
    labels = np.asarray(mesh.face_labels)
    return np.nonzero(labels != SEG_ARM)[0], np.nonzero(labels == SEG_ARM)[0]


def _vertex_normals(v, f):
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


class EpisodeRenderer:
    """Builds and renders episodes; one instance per Blender process."""

    def __init__(self, cfg, manifest, writer, threads=0):
        self.cfg, self.manifest, self.writer, self.threads = cfg, manifest, writer, threads
        from hopgen.core.atomic import TMP_PREFIX  # hopgen's own temporary names: cleaned on resume
        self.tmp_rgb = os.path.join(writer.root, f"{TMP_PREFIX}{os.getpid()}-rgb.png")
        from hopgen.config import config_digest
        self.config_digest = config_digest(cfg)

    def _setup(self, ep, scene_data):
        cfg = self.cfg
        hscene.reset_scene()
        scene = bpy.context.scene
        r = cfg.render
        self.render_info = hscene.configure_cycles(
            scene, samples=r.samples, adaptive_threshold=r.adaptive_threshold, denoise=r.denoise,
            max_bounces=r.max_bounces, threads=self.threads, device=r.device)
        self.render_info["view_transform"] = compat.set_view_transform(
            scene, "Filmic" if r.view_transform == "filmic" else "Standard")
        subj, mesh = scene_data.subject, scene_data.hand_mesh
        rng = np.random.default_rng([ep["appearance_seed"], 0])
        skin = materials.skin_material("hop_skin", subj.skin_rgb)
        nail = materials.nail_material("hop_nail", subj.skin_rgb, gloss=getattr(subj, "nail_gloss", 0.6))
        if getattr(scene_data, "rig", None) is not None:  # MakeHuman body / rigged file (hopgen.blender.avatars)
            from hopgen.blender.avatars import BodyAvatar
            body = BodyAvatar(scene_data, ep, rng)
            self.hand, self.arm, self.sleeve = body.hand, body.body, None  # both posed from state.vertices
        else:
            hand_f, arm_f = _split_hand(mesh)
            v0 = scene_data.frames[0].vertices
            faces = np.asarray(mesh.faces)
            fmat = np.asarray(mesh.face_material)
            self.hand = hscene.add_mesh_object("hop_hand", v0, faces[hand_f], np.asarray(mesh.face_labels)[hand_f],
                                               materials=[skin, nail], face_material=fmat[hand_f])
            self.arm = hscene.add_mesh_object("hop_arm", v0, faces[arm_f], SEG_ARM, materials=[skin]) if len(arm_f) else None
            self.sleeve = None
            if ep["sleeve"] and len(arm_f):
                # Sleeve: arm faces beyond SLEEVE_START_M from the wrist (rest pose, hand frame: forearm along -y).
                rest = np.asarray(mesh.rest_vertices)
                along = -rest[:, 1]
                sel = arm_f[along[faces[arm_f]].min(1) > SLEEVE_START_M]
                if len(sel):
                    used, inv = np.unique(faces[sel], return_inverse=True)
                    self.sleeve_used = used
                    cloth = materials.cloth_material("hop_sleeve", appearance.cloth_params(rng))
                    self.sleeve = hscene.add_mesh_object("hop_sleeve", v0[used], inv.reshape(-1, 3), SEG_ARM, materials=[cloth])
        from hopgen.blender.objects import build_object_object
        self.obj = build_object_object(scene_data.object_geom, "hop_object")
        compat.set_face_int_attribute(self.obj.data, hscene.LABEL_ATTRIBUTE,
                                      np.full(len(self.obj.data.polygons), SEG_OBJECT, np.int32))
        # Lighting: two point lamps around the hand as in the paper, plus an HDRI environment.
        centre = scene_data.frames[0].joints.mean(0)
        for k, lamp in enumerate(ep["lights"]):
            az, el, d = lamp["azimuth"], lamp["elevation"], lamp["distance"]
            loc = centre + d * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            colour = world.blackbody_rgb(lamp["colour_temperature_k"]) if "colour_temperature_k" in lamp else (1.0,) * 3
            hscene.add_point_lamp(tuple(loc), power_w=lamp["power_w"], radius=0.05, colour=colour, name=f"hop_lamp{k}")
        hdris = world.list_studio_hdris()
        if ep["hdri"]["use"] and hdris:
            world.set_hdri_world(hdris[ep["hdri"]["index"] % len(hdris)], ep["hdri"]["rotation"], ep["hdri"]["strength"])
        else:
            world.set_colour_world(tuple(float(x) for x in rng.uniform(0.02, 0.3, 3)), strength=1.0)
        bg_rng = np.random.default_rng([ep["background"]["seed"], 0])
        lowest = min(min(f.vertices[:, 2].min(), f.joints[:, 2].min()) for f in scene_data.frames)
        if ep["background"]["kind"] == "backdrop":
            world.add_backdrop(appearance.backdrop_params(bg_rng, lowest - bg_rng.uniform(0.05, 0.3)))
        for k in range(ep["distractors"]):
            world.add_distractor(appearance.distractor_params(bg_rng, centre, 0.25, k), name=f"hop_distractor{k}")
        self.render_info["subsurface"] = compat.set_subsurface_methods(bpy.data.materials, r.subsurface)
        self.backplate = None
        self._posed_frame = None

    def _pose(self, state):
        self.hscene_update(self.hand, state.vertices)
        if self.arm is not None:
            self.hscene_update(self.arm, state.vertices)
        if self.sleeve is not None:
            faces = np.asarray(self._mesh.faces)
            vn = _vertex_normals(state.vertices, faces)
            u = self.sleeve_used
            self.hscene_update(self.sleeve, state.vertices[u] + SLEEVE_OFFSET_M * vn[u])
        self.obj.matrix_world = Matrix(np.asarray(state.object_to_world).tolist())

    @staticmethod
    def hscene_update(obj, verts):
        hscene.update_vertices(obj, verts)

    def build_scene(self, ep):
        """Build episode `ep` (pure: avatar, object, grasp, frames) and its Blender scene; returns the
        EpisodeScene."""
        scene_data = build_episode(self.cfg, self.manifest, ep)
        self._mesh = scene_data.hand_mesh
        self._setup(ep, scene_data)
        return scene_data

    def prepare_sample(self, ep, scene_data, sample, backplate=True):
        """Pose the episode's scene for `sample` (frame, camera, photo backplate, Cycles seed);
        returns (FrameState, K (3,3), world_to_camera (4,4)). The meshes are only updated when the
        frame changes: an update makes Cycles rebuild their BVH, which views of a frame can share."""
        W, H = self.cfg.dataset.width, self.cfg.dataset.height
        state = next(f for f in scene_data.frames if f.frame == sample["frame"])
        if self._posed_frame != state.frame:
            self._pose(state)
            self._posed_frame = state.frame
        K, w2c = getattr(scene_data, "place_camera", place_camera)(self.cfg, sample, state, W, H)
        hscene.set_camera(K, W, H, w2c)
        if backplate and ep["background"]["kind"] == "photo":
            if self.backplate is not None:
                bpy.data.objects.remove(self.backplate, do_unlink=True)
            self.backplate = world.add_backplate(ep["background"]["photo"], K, W, H, w2c, distance=4.0)
        bpy.context.scene.cycles.seed = int(sample["index"])
        return state, K, w2c

    def render_episode(self, ep, todo):
        """Render the samples of episode spec `ep` whose index is in `todo`; yields (index, error).

        All beauty renders of the episode come first, then all annotation renders: rendering any
        other scene (or other settings) in between makes Cycles drop its persistent data, and the
        next beauty render would sync the whole scene again (~1.3 CPU-s at 320x320, measured with
        benchmarks/bench_render.py). A sample is written only after both, annotation last.
        """
        cfg = self.cfg
        scene_data = self.build_scene(ep)
        scene = bpy.context.scene
        W, H = cfg.dataset.width, cfg.dataset.height
        pending = []
        for sample in ep["samples"]:
            if sample["index"] not in todo:
                continue
            try:
                state, K, w2c = self.prepare_sample(ep, scene_data, sample)
                anno = annotation_core(cfg, scene_data, sample, state, K, w2c, W, H)
                tmp = f"{self.tmp_rgb[:-4]}-{sample['index']}.png"
                render_rgb(scene, tmp)
                pending.append((sample, anno, tmp))
            except Exception as e:  # logged with id and seed by the caller; the run goes on
                yield sample["index"], e
        for sample, anno, tmp in pending:
            try:
                self.prepare_sample(ep, scene_data, sample, backplate=False)  # backplates are not in passes
                passes = render_annotations(scene, groups={"hand": [self.hand], "object": [self.obj]})
                seg = passes["labels"]
                anno["hand"]["visibility"] = compute_visibility(np.asarray(anno["hand"]["uv"]), seg).tolist()
                obj_mask = passes["masks"]["object"]
                anno["object"]["visible_fraction"] = float((seg == SEG_OBJECT).sum() / max(int(obj_mask.sum()), 1))
                anno["render"].update(self.render_info)
                anno["render"]["config_digest"] = self.config_digest
                depth = None
                if cfg.dataset.depth:
                    depth = np.clip(np.rint(passes["depth"] * 1000.0), 0, 65535).astype(np.uint16)
                self.writer.write_sample(sample_id(sample["index"]), anno, tmp, passes["masks"]["hand"],
                                         obj_mask, seg, depth)
                yield sample["index"], None
            except Exception as e:
                yield sample["index"], e
            finally:
                if os.path.exists(tmp):  # moved into place on success
                    os.remove(tmp)
