"""What a body avatar wears (pure): garment fabrics from real-world palettes, hair colour, and how
far each garment stands off the skin (loose fit with folds).

A MakeHuman data folder may hold no clothes, hair or eyebrow assets (the one in shared/assets has
none: base mesh, skeleton, weights, targets and one skin material only). Garments are therefore
the body mesh's own clothed regions (hopgen.avatars.rig.REGION_*) pushed out along the normals by
``garment_offsets`` (a few mm to cm, with low-frequency folds), and hair/eyebrows are the scalp
and brow regions of the head (hopgen.avatars.makehuman) with a hair material. Everything is drawn
from explicit Generators: the garments from the episode's appearance stream (people change
clothes), the hair from ``default_rng([dataset seed, HAIR_STREAM, crc32(subject id)])`` (a person
keeps their hair).
"""
import zlib

import numpy as np

from hopgen.avatars import rig as rg

HAIR_STREAM = 16
GARMENTS = ("top", "bottom", "shoes")


def _linear(srgb):
    return tuple(round(float(c) ** 2.2, 6) for c in srgb)


# (name, sRGB colour a, sRGB colour b, pattern, pattern repeats per metre (x8 for weaves), weight)
TOPS = (
    ("white tee", (0.92, 0.92, 0.9), (0.85, 0.85, 0.83), "fabric", 40, 2),
    ("heather grey", (0.56, 0.56, 0.57), (0.45, 0.45, 0.47), "knit", 45, 2),
    ("charcoal", (0.22, 0.22, 0.24), (0.17, 0.17, 0.19), "knit", 45, 2),
    ("black", (0.07, 0.07, 0.075), (0.11, 0.11, 0.12), "fabric", 40, 2),
    ("navy", (0.12, 0.16, 0.3), (0.17, 0.2, 0.36), "fabric", 40, 2),
    ("red", (0.62, 0.12, 0.12), (0.5, 0.09, 0.1), "fabric", 40, 1),
    ("olive", (0.36, 0.37, 0.22), (0.3, 0.31, 0.18), "fabric", 40, 1),
    ("burgundy", (0.42, 0.1, 0.15), (0.35, 0.08, 0.12), "knit", 45, 1),
    ("sky blue", (0.5, 0.64, 0.8), (0.44, 0.57, 0.72), "fabric", 40, 1),
    ("mustard", (0.76, 0.6, 0.22), (0.68, 0.52, 0.18), "knit", 45, 1),
    ("breton stripes", (0.9, 0.9, 0.88), (0.12, 0.15, 0.3), "stripes", 60, 1),
    ("flannel check", (0.55, 0.12, 0.1), (0.1, 0.1, 0.1), "checks", 25, 1),
)
BOTTOMS = (
    ("blue denim", (0.16, 0.22, 0.36), (0.3, 0.38, 0.52), "fabric", 60, 4),
    ("black denim", (0.08, 0.08, 0.09), (0.16, 0.16, 0.18), "fabric", 60, 2),
    ("khaki chinos", (0.6, 0.53, 0.4), (0.54, 0.47, 0.35), "fabric", 50, 2),
    ("grey trousers", (0.33, 0.33, 0.35), (0.28, 0.28, 0.3), "fabric", 50, 1),
    ("navy trousers", (0.1, 0.12, 0.2), (0.14, 0.16, 0.25), "fabric", 50, 1),
)
SHOES = (
    ("black leather", (0.05, 0.045, 0.04), (0.08, 0.07, 0.06), "solid", 30, 3),
    ("brown leather", (0.3, 0.18, 0.1), (0.24, 0.14, 0.08), "solid", 30, 2),
    ("white sneaker", (0.85, 0.85, 0.83), (0.75, 0.75, 0.73), "solid", 30, 2),
)
HAIR = (  # (name, sRGB, weight for light skin, weight for dark skin)
    ("black", (0.06, 0.05, 0.045), 2, 8),
    ("dark brown", (0.17, 0.11, 0.07), 4, 3),
    ("brown", (0.3, 0.2, 0.12), 3, 1),
    ("light brown", (0.45, 0.33, 0.2), 2, 0),
    ("blonde", (0.7, 0.58, 0.38), 2, 0),
    ("auburn", (0.42, 0.18, 0.09), 1, 0),
    ("grey", (0.55, 0.54, 0.52), 1, 1),
)
# Stand-off from the skin (m) and fold amplitude (m) per garment.
FIT = {"top": (0.004, 0.007), "bottom": (0.006, 0.008), "shoes": (0.004, 0.001), "hair": (0.003, 0.003)}
FOLD_WAVES = 6
FOLD_WAVELENGTH_M = (0.05, 0.16)


