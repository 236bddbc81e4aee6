"""Convex pieces for the simulator (pure: numpy + stdlib).

MuJoCo collides a mesh geom as its convex hull, so a non-convex object (a mug's hollow body
and its handle, a fork's tines) is split into pieces whose hulls stay close to the surface:
the object's surface samples are bisected recursively (at the middle of the piece's extent
along its principal axis, the halves overlapping by OVERLAP so no gap opens between them) until the
midpoints of random pairs of a piece's points all lie inside the object (signed distance below
OUTSIDE_TOL), i.e. the piece's hull does not bridge empty space. The hand is split by its
segmentation labels (one piece per phalanx) and the palm into a grid of patches.
"""

import numpy as np

OUTSIDE_TOL = 0.002  # m: a midpoint this far outside the surface means the hull bridges a gap
OVERLAP = 0.0015  # m: neighbouring hand pieces share the points within this distance of the cut
# Object pieces share more: their hulls meet only if each half keeps a sample row past the cut,
# i.e. OBJECT_OVERLAP > the sample spacing (surface_samples, sim.SAMPLE_SPACING 2.5 mm).
OBJECT_OVERLAP = 0.003
MAX_DEPTH = 8  # at most 2^8 pieces
MIN_POINTS = 6
PAIRS = 2000


