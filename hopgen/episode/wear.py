"""What the arm wears (pure): wrist accessories (a watch, a bracelet) and the sleeve's fabric and
folds, drawn per episode from ``default_rng([appearance_seed, WEAR_STREAM])`` into plain
dataclasses that hopgen.episode.wear_geometry turns into meshes and hopgen.blender.wear builds.

Label rule (docs/format.md): an accessory is part of the surroundings. The annotation pass labels
it SEG_SURROUNDINGS (written as 0 in seg PNGs), so the visible hand (seg palm/phalanx labels)
excludes the pixels it covers, the amodal hand mask (palm + fingers, x-ray) is unchanged, and a
joint it covers gets visibility 4.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Optional

import numpy as np

from hopgen.config import ACCESSORY_KINDS, SLEEVE_FABRICS  # noqa: F401 (the config checks them)

WEAR_STREAM = 1              # default_rng([appearance_seed, 1]); stream 0 is clothes + world colour
STRAP_MATERIALS = ("leather", "metal", "plastic", "fabric")
BRACELET_STYLES = ("bangle", "cord", "band")
# A watch sits just above the wrist bones, a bracelet lower (nearer the hand): distance of the
# band's centre from the wrist joint along the forearm, metres.
WATCH_POSITION_M = (0.004, 0.03)
BRACELET_POSITION_M = (-0.004, 0.02)
SLEEVE_CUFF_M = (0.05, 0.085)  # the cuff's distance from the wrist joint (pushed up or down)
ACCESSORY_SLEEVE_CLEARANCE_M = 0.008  # an accessory ends this far before a sleeve's cuff


def _srgb_to_linear(c):
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return tuple(float(x) for x in np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4))


def _jitter(rng, srgb, amount=0.06):
    return _srgb_to_linear(np.asarray(srgb) * (1.0 + rng.uniform(-amount, amount, 3)))


def _pick(rng, table):
    return table[int(rng.integers(len(table)))]


def _choice(rng, probs):
    """A key of ``probs`` (a config mapping, checked to sum to 1), in sorted-key order."""
    keys = sorted(probs)
    p = np.array([probs[k] for k in keys], np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


# sRGB colours of real things (jittered per draw).
_METALS = {"steel": (0.78, 0.78, 0.77), "gold": (0.95, 0.76, 0.45), "black": (0.12, 0.12, 0.13),
           "rose_gold": (0.92, 0.65, 0.55), "titanium": (0.62, 0.61, 0.60)}
_LEATHERS = ((0.32, 0.18, 0.09), (0.12, 0.08, 0.06), (0.05, 0.05, 0.05), (0.55, 0.35, 0.18), (0.40, 0.12, 0.08))
_PLASTICS = ((0.05, 0.05, 0.06), (0.85, 0.85, 0.84), (0.15, 0.25, 0.45), (0.55, 0.10, 0.10), (0.20, 0.35, 0.25),
             (0.90, 0.55, 0.65))
_STRAP_FABRICS = ((0.10, 0.15, 0.30), (0.25, 0.30, 0.20), (0.05, 0.05, 0.05), (0.60, 0.15, 0.12), (0.55, 0.52, 0.45))
_DIALS = ((0.92, 0.92, 0.90), (0.05, 0.05, 0.06), (0.10, 0.18, 0.40), (0.85, 0.80, 0.65), (0.15, 0.30, 0.20))


@dataclass
class Finish:
    """A material of an accessory part: kind (metal|leather|plastic|fabric), linear RGB colour,
    roughness, and the metal's name when kind is metal."""
    kind: str
    colour: tuple
    roughness: float
    name: str = ""

    def record(self):
        return {"kind": self.kind, "name": self.name, "colour": [round(c, 4) for c in self.colour],
                "roughness": round(self.roughness, 3)}


