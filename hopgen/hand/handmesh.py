"""Procedural hand + forearm mesh: an SDF of smooth-unioned tapered capsules, polygonised with
surface nets (hopgen.core.surfacenets), skinned to the kinematic skeleton with dual-quaternion skinning.

Geometry is built for the RIGHT hand at the neutral pose in the hand frame of
hopgen.hand.kinematics (metres); the left mesh is its exact mirror (x -> -x, reversed winding).
Skin transforms are kinematics.FKResult.transforms: columns 0..19 of the weights are the
bones of skeleton.BONES, column 20 is the forearm.
Pure module: numpy + standard library only.
"""
from dataclasses import dataclass, field

import numpy as np

from hopgen.hand import kinematics
from hopgen.core import skeleton
from hopgen.core import surfacenets as sn
from hopgen.hand.subjects import subject_shape

NUM_SKIN_BONES = 21  # 20 skeleton bones + forearm
FOREARM = 20
GRID_MM = 1.75       # surface-nets cell size
NAIL_RAISE_MM = 0.35

# ----------------------------------------------------------------------------- SDF primitives


@dataclass
class Capsule:
    """Tapered capsule with elliptic cross-section along segment a->b.

    rot columns: x (across), y (along a->b), z (dorsopalmar, the 'thickness' axis).
    ra, rb: (rx, rz) semi-axes at a and b.  The end caps are ellipsoids.
    bones: {skin bone: share}; label: seg label for faces it owns (None: never owns).
    """
    a: np.ndarray
    b: np.ndarray
    rot: np.ndarray
    ra: tuple
    rb: tuple
    bones: dict
    label: object
    group: int

    def sdf(self, p):
        """Approximate signed distance (N,) of points p (N,3); negative inside."""
        loc = (p - self.a) @ self.rot
        length = float(np.linalg.norm(self.b - self.a))
        t = np.clip(loc[:, 1] / max(length, 1e-9), 0.0, 1.0)
        rx = self.ra[0] + (self.rb[0] - self.ra[0]) * t
        rz = self.ra[1] + (self.rb[1] - self.ra[1]) * t
        rm = np.sqrt(rx * rz)
        dy = loc[:, 1] - t * length
        q = np.sqrt((loc[:, 0] / rx) ** 2 + (loc[:, 2] / rz) ** 2 + (dy / rm) ** 2)
        return (q - 1.0) * rm

    def bounds(self, pad):
        r = max(self.ra + self.rb) * 1.05 + pad
        lo = np.minimum(self.a, self.b) - r
        hi = np.maximum(self.a, self.b) + r
        return lo, hi


def _frame(y, zref):
    y = np.asarray(y, dtype=np.float64)
    y = y / np.linalg.norm(y)
    z = np.asarray(zref, dtype=np.float64) - y * np.dot(zref, y)
    z /= np.linalg.norm(z)
    return np.stack([np.cross(y, z), y, z], axis=1)


def _smin(a, b, k):
    """Polynomial smooth minimum (blend radius k)."""
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


# Groups: 0 palm/forearm, 1..5 thumb..pinky.  Fingers blend into the palm with GROUP_K but
# never directly into each other (no webbing along the fingers).
@dataclass
class HandSDF:
    """The implicit hand: primitives, per-group blend radii, finger-to-palm blend radii."""
    prims: list
    k_inner: tuple   # blend radius inside each group (6,)
    k_palm: tuple    # blend radius of each finger group into the palm (6,), [0] unused

    def group_fields(self, p, big=1.0):
        """(6, N) field of each group at points p (primitives only near their bounds)."""
        out = np.full((6, len(p)), big)
        for c in self.prims:
            lo, hi = c.bounds(self.k_inner[c.group] + self.k_palm[max(c.group, 1)] + 0.004)
            m = np.nonzero(np.all((p >= lo) & (p <= hi), axis=1))[0]
            out[c.group, m] = _smin(out[c.group, m], c.sdf(p[m]), self.k_inner[c.group])
        return out

    def combine(self, g):
        """Union of the group fields (6, ...) -> (...)."""
        total = None
        for f in range(1, 6):
            blended = _smin(g[0], g[f], self.k_palm[f])
            total = blended if total is None else np.minimum(total, blended)
        return total

    def __call__(self, p):
        return self.combine(self.group_fields(p))

    def grid(self, origin, h, shape):
        """Field on a regular grid: origin (3,), spacing h, shape (nx, ny, nz) -> float32 array."""
        g = np.full((6,) + tuple(shape), 1.0, dtype=np.float64)
        for c in self.prims:
            pad = self.k_inner[c.group] + self.k_palm[max(c.group, 1)] + 3 * h
            lo, hi = c.bounds(pad)
            i0 = np.maximum(np.floor((lo - origin) / h).astype(int), 0)
            i1 = np.minimum(np.ceil((hi - origin) / h).astype(int) + 1, shape)
            axes = [origin[d] + h * np.arange(i0[d], i1[d]) for d in range(3)]
            pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
            sl = (c.group, slice(i0[0], i1[0]), slice(i0[1], i1[1]), slice(i0[2], i1[2]))
            block = g[sl]
            g[sl] = _smin(block, c.sdf(pts).reshape(block.shape), self.k_inner[c.group])
        return self.combine(g)


