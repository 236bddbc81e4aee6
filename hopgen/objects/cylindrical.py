"""Cylindrical objects: surfaces of revolution about +z (z = 0 at the base before centring).

Every body is a lathe profile (exact SDF); the mug adds a half-torus handle whose flat ends sit
inside the wall. Sizes in metres.
"""

import numpy as np

from hopgen.objects import materials as M
from hopgen.objects.primitives import Part, Profile, sweep, torus_sector_sdf
from hopgen.objects.registry import ObjectType, register

HALF_PI = 0.5 * np.pi


def _base(prof, radius, corner, material=None):
    """Flat base rounded into the side wall."""
    prof.to(radius - corner, prof.points[-1][1], material)
    return prof.arc(radius - corner, prof.points[-1][1] + corner, corner, -HALF_PI, 0, 4, material)


# ----------------------------------------------------------------------------- bottle


def build_bottle(s):
    r, h = s["radius"], s["height"]
    rn, hc = r * s["neck_ratio"], s["cap_height"]
    zs, zn = h * s["shoulder"], h - hc - 0.025
    prof = Profile(0.0, 0)
    _base(prof, r, 0.005)
    prof.to(r, zs * 0.25).to(r, zs * 0.85, 2).to(r, zs)
    prof.curve(rn, zn, 14).to(rn, h - hc - 0.004).to(rn + 0.0025, h - hc - 0.004).to(rn + 0.0025, h - hc - 0.002)
    prof.to(rn + 0.0015, h - hc, 1).to(rn + 0.0015, h - 0.001, 1).to(rn + 0.0005, h, 1)
    return [prof.part(h, material=1)]


def materials_bottle(rng, s):
    tint = M.pick(rng, [[0.85, 0.95, 1.0], [0.6, 0.85, 0.65], [0.55, 0.7, 0.95], [0.95, 0.95, 0.95]])
    return [M.material("glass", tint, 0.03, transmission=1.0),
            M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.35),
            M.label(rng, "paper")]


# ----------------------------------------------------------------------------- wine bottle


def build_wine_bottle(s):
    r, h = s["radius"], s["height"]
    rn, punt = 0.0145, s["punt"]
    zs = h * s["shoulder"]
    prof = Profile(punt, 0)
    prof.curve(r * 0.7, 0.0, 8)
    _base(prof, r, 0.004)
    prof.to(r, zs * 0.3).to(r, zs * 0.8, 2).to(r, zs)
    prof.curve(rn, zs + 0.55 * (h - zs), 16).to(rn, h - 0.05)
    prof.to(rn + 0.0005, h - 0.05, 1).to(rn + 0.0005, h - 0.002, 1).to(rn - 0.002, h, 1)
    return [prof.part(h, material=1)]


def materials_wine_bottle(rng, s):
    glass = M.pick(rng, [[0.05, 0.2, 0.06], [0.15, 0.08, 0.02], [0.02, 0.05, 0.02]])
    return [M.material("glass", glass, 0.05, transmission=0.9),
            M.material("metal", M.pick(rng, [[0.5, 0.05, 0.05], [0.8, 0.6, 0.2], [0.05, 0.05, 0.05]]), 0.3),
            M.label(rng, "paper", base=[0.85, 0.8, 0.65])]


# ----------------------------------------------------------------------------- can


def build_can(s):
    r, h = s["radius"], s["height"]
    prof = Profile(0.009, 0)
    prof.curve(r * 0.78, 0.0, 8).to(r * 0.82, 0.0).curve(r, 0.012, 6).to(r, h - 0.012, 1)
    prof.curve(r - 0.0045, h - 0.002, 6).arc(r - 0.0055, h - 0.001, 0.001, 0, np.pi, 4)
    prof.to(r - 0.0068, h - 0.006).to(r - 0.0085, h - 0.006)
    return [prof.part(h - 0.006)]


def materials_can(rng, s):
    return [M.material("metal", [0.8, 0.8, 0.82], 0.25), M.label(rng, "metal", roughness=0.3)]


# ----------------------------------------------------------------------------- mug


def build_mug(s):
    r, h, w = s["radius"], s["height"], s["wall"]
    tb = 0.008
    prof = Profile(0.0)
    _base(prof, r, 0.004)
    prof.to(r, h - w / 2).arc(r - w / 2, h - w / 2, w / 2, 0, np.pi, 6)
    prof.to(r - w, tb + 0.005).arc(r - w - 0.005, tb + 0.005, 0.005, 0, -HALF_PI, 4)
    body = prof.part(tb)
    # Half torus in the xz plane; its flat ends lie in the middle of the wall, where the tube
    # runs horizontally, so they stay inside the solid wall.
    c, zc = r - w / 2, 0.5 * h + 0.004
    rm, a = s["handle_ratio"] * h, s["handle_thickness"]
    t = np.linspace(-HALF_PI, HALF_PI, 33)
    path = np.stack([c + rm * np.cos(t), np.zeros_like(t), zc + rm * np.sin(t)], 1)
    tangents = np.stack([-np.sin(t), np.zeros_like(t), np.cos(t)], 1)
    handle = sweep(path, a, 20, tangents=tangents)
    handle = Part(handle.vertices, handle.faces, 0, torus_sector_sdf((c, 0, zc), rm, a, 1, 0))
    return [body, handle]


