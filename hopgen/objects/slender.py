"""Slender objects, long axis +z (z = 0 at the tip/end before centring). Sizes in metres.

Flat utensils are extruded outlines (fork, knife blade) or lofted cross-sections (spoon,
toothbrush handle); pens and sticks are lathes; the pencil is a hexagonal prism cut by the
sharpening cone.
"""

import numpy as np

from hopgen.objects import materials as M
from hopgen.objects.primitives import (Part, Profile, extrude_polygon, intersect_sdf, loft, prism_sdf,
                                       revolve_sdf, rounded_slab)
from hopgen.objects.registry import ObjectType, register

HALF_PI = 0.5 * np.pi
# Rotations taking a part built in another frame to the object frame (rows of R, p -> R p).
XY_TO_XZ = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # (x, y, z) -> (x, -z, y): y becomes the long axis z
X_TO_Z = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])  # (x, y, z) -> (z, y, -x): x becomes the long axis


def _clip(length, width, thickness, z_top, r_body):
    """Pen/marker pocket clip: thin rounded strip on +x, ending at z_top."""
    slab = rounded_slab(length / 2, width / 2, thickness / 2, min(width / 2, 0.002), thickness / 2 * 0.9)
    return slab.transformed(X_TO_Z, (r_body + thickness / 2 - 0.0003, 0, z_top - length / 2))


# ----------------------------------------------------------------------------- pencil


def build_pencil(s):
    length, a = s["length"], s["across_flats"] / 2
    rc = a / np.cos(np.pi / 6)  # hexagon circumradius
    lc, lf, le = s["cone_length"], 0.011, s["eraser_length"]
    z_f0 = length - lf - le
    z_end = z_f0 + 0.003  # the hexagonal body ends inside the ferrule
    n = 48
    theta = 2 * np.pi * np.arange(n) / n
    hex_r = a / np.cos(np.mod(theta, np.pi / 3) - np.pi / 6)  # flats at +-30 deg, corners at 0, 60, ...
    zs = np.concatenate([lc * np.linspace(0.2, 1, 25) ** 2,  # first ring at 0.04 lc (radius ~0.16 mm)
                          np.linspace(lc, z_end, 12)[1:]])
    cone = lambda z: rc * 1.0001 * z / lc  # noqa: E731
    r = np.minimum(hex_r[None], cone(zs)[:, None])  # (K, n)
    rings = np.stack([r * np.cos(theta), r * np.sin(theta), np.broadcast_to(zs[:, None], r.shape)], -1)
    body = loft(rings, (0, 0, 0), (0, 0, z_end))
    # Paint where all three corners lie on the hexagon, wood on the cone, graphite at the tip.
    on_hex = np.concatenate([(hex_r[None] <= cone(zs)[:, None]).ravel(), [False, True]])
    fz = body.vertices[body.faces][:, :, 2].mean(1)
    fmat = np.where(on_hex[body.faces].all(1), 0, np.where(fz < s["lead_length"], 2, 1))
    hexagon = np.stack([rc * np.cos(np.arange(6) * np.pi / 3), rc * np.sin(np.arange(6) * np.pi / 3)], 1)
    big = 2 * rc
    cone_prof = np.array([[0, 0], [big, big / rc * lc], [big, z_end], [0, z_end]])
    body = Part(body.vertices, body.faces, fmat, intersect_sdf(prism_sdf(hexagon, 0, z_end), revolve_sdf(cone_prof)))
    rf, re_ = rc + 0.0003, rc - 0.0002
    prof = Profile(z_f0, 3)
    prof.to(rf, z_f0)
    for k in range(3):  # crimped ridges of the ferrule
        z0 = z_f0 + 0.002 + 0.003 * k
        prof.to(rf, z0).to(rf - 0.0003, z0 + 0.0005).to(rf, z0 + 0.001)
    prof.to(rf, length - le).to(re_, length - le, 4).to(re_, length - 0.0015, 4)
    prof.arc(re_ - 0.0015, length - 0.0015, 0.0015, 0, HALF_PI, 4, 4)
    return [body, prof.part(length, 48, 4)]


