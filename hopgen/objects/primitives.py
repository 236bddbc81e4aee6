"""Pure mesh primitives for the procedural object library (numpy only).

(~460 lines on purpose: one toolbox of small shape builders, all on one Part type and one loft;
splitting them would scatter the shared ring/SDF conventions they rely on.)

Every primitive returns a :class:`Part`: one closed, outward-oriented triangle mesh with
per-face material indices and, where the shape allows, a signed distance function
(negative inside) that is exact on the surface (mesh vertices lie on its zero set).

Building blocks:
- :func:`loft`: rings of points joined into a tube, closed by poles/fans (everything else
  is built on it: lathe, sweep, rounded slab, radial bodies);
- :func:`lathe`: surface of revolution of an (r, z) profile, exact SDF of the profile;
- :func:`sweep`: tube of circular section along a 3D path (parallel-transport frames);
- :func:`rounded_slab`: box with rounded plan corners and rounded edges, exact SDF;
- :func:`extrude_polygon`: prism of a simple 2D polygon (ear clipping), exact SDF;
- :func:`radial_body`: star-shaped body r(theta, phi) (spheres, fruit), approximate SDF;
- :func:`capsule`, :func:`sphere`.
"""

import numpy as np


class Part:
    """One closed mesh component.

    vertices (V, 3) float64, faces (F, 3) int64, face_material (F,) int64, sdf: callable
    (N, 3) -> (N,) or None. Faces are flipped on construction if the enclosed signed volume is
    negative, so builders only need consistent (not necessarily outward) winding.
    """

    def __init__(self, vertices, faces, face_material=0, sdf=None, orient=True):
        self.vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        fm = np.asarray(face_material, dtype=np.int64)
        self.face_material = np.full(len(self.faces), int(fm)) if fm.ndim == 0 else fm.copy()
        if len(self.face_material) != len(self.faces):
            raise ValueError("face_material length does not match the face count")
        self.sdf = sdf
        if orient and signed_volume(self.vertices, self.faces) < 0:
            self.faces = self.faces[:, ::-1].copy()

    def transformed(self, rot=None, trans=None):
        """Copy moved by p -> rot @ p + trans (rot (3, 3) rotation); the SDF follows."""
        rot = np.eye(3) if rot is None else np.asarray(rot, dtype=np.float64)
        trans = np.zeros(3) if trans is None else np.asarray(trans, dtype=np.float64)
        sdf = None
        if self.sdf is not None:
            inner = self.sdf

            def sdf(p, inner=inner, rot=rot, trans=trans):
                return inner((np.asarray(p, dtype=np.float64) - trans) @ rot)
        return Part(self.vertices @ rot.T + trans, self.faces, self.face_material, sdf, orient=False)

    def with_material(self, index):
        """Copy with every face assigned material `index`."""
        return Part(self.vertices, self.faces, index, self.sdf, orient=False)


def signed_volume(vertices, faces):
    """Volume enclosed by a closed triangle mesh (positive when faces point outwards)."""
    v = vertices[faces]  # (F, 3, 3)
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)


