"""Procedural object library (pure): registry, geometry validity, sizes, SDFs, determinism."""

import hashlib
import json

import numpy as np
import pytest

from hopgen.objects import (MATERIAL_KINDS, OBJECT_TYPES, ObjectParams, build_object, list_object_types,
                            sample_object_params)
from hopgen.core.skeleton import CATEGORIES

NAMES = [n for n, _ in list_object_types()]
SEEDS = (0, 1, 2)

# Plausible largest extent (m) per type, from real objects (not from the generators' ranges).
MAX_EXTENT = {
    "bottle": (0.15, 0.33), "wine_bottle": (0.27, 0.35), "can": (0.10, 0.18), "mug": (0.08, 0.14),
    "glass": (0.07, 0.15), "jar": (0.07, 0.16), "thermos": (0.18, 0.35), "spray_can": (0.12, 0.25),
    "paper_cup": (0.07, 0.13), "candle": (0.05, 0.17),
    "pencil": (0.12, 0.2), "pen": (0.12, 0.16), "marker": (0.1, 0.15), "chopstick": (0.2, 0.28),
    "fork": (0.16, 0.22), "knife": (0.18, 0.26), "spoon": (0.13, 0.21), "screwdriver": (0.12, 0.28),
    "toothbrush": (0.15, 0.2),
    "book": (0.15, 0.3), "phone": (0.13, 0.17), "remote": (0.13, 0.23), "cutting_board": (0.22, 0.45),
    "box": (0.08, 0.25), "wallet": (0.09, 0.13), "soap_bar": (0.07, 0.11), "milk_carton": (0.14, 0.25),
    "orange": (0.065, 0.095), "lemon": (0.055, 0.1), "apple": (0.06, 0.095), "tomato": (0.05, 0.095),
    "tennis_ball": (0.064, 0.07), "baseball": (0.072, 0.076), "golf_ball": (0.042, 0.044),
    "rubber_ball": (0.045, 0.105),
}


def _geom(name, seed=0):
    return build_object(sample_object_params(name, np.random.default_rng([7, seed])))


def _edges(faces):
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def test_registry_has_enough_types_per_category():
    assert len(NAMES) >= 30 and len(set(NAMES)) == len(NAMES)
    cats = [c for _, c in list_object_types()]
    assert set(cats) == set(CATEGORIES)
    for c in CATEGORIES:
        assert cats.count(c) >= 6, c
    assert {n: OBJECT_TYPES[n].category for n in NAMES} == dict(list_object_types())


@pytest.mark.parametrize("name", NAMES)
def test_builds_closed_oriented_meshes(name):
    for seed in SEEDS:
        g = _geom(name, seed)
        assert g.vertices.dtype == np.float64 and g.faces.dtype == np.int32 and np.isfinite(g.vertices).all()
        assert 100 < len(g.faces) < 20000
        assert g.face_material.shape == (len(g.faces),)
        assert 0 <= g.face_material.min() and g.face_material.max() < len(g.materials)
        assert g.face_areas().min() > 1e-12, "degenerate triangle"
        np.testing.assert_allclose(g.vertices.min(0) + g.vertices.max(0), 0, atol=1e-12)  # bbox centred
        face_part = g.vertex_part[g.faces]
        assert (face_part == face_part[:, :1]).all(), "a face spans two components"
        for k in range(g.num_parts):
            f = g.faces[face_part[:, 0] == k]
            und, cnt = np.unique(np.sort(_edges(f), 1), axis=0, return_counts=True)
            assert (cnt == 2).all(), f"{name} part {k}: edges not shared by exactly two faces"
            assert len(np.unique(_edges(f), axis=0)) == 3 * len(f), f"{name} part {k}: inconsistent winding"
            v = g.vertices[f]
            vol = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6
            assert vol > 0, f"{name} part {k}: faces point inwards"


@pytest.mark.parametrize("name", NAMES)
def test_real_world_size_and_axes(name):
    lo, hi = MAX_EXTENT[name]
    for seed in SEEDS:
        g = _geom(name, seed)
        ext = g.extents
        assert lo <= ext.max() <= hi, f"{name}: size {ext}"
        if g.category == "slender":
            assert ext[2] >= 4 * ext[:2].max()
            axes, spread = g.principal_axes()
            assert abs(axes[0, 2]) > 0.99 and spread[0] > spread[1]
        if g.category == "cubical":
            assert ext[0] >= ext[1] - 1e-9
        if g.category == "spherical":
            assert ext.max() < 1.6 * ext.min()


