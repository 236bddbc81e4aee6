"""Episodes of rigged avatars (MakeHuman bodies, rigged hand files), in pure code.

The grasp is synthesised exactly as for the procedural hands (hopgen.grasp, same kinematic model
and joint limits) by a *proxy* hand sized like the avatar's hand; every frame's kinematic joints
are then retargeted onto the avatar's skeleton (hopgen.avatars.rig): the hand frame is matched on the
palm joints, each finger link turns to the kinematic link's direction (thumb links also roll
like the kinematic thumb), fingertips reach the kinematic tips, fingers that sink into the
object open just enough, and for a body the arm
(shoulder -> elbow -> wrist) is bent so the wrist lands on the hand. The body stands upright
where its arm reaches the object naturally (placement search: reach, forearm twist, wrist bend,
elbow angle, no body part inside the object). Annotation joints are the avatar's own joint
centres after posing (the skeleton joints of the rendered hand); joint_angles are the kinematic
angles that drove them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from hopgen.core import camera as cam
from hopgen.avatars import rig as rg
from hopgen.avatars.entries import avatar_rig, proxy_subject
from hopgen.episode import outfit
from hopgen.episode.contact import push_out_of_object
from hopgen.episode.appearance import episode_looks
from hopgen.episode.framing import view_problems
from hopgen.episode.surroundings import occluding_distractors
from hopgen.episode.scene import (EpisodeScene, FrameState, episode_grasp, load_object_geometry, needed_frames,
                                  place_camera)

PLACEMENT_ELEVATIONS_DEG = (35.0, 60.0)   # upper arm above the horizontal, elbow -> shoulder
PLACEMENT_AZIMUTHS = 6                     # upper-arm directions around the vertical
CAMERA_TURNS_DEG = (0, 35, -35, 70, -70, 110, -110, 145, -145, 180)
CAMERA_NEAR_M = 0.10                       # no body skin seen this close to the camera
EYE_FORWARD_M = 0.12                       # egocentric body cameras sit this far in front of the eyes
EYE_BONES = ("eye.L", "eye.R")             # MakeHuman; rigs without them use the planned egocentric rig
BODY_CLOTHES = ("top", "bottom", "shoes")  # appearance regions after skin (rig.REGION_*), draw order
BODY_POINT_STRIDE = 3                      # body vertices sampled for clearance checks

@dataclass
class BodyFrameState(FrameState):
    """A frame of a rigged avatar: ``vertices`` are all rig vertices (world); ``arm_points`` the hand
    and its forearm (camera placement), ``body_points`` a sample of the rest (camera clearance)."""

    arm_points: np.ndarray = None   # (A, 3)
    body_points: np.ndarray = None  # (P, 3)
    wrist_error_m: float = 0.0
    penetration_m: float = 0.0      # deepest hand/forearm skin inside the object after posing (>= 0)
    pushed_m: float = 0.0           # how far the hand was backed out of the object (push_out_of_object)


@dataclass
class BodyEpisodeScene(EpisodeScene):
    """EpisodeScene of a rigged avatar; ``labels`` (T,) seg label per rig triangle for this side."""

    rig: object = None
    labels: np.ndarray = None
    root: np.ndarray = None
    shown: np.ndarray = None  # (T,) bool: triangles rendered (avatar.body false: hand + forearm only)
    eyes: np.ndarray = None   # (3,) midpoint of the eyes (world), for egocentric views; None: no head
    skin_rgb: tuple = (0.6, 0.42, 0.32)
    region: np.ndarray = None           # (T,) appearance region per triangle (rig.REGION_*, sleeve applied)
    garment_offset: np.ndarray = None   # (V,) stand-off of the clothes/hair from the skin (m; outfit.garment_offsets)
    hair: dict = None                   # outfit.hair_params of the subject (None: no hair region)

    rigged = True

    def place_camera(self, cfg, sample, state, width, height):
        """The planned camera, turned about the hand (azimuth steps CAMERA_TURNS_DEG) until no body
        skin is near the lens and the least body lies between the lens and the hand. An egocentric
        camera of a body with eyes looks from just in front of its eyes at the hand instead."""
        proxy = replace(state, vertices=state.arm_points)
        best = None
        c = sample.camera
        tries = [replace(c, azimuth=c.azimuth + math.radians(turn)) for turn in CAMERA_TURNS_DEG]
        if c.rig == "egocentric" and self.eyes is not None:
            # From the eyes first; if the body hides the hand there, third-person views around it.
            tries = [_eye_camera(c, self.eyes, state)] + [replace(t, rig="third_person") for t in tries]
        for c2 in tries:
            s2 = replace(sample, camera=c2)
            try:
                K, w2c = place_camera(cfg, s2, proxy, width, height)
            except ValueError:
                continue
            # The surroundings' rules (table top, wall, distractors; hopgen.episode.framing) weigh
            # more than any count of body points in front of the hand.
            problems = view_problems(K, w2c, state, self.looks, c2, width, height)
            cost = _camera_blocking(K, w2c, state, width, height) + 10 ** 7 * len(problems)
            if best is None or cost < best[0]:
                best = (cost, K, w2c, problems, c2)
            if cost == 0:
                break
        if best is None:
            raise ValueError(f"avatar {self.spec.avatar}: no camera around the hand clears the body")
        self.camera_records[sample.index] = {
            "turn_deg": round(math.degrees(best[4].azimuth - c.azimuth), 3), "raise_deg": 0, "breaks": best[3],
            "hand_share": c.hand_share,
            "foreground_occluder": bool(self.looks is not None and occluding_distractors(
                cam.invert_rigid(best[2])[:3, 3], state.hand_points, self.looks.distractors))}
        return best[1], best[2]


def _eye_camera(c, eyes, state):
    """CameraChoice (third-person form) for a view from EYE_FORWARD_M in front of ``eyes`` at the hand."""
    pts = state.hand_points
    target = 0.5 * (pts.min(0) + pts.max(0))  # what hopgen.episode.scene.place_camera looks at
    v = eyes - target
    dist = float(np.linalg.norm(v))
    v = v / dist
    return replace(c, rig="third_person", distance=max(dist - EYE_FORWARD_M, 0.15),
                   azimuth=math.atan2(v[1], v[0]), elevation=math.asin(float(np.clip(v[2], -1, 1))))


def _camera_blocking(K, w2c, state, width, height):
    """Body points seen in front of the hand inside its image box, or a large penalty when body skin
    is seen closer than CAMERA_NEAR_M (the camera would sit inside or against the body)."""
    body = cam.transform(w2c, state.body_points)
    ahead = body[:, 2] > 0.005
    body = body[ahead]
    p = cam.project(K, body)
    seen = (p[:, 0] >= 0) & (p[:, 0] < width) & (p[:, 1] >= 0) & (p[:, 1] < height)
    if np.any(seen & (np.linalg.norm(body, axis=1) < CAMERA_NEAR_M)):
        return 10 ** 6
    uv = cam.project(K, cam.transform(w2c, state.hand_points))
    lo, hi = uv.min(0), uv.max(0)
    hand_z = cam.transform(w2c, state.hand_points)[:, 2].min()
    return int(np.sum((body[:, 2] < hand_z) & np.all((p >= lo) & (p <= hi), axis=1)))


# ----------------------------------------------------------------------------- episode


@dataclass
class _Target:
    """What one frame asks of the rig: the wrist bone frame, an elbow hint and the finger goal."""

    wrist_goal: np.ndarray  # (4, 4)
    elbow_hint: np.ndarray  # (3,)
    goal: np.ndarray        # (21, 3) kinematic joints, world (link directions, then the tips)
    pulps: dict = None      # thumb link -> (3,) kinematic pulp direction, world


THUMB_LINKS = (0, 1, 2)  # rig.finger_bones links (and kinematic bones 1..3) of the thumb
_PULP_CACHE = {}


def thumb_pulp_locals(rig, side, shape):
    """Per thumb link, the bone-frame vector that faces the thumb pulp: found by retargeting the
    kinematic neutral pose onto the rig at rest (the rig's rest roll is taken to match it there)."""
    from hopgen.hand.kinematics import forward_kinematics_full, neutral_angles
    key = (id(rig), side, shape.hand_length_mm, shape.hand_breadth_mm, shape.thickness_scale)
    if key not in _PULP_CACHE:
        fk = forward_kinematics_full(shape, neutral_angles(), side)
        f_rig = rg.hand_frame(rg.hand_joints(rig, rig.rest, side), side)
        goal = cam.transform(f_rig, fk.joints)
        local = rg.retarget_fingers(rig, rg.identity_pose(rig), side, goal)
        posed = rg.pose(rig, local)
        links = rg.finger_bones(rig, side)
        out = {}
        for k in THUMB_LINKS:
            b = links[k][0]
            out[k] = posed[b, :3, :3].T @ (f_rig[:3, :3] @ fk.frames[1 + k, :3, 2])
        _PULP_CACHE[key] = out
    return _PULP_CACHE[key]


PALM_JOINTS = [0, 1, 5, 9, 13, 17]


def frame_targets(rig, side, shape, state):
    """The _Target of an animation frame (kinematic joints placed by state.hand_to_world)."""
    from hopgen.hand.kinematics import forward_kinematics_full
    fk = forward_kinematics_full(shape, state.angles, side)
    target = cam.transform(state.hand_to_world, fk.joints)            # (21, 3) world
    rest_hand = rg.hand_joints(rig, rig.rest, side)
    f_rig, f_t = rg.hand_frame(rest_hand, side), rg.hand_frame(target, side)
    rig_local = cam.transform(np.linalg.inv(f_rig), rest_hand[PALM_JOINTS])
    t_local = cam.transform(np.linalg.inv(f_t), target[PALM_JOINTS])
    shift = np.eye(4)
    shift[:3, 3] = (t_local - rig_local).mean(0)
    f_des = f_t @ shift                                               # rig hand frame wanted
    wb = int(rig.refs(side)[0, 0])
    wrist_goal = f_des @ np.linalg.inv(f_rig) @ rig.rest[wb]
    chain = rig.arms.get(side)
    hint = wrist_goal[:3, 3]
    if chain is not None:
        elbow = rig.rest[chain.fore[0], :3, 3]
        length = np.linalg.norm(elbow - rig.rest[wb, :3, 3])
        v_hand = f_rig[:3, :3].T @ rg._unit(elbow - rig.rest[wb, :3, 3])  # forearm in the hand frame
        forearm = fk.transforms[20, :3, :3]  # kinematic wrist flexion/deviation moves the forearm
        hint = hint + length * (f_des[:3, :3] @ forearm @ v_hand)
    pulps = {k: state.hand_to_world[:3, :3] @ fk.frames[1 + k, :3, 2] for k in THUMB_LINKS}
    return _Target(wrist_goal, hint, target, pulps)


CONTACT_TOLERANCE_M = 0.0015  # finger skin may sink this deep into the object (soft contact)
SETTLE_STEPS = 6  # bisection steps: opening resolved to 1/64 of the finger's flexion


def finger_vertex_ids(rig, side):
    """Per finger (thumb..pinky), the rig vertices of its phalanges (by dominant bone)."""
    from hopgen.core.skeleton import seg_phalanx
    main = rig.weight_bone[np.arange(len(rig.vertices)), rig.weight.argmax(1)]
    labels = rg.bone_labels(rig, side)[main]
    return [np.nonzero(np.isin(labels, [seg_phalanx(f, s) for s in range(3)]))[0] for f in range(5)]


def _scaled_rotation(rot, t):
    """Rotation ``rot`` scaled to ``t`` of its angle about the same axis (t = 0: identity)."""
    angle = float(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1)))
    if angle < 1e-9:
        return np.eye(3)
    axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return rg.axis_rotation(axis, t * angle)


