"""Mesh loading, closest points and signed distance against analytic shapes."""

import struct
import time
import types

import numpy as np
import pytest

from hopgen.core import graspable, meshfiles
from hopgen.core import meshgeom as mg
import meshprims as prims


def box_sdf(p, half):
    q = np.abs(p) - half
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(axis=1), 0)


def test_sphere_signed_distance_matches_analytic():
    r = 0.05
    mesh = mg.TriangleMesh(*prims.uv_sphere_mesh(r, n=48))
    rng = np.random.default_rng(0)
    p = rng.uniform(-0.1, 0.1, (2000, 3))
    sd = mesh.signed_distance(p)
    exact = np.linalg.norm(p, axis=1) - r
    # Chordal error of a 48-ring sphere is ~r (1 - cos(pi / 96)) ~ 27 um.
    assert np.abs(sd - exact).max() < 6e-5
    assert np.all(np.sign(sd[np.abs(exact) > 1e-4]) == np.sign(exact[np.abs(exact) > 1e-4]))
    assert mesh.watertight
    assert mesh.volume() == pytest.approx(4 / 3 * np.pi * r ** 3, rel=5e-3)


def test_closest_points_match_brute_force():
    mesh = mg.TriangleMesh(*prims.uv_sphere_mesh(0.03, n=16))
    rng = np.random.default_rng(1)
    p = rng.normal(scale=0.04, size=(300, 3))
    d, c, f = mesh.closest_points(p)
    tri = mesh.tri
    for i in range(0, 300, 7):
        cc, _ = mg.closest_on_triangles(np.repeat(p[i][None], len(tri), 0), tri[:, 0], tri[:, 1], tri[:, 2])
        dd = np.linalg.norm(cc - p[i], axis=1)
        assert d[i] == pytest.approx(dd.min(), abs=1e-12)
        assert np.linalg.norm(c[i] - p[i]) == pytest.approx(d[i], abs=1e-12)
        assert dd[f[i]] == pytest.approx(d[i], abs=1e-12)


def test_box_signed_distance_exact_including_edges_and_corners():
    size = np.array([0.08, 0.05, 0.02])
    mesh = mg.TriangleMesh(*prims.box_mesh(size))
    rng = np.random.default_rng(2)
    p = rng.uniform(-0.08, 0.08, (3000, 3))
    assert np.abs(mesh.signed_distance(p) - box_sdf(p, size / 2)).max() < 1e-12
    # Capped queries agree within the cap and never claim a far point is closer than the cap.
    sdc = mesh.signed_distance(p, max_dist=0.01)
    exact = box_sdf(p, size / 2)
    near = np.abs(exact) <= 0.01
    assert np.allclose(sdc[near], exact[near], atol=1e-12)
    far_out, far_in = ~near & (exact > 0), ~near & (exact < 0)
    assert np.all(sdc[far_out] >= 0.01 - 1e-12)
    assert np.allclose(sdc[far_in], exact[far_in], atol=1e-12)
    # Winding number agrees on the inside/outside split.
    w = mesh.winding_number(p[:200])
    assert np.all((w > 0.5) == (exact[:200] < 0))


def test_polygon_soup_is_welded_for_signs():
    v, f = prims.box_mesh([0.04, 0.04, 0.04])
    soup_v = v[f].reshape(-1, 3)
    soup_f = np.arange(len(soup_v)).reshape(-1, 3)
    mesh = mg.TriangleMesh(soup_v, soup_f)
    p = np.array([[0.03, 0.03, 0.03], [0.019, 0.019, 0.019], [0.0, 0.0, 0.025]])
    assert np.allclose(mesh.signed_distance(p), box_sdf(p, 0.02))


