"""Triangle-mesh loading and distance queries for grasp synthesis.

Loads .obj / .stl (ASCII and binary) / .ply (ASCII and binary little endian) into
vertices (V, 3) float64 metres and faces (F, 3) int64, and answers closest-point and
signed-distance queries through a bounding-volume hierarchy traversed in vectorised
numpy (frontier of (query, node) pairs, pruned by the best distance found so far).
Signs come from angle-weighted pseudo-normals (Baerentzen & Aanaes 2005), which are
exact for closed meshes and degrade gracefully on moderately non-manifold ones; a
generalised winding number (Jacobson et al. 2013) is available for open meshes.

Pure module: numpy + standard library only.
"""

import os
import struct
from dataclasses import dataclass

import numpy as np

UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}

# Graspability limits (metres), after the largest/smallest objects a single hand holds.
MAX_LONGEST_EXTENT = 0.40
MAX_SMALLEST_EXTENT = 0.12
MIN_LONGEST_EXTENT = 0.015


class MeshFileError(ValueError):
    """A mesh file cannot be read; the message names the file and the problem."""


class UngraspableObjectError(ValueError):
    """An object cannot be grasped by one hand (degenerate, too large or too small)."""

    def __init__(self, name, reason):
        self.name = name
        self.reason = reason
        super().__init__(f"object {name!r} is not graspable: {reason}")


# ----------------------------------------------------------------------------- loading


def load_mesh(path, units="m", scale=1.0):
    """Read a mesh file -> (vertices (V, 3) float64 metres, faces (F, 3) int64).

    `units` is one of UNIT_SCALES (the file's length unit); `scale` multiplies on top.
    Polygons are fan-triangulated. Raises MeshFileError naming the file on bad input.
    """
    if units not in UNIT_SCALES:
        raise MeshFileError(f"{path}: unknown units {units!r} (expected one of {sorted(UNIT_SCALES)})")
    if not np.isfinite(scale) or scale <= 0:
        raise MeshFileError(f"{path}: scale must be a positive number, got {scale!r}")
    ext = os.path.splitext(str(path))[1].lower()
    readers = {".obj": _read_obj, ".stl": _read_stl, ".ply": _read_ply}
    if ext not in readers:
        raise MeshFileError(f"{path}: unsupported mesh format {ext!r} (expected .obj, .stl or .ply)")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise MeshFileError(f"{path}: cannot read ({exc})") from exc
    try:
        verts, faces = readers[ext](data)
    except MeshFileError as exc:
        raise MeshFileError(f"{path}: {exc}") from None
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise MeshFileError(f"{path}: malformed {ext[1:].upper()} file ({exc})") from exc
    verts = np.asarray(verts, dtype=np.float64).reshape(-1, 3) * (UNIT_SCALES[units] * float(scale))
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(verts)):
        raise MeshFileError(f"{path}: face index out of range (file has {len(verts)} vertices)")
    return verts, faces


def _fan(poly):
    """Fan-triangulate one polygon given as a list of vertex indices."""
    return [(poly[0], poly[k], poly[k + 1]) for k in range(1, len(poly) - 1)]


def _read_obj(data):
    verts, faces = [], []
    for line in data.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            idx = []
            for tok in parts[1:]:
                i = int(tok.split("/")[0])
                idx.append(i - 1 if i > 0 else len(verts) + i)  # OBJ: 1-based, negative = relative
            faces.extend(_fan(idx))
    return np.array(verts, dtype=np.float64).reshape(-1, 3), np.array(faces, dtype=np.int64).reshape(-1, 3)


