"""Spherical objects: balls (exact sphere SDF) and fruit as star-shaped radial bodies
r(theta, phi) (approximate SDF, exact zero set), z up (stem on +z). Sizes in metres.
"""

import numpy as np

from hopgen.objects import materials as M
from hopgen.objects.primitives import Profile, capsule, extrude_polygon, radial_body, sphere
from hopgen.objects.registry import ObjectType, register


def _ellipsoid_r(a, c):
    """Radius of the spheroid with equatorial radius a and polar radius c in direction theta."""
    return lambda t: 1.0 / np.sqrt((np.sin(t) / a) ** 2 + (np.cos(t) / c) ** 2)


def _stem_button(z, radius, height, material):
    """Short cylinder from inside the body at z up by `height` (lathe, exact SDF)."""
    prof = Profile(z - 0.002, material).to(radius, z - 0.002).to(radius, z + height - 0.0005)
    prof.arc(radius - 0.0005, z + height - 0.0005, 0.0005, 0, 0.5 * np.pi, 2)
    return prof.part(z + height, 16)


# ----------------------------------------------------------------------------- balls


def _ball(s):
    return [sphere(s["radius"], 40, 64)]


def materials_tennis_ball(rng, s):
    return [M.material("felt", M.jitter(rng, [0.75, 0.85, 0.05], 0.08), 0.9, pattern="seam",
                       pattern_color=[0.95, 0.95, 0.92], bump=0.5)]


def materials_baseball(rng, s):
    return [M.material("leather", M.jitter(rng, [0.85, 0.83, 0.78], 0.03), 0.5, pattern="stitches",
                       pattern_color=[0.7, 0.03, 0.03], bump=0.2)]


def materials_golf_ball(rng, s):
    return [M.material("plastic", [0.9, 0.9, 0.9], 0.3, pattern="dimples", bump=0.6)]


def materials_rubber_ball(rng, s):
    return [M.material("rubber", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.45, pattern="stripes",
                       pattern_color=M.pick(rng, M.PLASTIC_COLORS))]


# ----------------------------------------------------------------------------- fruit


def build_orange(s):
    r = s["radius"]
    base = _ellipsoid_r(r, r * s["oblateness"])

    def rad(t, p):
        return base(t) * (1 - 0.03 * np.exp(-(t / 0.25) ** 2)) + 0 * p  # shallow stem dimple

    body = radial_body(rad, 40, 64)
    top = float(rad(0.0, 0.0))
    return [body, _stem_button(top, 0.003, 0.0025, 1)]


def materials_orange(rng, s):
    return [M.material("citrus_skin", M.jitter(rng, [0.85, 0.3, 0.01], 0.08), 0.45, bump=0.6,
                       color2=[0.9, 0.45, 0.02]),
            M.material("glossy_skin", [0.25, 0.3, 0.05], 0.6)]


def build_lemon(s):
    a = s["radius"]
    c = a * s["elongation"]
    base = _ellipsoid_r(a, c)

    def rad(t, p):
        tip = 0.12 * a * (np.exp(-(t / 0.22) ** 2) + 0.7 * np.exp(-((np.pi - t) / 0.22) ** 2))
        return base(t) + tip + 0 * p

    return [radial_body(rad, 48, 48)]


def materials_lemon(rng, s):
    return [M.material("citrus_skin", M.jitter(rng, [0.85, 0.65, 0.02], 0.06), 0.4, bump=0.5,
                       color2=[0.55, 0.6, 0.05])]


def build_apple(s):
    r = s["radius"]
    lobes = s["lobes"]

    def rad(t, p):
        out = r * (1 + 0.07 * np.cos(t)) * (1 - 0.32 * np.exp(-(t / 0.4) ** 2))
        out = out * (1 - 0.12 * np.exp(-((np.pi - t) / 0.32) ** 2))
        return out * (1 + 0.1 * np.cos(lobes * p) * (np.sin(t) * np.clip(-np.cos(t), 0, 1)) ** 2)

    body = radial_body(rad, 48, 60)
    top = float(rad(0.0, 0.0))
    stem = capsule((0, 0, top - 0.003), (0.002, 0.0, top + s["stem_length"]), 0.0012, 12, 3, 1)
    return [body, stem]


