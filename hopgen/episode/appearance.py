"""Appearance parameters drawn from an episode's seeds (pure): clothes, world colour, backdrop,
distractors (episode_looks gathers them per episode). Blender builders take these plain dicts;
nothing in hopgen.blender draws random numbers."""

from dataclasses import dataclass, field

import numpy as np

PATTERNS = ("solid", "stripes", "checks", "knit", "fabric", "noise", "wood", "tiles")
CLOTH_PATTERNS = ("solid", "stripes", "checks", "knit", "fabric")
DISTRACTOR_SHAPES = ("box", "sphere", "cylinder", "cone", "torus")


def _colour(rng, lo=0.03, hi=0.8):
    return tuple(float(x) for x in rng.uniform(lo, hi, size=3))


def surface_params(rng, patterns=PATTERNS):
    return {"pattern": str(patterns[int(rng.integers(len(patterns)))]), "colour_a": _colour(rng),
            "colour_b": _colour(rng), "colour_c": _colour(rng, 0.0, 0.2), "scale": float(rng.uniform(3, 30)),
            "roughness": float(rng.uniform(0.3, 0.95)), "bump_strength": float(rng.uniform(0.0, 0.15))}


def backdrop_params(rng, below_z):
    """A table top (flat) or curved studio backdrop just below the scene's lowest point."""
    curved = bool(rng.random() < 0.5)
    return {"curved": curved, "width": 3.0, "depth": 2.0, "height": 1.5, "bend_radius": float(rng.uniform(0.2, 0.6)),
            "location": (0.0, 0.0, float(below_z)), "rotation_z": float(rng.uniform(0, 2 * np.pi)),
            "surface": surface_params(rng)}


def distractor_params(rng, centre, keep_out, k):
    """A simple shape placed around `centre` but at least `keep_out` metres away from it."""
    ang = rng.uniform(0, 2 * np.pi)
    r = keep_out + rng.uniform(0.05, 0.35)
    loc = np.asarray(centre) + [r * np.cos(ang), r * np.sin(ang), rng.uniform(-0.25, 0.1)]
    return {"shape": DISTRACTOR_SHAPES[int(rng.integers(len(DISTRACTOR_SHAPES)))], "size": float(rng.uniform(0.04, 0.2)),
            "location": tuple(float(x) for x in loc), "rotation": tuple(float(x) for x in rng.uniform(0, np.pi, 3)),
            "surface": surface_params(rng)}


def cloth_params(rng):
    return {"pattern": str(CLOTH_PATTERNS[int(rng.integers(len(CLOTH_PATTERNS)))]), "colour_a": _colour(rng),
            "colour_b": _colour(rng), "scale": float(rng.uniform(20, 80)), "roughness": float(rng.uniform(0.7, 0.95))}


def shoe_params(rng):
    """Dark, solid shoes: a cloth draw with its colour and pattern replaced."""
    p = cloth_params(rng)
    dark = float(rng.uniform(0.02, 0.12))
    p.update(pattern="solid", colour_a=(dark, dark * 0.9, dark * 0.8), roughness=0.6)
    return p


@dataclass
class EpisodeLooks:
    """Every random appearance choice of an episode's scene, drawn here so Blender only builds it.

    clothes: cloth params by piece name ("sleeve"; "top", "bottom", "shoes"), in draw order;
    world_colour: linear RGB of the plain world (used when no HDRI lights the scene);
    backdrop: backdrop_params or None; distractors: one distractor_params per distractor."""
    clothes: dict
    world_colour: tuple
    backdrop: dict = None
    distractors: list = field(default_factory=list)


def episode_looks(spec, clothes, frames):
    """EpisodeLooks of episode ``spec`` whose avatar wears ``clothes`` (piece names, draw order) and
    whose animation ``frames`` (FrameStates) place the backdrop below and the distractors around it.

    Streams: ``default_rng([appearance_seed, 0])`` for clothes then world colour,
    ``default_rng([background.seed, 0])`` for backdrop then distractors."""
    rng = np.random.default_rng([spec.appearance_seed, 0])
    pieces = {name: (shoe_params(rng) if name == "shoes" else cloth_params(rng)) for name in clothes}
    world_colour = tuple(float(x) for x in rng.uniform(0.02, 0.3, 3))
    bg_rng = np.random.default_rng([spec.background.seed, 0])
    centre = frames[0].joints.mean(0)
    backdrop = None
    if spec.background.kind == "backdrop":
        lowest = min(min(f.vertices[:, 2].min(), f.joints[:, 2].min()) for f in frames)
        backdrop = backdrop_params(bg_rng, lowest - bg_rng.uniform(0.05, 0.3))
    distractors = [distractor_params(bg_rng, centre, 0.25, k) for k in range(spec.distractors)]
    return EpisodeLooks(pieces, world_colour, backdrop, distractors)
