"""Episodes of procedural hands (pure): the subject's hand mesh posed by the synthesised grasp."""

import numpy as np

SLEEVE_START_M = 0.05  # the sleeve covers arm faces beyond this distance from the wrist (rest pose)
# Wrist to elbow of an adult (~0.25-0.28 m): long enough that the camera rules (episode.framing)
# can always let the forearm leave the frame instead of ending in the air.
FOREARM_LENGTH_M = 0.27

from hopgen.core import camera as cam
from hopgen.core.skeleton import SEG_ARM
from hopgen.episode.appearance import episode_looks
from hopgen.episode.wear import draw_wear
from hopgen.episode.wear_geometry import accessory_mesh, procedural_arm_frame, sleeve_mesh
from hopgen.episode.scene import EpisodeScene, FrameState, episode_grasp, load_object_geometry, needed_frames


def build_hand_episode(cfg, manifest, spec, avatar):
    """EpisodeScene of plan ``spec`` for a procedural manifest avatar: grasp, then each needed
    frame's joints and skin in world coordinates."""
    from hopgen.hand.handmesh import build_hand_mesh, pose_vertices
    from hopgen.hand.kinematics import forward_kinematics
    from hopgen.hand.subjects import get_subject, subject_shape
    subject = get_subject(avatar.name)
    shape = subject_shape(subject)
    side = spec.side
    mesh = build_hand_mesh(subject, side, forearm_length_m=FOREARM_LENGTH_M)
    arm_end_hand = np.array([[0.0, float(np.asarray(mesh.rest_vertices)[:, 1].min()), 0.0]])  # forearm along -y
    geom = load_object_geometry(manifest.object(spec.object), spec.object_seed)
    grasp, states = episode_grasp(cfg, spec, subject, side, geom)
    hand_faces = np.asarray(mesh.faces)[np.asarray(mesh.face_labels) != SEG_ARM]
    hand_vertex_ids = np.unique(hand_faces)
    frames = []
    for k in needed_frames(spec):
        st = states[k]
        joints_hand, _ = forward_kinematics(shape, st.angles, side)
        verts_hand = pose_vertices(mesh, shape, st.angles, side)
        frames.append(FrameState(frame=k, phase=st.phase, angles=np.asarray(st.angles),
                                 hand_to_world=np.asarray(st.hand_to_world), object_to_world=np.asarray(st.object_to_world),
                                 joints=cam.transform(st.hand_to_world, joints_hand),
                                 vertices=cam.transform(st.hand_to_world, verts_hand),
                                 hand_points=cam.transform(st.hand_to_world, verts_hand[hand_vertex_ids]),
                                 arm_end=cam.transform(st.hand_to_world, arm_end_hand)[0],
                                 hand_rate=st.hand_rate, object_rate=st.object_rate))
    sleeve = sleeve_faces(mesh) if spec.sleeve else np.zeros(0, np.int64)
    looks = episode_looks(spec, ["sleeve"] if len(sleeve) else [], frames, geom.vertices)
    wear = draw_wear(cfg.wear, spec.appearance_seed, side, sleeve=bool(len(sleeve)))
    return EpisodeScene(spec=spec, subject=subject, shape=shape, hand_mesh=mesh, object_geom=geom,
                        grasp=grasp, frames=frames, looks=looks, sleeve_faces=sleeve, wear=wear,
                        wear_meshes=wear_meshes(wear, mesh.rest_vertices))


def wear_meshes(wear, rest_vertices):
    """WearMeshes (hopgen.episode.wear_geometry) of an episode's Wear on a procedural hand at rest:
    the accessories ("hop_accessory<k>") and the sleeve tube with its folds ("hop_sleeve")."""
    frame = procedural_arm_frame()
    out = [accessory_mesh(frame, rest_vertices, a, f"hop_accessory{k}") for k, a in enumerate(wear.accessories)]
    if wear.sleeve is not None:
        out.append(sleeve_mesh(frame, rest_vertices, wear.sleeve))
    return out


def sleeve_faces(mesh):
    """(S,) arm faces of ``mesh`` that lie entirely beyond SLEEVE_START_M from the wrist (rest pose,
    hand frame: the forearm runs along -y)."""
    faces = np.asarray(mesh.faces)
    along = -np.asarray(mesh.rest_vertices)[:, 1]
    arm = np.asarray(mesh.face_labels) == SEG_ARM
    return np.nonzero(arm & (along[faces].min(1) > SLEEVE_START_M))[0]
