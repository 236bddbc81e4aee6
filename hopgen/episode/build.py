"""Build an episode from its plan (pure): avatar, object geometry, synthesised grasp, animated
frames, and the camera of each sample. Blender only turns the result into pixels.

Everything is drawn from the generators seeded in the plan, so an episode (and every sample in it)
depends only on (config, manifest, seed, id).
"""

import math
from dataclasses import dataclass, field
from typing import List

import numpy as np

from hopgen.core import camera as cam
from hopgen.core.skeleton import CATEGORIES


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


@dataclass
class EpisodeScene:
    spec: dict
    subject: object
    shape: object
    hand_mesh: object
    object_geom: object
    grasp: object
    frames: List[FrameState] = field(default_factory=list)


def load_object_geometry(entry, seed):
    """Geometry of a manifest object entry: a procedural generator or a mesh file."""
    if entry.source == "procedural":
        from hopgen.objects import build_object, sample_object_params
        params = sample_object_params(entry.generator, np.random.default_rng(seed), ranges=entry.ranges or None)
        return build_object(params)
    return load_file_object(entry)


_MATERIAL_FOR_FILES = {"kind": "plastic", "color": [0.55, 0.55, 0.58], "roughness": 0.45}


def load_file_object(entry):
    """A manifest mesh file as ObjectGeometry: scaled to metres, centred at its bounding box, checked
    graspable (UngraspableObjectError names the object and the reason). Grasp synthesis then uses
    the triangle-mesh signed distance. .obj/.stl/.ply are read here; other formats need Blender."""
    from hopgen.core.meshgeom import MeshFileError, check_graspable, load_mesh, normalise_for_grasp
    from hopgen.objects.registry import ObjectGeometry
    if not entry.file.lower().endswith((".obj", ".stl", ".ply")):
        raise MeshFileError(f"object {entry.name}: {entry.file}: grasp synthesis reads .obj/.stl/.ply; "
                            "convert the mesh to one of those")
    vertices, faces = load_mesh(entry.file, scale=entry.scale)
    check_graspable(entry.name, vertices, faces)
    frame = normalise_for_grasp(vertices, faces)
    v = frame.vertices
    f = np.asarray(faces, np.int32)
    geom = ObjectGeometry(name=entry.name, category=entry.category, vertices=v, faces=f,
                          face_material=np.zeros(len(f), np.int32), materials=[dict(_MATERIAL_FOR_FILES)],
                          vertex_part=np.zeros(len(v), np.int32))
    geom.source = "file"
    return geom


def episode_subject(manifest, spec):
    """The hand subject of episode plan `spec`: a built-in subject, or a body avatar's proxy."""
    avatar = manifest.avatar(spec["avatar"])
    if avatar.kind == "procedural":
        from hopgen.hand.subjects import get_subject
        return get_subject(avatar.name)
    from hopgen.episode.body import body_subject
    return body_subject(avatar, spec["side"])[2]


def build_episode(cfg, manifest, spec):
    """Synthesise the grasp and animate the episode of plan `spec`."""
    from hopgen.grasp import grasp_episode
    from hopgen.hand.handmesh import build_hand_mesh, pose_vertices
    from hopgen.physics.library import episode_grasp
    from hopgen.hand.subjects import get_subject, subject_shape
    avatar = manifest.avatar(spec["avatar"])
    if avatar.kind != "procedural":  # MakeHuman bodies and rigged files: hopgen.episode.body
        from hopgen.episode.body import build_body_episode
        return build_body_episode(cfg, manifest, spec, avatar)
    subject = get_subject(avatar.name)
    shape = subject_shape(subject)
    side = spec["side"]
    mesh = build_hand_mesh(subject, side)
    geom = load_object_geometry(manifest.object(spec["object"]), spec["object_seed"])
    type_probs = cfg.grasp.type_probabilities.get(spec["category"]) if cfg.grasp.type_probabilities else None
    grasp = episode_grasp(cfg, spec, subject, geom, type_probs)
    n_frames = cfg.dataset.frames_per_episode
    states = grasp_episode(grasp, np.random.default_rng([spec["grasp_seed"], 1]), n_frames,
                           phases=tuple(cfg.grasp.phases))
    frames = []
    from hopgen.core.skeleton import SEG_ARM
    hand_faces = np.asarray(mesh.faces)[np.asarray(mesh.face_labels) != SEG_ARM]
    hand_vertex_ids = np.unique(hand_faces)
    needed = sorted({s["frame"] for s in spec["samples"]})
    for k in needed:
        st = states[k]
        from hopgen.hand.kinematics import forward_kinematics
        joints_hand, _ = forward_kinematics(shape, st.angles, side)
        verts_hand = pose_vertices(mesh, shape, st.angles, side)
        frames.append(FrameState(frame=k, phase=st.phase, angles=np.asarray(st.angles),
                                 hand_to_world=np.asarray(st.hand_to_world), object_to_world=np.asarray(st.object_to_world),
                                 joints=cam.transform(st.hand_to_world, joints_hand),
                                 vertices=cam.transform(st.hand_to_world, verts_hand),
                                 hand_points=cam.transform(st.hand_to_world, verts_hand[hand_vertex_ids])))
    return EpisodeScene(spec=spec, subject=subject, shape=shape, hand_mesh=mesh, object_geom=geom,
                        grasp=grasp, frames=frames)


def frame_state(scene, frame):
    for f in scene.frames:
        if f.frame == frame:
            return f
    raise KeyError(frame)


