"""Distance queries on triangle meshes for grasp synthesis.

Closest-point and signed-distance queries through a bounding-volume hierarchy traversed in
vectorised numpy (frontier of (query, node) pairs, pruned by the best distance found so far).
Signs come from angle-weighted pseudo-normals (Baerentzen & Aanaes 2005), which are exact for
closed meshes and degrade gracefully on moderately non-manifold ones; a generalised winding
number (Jacobson et al. 2013) is available for open meshes. Mesh files: hopgen.core.meshfiles;
the grasp frame and size limits of an object: hopgen.core.graspable.

Pure module: numpy + standard library only.
"""

from dataclasses import dataclass

import numpy as np

from hopgen.core.meshfiles import weld
from hopgen.core.graspable import UngraspableObjectError  # noqa: F401  (long-standing name, free to keep)


# ------------------------------------------------------------------- closest points


def closest_on_triangles(p, a, b, c):
    """Closest points on triangles (a, b, c) to points p, all (N, 3).

    Returns (closest (N, 3), feature (N,) int): feature 0 face interior, 1/2/3 vertex
    a/b/c, 4/5/6 edge ab/bc/ca (Ericson, Real-Time Collision Detection 5.1.5).
    """
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = p - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = p - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        den = va + vb + vc
        v_face = np.where(den != 0, vb / den, 0.0)
        w_face = np.where(den != 0, vc / den, 0.0)
        t_ab = np.where(d1 - d3 != 0, d1 / (d1 - d3), 0.0)
        t_ac = np.where(d2 - d6 != 0, d2 / (d2 - d6), 0.0)
        e = (d4 - d3) + (d5 - d6)
        t_bc = np.where(e != 0, (d4 - d3) / e, 0.0)
    # Barycentric weights (u, v, w) per region, assigned lowest priority first.
    v, w = v_face, w_face
    feat = np.zeros(len(p), dtype=np.int64)
    for mask, vv, ww, code in (
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), 1 - t_bc, t_bc, 5),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), 0.0, t_ac, 6),
        ((d6 >= 0) & (d5 <= d6), 0.0, 1.0, 3),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), t_ab, 0.0, 4),
        ((d3 >= 0) & (d4 <= d3), 1.0, 0.0, 2),
        ((d1 <= 0) & (d2 <= 0), 0.0, 0.0, 1),
    ):
        v = np.where(mask, vv, v)
        w = np.where(mask, ww, w)
        feat = np.where(mask, code, feat)
    closest = a + ab * v[:, None] + ac * w[:, None]
    return closest, feat


def _dot(x, y):
    return np.einsum("ij,ij->i", x, y)


NEAREST_FIRST_ROUNDS = 2  # distance queries visit leaves one by one this often, then all remaining


@dataclass
class _BVH:
    lo: np.ndarray  # (M, 3) node box minima
    hi: np.ndarray  # (M, 3) node box maxima
    left: np.ndarray  # (M,) child index, -1 for leaves
    right: np.ndarray  # (M,)
    leaf_tris: np.ndarray  # (M, LEAF) triangle ids of leaves, -1 padded (rows of internal nodes all -1)


def _build_bvh(tri, leaf_size=8):
    """Median-split BVH over triangles (F, 3, 3)."""
    tlo, thi = tri.min(axis=1), tri.max(axis=1)
    cen = (tlo + thi) * 0.5
    lo, hi, left, right, leaves = [], [], [], [], []
    stack = [(np.arange(len(tri)), -1, 0)]  # (triangle ids, parent node, which child)
    while stack:
        ids, parent, side = stack.pop()
        node = len(lo)
        lo.append(tlo[ids].min(axis=0))
        hi.append(thi[ids].max(axis=0))
        left.append(-1)
        right.append(-1)
        if parent >= 0:
            (left if side == 0 else right)[parent] = node
        if len(ids) <= leaf_size:
            row = np.full(leaf_size, -1, dtype=np.int64)
            row[:len(ids)] = ids
            leaves.append(row)
            continue
        leaves.append(np.full(leaf_size, -1, dtype=np.int64))
        c = cen[ids]
        axis = int(np.argmax(c.max(axis=0) - c.min(axis=0)))
        half = len(ids) // 2
        order = np.argpartition(c[:, axis], half)
        stack.append((ids[order[half:]], node, 1))
        stack.append((ids[order[:half]], node, 0))
    return _BVH(np.array(lo), np.array(hi), np.array(left), np.array(right), np.array(leaves))


