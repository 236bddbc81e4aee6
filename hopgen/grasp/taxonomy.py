"""Grasp taxonomy (after Feix et al., "The GRASP Taxonomy of Human Grasp Types", 2016).

Each type fixes: which fingers take part, power vs precision, how the hand relates to
the object's principal axes (the approach), the pre-shape (open joint configuration,
in fractions of each joint's range so that it holds for every hand model), and the
range of object widths (the span the grasp closes across) it suits. A category (plus
size) -> type-probability table picks types; a user config can override it.
"""

from dataclasses import dataclass, field

from hopgen.core.skeleton import CATEGORIES

# Approach relations to the object's principal axes (axes[0] longest .. axes[2] shortest):
#   "wrap"   palm faces the long axis, knuckle line parallel to it; fingers curl around the section.
#   "pinch"  thumb and fingers close across the thinnest axis (axes[2]); approach along the others.
#   "any"    any direction (sphere-like objects); the hand closes across the object.
#   "tip"    approach along the long axis from one end (jar lid / precision sphere on a cylinder).
#   "edge"   palm flat on the largest face near an edge; the fingers curl over that edge.
APPROACHES = ("wrap", "pinch", "any", "tip", "edge")

# Feix et al. 2016, Fig. 3: the 33 types by number (a GraspType's feix_id names its entry).
FEIX_TYPES = {
    1: "large diameter", 2: "small diameter", 3: "medium wrap", 4: "adducted thumb", 5: "light tool",
    6: "prismatic 4 finger", 7: "prismatic 3 finger", 8: "prismatic 2 finger", 9: "palmar pinch",
    10: "power disk", 11: "power sphere", 12: "precision disk", 13: "precision sphere", 14: "tripod",
    15: "fixed hook", 16: "lateral", 17: "index finger extension", 18: "extension type", 19: "distal type",
    20: "writing tripod", 21: "tripod variation", 22: "parallel extension", 23: "adduction grip",
    24: "tip pinch", 25: "lateral tripod", 26: "sphere 4 finger", 27: "quadpod", 28: "sphere 3 finger",
    29: "stick", 30: "palmar", 31: "ring", 32: "ventral", 33: "inferior pincer",
}


@dataclass(frozen=True)
class GraspType:
    """One grasp type. Pre-shape values are fractions of each joint's flexion range."""

    name: str
    feix_id: int  # number in Feix et al.'s 33-type table
    power: bool  # power (palm contact, many fingers) vs precision (pads)
    fingers: tuple  # participating fingers, 0 thumb .. 4 pinky
    approach: str  # one of APPROACHES
    width_range: tuple  # (min, max) object width in metres the grasp closes across
    palm_contact: bool  # the palm is placed onto the object before the fingers close
    min_fingers: int  # fingers that must touch the object for the grasp to count
    # Pre-shape: flexion fraction of MCP and PIP for the long fingers (participating ones; others
    # take `idle_curl`), finger spread in [-1, 1], thumb opposition/flexion fractions.
    mcp: float = 0.1
    pip: float = 0.1
    spread: float = 0.3
    idle_curl: float = 0.0
    thumb_opposition: float = 0.8
    thumb_flex: float = 0.1
    thumb_drive: str = "thumb_cmc_flex"  # DoF that closes the thumb first (see closing.finger_chain)
    # Thumb wrap (large-diameter grasps): when set, the thumb starts palmar-abducted by this
    # fraction of its CMC abduction range, standing off the palm plane beside the object's
    # wrist side, and closes round it by MCP/IP flexion, the other way round the section from
    # the fingers (None: the thumb starts flat behind the palm plane).
    thumb_abduction: float = None
    # Where along the hand (fraction of the knuckle line's y) the palm reference sits.
    palm_y: float = 0.8
    # Relative MCP : PIP : DIP speeds of the long fingers while they close. Pads (precision)
    # lead with the tip; power grasps close the knuckle first (WRAP_RATES) so the proximal
    # phalanx lies on the object and the middle and distal ones curl on around it.
    finger_rates: tuple = (1.0, 1.0, 2.0 / 3.0)
    # Relative speeds of the thumb's chain (thumb_drive, MCP, IP); None: closing.THUMB_RATES.
    thumb_rates: tuple = None
    # Precision grasps: how far (m) the point between the pads goes past the object's outline.
    standoff: tuple = (0.008, 0.02)
    notes: str = ""
    tags: tuple = field(default=())


WRAP_RATES = (1.0, 0.3, 0.2)
# A wrapping thumb (thumb_abduction set) closes MCP first, IP slower, so its proximal phalanx
# lies on the object and the distal one curls on (equal speeds touched with the tip only).
THUMB_WRAP_RATES = (1.0, 1.0, 0.3)

