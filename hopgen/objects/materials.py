"""Material spec dicts of the procedural objects (pure, JSON-serialisable).

A spec is a plain dict: {"kind": one of MATERIAL_KINDS, "color": [r, g, b] (linear, 0..1),
"roughness": float, ...optional keys}. Optional keys understood by the Blender side
(hopgen.blender.object_materials):

- "color2": [r, g, b]   secondary colour (fruit colour variation, wood grain, label print)
- "label_seed": int     printed label bands (paper, cardboard, metal, plastic, glass)
- "label_colors": [[r, g, b], ...] colours of the printed bands
- "pattern": "seam" (tennis felt) | "stitches" (baseball leather) | "dimples" (golf ball) |
             "stripes" (toy ball) | "screen" (phone glass)
- "pattern_color": [r, g, b]  colour of the seam/stitches/stripes
- "bump": float         bump strength 0..1 (fruit pores, felt fuzz, leather grain)
- "transmission": float glass-like transmission 0..1 (clear plastic)
"""

import numpy as np

MATERIAL_KINDS = (
    "plastic", "rubber", "metal", "glass", "paper", "cardboard", "wood", "ceramic",
    "citrus_skin", "glossy_skin", "felt", "leather", "wax", "graphite",
)


def material(kind, color, roughness, **extra):
    """Build a validated spec dict; floats rounded so specs are stable in JSON."""
    if kind not in MATERIAL_KINDS:
        raise ValueError(f"unknown material kind {kind!r}; known: {', '.join(MATERIAL_KINDS)}")
    spec = {"kind": kind, "color": _rgb(color), "roughness": round(float(roughness), 4)}
    for key, value in extra.items():
        if key in ("color2", "pattern_color"):
            value = _rgb(value)
        elif key == "label_colors":
            value = [_rgb(c) for c in value]
        elif isinstance(value, (float, np.floating)):
            value = round(float(value), 4)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = int(value)
        spec[key] = value
    return spec


def check_spec(spec, where="material"):
    """Raise ValueError naming `where` and the field if spec is not a valid material spec."""
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: must be a dict, got {type(spec).__name__}")
    if spec.get("kind") not in MATERIAL_KINDS:
        raise ValueError(f"{where}.kind: unknown {spec.get('kind')!r}; known: {', '.join(MATERIAL_KINDS)}")
    col = spec.get("color")
    if not (isinstance(col, (list, tuple)) and len(col) == 3 and all(isinstance(x, (int, float)) for x in col)):
        raise ValueError(f"{where}.color: need [r, g, b], got {col!r}")
    if not isinstance(spec.get("roughness"), (int, float)):
        raise ValueError(f"{where}.roughness: need a number, got {spec.get('roughness')!r}")


def _rgb(c):
    c = [float(x) for x in c]
    if len(c) != 3:
        raise ValueError(f"colour must have 3 components, got {c}")
    return [round(min(max(x, 0.0), 1.0), 4) for x in c]


def jitter(rng, color, amount=0.05):
    """Colour (3,) with a small multiplicative random variation."""
    return list(np.clip(np.asarray(color, float) * (1 + rng.uniform(-amount, amount, 3)), 0, 1))


def pick(rng, palette):
    """One entry of a palette (list of colours) chosen by rng."""
    return palette[int(rng.integers(len(palette)))]


def label(rng, kind="paper", base=None, roughness=0.45, n_colors=3, **extra):
    """A printed label spec with a seed and a few random print colours."""
    cols = [list(rng.uniform(0.03, 0.9, 3)) for _ in range(n_colors)]
    base = cols[0] if base is None else base
    return material(kind, base, roughness, label_seed=int(rng.integers(0, 2 ** 31 - 1)),
                    label_colors=cols, **extra)


def label_numbers(label_seed):
    """(6,) numbers in [0, 1) that place and size a printed label's bands and text blocks (the
    Blender material reads them; drawn here so Blender code draws nothing)."""
    return np.random.default_rng(int(label_seed)).uniform(0, 1, 6)


# Palettes (linear RGB) reused by several object types.
PLASTIC_COLORS = [[0.6, 0.02, 0.02], [0.02, 0.1, 0.5], [0.02, 0.3, 0.05], [0.8, 0.5, 0.01],
                  [0.02, 0.02, 0.02], [0.8, 0.8, 0.8], [0.4, 0.02, 0.3], [0.9, 0.2, 0.01]]
METAL_COLORS = [[0.75, 0.75, 0.75], [0.9, 0.7, 0.35], [0.55, 0.55, 0.6]]
WOOD_COLORS = [[0.45, 0.25, 0.1], [0.6, 0.38, 0.18], [0.3, 0.15, 0.06], [0.7, 0.5, 0.3]]
CERAMIC_COLORS = [[0.85, 0.85, 0.82], [0.05, 0.1, 0.3], [0.6, 0.1, 0.05], [0.1, 0.1, 0.1], [0.3, 0.5, 0.4]]


def catalogue(rng):
    """One spec per kind plus every label/pattern/option variant (for tests and previews)."""
    specs = [material(k, [0.5, 0.3, 0.2], 0.4) for k in MATERIAL_KINDS]
    specs += [label(rng, k) for k in ("paper", "cardboard", "metal", "plastic")]
    specs += [material("plastic", [0.5, 0.5, 0.5], 0.3, pattern=p, pattern_color=[1, 0, 0], bump=0.5)
              for p in ("seam", "stitches", "dimples", "stripes", "screen")]
    specs += [material("metal", [0.8, 0.8, 0.8], 0.3, brushed=True),
              material("glass", [1, 1, 1], 0.0, transmission=1.0),
              material("wood", [0.5, 0.3, 0.1], 0.5, color2=[0.3, 0.2, 0.1])]
    return specs