def test_query_speed_near_surface():
    mesh = mg.TriangleMesh(*prims.cylinder_mesh(0.035, 0.2, n=256))
    rng = np.random.default_rng(3)
    ang = rng.uniform(0, 2 * np.pi, 4000)
    rad = 0.035 + rng.uniform(-0.005, 0.03, 4000)
    p = np.stack([rad * np.cos(ang), rad * np.sin(ang), rng.uniform(-0.09, 0.09, 4000)], 1)
    mesh.signed_distance(p[:10])
    t = time.perf_counter()
    sd = mesh.signed_distance(p, max_dist=0.02)
    elapsed = time.perf_counter() - t
    near = np.abs(rad - 0.035) < 0.02
    assert np.abs(sd[near] - (rad[near] - 0.035)).max() < 2e-4  # polygonal cylinder vs analytic
    assert elapsed < 0.5, f"4000 signed-distance queries took {elapsed:.3f} s"


def _cylinder_cm_offset():
    """7 cm diameter, 15 cm tall cylinder in centimetres, origin 10 cm off its base."""
    v, f = prims.cylinder_mesh(3.5, 15.0, n=32)
    return v + np.array([10.0, -4.0, 7.5]), f


def _write_stl_ascii(path, v, f):
    with open(path, "w") as fh:
        fh.write("solid test\n")
        for tri in v[f]:
            fh.write(" facet normal 0 0 0\n  outer loop\n")
            fh.writelines(f"   vertex {x} {y} {z}\n" for x, y, z in tri)
            fh.write("  endloop\n endfacet\n")
        fh.write("endsolid test\n")


def _write_stl_binary(path, v, f):
    with open(path, "wb") as fh:
        fh.write(b"solid but actually binary".ljust(80, b" "))
        fh.write(struct.pack("<I", len(f)))
        for tri in v[f]:
            fh.write(struct.pack("<12fH", 0, 0, 0, *tri.reshape(-1), 0))


def _write_ply(path, v, f, binary):
    # Quads where possible (two triangles sharing a diagonal) to exercise triangulation.
    with open(path, "wb") as fh:
        fh.write(("ply\nformat %s 1.0\ncomment test\nelement vertex %d\nproperty float x\nproperty float y\n"
                  "property float z\nproperty uchar red\nelement face %d\nproperty list uchar int vertex_indices\n"
                  "end_header\n" % ("binary_little_endian" if binary else "ascii", len(v), len(f))).encode())
        if binary:
            for x, y, z in v:
                fh.write(struct.pack("<fffB", x, y, z, 7))
            for tri in f:
                fh.write(struct.pack("<B3i", 3, *tri))
        else:
            fh.writelines(f"{x} {y} {z} 7\n".encode() for x, y, z in v)
            fh.writelines(f"3 {a} {b} {c}\n".encode() for a, b, c in f)


def _write_obj_quads(path, v, f):
    # The cylinder side is written as quads and uses negative (relative) indices for one face.
    n = (len(v) - 2) // 2
    with open(path, "w") as fh:
        fh.write("# test\no cyl\n")
        fh.writelines(f"v {x} {y} {z}\nvn 0 0 1\n" for x, y, z in v)
        for j in range(n):
            k = (j + 1) % n
            fh.write(f"f {j + 1}/1/1 {k + 1}/1/1 {k + n + 1}//1 {j + n + 1}\n")
        fh.write(f"f {-2} {2} {1}\n")  # one bottom-cap triangle with a relative index
        for j in range(1, n):
            k = (j + 1) % n
            fh.write(f"f {2 * n + 1} {k + 1} {j + 1}\n")
        for j in range(n):
            k = (j + 1) % n
            fh.write(f"f {2 * n + 2} {j + n + 1} {k + n + 1}\n")