def draw_finish(rng, kind):
    """A Finish of material ``kind`` (STRAP_MATERIALS)."""
    if kind == "metal":
        name = _pick(rng, sorted(_METALS))
        return Finish("metal", _jitter(rng, _METALS[name], 0.03), float(rng.uniform(0.12, 0.35)), name)
    if kind == "leather":
        return Finish("leather", _jitter(rng, _pick(rng, _LEATHERS)), float(rng.uniform(0.45, 0.7)))
    if kind == "plastic":
        return Finish("plastic", _jitter(rng, _pick(rng, _PLASTICS)), float(rng.uniform(0.3, 0.6)))
    if kind == "fabric":
        return Finish("fabric", _jitter(rng, _pick(rng, _STRAP_FABRICS)), float(rng.uniform(0.8, 0.95)))
    raise ValueError(f"accessory material {kind!r}: expected one of {STRAP_MATERIALS}")


@dataclass
class Accessory:
    """One wrist accessory around the grasping hand's wrist (metres, arm frame: ``position_m`` is
    the band centre's distance from the wrist joint towards the elbow).

    watch: a strap (``strap``) of ``width_m`` x ``thickness_m`` snug around the wrist, a round case
    (``case``, radius ``case_radius_m``, height ``case_height_m``) on the back of the wrist with a
    dial (``dial``). bracelet: ``style`` bangle (a round metal ring, loose), cord (a thin round
    cord, snug) or band (a flat strap); ``gap_m`` is the clearance to the skin."""
    kind: str
    side: str
    position_m: float
    width_m: float
    thickness_m: float
    gap_m: float
    strap: Finish
    style: str = ""
    case: Optional[Finish] = None
    dial: Optional[Finish] = None
    case_radius_m: float = 0.0
    case_height_m: float = 0.0
    hands: Optional[Finish] = None  # watch: the hands and hour marks (contrasting with the dial)
    time_h: float = 0.0             # watch: the time its hands show (hours, 0..12)

    def record(self):
        """The annotation's account (scene.accessories[i])."""
        out = {"kind": self.kind, "side": self.side, "style": self.style or None,
               "position_m": round(self.position_m, 4), "width_m": round(self.width_m, 4),
               "thickness_m": round(self.thickness_m, 4), "gap_m": round(self.gap_m, 4),
               "material": self.strap.kind, "colour": self.strap.record()["colour"], "strap": self.strap.record()}
        if self.kind == "watch":
            out.update(case=self.case.record(), dial=self.dial.record(),
                       case_radius_m=round(self.case_radius_m, 4), case_height_m=round(self.case_height_m, 4),
                       hands=self.hands.record() if self.hands is not None else None, time_h=round(self.time_h, 3))
        return out


def draw_watch(rng, side, max_position=None):
    strap_kind = _pick(rng, STRAP_MATERIALS)
    width = float(rng.uniform(0.016, 0.022))
    hi = WATCH_POSITION_M[1] if max_position is None else min(WATCH_POSITION_M[1], max_position - 0.5 * width)
    pos = float(rng.uniform(WATCH_POSITION_M[0], max(hi, WATCH_POSITION_M[0])))
    strap = draw_finish(rng, strap_kind)
    case_kind = "plastic" if strap_kind == "plastic" and rng.random() < 0.6 else "metal"
    acc = Accessory(kind="watch", side=side, position_m=pos, width_m=width,
                    thickness_m=float(rng.uniform(0.0025, 0.0035)) if strap_kind != "metal" else 0.004,
                    gap_m=float(rng.uniform(0.0005, 0.0015)), strap=strap, case=draw_finish(rng, case_kind),
                    dial=Finish("dial", _jitter(rng, _pick(rng, _DIALS), 0.04), float(rng.uniform(0.2, 0.5))),
                    case_radius_m=float(rng.uniform(0.016, 0.021)), case_height_m=float(rng.uniform(0.008, 0.012)))
    light_dial = float(np.mean(acc.dial.colour)) > 0.25
    acc.hands = Finish("hands", _srgb_to_linear((0.08, 0.08, 0.09) if light_dial else (0.92, 0.92, 0.9)), 0.3)
    acc.time_h = float(rng.uniform(0.0, 12.0))
    return acc


