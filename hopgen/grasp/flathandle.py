"""Pinches of flat slender objects (a spoon's or a fork's handle, a knife's blade: 2-3 mm thick,
1-2.5 cm wide): which objects are flat (from placement.ObjectFrame.sections), the pre-shape
aperture across their thickness, and the thumb brought onto the handle when its sweep passes it.

Measured (session 7, spoon/fork/knife, m03/f01/f03 dev cases, 48 attempts with the hold test):
across a random section direction the pre-shape opened for the spoon's 3.6 cm bowl, the thumb
met the 2 mm edge of the handle or passed it by, and too_few_fingers_in_contact ended 23-30 of
48 attempts; pinched across the thickness, 15 of 180 pinch attempts were acceptable before, 86
after, 103 with the thumb reach.
"""

import numpy as np

from hopgen.hand import kinematics as kin
from hopgen.grasp import closing, score, taxonomy

# Slender objects with flat sections (at least FLAT_SHARE of the slices thinner than
# FLAT_SECTION_RATIO of their width) are pinched across their thickness, pads on the faces.
FLAT_SECTION_RATIO = 0.5
FLAT_SHARE = 1.0 / 3.0
FLAT_PINCH_TILT = 0.2  # rad: the pinch axis of a flat handle turns at most this far off its normal
# A pinch of a flat handle whose thumb sweeps past it: the thumb pad slides along the handle as
# it flexes and passes its face 0.4-4 mm off while the index pad presses on the other face
# (spoon, m03 left, seed 2: the closest approach of 9 such thumbs). The hand moves that far
# (+ THUMB_REACH_MARGIN) toward the face and closes again, as a light object pushed by the
# first pad settles against the thumb.
THUMB_MISS_REASONS = ("too_few_fingers_in_contact", "no_thumb_opposition")
THUMB_REACH_MAX = 0.004  # m: a thumb passing farther off is not reached for
THUMB_REACH_MARGIN = 0.0005  # m


def _flat_slices(frame):
    """(SECTION_BINS,) bool: measured slices thinner than FLAT_SECTION_RATIO of their width,
    and (SECTION_BINS,) bool: measured slices."""
    sec = frame.sections
    ok = np.isfinite(sec[:, 2])
    flat = np.zeros(len(sec), dtype=bool)
    flat[ok] = sec[ok, 2] < FLAT_SECTION_RATIO * sec[ok, 1]
    return flat, ok


def flat_section(frame, category):
    """Whether a slender object has flat sections (a spoon's or a fork's handle, a knife's
    blade; not a pencil): at least FLAT_SHARE of its slices are flat (ObjectFrame.sections)."""
    if category != "slender" or getattr(frame, "sections", None) is None:
        return False
    flat, ok = _flat_slices(frame)
    return bool(ok.any()) and np.count_nonzero(flat) >= FLAT_SHARE * np.count_nonzero(ok)


def flat_thickness(frame):
    """Median thickness (m) of an object's flat slices (a spoon's 2 mm handle)."""
    flat, _ = _flat_slices(frame)
    return float(np.median(frame.sections[flat, 2]))


def section_mid_at(frame, t):
    """Offset along frame.axes[2] (m) of the middle of the object's slice nearest to t (m
    along axes[0] from the centre)."""
    sec = frame.sections
    ok = np.nonzero(np.isfinite(sec[:, 3]))[0]
    return float(sec[ok[np.argmin(np.abs(sec[ok, 0] - t))], 3])


def flat_pinch(gtype, frame, category):
    """Whether a grasp type is a pinch of a flat slender object (the special cases here)."""
    return not gtype.power and gtype.approach == "pinch" and flat_section(frame, category)


def preshape_width(gtype, frame, category):
    """The width (m) a grasp type's pre-shape opens for: a flat handle's pinch closes across
    its thickness (a spoon's 2 mm handle, not its 3.6 cm bowl: the thumb and index pads, each
    ~3 cm off the handle, met it in different places and the thumb missed it)."""
    if flat_pinch(gtype, frame, category):
        return flat_thickness(frame)
    return taxonomy.object_width(category, frame.extents)


def reach_thumb(model, gtype, pre, closed, sdf, close, chain):
    """A pinch whose thumb missed, closed again from `pre` with the hand moved so that the
    thumb's sweep reaches the object: (angles, pose, Quality, None) when that is acceptable,
    else `closed` unchanged. closed: (angles, pose, Quality, reason) of the pinch as it closed;
    close(pose) -> (angles, points, labels, distances) closes the grasp's fingers from the
    pre-shape at a pose; chain: the type's closing keywords (closing.finger_chain)."""
    _, pose, q, _ = closed
    if "thumb" in q.fingers_in_contact or not q.fingers_in_contact:
        return closed
    dist, point = closing.closest_approach(model.skin, pre, pose, sdf, 0, **chain)
    if not 0.0 < dist <= THUMB_REACH_MAX:
        return closed
    pose = pose.copy()
    pose[:3, 3] -= (dist + THUMB_REACH_MARGIN) * score.sdf_normals(sdf, point[None])[0]
    if float(sdf(model.verify_points(pre, pose)[0]).min()) <= 0.0:
        return closed  # the open hand would already touch the object there
    angles, pts, labels, d = close(pose)
    q = score.measure(pts, labels, sdf, d)
    if score.rejection_reason(q, gtype, kin.within_limits(angles)) is not None:
        return closed
    return angles, pose, q, None