def _read_stl(data):
    n = struct.unpack("<I", data[80:84])[0] if len(data) >= 84 else -1
    if n >= 0 and len(data) == 84 + 50 * n:  # binary: size is exact (ASCII files may also start with "solid")
        rec = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]),
                            count=n, offset=84)
        tri = rec["v"].astype(np.float64)
    else:
        text = data.decode("utf-8", errors="replace")
        if not text.lstrip().startswith("solid"):
            raise MeshFileError("neither a binary STL (size mismatch) nor an ASCII STL (no 'solid')")
        vals = [ln.split()[1:4] for ln in text.splitlines() if ln.strip().startswith("vertex")]
        tri = np.array(vals, dtype=np.float64).reshape(-1, 3, 3)
    return weld(tri.reshape(-1, 3), np.arange(len(tri) * 3).reshape(-1, 3))


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def _read_ply(data):
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise MeshFileError("not a PLY file (missing 'ply' magic or 'end_header')")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    body = data[data.index(b"\n", end) + 1:]
    fmt, elements = None, []  # elements: [name, count, [(prop, type) or (prop, (count_type, item_type))]]
    for line in header:
        p = line.split()
        if not p:
            continue
        if p[0] == "format":
            fmt = p[1]
        elif p[0] == "element":
            elements.append([p[1], int(p[2]), []])
        elif p[0] == "property":
            if p[1] == "list":
                elements[-1][2].append((p[4], (_PLY_TYPES[p[2]], _PLY_TYPES[p[3]])))
            else:
                elements[-1][2].append((p[2], _PLY_TYPES[p[1]]))
    if fmt not in ("ascii", "binary_little_endian"):
        raise MeshFileError(f"unsupported PLY format {fmt!r} (ascii and binary_little_endian are supported)")
    verts = np.zeros((0, 3))
    faces = []
    if fmt == "ascii":
        tokens = body.decode("ascii", errors="replace").split()
        pos = 0
        for name, count, props in elements:
            rows = []
            for _ in range(count):
                row = {}
                for pname, ptype in props:
                    if isinstance(ptype, tuple):
                        k = int(tokens[pos])
                        row[pname] = [int(float(t)) for t in tokens[pos + 1:pos + 1 + k]]
                        pos += 1 + k
                    else:
                        row[pname] = float(tokens[pos])
                        pos += 1
                rows.append(row)
            if name == "vertex":
                verts = np.array([[r["x"], r["y"], r["z"]] for r in rows], dtype=np.float64).reshape(-1, 3)
            elif name == "face":
                key = _ply_face_key(props)
                for r in rows:
                    faces.extend(_fan(r[key]))
    else:
        pos = 0
        for name, count, props in elements:
            if not any(isinstance(t, tuple) for _, t in props):
                dt = np.dtype([(pn, "<" + pt) for pn, pt in props])
                arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
                pos += dt.itemsize * count
                if name == "vertex":
                    verts = np.stack([arr["x"], arr["y"], arr["z"]], axis=1).astype(np.float64)
                continue
            pos, rows = _ply_binary_lists(body, pos, count, props)
            if name == "face":
                key = _ply_face_key(props)
                for r in rows:
                    faces.extend(_fan(r[key]))
    return verts, np.array(faces, dtype=np.int64).reshape(-1, 3)


def _ply_face_key(props):
    for key in ("vertex_indices", "vertex_index"):
        if any(p == key for p, _ in props):
            return key
    raise MeshFileError("PLY face element has no 'vertex_indices' list")


def _ply_binary_lists(body, pos, count, props):
    """Parse a binary element with list properties; fast path when every list has 3 items."""
    simple = len(props) == 1 and isinstance(props[0][1], tuple)
    if simple and count:
        ct, it = props[0][1]
        dt = np.dtype([("n", "<" + ct), ("i", "<" + it, 3)])
        if pos + dt.itemsize * count <= len(body):
            arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
            if np.all(arr["n"] == 3):
                return pos + dt.itemsize * count, [{props[0][0]: list(map(int, r))} for r in arr["i"]]
    rows = []
    for _ in range(count):
        row = {}
        for pname, ptype in props:
            if isinstance(ptype, tuple):
                ct, it = (np.dtype("<" + t) for t in ptype)
                k = int(np.frombuffer(body, dtype=ct, count=1, offset=pos)[0])
                pos += ct.itemsize
                row[pname] = [int(x) for x in np.frombuffer(body, dtype=it, count=k, offset=pos)]
                pos += it.itemsize * k
            else:
                dt = np.dtype("<" + ptype)
                row[pname] = float(np.frombuffer(body, dtype=dt, count=1, offset=pos)[0])
                pos += dt.itemsize
        rows.append(row)
    return pos, rows


def weld(vertices, faces, tol=0.0):
    """Merge vertices closer than `tol` (exact duplicates when 0); returns (vertices, faces)."""
    v = np.asarray(vertices, dtype=np.float64)
    key = np.round(v / tol) if tol > 0 else v
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return v[first], inverse.reshape(-1)[np.asarray(faces)]


def save_obj(path, vertices, faces):
    """Write a minimal OBJ (used by tests and examples); atomic replace."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.writelines(f"v {x:.9g} {y:.9g} {z:.9g}\n" for x, y, z in np.asarray(vertices))
        fh.writelines(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in np.asarray(faces))
    os.replace(tmp, path)


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
            inside = self.winding_number(P) > 0.5
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

    def winding_number(self, P, chunk=2048):
        """Generalised winding number of P (N,): ~1 inside, ~0 outside, O(N F)."""
        P = np.asarray(P, dtype=np.float64).reshape(-1, 3)
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


# ------------------------------------------------------------ grasp preparation


@dataclass
class GraspFrame:
    """A mesh centred for grasping: centre (3,) subtracted; axes (3, 3) rows = principal
    axes, longest first, right-handed; extents (3,) the mesh's size along each axis."""

    vertices: np.ndarray  # (V, 3) centred
    faces: np.ndarray  # (F, 3)
    centre: np.ndarray  # (3,) bbox centre in the input frame
    axes: np.ndarray  # (3, 3)
    extents: np.ndarray  # (3,)