@pytest.mark.parametrize("name", [n for n, c in list_object_types() if c == "cylindrical"])
def test_cylindrical_bodies_are_rotationally_symmetric_about_z(name):
    g = _geom(name)
    v = g.vertices[g.vertex_part == 0]
    c = np.array([0.5 * (v[:, 0].min() + v[:, 0].max()), 0.5 * (v[:, 1].min() + v[:, 1].max()), 0])
    a = np.pi / 4  # 8 of the 64 lathe segments
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    w = (v - c) @ rot.T + c
    d = np.sqrt(((w[:, None] - v[None]) ** 2).sum(-1)).min(1)
    assert d.max() < 1e-6


SDF_NAMES = [n for n in NAMES if _geom(n).sdf is not None]


def test_most_types_have_analytic_sdf():
    assert len(SDF_NAMES) >= 30
    assert all(n in SDF_NAMES for n in ("bottle", "mug", "can", "pencil", "phone", "book", "orange", "tennis_ball"))


@pytest.mark.parametrize("name", SDF_NAMES)
def test_sdf_agrees_with_mesh(name):
    g = _geom(name, 1)
    rng = np.random.default_rng(0)
    for k, sdf in enumerate(g.part_sdfs):  # every component's vertices lie on its zero set
        assert np.abs(sdf(g.vertices[g.vertex_part == k])).max() < 1e-3
    # random points on the triangles (chord error included)
    f = g.faces[rng.integers(0, len(g.faces), 400)]
    b = rng.dirichlet(np.ones(3), 400)
    pts = np.einsum("nk,nkd->nd", b, g.vertices[f])
    own = g.vertex_part[f[:, 0]]
    d_own = np.array([g.part_sdfs[k](p[None])[0] for k, p in zip(own, pts)])
    assert np.abs(d_own).max() < 1e-3
    # outside/inside along the face normals where the face is not buried in another component
    v = g.vertices[g.faces]
    cen = v.mean(1)
    nrm = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    face_part = g.vertex_part[g.faces[:, 0]]
    others = np.full(len(cen), np.inf)
    for k, sdf in enumerate(g.part_sdfs):
        mask = face_part != k
        others[mask] = np.minimum(others[mask], sdf(cen[mask]))
    exposed = others > 1e-3
    assert exposed.mean() > 0.2
    assert (g.sdf(cen[exposed] + 3e-4 * nrm[exposed]) > 0).all()
    assert (g.sdf(cen[exposed] - 1e-4 * nrm[exposed]) < 0).all()
    assert (g.sdf(g.vertices.max(0)[None] + 0.01) > 0.009).all()


def test_determinism_and_variation():
    def digest(g):
        return hashlib.sha256(g.vertices.tobytes() + g.faces.tobytes() + g.face_material.tobytes()).hexdigest()

    for name in NAMES:
        a = build_object(sample_object_params(name, np.random.default_rng([3, 5])))
        b = build_object(sample_object_params(name, np.random.default_rng([3, 5])))
        c = build_object(sample_object_params(name, np.random.default_rng([3, 6])))
        assert digest(a) == digest(b) and a.materials == b.materials
        assert digest(a) != digest(c), name


def test_params_json_round_trip():
    for name in NAMES:
        p = sample_object_params(name, np.random.default_rng([1, 2]))
        d = json.loads(json.dumps(p.to_dict()))
        q = ObjectParams.from_dict(d)
        assert q == p
        np.testing.assert_array_equal(build_object(d).vertices, build_object(p).vertices)
        for m in p.materials:
            assert m["kind"] in MATERIAL_KINDS and len(m["color"]) == 3
            assert all(0 <= x <= 1 for x in m["color"]) and 0 <= m["roughness"] <= 1


