"""Hand subjects: anthropometry and skin appearance of the built-in procedural avatars.

Ten built-in subjects (f01..f05 female, m01..m05 male) with adult hand sizes by sex and
skin tones covering Fitzpatrick types I-VI, plus sampling of random extra subjects.
Pure module: numpy + standard library only.
"""
from dataclasses import asdict, dataclass

import numpy as np

from hopgen.hand import kinematics

# Typical skin colours (sRGB 0-255) per Fitzpatrick type, palm-back of the hand; converted to
# linear albedo below.  Values in line with measured skin reflectance tables (e.g. the
# Chardon et al. 1991 ITA classes from very light to dark).
_FITZPATRICK_SRGB = {
    1: (241, 212, 192),
    2: (228, 186, 158),
    3: (206, 158, 124),
    4: (172, 122, 88),
    5: (124, 82, 56),
    6: (80, 52, 38),
}


def srgb_to_linear(c):
    """sRGB (0-1) -> linear RGB, elementwise."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def fitzpatrick_albedo(fitzpatrick):
    """Linear RGB albedo (3,) of the typical skin of a Fitzpatrick type 1-6."""
    if fitzpatrick not in _FITZPATRICK_SRGB:
        raise ValueError(f"fitzpatrick must be 1..6, got {fitzpatrick!r}")
    return srgb_to_linear(np.array(_FITZPATRICK_SRGB[fitzpatrick]) / 255.0)


@dataclass(frozen=True)
class Subject:
    """One hand avatar: sizes (mm), skin and nail appearance (linear RGB 0-1)."""
    id: str
    sex: str                 # "female" | "male"
    age: int
    hand_length_mm: float    # wrist crease to middle fingertip
    hand_breadth_mm: float   # across the metacarpal heads
    thickness_scale: float   # finger/palm thickness multiplier (1 = average)
    fitzpatrick: int         # 1..6
    skin_rgb: tuple          # linear albedo
    skin_roughness: float = 0.45
    nail_rgb: tuple = (0.62, 0.42, 0.38)   # linear; nail bed seen through the plate
    nail_free_edge_mm: float = 1.0          # white free edge length
    nail_gloss: float = 0.6                 # 0 matte .. 1 polished

    def __post_init__(self):
        if self.sex not in ("female", "male"):
            raise ValueError(f"subject {self.id}: sex must be 'female' or 'male', got {self.sex!r}")
        if self.fitzpatrick not in _FITZPATRICK_SRGB:
            raise ValueError(f"subject {self.id}: fitzpatrick must be 1..6, got {self.fitzpatrick!r}")
        if len(self.skin_rgb) != 3 or not all(0.0 <= c <= 1.0 for c in self.skin_rgb):
            raise ValueError(f"subject {self.id}: skin_rgb must be 3 linear values in [0, 1]")

    def to_dict(self):
        """JSON-friendly dict (tuples become lists)."""
        d = asdict(self)
        d["skin_rgb"] = [float(c) for c in self.skin_rgb]
        d["nail_rgb"] = [float(c) for c in self.nail_rgb]
        return d


def _skin(fitz, redness=0.0, lightness=1.0):
    """Typical albedo of a type, with a small red tint and a lightness factor."""
    c = fitzpatrick_albedo(fitz) * lightness
    c = c * np.array([1.0 + redness, 1.0 - 0.5 * redness, 1.0 - 0.5 * redness])
    return tuple(float(round(v, 4)) for v in np.clip(c, 0.0, 1.0))


def _nail(skin_rgb):
    """Nail bed colour: pinker and lighter than the skin around it."""
    s = np.asarray(skin_rgb)
    c = 0.55 * s + 0.45 * np.array([0.70, 0.45, 0.42])
    return tuple(float(round(v, 4)) for v in c)


def _make(id, sex, age, length, breadth, thick, fitz, redness=0.0, lightness=1.0, free_edge=1.0, gloss=0.6):
    skin = _skin(fitz, redness, lightness)
    return Subject(id, sex, age, length, breadth, thick, fitz, skin, 0.45, _nail(skin), free_edge, gloss)


# Adult hand sizes: female hand length 172-189 mm / breadth 74-80 mm, male 185-205 / 84-92 mm
# (within the 5th-95th percentiles of e.g. Greiner 1991 and Pheasant's Bodyspace tables).
BUILTIN_SUBJECTS = (
    _make("f01", "female", 24, 172.0, 74.0, 0.94, 1, redness=0.04, free_edge=1.5, gloss=0.8),
    _make("f02", "female", 35, 178.0, 76.0, 0.97, 3, redness=0.02, free_edge=0.8),
    _make("f03", "female", 29, 181.0, 77.0, 1.00, 4, redness=0.00, free_edge=2.0, gloss=0.9),
    _make("f04", "female", 47, 185.0, 78.5, 1.02, 5, lightness=1.05, free_edge=0.6),
    _make("f05", "female", 58, 189.0, 80.0, 1.03, 6, lightness=1.1, free_edge=0.5, gloss=0.4),
    _make("m01", "male", 31, 185.0, 84.0, 0.98, 2, redness=0.05, free_edge=0.4),
    _make("m02", "male", 27, 191.0, 86.0, 1.00, 3, redness=0.01, free_edge=0.3, gloss=0.5),
    _make("m03", "male", 44, 195.0, 88.0, 1.04, 4, lightness=0.95, free_edge=0.5),
    _make("m04", "male", 52, 200.0, 90.0, 1.07, 5, free_edge=0.2, gloss=0.45),
    _make("m05", "male", 38, 205.0, 92.0, 1.10, 6, lightness=0.95, free_edge=0.4),
)
_BY_ID = {s.id: s for s in BUILTIN_SUBJECTS}
SUBJECT_IDS = tuple(_BY_ID)


def get_subject(subject_id):
    """A built-in subject by id (f01..f05, m01..m05)."""
    try:
        return _BY_ID[subject_id]
    except KeyError:
        raise ValueError(f"unknown subject id {subject_id!r}; built-in ids: {', '.join(SUBJECT_IDS)}") from None


def subject_shape(subject):
    """The kinematic HandShape of a subject."""
    return kinematics.shape_from_measurements(subject.hand_length_mm, subject.hand_breadth_mm,
                                              subject.thickness_scale)


# Sex-specific adult means / standard deviations (mm) for random subjects; length and breadth
# are correlated (r ~ 0.6).
_SIZE_STATS = {"female": (180.0, 8.0, 77.0, 3.5), "male": (193.0, 9.0, 87.5, 4.0)}


def sample_subject(rng, sex=None):
    """A random plausible subject drawn from rng (numpy Generator); id 'r' + 6 hex digits."""
    if sex is None:
        sex = ("female", "male")[int(rng.integers(2))]
    if sex not in _SIZE_STATS:
        raise ValueError(f"sample_subject: sex must be 'female', 'male' or None, got {sex!r}")
    ml, sl, mb, sb = _SIZE_STATS[sex]
    z1, z2 = np.clip(rng.standard_normal(2), -2.2, 2.2)
    length = ml + sl * z1
    breadth = mb + sb * (0.6 * z1 + 0.8 * z2)
    fitz = int(rng.integers(1, 7))
    return _make(
        "r%06x" % int(rng.integers(1 << 24)), sex, int(rng.integers(18, 76)),
        float(round(length, 1)), float(round(breadth, 1)), float(round(rng.uniform(0.92, 1.1), 3)), fitz,
        redness=float(rng.uniform(-0.03, 0.06)), lightness=float(rng.uniform(0.9, 1.1)),
        free_edge=float(round(rng.uniform(0.0, 2.5), 2)), gloss=float(round(rng.uniform(0.3, 0.9), 2)))