def surface_samples(vertices, faces, face_values=None, spacing=None):
    """(points (N, 3), values (N,) or None): the mesh's vertices and face centroids, plus (with
    `spacing`, m) a grid on every triangle whose edges are longer than that.

    Without the grid a large flat face (a book's cover, a carton's side: two triangles) has
    samples only at its corners and centre, so a piece cut out of it covers only the part of
    the face its few samples span: MuJoCo then collides a body with holes where the object has
    surface (a milk carton's halves missed the 12 mm on each side of their cut, a book 80% of
    its cover). With grid samples every `spacing` along a triangle's two longer edges, and the
    halves of a cut sharing OBJECT_OVERLAP > spacing on each side, the pieces' hulls meet.
    face_values (F,): a per-face quantity (friction) carried to the samples (vertices take
    the value of one face that uses them)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    parts = [v, v[f].mean(1)]
    owner = [None, np.arange(len(f))]
    if spacing:
        tri = v[f]  # (F, 3, 3)
        for k in range(len(f)):
            a, b, c = tri[k]
            edges = [np.linalg.norm(b - a), np.linalg.norm(c - b), np.linalg.norm(a - c)]
            if max(edges) <= spacing:
                continue
            o = int(np.argmin(edges))  # the shortest edge is (o, o+1): span the grid from the opposite corner
            p0, p1, p2 = tri[k][(o + 2) % 3], tri[k][o], tri[k][(o + 1) % 3]
            n1 = max(1, int(np.ceil(np.linalg.norm(p1 - p0) / spacing)))
            n2 = max(1, int(np.ceil(np.linalg.norm(p2 - p0) / spacing)))
            i, j = np.meshgrid(np.arange(n1 + 1) / n1, np.arange(n2 + 1) / n2, indexing="ij")
            inside = (i + j <= 1.0 + 1e-9) & ((i > 0) | (j > 0))
            u, w = i[inside], j[inside]
            parts.append(p0 + u[:, None] * (p1 - p0) + w[:, None] * (p2 - p0))
            owner.append(np.full(len(u), k))
    pts = np.concatenate(parts)
    if face_values is None:
        return pts, None
    fv = np.asarray(face_values, dtype=np.float64)
    vv = np.full(len(v), fv[0] if len(fv) else 0.0)
    vv[f.reshape(-1)] = np.repeat(fv, 3)
    return pts, np.concatenate([vv] + [fv[o] for o in owner[1:]])


def _tight(points, sdf, rng):
    n = len(points)
    i, j = rng.integers(0, n, PAIRS), rng.integers(0, n, PAIRS)
    t = rng.uniform(0.2, 0.8, PAIRS)[:, None]
    mid = points[i] * t + points[j] * (1 - t)
    return bool(np.all(sdf(mid) < OUTSIDE_TOL))


def convex_pieces(points, sdf, max_depth=MAX_DEPTH, seed=0, overlap=OVERLAP):
    """Index arrays into `points` (N, 3), one per piece whose hull hugs the object.

    sdf: (M, 3) -> (M,) signed distance of the object (negative inside); overlap (m): the
    halves of a cut share the points this close to it (OBJECT_OVERLAP with grid samples).
    Deterministic for a given seed."""
    points = np.asarray(points, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out, stack = [], [(np.arange(len(points)), 0)]
    while stack:
        idx, depth = stack.pop()
        p = points[idx]
        if depth >= max_depth or len(idx) < 2 * MIN_POINTS or _tight(p, sdf, rng):
            out.append(idx)
            continue
        c = p - p.mean(0)
        axis = np.linalg.eigh(c.T @ c)[1][:, -1]
        s = c @ axis
        m = 0.5 * float(s.min() + s.max())  # the middle of the extent (a median cut leaves sparse regions lumped)
        lo, hi = idx[s <= m + overlap], idx[s >= m - overlap]
        if min(len(lo), len(hi)) < MIN_POINTS:  # a few outlying points: cut at the median instead
            m = float(np.median(s))
            lo, hi = idx[s <= m + overlap], idx[s >= m - overlap]
        if len(lo) < MIN_POINTS or len(hi) < MIN_POINTS or len(lo) == len(idx) or len(hi) == len(idx):
            out.append(idx)
            continue
        stack += [(hi, depth + 1), (lo, depth + 1)]
    return sorted(out, key=lambda a: int(a[0]))


def hand_pieces(points, labels, palm_label, palm_grid=(3, 3), hand_frame_points=None):
    """Index arrays into hand points (P, 3) with seg labels (P,): one per phalanx, the palm as
    a palm_grid patchwork (its hull would fill the hollow of a cupped palm otherwise).

    hand_frame_points (P, 3): the same points in the hand frame (the grid is laid out there;
    defaults to `points`)."""
    labels = np.asarray(labels)
    hf = np.asarray(points if hand_frame_points is None else hand_frame_points, dtype=np.float64)
    out = []
    for lab in np.unique(labels):
        idx = np.nonzero(labels == lab)[0]
        if lab != palm_label:
            if len(idx) >= 4:
                out.append(idx)
            continue
        q = hf[idx]
        bins = []
        for k, n in zip((0, 1), palm_grid):
            edges = np.quantile(q[:, k], np.linspace(0, 1, n + 1))
            bins.append(np.clip(np.searchsorted(edges, q[:, k], side="right") - 1, 0, n - 1))
        for bx in range(palm_grid[0]):
            for by in range(palm_grid[1]):
                sel = idx[(bins[0] == bx) & (bins[1] == by)]
                if len(sel) >= 4:
                    # Grow each patch by its neighbours' nearest points: no crack between patches.
                    c = hf[sel].mean(0)
                    r = np.max(np.linalg.norm(hf[sel] - c, axis=1)) + 0.002
                    out.append(idx[np.linalg.norm(q - c, axis=1) <= r])
    return out


HULL_TOL = 0.0005  # m: a hand piece's hull may reach this much deeper into the object than its skin
HULL_SAMPLES = 600
HULL_DEPTH = 4  # a piece is halved at most this often


def follow_skin(points, pieces, sdf, near=0.005, tol=HULL_TOL, seed=0):
    """Hand pieces whose convex hulls follow the skin where it meets the object.

    MuJoCo collides a piece as its hull; the hull of a cupped palm patch spans the patch's
    hollow and so reaches deeper into a round object than the skin does (4.4 mm vs 1.9 mm on an
    orange): a push no hand makes. A piece within `near` of the object whose hull (sampled as
    random convex combinations of three of its points) reaches more than `tol` deeper than
    its deepest skin point is halved along its principal axis (halves overlapping by OVERLAP),
    at most HULL_DEPTH times. points (P, 3) object frame; pieces: index arrays; sdf as above."""
    points = np.asarray(points, dtype=np.float64)
    rng = np.random.default_rng(seed)
    out, stack = [], [(np.asarray(idx), 0) for idx in pieces]
    while stack:
        idx, depth = stack.pop()
        p = points[idx]
        skin = float(np.min(sdf(p)))
        if skin > near or depth >= HULL_DEPTH or len(idx) < 2 * MIN_POINTS:
            out.append(idx)
            continue
        w = rng.dirichlet(np.ones(3), HULL_SAMPLES)  # (S, 3) convex weights of three points
        tri = p[rng.integers(0, len(p), (HULL_SAMPLES, 3))]  # (S, 3, 3)
        if float(np.min(sdf(np.einsum("sk,skd->sd", w, tri)))) >= skin - tol:
            out.append(idx)
            continue
        c = p - p.mean(0)
        s = c @ np.linalg.eigh(c.T @ c)[1][:, -1]
        m = 0.5 * float(s.min() + s.max())
        lo, hi = idx[s <= m + OVERLAP], idx[s >= m - OVERLAP]
        if min(len(lo), len(hi)) < MIN_POINTS:
            out.append(idx)
            continue
        stack += [(hi, depth + 1), (lo, depth + 1)]
    return out
