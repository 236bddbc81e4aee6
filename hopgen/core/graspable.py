"""Object meshes made ready for grasping (pure): the principal-axes frame an object is grasped
in, and the size limits of what one hand can hold (UngraspableObjectError names the object)."""

from dataclasses import dataclass

import numpy as np

# Graspability limits (metres), after the largest/smallest objects a single hand holds.
MAX_LONGEST_EXTENT = 0.40
MAX_SMALLEST_EXTENT = 0.12
MIN_LONGEST_EXTENT = 0.015


class UngraspableObjectError(ValueError):
    """An object cannot be grasped by one hand (degenerate, too large or too small)."""

    def __init__(self, name, reason):
        self.name = name
        self.reason = reason
        super().__init__(f"object {name!r} is not graspable: {reason}")



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
    vol = abs(float(np.sum(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2]))) / 6.0))
    # A flat or needle-like mesh has (near) zero volume; compare with a cube of the same area.
    if not area > 0 or vol < 1e-4 * (area / 6.0) ** 1.5:
        raise UngraspableObjectError(name, "degenerate: zero volume (flat, open or collapsed mesh)")
