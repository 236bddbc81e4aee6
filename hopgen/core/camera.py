"""Camera maths in the HOP convention: OpenCV frame (x right, y down, z forward), metres,
pixel (0, 0) is the centre of the top-left pixel and K is consistent with that.

Blender cameras look down their local -Z with +Y up; `BLENDER_TO_OPENCV` flips y and z.
Pure numpy.
"""

import numpy as np

# Maps a point from a Blender camera's local frame to the OpenCV camera frame (and back: it is its own inverse).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


def intrinsics(fx, fy, cx, cy):
    """3x3 pinhole matrix."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def intrinsics_from_lens(focal_mm, sensor_width_mm, width, height, shift_px=(0.0, 0.0)):
    """K of a camera with a horizontal sensor fit, square pixels, principal point at the image centre + shift.

    The image centre is ((W - 1) / 2, (H - 1) / 2) because pixel (0, 0) is the centre of the top-left pixel.
    """
    f = focal_mm / sensor_width_mm * width
    return intrinsics(f, f, (width - 1) / 2.0 + shift_px[0], (height - 1) / 2.0 + shift_px[1])


def project(K, points):
    """Project (N,3) camera-frame points to (N,2) pixels. Points must have z > 0."""
    p = np.asarray(points, dtype=np.float64) @ np.asarray(K, dtype=np.float64).T
    return p[:, :2] / p[:, 2:3]


def transform(matrix, points):
    """Apply a 4x4 rigid/affine transform to (N,3) points."""
    m = np.asarray(matrix, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ m[:3, :3].T + m[:3, 3]


def invert_rigid(matrix):
    """Inverse of a 4x4 rigid transform (rotation + translation), exact and cheap."""
    m = np.asarray(matrix, dtype=np.float64)
    out = np.eye(4)
    out[:3, :3] = m[:3, :3].T
    out[:3, 3] = -m[:3, :3].T @ m[:3, 3]
    return out


def is_rigid(matrix, tol=1e-5):
    """True if `matrix` is a 4x4 proper rigid transform (orthonormal rotation, det +1, last row 0 0 0 1)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return False
    r = m[:3, :3]
    return (np.allclose(r @ r.T, np.eye(3), atol=tol) and abs(np.linalg.det(r) - 1.0) < tol
            and np.allclose(m[3], [0, 0, 0, 1], atol=tol))


def world_to_camera_from_blender(camera_matrix_world):
    """OpenCV world->camera transform from a Blender camera object's matrix_world (4x4, no scale)."""
    return BLENDER_TO_OPENCV @ invert_rigid(camera_matrix_world)


def blender_matrix_world(world_to_camera):
    """The Blender camera matrix_world that realises an OpenCV world->camera transform."""
    return invert_rigid(BLENDER_TO_OPENCV @ np.asarray(world_to_camera, dtype=np.float64))


def look_at(eye, target, up=(0.0, 0.0, 1.0), roll=0.0):
    """OpenCV world->camera transform of a camera at `eye` looking at `target`.

    `up` is the world direction that appears up in the image (-y of the camera); `roll` (radians)
    rotates the image clockwise about the optical axis.
    """
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(-up, z)  # image right = down x forward
    if np.linalg.norm(x) < 1e-9:  # looking along `up`: pick any perpendicular
        x = np.cross([1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    r = np.stack([x, y, z])  # rows: camera axes in world coordinates
    c, s = np.cos(roll), np.sin(roll)
    r = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ r
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = -r @ eye
    return m


def blender_camera_params(K, width, height):
    """Blender camera settings (horizontal sensor fit) that realise K for a width x height render.

    Returns dict(lens, sensor_width, sensor_fit, shift_x, shift_y). Square pixels only (fx == fy).
    Blender puts the principal point at (W/2 - shift_x*W, H/2 + shift_y*W) in continuous pixel
    coordinates (origin at the top-left corner); ours are offset by half a pixel.
    """
    K = np.asarray(K, dtype=np.float64)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if abs(K[0, 1]) > 1e-9:
        raise ValueError("K has skew; Blender cameras cannot represent it")
    if abs(fx - fy) > 1e-6 * fx:
        raise ValueError(f"K has non-square pixels (fx={fx}, fy={fy}); hopgen cameras use fx == fy")
    sensor_width = 36.0
    return {
        "lens": fx * sensor_width / width,
        "sensor_width": sensor_width,
        "sensor_fit": "HORIZONTAL",
        "shift_x": (width / 2.0 - (cx + 0.5)) / width,
        "shift_y": ((cy + 0.5) - height / 2.0) / width,
    }


def rotation_matrix(axis, angle):
    """Rodrigues: 3x3 rotation by `angle` radians about unit-normalised `axis`."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)
