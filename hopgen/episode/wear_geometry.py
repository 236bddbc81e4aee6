"""Meshes of what the arm wears (pure): accessories fitted around the wrist and a sleeve tube with
fold rings near the cuff, built at the skin's rest pose in an arm frame, and the rigid motion that
carries them with the posed skin each frame.

An ArmFrame is the wrist joint (origin), the forearm axis towards the elbow and the back-of-the-hand
(dorsal) direction. ``cross_section`` reads the skin's radius around the axis (per angle) from the
rest vertices of a slab of the arm, so every piece sits just outside the skin it wraps. Each piece
keeps the ids of the skin vertices under it (``anchor_ids``); ``rigid_fit`` of their rest and
posed positions is the piece's rest -> world transform for a frame (the watch stays rigid as a real
one does; the forearm beyond the wrist ramp moves rigidly anyway).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_AROUND = 72              # vertices around the arm
SLAB_PAD_M = 0.002         # the cross-section under a piece is read this much beyond its edges
MIN_CLEARANCE_M = 0.0004   # cloth and straps stay at least this far off the rest skin


@dataclass
class ArmFrame:
    origin: np.ndarray   # (3,) wrist joint
    axis: np.ndarray     # (3,) unit, wrist -> elbow
    dorsal: np.ndarray   # (3,) unit, back of the hand, perpendicular to axis

    @property
    def lateral(self):
        return np.cross(self.dorsal, self.axis)

    def local(self, points):
        """(N,3) -> (N,3) (lateral, dorsal, along-axis) coordinates."""
        d = np.asarray(points, np.float64) - self.origin
        return np.stack([d @ self.lateral, d @ self.dorsal, d @ self.axis], axis=1)

    def world(self, lat, dor, along):
        """Points from arm coordinates (broadcast arrays) -> (..., 3)."""
        lat, dor, along = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (lat, dor, along)))
        return (self.origin + lat[..., None] * self.lateral + dor[..., None] * self.dorsal
                + along[..., None] * self.axis)


def procedural_arm_frame():
    """ArmFrame of a procedural HandMesh at rest (hand frame): wrist at the origin, forearm along
    -y, the palm faces +z (the fingers flex towards it), so the back of the hand is -z."""
    return ArmFrame(np.zeros(3), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0]))


@dataclass
class Section:
    """The skin's cross-section of a slab: centre (lateral, dorsal) and radius per angle
    (N_AROUND,), angle 0 lateral, pi/2 dorsal."""
    centre: np.ndarray
    radius: np.ndarray

    @property
    def angles(self):
        return np.linspace(0.0, 2 * np.pi, len(self.radius), endpoint=False)


def _circular_fill(r):
    """Fill NaN bins by circular linear interpolation."""
    ok = np.isfinite(r)
    if ok.all():
        return r
    idx = np.arange(len(r))
    good = idx[ok]
    return np.interp(idx, np.r_[good - len(r), good, good + len(r)], np.r_[r[ok], r[ok], r[ok]])


def _circular_smooth(r, half):
    k = np.arange(-half, half + 1)
    return np.mean([np.roll(r, s) for s in k], axis=0)


def cross_section(local, lo, hi, n=N_AROUND, centre=None):
    """Section of the skin points ``local`` (arm coordinates) with lo <= along <= hi, or None when
    the slab holds too few points. The centre is the middle of the slab's extent."""
    sel = local[(local[:, 2] >= lo) & (local[:, 2] <= hi)]
    if len(sel) < n // 2:
        return None
    if centre is None:
        centre = 0.5 * (sel[:, :2].min(0) + sel[:, :2].max(0))
    d = sel[:, :2] - centre
    ang = np.mod(np.arctan2(d[:, 1], d[:, 0]), 2 * np.pi)
    rad = np.hypot(d[:, 0], d[:, 1])
    bins = np.minimum((ang / (2 * np.pi) * n).astype(np.int64), n - 1)
    r = np.full(n, -np.inf)
    np.maximum.at(r, bins, rad)
    r[~np.isfinite(r)] = np.nan
    if np.isnan(r).all():
        return None
    r = _circular_fill(r)
    return Section(np.asarray(centre, np.float64), np.maximum(_circular_smooth(r, 2), r))


