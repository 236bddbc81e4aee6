"""Surroundings that obey gravity (pure): a support surface under the hand with a real-scale
material, distractors dropped onto it, and the rules a camera must respect around them.

- The support is a table top (flat) or a studio sweep (floor bending up into a wall) below the
  lowest point of the hand, arm and object over the episode. Its material is one of
  SUPPORT_MATERIALS (wood, laminate, stone, fabric, paper, metal) with colours, pattern scale
  (repeats per metre), roughness and bump of the real thing.
- A distractor rests on the support: its shape is turned only about the vertical axis (upright
  cylinders and cones, boxes on a face, lying tori), so its lowest point is exactly the support
  top (rest_height), and it keeps clear of the hand, arm, object and the other distractors.
  Without a support there are no distractors (nothing to stand on).
- camera_problems(): a camera below the support top or behind the sweep's wall is rejected, and so
  is one inside a distractor; a distractor between the lens and the hand is allowed only when the
  sample drew the "foreground occluder" case.
"""

import math

import numpy as np

from hopgen.core.shapes import SHAPES, bounding_radius, rest_height

SUPPORT_MATERIALS = ("wood", "laminate", "stone", "fabric", "paper", "metal")
DISTRACTOR_SHAPES = SHAPES
CLEARANCE_M = 0.02          # distractors keep this far from the hand/arm/object and each other
CAMERA_ABOVE_SUPPORT_M = 0.03
TABLE_PROBABILITY = 0.6     # hdri / photo backgrounds get a table under the hand this often


def _lin(srgb):
    """Linear RGB of an sRGB triple 0..1 (material colours are written as the eye sees them)."""
    c = np.clip(np.asarray(srgb, np.float64), 0.0, 1.0)
    return tuple(float(x) for x in np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4))


def _jitter(rng, srgb, amount=0.08):
    return _lin(np.asarray(srgb) * (1.0 + rng.uniform(-amount, amount, 3)))


# sRGB base colours of real materials (a few typical ones each; jittered per draw).
_WOODS = ((0.62, 0.45, 0.30), (0.45, 0.30, 0.18), (0.75, 0.60, 0.42), (0.33, 0.22, 0.14), (0.80, 0.68, 0.52))
_LAMINATES = ((0.90, 0.90, 0.88), (0.75, 0.74, 0.72), (0.30, 0.30, 0.32), (0.70, 0.58, 0.44), (0.95, 0.95, 0.96))
_STONES = ((0.72, 0.70, 0.67), (0.35, 0.34, 0.34), (0.85, 0.83, 0.80), (0.55, 0.50, 0.45), (0.20, 0.20, 0.21))
_FABRICS = ((0.70, 0.15, 0.15), (0.20, 0.30, 0.50), (0.85, 0.82, 0.75), (0.25, 0.40, 0.25), (0.45, 0.42, 0.40))
_PAPERS = ((0.93, 0.92, 0.88), (0.85, 0.80, 0.70), (0.95, 0.95, 0.95))
_METALS = ((0.78, 0.78, 0.78), (0.60, 0.60, 0.62), (0.85, 0.75, 0.55))


def support_material(rng, kind=None):
    """SurfaceParams dict (hopgen.blender.materials.SurfaceParams) of a real support material, plus
    its "material" name. kind: one of SUPPORT_MATERIALS or None (drawn)."""
    kind = kind or SUPPORT_MATERIALS[int(rng.integers(len(SUPPORT_MATERIALS)))]

    def pick(table):
        return np.asarray(table[int(rng.integers(len(table)))])
    if kind == "wood":
        base = pick(_WOODS)
        p = dict(pattern="grain", colour_a=_jitter(rng, base), colour_b=_jitter(rng, base * 0.7),
                 scale=float(rng.uniform(4, 10)), roughness=float(rng.uniform(0.45, 0.75)), metallic=0.0,
                 bump_strength=float(rng.uniform(0.03, 0.08)))
    elif kind == "laminate":
        base = pick(_LAMINATES)
        p = dict(pattern=str(rng.choice(["grain", "solid"])), colour_a=_jitter(rng, base, 0.03),
                 colour_b=_jitter(rng, base * 0.9, 0.03), scale=float(rng.uniform(5, 12)),
                 roughness=float(rng.uniform(0.25, 0.45)), metallic=0.0, bump_strength=0.01)
    elif kind == "stone":
        base = pick(_STONES)
        p = dict(pattern="noise", colour_a=_jitter(rng, base), colour_b=_jitter(rng, base * 0.75),
                 scale=float(rng.uniform(15, 60)), roughness=float(rng.uniform(0.3, 0.7)), metallic=0.0,
                 bump_strength=float(rng.uniform(0.02, 0.06)))
    elif kind == "fabric":
        base = pick(_FABRICS)
        p = dict(pattern="fabric", colour_a=_jitter(rng, base), colour_b=_jitter(rng, base * 0.85),
                 scale=float(rng.uniform(60, 140)), roughness=float(rng.uniform(0.85, 0.98)), metallic=0.0,
                 bump_strength=float(rng.uniform(0.05, 0.12)))
    elif kind == "paper":
        base = pick(_PAPERS)
        p = dict(pattern="noise", colour_a=_jitter(rng, base, 0.02), colour_b=_jitter(rng, base * 0.96, 0.02),
                 scale=float(rng.uniform(200, 400)), roughness=float(rng.uniform(0.8, 0.95)), metallic=0.0,
                 bump_strength=0.01)
    elif kind == "metal":
        base = pick(_METALS)
        p = dict(pattern="brushed", colour_a=_jitter(rng, base, 0.03), colour_b=_jitter(rng, base * 0.85, 0.03),
                 scale=float(rng.uniform(20, 60)), roughness=float(rng.uniform(0.2, 0.45)), metallic=1.0,
                 bump_strength=0.01)
    else:
        raise ValueError(f"support material {kind!r}: expected one of {SUPPORT_MATERIALS}")
    p["colour_c"] = _lin((0.05, 0.05, 0.05))
    return kind, p


