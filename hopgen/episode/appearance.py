"""Appearance parameters drawn from an episode's seeds (pure): backdrop, distractors, sleeve cloth,
skin micro-variation. Blender builders take these plain dicts; nothing in Blender is random."""

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


def sleeve_mesh(vertices, faces, face_labels, wrist, forearm_dir, start=0.05, offset=0.004, arm_label=2):
    """A sleeve shell over the forearm: the arm faces farther than `start` metres from the wrist along
    the forearm, pushed out along the vertex normals by `offset`. Returns (vertices, faces) or None."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces)
    along = (v - wrist) @ forearm_dir
    arm = (np.asarray(face_labels) == arm_label) & (along[f].min(1) > start)
    if not arm.any():
        return None
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)
    sub = f[arm]
    used, inverse = np.unique(sub, return_inverse=True)
    return v[used] + offset * vn[used], inverse.reshape(-1, 3)