def rigid_fit(src, dst):
    """(4,4) rigid transform T minimising |T src - dst| (Kabsch, no reflection). src, dst: (N,3)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    cs, cd = src.mean(0), dst.mean(0)
    u, _, vt = np.linalg.svd((src - cs).T @ (dst - cd))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    rot = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rot, cd - rot @ cs
    return out


@dataclass
class WearMesh:
    """One built piece: rest-pose vertices (V,3) and triangles (F,3) in the skin's rest frame,
    per-face material slot (F,) into ``slots`` (names of Finish parts: "strap", "case", "dial",
    "hands", "fabric"), per-corner UVs (F,3,2) in metres (or None), and the skin vertices it follows."""
    name: str
    vertices: np.ndarray
    faces: np.ndarray
    face_slot: np.ndarray
    slots: list
    anchor_ids: np.ndarray
    uv: np.ndarray = None
    record: dict = field(default_factory=dict)


def _orient_closed(vertices, faces):
    """Faces of a closed, consistently wound mesh turned so its normals point outwards (positive
    signed volume)."""
    v = vertices[faces]
    vol = float(np.sum(v[:, 0] * np.cross(v[:, 1], v[:, 2])))
    return faces[:, ::-1].copy() if vol < 0 else faces


def _ring_grid(nu, nv, wrap_v):
    """Triangles of an nu (around, closed) x nv grid, index u * nv + v."""
    from hopgen.core.shapes import grid_faces
    return grid_faces(nu, nv, wrap_u=True, wrap_v=wrap_v)


def _loop_profile(width, thickness, round_):
    """Closed (along, radial-offset) loop of a strap's cross-section: a rounded rectangle
    (round_=False) or a circle (round_=True), radial offset 0 = the inner face."""
    if round_:
        phi = np.linspace(0, 2 * np.pi, 14, endpoint=False)
        return np.c_[0.5 * width * np.cos(phi), 0.5 * thickness * (1 + np.sin(phi))]
    c = min(0.45 * thickness, 0.3 * width)
    hw = 0.5 * width
    pts = []
    for cx, cz, a0 in ((hw - c, c, -0.5 * np.pi), (hw - c, thickness - c, 0.0), (-hw + c, thickness - c, 0.5 * np.pi),
                       (-hw + c, c, np.pi)):
        for a in np.linspace(a0, a0 + 0.5 * np.pi, 4):
            pts.append((cx + c * np.cos(a), cz + c * np.sin(a)))
    return np.array(pts)


BANGLE_CONTACT_M = 0.0005  # what is left of a bangle's clearance where it rests on the wrist


def band_mesh(frame, local, acc, name):
    """The strap of a watch or a bracelet (Accessory ``acc``) around the rest skin ``local``."""
    lo, hi = acc.position_m - 0.5 * acc.width_m - SLAB_PAD_M, acc.position_m + 0.5 * acc.width_m + SLAB_PAD_M
    sec = cross_section(local, lo, hi)
    if sec is None:
        raise ValueError(f"{name}: no skin around the wrist at {acc.position_m:.3f} m")
    r = sec.radius + acc.gap_m
    ang = sec.angles
    if acc.style == "bangle":  # a rigid loose ring: the smallest scaled ellipse outside the skin
        ex, ey = np.abs(sec.radius * np.cos(ang)).max(), np.abs(sec.radius * np.sin(ang)).max()
        ell = ex * ey / np.sqrt((ey * np.cos(ang)) ** 2 + (ex * np.sin(ang)) ** 2)
        r = ell * float((sec.radius / ell).max()) + acc.gap_m
    # A loose bangle is not concentric: it rests on the back of the wrist and hangs towards the
    # palm. Moving it by less than its clearance everywhere (>= gap_m) keeps it off the skin.
    hang = max(acc.gap_m - BANGLE_CONTACT_M, 0.0) if acc.style == "bangle" else 0.0
    prof = _loop_profile(acc.width_m, acc.thickness_m, round_=acc.style in ("bangle", "cord"))
    rr = r[:, None] + prof[None, :, 1]                    # (N, P)
    lat = sec.centre[0] + rr * np.cos(ang)[:, None]
    dor = sec.centre[1] - hang + rr * np.sin(ang)[:, None]
    along = acc.position_m + np.broadcast_to(prof[None, :, 0], rr.shape)
    v = frame.world(lat, dor, along).reshape(-1, 3)
    f = _ring_grid(len(ang), len(prof), wrap_v=True)
    return v, _orient_closed(v, f), sec


def _axis_points(frame, centre, pts):
    loc = frame.local(pts)
    return frame.world(centre[0], centre[1], loc[:, 2])


def _lathe(base, normal, side_a, side_b, profile, n=48):
    """Surface of revolution about ``normal`` through ``base``: ``profile`` (P,2) of (radius, height)
    with radius > 0; capped by fans to a centre vertex at the first and last profile heights."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad, h = profile[:, 0], profile[:, 1]
    ring = (np.cos(phi)[:, None, None] * side_a + np.sin(phi)[:, None, None] * side_b)  # (n,1,3)
    v = base + rad[None, :, None] * ring + h[None, :, None] * normal               # (n,P,3)
    v = v.reshape(-1, 3)
    P = len(profile)
    f = list(_ring_grid(n, P, wrap_v=False))
    bottom, top = len(v), len(v) + 1
    v = np.vstack([v, base + h[0] * normal, base + h[-1] * normal])
    for i in range(n):
        j = (i + 1) % n
        f.append([bottom, i * P, j * P])  # wound like the grid's first and last rows
        f.append([top, j * P + P - 1, i * P + P - 1])
    return v, np.array(f, np.int64)