def materials_mug(rng, s):
    return [M.material("ceramic", M.jitter(rng, M.pick(rng, M.CERAMIC_COLORS)), 0.08)]


# ----------------------------------------------------------------------------- drinking glass


def _tapered_vessel(s):
    """Outer/inner profile of an open tapered vessel (glass, paper cup)."""
    rt, h, w = s["radius"], s["height"], s["wall"]
    rb = rt * s["bottom_ratio"]
    return rt, rb, h, w, (lambda z: rb + (rt - rb) * z / h)


def build_glass(s):
    rt, rb, h, w, r_at = _tapered_vessel(s)
    tb = s["base"]
    prof = Profile(0.0)
    _base(prof, rb, 0.003)
    prof.to(r_at(h - w / 2), h - w / 2).arc(r_at(h - w / 2) - w / 2, h - w / 2, w / 2, 0, np.pi, 6)
    prof.to(r_at(tb + 0.004) - w, tb + 0.004).arc(r_at(tb + 0.004) - w - 0.004, tb + 0.004, 0.004, 0, -HALF_PI, 4)
    return [prof.part(tb)]


def materials_glass(rng, s):
    return [M.material("glass", M.pick(rng, [[0.95, 0.97, 1.0], [0.85, 0.95, 0.9], [0.9, 0.9, 0.95]]), 0.02,
                       transmission=1.0)]


# ----------------------------------------------------------------------------- jar


def build_jar(s):
    r, h, hl = s["radius"], s["height"], s["lid_height"]
    rn = r - 0.006
    prof = Profile(0.0, 0)
    _base(prof, r, 0.006)
    zb = h - hl - 0.012
    prof.to(r, 0.2 * zb).to(r, 0.8 * zb, 2).to(r, zb).curve(rn, h - hl - 0.003, 6).to(rn, h - hl)
    prof.to(rn + 0.003, h - hl, 1).to(rn + 0.003, h - 0.002, 1).arc(rn + 0.001, h - 0.002, 0.002, 0, HALF_PI, 3, 1)
    return [prof.part(h, material=1)]


def materials_jar(rng, s):
    content = M.pick(rng, [[0.5, 0.03, 0.05], [0.8, 0.45, 0.05], [0.25, 0.35, 0.05], [0.9, 0.9, 0.85]])
    return [M.material("glass", content, 0.05, transmission=0.7),
            M.material("metal", M.jitter(rng, M.pick(rng, [[0.8, 0.8, 0.8], [0.8, 0.6, 0.2], [0.6, 0.05, 0.05]])), 0.3),
            M.label(rng, "paper")]


# ----------------------------------------------------------------------------- thermos


def build_thermos(s):
    r, h, hc = s["radius"], s["height"], s["cup_height"]
    prof = Profile(0.0, 0)
    _base(prof, r, 0.004)
    prof.to(r, 0.3 * h).to(r, 0.3 * h + 0.002, 2).to(r + 0.0015, 0.3 * h + 0.004, 2).to(r + 0.0015, 0.3 * h + 0.05, 2)
    prof.to(r, 0.3 * h + 0.052).to(r, h - hc).to(r + 0.001, h - hc, 1).to(r + 0.001, h - 0.008, 1)
    prof.arc(r + 0.001 - 0.008, h - 0.008, 0.008, 0, HALF_PI, 5, 1)
    return [prof.part(h, material=1)]


def materials_thermos(rng, s):
    return [M.material("metal", M.pick(rng, M.METAL_COLORS), 0.35, brushed=True),
            M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.4),
            M.material("rubber", [0.03, 0.03, 0.03], 0.8)]


# ----------------------------------------------------------------------------- spray can


def build_spray_can(s):
    r, h = s["radius"], s["height"]
    zb = h - 0.018 - 0.6 * r
    prof = Profile(0.007, 0)
    prof.curve(r * 0.8, 0.0, 6).to(r * 0.85, 0.0).curve(r, 0.006, 4).to(r, zb, 1)
    prof.curve(0.36 * r, zb + 0.6 * r, 10).to(0.36 * r, zb + 0.6 * r + 0.003).to(0.3 * r, zb + 0.6 * r + 0.004)
    prof.to(0.0045, h - 0.012).to(0.0045, h - 0.012 + 0.001, 2).to(0.0045, h - 0.001, 2).to(0.004, h, 2)
    return [prof.part(h, material=2)]