def draw_bracelet(rng, side, max_position=None):
    style = _pick(rng, BRACELET_STYLES)
    if style == "bangle":
        kind, width, thick, gap = "metal", float(rng.uniform(0.004, 0.008)), None, float(rng.uniform(0.004, 0.009))
    elif style == "cord":
        kind, width, thick, gap = _pick(rng, ("leather", "fabric")), float(rng.uniform(0.002, 0.004)), None, 0.0008
    else:
        kind, width = _pick(rng, ("plastic", "fabric", "leather")), float(rng.uniform(0.008, 0.016))
        thick, gap = float(rng.uniform(0.0015, 0.003)), float(rng.uniform(0.0005, 0.0015))
    if thick is None:  # round cross-section
        thick = width
    hi = BRACELET_POSITION_M[1] if max_position is None else min(BRACELET_POSITION_M[1], max_position - 0.5 * width)
    pos = float(rng.uniform(BRACELET_POSITION_M[0], max(hi, BRACELET_POSITION_M[0])))
    return Accessory(kind="bracelet", side=side, position_m=pos, width_m=width, thickness_m=thick, gap_m=gap,
                     strap=draw_finish(rng, kind), style=style)


# sRGB fabric colours (jittered): knitwear, cotton shirts, denim indigos.
_KNITS = ((0.55, 0.10, 0.12), (0.20, 0.22, 0.25), (0.80, 0.76, 0.68), (0.15, 0.28, 0.18), (0.35, 0.35, 0.38),
          (0.60, 0.45, 0.25), (0.12, 0.16, 0.35))
_COTTONS = ((0.92, 0.92, 0.90), (0.55, 0.65, 0.80), (0.08, 0.08, 0.09), (0.75, 0.20, 0.18), (0.45, 0.50, 0.35),
            (0.85, 0.80, 0.60), (0.35, 0.40, 0.55))
_DENIMS = ((0.10, 0.17, 0.32), (0.18, 0.28, 0.45), (0.30, 0.42, 0.58), (0.12, 0.12, 0.14))


@dataclass
class Fold:
    """A fold ring of the sleeve: centre at ``position_m`` from the cuff along the arm, radial
    ``amplitude_m``, ``width_m`` (Gaussian sigma), wavering ``waver_m`` around the arm with
    ``phase``, and an amplitude that varies around the arm (``lobes`` harmonics, ``lobe_phase``)."""
    position_m: float
    amplitude_m: float
    width_m: float
    waver_m: float
    phase: float
    lobes: int
    lobe_phase: float


@dataclass
class SleeveLook:
    """The sleeve: fabric (knit|cotton|denim) with its colours (linear RGB), thread scale
    (repeats per metre), roughness and bump; the cuff's distance from the wrist, the ease (how far
    the cloth stands off the skin), a hem; and the fold rings near the cuff (empty: no folds)."""
    fabric: str
    colour_a: tuple
    colour_b: tuple
    thread_scale: float
    roughness: float
    bump_strength: float
    cuff_m: float
    ease_m: float
    hem_m: float
    thickness_m: float
    drape_m: float
    drape_phase: float
    folds: List[Fold] = field(default_factory=list)

    def record(self):
        """The annotation's account (scene.sleeve_look)."""
        return {"fabric": self.fabric, "colour": [round(c, 4) for c in self.colour_a],
                "cuff_m": round(self.cuff_m, 4), "ease_m": round(self.ease_m, 4), "folds": len(self.folds),
                "fold_amplitude_mm": round(1000 * max((f.amplitude_m for f in self.folds), default=0.0), 2)}