EIGEN_TIE = 1e-6  # relative: variances closer than this are treated as equal (symmetric objects)
EXTENT_TIE = 1e-6  # relative: extents closer than this keep the variance order


def principal_axes(vertices, faces):
    """Principal axes (3, 3 rows, longest extent first, right-handed) and extents along them.

    Uses the area-weighted surface covariance so that tessellation density does not bias
    the axes. Axes that the covariance does not determine (equal variances: around the axis
    of a cylinder, any direction of a sphere) are chosen canonically from the world axes, and
    near-ties in ordering and sign are broken by tolerances, so the result does not depend on
    round-off (it is the same under different numpy/LAPACK builds).
    """
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    total = area.sum()
    if not total > 0:
        return np.eye(3), np.ptp(v, axis=0) if len(v) else np.zeros(3)
    cen = np.sum(area[:, None] * tri.mean(axis=1), axis=0) / total
    x = tri - cen
    # Exact second moment of a triangle: (sum_i xi xi^T + (sum_i xi)(sum_i xi)^T) / 12 * 2A.
    s = x.sum(axis=1)
    cov = (np.einsum("fki,fkj->fij", x, x) + np.einsum("fi,fj->fij", s, s)) / 12.0
    cov = np.sum(area[:, None, None] * cov, axis=0) / total
    evals, evecs = np.linalg.eigh(cov)
    axes = evecs.T[::-1].copy()  # by variance, largest first
    var = evals[::-1]
    tie = EIGEN_TIE * max(var[0], 1e-30)
    if var[0] - var[2] < tie:
        axes = np.eye(3)  # isotropic: any axes will do; keep them deterministic
    elif var[0] - var[1] < tie:
        axes = _canonical_pair(axes[2], first=True)
    elif var[1] - var[2] < tie:
        axes = _canonical_pair(axes[0], first=False)
    proj = v[:, None, 0] * axes[None, :, 0] + v[:, None, 1] * axes[None, :, 1] + v[:, None, 2] * axes[None, :, 2]
    extents = np.ptp(proj, axis=0)  # (3,) elementwise, no BLAS: identical across builds
    order = [0, 1, 2]
    for i in (1, 2):  # insertion sort, longest first; near-equal extents keep their order
        j = i
        while j > 0 and extents[order[j]] > extents[order[j - 1]] * (1 + EXTENT_TIE):
            order[j - 1], order[j] = order[j], order[j - 1]
            j -= 1
    axes, extents = axes[order], extents[order]
    for i in range(3):  # deterministic sign: first near-largest-magnitude component positive
        mag = np.abs(axes[i])
        k = int(np.nonzero(mag >= mag.max() - 1e-9)[0][0])
        if axes[i, k] < 0:
            axes[i] = -axes[i]
    if np.linalg.det(axes) < 0:
        axes[2] = -axes[2]
    return axes, extents


def _canonical_pair(n, first):
    """Axes (3, 3) whose rows span the plane normal to unit n canonically, plus n itself
    (last row when first=True: the pair has the larger variance, else first row)."""
    n = n / np.linalg.norm(n)
    proj = np.eye(3) - np.outer(n, n)  # rows: world axes projected into the plane
    size = np.linalg.norm(proj, axis=1)
    k = int(np.nonzero(size >= size.max() - 1e-9)[0][0])  # first world axis (nearly) in the plane
    u = proj[k] / size[k]
    w = np.cross(n, u)
    return np.stack([u, w, n]) if first else np.stack([n, u, w])


def _vf(vertices, faces):
    """(vertices, faces) from a pair or from a mesh object with .vertices / .faces."""
    if faces is None:
        return vertices.vertices, vertices.faces
    return vertices, faces


def normalise_for_grasp(vertices, faces=None):
    """Centre a mesh at its bounding-box centre and find its principal axes -> GraspFrame.

    Takes (vertices, faces) or one mesh object (TriangleMesh, ObjectGeometry).
    """
    vertices, faces = _vf(vertices, faces)
    v = np.asarray(vertices, dtype=np.float64)
    centre = (v.min(axis=0) + v.max(axis=0)) * 0.5
    axes, extents = principal_axes(v - centre, faces)
    return GraspFrame(v - centre, np.asarray(faces, dtype=np.int64), centre, axes, extents)