def materials_spray_can(rng, s):
    return [M.material("metal", [0.8, 0.8, 0.82], 0.25), M.label(rng, "metal", roughness=0.35),
            M.material("plastic", M.jitter(rng, M.pick(rng, M.PLASTIC_COLORS)), 0.3)]


# ----------------------------------------------------------------------------- paper cup


def build_paper_cup(s):
    rt, rb, h, w, r_at = _tapered_vessel(s)
    rr, rec = 0.0018, 0.006
    prof = Profile(rec)
    prof.to(rb - w, rec).to(rb - w, 0.0).to(rb, 0.0).to(r_at(h - 2.5 * rr), h - 2.5 * rr)
    cr = rt - w + rr
    prof.arc(cr, h - rr, rr, -80 / 180 * np.pi, np.pi, 10)
    prof.to(r_at(rec + w) - w, rec + w)
    return [prof.part(rec + w)]


def materials_paper_cup(rng, s):
    return [M.label(rng, "paper", base=M.pick(rng, [[0.9, 0.9, 0.88], [0.6, 0.4, 0.2], [0.05, 0.05, 0.05]]))]


# ----------------------------------------------------------------------------- candle


def build_candle(s):
    r, h = s["radius"], s["height"]
    prof = Profile(0.0, 0)
    _base(prof, r, 0.002)
    prof.to(r, h - 0.004).arc(r - 0.004, h - 0.004, 0.004, 0, HALF_PI, 5)
    prof.curve(0.0015, h - 0.003, 6).to(0.0008, h - 0.003, 1).to(0.0008, h + 0.008, 1)
    return [prof.part(h + 0.0085, material=1)]


def materials_candle(rng, s):
    wax = M.pick(rng, [[0.9, 0.88, 0.8], [0.8, 0.1, 0.08], [0.9, 0.75, 0.5], [0.3, 0.5, 0.8]])
    return [M.material("wax", M.jitter(rng, wax), 0.45), M.material("graphite", [0.02, 0.02, 0.02], 0.9)]


def _t(name, ranges, build, mats, desc):
    register(ObjectType(name, "cylindrical", ranges, build, mats, description=desc))


_t("bottle", {"radius": (0.03, 0.042), "height": (0.18, 0.3), "neck_ratio": (0.3, 0.42), "cap_height": (0.012, 0.02),
              "shoulder": (0.6, 0.72)}, build_bottle, materials_bottle, "PET bottle: shoulders, neck, cap, label")
_t("wine_bottle", {"radius": (0.036, 0.04), "height": (0.28, 0.33), "punt": (0.01, 0.025), "shoulder": (0.6, 0.68)},
   build_wine_bottle, materials_wine_bottle, "glass wine bottle with punt, foil capsule, label")
_t("can", {"radius": (0.032, 0.0335), "height": (0.115, 0.168)}, build_can, materials_can,
   "beverage can with tapered ends, rim and recessed lid")
_t("mug", {"radius": (0.038, 0.046), "height": (0.085, 0.105), "wall": (0.004, 0.006),
           "handle_ratio": (0.26, 0.33), "handle_thickness": (0.004, 0.0055)}, build_mug, materials_mug,
   "ceramic mug, hollow, with a half-torus handle")
_t("glass", {"radius": (0.034, 0.042), "height": (0.09, 0.14), "bottom_ratio": (0.75, 0.95), "wall": (0.002, 0.003),
             "base": (0.006, 0.012)}, build_glass, materials_glass, "hollow drinking glass (tumbler)")
_t("jar", {"radius": (0.035, 0.05), "height": (0.08, 0.14), "lid_height": (0.012, 0.018)}, build_jar, materials_jar,
   "filled glass jar with metal lid and label")
_t("thermos", {"radius": (0.034, 0.042), "height": (0.22, 0.3), "cup_height": (0.06, 0.08)}, build_thermos,
   materials_thermos, "brushed steel vacuum flask with cup lid and grip band")
_t("spray_can", {"radius": (0.026, 0.033), "height": (0.15, 0.21)}, build_spray_can, materials_spray_can,
   "aerosol can with domed top and nozzle")
_t("paper_cup", {"radius": (0.036, 0.045), "height": (0.08, 0.12), "bottom_ratio": (0.68, 0.78),
                 "wall": (0.001, 0.0014)}, build_paper_cup, materials_paper_cup,
   "tapered paper coffee cup with rolled rim and recessed bottom")
_t("candle", {"radius": (0.025, 0.04), "height": (0.06, 0.15)}, build_candle, materials_candle,
   "pillar candle with wick")
