"""Pre-shape and wrist placement relative to the object's principal axes.

A placement is a hand orientation R (hand -> object frame), a line the hand travels along
(approach direction d in the object frame, hand +z = palmar normal faces along d for palm
grasps) and a hand-frame reference point (palm centre for power grasps, the pinch centre
between thumb and finger tips for precision ones) that the line passes through. `approach`
slides the hand in along d until its skin touches the object.
"""

from dataclasses import dataclass

import numpy as np

from hopgen.hand import kinematics as kin
from hopgen.core.graspable import normalise_for_grasp
from hopgen.grasp import flathandle, holdnear

APPROACH_STEP = 0.004  # m, coarse step while sliding in
CLEARANCE = 0.0005  # m, the approach stops this far from the surface
# Bound on how fast object distance functions change per metre moved: 1 for exact distances;
# the approximate SDFs of star-shaped bodies (f / |grad f|) stay below this.
SDF_LIPSCHITZ = 2.0
LONG_EDGE_SHARE = 0.75  # cubical pinches with 3+ fingers: this share approaches a long edge
CUBICAL_PINCH_EXTRA_DEPTH = 0.015  # m: and their pads go this much further over the edge


def preshape_angles(gtype, rng, width=0.05):
    """Open joint angles (NUM_DOF,) of a grasp type's pre-shape for an object `width` (m)
    across the grasp, jittered by rng."""
    a = kin.neutral_angles()
    hi = kin.LIMITS_HI
    jit = lambda s=0.05: float(rng.uniform(-s, s))  # noqa: E731 - tiny local helper
    for f, name in enumerate(kin.FINGERS[1:], start=1):
        curl = 1.0 if f in gtype.fingers else 0.0
        mcp = gtype.mcp if curl else gtype.idle_curl
        pip = gtype.pip if curl else gtype.idle_curl
        i_m, i_a, i_p, i_d = (kin.DOF_INDEX[f"{name}_{j}"] for j in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"))
        a[i_m] = max(0.0, mcp + jit()) * hi[i_m]
        a[i_p] = max(0.0, pip + jit()) * hi[i_p]
        a[i_d] = kin.couple_dip(a[i_p])
        spread_sign = 0.0 if name == "middle" else 1.0
        a[i_a] = spread_sign * np.clip(gtype.spread + jit(0.1), -1, 1) * 0.6 * hi[i_a]
    o = np.clip(gtype.thumb_opposition + jit(), 0.0, 1.0)
    t = max(0.0, gtype.thumb_flex + jit())
    d = kin.DOF_INDEX
    if gtype.thumb_abduction is not None:
        # Thumb wrap: palmar-abducted off the palm plane, pulp turned toward the object, MCP/IP
        # straight; closing flexes it round the object's wrist side (see GraspType.thumb_abduction).
        a[d["thumb_cmc_abd"]] = np.clip(gtype.thumb_abduction + jit(), 0.0, 1.0) * hi[d["thumb_cmc_abd"]]
        a[d["thumb_cmc_roll"]] = o * hi[d["thumb_cmc_roll"]]
        a[d["thumb_cmc_flex"]] = (gtype.thumb_flex + jit()) * hi[d["thumb_cmc_flex"]]
        a[d["thumb_mcp_flex"]] = 0.0
        a[d["thumb_ip_flex"]] = 0.0
    elif gtype.thumb_drive == "thumb_cmc_abd":
        # Thumb starts flat, slightly behind the palm plane, so the palm meets the object first;
        # closing then lifts it onto the object.
        a[d["thumb_cmc_abd"]] = 0.6 * kin.LIMITS_LO[d["thumb_cmc_abd"]]
        a[d["thumb_cmc_roll"]] = o * hi[d["thumb_cmc_roll"]]
        a[d["thumb_cmc_flex"]] = 0.0
        a[d["thumb_mcp_flex"]] = t * hi[d["thumb_mcp_flex"]]
        a[d["thumb_ip_flex"]] = t * hi[d["thumb_ip_flex"]]
    else:
        # Opposed thumb whose pad faces the finger pads across an aperture a little wider than
        # the object (fitted on the kinematic model: pulp-to-pulp facing >= 0.75 over 2-8 cm).
        ap = float(np.clip(width + rng.uniform(0.025, 0.04), 0.02, 0.09))
        u = (ap - 0.02) / 0.06
        a[d["thumb_cmc_flex"]] = np.radians(20.0 - 40.0 * u)
        a[d["thumb_cmc_abd"]] = np.radians(20.0 + 30.0 * u)
        a[d["thumb_cmc_roll"]] = o * hi[d["thumb_cmc_roll"]]
        a[d["thumb_mcp_flex"]] = np.radians(15.0 * min(1.0, 2 * u)) + t * 0.2
        a[d["thumb_ip_flex"]] = np.radians(15.0 * u)
    return kin.clamp_angles(a)


@dataclass
class ObjectFrame:
    """Object centre (3,), principal axes (3, 3 rows, longest first), extents (3,), the
    median width of its sections across the long axis (m; a spoon's handle, not its bowl)
    and their profile `sections` (SECTION_BINS, 4): per slice along axes[0] its centre, its
    width (along axes[1]), thickness (along axes[2]) and the middle of its extent along
    axes[2] (m, from `centre`; NaN for slices with too few samples)."""

    centre: np.ndarray
    axes: np.ndarray
    extents: np.ndarray
    section_width: float = None
    sections: np.ndarray = None


SECTION_BINS = 12  # slices along the long axis for ObjectFrame.section_width
SECTION_SAMPLES = 4096  # surface points (area-weighted) the slices are measured on


def section_width(vertices, faces, axes):
    """Median over slices along axes[0] of the extent along axes[1] (m) of a mesh whose
    vertices (V, 3) are centred on its frame (section_profile()[0])."""
    return section_profile(vertices, faces, axes)[0]


def section_profile(vertices, faces, axes):
    """(median width (m), sections (SECTION_BINS, 4)) of a mesh whose vertices (V, 3) are
    centred on its frame: slices along axes[0] (see ObjectFrame.sections).

    The slices are measured on area-weighted surface samples (a fixed Generator: the same
    mesh always gives the same width), so sparse cap vertices do not count as thin slices.
    """
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[np.asarray(faces, dtype=np.int64)]  # (F, 3, 3)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    rng = np.random.default_rng(0)
    f = rng.choice(len(tri), size=SECTION_SAMPLES, p=area / area.sum())
    u, w = rng.random((2, SECTION_SAMPLES))
    flip = u + w > 1
    u, w = np.where(flip, 1 - u, u), np.where(flip, 1 - w, w)
    pts = tri[f, 0] + u[:, None] * (tri[f, 1] - tri[f, 0]) + w[:, None] * (tri[f, 2] - tri[f, 0])
    local = pts @ np.asarray(axes).T
    lo, hi = local[:, 0].min(), local[:, 0].max()
    k = np.minimum(((local[:, 0] - lo) / max(hi - lo, 1e-9) * SECTION_BINS).astype(int), SECTION_BINS - 1)
    sections = np.full((SECTION_BINS, 4), np.nan)
    sections[:, 0] = lo + (np.arange(SECTION_BINS) + 0.5) * (hi - lo) / SECTION_BINS
    for b in range(SECTION_BINS):
        if np.count_nonzero(k == b) >= 16:
            y, z = local[k == b, 1], local[k == b, 2]
            sections[b, 1:] = np.ptp(y), np.ptp(z), 0.5 * (z.min() + z.max())
    return float(np.median(sections[np.isfinite(sections[:, 1]), 1])), sections


def object_frame(geom):
    """Principal frame of an object geometry (cached on the object)."""
    cached = getattr(geom, "_hopgen_grasp_frame", None)
    if cached is not None:
        return cached
    g = normalise_for_grasp(geom.vertices, geom.faces)
    frame = ObjectFrame(g.centre, g.axes, g.extents, *section_profile(g.vertices, g.faces, g.axes))
    if getattr(geom, "category", None) == "cylindrical":
        frame = body_axis_frame(geom.vertices, geom.faces, frame)
    try:
        geom._hopgen_grasp_frame = frame
    except (AttributeError, TypeError):
        pass
    return frame


def revolution_axis(vertices, faces, rounds=8):
    """Axis of a body of revolution fitted to a mesh: (unit direction (3,), point (3,), rms
    residual). Every surface normal line of such a body meets its axis: with the face normals
    n at the face centres p, the axis (u, m = c x u) minimises sum w (u . (p x n) + n . m)^2
    over |u| = 1 (linear in the line's Pluecker coordinates); faces that do not fit (a mug's
    handle) are weighted down, iteratively (Cauchy weights at the median residual)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]
    centre = v.mean(axis=0)
    p = tri.mean(axis=1) - centre
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(n, axis=1)
    ok = area > 1e-14
    p, n, area = p[ok], n[ok] / area[ok, None], area[ok]
    a = np.concatenate([np.cross(p, n), n], axis=1)  # (F, 6): residual = a @ (u, m)
    w = area / area.sum()
    for _ in range(rounds):
        mm = (a * w[:, None]).T @ a
        schur = mm[:3, :3] - mm[:3, 3:] @ np.linalg.solve(mm[3:, 3:], mm[3:, :3])
        u = np.linalg.eigh(schur)[1][:, 0]
        m = -np.linalg.solve(mm[3:, 3:], mm[3:, :3] @ u)
        r = a @ np.concatenate([u, m])
        sigma = max(float(np.median(np.abs(r))), 1e-6)
        w = area / (1.0 + (r / sigma) ** 2)
        w /= w.sum()
    rms = float(np.sqrt(np.sum(w * r * r)))
    return u, centre + np.cross(u, m), rms


BODY_AXIS_MIN_DEG = 20.0  # the fitted axis replaces the principal long axis beyond this angle


def body_axis_frame(vertices, faces, frame):
    """A cylindrical object's frame with axes[0] along its body's axis of revolution where the
    principal long axis is far from it (a mug: body + handle is its longest extent, and the
    principal axes of a tall mug run diagonally); otherwise `frame` unchanged."""
    u, c, _ = revolution_axis(vertices, faces)
    if abs(float(u @ frame.axes[0])) > np.cos(np.radians(BODY_AXIS_MIN_DEG)):
        return frame
    v = np.asarray(vertices, dtype=np.float64)
    q = v - c - np.outer((v - c) @ u, u)
    w, vec = np.linalg.eigh(q.T @ q)
    a1 = vec[:, 2] - u * (vec[:, 2] @ u)
    a1 /= np.linalg.norm(a1)
    axes = np.stack([u, a1, np.cross(u, a1)])
    proj = (v - c) @ axes.T
    lo, hi = proj.min(axis=0), proj.max(axis=0)
    return ObjectFrame(c + u * 0.5 * (lo[0] + hi[0]), axes, hi - lo, *section_profile(v - c, faces, axes))


@dataclass
class Placement:
    """Hand orientation and approach line (object frame)."""

    rot: np.ndarray  # (3, 3) hand -> object rotation
    target: np.ndarray  # (3,) point the reference travels toward
    direction: np.ndarray  # (3,) unit approach direction (hand moves along it)
    ref: np.ndarray  # (3,) reference point in the hand frame
    extra_depth: float = 0.0  # m a precision reference goes past the outline beyond the type's standoff
    back_off: float = 0.0  # m a precision placement backs out beyond clearing the object (insert)

    def hand_to_object(self, s):
        """4x4 hand pose with the reference point at target - s * direction."""
        m = np.eye(4)
        m[:3, :3] = self.rot
        m[:3, 3] = self.target - s * self.direction - self.rot @ self.ref
        return m


def _unit(v):
    return v / np.linalg.norm(v)


def _perp(v, rng):
    """A random unit vector perpendicular to unit v."""
    while True:
        u = rng.normal(size=3)
        u -= v * (u @ v)
        n = np.linalg.norm(u)
        if n > 1e-6:
            return u / n


def _rot_about(axis, ang):
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(ang) * k + (1 - np.cos(ang)) * (k @ k)


def _frame_map(a_h, b_h, a_o, b_o):
    """Rotation taking orthonormal hand directions (a_h, b_h) to object directions (a_o, b_o)."""
    h = np.stack([a_h, b_h, np.cross(a_h, b_h)], axis=1)
    o = np.stack([a_o, b_o, np.cross(a_o, b_o)], axis=1)
    return o @ h.T


def _finger_base_y(skin, angles, pts=None):
    """Hand-frame y where the long fingers' proximal skin starts (the knuckle line)."""
    if pts is None:
        _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
        pts = skin.pose(transforms)
    return float(pts[(skin.finger >= 1) & (skin.segment == 0)][:, 1].min())


def hand_references(skin, angles, gtype):
    """Hand-frame landmarks at a pose: palm centre (3,), pinch centre (3,), pinch axis (3,)
    (from the finger pads toward the thumb pad), tip centre (3,) and {finger: distal pad
    centre (3,)}."""
    _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
    pts = skin.pose(transforms)
    palm = pts[skin.finger == -1]
    # Objects are held against the distal palm, in front of the knuckles' pads.
    base_y = _finger_base_y(skin, angles, pts)
    palm_centre = np.array([palm[:, 0].mean(), gtype.palm_y * base_y, np.percentile(palm[:, 2], 90)])
    tips = {}
    for f in range(5):
        sel = (skin.finger == f) & (skin.segment == 2)
        tips[f] = pts[sel].mean(axis=0)
    others = [f for f in gtype.fingers if f != 0] or [1]
    finger_tips = np.mean([tips[f] for f in others], axis=0)
    pinch_centre = 0.5 * (tips[0] + finger_tips)
    pinch_axis = _unit(tips[0] - finger_tips)
    tip_centre = np.mean([tips[f] for f in gtype.fingers], axis=0)
    return palm_centre, pinch_centre, pinch_axis, tip_centre, tips


def _nearest_pad_gap_centre(pinch_c, pinch_ax, tips, fingers):
    """The point on the pinch axis midway between the thumb pad and the finger pad nearest to
    it along the axis (the pinch centre is midway to the fingers' mean pad, so in a 4-finger
    pre-shape the index pad, nearer the thumb than the others, lies ~1 cm past it)."""
    t_thumb = float((tips[0] - pinch_c) @ pinch_ax)
    t_near = max(float((tips[f] - pinch_c) @ pinch_ax) for f in fingers if f != 0)
    return pinch_c + 0.5 * (t_thumb + t_near) * pinch_ax


def sample_placement(gtype, frame, category, skin, angles, rng, hold_near=None):
    """Random placement of a grasp type around an object (see module docstring).

    hold_near: optional (centre of mass (3,), reach m), see hopgen.grasp.holdnear: wraps and
    heavy boxes' pinches are held near it; None draws as without the hold test."""
    ax, ext = frame.axes, frame.extents
    palm_c, pinch_c, pinch_ax, tip_c, tips = hand_references(skin, angles, gtype)
    thumb_side = np.array([1.0 if skin.side == "right" else -1.0, 0.0, 0.0])  # hand x toward the thumb
    if gtype.approach == "wrap":
        long_axis = ax[0] * (1.0 if rng.random() < 0.75 else -1.0)  # thumb mostly toward the +axis end
        phi = rng.uniform(0, 2 * np.pi)
        radial = np.cos(phi) * ax[1] + np.sin(phi) * ax[2]
        d = -radial
        x_o = _rot_about(d, rng.uniform(-0.25, 0.25)) @ long_axis
        rot = _frame_map(thumb_side, np.array([0.0, 0.0, 1.0]), x_o, d)
        room = max(0.0, 0.5 * ext[0] - 0.045)
        lo, hi = -room, room
        if hold_near is not None:  # (a reach beyond the object's ends draws as without it)
            lo, hi = holdnear.within_reach(float((np.asarray(hold_near[0]) - frame.centre) @ long_axis), hold_near[1], room)
        target = frame.centre + rng.uniform(lo, hi) * long_axis
        return Placement(rot, target, d, palm_c)
    if gtype.approach == "any":
        d = _unit(rng.normal(size=3))
        x_o = _perp(d, rng)
        rot = _frame_map(thumb_side, np.array([0.0, 0.0, 1.0]), x_o, d)
        return Placement(rot, frame.centre.copy(), d, palm_c)
    if gtype.approach == "tip":
        d = ax[0] * (1.0 if rng.random() < 0.5 else -1.0)
        x_o = _perp(d, rng)
        rot = _frame_map(thumb_side, np.array([0.0, 0.0, 1.0]), x_o, d)
        # Tips go to the near end's rim: the tip centre travels to the end face.
        target = frame.centre + d * (-0.5 * ext[0] + 0.25 * min(ext[1], 0.04))
        return Placement(rot, target, d, tip_c)
    if gtype.approach == "edge":
        d = ax[2] * (1.0 if rng.random() < 0.5 else -1.0)  # palm onto a large face
        th = rng.choice(4) * 0.5 * np.pi + rng.uniform(-0.3, 0.3)
        e = _unit(np.cos(th) * ax[0] + np.sin(th) * ax[1])  # fingers point at this edge
        rot = _frame_map(np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), e, d)
        reach = 0.5 * float(np.abs(ax[:2] @ e) @ ext[:2])  # centre to the edge along e
        base_y = _finger_base_y(skin, angles)
        ref = np.array([palm_c[0], base_y, palm_c[2]])  # the knuckle line, on the palm surface
        side = np.cross(d, e)
        target = frame.centre + e * (reach - rng.uniform(0.005, 0.02)) + side * rng.uniform(-0.02, 0.02)
        return Placement(rot, target, d, ref)
    # pinch: thumb and finger pads close across the pinch axis p of the object.
    if category == "cubical":
        p = ax[2] * (1.0 if rng.random() < 0.5 else -1.0)
        th = rng.uniform(0, 2 * np.pi)
        if len(gtype.fingers) > 2 and rng.random() < LONG_EDGE_SHARE:
            # Several fingers side by side along the edge: mostly onto a long edge (a phone held
            # across its width), where the row of finger pads fits.
            th = (0.5 if np.sin(th) >= 0 else -0.5) * np.pi + rng.uniform(-0.35, 0.35)
        d = _unit(np.cos(th) * ax[0] + np.sin(th) * ax[1])
        if holdnear.about_edge(frame, d, hold_near):
            d = holdnear.square_onto_edge(frame, d)
    elif flathandle.flat_section(frame, category):
        # Pads on the flat faces of a thin handle, as people pinch a spoon: across a random
        # section direction the thumb met a 2 mm edge of the spoon's handle or passed it by
        # (too_few_fingers_in_contact in 30 of 48 attempts, m03 right, seed 1).
        p = _rot_about(ax[0], rng.uniform(-flathandle.FLAT_PINCH_TILT, flathandle.FLAT_PINCH_TILT)) @ ax[2]
        p = p * (1.0 if rng.random() < 0.5 else -1.0)
        d = _unit(_rot_about(p, rng.uniform(-0.5, 0.5)) @ np.cross(ax[0], p))
    elif category in ("slender", "cylindrical"):
        phi = rng.uniform(0, 2 * np.pi)
        p = np.cos(phi) * ax[1] + np.sin(phi) * ax[2]
        radial = np.cross(ax[0], p)
        d = _unit(_rot_about(p, rng.uniform(-0.5, 0.5)) @ radial)
    else:
        p = _unit(rng.normal(size=3))
        d = _perp(p, rng)
    d_h = palm_c - pinch_c
    d_h = -_unit(d_h - pinch_ax * (d_h @ pinch_ax))  # from the palm toward the pinch centre
    rot = _frame_map(pinch_ax, d_h, p, d)
    e = np.cross(p, d)
    span = np.abs(ax @ e) @ ext  # extent of the object along e
    room = max(0.0, 0.5 * span - 0.015)
    span_d = float(np.abs(ax @ d) @ ext)
    heavy = category == "cubical" and holdnear.about_edge(frame, d, hold_near)
    (lo, hi), extra, back_off = (-room, room), CUBICAL_PINCH_EXTRA_DEPTH, 0.0
    if heavy:  # deep, square, tilted, near the centre of mass along the edge
        tilt, (lo, hi), extra, back_off = holdnear.heavy_pinch(e, frame, hold_near, room, rng)
        rot = _rot_about(e, -tilt) @ rot  # (e = p x d: -tilt turns p toward -d, the thumb toward the edge)
    extra_depth = max(0.0, min(extra, 0.5 * span_d - 0.03))
    target = frame.centre + rng.uniform(lo, hi) * e
    if flathandle.flat_section(frame, category):
        # The line runs in the handle's mid-plane: a spoon's handle bends out of the frame's
        # plane, and lines through the frame centre plane missed it (line_misses_object in
        # 16-22 of 48 attempts).
        # (the same line, from where it crosses the long axis, the handle's middle)
        target = target - float((target - frame.centre) @ ax[1]) / float(d @ ax[1]) * d
        off = target - frame.centre
        target = target + (flathandle.section_mid_at(frame, float(off @ ax[0])) - float(off @ ax[2])) * ax[2]
    if category == "cubical" and len(gtype.fingers) > 2:
        # A flat face between the thumb and several finger pads: centre it in the gap the pads
        # leave (with the fingers' mean pad the index pad blocked 32 of 40 4-finger pinches of a
        # phone; subject f01, left hand).
        # Deeper over the edge than the type's standoff (up to half the object's extent along
        # the approach): the shorter ring and little fingers curled past the edge of a phone
        # without touching it (2 fingers in contact in 10 of 40 pinches; 1 of 40 with 1.5 cm more).
        return Placement(rot, target, d, _nearest_pad_gap_centre(pinch_c, pinch_ax, tips, gtype.fingers),
                         extra_depth=extra_depth, back_off=back_off)
    return Placement(rot, target, d, pinch_c, extra_depth=extra_depth if heavy else 0.0, back_off=back_off)