def hand_sdf(shape, forearm_length_m=0.18):
    """Build the implicit right hand + forearm of a kinematics.HandShape."""
    L, B = shape.hand_length, shape.hand_breadth
    ts = shape.thickness_scale
    fk = kinematics.forward_kinematics_full(shape, kinematics.neutral_angles(), "right")
    j, fr = fk.joints, fk.frames
    ez = np.array([0.0, 0.0, 1.0])
    prims = []

    def cap(a, b, ra, rb, bones, label, group, zref=ez):
        a, b = np.asarray(a, float), np.asarray(b, float)
        prims.append(Capsule(a, b, _frame(b - a, zref), tuple(ra), tuple(rb), bones, label, group))

    # forearm: elliptic, narrowest at the wrist, widening toward the elbow
    cap([0, 0.06 * L, 0.0], [0, -forearm_length_m, 0.004 * L], (0.335 * B, 0.215 * B * ts),
        (0.43 * B, 0.33 * B * ts), {FOREARM: 1.0}, skeleton.SEG_ARM, 0)
    # metacarpals (dorsal palm) + distal palmar pad ridge + thenar + hypothenar
    for f in range(1, 5):
        mcp = j[1 + 4 * f]
        base = np.array([mcp[0] * 0.55, 0.06 * L, 0.0])
        r = shape.radii[f, 0]
        cap(base, mcp, (0.55 * r + 0.10 * B, 0.17 * B * ts), (0.95 * r, 0.135 * B * ts),
            {4 * f: 1.0}, skeleton.SEG_PALM, 0)
    rpad = 0.07 * B * ts
    cap(j[5] + [-0.03 * B, 0.01 * L, 0.085 * B * ts], j[17] + [0.0, 0.015 * L, 0.085 * B * ts],
        (rpad * 1.1, rpad), (rpad, rpad), {8: 1.0}, skeleton.SEG_PALM, 0, zref=ez)
    xt, yt, zt = (shape.base_rot[0][:, i] for i in range(3))
    cmc = j[1]
    lmc = shape.lengths[0, 0]
    cap(cmc + 0.02 * B * zt - 0.04 * B * xt - [0, 0.03 * L, 0], cmc + 0.62 * lmc * yt + 0.05 * B * zt,
        (0.17 * B, 0.15 * B * ts), (0.13 * B, 0.11 * B * ts), {1: 0.55, 0: 0.45}, skeleton.SEG_PALM, 0, zref=zt)
    cap([-0.30 * B, 0.08 * L, 0.05 * B * ts], [-0.39 * B, 0.30 * L, 0.045 * B * ts],
        (0.13 * B, 0.15 * B * ts), (0.12 * B, 0.13 * B * ts), {16: 1.0}, skeleton.SEG_PALM, 0)
    # digits: capsules joint to joint, slightly flattened dorsopalmarly
    margin = kinematics.TIP_SKIN_MARGIN_MM * 1e-3
    for f in range(5):
        g = f + 1
        js = [j[1 + 4 * f + s] for s in range(4)]
        flat = 0.9 if f else 0.86
        rs = shape.radii[f]
        for s in range(3):
            b = 1 + 4 * f + s  # bone index of segment s+1 (child joint 2+4f+s)
            z = fr[b][:3, 2]
            a, e = js[s], js[s + 1]
            ra, rb = (rs[s], rs[s] * flat), (rs[s + 1], rs[s + 1] * flat)
            if s == 2:  # distal: end cap reaches 'margin' beyond the tip joint; pulp side fuller
                d = (e - a) / np.linalg.norm(e - a)
                rm = np.sqrt(rb[0] * rb[1])
                e = e + d * (margin - rm) + z * 0.08 * rb[0]
                a = a + z * 0.06 * ra[0]
            label = skeleton.seg_phalanx(f, s)
            cap(a, e, ra, rb, {b: 1.0}, label, g, zref=z)
            if s > 0:
                # dorsal knuckle pad over the proximal joint of this segment
                kr = rs[s] * 0.55
                c0 = js[s] - z * 0.42 * rs[s]
                cap(c0 - 0.2 * rs[s] * fr[b][:3, 1], c0 + 0.25 * rs[s] * fr[b][:3, 1], (kr, kr * 0.8),
                    (kr, kr * 0.8), {b - 1: 0.5, b: 0.5}, None, g, zref=z)
    k_inner = (0.095 * B, 0.03 * B, 0.03 * B, 0.03 * B, 0.03 * B, 0.03 * B)
    k_palm = (0.0, 0.10 * B, 0.075 * B, 0.075 * B, 0.075 * B, 0.075 * B)
    return HandSDF(prims, k_inner, k_palm)


