"""Render the samples of one planned episode into a HOP folder (inside Blender).

The episode is built once in pure code (hopgen.episode.build: avatar, object, grasp, animated frames);
here it becomes a Cycles scene, and each sample is one frame x camera: a beauty render plus one
exact annotation render (labels, depth, amodal hand/object masks; hopgen.blender.passes).
"""

import os

import numpy as np

import bpy
from mathutils import Matrix

from hopgen.core import camera as cam
from hopgen.core.skeleton import SEG_ARM, SEG_OBJECT
from hopgen.dataset.hopformat import check_rendered_rgb, sample_id
from hopgen.dataset.visibility import compute_visibility, seg_for_file
from hopgen.episode.build import build_episode
from hopgen.episode.skin import FLUSH_ATTRIBUTE, PALMAR_ATTRIBUTE, hand_skin_maps, subject_skin
from hopgen.episode.effects import apply_effects
from hopgen.episode import motion
from hopgen.episode.scene import annotation_core
from hopgen.blender import compat, materials, scene as hscene, world
from hopgen.blender.avatars import BodyAvatar  # imports hopgen.blender.rigged: registers the rigged-file reader
from hopgen.blender.hand import CREASE_ATTRIBUTE, build_hand_object
from hopgen.blender.skin import detailed_skin_material
from hopgen.blender.objects import build_object_object
from hopgen.blender.passes import read_rgb_png, render_annotations, render_rgb
from hopgen.blender.wear import WornPieces

def _split_hand(mesh):
    """Face indices of the hand proper (palm + fingers) and of the arm: separate objects, so the
    amodal hand mask covers palm and fingers only."""
    labels = np.asarray(mesh.face_labels)
    return np.nonzero(labels != SEG_ARM)[0], np.nonzero(labels == SEG_ARM)[0]


