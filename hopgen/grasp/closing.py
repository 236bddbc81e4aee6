"""Finger closing: flex joint by joint until the skin touches the object.

The hand is represented by sample points of its skin (HandSkin: palmar-side vertices of
the real hand mesh, each rigidly attached to one bone). Closing one joint rotates every
point distal to it about that joint's axis; the axis and centre are read off the
kinematic model numerically (a single revolute DoF moves the distal bones by a rotation
about a fixed axis through the joint centre), so this module needs no knowledge of how
kinematics composes its rotations. All fingers close at once, vectorised over
(steps x points), coarse then fine, against the object's signed distance.
"""

from dataclasses import dataclass

import numpy as np

from hopgen.hand import kinematics as kin
from hopgen.core.skeleton import SEG_PALM, seg_phalanx

TOUCH_GAP = 0.0  # m: a joint group stops when its skin comes this close to the surface
COARSE_STEP = 0.06  # rad of the driving parameter per coarse step
FINE_STEPS = 12
SWEEP_CHUNK = 6  # sweep steps evaluated per distance query (the sweep stops at the first touch)
# Relative joint speeds while a finger curls (proximal to distal): the DIP follows the PIP at
# about 2/3 (kinematics.couple_dip), the thumb's MCP/IP follow its driving CMC DoF.
FINGER_RATES = (1.0, 1.0, 2.0 / 3.0)
THUMB_RATES = (1.0, 0.8, 0.8)


def dof_bone(dof):
    """Skinning bone moved first by DoF `dof` (index): its origin is the joint centre."""
    name = kin.DOF_NAMES[dof]
    finger = kin.FINGERS.index(name.split("_")[0])
    joint = name.split("_")[1]
    order = ("cmc", "mcp", "ip") if finger == 0 else ("mcp", "pip", "dip")
    return 4 * finger + 1 + order.index(joint)