def check_graspable(name, vertices, faces=None):
    """Raise UngraspableObjectError(name, reason) unless one hand can grasp the mesh.

    Takes (vertices, faces) or one mesh object. Rejects meshes without faces or with
    NaN/inf, zero volume, longest extent > MAX_LONGEST_EXTENT or < MIN_LONGEST_EXTENT, and
    smallest extent > MAX_SMALLEST_EXTENT.
    """
    vertices, faces = _vf(vertices, faces)
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces).reshape(-1, 3) if np.size(faces) else np.zeros((0, 3), dtype=np.int64)
    if len(f) == 0 or len(v) == 0:
        raise UngraspableObjectError(name, "mesh has no faces")
    if not np.all(np.isfinite(v)):
        raise UngraspableObjectError(name, "mesh has NaN or infinite vertex coordinates")
    if f.min() < 0 or f.max() >= len(v):
        raise UngraspableObjectError(name, "face index out of range")
    ext = np.ptp(v[np.unique(f)], axis=0)
    _, pext = principal_axes(v, f)
    longest, smallest = float(ext.max()), float(min(ext.min(), pext.min()))
    if longest < MIN_LONGEST_EXTENT:
        raise UngraspableObjectError(
            name, f"too small: longest extent {longest * 1000:.1f} mm < {MIN_LONGEST_EXTENT * 1000:.0f} mm "
                  "(check the units)")
    if longest > MAX_LONGEST_EXTENT:
        raise UngraspableObjectError(
            name, f"too large: longest extent {longest:.3f} m > {MAX_LONGEST_EXTENT} m (check the units)")
    if smallest > MAX_SMALLEST_EXTENT:
        raise UngraspableObjectError(
            name, f"too large: smallest extent {smallest:.3f} m > {MAX_SMALLEST_EXTENT} m, no hand spans it")
    tri = v[f]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    vol = abs(float(np.sum(_dot(tri[:, 0], np.cross(tri[:, 1], tri[:, 2]))) / 6.0))
    # A flat or needle-like mesh has (near) zero volume; compare with a cube of the same area.
    if not area > 0 or vol < 1e-4 * (area / 6.0) ** 1.5:
        raise UngraspableObjectError(name, "degenerate: zero volume (flat, open or collapsed mesh)")


def object_distance_fn(geom, max_dist=np.inf):
    """Signed distance function P (N, 3) -> (N,) for an object geometry.

    Uses geom.sdf when it is present (analytic, procedural objects), otherwise a
    TriangleMesh built from geom.vertices / geom.faces (cached on the geometry object).
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
    if np.isfinite(max_dist):
        return lambda P: mesh.signed_distance(P, max_dist=max_dist)
    return mesh.signed_distance


# ----------------------------------------------------------------- primitives


def box_mesh(size):
    """Closed box centred at the origin, size (3,) -> (vertices (8, 3), faces (12, 3)), outward."""
    s = np.asarray(size, dtype=np.float64) * 0.5
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64) * s
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], dtype=np.int64)
    return v, f


def uv_sphere_mesh(radius, n=32):
    """Closed UV sphere at the origin with n rings -> (vertices, faces), outward."""
    th = np.linspace(0, np.pi, n + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    ring = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    v = np.vstack([ring, [[0, 0, 1], [0, 0, -1]]]) * radius
    m = 2 * n
    i, j = np.meshgrid(np.arange(n - 2), np.arange(m), indexing="ij")
    a, b = i * m + j, i * m + (j + 1) % m
    c, d = a + m, b + m
    quads = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    jj = np.arange(m)
    top = np.stack([np.full(m, len(v) - 2), jj, (jj + 1) % m], -1)
    last = (n - 2) * m
    bot = np.stack([np.full(m, len(v) - 1), last + (jj + 1) % m, last + jj], -1)
    return v, np.concatenate([quads, top, bot]).astype(np.int64)


def cylinder_mesh(radius, height, n=48):
    """Closed cylinder along z centred at the origin -> (vertices, faces), outward."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.cos(ang) * radius, np.sin(ang) * radius], -1)
    h = height * 0.5
    v = np.vstack([np.c_[ring, np.full(n, -h)], np.c_[ring, np.full(n, h)], [[0, 0, -h], [0, 0, h]]])
    j = np.arange(n)
    k = (j + 1) % n
    side = np.concatenate([np.stack([j, k, k + n], -1), np.stack([j, k + n, j + n], -1)])
    bottom = np.stack([np.full(n, 2 * n), k, j], -1)
    top = np.stack([np.full(n, 2 * n + 1), j + n, k + n], -1)
    return v, np.concatenate([side, bottom, top]).astype(np.int64)


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