def rotation_to(axis):
    """Rotation matrix (3, 3) taking +z to the unit vector `axis`."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    z = np.array([0.0, 0.0, 1.0])
    c = float(z @ a)
    if c > 1 - 1e-12:
        return np.eye(3)
    if c < -1 + 1e-12:
        return np.diag([1.0, -1.0, -1.0])
    v = np.cross(z, a)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


# ----------------------------------------------------------------------------- loft


def loft(rings, start, end, band_material=0, start_material=None, end_material=None, sdf=None):
    """Join rings (K, n, 3) into a closed tube.

    start/end: a point (3,) to fan the first/last ring to (a pole, or a cap centre for a
    flat star-shaped cap). band_material: scalar or (K-1,) material per band between rings.
    """
    rings = np.asarray(rings, dtype=np.float64)
    k, n = rings.shape[:2]
    verts = np.concatenate([rings.reshape(-1, 3), np.asarray(start, float)[None], np.asarray(end, float)[None]])
    s_idx, e_idx = k * n, k * n + 1
    j = np.arange(n)
    jn = (j + 1) % n
    bands = []
    for r in range(k - 1):
        a, b = r * n + j, r * n + jn
        c, d = (r + 1) * n + jn, (r + 1) * n + j
        bands.append(np.stack([np.stack([a, b, c], 1), np.stack([a, c, d], 1)], 1).reshape(-1, 3))
    bm = np.broadcast_to(np.asarray(band_material, dtype=np.int64), (max(k - 1, 0),))
    start_faces = np.stack([np.full(n, s_idx), jn, j], 1)  # uses edge b->a, opposite to band 0
    last = (k - 1) * n
    end_faces = np.stack([np.full(n, e_idx), last + j, last + jn], 1)
    faces = np.concatenate([start_faces] + bands + [end_faces])
    s_m = bm[0] if start_material is None else start_material
    e_m = bm[-1] if end_material is None else end_material
    fmat = np.concatenate([np.full(n, s_m)] + [np.full(2 * n, m) for m in bm] + [np.full(n, e_m)])
    return Part(verts, faces, fmat, sdf)


def circle_ring(radius, z, segments, phase=0.0):
    """(segments, 3) points of a circle of `radius` at height z around the z axis."""
    t = phase + 2 * np.pi * np.arange(segments) / segments
    return np.stack([radius * np.cos(t), radius * np.sin(t), np.full(segments, float(z))], 1)


# ----------------------------------------------------------------------------- 2D polygons


def polygon_sdf_2d(poly, q, edge_mask=None):
    """Signed distance (N,) from points q (N, 2) to the closed polygon poly (M, 2), negative
    inside. edge_mask (M,) selects the edges that count as surface (all by default); every edge
    counts for the inside test."""
    poly = np.asarray(poly, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    a, b = poly, np.roll(poly, -1, axis=0)  # edges a[i] -> b[i]
    ab = b - a
    aq = q[:, None, :] - a[None]  # (N, M, 2)
    t = np.clip(np.einsum("nmk,mk->nm", aq, ab) / np.maximum((ab ** 2).sum(1), 1e-30), 0, 1)
    d2 = ((aq - t[..., None] * ab[None]) ** 2).sum(-1)
    if edge_mask is not None:
        d2 = np.where(np.asarray(edge_mask, bool)[None], d2, np.inf)
    dist = np.sqrt(d2.min(1))
    ay, by = a[None, :, 1], b[None, :, 1]
    qy, qx = q[:, None, 1], q[:, None, 0]
    straddle = (ay > qy) != (by > qy)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = a[None, :, 0] + (qy - ay) * ab[None, :, 0] / (by - ay)
    inside = (straddle & (qx < xi)).sum(1) % 2 == 1
    return np.where(inside, -dist, dist)


def polygon_area(poly):
    """Signed area of a 2D polygon (positive counter-clockwise)."""
    x, y = np.asarray(poly, float).T
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def triangulate_polygon(poly):
    """Ear-clipping triangulation of a simple counter-clockwise polygon: (M-2, 3) indices."""
    poly = np.asarray(poly, dtype=np.float64)
    idx = list(range(len(poly)))
    tris = []

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    guard = 0
    while len(idx) > 3:
        guard += 1
        if guard > 10 * len(poly) ** 2:
            raise ValueError("polygon triangulation failed (self-intersecting outline?)")
        m = len(idx)
        for i in range(m):
            ip, ic, inx = idx[i - 1], idx[i], idx[(i + 1) % m]
            p, c, nx = poly[ip], poly[ic], poly[inx]
            if cross(p, c, nx) <= 1e-15:
                continue  # reflex or degenerate corner
            ok = True
            for o in idx:
                if o in (ip, ic, inx):
                    continue
                r = poly[o]
                if cross(p, c, r) >= 0 and cross(c, nx, r) >= 0 and cross(nx, p, r) >= 0:
                    ok = False
                    break
            if ok:
                tris.append((ip, ic, inx))
                idx.pop(i)
                break
    tris.append(tuple(idx))
    return np.asarray(tris, dtype=np.int64)


def extrude_polygon(poly, half_thickness, side_material=0, cap_material=0):
    """Prism of the simple polygon poly (M, 2) in the xy plane, z in [-h, h]; exact SDF."""
    poly = np.asarray(poly, dtype=np.float64)
    if polygon_area(poly) < 0:
        poly = poly[::-1].copy()
    m, h = len(poly), float(half_thickness)
    tri = triangulate_polygon(poly)
    bottom = np.column_stack([poly, np.full(m, -h)])
    top = np.column_stack([poly, np.full(m, h)])
    i = np.arange(m)
    inx = (i + 1) % m
    sides = np.concatenate([np.stack([i, inx, m + inx], 1), np.stack([i, m + inx, m + i], 1)])
    faces = np.concatenate([tri[:, ::-1], tri + m, sides])
    fmat = np.concatenate([np.full(2 * len(tri), cap_material), np.full(2 * m, side_material)])

    return Part(np.concatenate([bottom, top]), faces, fmat, prism_sdf(poly, -h, h))


# ----------------------------------------------------------------------------- revolution


def revolve_sdf(profile):
    """Exact SDF of the solid of revolution of an (r, z) profile that starts and ends on the
    axis (the closing axis segment is not surface)."""
    profile = np.asarray(profile, dtype=np.float64)
    mask = np.ones(len(profile), bool)
    mask[-1] = False  # edge from the last point back to the first lies on the axis

    def sdf(p):
        p = np.asarray(p, dtype=np.float64)
        q = np.stack([np.hypot(p[:, 0], p[:, 1]), p[:, 2]], 1)
        return polygon_sdf_2d(profile, q, mask)

    return sdf


def lathe(profile, segments=64, segment_material=0):
    """Surface of revolution about +z of profile (M, 2) of (r, z) points.

    The profile must start and end on the axis (r = 0) and have r > 0 in between; it may run
    down again (hollow vessels). segment_material: scalar or (M-1,) material of each profile
    segment. Returns a closed Part with the exact SDF of the profile.
    """
    profile = np.asarray(profile, dtype=np.float64)
    if profile[0, 0] != 0 or profile[-1, 0] != 0 or np.any(profile[1:-1, 0] <= 1e-7):
        raise ValueError("lathe profile must start and end on the axis with r > 0 in between")
    sm = np.broadcast_to(np.asarray(segment_material, dtype=np.int64), (len(profile) - 1,))
    rings = np.stack([circle_ring(r, z, segments) for r, z in profile[1:-1]])
    return loft(rings, (0, 0, profile[0, 1]), (0, 0, profile[-1, 1]), sm[1:-1], sm[0], sm[-1],
                sdf=revolve_sdf(profile))


def arc_points(center, radius, a0, a1, n):
    """n points (n, 2) on a circular arc from angle a0 to a1 (radians), endpoints included."""
    t = np.linspace(a0, a1, n)
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], 1)


# ----------------------------------------------------------------------------- sweeps


def sweep(path, radius, segments=20, material=0, tangents=None):
    """Tube of circular section (radius scalar or (K,)) along path (K, 3), flat-capped.

    Frames are parallel-transported along the path so the tube does not twist; tangents
    (K, 3) may be given exactly (else finite differences).
    """
    path = np.asarray(path, dtype=np.float64)
    k = len(path)
    rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), (k,))
    tan = np.gradient(path, axis=0, edge_order=2) if tangents is None else np.array(tangents, dtype=np.float64)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    ref = np.array([0.0, 0.0, 1.0]) if abs(tan[0, 2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    nrm = np.cross(tan[0], ref)
    nrm /= np.linalg.norm(nrm)
    t = 2 * np.pi * np.arange(segments) / segments
    rings = []
    for i in range(k):
        if i:
            nrm = nrm - tan[i] * (nrm @ tan[i])  # parallel transport by projection
            nrm /= np.linalg.norm(nrm)
        bin_ = np.cross(tan[i], nrm)
        rings.append(path[i] + rad[i] * (np.cos(t)[:, None] * nrm + np.sin(t)[:, None] * bin_))
    return loft(np.stack(rings), path[0], path[-1], material)


def torus_sector_sdf(center, major, minor, normal_axis=1, keep_positive_axis=0):
    """Exact-on-surface SDF of the half torus around `center` (axis along coordinate
    `normal_axis`) keeping the half with coordinate `keep_positive_axis` >= center."""
    center = np.asarray(center, dtype=np.float64)
    plane = [a for a in range(3) if a != normal_axis]

    def sdf(p):
        d = np.asarray(p, dtype=np.float64) - center
        rho = np.hypot(d[:, plane[0]], d[:, plane[1]]) - major
        tor = np.hypot(rho, d[:, normal_axis]) - minor
        return np.maximum(tor, -d[:, keep_positive_axis])

    return sdf


# ----------------------------------------------------------------------------- boxes


def rounded_slab(hx, hy, hz, corner_r, edge_r, n_corner=8, n_edge=5, side_material=0, top_material=None,
                 bottom_material=None):
    """Box of half extents (hx, hy, hz) with plan corners rounded by corner_r and all edges
    rounded by edge_r (edge_r < corner_r <= min(hx, hy), edge_r <= hz); exact SDF.

    Built as a loft of offset outlines: ring phi has in-plane offset
    (corner_r - edge_r) + edge_r cos(phi) from the core rectangle.
    """
    if not (0 < edge_r < corner_r <= min(hx, hy) and edge_r <= hz):
        raise ValueError(f"rounded_slab: need 0 < edge_r < corner_r <= min(hx, hy), edge_r <= hz "
                         f"(got {hx}, {hy}, {hz}, {corner_r}, {edge_r})")
    cx, cy = hx - corner_r, hy - corner_r
    centers, normals = [], []
    for sx, sy, a0 in ((1, 1, 0.0), (-1, 1, 0.5 * np.pi), (-1, -1, np.pi), (1, -1, 1.5 * np.pi)):
        t = a0 + np.linspace(0, 0.5 * np.pi, n_corner + 1)
        centers.append(np.tile([sx * cx, sy * cy], (n_corner + 1, 1)))
        normals.append(np.stack([np.cos(t), np.sin(t)], 1))
    centers, normals = np.concatenate(centers), np.concatenate(normals)  # (n, 2)
    base = centers + corner_r * normals
    keep = np.linalg.norm(base - np.roll(base, 1, axis=0), axis=1) > 1e-9  # corner_r == hx or hy: shared points
    centers, normals = centers[keep], normals[keep]
    phis = np.concatenate([np.linspace(-0.5 * np.pi, 0, n_edge + 1), np.linspace(0, 0.5 * np.pi, n_edge + 1)])
    zc = np.concatenate([np.full(n_edge + 1, -(hz - edge_r)), np.full(n_edge + 1, hz - edge_r)])
    rings = []
    for phi, z0 in zip(phis, zc):
        off = (corner_r - edge_r) + edge_r * np.cos(phi)
        xy = centers + off * normals
        rings.append(np.column_stack([xy, np.full(len(xy), z0 + edge_r * np.sin(phi))]))
    side = side_material
    part = loft(np.stack(rings), (0, 0, -hz), (0, 0, hz), side,
                side if bottom_material is None else bottom_material, side if top_material is None else top_material,
                sdf=rounded_slab_sdf(hx, hy, hz, corner_r, edge_r))
    return part


def rounded_slab_sdf(hx, hy, hz, corner_r, edge_r):
    """Exact SDF of :func:`rounded_slab`."""

    def sdf(p):
        p = np.asarray(p, dtype=np.float64)
        q = np.abs(p[:, :2]) - np.array([hx - corner_r, hy - corner_r])
        d2 = np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0) - corner_r
        w = np.stack([d2 + edge_r, np.abs(p[:, 2]) - hz + edge_r], 1)
        return np.minimum(w.max(1), 0) + np.linalg.norm(np.maximum(w, 0), axis=1) - edge_r

    return sdf


# ----------------------------------------------------------------------------- round bodies


def radial_body(radius_fn, n_theta=48, n_phi=64, exact_sdf=None, material=0):
    """Star-shaped body: the point in direction (theta from +z, phi) lies at radius
    radius_fn(theta, phi), a broadcasting function of arrays. The SDF is exact_sdf if given,
    else the first-order estimate f / |grad f| with f = |p| - r(dir p) (zero on the surface)."""
    theta = np.linspace(0, np.pi, n_theta + 1)[1:-1][::-1]  # bottom ring first
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    r = np.asarray(radius_fn(theta[:, None], phi[None, :]), dtype=np.float64) * np.ones((len(theta), n_phi))
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    rings = np.stack([r * st * np.cos(phi)[None], r * st * np.sin(phi)[None], r * ct * np.ones_like(r)], -1)
    r_bot = float(np.asarray(radius_fn(np.pi, 0.0)))
    r_top = float(np.asarray(radius_fn(0.0, 0.0)))
    sdf = exact_sdf if exact_sdf is not None else radial_sdf(radius_fn)
    return loft(rings, (0, 0, -r_bot), (0, 0, r_top), material, sdf=sdf)


def radial_sdf(radius_fn, eps=1e-5):
    """Approximate SDF of a star-shaped body (see :func:`radial_body`)."""

    def f(p):
        rho = np.linalg.norm(p, axis=1)
        theta = np.arccos(np.clip(p[:, 2] / np.maximum(rho, 1e-12), -1, 1))
        phi = np.mod(np.arctan2(p[:, 1], p[:, 0]), 2 * np.pi)
        return rho - radius_fn(theta, phi)

    def sdf(p):
        p = np.asarray(p, dtype=np.float64)
        grad = np.stack([(f(p + e) - f(p - e)) / (2 * eps) for e in np.eye(3) * eps], 1)
        return f(p) / np.maximum(np.linalg.norm(grad, axis=1), 1e-6)

    return sdf


def sphere(radius, n_theta=40, n_phi=64, material=0):
    """UV sphere with the exact SDF."""

    def sdf(p):
        return np.linalg.norm(np.asarray(p, dtype=np.float64), axis=1) - radius

    return radial_body(lambda t, p: np.full(np.broadcast(t, p).shape, float(radius)), n_theta, n_phi,
                       exact_sdf=sdf, material=material)


def capsule(p0, p1, radius, segments=24, n_cap=6, material=0):
    """Capsule around the segment p0-p1 with the exact SDF."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = float(np.linalg.norm(p1 - p0))
    t = np.linspace(-0.5 * np.pi, 0, n_cap + 1)
    bottom = np.stack([radius * np.cos(t), radius * np.sin(t)], 1)
    top = np.stack([radius * np.cos(-t[::-1]), length + radius * np.sin(-t[::-1])], 1)
    prof = np.concatenate([bottom, top])
    prof[0, 0] = prof[-1, 0] = 0.0
    part = lathe(prof, segments, material)
    return part.transformed(rotation_to(p1 - p0), p0)


