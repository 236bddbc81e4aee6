"""Where a heavy object is held: near its centre of mass (only with the hold test).

synthesis._PhysicsFeedback gives placements a `hold_near` = (centre of mass (3,), reach m),
reach = HOLD_TORQUE_NM / (m g): the farthest the hand may hold the object from its centre of
mass before the weight's moment turns it in the hand (9 mm for a 1.3 kg wine bottle, 16 mm for
a 0.74 kg book). Wraps keep the palm within the reach along the long axis (within_reach); a
box pinched at an edge farther than the reach from its centre of mass (about_edge: a book, a
cutting board, a phone from its end) is pinched deep, square and tilted (heavy_pinch).
"""

import numpy as np

# m: a heavy box's pinch goes up to this much further over the edge than the type's standoff,
# toward the centre of mass, as a book is held with its edge deep in the thumb's web
# (pads 1-4.5 cm over the edge turned the books in their plane; docs/physics.md, session 8).
HEAVY_PINCH_EXTRA_DEPTH = 0.06
# rad: and the hand turns this much about the gripped edge, thumb toward the edge: the index
# finger's proximal phalanx lies on the edge of a deep pinch, so with the thumb pad opposite the
# finger pads the squeeze itself tilted a cutting board about its edge (0.28-0.36 N m in 5 of 8
# pinches of a dev board; docs/physics.md, session 8).
HEAVY_PINCH_TILT = (0.1, 0.25)
# m: and, once clear of the object, the hand backs out this much more, so that the closing
# fingers' proximal phalanges and the thumb land on the faces, not on the narrow face: pads on
# the edge pushed the board out of the pinch and turned it in its plane (squeeze moments
# 0.2-0.6 N m; with this the index and thumb middle phalanges press on the faces near the edge).
HEAVY_PINCH_BACK_OFF = (0.002, 0.006)


def within_reach(c, reach, room):
    """(lo, hi) offsets within [-room, room] at most `reach` from c (c clipped when none is)."""
    lo, hi = max(-room, c - reach), min(room, c + reach)
    if lo > hi:
        lo = hi = float(np.clip(c, -room, room))
    return lo, hi


def about_edge(frame, d, hold_near):
    """True when the centre of mass lies farther in from the edge a pinch enters along d (unit,
    object frame) than hold_near's reach: the weight's moment would turn the object in the pads."""
    if hold_near is None:
        return False
    span_d = float(np.abs(frame.axes @ d) @ frame.extents)
    return 0.5 * span_d + float((np.asarray(hold_near[0]) - frame.centre) @ d) > hold_near[1]


def heavy_box(frame, hold_near):
    """True when every edge of a box's large faces lies farther from its centre of mass than
    hold_near's reach: each of its pinches is about_edge (a book, not a phone)."""
    if hold_near is None:
        return False
    c = (np.asarray(hold_near[0]) - frame.centre) @ frame.axes[:2].T
    return float(np.min(0.5 * np.asarray(frame.extents[:2]) - np.abs(c))) > hold_near[1]


def square_onto_edge(frame, d):
    """d snapped to the nearer in-plane principal axis: gravity along the hand's palm normal
    then pulls the object straight out of the pinch instead of turning it in its plane."""
    k = int(np.argmax(np.abs(frame.axes[:2] @ d)))
    return frame.axes[k] * np.sign(frame.axes[k] @ d)


def heavy_pinch(e, frame, hold_near, room, rng):
    """(tilt rad, (lo, hi), extra depth m, back-off m) of an about_edge pinch whose edge runs
    along e: the hand turns by -tilt about e (thumb toward the edge), lies along the edge within
    the reach of the centre of mass, goes deep and backs out (rng draws: tilt, then back-off)."""
    tilt = rng.uniform(*HEAVY_PINCH_TILT)
    back_off = rng.uniform(*HEAVY_PINCH_BACK_OFF)
    span = within_reach(float((np.asarray(hold_near[0]) - frame.centre) @ e), hold_near[1], room)
    return tilt, span, HEAVY_PINCH_EXTRA_DEPTH, back_off
