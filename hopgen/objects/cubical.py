"""Cubical objects in their resting pose: z up (thinnest side for flat things), x along the
longer side. Built from rounded slabs (exact SDF) and one extruded prism (milk carton).
Sizes in metres.
"""

import numpy as np

from hopgen.objects import materials as M
from hopgen.objects.primitives import extrude_polygon, rounded_slab
from hopgen.objects.registry import ObjectType, register


def _slab(lx, ly, lz, corner, edge, center=(0, 0, 0), material=0, **kw):
    """Rounded slab of full sizes (lx, ly, lz) centred at `center`."""
    return rounded_slab(lx / 2, ly / 2, lz / 2, corner, edge, side_material=material, **kw).transformed(None, center)


# ----------------------------------------------------------------------------- book


def build_book(s):
    lx, ly, lz, tc = s["height"], s["width"], s["thickness"], s["cover"]
    inset = 0.003
    parts = [_slab(lx, ly, tc, 0.002, 0.0008, (0, 0, sz * (lz - tc) / 2)) for sz in (-1, 1)]
    parts.append(_slab(lx, tc, lz, tc / 2, 0.0008, (0, -(ly - tc) / 2, 0)))  # spine along x at -y
    page_y = ly - inset - tc / 2
    parts.append(_slab(lx - 2 * inset, page_y, lz - 2 * tc + 0.0004, 0.0012, 0.0005,
                       (0, -ly / 2 + tc / 2 + page_y / 2, 0), material=1))
    return parts


def materials_book(rng, s):
    return [M.label(rng, "cardboard", roughness=0.5), M.material("paper", [0.85, 0.82, 0.72], 0.8)]


# ----------------------------------------------------------------------------- phone


def build_phone(s):
    lx, ly, lz = s["length"], s["width"], s["thickness"]
    body = _slab(lx, ly, lz, s["corner"], min(0.0025, lz / 2 - 1e-4), top_material=1)
    cam = _slab(0.022, 0.022, 0.002, 0.005, 0.0007, (lx / 2 - 0.018, ly / 2 - 0.018, -lz / 2), material=2)
    return [body, cam]


def materials_phone(rng, s):
    frame = M.pick(rng, [[0.02, 0.02, 0.02], [0.7, 0.7, 0.72], [0.8, 0.65, 0.5], [0.1, 0.15, 0.3]])
    return [M.material("metal" if rng.random() < 0.5 else "plastic", frame, 0.3),
            M.material("glass", [0.01, 0.01, 0.012], 0.05, pattern="screen"),
            M.material("glass", [0.02, 0.02, 0.02], 0.1)]


# ----------------------------------------------------------------------------- remote control