def approach(skin, angles, placement, sdf, s_start, clearance=CLEARANCE):
    """Slide the hand along the placement line from s_start toward s = 0.

    Returns (s, collided): the stop position and whether the skin touched (else the
    reference reached the target). Coarse steps of APPROACH_STEP, then a fine bracket.
    """
    _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
    pts = skin.pose(transforms) @ placement.rot.T  # (P, 3) rotated, not yet translated
    base = placement.target - placement.rot @ placement.ref

    def min_dist(svals):
        shift = base[None, :] - svals[:, None] * placement.direction[None, :]  # (S, 3)
        q = (pts[None, :, :] + shift[:, None, :]).reshape(-1, 3)
        return sdf(q).reshape(len(svals), -1).min(axis=1)

    s_vals = np.arange(s_start, -1e-9, -APPROACH_STEP)
    # March down the grid: the closest skin distance changes by at most |ds| * L between
    # positions (the hand moves rigidly; L the distance's Lipschitz bound), so grid positions
    # closer than (d - clearance) / L to one just measured cannot touch and are skipped.
    k = 0
    while True:
        d = float(min_dist(s_vals[k:k + 1])[0])
        if d <= clearance:
            break
        k += max(1, int((d - clearance) / (SDF_LIPSCHITZ * APPROACH_STEP)))
        if k >= len(s_vals):
            return 0.0, False
    if k == 0:
        return float(s_vals[0]), True
    fine = np.linspace(s_vals[k - 1], s_vals[k], 17)
    df = min_dist(fine)
    j = np.nonzero(df <= clearance)[0][0]
    return float(fine[max(j - 1, 0)]), True