TAXONOMY = {g.name: g for g in (
    GraspType("large_diameter", 1, True, (0, 1, 2, 3, 4), "wrap", (0.045, 0.11), True, 3,
              mcp=0.05, pip=0.05, spread=0.1, thumb_opposition=0.7, thumb_flex=0.0,
              thumb_drive="thumb_cmc_abd", finger_rates=WRAP_RATES, thumb_abduction=0.9, palm_y=1.2,
              thumb_rates=THUMB_WRAP_RATES,
              notes="bottle or can held in the whole hand, thumb wrapped around"),
    GraspType("small_diameter", 2, True, (0, 1, 2, 3, 4), "wrap", (0.008, 0.035), True, 3,
              mcp=0.3, pip=0.3, spread=0.0, thumb_opposition=0.1, thumb_flex=0.2,
              thumb_drive="thumb_cmc_abd", finger_rates=WRAP_RATES,
              notes="handle or rod in a fist"),
    GraspType("medium_wrap", 3, True, (0, 1, 2, 3, 4), "wrap", (0.025, 0.075), True, 3,
              mcp=0.15, pip=0.2, spread=0.05, thumb_opposition=0.1, thumb_flex=0.1,
              thumb_drive="thumb_cmc_abd", finger_rates=WRAP_RATES,
              notes="mug body or thick handle, thumb less abducted"),
    GraspType("power_sphere", 11, True, (0, 1, 2, 3, 4), "any", (0.05, 0.11), True, 3,
              mcp=0.05, pip=0.05, spread=0.8, thumb_opposition=0.15, thumb_flex=0.05,
              thumb_drive="thumb_cmc_abd", finger_rates=WRAP_RATES,
              notes="ball cupped in the palm, fingers spread"),
    GraspType("precision_sphere", 13, False, (0, 1, 2, 3, 4), "tip", (0.03, 0.10), False, 3,
              mcp=0.3, pip=0.2, spread=0.9, thumb_opposition=1.0, thumb_flex=0.05,
              standoff=(0.005, 0.015), notes="lid or ball taken from above with spread finger pads"),
    GraspType("tripod", 14, False, (0, 1, 2), "pinch", (0.01, 0.07), False, 3,
              mcp=0.35, pip=0.22, spread=0.1, idle_curl=0.5, thumb_opposition=1.0, thumb_flex=0.1,
              standoff=(0.008, 0.02), notes="thumb, index and middle pads"),
    GraspType("prismatic_2_finger", 8, False, (0, 1), "pinch", (0.003, 0.08), False, 2,
              mcp=0.35, pip=0.22, spread=0.0, idle_curl=0.6, thumb_opposition=1.0, thumb_flex=0.1,
              standoff=(0.01, 0.03), notes="thumb and index pads across a thin dimension"),
    GraspType("prismatic_4_finger", 6, False, (0, 1, 2, 3, 4), "pinch", (0.003, 0.09), False, 3,
              mcp=0.35, pip=0.22, spread=0.0, thumb_opposition=1.0, thumb_flex=0.1,
              standoff=(0.01, 0.03), notes="book or phone edge between thumb and four finger pads"),
    GraspType("lateral_pinch", 16, False, (0, 1), "pinch", (0.002, 0.03), False, 2,
              mcp=0.45, pip=0.55, spread=0.0, idle_curl=0.7, thumb_opposition=0.3, thumb_flex=0.1,
              standoff=(0.005, 0.015), notes="key or card between thumb pad and the side of the index"),
    GraspType("palmar", 30, True, (0, 1, 2, 3, 4), "edge", (0.003, 0.045), True, 3,
              mcp=0.0, pip=0.0, spread=0.0, thumb_opposition=0.05, thumb_flex=0.05,
              thumb_drive="thumb_cmc_abd", notes="flat object on the palm, fingers curled over its edge onto the far face"),
    GraspType("writing_tripod", 20, False, (0, 1, 2), "pinch", (0.005, 0.02), False, 2,
              mcp=0.35, pip=0.3, spread=0.0, idle_curl=0.7, thumb_opposition=0.8, thumb_flex=0.2,
              standoff=(0.003, 0.01), notes="pencil held by thumb, index pad and the side of the middle finger"),
)}

GRASP_TYPES = tuple(TAXONOMY)
GRASP_TYPE_IDS = {name: i for i, name in enumerate(GRASP_TYPES)}


class GraspConfigError(ValueError):
    """A grasp-type probability table names an unknown category or type, or has bad numbers."""


def object_width(category, extents):
    """The width a grasp closes across: section for long objects, thickness for flat ones.

    extents (3,) sorted longest first (metres).
    """
    if category in ("cylindrical", "slender"):
        return float(extents[1])  # diameter (the second principal extent of an elongated object)
    if category == "spherical":
        return float(extents[0])
    return float(extents[2])  # cubical: the thinnest dimension


# Cubical objects wrapped like a bottle (large_diameter): at least this thick, and the section's
# two sides within this ratio (milk cartons 6.7-7.3 cm square; the box's 7.3-9.7 x 4.8-5.8 cm
# sections, 1.3-2.0, keep their table).
BOTTLE_BOX_MIN_WIDTH = 0.045
BOTTLE_BOX_SECTION_RATIO = 1.2