def materials_pencil(rng, s):
    paint = M.pick(rng, [[0.9, 0.6, 0.02], [0.6, 0.02, 0.02], [0.02, 0.15, 0.05], [0.02, 0.02, 0.02], [0.1, 0.2, 0.6]])
    return [M.material("plastic", M.jitter(rng, paint), 0.35), M.material("wood", M.pick(rng, M.WOOD_COLORS[3:]), 0.7),
            M.material("graphite", [0.03, 0.03, 0.035], 0.4), M.material("metal", [0.8, 0.7, 0.4], 0.3),
            M.material("rubber", M.jitter(rng, [0.9, 0.45, 0.45]), 0.8)]


# ----------------------------------------------------------------------------- pen


def build_pen(s):
    length, r = s["length"], s["radius"]
    prof = Profile(0.0, 2)
    prof.to(0.0004, 0.0002, 2).to(0.0008, 0.0015, 2).to(0.0012, 0.003, 1)
    prof.curve(r * 0.85, 0.014, 8, 1).to(r * 0.92, 0.014, 3).to(r * 0.92, 0.045, 3).to(r, 0.047, 0)
    prof.to(r, length - 0.003, 0).arc(r - 0.003, length - 0.003, 0.003, 0, HALF_PI, 4, 1)
    return [prof.part(length, 48, 1), _clip(0.04, 0.004, 0.0012, length - 0.008, r).with_material(2)]


def materials_pen(rng, s):
    col = M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS))
    return [M.material("plastic", col, 0.3), M.material("plastic", M.jitter(rng, col, 0.2), 0.3),
            M.material("metal", [0.8, 0.8, 0.8], 0.2), M.material("rubber", [0.05, 0.05, 0.05], 0.7)]


# ----------------------------------------------------------------------------- marker


def build_marker(s):
    length, r, lcap = s["length"], s["radius"], s["cap_length"]
    rcap = r + 0.0008
    prof = Profile(0.0, 1)
    prof.arc(rcap - 0.004, 0.004, 0.004, -HALF_PI, 0, 5).to(rcap, lcap).to(r, lcap, 0).to(r, length - 0.004, 0)
    prof.to(r - 0.0005, length - 0.004, 1).arc(r - 0.0035, length - 0.003, 0.003, 0, HALF_PI, 4)
    return [prof.part(length, 48, 1), _clip(0.035, 0.006, 0.0015, lcap - 0.004, rcap).with_material(1)]


def materials_marker(rng, s):
    return [M.label(rng, "plastic", base=[0.85, 0.85, 0.85], roughness=0.4),
            M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.35)]


# ----------------------------------------------------------------------------- chopstick


def build_chopstick(s):
    length, rb = s["length"], s["radius"]
    rt = rb * s["tip_ratio"]
    prof = Profile(0.0)
    prof.arc(0.0, rt, rt, -HALF_PI, 0, 4).to(rb, length - 0.001)
    prof.arc(rb - 0.001, length - 0.001, 0.001, 0, HALF_PI, 3)
    return [prof.part(length, 32)]


def materials_chopstick(rng, s):
    if rng.random() < 0.5:
        return [M.material("wood", M.pick(rng, M.WOOD_COLORS), 0.6)]
    return [M.material("plastic", M.jitter(rng, M.pick(rng, [[0.4, 0.02, 0.02], [0.02, 0.02, 0.02]])), 0.2)]


# ----------------------------------------------------------------------------- fork