def support_params(rng, top_z, curved):
    """A support surface whose top lies at `top_z`: flat table top or curved sweep (backdrop_mesh
    fields), turned about z, with a real material. The "material" key names it (recorded)."""
    kind, surface = support_material(rng)
    return {"curved": bool(curved), "width": 3.0, "depth": 2.0, "height": 1.5,
            "bend_radius": float(rng.uniform(0.2, 0.6)), "location": (0.0, 0.0, float(top_z)),
            "rotation_z": float(rng.uniform(0, 2 * np.pi)), "surface": surface, "material": kind}


def _surface_params(rng):
    """A distractor's look: a support-like material or a painted/plastic colour."""
    if rng.random() < 0.5:
        return support_material(rng)[1]
    colour = _lin(rng.uniform(0.05, 0.9, 3))
    return dict(pattern="solid", colour_a=colour, colour_b=colour, colour_c=_lin((0.05,) * 3),
                scale=float(rng.uniform(5, 30)), roughness=float(rng.uniform(0.2, 0.8)), metallic=0.0,
                bump_strength=0.01)


def place_distractors(rng, support, count, centre, keep_points, tries=12):
    """Up to `count` distractors dropped onto the flat part of `support` around `centre` (xy),
    clear of `keep_points` ((N,3) hand/arm/object over the episode) and of each other. A draw that
    collides is redrawn up to `tries` times, then dropped. Returns distractor dicts
    (hopgen.blender.world.add_distractor fields)."""
    if support is None or count <= 0:
        return []
    top = support["location"][2]
    keep = np.asarray(keep_points, np.float64)
    placed = []
    for _ in range(count):
        for _ in range(tries):
            shape = DISTRACTOR_SHAPES[int(rng.integers(len(DISTRACTOR_SHAPES)))]
            size = float(rng.uniform(0.04, 0.18))
            ang, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.12, 0.45)
            z = top + rest_height(shape, size)
            loc = np.array([centre[0] + r * np.cos(ang), centre[1] + r * np.sin(ang), z])
            yaw = float(rng.uniform(0, 2 * np.pi))
            surface = _surface_params(rng)
            rad = bounding_radius(shape, size)
            if len(keep) and np.linalg.norm(keep - loc, axis=1).min() < rad + CLEARANCE_M:
                continue
            if any(np.linalg.norm(loc - np.asarray(d["location"])) < rad + d["radius"] + CLEARANCE_M for d in placed):
                continue
            if not _on_flat_part(support, loc):
                continue
            placed.append({"shape": shape, "size": size, "location": tuple(float(x) for x in loc),
                           "rotation": (0.0, 0.0, yaw), "surface": surface, "radius": rad})
            break
    return placed


def _local(support, p):
    """Point p in the support's frame (origin at its location, turned by -rotation_z)."""
    c, s = math.cos(support["rotation_z"]), math.sin(support["rotation_z"])
    d = np.asarray(p, np.float64) - np.asarray(support["location"], np.float64)
    return np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])


def _on_flat_part(support, p, margin=0.05):
    q = _local(support, p)
    return abs(q[0]) < 0.5 * support["width"] - margin and abs(q[1]) < 0.5 * support["depth"] - margin


def camera_problems(eye, hand_points, support, distractors, allow_foreground=False):
    """Names of the rules a camera at `eye` breaks (empty: fine): "below_support" (under the table
    top or floor), "behind_wall" (behind or inside the sweep's wall), "inside_distractor",
    "foreground_distractor" (a distractor hides hand points from the lens; only without
    allow_foreground)."""
    out = []
    eye = np.asarray(eye, np.float64)
    if support is not None:
        q = _local(support, eye)
        if q[2] < CAMERA_ABOVE_SUPPORT_M:
            out.append("below_support")
        if support["curved"] and q[1] > 0.5 * support["depth"] - 0.05:
            out.append("behind_wall")
    if occluding_distractors(eye, hand_points, distractors, inside=True):
        out.append("inside_distractor")
    if not allow_foreground and occluding_distractors(eye, hand_points, distractors):
        out.append("foreground_distractor")
    return out


def occluding_distractors(eye, hand_points, distractors, inside=False):
    """Indices of distractors whose bounding sphere meets a segment lens -> hand point (inside=True:
    of those that hold the lens)."""
    eye = np.asarray(eye, np.float64)
    pts = np.asarray(hand_points, np.float64)
    pts = pts[:: max(len(pts) // 200, 1)]
    hits = []
    for k, d in enumerate(distractors):
        c, r = np.asarray(d["location"], np.float64), d["radius"]
        if inside:
            if np.linalg.norm(eye - c) < r + 0.01:
                hits.append(k)
            continue
        seg = pts - eye
        t = np.clip(((c - eye) @ seg.T) / np.maximum((seg * seg).sum(1), 1e-12), 0.0, 1.0)
        closest = eye + t[:, None] * seg
        if np.any(np.linalg.norm(closest - c, axis=1) < r):
            hits.append(k)
    return hits