def test_range_overrides_and_errors():
    p = sample_object_params("bottle", np.random.default_rng(0), ranges={"height": [0.25, 0.25]})
    assert p.shape["height"] == 0.25
    assert abs(build_object(p).extents[2] - 0.25) < 1e-9
    with pytest.raises(ValueError, match="heigth"):
        sample_object_params("bottle", np.random.default_rng(0), ranges={"heigth": [0.2, 0.3]})
    with pytest.raises(ValueError, match="height"):
        sample_object_params("bottle", np.random.default_rng(0), ranges={"height": [0.3, 0.2]})
    with pytest.raises(ValueError, match="teapot"):
        sample_object_params("teapot", np.random.default_rng(0))
    d = sample_object_params("mug", np.random.default_rng(0)).to_dict()
    del d["shape"]["wall"]
    with pytest.raises(ValueError, match="wall"):
        ObjectParams.from_dict(d)
    d = sample_object_params("mug", np.random.default_rng(0)).to_dict()
    d["materials"][0]["kind"] = "unobtainium"
    with pytest.raises(ValueError, match=r"materials\[0\]\.kind"):
        ObjectParams.from_dict(d)
    p = sample_object_params("fork", np.random.default_rng(0), ranges={"tines": [3, 3]})
    assert p.shape["tines"] == 3 and isinstance(p.shape["tines"], int)


# ----------------------------------------------------------------------------- recognisable shapes


def test_bottle_has_neck_and_cap():
    g = _geom("bottle")
    v = g.vertices
    r = np.hypot(v[:, 0], v[:, 1])
    z = v[:, 2] - v[:, 2].min()
    h = z.max()
    assert r[z > 0.93 * h].max() < 0.55 * r.max()  # neck and cap much narrower than the body
    cap = g.materials.index(next(m for m in g.materials if m["kind"] == "plastic"))
    fz = z[g.faces].mean(1)
    assert fz[g.face_material == cap].min() > 0.85 * h


def test_mug_handle_sticks_out_and_mug_is_hollow():
    g = _geom("mug")
    body = g.vertices[g.vertex_part == 0]
    handle = g.vertices[g.vertex_part == 1]
    assert g.num_parts == 2
    assert handle[:, 0].max() > body[:, 0].max() + 0.015
    cx = 0.5 * (body[:, 0].min() + body[:, 0].max())
    top = body[:, 2].max()
    assert g.sdf(np.array([[cx, 0, top - 0.02]]))[0] > 0  # inside the cup is air


def test_fork_has_separate_tines():
    for tines in (3, 4):
        p = sample_object_params("fork", np.random.default_rng(0), ranges={"tines": [tines, tines]})
        g = build_object(p)
        z = g.vertices[:, 2].max() - 0.01
        xs = np.linspace(g.vertices[:, 0].min(), g.vertices[:, 0].max(), 400)
        inside = g.sdf(np.stack([xs, np.zeros_like(xs), np.full_like(xs, z)], 1)) < 0
        runs = np.count_nonzero(np.diff(inside.astype(int)) == 1) + int(inside[0])
        assert runs == tines


def test_pencil_hexagonal_body_and_sharp_tip():
    g = _geom("pencil")
    v = g.vertices[g.vertex_part == 0]
    z = v[:, 2]
    mid = np.abs(z - 0.5 * (z.min() + z.max())) < 0.01
    r = np.hypot(v[mid, 0], v[mid, 1])
    assert 1.12 < r.max() / r.min() < 1.17  # circumradius / inradius of a hexagon = 1.1547
    tip = v[np.argmin(z)]
    assert np.hypot(tip[0], tip[1]) < 1e-9
    assert len({m["kind"] for m in g.materials} & {"wood", "graphite", "rubber", "metal"}) == 4


def test_phone_has_rounded_corners():
    g = _geom("phone")
    v = g.vertices[g.vertex_part == 0]
    corner = v[:, :2].max(0)
    assert np.linalg.norm(v[:, :2] - corner, axis=1).min() > 0.002


def test_apple_has_top_dimple_and_stem():
    g = _geom("apple")
    body = g.vertices[g.vertex_part == 0]
    r = np.hypot(body[:, 0], body[:, 1])
    assert body[r < 0.002, 2].max() < body[:, 2].max() - 0.004  # the axis sits in a dimple
    stem = g.vertices[g.vertex_part == 1]
    assert stem[:, 2].max() > body[:, 2].max() + 0.003


def test_balls_match_regulation_sizes():
    for name, diameter in (("tennis_ball", 0.067), ("baseball", 0.074), ("golf_ball", 0.0427)):
        g = _geom(name)
        assert abs(g.extents.mean() - diameter) < 0.0015
        assert np.abs(g.sdf(g.vertices)).max() < 1e-9
