"""Surface nets (pure numpy): polygonise a sampled signed distance field into a closed quad mesh,
triangulate it, and project its vertices onto the zero level set. The procedural hand
(hopgen.hand.handmesh) is built with it."""

import numpy as np



def fix_ambiguous_faces(f):
    """Make every grid square unambiguous (no diagonal sign pattern) by flipping the outside
    corner closest to the surface to inside; this keeps the surface-nets mesh edge-manifold."""
    for _ in range(20):
        changed = False
        for axis in range(3):
            inside = f < 0
            a1, a2 = [d for d in range(3) if d != axis]
            n = f.shape

            def sl(o1, o2):
                s = [slice(None)] * 3
                s[a1] = slice(o1, n[a1] - 1 + o1)
                s[a2] = slice(o2, n[a2] - 1 + o2)
                return tuple(s)
            s00, s10, s01, s11 = (inside[sl(*o)] for o in ((0, 0), (1, 0), (0, 1), (1, 1)))
            amb = (s00 == s11) & (s10 == s01) & (s00 != s10)
            if not amb.any():
                continue
            changed = True
            idx = np.argwhere(amb)
            best, best_val = None, None
            for o in ((0, 0), (1, 0), (0, 1), (1, 1)):
                cand = idx.copy()
                cand[:, a1] += o[0]
                cand[:, a2] += o[1]
                val = f[tuple(cand.T)]
                val = np.where(val >= 0, val, np.inf)
                if best is None:
                    best, best_val = cand, val
                else:
                    take = val < best_val
                    best[take] = cand[take]
                    best_val = np.where(take, val, best_val)
            f[tuple(best.T)] = -1e-7
        if not changed:
            return f
    raise RuntimeError("surface nets: could not remove ambiguous grid faces")


def surface_nets(f, origin, h):
    """Naive surface nets on a grid field f (nx,ny,nz), negative inside, positive border.

    Returns vertices (V,3) and outward-oriented quads (Q,4) int64.
    """
    n = np.array(f.shape)
    inside = f < 0
    cells = n - 1
    ncell = int(np.prod(cells))
    acc = np.zeros((ncell, 3))
    cnt = np.zeros(ncell)
    quads = []
    for axis in range(3):
        s0 = [slice(None)] * 3
        s1 = [slice(None)] * 3
        s0[axis], s1[axis] = slice(0, -1), slice(1, None)
        fa, fb = f[tuple(s0)], f[tuple(s1)]
        ia = inside[tuple(s0)]
        cross = ia != inside[tuple(s1)]
        idx = np.argwhere(cross)  # grid point at the low end of each crossing edge
        t = fa[cross] / (fa[cross] - fb[cross])
        pos = idx.astype(np.float64)
        pos[:, axis] += t
        a1, a2 = (axis + 1) % 3, (axis + 2) % 3  # (a1, a2, axis) right-handed
        ring = []
        for o1, o2 in ((-1, -1), (0, -1), (0, 0), (-1, 0)):  # counter-clockwise about +axis
            c = idx.copy()
            c[:, a1] += o1
            c[:, a2] += o2
            lin = np.ravel_multi_index(c.T, cells)  # border is outside: always valid
            ring.append(lin)
            for d in range(3):
                acc[:, d] += np.bincount(lin, weights=pos[:, d], minlength=ncell)
            cnt += np.bincount(lin, minlength=ncell)
        q = np.stack(ring, axis=1)
        flip = ~ia[cross]  # inside at the high end: the normal points to -axis
        q[flip] = q[flip][:, ::-1]
        quads.append(q)
    active = np.nonzero(cnt)[0]
    remap = np.full(ncell, -1, dtype=np.int64)
    remap[active] = np.arange(len(active))
    verts = origin + h * (acc[active] / cnt[active, None])
    return verts, remap[np.concatenate(quads)]


def triangulate(v, quads):
    """Split quads along their shorter diagonal, keeping orientation."""
    a, b, c, d = quads.T
    d_ac = np.sum((v[a] - v[c]) ** 2, axis=1)
    d_bd = np.sum((v[b] - v[d]) ** 2, axis=1)
    use_ac = d_ac <= d_bd
    t1 = np.where(use_ac[:, None], np.stack([a, b, c], 1), np.stack([a, b, d], 1))
    t2 = np.where(use_ac[:, None], np.stack([a, c, d], 1), np.stack([b, c, d], 1))
    return np.concatenate([t1, t2]).astype(np.int32)


def _gradient(sdf, p, eps, val):
    """Forward-difference gradient (val = sdf(p))."""
    g = np.empty_like(p)
    for d in range(3):
        e = np.zeros(3)
        e[d] = eps
        g[:, d] = (sdf(p + e) - val) / eps
    return g


def project(sdf, v, h, steps=2):
    """Newton steps onto the zero level set (step length capped at h/2); returns unit normals too."""
    for _ in range(steps):
        val = sdf(v)
        g = _gradient(sdf, v, 0.02 * h, val)
        step = (val / np.maximum(np.sum(g * g, axis=1), 1e-12))[:, None] * g
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        v = v - step * np.minimum(1.0, 0.5 * h / np.maximum(norm, 1e-12))
    g = _gradient(sdf, v, 0.02 * h, sdf(v))
    return v, g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
