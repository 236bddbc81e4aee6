import numpy as np
import pytest

from hopgen.core import camera


def test_intrinsics_centre_convention():
    K = camera.intrinsics_from_lens(50.0, 36.0, 320, 240)
    assert K[0, 0] == pytest.approx(50 / 36 * 320)
    assert (K[0, 2], K[1, 2]) == (159.5, 119.5)  # pixel (0,0) is the centre of the top-left pixel


def test_projection_hand_computed():
    K = camera.intrinsics(100.0, 100.0, 50.0, 40.0)
    uv = camera.project(K, [[0.1, -0.2, 2.0], [0, 0, 1]])
    np.testing.assert_allclose(uv, [[55.0, 30.0], [50.0, 40.0]])


def test_rigid_inverse_and_blender_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = np.eye(4)
        m[:3, :3] = camera.rotation_matrix(rng.normal(size=3), rng.uniform(-3, 3))
        m[:3, 3] = rng.normal(size=3)
        np.testing.assert_allclose(camera.invert_rigid(m) @ m, np.eye(4), atol=1e-12)
        assert camera.is_rigid(m)
        np.testing.assert_allclose(camera.world_to_camera_from_blender(camera.blender_matrix_world(m)), m, atol=1e-12)
    bad = np.eye(4)
    bad[0, 0] = 2
    assert not camera.is_rigid(bad)


def test_look_at_points_camera_at_target():
    w2c = camera.look_at([1.0, -2.0, 0.5], [0.0, 0.0, 0.2])
    p = camera.transform(w2c, [[0.0, 0.0, 0.2]])[0]
    np.testing.assert_allclose(p[:2], 0, atol=1e-12)
    assert p[2] == pytest.approx(np.linalg.norm([1.0, -2.0, 0.3]))
    # world up (+z) appears up in the image (negative y)
    above = camera.transform(w2c, [[0.0, 0.0, 0.3]])[0]
    assert above[1] < 0


def test_look_at_roll_rotates_image():
    w2c0 = camera.look_at([0, -1, 0], [0, 0, 0])
    w2c1 = camera.look_at([0, -1, 0], [0, 0, 0], roll=np.pi / 2)
    p0 = camera.transform(w2c0, [[0.1, 0, 0]])[0]
    p1 = camera.transform(w2c1, [[0.1, 0, 0]])[0]
    np.testing.assert_allclose([p1[0], p1[1]], [-p0[1], p0[0]] if False else [np.cos(np.pi/2)*p0[0]-np.sin(np.pi/2)*p0[1], np.sin(np.pi/2)*p0[0]+np.cos(np.pi/2)*p0[1]], atol=1e-12)


def test_blender_camera_params():
    K = camera.intrinsics_from_lens(35.0, 36.0, 200, 100, shift_px=(10.0, -5.0))
    p = camera.blender_camera_params(K, 200, 100)
    assert p["lens"] == pytest.approx(35.0)
    assert p["shift_x"] == pytest.approx(-10.0 / 200)
    assert p["shift_y"] == pytest.approx(-5.0 / 200)
    with pytest.raises(ValueError, match="non-square"):
        camera.blender_camera_params(camera.intrinsics(100, 120, 50, 50), 100, 100)


def test_rotation_matrix_rodrigues():
    r = camera.rotation_matrix([0, 0, 1], np.pi / 2)
    np.testing.assert_allclose(r @ [1, 0, 0], [0, 1, 0], atol=1e-12)
