"""The thumb of a large-diameter wrap (GraspType.thumb_abduction): palmar-abducted beside the
object's wrist side while the palm and long fingers approach, then moved clear of the object
along the whole approach path, so that closing curls it round the other side of the section."""

import dataclasses

import numpy as np

from hopgen.hand import kinematics as kin
from hopgen.grasp import placement
from hopgen.grasp.placement import APPROACH_STEP, CLEARANCE


# Thumb-wrap candidates tried after the approach, in order: (CMC abduction, CMC flexion) changes
# in degrees from the pre-shape that move a thumb standing into the object back toward the wrist.
THUMB_CLEAR_STEPS = tuple((da, df) for da in (0.0, -8.0, -16.0, -24.0) for df in (0.0, -10.0, -20.0))


def clear_thumb(skin, angles, pose, sdf, direction, reach, clearance=CLEARANCE):
    """A thumb-wrap pre-shape whose thumb skin stays clear of the object all along the
    approach to `pose` (4, 4): the hand moved along unit `direction` (object frame) and the
    thumb is checked from `reach` (m) back to the pose (the open hand of an episode travels that
    path). The first of THUMB_CLEAR_STEPS applied to `angles` (the approach ran without the
    thumb), or None when none is clear. Returns new angles (NUM_DOF,)."""
    d = kin.DOF_INDEX
    thumb = skin.finger == 0
    rest = skin.rest[thumb]
    bones = skin.bone[thumb]
    rot, trans = pose[:3, :3], pose[:3, 3]
    back = np.arange(0.0, reach + APPROACH_STEP, 0.5 * APPROACH_STEP)[:, None, None] * np.asarray(direction)
    for da, df in THUMB_CLEAR_STEPS:
        a = np.array(angles, dtype=np.float64)
        a[d["thumb_cmc_abd"]] += np.radians(da)
        a[d["thumb_cmc_flex"]] += np.radians(df)
        a = kin.clamp_angles(a)
        _, tr = kin.forward_kinematics(skin.shape, a, skin.side)
        t = tr[bones]
        p = np.einsum("pij,pj->pi", t[:, :3, :3], rest) + t[:, :3, 3]
        p = p @ rot.T + trans
        if sdf(p).min() > clearance and sdf((p[None] - back).reshape(-1, 3)).min() > clearance:
            return a
    return None


def without_thumb(skin):
    """The skin points of the palm and the long fingers (HandSkin)."""
    keep = skin.finger != 0
    return dataclasses.replace(skin, rest=skin.rest[keep], bone=skin.bone[keep], label=skin.label[keep],
                               finger=skin.finger[keep], segment=skin.segment[keep])


# m: when a wrapping thumb cannot be cleared, the object is tried this much further out along
# the fingers (a wide jar covers the thenar at the type's palm_y; people then hold it nearer
# the finger bases).
THUMB_WRAP_SHIFTS = (0.0, 0.006, 0.012, 0.018)


def approach(skin, pre, pl, sdf, s_start, rng, frame):
    """Approach of a thumb-wrap type (GraspType.thumb_abduction): the palm and long fingers
    slide in, the wrapping thumb standing beside the object's path is then moved clear of it
    (clear_thumb). Returns (pose (4, 4), pre-shape with the cleared thumb, None) or
    (None, pre, reason)."""
    jitter = rng.uniform(0.0, 0.0015)
    palm_and_fingers = without_thumb(skin)
    reach = 2.0 * float(np.linalg.norm(frame.extents))  # back past the object along the approach
    for shift in THUMB_WRAP_SHIFTS:
        p = dataclasses.replace(pl, ref=pl.ref + np.array([0.0, shift, 0.0]))
        s, collided = placement.approach(palm_and_fingers, pre, p, sdf, s_start)
        if collided and s >= s_start - 1e-9:
            return None, pre, "start_in_collision"
        if not collided:
            return None, pre, "no_contact_on_approach"
        pose = p.hand_to_object(s + jitter)
        cleared = clear_thumb(skin, pre, pose, sdf, p.direction, reach)
        if cleared is not None:
            return pose, cleared, None
    return None, pre, "thumb_blocked"