def place_camera(cfg, sample, state, width, height):
    """K and world_to_camera for one sample: viewpoint from the plan, framed so the hand stays in view.

    third_person: on a sphere around the hand centre (azimuth, elevation, distance); egocentric: from
    behind and above the forearm, looking over the wrist at the hand. The focal length is reduced
    when needed so the whole hand (skin vertices) fits inside the margins, and the principal point
    is shifted by the planned jitter as far as the margins allow.
    """
    c = sample["camera"]
    pts = state.hand_points if state.hand_points is not None else state.vertices
    target = 0.5 * (pts.min(0) + pts.max(0))
    d = c["distance"]
    if c["rig"] == "egocentric":
        forearm = cam.transform(state.hand_to_world, [[0.0, -1.0, 0.0]])[0] - state.hand_to_world[:3, 3]
        forearm /= np.linalg.norm(forearm)
        up = np.array([0.0, 0.0, 1.0])
        az = 0.35 * c["azimuth"] / math.pi  # small lateral offset
        side_dir = np.cross(forearm, up)
        side_dir /= max(np.linalg.norm(side_dir), 1e-9)
        direction = forearm * 0.8 + up * (0.6 + 0.4 * max(c["elevation"], 0.0)) + side_dir * az
    else:
        el, az = c["elevation"], c["azimuth"]
        direction = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    direction /= np.linalg.norm(direction)
    eye = target + d * direction
    up = (0.0, 0.0, 1.0) if abs(direction[2]) < 0.98 else (0.0, 1.0, 0.0)
    w2c = cam.look_at(eye, target, up=up, roll=c["roll"])
    if np.any(cam.transform(w2c, state.vertices)[:, 2] <= 0.02):  # the forearm must not reach the camera either
        raise ValueError("camera inside or behind the hand/arm; planned distance too small")
    p = cam.transform(w2c, pts)
    x, y = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]  # normalised image coordinates
    m = cfg.camera.margin
    f = c["focal_mm"] / cfg.camera.sensor_width_mm * width
    half_w, half_h = (0.5 - m) * width, (0.5 - m) * height
    extent_x = max(abs(x.min()), abs(x.max()))
    extent_y = max(abs(y.min()), abs(y.max()))
    f = min(f, half_w / max(extent_x, 1e-9), half_h / max(extent_y, 1e-9))
    # Jitter: shift the principal point, but keep every hand point inside the margins.
    u_lo, u_hi = f * x.min(), f * x.max()
    v_lo, v_hi = f * y.min(), f * y.max()
    cx0, cy0 = (width - 1) / 2.0, (height - 1) / 2.0
    sx = np.clip(c["jitter"][0] * width, m * width - (cx0 + u_lo), (1 - m) * width - 1 - (cx0 + u_hi))
    sy = np.clip(c["jitter"][1] * height, m * height - (cy0 + v_lo), (1 - m) * height - 1 - (cy0 + v_hi))
    K = cam.intrinsics(f, f, cx0 + float(sx), cy0 + float(sy))
    return K, w2c


def annotation_core(cfg, scene, sample, state, K, w2c, width, height):
    """The annotation fields that need no pixels (visibility and visible_fraction come from the passes)."""
    from hopgen import __version__, FORMAT
    from hopgen.dataset.hopformat import sample_id
    from hopgen.hand.kinematics import angles_to_dict
    xyz = cam.transform(w2c, state.joints)
    uv = cam.project(K, xyz)
    spec, subject, grasp = scene.spec, scene.subject, scene.grasp
    grasp_dict = grasp.to_dict() if hasattr(grasp, "to_dict") else dict(grasp)
    geom = scene.object_geom
    return {
        "id": sample_id(sample["index"]), "seed": sample["seed"], "format": FORMAT, "episode": spec["episode"],
        "camera": {"K": K.tolist(), "world_to_camera": w2c.tolist(), "width": width, "height": height,
                   "rig": sample["camera"]["rig"]},
        "hand": {"side": spec["side"], "xyz": xyz.tolist(), "uv": uv.tolist(), "visibility": None,
                 "joint_angles": {k: float(v) for k, v in angles_to_dict(state.angles).items()},
                 "shape": scene.shape.to_dict() if hasattr(scene.shape, "to_dict") else {}},
        "object": {"name": spec["object"], "category": spec["category"], "category_id": CATEGORIES.index(spec["category"]),
                   "source": getattr(geom, "source", "procedural"), "type": getattr(geom, "name", spec["object"]),
                   "object_to_camera": (w2c @ state.object_to_world).tolist(), "visible_fraction": None},
        "grasp": {"type": grasp_dict.get("type"), "phase": state.phase, "frame": state.frame,
                  "contacts": grasp_dict.get("contacts", []),
                  "max_penetration_mm": grasp_dict.get("max_penetration_mm"),
                  "fingers_in_contact": grasp_dict.get("fingers_in_contact"),
                  **({"physics": grasp_dict["physics"]} if grasp_dict.get("physics") else {})},
        "subject": {"id": subject.id, "sex": subject.sex, "skin_tone": subject.fitzpatrick,
                    "hand_length_mm": subject.hand_length_mm, "avatar": spec["avatar_kind"]},
        "scene": {"background": spec["background"]["kind"], "hdri": spec["hdri"], "lights": spec["lights"],
                  "distractors": spec["distractors"], "sleeve": spec["sleeve"]},
        "render": {"generator_version": __version__},
    }