# ----------------------------------------------------------------------------- the mesh


@dataclass
class HandMesh:
    """A skinned hand + forearm mesh in the hand frame at the neutral pose.

    rest_vertices (V,3) float64 metres; faces (F,3) int32, outward (counter-clockwise seen from
    outside); weights (V,21) float32, rows sum to 1 (bones of skeleton.BONES, then forearm);
    face_labels (F,) uint8 seg labels (SEG_ARM, SEG_PALM, seg_phalanx); face_material (F,)
    uint8 (0 skin, 1 nail); crease (V,) float32 0..1 (flexion creases / knuckle wrinkles);
    normals (V,3) rest vertex normals.
    """
    subject_id: str
    side: str
    rest_vertices: np.ndarray
    faces: np.ndarray
    weights: np.ndarray
    face_labels: np.ndarray
    face_material: np.ndarray
    crease: np.ndarray
    normals: np.ndarray
    rest_joints: np.ndarray = field(repr=False, default=None)

    @property
    def num_vertices(self):
        return len(self.rest_vertices)


def _skin_weights(hsdf, v, shape, sharp):
    """Dense (V,21) weights: soft ownership by primitive distance, restricted to the vertex's
    own digit + palm, forearm by a wrist ramp."""
    d = np.stack([c.sdf(v) for c in hsdf.prims], axis=1)  # (V,P)
    groups = np.array([c.group for c in hsdf.prims])
    own = groups[np.argmin(np.where(groups[None] > 0, d, np.inf), axis=1)]  # nearest digit
    allowed = (groups[None] == 0) | (groups[None] == own[:, None])
    w = np.where(allowed, np.exp(-(d - d.min(axis=1, keepdims=True)) / sharp), 0.0)
    bonemat = np.zeros((len(hsdf.prims), NUM_SKIN_BONES))
    for i, c in enumerate(hsdf.prims):
        for b, s in c.bones.items():
            bonemat[i, b] = s
    bonemat[:, FOREARM] = 0.0  # the forearm comes from the wrist ramp below
    wb = w @ bonemat
    wb /= wb.sum(axis=1, keepdims=True)
    L = shape.hand_length
    ramp = np.clip((0.035 * L - v[:, 1]) / (0.10 * L), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)
    wb *= (1 - ramp)[:, None]
    wb[:, FOREARM] += ramp
    return wb