def watch_case_mesh(frame, local, acc, strap_section):
    """Case + dial of a watch on the back of the wrist, resting on the strap and clear of the rest
    skin under its footprint. Returns (vertices, faces, face_slot (0 case, 1 dial, 2 hands and hour
    marks))."""
    R, H = acc.case_radius_m, acc.case_height_m
    under = local[(np.abs(local[:, 0] - strap_section.centre[0]) < R)
                  & (np.abs(local[:, 2] - acc.position_m) < R)]
    top_strap = strap_section.centre[1] + strap_section.radius[len(strap_section.radius) // 4] + acc.gap_m \
        + acc.thickness_m
    base_h = max(top_strap - 0.0008, float(under[:, 1].max()) + 0.0008 if len(under) else top_strap)
    base = frame.world(strap_section.centre[0], base_h, acc.position_m)
    profile = np.array([[0.93 * R, 0.0], [R, 0.18 * H], [R, 0.7 * H], [0.96 * R, 0.86 * H], [0.9 * R, H],
                        [0.8 * R, H], [0.78 * R, 0.9 * H], [0.77 * R, 0.88 * H]])
    v, f = _lathe(base, frame.dorsal, frame.lateral, frame.axis, profile)
    P, n = len(profile), 48
    # Faces: grid quads (n x (P-1) x 2; the last segment is the dial's rim), then per step around
    # a bottom and a top fan triangle (the top fan is the dial).
    grid = n * (P - 1) * 2
    slot = np.zeros(len(f), np.int64)
    slot[:grid] = (np.arange(grid) // 2) % (P - 1) >= P - 2
    slot[grid + 1::2] = 1
    f = _orient_closed(v, f)
    # Hands and twelve hour marks: thin boxes just above the dial (slot 2).
    dial_r, dial_h = 0.77 * R, 0.88 * H
    marks = [(0.62 * dial_r, 0.9 * dial_r, 0.035 * dial_r * (2 if k % 3 == 0 else 1), 2 * np.pi * k / 12)
             for k in range(12)]
    hour, minute = 2 * np.pi * acc.time_h / 12, 2 * np.pi * (acc.time_h % 1.0)
    marks += [(-0.1 * dial_r, 0.5 * dial_r, 0.06 * dial_r, hour), (-0.12 * dial_r, 0.78 * dial_r, 0.04 * dial_r, minute)]
    for k, (r0, r1, half, a) in enumerate(marks):
        lift = 0.0002 + 0.0002 * (k >= 12) + 0.0002 * (k == 13)  # the minute hand over the hour hand
        bv, bf = _flat_box(base + (dial_h + lift) * frame.dorsal, frame.lateral, frame.axis, frame.dorsal,
                           r0, r1, half, a, 0.00015)
        f = np.vstack([f, bf + len(v)])
        v = np.vstack([v, bv])
        slot = np.r_[slot, np.full(len(bf), 2)]
    return v, f, slot


def _flat_box(centre, ex, ey, ez, r0, r1, half, angle, thick):
    """A closed thin box on the plane (ex, ey) at ``centre``: from radius r0 to r1 along ``angle``
    (0 towards ey, clockwise seen from ez), ``half`` wide, ``thick`` high."""
    d = np.cos(angle) * ey + np.sin(angle) * ex
    w = np.cross(ez, d)
    corners = [centre + d * r + w * s for r in (r0, r1) for s in (-half, half)]
    bottom = np.array(corners)
    v = np.vstack([bottom, bottom + thick * ez])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (1, 5, 7, 3), (3, 7, 6, 2), (2, 6, 4, 0)]
    f = np.array([t for a, b, c, e in quads for t in ((a, b, c), (a, c, e))], np.int64)
    return v, _orient_closed(v, f)


def rig_arm_frame(rest_joints, side, elbow=None):
    """ArmFrame of a rigged avatar's ``side`` hand at rest: (21,3) contract joints (hand frame of
    hopgen.avatars.rig: y to the middle finger, z to the palm) and the elbow (None: the forearm
    continues the hand's -y)."""
    from hopgen.avatars.rig import hand_frame
    hf = hand_frame(rest_joints, side)
    wrist = np.asarray(rest_joints[0], np.float64)
    axis = -hf[:3, 1] if elbow is None else np.asarray(elbow, np.float64) - wrist
    axis = axis / np.linalg.norm(axis)
    dorsal = -hf[:3, 2] + (hf[:3, 2] @ axis) * axis
    return ArmFrame(wrist, axis, dorsal / np.linalg.norm(dorsal))


def surface_samples(vertices, triangles, per_edge=4):
    """(T * k, 3) points spread over each triangle on a fixed barycentric grid (no draws): a coarse
    mesh's surface, dense enough for cross_section."""
    g = [(i, j) for i in range(per_edge + 1) for j in range(per_edge + 1 - i)]
    bary = np.array([(i, j, per_edge - i - j) for i, j in g], np.float64) / per_edge  # (k, 3)
    tri = np.asarray(vertices, np.float64)[np.asarray(triangles)]                    # (T, 3, 3)
    return np.einsum("kc,tcd->tkd", bary, tri).reshape(-1, 3)


def accessory_mesh(frame, rest_vertices, acc, name, vertex_ids=None, surface=None):
    """WearMesh of Accessory ``acc`` around skin ``rest_vertices`` (V,3) in ``frame``. vertex_ids:
    only these vertices are the arm's skin and may anchor the piece (indices into
    ``rest_vertices``); surface: (S,3) points of the arm's surface to fit to (default the skin
    vertices; a coarse mesh passes surface_samples)."""
    ids = np.arange(len(rest_vertices)) if vertex_ids is None else np.asarray(vertex_ids)
    anchor_local = frame.local(np.asarray(rest_vertices)[ids])
    local = anchor_local if surface is None else frame.local(surface)
    v, f, sec = band_mesh(frame, local, acc, name)
    slot = np.zeros(len(f), np.int64)
    slots = ["strap"]
    if acc.kind == "watch":
        cv, cf, cslot = watch_case_mesh(frame, local, acc, sec)
        f = np.vstack([f, cf + len(v)])
        v = np.vstack([v, cv])
        slot = np.r_[slot, cslot + 1]
        slots = ["strap", "case", "dial", "hands"]
    reach = 0.5 * acc.width_m + (acc.case_radius_m if acc.kind == "watch" else 0.0) + 0.004
    anchors = ids[np.abs(anchor_local[:, 2] - acc.position_m) <= reach]
    return WearMesh(name, v, f, slot, slots, anchors, record=acc.record())


def _fold_offset(look, along, ang):
    """Radial offset (N_rows, N_around) of the fold rings and the drape, ``along`` from the cuff."""
    out = np.zeros((len(along), len(ang)))
    a = np.asarray(along, np.float64)[:, None]
    for fd in look.folds:
        centre = fd.position_m + fd.waver_m * np.sin(2 * ang + fd.phase)
        amp = fd.amplitude_m * (0.65 + 0.35 * np.cos(fd.lobes * ang + fd.lobe_phase))
        x = (a - centre) / fd.width_m
        # A ridge flanked by shallow valleys (difference of Gaussians, peak = amp): cloth pushed
        # together folds out and in, not only out.
        out += amp / 0.55 * (np.exp(-0.5 * x ** 2) - 0.45 * np.exp(-0.5 * (x / 2.2) ** 2))
    if look.folds:  # the bunched cloth stands further off the skin where it folds
        reach = look.folds[-1].position_m + 2 * look.folds[-1].width_m
        out += 0.5 * max(fd.amplitude_m for fd in look.folds) * np.clip(1.2 - a / reach, 0.0, 1.0)
    out += look.drape_m * np.sin(2 * ang + look.drape_phase + 30.0 * a) * (0.5 + 0.5 * np.cos(3 * ang))
    return out


def sleeve_mesh(frame, rest_vertices, look, name="hop_sleeve"):
    """WearMesh of a sleeve (SleeveLook ``look``): a tube from the cuff to the end of the arm that
    stands ``ease_m`` off the skin, with a hem and fold rings near the cuff (geometry), the cuff's
    rim turned inwards by the cloth's thickness, and the far end closed."""
    local = frame.local(rest_vertices)
    far = float(local[:, 2].max())
    arm = local[local[:, 2] >= look.cuff_m - 0.01]
    near_rows = np.arange(0.0, 0.13, 0.0008)  # fine rows where the folds are
    rows = np.r_[near_rows, np.arange(0.13, far - look.cuff_m, 0.004)]
    s = look.cuff_m + rows
    secs = [cross_section(arm, si - 0.004, si + 0.004) for si in s]
    keep = np.array([sc is not None for sc in secs])
    last = int(np.argmin(keep)) if not keep.all() else len(s)
    if last < 4:
        raise ValueError(f"{name}: no forearm beyond the cuff at {look.cuff_m:.3f} m")
    s, rows, secs = s[:last], rows[:last], secs[:last]
    # Running maximum over neighbouring rows: the cloth bridges dips, never cuts into the skin.
    rad = np.array([sc.radius for sc in secs])
    pad = np.pad(rad, ((2, 2), (0, 0)), mode="edge")
    rad = np.max([pad[k:k + len(rad)] for k in range(5)], axis=0)
    cen = np.array([sc.centre for sc in secs])
    ang = secs[0].angles
    hem = 0.0008 * (rows < look.hem_m)[:, None]
    offset = look.ease_m + hem + _fold_offset(look, rows, ang)
    outer = rad + np.maximum(offset, MIN_CLEARANCE_M + look.thickness_m)
    inner0 = np.maximum(outer[0] - look.thickness_m, rad[0] + MIN_CLEARANCE_M)
    # Rows of the sheet: inside the cuff (10 mm up), the rim, then the outside to the far end,
    # then a cap closing the end.
    inside = 0.01
    r_rows = [inner0, inner0, 0.5 * (inner0 + outer[0])] + list(outer) + [0.6 * outer[-1], 0.15 * outer[-1]]
    s_rows = [s[0] + inside, s[0], s[0] - 0.5 * look.thickness_m] + list(s) + [s[-1] + 0.006, s[-1] + 0.009]
    c_rows = [cen[0], cen[0], cen[0]] + list(cen) + [cen[-1], cen[-1]]
    R = np.array(r_rows)                      # (rows, N)
    C = np.array(c_rows)                      # (rows, 2)
    S = np.array(s_rows)                      # (rows,)
    lat = C[:, 0:1] + R * np.cos(ang)[None]
    dor = C[:, 1:2] + R * np.sin(ang)[None]
    v = frame.world(lat, dor, S[:, None] + 0 * R)  # (rows, N, 3)
    nr, nu = R.shape
    v = v.transpose(1, 0, 2).reshape(-1, 3)   # index u * nr + row
    f = _ring_grid(nu, nr, wrap_v=False)
    # The outside (rows 3..) must face outwards; the inside of the cuff then faces the skin.
    out_rows = f[(f % nr).min(1) >= 3]
    if len(out_rows):
        vv = v[out_rows]
        n = np.cross(vv[:, 1] - vv[:, 0], vv[:, 2] - vv[:, 0])
        c = vv.mean(1)
        if float(np.sum(n * (c - _axis_points(frame, cen.mean(0), c)))) < 0:
            f = f[:, ::-1].copy()
    # UVs in metres: around = angle x mean radius (seam handled per corner), along = s.
    u_col = ang * float(outer.mean())
    row_of, col_of = f % nr, f // nr
    u = u_col[col_of]
    seam = (col_of.max(1) == nu - 1) & (col_of.min(1) == 0)
    u[seam] = np.where(col_of[seam] == 0, 2 * np.pi * float(outer.mean()), u[seam])
    uv = np.stack([u, S[row_of]], axis=-1)
    anchors = np.nonzero(local[:, 2] >= look.cuff_m)[0]
    return WearMesh(name, v, f, np.zeros(len(f), np.int64), ["fabric"], anchors, uv=uv, record=look.record())


def skin_clearance(piece_vertices, skin_vertices, skin_normals, chunk=512):
    """Least signed distance (m) of ``piece_vertices`` (N,3) from the skin, measured to the nearest
    skin vertex along its normal: > 0 when every point lies outside the skin (a check for tests
    and builders; brute force, so pass a subsample of large pieces)."""
    p = np.asarray(piece_vertices, np.float64)
    v = np.asarray(skin_vertices, np.float64)
    n = np.asarray(skin_normals, np.float64)
    near_box = np.all((v > p.min(0) - 0.02) & (v < p.max(0) + 0.02), axis=1)  # only skin that can be nearest
    v, n = v[near_box], n[near_box]
    worst = np.inf
    for k in range(0, len(p), chunk):
        q = p[k:k + chunk]
        d2 = (q * q).sum(1)[:, None] - 2 * q @ v.T + (v * v).sum(1)[None]
        near = np.argmin(d2, axis=1)
        worst = min(worst, float(np.min(np.sum((q - v[near]) * n[near], axis=1))))
    return worst