def build_fork(s):
    length, wh, n = s["length"], s["head_width"], s["tines"]
    lt = s["tine_length"]
    y_h = length - lt
    hw_end = s["handle_width"] / 2
    ys = np.linspace(0.006, y_h, 30)  # ys[0] is the end of the rounded handle end
    # half width: rounded handle end, taper to a narrow neck, widen to the head
    neck_y = y_h - 0.03
    half = np.where(ys < neck_y, hw_end + (0.003 - hw_end) * np.clip((ys - 0.02) / (neck_y - 0.02), 0, 1) ** 1.5,
                    0.003 + (wh / 2 - 0.003) * np.sin(HALF_PI * np.clip((ys - neck_y) / 0.03, 0, 1)))
    end = [(hw_end * np.cos(t), 0.006 + 0.006 * np.sin(t)) for t in np.linspace(-HALF_PI, 0, 6)]  # (0, 0)..(hw, 6mm)
    gap = wh * s["gap_ratio"]
    wt = (wh - (n - 1) * gap) / n
    top = []
    for i in range(n):  # tines from right (+x) to left, each: up right edge, tip, down left edge
        xr = wh / 2 - i * (wt + gap)
        xl = xr - wt
        top += [(xr, length - 0.004), (xr - 0.25 * wt, length - 0.0008), (0.5 * (xr + xl), length),
                (xl + 0.25 * wt, length - 0.0008), (xl, length - 0.004)]
        if i < n - 1:  # rounded bottom of the gap
            top += [(xl, y_h + 0.002)] + [(xl - gap / 2 + gap / 2 * np.cos(t), y_h + 0.002 + gap / 2 * np.sin(t))
                                          for t in np.linspace(-0.3, -np.pi + 0.3, 4)] + [(xl - gap, y_h + 0.002)]
    # counter-clockwise: handle end (right half), right side up, tines right to left, left side down
    outline = (end + list(zip(half[1:], ys[1:])) + top + list(zip(-half[::-1][:-1], ys[::-1][:-1]))
               + [(-x, y) for x, y in end[::-1][:-1]])
    part = extrude_polygon(outline, s["thickness"] / 2)
    return [part.transformed(XY_TO_XZ)]


def materials_fork(rng, s):
    return [M.material("metal", [0.8, 0.8, 0.8], float(rng.uniform(0.1, 0.3)), brushed=True)]


# ----------------------------------------------------------------------------- knife


def build_knife(s):
    length, wb, lh = s["length"], s["blade_width"], s["handle_length"]
    t = 0.0009
    bl = length - lh
    ys = np.linspace(0, 1, 16)
    spine = [(wb / 2, lh + 0.6 * bl * u) for u in ys[:-1]]
    tip = [(-wb / 2 + 0.002 + (wb - 0.002) * np.cos(a), lh + 0.6 * bl + 0.4 * bl * np.sin(a))
           for a in np.linspace(0, HALF_PI, 12)]
    edge = [(-wb / 2, lh + bl * (1 - u) - 0.003 * (1 - u)) for u in ys[1:]]
    tang = [(-0.003, lh), (-0.003, 0.03), (0.003, 0.03), (0.003, lh)]
    blade = extrude_polygon(np.asarray(tang[:-1] + spine + tip + edge[:-1] + [(-wb / 2, lh)]), t).with_material(0)
    hh = rounded_slab(0.0085, lh / 2, 0.0055, 0.008, 0.005).transformed(None, (0, lh / 2, 0))
    return [blade.transformed(XY_TO_XZ), hh.with_material(1).transformed(XY_TO_XZ)]


def materials_knife(rng, s):
    handle = M.material("wood", M.pick(rng, M.WOOD_COLORS), 0.5) if rng.random() < 0.5 else \
        M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.4)
    return [M.material("metal", [0.85, 0.85, 0.85], 0.15, brushed=True), handle]


# ----------------------------------------------------------------------------- spoon