def entry_distance(placement, sdf, s_start, tol=1e-4, max_iter=200):
    """Value of s where the reference line first enters the object (sphere tracing), or None."""
    s = float(s_start)
    for _ in range(max_iter):
        d = float(sdf((placement.target - s * placement.direction)[None])[0])
        if d <= tol:
            return s
        s -= max(d, tol)
        if s < -s_start:
            return None
    return None


def insert(skin, angles, placement, sdf, s_start, depth, clearance=CLEARANCE):
    """Precision placement: the reference point (between the pads) goes `depth` past the point
    where its line enters the object, then the hand backs out until the pre-shaped skin is
    clear, and placement.back_off farther. Returns (s, reason): reason None on success, else why
    it failed ("pads_blocked": still not clear 5 mm before the entry point)."""
    s_entry = entry_distance(placement, sdf, s_start)
    if s_entry is None:
        return None, "line_misses_object"
    s = max(s_entry - depth, min(s_entry, 0.0))
    _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
    pts = skin.pose(transforms) @ placement.rot.T
    base = placement.target - placement.rot @ placement.ref
    # Steps of the deepest penetration + 0.5 mm: at most (depth + 5 mm) / 0.5 mm (a fixed 12 called
    # a heavy book's deep pinch, 7-9 cm past the edge, blocked in 26 of 30 that cleared 1-6 cm in).
    while s <= s_entry + 0.005:
        d = sdf(pts + (base - s * placement.direction)).min()
        if d >= clearance:
            return s + placement.back_off, None
        s += (clearance - d) + 0.0005
    return None, "pads_blocked"
