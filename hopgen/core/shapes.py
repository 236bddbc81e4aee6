"""Closed primitive meshes (pure): the distractor shapes, centred at the origin (numpy only)."""

import math

import numpy as np

SHAPES = ("box", "sphere", "cylinder", "cone", "torus")


class ShapeError(ValueError):
    """An unknown primitive shape."""


def primitive_mesh(shape, size=1.0, segments=24):
    """(V,3) vertices and (F,3) triangles of a closed primitive centred at the origin.

    size: edge of the box / diameter of sphere, cylinder, cone and torus (height = size too).
    """
    r = 0.5 * float(size)
    n = int(segments)
    if shape == "box":
        v = np.array([[x, y, z] for x in (-r, r) for y in (-r, r) for z in (-r, r)])
        quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
        return v, np.array([t for q in quads for t in ([q[0], q[1], q[2]], [q[0], q[2], q[3]])])
    if shape == "torus":
        major, minor = 0.75 * r, 0.25 * r
        u, w = np.meshgrid(np.arange(n) * 2 * np.pi / n, np.arange(n // 2) * 2 * np.pi / (n // 2), indexing="ij")
        v = np.stack([(major + minor * np.cos(w)) * np.cos(u), (major + minor * np.cos(w)) * np.sin(u),
                      minor * np.sin(w)], -1).reshape(-1, 3)
        return v, grid_faces(n, n // 2, wrap_u=True, wrap_v=True, swap=True)
    if shape not in ("sphere", "cylinder", "cone"):
        raise ShapeError(f"primitive: shape must be one of {SHAPES}, got {shape!r}")
    rings = n // 2 if shape == "sphere" else 2
    if shape == "sphere":
        polar = np.linspace(0, np.pi, rings + 1)[1:-1]
        radius, height = r * np.sin(polar), r * np.cos(polar)
    else:
        radius = np.array([r, r if shape == "cylinder" else 1e-4 * r])
        height = np.array([-r, r])
    if shape == "sphere":
        radius, height = radius[::-1], height[::-1]  # bottom ring first, like the others
    az = np.arange(n) * 2 * np.pi / n
    ring_v = np.stack([radius[:, None] * np.cos(az), radius[:, None] * np.sin(az),
                       np.broadcast_to(height[:, None], (len(radius), n))], -1).reshape(-1, 3)
    faces = grid_faces(len(radius), n, wrap_u=False, wrap_v=True)
    bottom, top = len(ring_v), len(ring_v) + 1
    poles = np.array([[0, 0, -r], [0, 0, r]])
    k = np.arange(n)
    cap_lo = np.stack([np.full(n, bottom), (k + 1) % n, k], -1)
    last = (len(radius) - 1) * n
    cap_hi = np.stack([np.full(n, top), last + k, last + (k + 1) % n], -1)
    return np.concatenate([ring_v, poles]), np.concatenate([faces, cap_lo, cap_hi])


def grid_faces(nu, nv, wrap_u, wrap_v, swap=False):
    """Triangles of an nu x nv vertex grid (index u * nv + v), optionally closed in u and/or v;
    swap reverses the winding."""
    rows = []
    for i in range(nu if wrap_u else nu - 1):
        for j in range(nv if wrap_v else nv - 1):
            a, b = i * nv + j, i * nv + (j + 1) % nv
            c, d = ((i + 1) % nu) * nv + (j + 1) % nv, ((i + 1) % nu) * nv + j
            rows += [[a, b, c], [a, c, d]] if not swap else [[a, d, c], [a, c, b]]
    return np.array(rows, dtype=np.int64)


def rest_height(shape, size):
    """Height of a resting distractor's centre above the support (its primitive centred at the
    origin, turned only about z): half the height (box, sphere, cylinder, cone) or the torus tube."""
    if shape == "torus":
        return 0.125 * size  # minor radius 0.25 * (size / 2), lying flat
    if shape in ("box", "sphere", "cylinder", "cone"):
        return 0.5 * size
    raise ShapeError(f"distractor shape {shape!r}: expected one of {SHAPES}")


def bounding_radius(shape, size):
    """Radius of a sphere about the centre that holds the whole primitive."""
    return {"box": math.sqrt(3.0), "sphere": 1.0, "cylinder": math.sqrt(2.0), "cone": math.sqrt(2.0),
            "torus": 1.0}[shape] * 0.5 * size
