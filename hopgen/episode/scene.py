"""What both episode builders share (pure): the episode's frames and scene, the camera placed
around the hand, the object geometry of a manifest entry, the grasp set-up, and the pixel-free
annotation fields. The procedural builder (hopgen.episode.procedural) and the rigged-avatar builder
(hopgen.episode.body) import from here; hopgen.episode.build only dispatches between them.
"""

import math
from dataclasses import dataclass, field
from typing import List

import numpy as np

from hopgen.core import camera as cam
from hopgen.core.skeleton import CATEGORIES
from hopgen.assets.object_geometry import load_file_object, load_object_geometry  # noqa: F401 (builders use them)
from hopgen.episode.framing import place_in_scene

GRASP_ANIMATION_STREAM = 1  # default_rng([grasp_seed, 1]): the approach -> grasp -> hold animation


@dataclass
class FrameState:
    """One animation frame in world coordinates (metres)."""
    frame: int
    phase: str
    angles: np.ndarray          # (NUM_DOF,) joint angles
    hand_to_world: np.ndarray   # (4,4)
    object_to_world: np.ndarray  # (4,4)
    joints: np.ndarray          # (21,3) joint centres, world
    vertices: np.ndarray        # (V,3) posed skin, world
    hand_points: np.ndarray = None  # (H,3) skin of palm + fingers (not the forearm), world: for framing
    arm_end: np.ndarray = None      # (3,) far end of a bodiless forearm, world (None: the arm joins a body)
    hand_rate: np.ndarray = None    # (4,4) d hand_to_world / dt per second (None: no motion blur)
    object_rate: np.ndarray = None  # (4,4) d object_to_world / dt per second


@dataclass
class EpisodeScene:
    spec: dict
    subject: object
    shape: object
    hand_mesh: object
    object_geom: object
    grasp: object
    frames: List[FrameState] = field(default_factory=list)
    looks: object = None        # appearance.EpisodeLooks: every random appearance choice
    sleeve_faces: np.ndarray = None  # (S,) hand_mesh faces under the sleeve (procedural hands; empty: no sleeve)
    camera_records: dict = field(default_factory=dict)  # sample index -> framing.place_in_scene record
    wear: object = None         # wear.Wear: accessories and the sleeve's look (None: nothing drawn)
    wear_meshes: list = field(default_factory=list)  # wear_geometry.WearMesh pieces built at rest

    #: a rigged avatar (hopgen.episode.body.BodyEpisodeScene) carries a skinned rig instead of a hand mesh
    rigged = False

    def frame_state(self, frame):
        """The FrameState of animation frame ``frame`` (KeyError when the episode did not build it)."""
        for f in self.frames:
            if f.frame == frame:
                return f
        raise KeyError(frame)

    def place_camera(self, cfg, sample, state, width, height):
        """(K, world_to_camera) of one sample: the planned viewpoint framed around the hand, turned
        until it respects the arm and the surroundings (hopgen.episode.framing); the record of what
        was done goes to camera_records for the annotation."""
        K, w2c, record = place_in_scene(cfg, sample, state, width, height, self.looks, place_camera)
        self.camera_records[sample.index] = record
        return K, w2c


def episode_grasp(cfg, spec, subject, side, geom):
    """(grasp, per-frame states) of an episode: the grasp synthesised for ``subject``'s kinematic hand
    from ``default_rng(grasp_seed)`` and animated over the episode's frames from
    ``default_rng([grasp_seed, GRASP_ANIMATION_STREAM])``. Both episode builders use this one set-up."""
    from hopgen.grasp import grasp_episode
    from hopgen.physics.library import planned_grasp  # grasp.require_physics: library or hold test
    type_probs = cfg.grasp.type_probabilities.get(spec.category) if cfg.grasp.type_probabilities else None
    grasp = planned_grasp(cfg, spec, subject, geom, type_probs)
    states = grasp_episode(grasp, np.random.default_rng([spec.grasp_seed, GRASP_ANIMATION_STREAM]),
                           cfg.dataset.frames_per_episode, phases=tuple(cfg.grasp.phases))
    return grasp, states


def needed_frames(spec):
    """Sorted animation frames that the episode's samples show."""
    return spec.sample_frames()