@pytest.mark.parametrize("fmt", ["obj", "stl_ascii", "stl_binary", "ply_ascii", "ply_binary"])
def test_load_formats_in_cm_with_offset_origin(tmp_path, fmt):
    v, f = _cylinder_cm_offset()
    path = tmp_path / f"cyl.{fmt.split('_')[0]}"
    {"obj": _write_obj_quads, "stl_ascii": _write_stl_ascii, "stl_binary": _write_stl_binary,
     "ply_ascii": lambda p, v, f: _write_ply(p, v, f, False),
     "ply_binary": lambda p, v, f: _write_ply(p, v, f, True)}[fmt](path, v, f)
    lv, lf = meshfiles.load_mesh(path, units="cm")
    assert lf.shape[1] == 3 and len(lf) == len(f)
    mesh = mg.TriangleMesh(lv, lf)
    assert mesh.watertight
    assert np.allclose(mesh.bounds, [[0.065, -0.075, 0.0], [0.135, -0.005, 0.15]], atol=1e-6)
    assert mesh.volume() == pytest.approx(np.pi * 0.035 ** 2 * 0.15, rel=0.02)
    frame = graspable.normalise_for_grasp(lv, lf)
    assert np.allclose(frame.centre, [0.1, -0.04, 0.075], atol=1e-6)
    assert abs(frame.axes[0] @ [0, 0, 1]) > 0.999  # the long axis is the cylinder axis
    assert frame.extents[0] == pytest.approx(0.15, abs=1e-6)
    assert np.allclose(frame.axes @ frame.axes.T, np.eye(3)) and np.linalg.det(frame.axes) > 0
    graspable.check_graspable("cyl", lv, lf)
    lv2, _ = meshfiles.load_mesh(path, units="cm", scale=2.0)
    assert np.allclose(lv2, lv * 2)


def test_bad_files_name_the_file(tmp_path):
    p = tmp_path / "broken.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nf 1 2 9\n")
    with pytest.raises(meshfiles.MeshFileError, match="broken.obj"):
        meshfiles.load_mesh(p)
    q = tmp_path / "x.stl"
    q.write_bytes(b"\x00\x01garbage")
    with pytest.raises(meshfiles.MeshFileError, match="x.stl"):
        meshfiles.load_mesh(q)
    with pytest.raises(meshfiles.MeshFileError, match="format"):
        meshfiles.load_mesh(tmp_path / "thing.dae")
    with pytest.raises(meshfiles.MeshFileError, match="units"):
        meshfiles.load_mesh(p, units="furlong")


def test_check_graspable_errors_name_the_object():
    cases = {
        "empty": (np.zeros((0, 3)), np.zeros((0, 3), dtype=int), "no faces"),
        "flat": (np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0.1, 0.1, 0]]),
                 np.array([[0, 1, 2], [1, 3, 2], [0, 2, 1], [1, 2, 3]]), "zero volume"),
        "nan": (np.array([[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]]), np.array([[0, 1, 2]]), "NaN"),
        "huge": (*prims.box_mesh([0.5, 0.05, 0.05]), "too large"),
        "fat": (*prims.box_mesh([0.2, 0.2, 0.2]), "too large"),
        "tiny": (*prims.box_mesh([0.005, 0.004, 0.003]), "too small"),
    }
    for name, (v, f, reason) in cases.items():
        with pytest.raises(graspable.UngraspableObjectError, match=reason) as info:
            graspable.check_graspable(name, v, f)
        assert info.value.name == name and name in str(info.value)
    graspable.check_graspable("phone", *prims.box_mesh([0.15, 0.07, 0.008]))


def test_object_distance_fn_prefers_analytic_sdf():
    v, f = prims.uv_sphere_mesh(0.04, n=24)
    geom = types.SimpleNamespace(vertices=v, faces=f, sdf=None)
    p = np.array([[0.0, 0.0, 0.05], [0.0, 0.01, 0.0]])
    assert np.allclose(mg.object_distance_fn(geom)(p), [0.01, -0.03], atol=2e-4)
    geom.sdf = lambda q: np.linalg.norm(q, axis=1) - 0.04
    assert np.allclose(mg.object_distance_fn(geom)(p), [0.01, -0.03], atol=1e-15)


def test_mesh_objects_are_accepted_directly():
    mesh = mg.TriangleMesh(*prims.box_mesh([0.1, 0.04, 0.02]))
    frame = graspable.normalise_for_grasp(mesh)
    assert np.allclose(np.abs(frame.axes), np.eye(3)) and np.allclose(frame.extents, [0.1, 0.04, 0.02])
    graspable.check_graspable("brick", mesh)