def default_type_probs(category, extents):
    """Default {type: prob} for an object of `category` with principal extents (3,) (metres)."""
    if category not in CATEGORIES:
        raise GraspConfigError(f"unknown object category {category!r} (expected one of {CATEGORIES})")
    w = object_width(category, extents)
    if category == "cylindrical":
        if w >= 0.05:
            table = {"large_diameter": 0.55, "medium_wrap": 0.25, "precision_sphere": 0.1, "power_sphere": 0.1}
        else:
            table = {"medium_wrap": 0.4, "small_diameter": 0.25, "large_diameter": 0.1, "tripod": 0.1,
                     "prismatic_4_finger": 0.15}
    elif category == "slender":
        table = {"small_diameter": 0.35, "writing_tripod": 0.25, "prismatic_2_finger": 0.15,
                 "lateral_pinch": 0.1, "tripod": 0.15}
    elif category == "cubical":
        if w < 0.03:
            table = {"prismatic_4_finger": 0.35, "prismatic_2_finger": 0.2, "palmar": 0.25,
                     "lateral_pinch": 0.1, "tripod": 0.1}
        elif w >= BOTTLE_BOX_MIN_WIDTH and float(extents[1]) <= BOTTLE_BOX_SECTION_RATIO * w:
            # A box with a near-square section as thick as a bottle (a milk carton) is wrapped
            # like one: palm on its side, thumb round the other side, fingers over the far faces.
            table = {"large_diameter": 0.4, "prismatic_4_finger": 0.25, "medium_wrap": 0.15, "tripod": 0.1,
                     "power_sphere": 0.1}
        else:
            table = {"prismatic_4_finger": 0.4, "medium_wrap": 0.2, "tripod": 0.2, "power_sphere": 0.2}
    else:  # spherical
        if w >= 0.06:
            table = {"power_sphere": 0.6, "precision_sphere": 0.4}
        else:
            table = {"precision_sphere": 0.35, "tripod": 0.4, "power_sphere": 0.25}
    return table


def validate_type_probs(table, where="grasp.type_probs"):
    """Check a {category: {type: prob}} override; returns a cleaned copy (floats)."""
    if not isinstance(table, dict):
        raise GraspConfigError(f"{where}: expected a mapping category -> {{type: probability}}, "
                               f"got {type(table).__name__}")
    out = {}
    for cat, probs in table.items():
        if cat not in CATEGORIES:
            raise GraspConfigError(f"{where}: unknown category {cat!r} (expected one of {list(CATEGORIES)})")
        if not isinstance(probs, dict) or not probs:
            raise GraspConfigError(f"{where}.{cat}: expected a non-empty mapping grasp type -> probability")
        clean = {}
        for name, p in probs.items():
            if name not in TAXONOMY:
                raise GraspConfigError(f"{where}.{cat}: unknown grasp type {name!r} "
                                       f"(known: {', '.join(GRASP_TYPES)})")
            try:
                p = float(p)
            except (TypeError, ValueError):
                raise GraspConfigError(f"{where}.{cat}.{name}: probability must be a number, got {p!r}") from None
            if not (p >= 0 and p < float("inf")):
                raise GraspConfigError(f"{where}.{cat}.{name}: probability must be finite and >= 0, got {p}")
            clean[name] = p
        if sum(clean.values()) <= 0:
            raise GraspConfigError(f"{where}.{cat}: probabilities sum to 0")
        out[cat] = clean
    return out


def type_probs_for(category, extents, overrides=None, section_width=None):
    """Normalised {type: prob} for an object, overrides ({category: {type: prob}}) first.

    Types whose width range excludes the object are dropped (unless that would drop all).
    A slender object also fits the types its typical section fits (section_width: the median
    width of its slices across the long axis, placement.ObjectFrame): a spoon is 3.6 cm wide
    at the bowl but held by its 1.2 cm handle, in a fist or a writing tripod.
    """
    table = validate_type_probs(overrides)[category] if overrides and category in overrides else \
        default_type_probs(category, extents)
    widths = [object_width(category, extents)]
    if category == "slender" and section_width is not None:
        widths.append(float(section_width))
    fit = {k: p for k, p in table.items()
           if p > 0 and any(TAXONOMY[k].width_range[0] <= w <= TAXONOMY[k].width_range[1] for w in widths)}
    if not fit:
        fit = {k: p for k, p in table.items() if p > 0}
    total = sum(fit.values())
    return {k: p / total for k, p in fit.items()}


def choose_type(rng, probs):
    """Draw a grasp type name from {type: prob} (sorted names, so the draw is reproducible)."""
    names = sorted(probs)
    p = [probs[n] for n in names]
    s = sum(p)
    return names[int(rng.choice(len(names), p=[x / s for x in p]))]