def _pick(rng, table, weights):
    w = np.asarray(weights, np.float64)
    return table[int(rng.choice(len(table), p=w / w.sum()))]


def garment_params(rng, piece):
    """hopgen.blender.materials.ClothParams fields of a ``piece`` (top | bottom | shoes) from the
    palettes, brightness jittered by +-12% (plus the garment's name)."""
    table = {"top": TOPS, "bottom": BOTTOMS, "shoes": SHOES}[piece]
    name, a, b, pattern, scale, _ = _pick(rng, table, [t[-1] for t in table])
    k = float(rng.uniform(0.88, 1.12))
    jit = lambda c: tuple(min(1.0, x * k) for x in _linear(c))  # noqa: E731
    return {"pattern": pattern, "colour_a": jit(a), "colour_b": jit(b), "scale": float(scale * rng.uniform(0.85, 1.15)),
            "roughness": float(rng.uniform(0.55, 0.7) if piece == "shoes" else rng.uniform(0.8, 0.95)),
            "name": name}


def hair_params(seed, subject_id, skin_tone):
    """Hair colour of a subject ({name, colour (linear RGB), roughness}); dark skin (Fitzpatrick >= 5)
    draws mostly black and dark brown hair."""
    rng = np.random.default_rng([int(seed), HAIR_STREAM, zlib.crc32(str(subject_id).encode())])
    dark = int(skin_tone or 3) >= 5
    name, srgb, *_ = _pick(rng, HAIR, [h[3] if dark else h[2] for h in HAIR])
    k = float(rng.uniform(0.85, 1.15))
    return {"name": name, "colour": tuple(min(1.0, c * k) for c in _linear(srgb)),
            "roughness": round(float(rng.uniform(0.35, 0.5)), 6)}