def settle_fingers(rig, local, side, root, object_to_world, sdf, fingers_ids, tol=CONTACT_TOLERANCE_M,
                   steps=SETTLE_STEPS):
    """Open fingers that sink into the object (in place in ``local``): each finger's link rotations
    are scaled toward the rig's rest by the least fraction (bisection) that keeps its skin within
    ``tol`` of the surface. The rig's finger pads are not the kinematic model's, so the same
    contacts can otherwise end inside the object. Returns the deepest remaining depth (m, >= 0)."""
    inv = np.linalg.inv(object_to_world)
    links = rg.finger_bones(rig, side)

    def depth(ids):
        return -float(sdf(cam.transform(inv, rg.skin(rig, rg.pose(rig, local, root), ids))).min())

    worst = 0.0
    for f, ids in enumerate(fingers_ids):
        if not len(ids) or depth(ids) <= tol:
            continue
        bones = [b for b, _, _ in links[3 * f:3 * f + 3]]
        closed = {b: local[b].copy() for b in bones}

        def open_by(t):
            for b in bones:
                local[b] = _scaled_rotation(closed[b], 1.0 - t)
            return depth(ids)

        if open_by(1.0) > tol:
            # Even the rest pose sinks (the rig's finger base lies in the object): least depth wins.
            trials = np.linspace(0.0, 1.0, 5)
            open_by(float(trials[int(np.argmin([open_by(float(t)) for t in trials]))]))
        else:
            lo, hi = 0.0, 1.0  # fraction opened: lo sinks, hi is clear
            for _ in range(steps):
                mid = 0.5 * (lo + hi)
                if open_by(mid) > tol:
                    lo = mid
                else:
                    hi = mid
            open_by(hi)
        worst = max(worst, depth(ids))
    return worst