def materials_apple(rng, s):
    col = M.pick(rng, [[0.6, 0.03, 0.02], [0.35, 0.6, 0.05], [0.8, 0.65, 0.05], [0.7, 0.1, 0.03]])
    return [M.material("glossy_skin", M.jitter(rng, col), 0.3, color2=M.jitter(rng, [0.75, 0.55, 0.1])),
            M.material("wood", [0.2, 0.12, 0.05], 0.7)]


def build_tomato(s):
    r, lobes = s["radius"], s["lobes"]
    base = _ellipsoid_r(r, r * s["oblateness"])

    def rad(t, p):
        out = base(t) * (1 + 0.035 * np.cos(lobes * p) * np.sin(t) ** 2)
        return out * (1 - 0.1 * np.exp(-(t / 0.3) ** 2))

    body = radial_body(rad, 44, 60)
    top = float(rad(0.0, 0.0))
    # Star-shaped calyx lying on the (dimpled, flat) top, bottom face just below the surface.
    n, ro = 5, s["calyx_radius"]
    ang = np.arange(2 * n) * np.pi / n
    rr = np.where(np.arange(2 * n) % 2 == 0, ro, 0.25 * ro)
    star = np.stack([rr * np.cos(ang), rr * np.sin(ang)], 1)
    tip_t = np.arctan2(ro, top)
    z0 = min(top, float(np.cos(tip_t) * rad(tip_t, 0.0))) - 0.0008
    calyx = extrude_polygon(star, 0.0008, 1, 1).transformed(None, (0, 0, z0 + 0.0008))
    return [body, calyx, _stem_button(top, 0.0015, 0.005, 1)]


def materials_tomato(rng, s):
    col = M.pick(rng, [[0.7, 0.04, 0.02], [0.8, 0.1, 0.02], [0.85, 0.45, 0.02]])
    return [M.material("glossy_skin", M.jitter(rng, col), 0.2, color2=M.jitter(rng, [0.8, 0.3, 0.02])),
            M.material("glossy_skin", [0.08, 0.25, 0.03], 0.6)]


def _t(name, ranges, build, mats, desc, ints=()):
    register(ObjectType(name, "spherical", ranges, build, mats, frozenset(ints), desc))


_t("orange", {"radius": (0.035, 0.045), "oblateness": (0.9, 0.97)}, build_orange, materials_orange,
   "orange: oblate, pored peel (bump), stem button")
_t("lemon", {"radius": (0.025, 0.03), "elongation": (1.2, 1.4)}, build_lemon, materials_lemon,
   "lemon: prolate along z with pointed ends")
_t("apple", {"radius": (0.033, 0.042), "stem_length": (0.008, 0.015), "lobes": (4, 5)}, build_apple,
   materials_apple, "apple: top and bottom dimples, lobes, stem", ints=("lobes",))
_t("tomato", {"radius": (0.03, 0.045), "oblateness": (0.72, 0.88), "calyx_radius": (0.01, 0.016), "lobes": (5, 7)},
   build_tomato, materials_tomato, "tomato: lobed, oblate, star calyx and stem", ints=("lobes",))
_t("tennis_ball", {"radius": (0.0327, 0.0343)}, _ball, materials_tennis_ball, "tennis ball, felt with seam")
_t("baseball", {"radius": (0.0366, 0.0375)}, _ball, materials_baseball, "baseball, leather with red stitches")
_t("golf_ball", {"radius": (0.0213, 0.0216)}, _ball, materials_golf_ball, "golf ball, dimpled (bump)")
_t("rubber_ball", {"radius": (0.025, 0.05)}, _ball, materials_rubber_ball, "striped toy rubber ball")