def place_camera(cfg, sample, state, width, height):
    """K and world_to_camera for one sample: viewpoint from the plan, framed so the hand stays in view.

    third_person: on a sphere around the hand centre (azimuth, elevation, distance); egocentric: from
    behind and above the forearm, looking over the wrist at the hand. The focal length is reduced
    when needed so the whole hand (skin vertices) fits inside the margins, and the principal point
    is shifted by the planned jitter as far as the margins allow.
    """
    c = sample.camera
    pts = state.hand_points if state.hand_points is not None else state.vertices
    target = 0.5 * (pts.min(0) + pts.max(0))
    d = c.distance
    if c.rig == "egocentric":
        forearm = cam.transform(state.hand_to_world, [[0.0, -1.0, 0.0]])[0] - state.hand_to_world[:3, 3]
        forearm /= np.linalg.norm(forearm)
        up = np.array([0.0, 0.0, 1.0])
        az = 0.35 * c.azimuth / math.pi  # small lateral offset
        side_dir = np.cross(forearm, up)
        side_dir /= max(np.linalg.norm(side_dir), 1e-9)
        direction = forearm * 0.8 + up * (0.6 + 0.4 * max(c.elevation, 0.0)) + side_dir * az
    else:
        el, az = c.elevation, c.azimuth
        direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    direction /= np.linalg.norm(direction)
    eye = target + d * direction
    up = (0.0, 0.0, 1.0) if abs(direction[2]) < 0.98 else (0.0, 1.0, 0.0)
    w2c = cam.look_at(eye, target, up=up, roll=c.roll)
    if np.any(cam.transform(w2c, state.vertices)[:, 2] <= 0.02):  # the forearm must not reach the camera either
        raise ValueError("camera inside or behind the hand/arm; planned distance too small")
    p = cam.transform(w2c, pts)
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]  # normalised image coordinates
    m = cfg.camera.margin
    f = c.focal_mm / cfg.camera.sensor_width_mm * width
    half_w, half_h = (0.5 - m) * width, (0.5 - m) * height
    extent_x = max(abs(x.min()), abs(x.max()))
    extent_y = max(abs(y.min()), abs(y.max()))
    if c.hand_share is not None:  # paper-like framing: the hand box is this share of the image
        box = max((x.max() - x.min()) / width, (y.max() - y.min()) / height)
        f = c.hand_share / max(box, 1e-9)
    f = min(f, half_w / max(extent_x, 1e-9), half_h / max(extent_y, 1e-9))
    # Jitter: shift the principal point, but keep every hand point inside the margins.
    u_lo, u_hi = f * x.min(), f * x.max()
    v_lo, v_hi = f * y.min(), f * y.max()
    cx0, cy0 = (width - 1) / 2.0, (height - 1) / 2.0
    sx = np.clip(c.jitter[0] * width, m * width - (cx0 + u_lo), (1 - m) * width - 1 - (cx0 + u_hi))
    sy = np.clip(c.jitter[1] * height, m * height - (cy0 + v_lo), (1 - m) * height - 1 - (cy0 + v_hi))
    K = cam.intrinsics(f, f, cx0 + float(sx), cy0 + float(sy))
    return K, w2c


def _effects_record(sample, state, K, w2c):
    """camera.effects of the annotation: the drawn CameraEffects and the hand's motion streak (px)."""
    from hopgen.episode import motion
    if sample.effects is None:
        return None
    return {**sample.effects.to_dict(),
            "motion_blur_px": motion.blurred_px(state, K, w2c, motion.exposure(sample, state))}


def annotation_core(cfg, scene, sample, state, K, w2c, width, height):
    """The annotation fields that need no pixels (visibility and visible_fraction come from the passes)."""
    from hopgen import __version__, FORMAT
    from hopgen.dataset.hopformat import sample_id
    from hopgen.hand.kinematics import angles_to_dict
    from hopgen.episode.skin import subject_skin
    xyz = cam.transform(w2c, state.joints)
    uv = cam.project(K, xyz)
    spec, subject, grasp = scene.spec, scene.subject, scene.grasp
    grasp_dict = grasp.to_dict() if hasattr(grasp, "to_dict") else dict(grasp)
    geom = scene.object_geom
    return {
        "id": sample_id(sample.index), "seed": sample.seed, "format": FORMAT, "episode": spec.episode,
        "camera": {"K": K.tolist(), "world_to_camera": w2c.tolist(), "width": width, "height": height,
                   "rig": sample.camera.rig, "placement": scene.camera_records.get(sample.index),
                   "effects": _effects_record(sample, state, K, w2c)},
        "hand": {"side": spec.side, "xyz": xyz.tolist(), "uv": uv.tolist(), "visibility": None,
                 "joint_angles": {k: float(v) for k, v in angles_to_dict(state.angles).items()},
                 "shape": scene.shape.to_dict() if hasattr(scene.shape, "to_dict") else {}},
        "object": {"name": spec.object, "category": spec.category, "category_id": CATEGORIES.index(spec.category),
                   "source": getattr(geom, "source", "procedural"), "type": getattr(geom, "name", spec.object),
                   "material": getattr(geom, "material_source", "procedural"),
                   "object_to_camera": (w2c @ state.object_to_world).tolist(), "visible_fraction": None},
        "grasp": {"type": grasp_dict.get("type"), "phase": state.phase, "frame": state.frame,
                  "contacts": grasp_dict.get("contacts", []),
                  "max_penetration_mm": grasp_dict.get("max_penetration_mm"),
                  "fingers_in_contact": grasp_dict.get("fingers_in_contact"),
                  # rigged avatars: the rendered skin's own depth in the object this frame (the
                  # grasp's figure above is the proxy hand's; hopgen.episode.body.push_out_of_object)
                  **({"avatar_penetration_mm": round(1000.0 * state.penetration_m, 3)}
                     if getattr(state, "penetration_m", None) is not None else {}),
                  **({"physics": grasp_dict["physics"]} if grasp_dict.get("physics") else {})},
        "subject": {"id": subject.id, "sex": subject.sex, "skin_tone": subject.fitzpatrick,
                    "hand_length_mm": subject.hand_length_mm, "avatar": spec.avatar_kind,
                    "skin": subject_skin(cfg, scene)},
        "scene": {"background": spec.background.kind, "background_fallback_from": spec.background.fallback_from,
                  "hdri": spec.hdri.to_dict(), "lights": [lamp.to_dict() for lamp in spec.lights],
                  "distractors": len(scene.looks.distractors) if scene.looks is not None else spec.distractors,
                  "sleeve": spec.sleeve, **(scene.looks.scene_record() if scene.looks is not None else {}),
                  **(scene.wear.record() if scene.wear is not None else {"accessories": [], "sleeve_look": None})},
        "render": {"generator_version": __version__},
    }