def bone_of_label(label):
    """Skinning bone (0..19) that carries skin of segmentation label `label` (palm: bone 0)."""
    if label == SEG_PALM:
        return 0
    k = label - seg_phalanx(0, 0)
    return 4 * (k // 3) + 1 + k % 3


@dataclass
class HandSkin:
    """Skin sample points of one hand at rest (hand frame), each rigid on one bone.

    rest (P, 3); bone (P,) skinning bone; label (P,) seg label; finger (P,) -1 palm or 0..4;
    segment (P,) -1 palm or 0..2.
    """

    shape: object
    side: str
    rest: np.ndarray
    bone: np.ndarray
    label: np.ndarray
    finger: np.ndarray
    segment: np.ndarray

    def pose(self, transforms):
        """Posed points (P, 3) for rest-to-posed bone transforms (20, 4, 4)."""
        t = transforms[self.bone]  # (P, 4, 4)
        return np.einsum("pij,pj->pi", t[:, :3, :3], self.rest) + t[:, :3, 3]


def skin_from_mesh(shape, side, rest_vertices, vertex_labels, per_bone=48, palm_points=160):
    """Select palmar/side skin vertices per phalanx (and the palm) from a hand mesh.

    rest_vertices (V, 3) at neutral_angles(); vertex_labels (V,) seg labels (SEG_PALM or a
    phalanx; others are skipped). Vertices facing away from the pulp are dropped (they cannot
    touch a grasped object first) and each part is subsampled to a fixed budget.
    """
    _, frames = kin.forward_kinematics(shape, kin.neutral_angles(), side)
    full = kin.forward_kinematics_full(shape, kin.neutral_angles(), side)
    v = np.asarray(rest_vertices, dtype=np.float64)
    lab = np.asarray(vertex_labels)
    keep_idx = []
    for label in [SEG_PALM] + [seg_phalanx(f, s) for f in range(5) for s in range(3)]:
        idx = np.nonzero(lab == label)[0]
        if len(idx) == 0:
            continue
        b = bone_of_label(label)
        if label == SEG_PALM:
            pulp = np.array([0.0, 0.0, 1.0])
            centre = full.joints[[0, 5, 9, 13, 17]].mean(axis=0)
        else:
            pulp = full.frames[b, :3, 2]
            centre = full.frames[b, :3, 3] + 0.5 * (full.joints[b + 1] - full.frames[b, :3, 3])
        # Outward direction from the part's centre line approximates the skin normal.
        rel = v[idx] - centre
        axis = (full.joints[b + 1] - full.frames[b, :3, 3]) if label != SEG_PALM else np.zeros(3)
        if label != SEG_PALM:
            a = axis / np.linalg.norm(axis)
            rel = rel - np.outer(rel @ a, a)
            facing = (rel @ pulp) / np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
            sel = idx[facing > -0.35]
            budget = per_bone
        else:
            sel = idx[v[idx, 2] > centre[2] - 0.002]  # palmar half of the palm
            budget = palm_points
        if len(sel) > budget:
            sel = sel[np.linspace(0, len(sel) - 1, budget).round().astype(int)]
        keep_idx.append(sel)
    keep = np.concatenate(keep_idx)
    labels = lab[keep]
    bones = np.array([bone_of_label(int(x)) for x in labels])
    k = labels - seg_phalanx(0, 0)
    finger = np.where(labels == SEG_PALM, -1, k // 3)
    segment = np.where(labels == SEG_PALM, -1, k % 3)
    del frames
    return HandSkin(shape, side, v[keep], bones, labels, finger, segment)


def joint_axes(shape, side, angles, dofs, eps=0.05):
    """Rotation axis (n, 3) and centre (n, 3) of each DoF in `dofs` at pose `angles`.

    DoFs of different fingers are perturbed together (one FK call per group) since the
    fingers are independent chains.
    """
    base = kin.forward_kinematics_full(shape, angles, side)
    axes = np.zeros((len(dofs), 3))
    centres = np.zeros((len(dofs), 3))
    pending = list(range(len(dofs)))
    while pending:
        group, used = [], set()
        for i in pending:
            f = kin.FINGERS.index(kin.DOF_NAMES[dofs[i]].split("_")[0])
            if f not in used:
                used.add(f)
                group.append(i)
        pending = [i for i in pending if i not in group]
        a = np.array(angles, dtype=np.float64)
        sign = {}
        for i in group:
            # Perturb inward unless that leaves the limits (the axis is the same either way).
            s = 1.0 if a[dofs[i]] + eps <= kin.LIMITS_HI[dofs[i]] else -1.0
            a[dofs[i]] += s * eps
            sign[i] = s
        moved = kin.forward_kinematics_full(shape, a, side)
        for i in group:
            b = dof_bone(dofs[i])
            r = moved.transforms[b, :3, :3] @ base.transforms[b, :3, :3].T  # relative rotation
            w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
            axes[i] = sign[i] * w / max(np.linalg.norm(w), 1e-12)
            centres[i] = base.frames[b, :3, 3]
    return axes, centres


def rotations(axis, angles):
    """Rodrigues rotations (S, 3, 3) about unit `axis` (3,) by `angles` (S,)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def finger_chain(finger, thumb_drive="thumb_cmc_flex", finger_rates=FINGER_RATES, thumb_rates=None):
    """DoF indices (3,) of a finger's closing chain, proximal to distal, and their rates.

    The thumb's first DoF is `thumb_drive`: cmc_flex sweeps it across toward the fingers,
    cmc_abd lifts it off the palm plane toward the object; its rates are `thumb_rates`
    (default THUMB_RATES).
    """
    if finger == 0:
        names = (thumb_drive, "thumb_mcp_flex", "thumb_ip_flex")
        return tuple(kin.DOF_INDEX[n] for n in names), tuple(thumb_rates or THUMB_RATES)
    n = kin.FINGERS[finger]
    names = (f"{n}_mcp_flex", f"{n}_pip_flex", f"{n}_dip_flex")
    return tuple(kin.DOF_INDEX[x] for x in names), tuple(finger_rates)


def chain_points(points, bones, dofs, axes, centres, deltas):
    """Finger points (n, 3) after its DoFs `dofs` (k,) change by deltas (S, k) -> (S, n, 3).

    DoF j rotates the points distal to it about its axis through its centre (both in the
    current configuration); a serial chain applies the distal rotations first, so a point
    carried by DoFs 0..j moves by T_0 o ... o T_j. Those compositions are built once per step
    (S small 3x3 products) and each point is moved once by its own.
    """
    out = np.broadcast_to(points, (len(deltas),) + points.shape).copy()
    first = [dof_bone(d) for d in dofs]  # first bone each DoF moves (increasing along the chain)
    rot = trans = None
    for k in range(len(dofs)):
        r = rotations(axes[k], deltas[:, k])  # (S, 3, 3)
        t = centres[k] - np.einsum("sij,j->si", r, centres[k])  # (S, 3): x -> r x + t
        if rot is None:
            rot, trans = r, t
        else:  # (rot, trans) o (r, t); einsum, not matmul: no BLAS, same bits on every build
            rot, trans = np.einsum("sij,sjk->sik", rot, r), np.einsum("sij,sj->si", rot, t) + trans
        last = first[k + 1] if k + 1 < len(dofs) else np.inf
        sel = (bones >= first[k]) & (bones < last)
        if sel.any():
            out[:, sel] = np.einsum("sij,nj->sni", rot, points[sel]) + trans[:, None, :]
    return out


@dataclass
class _Group:
    """The joints of one finger that still move, and its points that they carry."""

    finger: int
    dofs: tuple
    rates: np.ndarray
    start: np.ndarray  # (k,) current values
    hi: np.ndarray  # (k,) upper limits
    t_max: float
    axes: np.ndarray = None
    centres: np.ndarray = None
    points: np.ndarray = None
    bones: np.ndarray = None
    segments: np.ndarray = None

    def values(self, t):
        """DoF values (S, k) at driving parameters t (S,), each clipped at its limit."""
        return np.minimum(self.start + np.outer(t, self.rates), self.hi)


def close_fingers(skin, angles, hand_to_obj, sdf, fingers, gap=TOUCH_GAP, caps=None,
                  thumb_drive="thumb_cmc_flex", finger_rates=FINGER_RATES, thumb_rates=None):
    """Curl `fingers` until their phalanges touch the object, within joint limits.

    All joints of a finger flex together (at FINGER_RATES / THUMB_RATES); when a phalanx
    touches, the joints proximal to it freeze and the distal ones keep curling (so a finger
    wraps around the object rather than stopping as a straight lever). angles (NUM_DOF,)
    start pose; hand_to_obj (4, 4); sdf (N, 3) -> (N,) in the object frame; caps: optional
    {finger: max driving parameter} (idle fingers curl only so far).
    Returns (angles, touched {finger: bool}).
    """
    angles = np.array(angles, dtype=np.float64)
    rot, trans = hand_to_obj[:3, :3], hand_to_obj[:3, 3]
    caps = caps or {}
    first = {f: 0 for f in fingers}  # first chain joint still moving
    touched = {f: False for f in fingers}
    for _ in range(3):
        active = [f for f in fingers if first[f] < 3]
        if not active:
            break
        groups = [_chain_group(f, angles, first[f], caps.get(f) if first[f] == 0 else None,
                               thumb_drive, finger_rates, thumb_rates) for f in active]
        _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
        posed = skin.pose(transforms)
        all_dofs = [d for g in groups for d in g.dofs]
        axes, centres = joint_axes(skin.shape, skin.side, angles, all_dofs)
        k0 = 0
        for g in groups:
            n = len(g.dofs)
            g.axes, g.centres = axes[k0:k0 + n], centres[k0:k0 + n]
            k0 += n
            sel = (skin.finger == g.finger) & (skin.bone >= dof_bone(g.dofs[0]))
            g.points, g.bones, g.segments = posed[sel], skin.bone[sel], skin.segment[sel]
        for g, (t, seg) in zip(groups, _sweep(groups, rot, trans, sdf, gap)):
            angles[list(g.dofs)] = g.values(np.array([t]))[0]
            if seg is None:  # reached the limits without touching
                first[g.finger] = 3
            else:
                touched[g.finger] = True
                first[g.finger] = max(first[g.finger], seg) + 1
    return angles, touched


def _chain_group(finger, angles, first, cap, thumb_drive, finger_rates, thumb_rates):
    """_Group of a finger's closing chain from its joint `first` on, at `angles` (cap: at most
    this driving parameter, None: to the joint limits)."""
    dofs, rates = finger_chain(finger, thumb_drive, finger_rates, thumb_rates)
    dofs, rates = dofs[first:], np.array(rates[first:])
    rates = rates / rates.max()  # the driving parameter is the fastest joint's angle
    start, hi = angles[list(dofs)], kin.LIMITS_HI[list(dofs)]
    t_max = float(np.max((hi - start) / rates))
    if cap is not None:
        t_max = min(t_max, cap)
    return _Group(finger, dofs, rates, start, hi, max(t_max, 0.0))


def closest_approach(skin, angles, hand_to_obj, sdf, finger, step=0.02, thumb_drive="thumb_cmc_flex",
                     finger_rates=FINGER_RATES, thumb_rates=None):
    """How near one finger's closing sweep from `angles` passes the object: (the least signed
    distance (m) of its skin over the sweep to its joint limits, evaluated every `step` of the
    driving parameter, and that skin point (3,) in the object frame)."""
    angles = np.array(angles, dtype=np.float64)
    g = _chain_group(finger, angles, 0, None, thumb_drive, finger_rates, thumb_rates)
    dofs = g.dofs
    _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
    sel = (skin.finger == finger) & (skin.bone >= dof_bone(dofs[0]))
    g.points, g.bones = skin.pose(transforms)[sel], skin.bone[sel]
    g.axes, g.centres = joint_axes(skin.shape, skin.side, angles, list(dofs))
    ts = np.linspace(0.0, g.t_max, max(2, int(np.ceil(g.t_max / step)) + 1))
    pts = chain_points(g.points, g.bones, g.dofs, g.axes, g.centres, g.values(ts) - g.start).reshape(-1, 3)
    pts = pts @ hand_to_obj[:3, :3].T + hand_to_obj[:3, 3]
    d = sdf(pts)
    i = int(np.argmin(d))
    return float(d[i]), pts[i]


def _sweep(groups, rot, trans, sdf, gap):
    """Per group: (t, touching segment or None) at the first touch along its sweep."""
    coarse = [np.linspace(0.0, g.t_max, max(2, int(np.ceil(g.t_max / COARSE_STEP)) + 1)) for g in groups]
    hits = _first_hits(groups, coarse, rot, trans, sdf, gap)
    out, fine, fine_idx = [None] * len(groups), [], []
    for i, (g, ts, (k, arg)) in enumerate(zip(groups, coarse, hits)):
        if k is None:
            out[i] = (float(ts[-1]), None)
        elif k == 0:
            out[i] = (0.0, int(g.segments[arg]))
        else:
            fine.append(np.linspace(ts[k - 1], ts[k], FINE_STEPS + 1))
            fine_idx.append(i)
    if fine_idx:
        sub = [groups[i] for i in fine_idx]
        for j, (i, (k, arg)) in enumerate(zip(fine_idx, _first_hits(sub, fine, rot, trans, sdf, gap))):
            k = len(fine[j]) - 1 if k is None else k
            out[i] = (float(fine[j][k]), int(groups[i].segments[arg]))
    return out


def _first_hits(groups, ts, rot, trans, sdf, gap):
    """Per group: (first step k whose closest point is within `gap`, that point's index), or
    (None, closest point index at the last step) when no step touches.

    The steps are evaluated in chunks of SWEEP_CHUNK, all groups together, and a group stops
    at its first touching chunk: the steps after the first touch (fingers sweeping through
    the object) are never evaluated.
    """
    res = [None] * len(groups)
    pending, start = list(range(len(groups))), 0
    while pending:
        dist, arg = _eval([groups[i] for i in pending], [ts[i][start:start + SWEEP_CHUNK] for i in pending],
                          rot, trans, sdf)
        still = []
        for i, d, a in zip(pending, dist, arg):
            hit = np.nonzero(d <= gap)[0]
            if len(hit):
                res[i] = (start + int(hit[0]), int(a[hit[0]]))
            elif start + SWEEP_CHUNK < len(ts[i]):
                still.append(i)
            else:
                res[i] = (None, int(a[-1]))
        pending, start = still, start + SWEEP_CHUNK
    return res


def _eval(groups, ts, rot, trans, sdf):
    """Min signed distance per step of each group, and the index of the closest point."""
    batch, shapes = [], []
    for g, t in zip(groups, ts):
        deltas = g.values(t) - g.start  # (S, k)
        p = chain_points(g.points, g.bones, g.dofs, g.axes, g.centres, deltas)
        batch.append(p.reshape(-1, 3))
        shapes.append(p.shape[:2])
    d = sdf(np.concatenate(batch) @ rot.T + trans)
    dist, arg, s0 = [], [], 0
    for s, n in shapes:
        block = d[s0:s0 + s * n].reshape(s, n)
        dist.append(block.min(axis=1))
        arg.append(block.argmin(axis=1))
        s0 += s * n
    return dist, arg


def capsule_skin(shape, side, rings=6, around=12):
    """Fallback skin without a hand mesh: points on tapered capsules around the 15 phalanges
    plus the palmar face of the palm (for hands whose mesh is not available)."""
    fk = kin.forward_kinematics_full(shape, kin.neutral_angles(), side)
    pts, bones, labels = [], [], []
    ang = np.linspace(0, 2 * np.pi, around, endpoint=False)
    for f in range(5):
        for s in range(3):
            b = 4 * f + 1 + s
            frame = fk.frames[b]
            x, z = frame[:3, 0], frame[:3, 2]
            p0, p1 = fk.joints[b], fk.joints[b + 1]
            r0, r1 = shape.radii[f, s], shape.radii[f, s + 1]
            for t in np.linspace(0, 1, rings):
                c = p0 + t * (p1 - p0)
                r = r0 + t * (r1 - r0)
                pts.append(c + r * (np.cos(ang)[:, None] * x + np.sin(ang)[:, None] * z))
                bones += [b] * around
                labels += [seg_phalanx(f, s)] * around
            if s == 2:  # fingertip cap
                y = (p1 - p0) / np.linalg.norm(p1 - p0)
                for el in (0.5, 1.0):
                    ring = np.cos(el) * (np.cos(ang)[:, None] * x + np.sin(ang)[:, None] * z) + np.sin(el) * y
                    pts.append(p1 + r1 * ring)
                    bones += [b] * around
                    labels += [seg_phalanx(f, s)] * around
    base = fk.joints[[5, 9, 13, 17]]
    z_palm = base[:, 2].mean() + shape.radii[1:, 0].mean()
    u, v = np.meshgrid(np.linspace(0, 1, 10), np.linspace(0.1, 1, 8), indexing="ij")
    xs = base[:, 0].min() + u * (base[:, 0].max() - base[:, 0].min())
    ys = v * base[:, 1].mean()
    palm = np.stack([xs, ys, np.full_like(xs, z_palm)], -1).reshape(-1, 3)
    pts.append(palm)
    bones += [0] * len(palm)
    labels += [SEG_PALM] * len(palm)
    labels = np.array(labels)
    k = labels - seg_phalanx(0, 0)
    return HandSkin(shape, side, np.concatenate(pts), np.array(bones), labels,
                    np.where(labels == SEG_PALM, -1, k // 3), np.where(labels == SEG_PALM, -1, k % 3))
