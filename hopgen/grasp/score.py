"""Grasp quality: contacts per hand part, penetration, thumb opposition, whether the object is held.

All measurements use skin points of the posed hand (object frame) and the object's signed
distance. A part (palm or phalanx) is in contact when its closest skin point is within
CONTACT_DIST of the surface (penetrating points count as touching).
"""

from dataclasses import dataclass, field

import numpy as np

from hopgen.core.skeleton import FINGER_NAMES, SEG_PALM, seg_phalanx

CONTACT_DIST = 0.003  # m
MAX_PENETRATION = 0.002  # m
OPPOSED_COS = -0.3  # two contact normals oppose each other when their cosine is below this
SEGMENT_NAMES = ("proximal", "middle", "distal")


def _part_name(label):
    if label == SEG_PALM:
        return "palm", "palm"
    k = label - seg_phalanx(0, 0)
    return FINGER_NAMES[k // 3], SEGMENT_NAMES[k % 3]


def sdf_normals(sdf, points, h=2e-4):
    """Unit outward normals (N, 3) of the surface near `points` from central differences."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(points) == 0:
        return np.zeros((0, 3))
    off = np.concatenate([np.eye(3), -np.eye(3)]) * h  # (6, 3)
    d = sdf((points[:, None, :] + off[None]).reshape(-1, 3)).reshape(-1, 6)
    g = d[:, :3] - d[:, 3:]
    n = np.linalg.norm(g, axis=1, keepdims=True)
    return np.where(n > 0, g / np.maximum(n, 1e-30), 0.0)


@dataclass
class Quality:
    """Measured quality of one grasp."""

    contacts: list  # [{finger, segment, label, point (object frame), distance}]
    fingers_in_contact: list  # finger names
    palm_contact: bool
    max_penetration_mm: float
    thumb_opposition: float  # 0..1 (1: thumb normal exactly opposes a finger's)
    held: bool  # some two contact normals oppose each other
    score: float = 0.0
    normals: np.ndarray = field(default=None, repr=False)


def measure(points, labels, sdf, distances=None):
    """Quality of a posed hand: points (P, 3) in the object frame with seg labels (P,).

    distances (P,): sdf(points) when the caller has it already (saves the query)."""
    d = sdf(points) if distances is None else np.asarray(distances, dtype=np.float64)
    contacts, idx = [], []
    for label in np.unique(labels):
        sel = np.nonzero(labels == label)[0]
        i = sel[np.argmin(d[sel])]
        if d[i] < CONTACT_DIST:
            finger, segment = _part_name(int(label))
            contacts.append({"finger": finger, "segment": segment, "label": int(label),
                             "point": [float(x) for x in points[i]], "distance": float(d[i])})
            idx.append(i)
    normals = sdf_normals(sdf, points[idx]) if idx else np.zeros((0, 3))
    fingers = sorted({c["finger"] for c in contacts if c["finger"] != "palm"}, key=FINGER_NAMES.index)
    cos = normals @ normals.T if len(normals) else np.zeros((0, 0))
    owner = [c["finger"] for c in contacts]
    held = any(cos[i, j] < OPPOSED_COS and owner[i] != owner[j]
               for i in range(len(owner)) for j in range(i + 1, len(owner)))
    thumb = [i for i, o in enumerate(owner) if o == "thumb"]
    other = [i for i, o in enumerate(owner) if o not in ("thumb",)]
    opp = float(max((-cos[i, j] for i in thumb for j in other), default=0.0))
    pen = float(max(0.0, -d.min())) * 1000.0
    q = Quality(contacts, fingers, any(o == "palm" for o in owner), pen, max(0.0, opp), held, 0.0, normals)
    q.score = float(np.clip(0.45 * min(1.0, len(fingers) / 5.0) + 0.25 * q.thumb_opposition
                            + 0.15 * q.held + 0.15 * (1.0 - min(1.0, pen / (MAX_PENETRATION * 1000))), 0, 1))
    return q


def rejection_reason(quality, gtype, within_limits):
    """None when a grasp is acceptable, else a short reason string."""
    if not within_limits:
        return "joint_limits"
    if quality.max_penetration_mm > MAX_PENETRATION * 1000.0:
        return "penetration"
    if len(quality.fingers_in_contact) < gtype.min_fingers:
        return "too_few_fingers_in_contact"
    # A precision grasp is held between the thumb pad and the finger pads: without the thumb
    # touching, the object merely rests against fingers from one side (seen on the grasp sheet:
    # a spoon wedged between index and middle, a ball touched by three fingertips only).
    if not gtype.power and "thumb" not in quality.fingers_in_contact:
        return "no_thumb_opposition"
    if not quality.held:
        return "not_held"
    return None
