"""Ferrari-Canny grasp quality (the L1 "epsilon" of Ferrari & Canny 1992), pure numpy.

Each contact pushes on the object with a unit normal force inside its Coulomb cone (linearised
by CONE_EDGES edge vectors); its wrenches are (f, (p - c) x f / lambda) with c the centre of
mass and lambda the object's largest distance from c (torque in force units). epsilon is the
radius of the largest origin-centred ball inside the convex hull of all edge wrenches: 0 when
the hull does not contain the origin (no force closure). Without a 6-D hull library, it is
computed as the minimum of the hull's support function h(u) = max_i w_i . u over unit
directions u: DIRECTIONS fixed random directions, then a local refinement from the best few
(an upper bound that converges to epsilon from above; within a few percent at these sizes).
"""

import numpy as np

CONE_EDGES = 8
DIRECTIONS = 4096
REFINE = 8


def contact_wrenches(points, normals, friction, centre, scale, edges=CONE_EDGES):
    """(C * edges, 6) edge wrenches of contacts at points (C, 3) with inward unit normals
    (C, 3) (the direction the hand pushes), friction (C,) coefficients."""
    points, normals = np.asarray(points, float).reshape(-1, 3), np.asarray(normals, float).reshape(-1, 3)
    mu = np.broadcast_to(np.asarray(friction, float), (len(points),))
    out = []
    for p, n, m in zip(points, normals, mu):
        n = n / np.linalg.norm(n)
        t1 = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(n, t1)
        a = np.linspace(0, 2 * np.pi, edges, endpoint=False)
        f = n + m * (np.cos(a)[:, None] * t1 + np.sin(a)[:, None] * t2)  # (edges, 3)
        tau = np.cross(p - centre, f) / scale
        out.append(np.concatenate([f, tau], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 6))


def epsilon_quality(wrenches, seed=0):
    """epsilon >= 0 of the convex hull of `wrenches` (W, 6) (0: origin not strictly inside)."""
    w = np.asarray(wrenches, dtype=np.float64)
    if len(w) < 7:
        return 0.0
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(DIRECTIONS, 6))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    h = (u @ w.T).max(1)
    best = u[np.argsort(h)[:REFINE]]
    vals = []
    for v in best:  # minimise h on the sphere: shrinking random perturbations, keep improvements
        hv, step = float((w @ v).max()), 0.3
        for _ in range(60):
            cand = v + step * rng.normal(size=(16, 6))
            cand /= np.linalg.norm(cand, axis=1, keepdims=True)
            hc = (cand @ w.T).max(1)
            k = int(np.argmin(hc))
            if hc[k] < hv:
                v, hv = cand[k], float(hc[k])
            else:
                step *= 0.7
        vals.append(hv)
    return max(0.0, float(min(min(vals), h.min())))
