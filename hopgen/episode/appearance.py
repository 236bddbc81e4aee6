"""Appearance parameters drawn from an episode's seeds (pure): clothes, world colour, the support
surface and the distractors resting on it (hopgen.episode.surroundings); episode_looks gathers
them per episode. Blender builders take these plain dicts; nothing in hopgen.blender draws random
numbers."""

from dataclasses import dataclass, field

import numpy as np

from hopgen.core import camera as cam
from hopgen.episode import outfit, surroundings

CLOTH_PATTERNS = ("solid", "stripes", "checks", "knit", "fabric")


def _colour(rng, lo=0.03, hi=0.8):
    return tuple(float(x) for x in rng.uniform(lo, hi, size=3))


def cloth_params(rng):
    return {"pattern": str(CLOTH_PATTERNS[int(rng.integers(len(CLOTH_PATTERNS)))]), "colour_a": _colour(rng),
            "colour_b": _colour(rng), "scale": float(rng.uniform(20, 80)), "roughness": float(rng.uniform(0.7, 0.95))}


@dataclass
class EpisodeLooks:
    """Every random appearance choice of an episode's scene, drawn here so Blender only builds it.

    clothes: cloth params by piece name ("sleeve"; "top", "bottom", "shoes"), in draw order;
    world_colour: linear RGB of the plain world (used when no HDRI lights the scene);
    backdrop: the support surface (surroundings.support_params: table top or sweep) or None;
    distractors: surroundings.place_distractors dicts, resting on the support."""
    clothes: dict
    world_colour: tuple
    backdrop: dict = None
    distractors: list = field(default_factory=list)

    def scene_record(self):
        """The annotation's account of the surroundings (support and distractors as built)."""
        support = None
        if self.backdrop is not None:
            b = self.backdrop
            support = {"kind": "sweep" if b["curved"] else "table", "material": b.get("material"),
                       "top_z": b["location"][2], "rotation_z": b["rotation_z"],
                       "roughness": b["surface"].get("roughness"), "pattern": b["surface"].get("pattern")}
        return {"support": support,
                "distractor_objects": [{"shape": d["shape"], "size_m": d["size"], "location": list(d["location"]),
                                 "yaw": d["rotation"][2], "resting": True} for d in self.distractors]}


def episode_looks(spec, clothes, frames, object_vertices=None):
    """EpisodeLooks of episode ``spec`` whose avatar wears ``clothes`` (piece names, draw order) and
    whose animation ``frames`` (FrameStates) place the support below and the distractors on it,
    clear of the skin and of the object (``object_vertices``: (M,3) in the object frame).

    Streams: ``default_rng([appearance_seed, 0])`` for clothes then world colour,
    ``default_rng([background.seed, 0])`` for the support then the distractors."""
    rng = np.random.default_rng([spec.appearance_seed, 0])
    # A body's garments come from real-world palettes (hopgen.episode.outfit); the sleeve keeps cloth_params.
    pieces = {name: (outfit.garment_params(rng, name) if name in outfit.GARMENTS else cloth_params(rng))
              for name in clothes}
    world_colour = tuple(float(x) for x in rng.uniform(0.02, 0.3, 3))
    bg_rng = np.random.default_rng([spec.background.seed, 0])
    keep = [f.vertices for f in frames]
    if object_vertices is not None and len(object_vertices):
        keep += [cam.transform(f.object_to_world, object_vertices) for f in frames]
    keep = np.concatenate(keep)
    kind = spec.background.kind
    has_support = kind == "backdrop" or bool(bg_rng.random() < surroundings.TABLE_PROBABILITY)
    backdrop = None
    if has_support:
        curved = kind == "backdrop" and bool(bg_rng.random() < 0.5)
        backdrop = surroundings.support_params(bg_rng, keep[:, 2].min() - bg_rng.uniform(0.005, 0.2), curved)
    centre = frames[0].joints.mean(0)
    distractors = surroundings.place_distractors(bg_rng, backdrop, spec.distractors, centre, keep)
    return EpisodeLooks(pieces, world_colour, backdrop, distractors)


# The skin maps moved to hopgen.episode.skin (one helper for procedural hands and bodies).
from hopgen.episode.skin import FLUSH_ATTRIBUTE, PALMAR_ATTRIBUTE, hand_skin_maps  # noqa: E402,F401