def read_beauty(sid, path, width, height):
    """(H,W,3) uint8 of the beauty PNG Blender wrote for sample `sid`, checked complete first."""
    check_rendered_rgb(sid, path, width, height)
    return read_rgb_png(path, width, height)


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
        looks = scene_data.looks  # every random appearance choice, drawn in pure code
        self.body_avatar = None
        self.worn = None
        if scene_data.rigged:  # MakeHuman body / rigged file (hopgen.blender.avatars)
            self.body_avatar = BodyAvatar(scene_data, ep, subject_skin(cfg, scene_data))
            self.hand, self.arm = self.body_avatar.hand, self.body_avatar.body  # posed by BodyAvatar.pose
            if scene_data.wear_meshes:  # wrist accessories, fitted to the rig's rest skin
                self.worn = WornPieces(scene_data.wear, scene_data.wear_meshes, scene_data.rig.vertices)
        else:
            self._add_hand(scene_data, looks)
        self.obj = build_object_object(scene_data.object_geom, "hop_object")
        compat.set_face_int_attribute(self.obj.data, hscene.LABEL_ATTRIBUTE,
                                      np.full(len(self.obj.data.polygons), SEG_OBJECT, np.int32))
        # Lighting: two point lamps around the hand as in the paper, plus an HDRI environment.
        centre = scene_data.frames[0].joints.mean(0)
        for k, lamp in enumerate(ep.lights):
            az, el, d = lamp.azimuth, lamp.elevation, lamp.distance
            loc = centre + d * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            colour = world.blackbody_rgb(lamp.colour_temperature_k) if lamp.colour_temperature_k is not None else (1.0,) * 3
            hscene.add_point_lamp(tuple(loc), power_w=lamp.power_w, radius=0.05, colour=colour, name=f"hop_lamp{k}")
        hdris = world.list_studio_hdris()
        if ep.hdri.use and hdris:
            world.set_hdri_world(hdris[ep.hdri.index % len(hdris)], ep.hdri.rotation, ep.hdri.strength)
        else:
            world.set_colour_world(looks.world_colour, strength=1.0)
        if looks.backdrop is not None:
            world.add_backdrop(looks.backdrop)
        for k, params in enumerate(looks.distractors):
            world.add_distractor(params, name=f"hop_distractor{k}")
        self.render_info["subsurface"] = compat.set_subsurface_methods(bpy.data.materials, r.subsurface)
        self.backplate = None
        self._posed_frame = None
        self._keyed = []  # (object, its pose at the frame) while animated for motion blur

    def _add_hand(self, scene_data, looks):
        """The procedural hand as two objects of one builder (hopgen.blender.hand, the preview's too):
        ``hop_hand`` (palm + fingers: the amodal hand mask) and ``hop_arm``, plus what the arm wears."""
        subj, mesh = scene_data.subject, scene_data.hand_mesh
        maps = hand_skin_maps(mesh, scene_data.shape)  # palm side, redness, veins, wrinkles, rest coordinates
        detail = subject_skin(self.cfg, scene_data)
        if detail is not None:
            skin = detailed_skin_material("hop_skin", subj.skin_rgb, detail, crease_attribute=CREASE_ATTRIBUTE)
        else:
            skin = materials.skin_material("hop_skin", subj.skin_rgb, crease_attribute=CREASE_ATTRIBUTE,
                                           palmar_attribute=PALMAR_ATTRIBUTE, flush_attribute=FLUSH_ATTRIBUTE)
        nail = materials.nail_material("hop_nail", subj.skin_rgb, gloss=getattr(subj, "nail_gloss", 0.6))
        hand_f, arm_f = _split_hand(mesh)
        self.hand = build_hand_object(mesh, "hop_hand", skin, nail, faces=hand_f, point_attributes=maps)
        self.arm = build_hand_object(mesh, "hop_arm", skin, nail, faces=arm_f, point_attributes=maps) if len(arm_f) else None
        # The sleeve (a fitted tube with folds) and wrist accessories: hopgen.episode.wear_geometry.
        self.worn = WornPieces(scene_data.wear, scene_data.wear_meshes, mesh.rest_vertices) \
            if scene_data.wear_meshes else None

    def _pose(self, state):
        if self.body_avatar is not None:  # clothes stand off the skin (hopgen.blender.avatars)
            self.body_avatar.pose(state)
        else:
            hscene.update_vertices(self.hand, state.vertices)
            if self.arm is not None:
                hscene.update_vertices(self.arm, state.vertices)
        if self.worn is not None:
            self.worn.pose(state.vertices)
        self.obj.matrix_world = Matrix(np.asarray(state.object_to_world).tolist())

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
        state = scene_data.frame_state(sample.frame)
        self._still()
        if self._posed_frame != state.frame:
            self._pose(state)
            self._posed_frame = state.frame
        K, w2c = scene_data.place_camera(self.cfg, sample, state, W, H)
        dof = None
        if backplate and sample.effects is not None:  # depth of field in the beauty pass only
            pts = state.hand_points if state.hand_points is not None else state.vertices
            focus = float(np.median(cam.transform(w2c, pts)[:, 2]))
            dof = (focus, sample.effects.fstop)
        hscene.set_camera(K, W, H, w2c, dof=dof)
        if backplate and ep.background.kind == "photo":
            if self.backplate is not None:
                bpy.data.objects.remove(self.backplate, do_unlink=True)
            self.backplate = world.add_backplate(ep.background.photo, K, W, H, w2c, distance=4.0)
        if backplate:  # motion blur in the beauty pass only: the passes render the frame itself
            self._blur(state, motion.exposure(sample, state), K, w2c)
        bpy.context.scene.cycles.seed = int(sample.index)
        return state, K, w2c

    def _movers(self):
        """(object, "hand" | "object") of everything that moves with the hand or with the object."""
        out = [(o, "hand") for o in (self.hand, self.arm) if o is not None]
        out += [(o, "hand") for o, _ in (self.worn.items if self.worn is not None else ())]
        return out + [(self.obj, "object")]

    def _blur(self, state, exposure_s, K, w2c):
        """Animate the hand and the object over the exposure (hopgen.episode.motion) and switch
        Cycles motion blur on, or leave it off when the streak would be invisible."""
        scene = bpy.context.scene
        if motion.blurred_px(state, K, w2c, exposure_s) == 0.0:  # the annotation's motion_blur_px
            compat.set_motion_blur(scene, False)
            return
        deltas = motion.motion_keys(state, exposure_s)
        frame = scene.frame_current
        for obj, part in self._movers():
            now = np.array(obj.matrix_world)
            before, after = deltas[part]
            hscene.key_rigid_motion(obj, [before @ now, now, after @ now], frame - 1)
            self._keyed.append((obj, now))
        compat.set_motion_blur(scene, True, shutter_frames=1.0)  # keys at -/+ exposure: the shutter spans it

    def _still(self):
        """Undo _blur: every keyed object back at its frame pose, motion blur off."""
        for obj, pose in self._keyed:
            hscene.clear_rigid_motion(obj, pose)
        self._keyed = []
        compat.set_motion_blur(bpy.context.scene, False)

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
        for sample in ep.samples:
            if sample.index not in todo:
                continue
            try:
                state, K, w2c = self.prepare_sample(ep, scene_data, sample)
                anno = annotation_core(cfg, scene_data, sample, state, K, w2c, W, H)
                tmp = f"{self.tmp_rgb[:-4]}-{sample.index}.png"
                render_rgb(scene, tmp)
                pending.append((sample, anno, tmp))
            except Exception as e:  # logged with id and seed by the caller; the run goes on
                yield sample.index, e
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
                rgb = tmp
                if sample.effects is not None:  # the camera's effects touch the beauty image only
                    rgb = apply_effects(read_beauty(sample_id(sample.index), tmp, W, H), sample.effects)
                self.writer.write_sample(sample_id(sample.index), anno, rgb, passes["masks"]["hand"],
                                         obj_mask, seg_for_file(seg), depth)
                yield sample.index, None
            except Exception as e:
                yield sample.index, e
            finally:
                if os.path.exists(tmp):  # moved into place on success
                    os.remove(tmp)
