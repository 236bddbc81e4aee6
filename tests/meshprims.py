"""Closed primitive meshes and a tiny OBJ writer for the mesh and grasp tests (not generator code)."""

import os

import numpy as np


def save_obj(path, vertices, faces):
    """Write a minimal OBJ; atomic replace."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.writelines(f"v {x:.9g} {y:.9g} {z:.9g}\n" for x, y, z in np.asarray(vertices))
        fh.writelines(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in np.asarray(faces))
    os.replace(tmp, path)





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