RELAXED_ARM_DEG = 12.0  # the free arm hangs this far out from the vertical (rest poses hold it out)


def relax_other_arm(rig, local, side):
    """Let the arm that does not grasp hang beside the body (in place in ``local``; bodies only).

    MakeHuman's rest pose holds both arms out (an A-pose); the free upper arm swings down to
    RELAXED_ARM_DEG from the vertical, outward (rest frame; placements only turn about +z)."""
    other = "left" if side == "right" else "right"
    chain = rig.arms.get(other)
    if chain is None:
        return local
    up0, fo0 = chain.upper[0], chain.fore[0]
    d = rig.rest[fo0, :3, 3] - rig.rest[up0, :3, 3]
    out = np.array([d[0], d[1], 0.0])
    out = out / max(np.linalg.norm(out), 1e-9)
    a = np.radians(RELAXED_ARM_DEG)
    want = np.sin(a) * out - np.cos(a) * np.array([0.0, 0.0, 1.0])
    r = rig.rest[up0, :3, :3]
    local[up0] = r.T @ rg.rotation_between(d, want) @ r
    return local


def pose_frame(rig, side, tgt, root, contact=None, pulp_locals=None):
    """Local rotations and root of the rig for one frame (arm bent or the rig carried rigidly).

    contact: optional (object_to_world, sdf, finger vertex ids) to settle the fingers on the object;
    pulp_locals: thumb_pulp_locals(...) to roll the thumb like the kinematic thumb."""
    local = relax_other_arm(rig, rg.identity_pose(rig), side)
    sol = None
    if rig.arms.get(side) is not None and root is not None:
        sol = rg.solve_arm(rig, local, side, tgt.wrist_goal, tgt.elbow_hint, root)
    else:
        wb = int(rig.refs(side)[0, 0])
        root = tgt.wrist_goal @ np.linalg.inv(rig.rest[wb])
    rolls = None
    if pulp_locals is not None and tgt.pulps is not None:
        rolls = {k: (pulp_locals[k], tgt.pulps[k]) for k in THUMB_LINKS}
    rg.retarget_fingers(rig, local, side, tgt.goal, root, rolls)
    rg.reach_tips(rig, local, side, tgt.goal, root)
    if contact is not None:
        settle_fingers(rig, local, side, root, *contact)
    return local, root, sol


