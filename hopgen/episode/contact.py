"""Rigged hands that do not sink into the object (pure): the grasp is synthesised for a proxy hand,
and the rig's palm and thumb base are not the proxy's, so its contacts can leave them a few mm
inside the object. ``push_out_of_object`` backs the whole hand out along the object's normal
(fingers are opened separately, hopgen.episode.body.settle_fingers)."""
from dataclasses import replace

import numpy as np

from hopgen.avatars import rig as rg
from hopgen.core import camera as cam

PUSH_TOLERANCE_M = 0.0015  # = hopgen.episode.body.CONTACT_TOLERANCE_M; palm/thumb-base skin deeper than this backs the hand out
PUSH_ITERATIONS = 3


def skin_depth(points, object_to_world, sdf):
    """(deepest depth (m, >= 0), (3,) outward unit normal of the object there, world) of world
    ``points`` against the object's signed distance (normal from central differences)."""
    inv = np.linalg.inv(object_to_world)
    local = cam.transform(inv, points)
    d = sdf(local)
    k = int(np.argmin(d))
    eps = 1e-4
    grad = np.array([sdf(local[k] + e)[0] - sdf(local[k] - e)[0] for e in np.eye(3) * eps])
    n = object_to_world[:3, :3] @ (grad / max(np.linalg.norm(grad), 1e-12))
    return max(0.0, -float(d[k])), n


def shifted_target(tgt, shift):
    """The _Target moved rigidly by ``shift`` (3,) (wrist, elbow hint and finger goal)."""
    w = tgt.wrist_goal.copy()
    w[:3, 3] += shift
    return replace(tgt, wrist_goal=w, elbow_hint=tgt.elbow_hint + shift, goal=tgt.goal + shift)


def push_out_of_object(pose_frame, rig, side, tgt, root, contact, pulp_locals, ids, tol=PUSH_TOLERANCE_M,
                       iterations=PUSH_ITERATIONS):
    """``pose_frame`` (hopgen.episode.body.pose_frame), then back the whole hand out of the object while its skin ``ids`` (hand and
    forearm vertices) sinks deeper than ``tol``: the rig's palm and thumb base are not the proxy
    hand's, so the proxy's contacts can leave them a few mm inside (fingers are opened by
    settle_fingers; a palm cannot open). Each step moves the target along the object's normal at
    the deepest point by the excess depth; fingers are settled again after each move.
    Returns (local, root, arm solution, depth (m), total shift (m))."""
    object_to_world, sdf = contact[0], contact[1]
    shift = np.zeros(3)
    for it in range(iterations + 1):
        local, root_k, sol = pose_frame(rig, side, shifted_target(tgt, shift), root, contact, pulp_locals)
        depth, normal = skin_depth(rg.skin(rig, rg.pose(rig, local, root_k), ids), object_to_world, sdf)
        if depth <= tol or it == iterations:
            return local, root_k, sol, depth, float(np.linalg.norm(shift))
        shift = shift + (depth - 0.8 * tol) * normal