class TriangleMesh:
    """A triangle mesh with BVH-accelerated closest-point and signed-distance queries.

    vertices (V, 3), faces (F, 3). Exactly duplicated vertices are welded so that
    polygon soups (e.g. STL) get connected pseudo-normals. Degenerate faces are kept
    for distances (they are harmless) but get zero weight in the normals.
    """

    def __init__(self, vertices, faces, leaf_size=8):
        v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        if len(f) == 0:
            raise ValueError("TriangleMesh needs at least one face")
        self.vertices, self.faces = weld(v, f)
        self.tri = self.vertices[self.faces]  # (F, 3, 3)
        self._bvh = _build_bvh(self.tri, leaf_size)
        self._pseudo_normals()

    def _pseudo_normals(self):
        v, f, tri = self.vertices, self.faces, self.tri
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area2 = np.linalg.norm(n, axis=1)
        fn = np.where(area2[:, None] > 0, n / np.maximum(area2, 1e-300)[:, None], 0.0)  # (F, 3) unit
        self.face_normals = fn
        # Vertex pseudo-normals: face normals weighted by the incident angle.
        vn = np.zeros_like(v)
        for k in range(3):
            e1 = tri[:, (k + 1) % 3] - tri[:, k]
            e2 = tri[:, (k + 2) % 3] - tri[:, k]
            cosang = _dot(e1, e2) / np.maximum(np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1), 1e-300)
            np.add.at(vn, f[:, k], fn * np.arccos(np.clip(cosang, -1, 1))[:, None])
        self.vertex_normals = vn
        # Edge pseudo-normals: sum of the normals of every face sharing the edge (ab, bc, ca).
        e = np.stack([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=1).reshape(-1, 2)
        e.sort(axis=1)
        uniq, inv, counts = np.unique(e, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        es = np.zeros((len(uniq), 3))
        np.add.at(es, inv, np.repeat(fn, 3, axis=0))
        self.edge_normals = es[inv].reshape(-1, 3, 3)  # (F, 3 edges, 3)
        self.watertight = bool(np.all(counts == 2))

    @property
    def bounds(self):
        """(2, 3) axis-aligned bounding box."""
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def volume(self):
        """Signed volume enclosed (divergence theorem; meaningful for closed meshes)."""
        t = self.tri
        return float(np.sum(_dot(t[:, 0], np.cross(t[:, 1], t[:, 2]))) / 6.0)

    def _eval(self, p, tris):
        """Closest points of points p (K, 3) on triangles tris (K,)."""
        t = self.tri[tris]
        return closest_on_triangles(p, t[:, 0], t[:, 1], t[:, 2])

    def _query(self, P, cap=np.inf):
        """Closest points: returns (d2 (N,), closest (N, 3), face (N,), feature (N,)).

        Points with no surface within `cap` keep d2 = inf (their other outputs are zeros).
        """
        bvh = self._bvh
        n = len(P)
        best = np.full(n, float(cap) ** 2)
        best_c = np.zeros((n, 3))
        best_f = np.full(n, -1, dtype=np.int64)
        best_k = np.zeros(n, dtype=np.int64)

        def visit_leaves(q, nodes):
            """Closest triangle of leaves nodes (K,) to queries q (K,) (a query may repeat)."""
            tris = bvh.leaf_tris[nodes]  # (K, LEAF)
            valid = tris >= 0
            qq = np.broadcast_to(q[:, None], tris.shape)[valid]
            c, feat = self._eval(P[qq], tris[valid])
            d2 = np.full(tris.shape, np.inf)
            d2[valid] = np.sum((P[qq] - c) ** 2, axis=1)
            pos = np.full(tris.shape, -1, dtype=np.int64)  # row of each valid pair in c / feat
            pos[valid] = np.arange(len(qq))
            j = np.argmin(d2, axis=1)  # first minimum: lowest leaf slot on ties
            k = np.arange(len(q))
            dj, pj, tj = d2[k, j], pos[k, j], tris[k, j]
            order = np.lexsort((dj, q))  # per query, its nearest leaf's row first
            first = np.ones(len(order), dtype=bool)
            first[1:] = q[order[1:]] != q[order[:-1]]
            rows = order[first]
            rows = rows[dj[rows] <= best[q[rows]]]
            qsel, sel = q[rows], pj[rows]
            best[qsel] = dj[rows]
            best_c[qsel] = c[sel]
            best_f[qsel] = tj[rows]
            best_k[qsel] = feat[sel]

        # Greedy descent to the nearest-box leaf gives each query a good upper bound.
        node = np.zeros(n, dtype=np.int64)
        inner = bvh.left[node] >= 0
        while inner.any():
            idx = np.nonzero(inner)[0]
            l, r = bvh.left[node[idx]], bvh.right[node[idx]]
            dl, dr = self._box_d2(P[idx], l), self._box_d2(P[idx], r)
            node[idx] = np.where(dl <= dr, l, r)
            inner = bvh.left[node] >= 0
        visit_leaves(np.arange(n), node)
        greedy = node
        # Frontier traversal pruned by that bound collects the candidate (query, leaf) pairs.
        q = np.arange(n)
        nodes = np.zeros(n, dtype=np.int64)
        cand_q, cand_n, cand_d = [], [], []
        while len(q):
            d2 = self._box_d2(P[q], nodes)
            keep = d2 <= best[q]
            q, nodes, d2 = q[keep], nodes[keep], d2[keep]
            leaf = (bvh.left[nodes] < 0) & (nodes != greedy[q])  # the greedy leaf is done already
            cand_q.append(q[leaf])
            cand_n.append(nodes[leaf])
            cand_d.append(d2[leaf])
            inner = bvh.left[nodes] >= 0
            q, nodes = q[inner], nodes[inner]
            q = np.concatenate([q, q])
            nodes = np.concatenate([bvh.left[nodes], bvh.right[nodes]])
        # Visit the candidates nearest box first, one leaf per query per round, so the bound
        # tightens before the farther leaves are looked at (most are then pruned unvisited).
        q, nodes, d2 = np.concatenate(cand_q), np.concatenate(cand_n), np.concatenate(cand_d)
        order = np.lexsort((d2, q))
        q, nodes, d2 = q[order], nodes[order], d2[order]
        rank = np.arange(len(q))
        if len(q):
            starts = np.r_[0, np.nonzero(q[1:] != q[:-1])[0] + 1]
            rank = rank - np.repeat(starts, np.diff(np.r_[starts, len(q)]))
        r = 0
        while len(q):
            now = rank == r if r < NEAREST_FIRST_ROUNDS else np.ones(len(q), dtype=bool)  # then the rest at once
            visit_leaves(q[now], nodes[now])
            later = ~now
            q, nodes, d2, rank = q[later], nodes[later], d2[later], rank[later]
            keep = d2 <= best[q]  # sorted per query: once pruned, its farther leaves are too
            q, nodes, d2, rank = q[keep], nodes[keep], d2[keep], rank[keep]
            r += 1
        best[best_f < 0] = np.inf
        return best, best_c, best_f, best_k

    def _box_d2(self, p, nodes):
        lo, hi = self._bvh.lo[nodes], self._bvh.hi[nodes]
        d = np.maximum(np.maximum(lo - p, p - hi), 0.0)
        return np.sum(d * d, axis=1)

    def closest_points(self, P, max_dist=np.inf):
        """Closest surface points to P (N, 3) -> (dist (N,), closest (N, 3), face_idx (N,)).

        With a finite max_dist, points farther than it get dist = inf and face_idx = -1
        (much faster for far points).
        """
        P = np.asarray(P, dtype=np.float64).reshape(-1, 3)
        d2, c, f, _ = self._query(P, max_dist)
        return np.sqrt(d2), c, f

    def signed_distance(self, P, method="pseudonormal", max_dist=np.inf):
        """Signed distance of P (N, 3): negative inside. method 'pseudonormal' or 'winding'.

        With a finite max_dist, points farther than max_dist from the surface and outside
        the mesh's bounding box return max_dist (a lower bound on their distance, much
        faster); every other point gets its exact signed distance.
        """
        P = np.asarray(P, dtype=np.float64).reshape(-1, 3)
        d2, c, f, feat = self._query(P, max_dist)
        miss = f < 0
        if miss.any():
            lo, hi = self.bounds
            inbox = np.all((P >= lo) & (P <= hi), axis=1) & miss
            d2[miss & ~inbox] = float(max_dist) ** 2
            if inbox.any():  # far from the surface yet maybe inside: resolve exactly
                d2[inbox], c[inbox], f[inbox], feat[inbox] = self._query(P[inbox])
        dist = np.sqrt(d2)
        if method == "winding":
            inside = np.zeros(len(P), bool)
            near = np.isfinite(dist) & ~(miss & ~inbox) if miss.any() else np.ones(len(P), bool)
            inside[near] = self.winding_number(P[near]) > 0.5  # capped far points are outside
        elif method == "pseudonormal":
            fv = self.faces[f]
            normal = self.face_normals[f].copy()
            normal[f < 0] = 0.0  # capped misses outside the box: dot = 0 -> outside
            isv = (feat >= 1) & (feat <= 3)
            normal[isv] = self.vertex_normals[fv[isv, feat[isv] - 1]]
            ise = feat >= 4
            normal[ise] = self.edge_normals[f[ise], feat[ise] - 4]
            inside = _dot(P - c, normal) < 0
        else:
            raise ValueError(f"signed_distance: unknown method {method!r} (pseudonormal|winding)")
        return np.where(inside, -dist, dist)

    def winding_number(self, P, chunk=None):
        """Generalised winding number of P (N,): ~1 inside, ~0 outside, O(N F). Points go in chunks
        of ``chunk`` (default: about 2 million point-triangle pairs, ~50 MB per temporary)."""
        P = np.asarray(P, dtype=np.float64).reshape(-1, 3)
        chunk = chunk or max(1, 2_000_000 // len(self.tri))
        out = np.zeros(len(P))
        for s in range(0, len(P), chunk):
            a = self.tri[None, :, 0] - P[s:s + chunk, None]  # (n, F, 3)
            b = self.tri[None, :, 1] - P[s:s + chunk, None]
            c = self.tri[None, :, 2] - P[s:s + chunk, None]
            la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
            num = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
            den = (la * lb * lc + np.einsum("nfi,nfi->nf", a, b) * lc
                   + np.einsum("nfi,nfi->nf", b, c) * la + np.einsum("nfi,nfi->nf", c, a) * lb)
            out[s:s + chunk] = np.sum(np.arctan2(num, den), axis=1) / (2 * np.pi)
        return out


def vertex_normals(v, f):
    """(V, 3) unit vertex normals of the triangle mesh (v (V, 3), f (F, 3)): area-weighted face normals summed."""
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)


def vertex_areas(v, f):
    """(V,) a third of the area of every triangle round each vertex of the mesh (v (V, 3), f (F, 3))."""
    v, f = np.asarray(v, dtype=np.float64), np.asarray(f)
    a = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    out = np.zeros(len(v))
    np.add.at(out, f.reshape(-1), np.repeat(a / 3.0, 3))
    return out


def object_distance_fn(geom, max_dist=np.inf):
    """Signed distance function P (N, 3) -> (N,) for an object geometry.

    Uses geom.sdf when it is present (analytic, procedural objects), otherwise a
    TriangleMesh built from geom.vertices / geom.faces (cached on the geometry object), signed by
    geom.sign_method when given ("winding" for open meshes; default "pseudonormal").
    With a finite max_dist, the mesh distance may return max_dist for points farther than
    that outside the mesh's box (see TriangleMesh.signed_distance); much faster.
    """
    sdf = getattr(geom, "sdf", None)
    if sdf is not None:
        return lambda P: np.asarray(sdf(np.asarray(P, dtype=np.float64).reshape(-1, 3)), dtype=np.float64)
    mesh = getattr(geom, "_hopgen_trimesh", None)
    if mesh is None:
        mesh = TriangleMesh(geom.vertices, geom.faces)
        try:
            geom._hopgen_trimesh = mesh
        except (AttributeError, TypeError):
            pass  # frozen/slotted geometry: no cache
    method = getattr(geom, "sign_method", "pseudonormal")
    return lambda P: mesh.signed_distance(P, method=method, max_dist=max_dist)


def box_bounded_sdf(sdf, lo, hi, margin=0.005):
    """Wrap a signed distance so points outside the box [lo, hi] grown by `margin` get their
    distance to the box instead (a cheap lower bound of the true distance, > margin).

    Searches that only need the exact value near the surface (contact, penetration) call the
    expensive sdf on far fewer points.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)

    def bounded(p):
        p = np.asarray(p, dtype=np.float64).reshape(-1, 3)
        gap = np.maximum(np.maximum(lo - p, p - hi), 0.0)
        out = np.sqrt(np.sum(gap * gap, axis=1))
        near = out <= margin
        if near.any():
            out[near] = sdf(p[near])
        return out

    return bounded