def build_remote(s):
    lx, ly, lz = s["length"], s["width"], s["thickness"]
    parts = [_slab(lx, ly, lz, min(0.012, ly / 2 - 0.001), 0.004)]
    bx, by = 0.008, 0.006
    rows = int((lx * 0.55) // 0.014)
    for i in range(rows):
        for j in (-1, 0, 1):
            c = (-lx / 2 + 0.025 + i * 0.014, j * 0.0105, lz / 2)
            parts.append(_slab(bx, by, 0.003, 0.0025, 0.0008, c, material=1, n_corner=3, n_edge=2))
    parts.append(_slab(0.01, 0.01, 0.003, 0.005 - 1e-4, 0.0008, (lx / 2 - 0.018, 0, lz / 2), material=2,
                       n_corner=4, n_edge=2))
    return parts


def materials_remote(rng, s):
    return [M.material("plastic", M.pick(rng, [[0.02, 0.02, 0.02], [0.15, 0.15, 0.16], [0.8, 0.8, 0.8]]), 0.45),
            M.material("rubber", M.pick(rng, [[0.3, 0.3, 0.3], [0.05, 0.05, 0.05]]), 0.7),
            M.material("rubber", [0.6, 0.02, 0.02], 0.6)]


# ----------------------------------------------------------------------------- others


def build_cutting_board(s):
    return [_slab(s["length"], s["width"], s["thickness"], s["corner"], 0.003)]


def materials_cutting_board(rng, s):
    if rng.random() < 0.75:
        return [M.material("wood", M.pick(rng, M.WOOD_COLORS), 0.55, color2=M.pick(rng, M.WOOD_COLORS))]
    return [M.material("plastic", M.pick(rng, [[0.85, 0.85, 0.85], [0.2, 0.5, 0.2], [0.7, 0.2, 0.2]]), 0.6)]


def build_box(s):
    return [_slab(s["length"], s["width"], s["height"], 0.0015, 0.001)]


def materials_box(rng, s):
    return [M.label(rng, "cardboard", roughness=0.6)]


def build_wallet(s):
    return [_slab(s["length"], s["width"], s["thickness"], 0.008, min(0.004, s["thickness"] / 2 - 1e-4))]


def materials_wallet(rng, s):
    return [M.material("leather", M.jitter(rng, M.pick(rng, [[0.15, 0.06, 0.02], [0.02, 0.02, 0.02],
                                                               [0.35, 0.15, 0.05]])), 0.5, bump=0.4)]


def build_soap_bar(s):
    lx, ly, lz = s["length"], s["width"], s["thickness"]
    return [_slab(lx, ly, lz, 0.6 * ly / 2, 0.8 * lz / 2)]


def materials_soap_bar(rng, s):
    col = M.pick(rng, [[0.9, 0.85, 0.7], [0.8, 0.5, 0.6], [0.5, 0.75, 0.5], [0.9, 0.9, 0.95], [0.7, 0.5, 0.3]])
    return [M.material("wax", M.jitter(rng, col), 0.35)]


def build_milk_carton(s):
    a, hb = s["base"], s["body_height"]
    hg = a * s["gable_ratio"]
    house = np.array([(-a / 2, 0), (a / 2, 0), (a / 2, hb), (0, hb + hg), (-a / 2, hb)])
    rot = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # polygon plane xy -> xz, extrusion along y
    body = extrude_polygon(house, a / 2).transformed(rot)
    fin = rounded_slab(a / 2, 0.005, 0.001, 0.001 + 1e-4, 0.0005)
    cyc = np.array([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]])  # slab (x, y, z) -> object (z, x, y)
    return [body, fin.transformed(cyc, (0, 0, hb + hg + 0.003))]


def materials_milk_carton(rng, s):
    return [M.label(rng, "cardboard", base=[0.9, 0.9, 0.88], roughness=0.5)]


def _t(name, ranges, build, mats, desc):
    register(ObjectType(name, "cubical", ranges, build, mats, description=desc))


_t("book", {"height": (0.18, 0.26), "width": (0.12, 0.18), "thickness": (0.012, 0.05), "cover": (0.002, 0.003)},
   build_book, materials_book, "hardcover book: two boards, spine, inset page block")
_t("phone", {"length": (0.14, 0.165), "width": (0.068, 0.078), "thickness": (0.0075, 0.0095),
             "corner": (0.007, 0.011)}, build_phone, materials_phone, "smartphone: rounded slab, screen, camera bump")
_t("remote", {"length": (0.14, 0.21), "width": (0.038, 0.05), "thickness": (0.015, 0.024)}, build_remote,
   materials_remote, "TV remote with a grid of rubber buttons")
_t("cutting_board", {"length": (0.25, 0.4), "width": (0.15, 0.25), "thickness": (0.012, 0.025),
                     "corner": (0.01, 0.03)}, build_cutting_board, materials_cutting_board,
   "wooden/plastic cutting board")
_t("box", {"length": (0.1, 0.22), "width": (0.06, 0.1), "height": (0.04, 0.06)}, build_box, materials_box,
   "printed cardboard box (tea, pills, cereal bar)")
_t("wallet", {"length": (0.1, 0.12), "width": (0.08, 0.095), "thickness": (0.012, 0.022)}, build_wallet,
   materials_wallet, "folded leather wallet")
_t("soap_bar", {"length": (0.08, 0.1), "width": (0.05, 0.065), "thickness": (0.02, 0.03)}, build_soap_bar,
   materials_soap_bar, "pillow-shaped soap bar")
_t("milk_carton", {"base": (0.065, 0.075), "body_height": (0.12, 0.19), "gable_ratio": (0.35, 0.45)},
   build_milk_carton, materials_milk_carton, "gable-top milk carton with fin")