def _smooth_vertex_field(x, faces, nv, iters, alpha=0.5):
    """Umbrella smoothing of a per-vertex field over the mesh graph."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = e[np.lexsort((e[:, 1], e[:, 0]))]
    starts = np.searchsorted(e[:, 0], np.arange(nv))  # every vertex has outgoing edges
    deg = np.diff(np.append(starts, len(e)))[:, None].astype(np.float64)
    for _ in range(iters):
        x = (1 - alpha) * x + alpha * np.add.reduceat(x[e[:, 1]], starts, axis=0) / deg
    return x


def _nails_and_creases(v, n, shape, fk):
    """Per-vertex nail weight (0..1) and crease strength (0..1) at the rest pose."""
    nail = np.zeros(len(v))
    crease = np.zeros(len(v))
    for f in range(5):
        b = 3 + 4 * f  # distal bone
        fr = fk.frames[b]
        loc = (v - fr[:3, 3]) @ fr[:3, :3]
        ldir = n @ fr[:3, :3]
        length = shape.lengths[f, 2]
        r = shape.radii[f, 3]
        nl = (0.62 if f else 0.52) * length
        yc = length + 1.2e-3 - 0.5 * nl
        m = (loc[:, 0] / (0.80 * r)) ** 4 + ((loc[:, 1] - yc) / (0.5 * nl)) ** 4
        w = np.clip((1.0 - m) / 0.35, 0.0, 1.0) * np.clip((-ldir[:, 2] - 0.25) / 0.25, 0.0, 1.0)
        nail = np.maximum(nail, w * (loc[:, 2] < 0))
        # creases at the flexion joints of this digit (palmar lines; faint dorsal wrinkles)
        for s in range(3):
            jb = 1 + 4 * f + s
            fj = fk.frames[jb]
            lj = (v - fj[:3, 3]) @ fj[:3, :3]
            near = np.linalg.norm(lj[:, [0, 2]], axis=1) < 1.6 * shape.radii[f, s]
            side = np.where(lj[:, 2] > 0, 1.0, 0.45)
            offset = 0.0 if s else (0.0 if f == 0 else 0.35 * shape.radii[f, 0])
            g = np.exp(-((lj[:, 1] - offset) / 0.9e-3) ** 2) * side * near
            crease = np.maximum(crease, g)
    return nail, crease


_CACHE = {}


def _build_right(subject, forearm_length_m):
    shape = subject_shape(subject)
    hsdf = hand_sdf(shape, forearm_length_m)
    h = GRID_MM * 1e-3 * shape.hand_breadth_mm / 86.0  # ~constant vertex count across sizes
    lo = np.min([c.bounds(0.0)[0] for c in hsdf.prims], axis=0) - 3 * h
    hi = np.max([c.bounds(0.0)[1] for c in hsdf.prims], axis=0) + 3 * h
    dims = np.ceil((hi - lo) / h).astype(int) + 1
    f = hsdf.grid(lo, h, dims)
    f = sn.fix_ambiguous_faces(f)
    v, quads = sn.surface_nets(f, lo, h)
    v, nrm = sn.project(hsdf, v, h)
    faces = sn.triangulate(v, quads)
    fk = kinematics.forward_kinematics_full(shape, kinematics.neutral_angles(), "right")
    nail, crease = _nails_and_creases(v, nrm, shape, fk)
    nail = _smooth_vertex_field(nail[:, None], faces, len(v), 2)[:, 0]
    v = v + nrm * (NAIL_RAISE_MM * 1e-3 * shape.thickness_scale * np.clip(nail * 1.5, 0, 1))[:, None]
    w = _skin_weights(hsdf, v, shape, sharp=0.0012)
    w = _smooth_vertex_field(w, faces, len(v), 6)
    w = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
    w /= w.sum(axis=1, keepdims=True, dtype=np.float32)
    # face labels: owning primitive at the face centroid, arm proximal to the wrist
    cen = v[faces].mean(axis=1)
    owners = [c for c in hsdf.prims if c.label is not None]
    d = np.stack([c.sdf(cen) for c in owners], axis=1)
    labels = np.array([c.label for c in owners], dtype=np.uint8)[np.argmin(d, axis=1)]
    labels[cen[:, 1] < 0.0] = skeleton.SEG_ARM
    labels[(labels == skeleton.SEG_ARM) & (cen[:, 1] >= 0.0)] = skeleton.SEG_PALM
    material = (nail[faces].mean(axis=1) > 0.5).astype(np.uint8)
    return HandMesh(subject.id, "right", v, faces, w, labels, material, crease.astype(np.float32),
                    nrm, fk.joints)


def _mirror(m):
    flip = np.array([-1.0, 1.0, 1.0])
    return HandMesh(m.subject_id, "left", m.rest_vertices * flip, np.ascontiguousarray(m.faces[:, ::-1]),
                    m.weights, m.face_labels, m.face_material, m.crease, m.normals * flip, m.rest_joints * flip)


def build_hand_mesh(subject, side, forearm_length_m=0.18):
    """The skinned mesh of a subjects.Subject for side 'left'|'right' (cached, read-only arrays)."""
    if side not in ("left", "right"):
        raise ValueError(f"build_hand_mesh: side must be 'left' or 'right', got {side!r}")
    if not 0.03 <= forearm_length_m <= 0.5:
        raise ValueError(f"build_hand_mesh: forearm_length_m={forearm_length_m} outside [0.03, 0.5]")
    key = (subject, float(forearm_length_m), side)
    if key not in _CACHE:
        rkey = (subject, float(forearm_length_m), "right")
        if rkey not in _CACHE:
            _CACHE[rkey] = _freeze(_build_right(subject, forearm_length_m))
        if side == "left":
            _CACHE[key] = _freeze(_mirror(_CACHE[rkey]))
        if len(_CACHE) > 48:
            _CACHE.clear()
            return build_hand_mesh(subject, side, forearm_length_m)
    return _CACHE[key]


def _freeze(m):
    for name in ("rest_vertices", "faces", "weights", "face_labels", "face_material", "crease", "normals",
                 "rest_joints"):
        arr = np.ascontiguousarray(getattr(m, name))
        arr.flags.writeable = False
        setattr(m, name, arr)
    return m


# ----------------------------------------------------------------------------- skinning


def _quat_from_rot(r):
    """(N,3,3) rotation matrices -> (N,4) unit quaternions (w, x, y, z)."""
    tr = np.trace(r, axis1=1, axis2=2)
    cand = np.stack([tr, r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]], axis=1)
    k = np.argmax(cand, axis=1)
    q = np.empty((len(r), 4))
    for i in range(len(r)):
        m = r[i]
        if k[i] == 0:
            s = np.sqrt(1.0 + tr[i]) * 2
            q[i] = (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
        elif k[i] == 1:
            s = np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
            q[i] = ((m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s)
        elif k[i] == 2:
            s = np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
            q[i] = ((m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s)
        else:
            s = np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
            q[i] = ((m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _qmul(a, b):
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def dual_quaternion_skin(rest, weights, transforms):
    """Dual-quaternion skinning: rest (V,3), weights (V,K), rigid transforms (K,4,4) -> (V,3)."""
    qr = _quat_from_rot(transforms[:, :3, :3])  # (K,4)
    t = np.concatenate([np.zeros((len(qr), 1)), transforms[:, :3, 3]], axis=1)
    qd = 0.5 * _qmul(t, qr)
    w = np.asarray(weights, dtype=np.float64)
    ref = qr[np.argmax(w, axis=1)]  # (V,4) dominant bone keeps the hemisphere
    w = w * np.where(ref @ qr.T >= 0.0, 1.0, -1.0)
    br, bd = w @ qr, w @ qd
    norm = np.linalg.norm(br, axis=1, keepdims=True)
    br, bd = br / norm, bd / norm
    u, s = br[:, 1:], br[:, :1]
    uv = np.cross(u, rest)
    out = rest + 2.0 * (s * uv + np.cross(u, uv))
    conj = br * np.array([1.0, -1.0, -1.0, -1.0])
    return out + 2.0 * _qmul(bd, conj)[:, 1:]


def pose_vertices(mesh, shape, angles, side):
    """Posed vertices (V,3) in the hand frame; uses the same FK as the joints.

    The left hand is computed as the mirror of the right, so left == mirror(right) exactly.
    """
    if side != mesh.side:
        raise ValueError(f"pose_vertices: mesh is a {mesh.side} hand, asked to pose side {side!r}")
    fk = kinematics.forward_kinematics_full(shape, angles, "right")
    flip = np.array([-1.0, 1.0, 1.0])
    rest = mesh.rest_vertices * flip if side == "left" else mesh.rest_vertices
    out = dual_quaternion_skin(rest, mesh.weights, fk.transforms)
    return out * flip if side == "left" else out