def build_spoon(s):
    length, wb, lb, d = s["length"], s["bowl_width"], s["bowl_length"], s["depth"]
    wh, t = s["handle_width"] / 2, s["thickness"]
    yc = length - lb / 2
    ys = np.concatenate([np.linspace(0.0005, 0.01, 6), np.linspace(0.012, length - lb - 0.005, 14),
                         np.linspace(length - lb, length - 0.0004, 30)])
    y_n = length - lb - 0.01
    u = np.clip((ys - yc) / (lb / 2), -1, 1)
    bowl_w = wb / 2 * np.sqrt(1 - u ** 2)
    handle_w = np.where(ys < 0.01, wh * np.sqrt(np.clip(1 - ((0.01 - ys) / 0.01) ** 2, 1e-4, 1)),
                        wh + (0.0035 - wh) * np.clip((ys - 0.01) / (y_n - 0.01), 0, 1))
    w = np.maximum(np.where(ys < length - lb - 0.004, handle_w, 0), bowl_w)
    sag = d * np.clip(1 - u ** 2, 0, 1) * (ys > length - lb)
    bend = 0.012 * np.clip((y_n - ys) / y_n, 0, 1) ** 1.3  # handle rises away from the bowl plane
    n = 32
    a = 2 * np.pi * np.arange(n) / n
    x = w[:, None] * np.cos(a)[None]
    yoff = bend[:, None] - sag[:, None] * np.sin(a)[None] ** 2 + t / 2 * np.sin(a)[None]
    rings = np.stack([x, yoff, np.broadcast_to(ys[:, None], x.shape)], -1)
    return [loft(rings, (0, bend[0], 0), (0, 0, length))]


def materials_spoon(rng, s):
    return [M.material("metal", [0.8, 0.8, 0.8], float(rng.uniform(0.08, 0.25)), brushed=True)]


# ----------------------------------------------------------------------------- screwdriver


def build_screwdriver(s):
    rh, lh, rs, ls = s["handle_radius"], s["handle_length"], s["shaft_radius"], s["shaft_length"]
    prof = Profile(0.0, 0)
    prof.arc(rh - 0.006, 0.006, 0.006, -HALF_PI, 0, 5).to(rh * 1.04, 0.35 * lh).to(rh * 1.04, 0.36 * lh, 1)
    prof.to(rh * 1.04, 0.75 * lh, 1).to(rh, 0.76 * lh).curve(rh * 0.55, lh, 6).to(rs, lh, 2)
    z_end = lh + ls
    handle = prof.to(rs, z_end, 2).part(z_end, 40, 2)
    tl = min(0.012, 0.4 * ls)
    tip_poly = np.array([(-rs * 0.95, 0), (rs * 0.95, 0), (rs * 1.15, tl * 0.7), (rs * 1.15, tl), (-rs * 1.15, tl),
                         (-rs * 1.15, tl * 0.7)])
    tip = extrude_polygon(tip_poly, rs * 0.3).with_material(2)
    return [handle, tip.transformed(XY_TO_XZ, (0, 0, z_end - 0.002))]


def materials_screwdriver(rng, s):
    return [M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.3),
            M.material("rubber", M.pick(rng, [[0.03, 0.03, 0.03], [0.8, 0.3, 0.02]]), 0.75),
            M.material("metal", [0.75, 0.75, 0.78], 0.25)]


# ----------------------------------------------------------------------------- toothbrush