def _side_arm_bones(rig, side):
    """Bones of the grasping forearm and hand (excluded from the body clearance checks)."""
    chain = rig.arms.get(side)
    start = set(chain.fore) if chain else {int(rig.refs(side)[0, 0])}
    out = set()
    for i, p in enumerate(rig.parents):
        if i in start or p in out:
            out.add(i)
    return out


def choose_body_placement(rig, side, targets, object_poses, geom, rng):
    """(4, 4) upright placement of the body (yaw + translation) for an episode.

    Candidates put the elbow where the reference frame's forearm points and the shoulder above
    it (PLACEMENT_ELEVATIONS_DEG x PLACEMENT_AZIMUTHS); the body turns to face the hand. Cost:
    unreachable frames, body points inside the object's box, forearm twist, wrist bend, and an
    elbow far from a relaxed 100 degrees.
    """
    chain = rig.arms[side]
    wb = int(rig.refs(side)[0, 0])
    up0, fo0 = chain.upper[0], chain.fore[0]
    len_u = np.linalg.norm(rig.rest[fo0, :3, 3] - rig.rest[up0, :3, 3])
    len_f = np.linalg.norm(rig.rest[wb, :3, 3] - rig.rest[fo0, :3, 3])
    ref = targets[len(targets) // 2]
    w0 = ref.wrist_goal[:3, 3]
    e0 = w0 + len_f * rg._unit(ref.elbow_hint - w0)
    skip = _side_arm_bones(rig, side)
    keep = np.nonzero(~np.isin(rig.weight_bone[np.arange(len(rig.vertices)), rig.weight.argmax(1)], list(skip)))[0]
    keep = keep[::BODY_POINT_STRIDE * 2]
    lo, hi = geom.vertices.min(0) - 0.01, geom.vertices.max(0) + 0.01
    az0 = rng.uniform(0, 2 * np.pi)
    best = None
    for el in np.radians(PLACEMENT_ELEVATIONS_DEG):
        for k in range(PLACEMENT_AZIMUTHS):
            az = az0 + 2 * np.pi * k / PLACEMENT_AZIMUTHS
            u = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
            s = e0 + len_u * u
            f = (w0 - s)[:2]
            if np.linalg.norm(f) < 0.05:
                f = -u[:2]
            f = f / np.linalg.norm(f)
            yaw = math.atan2(f[0], -f[1])  # MakeHuman-style rigs face -Y at rest
            root = np.eye(4)
            root[:3, :3] = cam.rotation_matrix([0, 0, 1], yaw)
            root[:3, 3] = s - root[:3, :3] @ rig.rest[up0, :3, 3]
            cost = 0.0
            for tgt, obj in zip(targets, object_poses):
                local = relax_other_arm(rig, rg.identity_pose(rig), side)
                sol = rg.solve_arm(rig, local, side, tgt.wrist_goal, tgt.elbow_hint, root)
                pts = cam.transform(np.linalg.inv(obj), rg.skin(rig, rg.pose(rig, local, root), keep))
                inside = int(np.sum(np.all((pts > lo) & (pts < hi), axis=1)))
                cost = max(cost, 100.0 * (sol.wrist_error_m > 0.003) + 10.0 * min(inside, 10)
                           + sol.twist_rad + 0.7 * sol.wrist_bend_rad + 0.5 * abs(sol.elbow_rad - np.radians(100)))
            if best is None or cost < best[0]:
                best = (cost, root)
    return best[1]


def body_subject(avatar, side):
    """(rig, subject dict, proxy subjects.Subject) of a makehuman/rigged avatar's `side` hand."""
    r, subject_dict = avatar_rig(avatar, side)
    return r, subject_dict, proxy_subject(subject_dict, rg.hand_joints(r, r.rest, side), side)


def build_body_episode(cfg, manifest, spec, avatar):
    """BodyEpisodeScene of plan ``spec`` for a makehuman/rigged manifest entry ``avatar``."""
    from hopgen.hand.subjects import subject_shape
    side = spec.side
    r, subject_dict, subject = body_subject(avatar, side)
    shape = subject_shape(subject)
    geom = load_object_geometry(manifest.object(spec.object), spec.object_seed)
    grasp, states = episode_grasp(cfg, spec, subject, side, geom)
    needed = needed_frames(spec)
    targets = [frame_targets(r, side, shape, states[k]) for k in needed]
    root = None
    if r.arms.get(side) is not None:
        root = choose_body_placement(r, side, targets, [states[k].object_to_world for k in needed], geom,
                                     np.random.default_rng([spec.grasp_seed, 2]))
    dominant = r.dominant if r.dominant is not None else rg.dominant_bones(r)
    labels = rg.triangle_labels(r, side, dominant)
    from hopgen.core.skeleton import SEG_ARM
    hand_ids = np.unique(r.triangles[labels != SEG_ARM])
    skip = _side_arm_bones(r, side)
    main = r.weight_bone[np.arange(len(r.vertices)), r.weight.argmax(1)]
    arm_ids = np.union1d(hand_ids, np.nonzero(np.isin(main, list(skip)))[0])
    body_ids = np.setdiff1d(np.arange(len(r.vertices)), arm_ids)
    if not cfg.avatar.body:
        body_ids = np.intersect1d(body_ids, r.triangles[np.isin(dominant, list(skip))])
    body_ids = body_ids[::BODY_POINT_STRIDE]
    from hopgen.core.meshgeom import object_distance_fn
    sdf = object_distance_fn(geom, max_dist=0.05)
    fingers_ids = finger_vertex_ids(r, side)
    frames = []
    for k, tgt in zip(needed, targets):
        st = states[k]
        local, root_k, sol, depth, pushed = push_out_of_object(
            pose_frame, r, side, tgt, root, (np.asarray(st.object_to_world), sdf, fingers_ids),
            thumb_pulp_locals(r, side, shape), arm_ids)
        posed = rg.pose(r, local, root_k)
        verts = rg.skin(r, posed)
        joints = rg.hand_joints(r, posed, side)
        frames.append(BodyFrameState(
            frame=k, phase=st.phase, angles=np.asarray(st.angles), hand_to_world=rg.hand_frame(joints, side),
            object_to_world=np.asarray(st.object_to_world), joints=joints, vertices=verts,
            hand_points=verts[hand_ids], arm_points=verts[arm_ids], body_points=verts[body_ids],
            wrist_error_m=sol.wrist_error_m if sol else 0.0, penetration_m=depth, pushed_m=pushed))
    eyes = None
    if root is not None and all(b in r.bone_names for b in EYE_BONES):
        posed = rg.pose(r, rg.identity_pose(r), root)  # the head does not move with the arms
        eyes = posed[[r.bone(b) for b in EYE_BONES], :3, 3].mean(0)
    shown = np.ones(len(r.triangles), bool)
    if not cfg.avatar.body:
        shown = np.isin(dominant, list(skip)) | (labels != SEG_ARM)
    looks = episode_looks(spec, BODY_CLOTHES, frames, geom.vertices)
    region, offset, hair = outfit.dress(cfg, spec, r, labels, subject_dict, subject)
    wear, pieces = body_wear(cfg, spec, r, side, arm_ids)
    return BodyEpisodeScene(spec=spec, subject=subject, shape=shape, hand_mesh=None, object_geom=geom, grasp=grasp,
                            wear=wear, wear_meshes=pieces,
                            frames=frames, looks=looks, rig=r, labels=labels, root=root, shown=shown, eyes=eyes,
                            skin_rgb=tuple(subject_dict.get("skin_rgb", subject.skin_rgb)),
                            region=region, garment_offset=offset, hair=hair)


def body_wear(cfg, spec, r, side, arm_ids):
    """(Wear, WearMeshes) of a rigged avatar: wrist accessories only (the sleeve of a body is its
    top's region, hopgen.blender.avatars), fitted to the grasping arm's skin ``arm_ids`` at rest."""
    from hopgen.episode.wear import draw_wear
    from hopgen.episode.wear_geometry import accessory_mesh, rig_arm_frame, surface_samples
    wear = draw_wear(cfg.wear, spec.appearance_seed, side, sleeve=False)
    if not wear.accessories:
        return wear, []
    chain = r.arms.get(side)
    elbow = r.rest[chain.fore[0], :3, 3] if chain is not None else None
    frame = rig_arm_frame(rg.hand_joints(r, r.rest, side), side, elbow)
    tris = r.triangles[np.all(np.isin(r.triangles, arm_ids), axis=1)]
    surface = surface_samples(r.vertices, tris)  # a body mesh is coarse at the wrist (~5 mm edges)
    pieces = [accessory_mesh(frame, r.vertices, a, f"hop_accessory{k}", vertex_ids=arm_ids, surface=surface)
              for k, a in enumerate(wear.accessories)]
    return wear, pieces