def draw_sleeve(rng, fabrics, folds=True):
    """A SleeveLook: fabric from the ``fabrics`` probabilities, then colours, cuff, ease and folds."""
    fabric = _choice(rng, fabrics)
    if fabric == "knit":
        base = np.asarray(_pick(rng, _KNITS))
        a, b, scale = _jitter(rng, base), _jitter(rng, base * 0.75), float(rng.uniform(180, 260))
        rough, bump = float(rng.uniform(0.85, 0.98)), float(rng.uniform(0.35, 0.6))
    elif fabric == "cotton":
        base = np.asarray(_pick(rng, _COTTONS))
        a, b, scale = _jitter(rng, base, 0.03), _jitter(rng, base * 0.9, 0.03), float(rng.uniform(900, 1400))
        rough, bump = float(rng.uniform(0.75, 0.9)), float(rng.uniform(0.1, 0.25))
    elif fabric == "denim":
        base = np.asarray(_pick(rng, _DENIMS))
        a, b, scale = _jitter(rng, base, 0.05), _srgb_to_linear((0.78, 0.78, 0.74)), float(rng.uniform(500, 800))
        rough, bump = float(rng.uniform(0.7, 0.85)), float(rng.uniform(0.2, 0.4))
    else:
        raise ValueError(f"sleeve fabric {fabric!r}: expected one of {SLEEVE_FABRICS}")
    cuff = float(rng.uniform(*SLEEVE_CUFF_M))
    ease = float(rng.uniform(0.002, 0.006)) * (1.3 if fabric == "knit" else 1.0)  # a wider gap shows a black void
    hem = float(rng.uniform(0.012, 0.03)) if fabric != "denim" else float(rng.uniform(0.02, 0.04))
    thick = 0.0025 if fabric == "knit" else (0.0015 if fabric == "denim" else 0.001)
    drape, drape_phase = float(rng.uniform(0.0005, 0.0015)), float(rng.uniform(0, 2 * np.pi))
    out = []
    n = int(rng.integers(3, 7)) if folds else 0
    pos = float(rng.uniform(0.006, 0.015))
    for k in range(n):  # cloth bunched at the cuff: deep folds first, shallower up the arm
        out.append(Fold(position_m=pos, amplitude_m=float(rng.uniform(0.002, 0.005)) * (0.85 ** k),
                        width_m=float(rng.uniform(0.0025, 0.005)), waver_m=float(rng.uniform(0.002, 0.008)),
                        phase=float(rng.uniform(0, 2 * np.pi)), lobes=int(rng.integers(1, 4)),
                        lobe_phase=float(rng.uniform(0, 2 * np.pi))))
        pos += float(rng.uniform(0.008, 0.018))
    return SleeveLook(fabric=fabric, colour_a=a, colour_b=b, thread_scale=scale, roughness=rough,
                      bump_strength=bump, cuff_m=cuff, ease_m=ease, hem_m=hem, thickness_m=thick,
                      drape_m=drape, drape_phase=drape_phase, folds=out)


@dataclass
class Wear:
    """Everything an episode's arm wears: accessories (draw order) and the sleeve (None: bare)."""
    accessories: List[Accessory] = field(default_factory=list)
    sleeve: Optional[SleeveLook] = None

    def record(self):
        """Annotation fields (under scene): accessories [...] and sleeve_look (null without a sleeve
        built by hopgen.episode.wear)."""
        return {"accessories": [a.record() for a in self.accessories],
                "sleeve_look": self.sleeve.record() if self.sleeve is not None else None}

    def to_dict(self):
        return asdict(self)


def draw_wear(cfg, appearance_seed, side, sleeve):
    """Wear of an episode from its own stream ``default_rng([appearance_seed, WEAR_STREAM])``:
    the sleeve's look first (when ``sleeve``), then whether the wrist wears an accessory
    (``cfg.accessory_probability``), its kind (``cfg.accessory_kinds``) and its parameters.
    ``cfg`` is hopgen.config.WearConfig. A sleeve's cuff keeps accessories below it."""
    rng = np.random.default_rng([int(appearance_seed), WEAR_STREAM])
    look = draw_sleeve(rng, cfg.sleeve_fabrics, cfg.sleeve_folds) if sleeve else None
    accessories = []
    if rng.random() < cfg.accessory_probability:
        kind = _choice(rng, cfg.accessory_kinds)
        limit = look.cuff_m - ACCESSORY_SLEEVE_CLEARANCE_M if look is not None else None
        accessories.append((draw_watch if kind == "watch" else draw_bracelet)(rng, side, limit))
    return Wear(accessories, look)