def build_toothbrush(s):
    length, wh, th = s["length"], s["handle_width"] / 2, s["thickness"] / 2
    zh = length - 0.03
    zs = np.concatenate([np.linspace(0.0003, 0.008, 6), np.linspace(0.012, zh - 0.004, 16),
                         np.linspace(zh, length - 0.0003, 14)])
    end = np.sqrt(np.clip(1 - ((0.008 - zs) / 0.008) ** 2, 1e-3, 1)) * (zs < 0.008) + (zs >= 0.008)
    tip = np.sqrt(np.clip(1 - ((zs - (length - 0.006)) / 0.006) ** 2, 1e-3, 1)) * (zs > length - 0.006) \
        + (zs <= length - 0.006)
    neck = np.exp(-((zs - (zh - 0.02)) / 0.018) ** 2)
    w = np.where(zs < zh - 0.004, wh * (1 - 0.55 * neck), 0.0058) * end * tip
    t = np.where(zs < zh - 0.004, th * (1 - 0.35 * neck), 0.0026) * end * tip
    bend = 0.004 * np.clip((zh - zs) / zh, 0, 1) ** 2
    n = 32
    a = 2 * np.pi * np.arange(n) / n
    rings = np.stack([w[:, None] * np.cos(a), bend[:, None] + t[:, None] * np.sin(a),
                      np.broadcast_to(zs[:, None], (len(zs), n))], -1)
    handle = loft(rings, (0, bend[0], 0), (0, 0, length))
    bristles = rounded_slab(0.0048, 0.0115, 0.0055, 0.0035, 0.001).with_material(1)
    rot = np.array([[-1.0, 0, 0], [0, 0, 1], [0, 1, 0]])  # slab z (height) -> +y, slab y -> z
    return [handle, bristles.transformed(rot, (0, 0.0026 + 0.0055 - 0.0012, length - 0.0155))]


def materials_toothbrush(rng, s):
    return [M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.25),
            M.material("plastic", M.pick(rng, [[0.9, 0.9, 0.9], [0.2, 0.5, 0.9], [0.9, 0.9, 0.9]]), 0.8)]


def _t(name, ranges, build, mats, desc, ints=()):
    register(ObjectType(name, "slender", ranges, build, mats, frozenset(ints), desc))


_t("pencil", {"length": (0.15, 0.19), "across_flats": (0.0068, 0.0074), "cone_length": (0.018, 0.025),
              "lead_length": (0.003, 0.005), "eraser_length": (0.006, 0.008)}, build_pencil, materials_pencil,
   "hexagonal painted pencil, sharpened wood cone, graphite tip, ferrule and eraser")
_t("pen", {"length": (0.13, 0.15), "radius": (0.0045, 0.0055)}, build_pen, materials_pen,
   "ballpoint pen with grip zone and clip")
_t("marker", {"length": (0.12, 0.14), "radius": (0.007, 0.009), "cap_length": (0.045, 0.055)}, build_marker,
   materials_marker, "capped felt-tip marker with clip")
_t("chopstick", {"length": (0.22, 0.27), "radius": (0.0035, 0.0045), "tip_ratio": (0.4, 0.6)}, build_chopstick,
   materials_chopstick, "one tapered round chopstick")
_t("fork", {"length": (0.18, 0.21), "head_width": (0.022, 0.028), "tine_length": (0.03, 0.042),
            "handle_width": (0.012, 0.016), "thickness": (0.002, 0.003), "gap_ratio": (0.1, 0.14), "tines": (3, 4)},
   build_fork, materials_fork, "table fork with 3-4 tines", ints=("tines",))
_t("knife", {"length": (0.2, 0.24), "blade_width": (0.018, 0.025), "handle_length": (0.09, 0.11)}, build_knife,
   materials_knife, "table knife: thin blade with rounded tip, slab handle")
_t("spoon", {"length": (0.15, 0.2), "bowl_width": (0.03, 0.042), "bowl_length": (0.045, 0.06),
             "depth": (0.005, 0.009), "handle_width": (0.01, 0.014), "thickness": (0.0015, 0.002)},
   build_spoon, materials_spoon, "spoon with a concave bowl and bent handle")
_t("screwdriver", {"handle_radius": (0.012, 0.016), "handle_length": (0.08, 0.11), "shaft_radius": (0.0025, 0.0035),
                   "shaft_length": (0.06, 0.14)}, build_screwdriver, materials_screwdriver,
   "flat-head screwdriver: handle with grip band, round shaft, flat tip")
_t("toothbrush", {"length": (0.17, 0.19), "handle_width": (0.011, 0.014), "thickness": (0.007, 0.009)},
   build_toothbrush, materials_toothbrush, "toothbrush: lofted handle, bristle block")
