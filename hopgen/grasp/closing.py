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

from .. import kinematics as kin
from ..skeleton import SEG_PALM, seg_phalanx

# Closing stages per finger: each stage is a tuple of DoF names moved together (distal last),
# the first is the driven DoF; the others follow it (DIP coupled to PIP, thumb IP to MCP).
_STAGES = {
    0: (("thumb_cmc_flex",), ("thumb_mcp_flex", "thumb_ip_flex")),
    **{f: ((f"{n}_mcp_flex",), (f"{n}_pip_flex", f"{n}_dip_flex"))
       for f, n in enumerate(("index", "middle", "ring", "pinky"), start=1)},
}
TOUCH_GAP = 0.0  # m: a stage stops when its skin comes this close to the surface
COARSE_STEP = 0.06  # rad
FINE_STEPS = 12


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
            rel = moved.transforms[b] @ np.linalg.inv(base.transforms[b])
            r = rel[:3, :3]
            w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
            axes[i] = sign[i] * w / max(np.linalg.norm(w), 1e-12)
            centres[i] = base.frames[b, :3, 3]
    return axes, centres


def rotations(axis, angles):
    """Rodrigues rotations (S, 3, 3) about unit `axis` (3,) by `angles` (S,)."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _follow(dof_names, driven_values):
    """Values of every DoF of a stage as the driven (first) DoF takes `driven_values` (S,)."""
    out = [driven_values]
    for name in dof_names[1:]:
        if name.endswith("dip_flex"):
            out.append(kin.couple_dip(driven_values))
        else:  # thumb IP follows its MCP, within its own range
            i = kin.DOF_INDEX[name]
            out.append(np.clip(driven_values, kin.LIMITS_LO[i], kin.LIMITS_HI[i]))
    return out


def stage_points(points, bones, stage_dofs, axes, centres, angles, driven):
    """Points of one finger (n, 3) after a stage sets its driven DoF to `driven` (S,) -> (S, n, 3).

    Distal DoFs rotate first (in the current configuration), then proximal ones, which is
    the composition of a serial chain.
    """
    dofs = [kin.DOF_INDEX[n] for n in stage_dofs]
    values = _follow(stage_dofs, driven)
    out = np.broadcast_to(points, (len(driven),) + points.shape).copy()
    for k in range(len(dofs) - 1, -1, -1):
        delta = values[k] - angles[dofs[k]]
        moving = bones >= dof_bone(dofs[k])  # same finger: bones are numbered proximal to distal
        if not moving.any() or not np.any(delta):
            continue
        rot = rotations(axes[k], delta)  # (S, 3, 3)
        rel = out[:, moving] - centres[k]
        out[:, moving] = np.einsum("sij,snj->sni", rot, rel) + centres[k]
    return out


def finger_stages(finger, thumb_drive="thumb_cmc_flex"):
    """Closing stages of a finger (tuple of DoF-name tuples); the thumb's first stage is
    driven by `thumb_drive` (cmc_flex sweeps it across toward the fingers, cmc_abd lifts it
    off the palm plane toward the object)."""
    if finger == 0:
        return ((thumb_drive,),) + _STAGES[0][1:]
    return _STAGES[finger]


def close_fingers(skin, angles, hand_to_obj, sdf, fingers, stages=(0, 1), gap=TOUCH_GAP, caps=None,
                  thumb_drive="thumb_cmc_flex"):
    """Close `fingers` stage by stage until their skin touches the object or a limit is hit.

    angles (NUM_DOF,) start pose (pre-shape); hand_to_obj (4, 4); sdf: (N, 3) -> (N,) in the
    object frame; caps: optional {finger: (max stage-0 value, max stage-1 value)} of the
    driven DoFs (idle fingers curl only so far). Returns (angles, touched) where touched[f]
    says finger f reached contact. Every stage runs for every finger: a finger whose
    proximal phalanx touched still curls its distal joints around the object.
    """
    angles = np.array(angles, dtype=np.float64)
    rot, trans = hand_to_obj[:3, :3], hand_to_obj[:3, 3]
    touched = {f: False for f in fingers}
    caps = caps or {}
    for stage in stages:
        active = list(fingers)
        if not active:
            continue
        _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
        posed = skin.pose(transforms)
        stage_names = [finger_stages(f, thumb_drive)[stage] for f in active]
        dofs = [kin.DOF_INDEX[n] for names in stage_names for n in names]
        axes, centres = joint_axes(skin.shape, skin.side, angles, dofs)
        # Coarse sweep per finger, then a fine sweep inside the first touching interval.
        results = {}
        k0 = 0
        for f, names in zip(active, stage_names):
            n = len(names)
            ax, ce = axes[k0:k0 + n], centres[k0:k0 + n]
            k0 += n
            sel = skin.finger == f
            pts, bones = posed[sel], skin.bone[sel]
            moving = bones >= dof_bone(kin.DOF_INDEX[names[0]])
            pts, bones = pts[moving], bones[moving]
            d0 = kin.DOF_INDEX[names[0]]
            hi = kin.LIMITS_HI[d0] if f not in caps else min(kin.LIMITS_HI[d0], caps[f][stage])
            lo = angles[d0]
            hi = max(lo, hi)
            results[f] = (names, ax, ce, pts, bones, lo, hi)
        final = _sweep(results, angles, rot, trans, sdf, gap)
        for f, (value, hit) in final.items():
            names = results[f][0]
            vals = _follow(names, np.array([value]))
            for name, v in zip(names, vals):
                angles[kin.DOF_INDEX[name]] = float(v[0])
            touched[f] = touched[f] or hit
    return angles, touched


def _sweep(results, angles, rot, trans, sdf, gap):
    """For each finger, the first driven value (within [lo, hi]) at which its skin touches."""
    out = {}
    coarse = {}
    batch, spans = [], []
    for f, (names, ax, ce, pts, bones, lo, hi) in results.items():
        n_steps = max(2, int(np.ceil((hi - lo) / COARSE_STEP)) + 1)
        vals = np.linspace(lo, hi, n_steps)
        p = stage_points(pts, bones, names, ax, ce, angles, vals)  # (S, n, 3)
        coarse[f] = vals
        batch.append(p.reshape(-1, 3))
        spans.append((f, p.shape[0], p.shape[1]))
    dist = _eval(batch, spans, rot, trans, sdf)
    fine_batch, fine_spans, brackets = [], [], {}
    for f, vals in coarse.items():
        d = dist[f]  # (S,) min over the finger's points
        hit = np.nonzero(d <= gap)[0]
        if len(hit) == 0:
            out[f] = (vals[-1], False)
            continue
        k = hit[0]
        if k == 0:
            out[f] = (vals[0], True)
            continue
        names, ax, ce, pts, bones, lo, hi = results[f]
        fv = np.linspace(vals[k - 1], vals[k], FINE_STEPS + 1)
        brackets[f] = fv
        p = stage_points(pts, bones, names, ax, ce, angles, fv)
        fine_batch.append(p.reshape(-1, 3))
        fine_spans.append((f, p.shape[0], p.shape[1]))
    if fine_batch:
        dist = _eval(fine_batch, fine_spans, rot, trans, sdf)
        for f, fv in brackets.items():
            hit = np.nonzero(dist[f] <= gap)[0]
            k = hit[0] if len(hit) else len(fv) - 1
            out[f] = (fv[k], True)
    return out


def _eval(batch, spans, rot, trans, sdf):
    """Min signed distance per step for each finger's (S * n) points -> {finger: (S,)}."""
    pts = np.concatenate(batch) @ rot.T + trans
    d = sdf(pts)
    out, s0 = {}, 0
    for f, s, n in spans:
        out[f] = d[s0:s0 + s * n].reshape(s, n).min(axis=1)
        s0 += s * n
    return out


def skin_distances(skin, angles, hand_to_obj, sdf):
    """Signed distance (P,) of every skin point at pose `angles` placed by hand_to_obj."""
    _, transforms = kin.forward_kinematics(skin.shape, angles, skin.side)
    p = skin.pose(transforms) @ hand_to_obj[:3, :3].T + hand_to_obj[:3, 3]
    return sdf(p)


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