def garment_offsets(rest_vertices, triangles, region, pieces, rng):
    """(V,) stand-off from the skin (m) of a body mesh: a vertex takes the least FIT of its
    triangles' garments, then EDGE_SMOOTHING averaging passes ramp the edges (``region`` (T,) ints, ``pieces`` {region code: piece name}; other codes
    are skin, 0), so garment edges meet the skin; inside a garment a sum of FOLD_WAVES plane waves
    over the rest positions (random directions, wavelengths FOLD_WAVELENGTH_M, phases from ``rng``)
    adds the folds."""
    v = np.asarray(rest_vertices, np.float64)
    tri = np.asarray(triangles, np.int64)
    base = np.zeros(int(np.max(region)) + 1 if len(region) else 1)
    amp = np.zeros_like(base)
    for code, piece in pieces.items():
        if code < len(base):
            base[code], amp[code] = FIT[piece]
    dirs = rng.normal(size=(FOLD_WAVES, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    k = 2 * np.pi / rng.uniform(*FOLD_WAVELENGTH_M, FOLD_WAVES)
    phase = rng.uniform(0, 2 * np.pi, FOLD_WAVES)
    folds = 0.5 + 0.5 * np.mean(np.sin((v @ dirs.T) * k + phase), axis=1) * 1.6
    folds = np.clip(folds, 0.0, 1.0)
    per_tri = np.asarray(region, np.int64)
    off_b = np.full(len(v), np.inf)
    off_a = np.full(len(v), np.inf)
    for c in range(3):
        np.minimum.at(off_b, tri[:, c], base[per_tri])
        np.minimum.at(off_a, tri[:, c], amp[per_tri])
    off_b[~np.isfinite(off_b)] = 0.0
    off_a[~np.isfinite(off_a)] = 0.0
    return _smooth(off_b + off_a * folds, tri, EDGE_SMOOTHING)


EDGE_SMOOTHING = 4  # vertex-averaging passes: a garment edge ramps over a few triangles, no spikes


def _smooth(values, tri, passes):
    """``passes`` rounds of averaging each vertex with its triangle neighbours (a garment's edge
    follows the triangles of the region, so without it the step from skin to cloth stands up in
    spikes); vertices of no garment triangle nearby stay at 0."""
    n = len(values)
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    deg = np.bincount(edges[:, 0], minlength=n).astype(np.float64)
    out = np.asarray(values, np.float64)
    for _ in range(passes):
        acc = np.bincount(edges[:, 0], weights=out[edges[:, 1]], minlength=n)
        out = np.where(deg > 0, 0.5 * out + 0.5 * acc / np.maximum(deg, 1), out)
    return out


GARMENT_STREAM = 3  # default_rng([appearance_seed, GARMENT_STREAM]): sleeve length, then the folds
# Where a sleeve ends, as a fraction of the arm from shoulder to wrist (the elbow is at ~0.55).
LONG_SLEEVE_END = (0.62, 0.82)
SHORT_SLEEVE_END = (0.22, 0.42)
ARM_RADIUS_M = 0.08


def cut_sleeves(rig, region, not_hand, end):
    """Sleeves of the top that end in a clean cuff (in place in ``region``): on both arms, the
    arm-bone triangles (not the hand) nearer the shoulder than ``end`` of the shoulder -> elbow ->
    wrist polyline (rest pose) are the top's, those beyond it skin."""
    c = rig.vertices[rig.triangles].mean(1)
    for side, chain in rig.arms.items():
        bones = list(chain.upper) + list(chain.fore)
        p = [rig.rest[chain.upper[0], :3, 3], rig.rest[chain.fore[0], :3, 3], rig.rest[int(rig.refs(side)[0, 0]), :3, 3]]
        lengths = [np.linalg.norm(p[1] - p[0]), np.linalg.norm(p[2] - p[1])]
        best_d, frac = np.full(len(c), np.inf), np.zeros(len(c))
        start = 0.0
        for a, b, length in ((p[0], p[1], lengths[0]), (p[1], p[2], lengths[1])):
            t = np.clip((c - a) @ (b - a) / (length * length), 0.0, 1.0)
            d = np.linalg.norm(c - (a + t[:, None] * (b - a)), axis=1)
            closer = d < best_d
            best_d[closer], frac[closer] = d[closer], (start + t[closer] * length) / sum(lengths)
            start += length
        arm = np.isin(rig.dominant, bones) & not_hand & (best_d < ARM_RADIUS_M)
        region[arm & (frac < end)] = rg.REGION_TOP
        region[arm & (frac >= end) & (region == rg.REGION_TOP)] = rg.REGION_SKIN


def dress(cfg, spec, rig, labels, subject_dict, subject):
    """(region (T,), garment offsets (V,) m, hair params or None) of a rigged avatar in episode ``spec``:
    the rig's appearance regions with the long sleeve over the upper forearms when the plan asks
    for one, the clothes and hair standing off the skin (hopgen.episode.outfit)."""
    from hopgen.core.skeleton import SEG_ARM
    n = len(rig.triangles)
    region = np.zeros(n, np.int64) if rig.region is None else np.asarray(rig.region, np.int64).copy()
    rng = np.random.default_rng([spec.appearance_seed, GARMENT_STREAM])
    end = rng.uniform(*(LONG_SLEEVE_END if spec.sleeve else SHORT_SLEEVE_END))
    if rig.region is not None and rig.dominant is not None and rig.arms:
        cut_sleeves(rig, region, np.asarray(labels) == SEG_ARM, end)
    elif spec.sleeve and rig.sleeve is not None:
        region[np.asarray(rig.sleeve) & (np.asarray(labels) == SEG_ARM)] = rg.REGION_TOP
    has_hair = bool(np.any(region == rg.REGION_HAIR))
    pieces = {rg.REGION_TOP: "top", rg.REGION_BOTTOM: "bottom", rg.REGION_SHOES: "shoes"}
    if has_hair:
        pieces[rg.REGION_HAIR] = "hair"
    offset = garment_offsets(rig.vertices, rig.triangles, region, pieces, rng)
    hair = hair_params(cfg.dataset.seed, subject.id, subject_dict.get("skin_tone")) if has_hair else None
    return region, offset, hair
