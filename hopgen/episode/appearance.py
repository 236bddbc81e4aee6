"""Appearance parameters drawn from an episode's seeds (pure): clothes, world colour, the support
surface and the distractors resting on it (hopgen.episode.surroundings); episode_looks gathers
them per episode. Blender builders take these plain dicts; nothing in hopgen.blender draws random
numbers."""

from dataclasses import dataclass, field

import numpy as np

from hopgen.core import camera as cam
from hopgen.episode import surroundings

CLOTH_PATTERNS = ("solid", "stripes", "checks", "knit", "fabric")


def _colour(rng, lo=0.03, hi=0.8):
    return tuple(float(x) for x in rng.uniform(lo, hi, size=3))


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
    pieces = {name: (shoe_params(rng) if name == "shoes" else cloth_params(rng)) for name in clothes}
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


PALMAR_ATTRIBUTE = "hop_palmar"  # POINT FLOAT 0 back of the hand .. 1 palm side (skin shader)
FLUSH_ATTRIBUTE = "hop_flush"    # POINT FLOAT 0..1 redness at the knuckles and fingertips


def hand_skin_maps(mesh, shape):
    """Per-vertex skin maps of a procedural HandMesh at rest (pure, no draws): {PALMAR_ATTRIBUTE:
    (V,) 0..1, how much a vertex faces the palm side (palms are lighter and rougher than the back
    of the hand), FLUSH_ATTRIBUTE: (V,) 0..1, redness over the back of the knuckles and at the
    fingertips}. The palm side is where the fingers flex to (forward kinematics of the middle finger)."""
    from hopgen.hand.kinematics import FLEX_DOFS, LIMITS_HI, forward_kinematics, neutral_angles
    side = mesh.side
    a = neutral_angles()
    j0, _ = forward_kinematics(shape, a, side)
    for i in FLEX_DOFS[2]:
        a[i] = 0.6 * LIMITS_HI[i]
    j1, _ = forward_kinematics(shape, a, side)
    axis = j0[12] - j0[9]
    axis /= np.linalg.norm(axis)
    palm = j1[12] - j0[12]
    palm -= axis * (palm @ axis)
    palm /= np.linalg.norm(palm)
    n = np.asarray(mesh.normals, np.float64)
    v = np.asarray(mesh.rest_vertices, np.float64)
    palmar = np.clip((n @ palm + 0.2) / 0.7, 0.0, 1.0)
    palmar = palmar * palmar * (3 - 2 * palmar)  # smoothstep
    joints = np.asarray(j0)

    def near(ids, radius):
        d = np.min(np.linalg.norm(v[:, None, :] - joints[None, ids, :], axis=2), axis=1)
        return np.clip(1.0 - d / radius, 0.0, 1.0)
    knuckles = near([2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19], 0.014) * (1.0 - palmar)
    tips = near([4, 8, 12, 16, 20], 0.016)
    flush = np.clip(np.maximum(knuckles, tips), 0.0, 1.0)
    return {PALMAR_ATTRIBUTE: palmar.astype(np.float32), FLUSH_ATTRIBUTE: flush.astype(np.float32)}