def merge_parts(parts):
    """Concatenate parts: (vertices (V, 3), faces (F, 3), face_material (F,), vertex_part (V,))."""
    verts, faces, fmat, vpart = [], [], [], []
    off = 0
    for i, p in enumerate(parts):
        verts.append(p.vertices)
        faces.append(p.faces + off)
        fmat.append(p.face_material)
        vpart.append(np.full(len(p.vertices), i))
        off += len(p.vertices)
    return (np.concatenate(verts), np.concatenate(faces), np.concatenate(fmat), np.concatenate(vpart))


class Profile:
    """Builder of (r, z) lathe profiles: starts on the axis at z0, each call appends points
    and the material of the segments leading to them; :meth:`part` closes it on the axis."""

    def __init__(self, z0, material=0):
        self.points = [(0.0, float(z0))]
        self.materials = []
        self.default = material

    def to(self, r, z, material=None):
        """Straight segment to (r, z)."""
        p = (float(r), float(z))
        if np.hypot(p[0] - self.points[-1][0], p[1] - self.points[-1][1]) > 1e-9:
            self.points.append(p)
            self.materials.append(self.default if material is None else material)
        return self

    def arc(self, cr, cz, radius, a0, a1, n=6, material=None):
        """Circular arc around (cr, cz) from angle a0 to a1 (radians, 0 = +r, pi/2 = +z)."""
        for r, z in arc_points((cr, cz), radius, a0, a1, n + 1):
            self.to(r, z, material)
        return self

    def curve(self, r1, z1, n=10, material=None):
        """Smooth cosine-eased transition (S-shaped in r) from the last point to (r1, z1)."""
        r0, z0 = self.points[-1]
        for t in np.linspace(0, 1, n + 1)[1:]:
            self.to(r1 + (r0 - r1) * (0.5 + 0.5 * np.cos(np.pi * t)), z0 + (z1 - z0) * t, material)
        return self

    def part(self, z_end, segments=64, material=None):
        """Close on the axis at z_end and revolve (see :func:`lathe`)."""
        self.to(0.0, z_end, material)
        return lathe(np.asarray(self.points), segments, np.asarray(self.materials))


def prism_sdf(poly, z0, z1):
    """Exact SDF of the prism of 2D polygon poly (M, 2) between heights z0 < z1."""
    poly = np.asarray(poly, dtype=np.float64)
    zc, h = 0.5 * (z0 + z1), 0.5 * (z1 - z0)

    def sdf(p):
        p = np.asarray(p, dtype=np.float64)
        w = np.stack([polygon_sdf_2d(poly, p[:, :2]), np.abs(p[:, 2] - zc) - h], 1)
        return np.minimum(w.max(1), 0) + np.linalg.norm(np.maximum(w, 0), axis=1)

    return sdf


def intersect_sdf(*fns):
    """SDF of the intersection (max), exact on the surface."""
    def sdf(p):
        return np.max(np.stack([f(p) for f in fns]), axis=0)
    return sdf
