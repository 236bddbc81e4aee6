"""Asset and grasp preview sheets, the pure part: what to show, demo poses, framing, layout.

`hopgen assets preview` renders (hopgen.blender.asset_sheet) a sheet of every manifest object on a
turntable, every subject's hand open and in a fist, and synthesised grasps per category. Everything
that needs no Blender lives here: the list of cells to render, the open/fist hand poses, the camera
that frames a set of points, the grasp cases per category and the grid composition.
Pure module: numpy + standard library.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from hopgen.core import camera as cam
from hopgen.hand import kinematics as kin
from hopgen.core.skeleton import CATEGORIES

SECTIONS = ("objects", "hands", "grasps")
TURNTABLE_DEG = (0.0, 120.0, 240.0)
OBJECT_ELEVATION_DEG = 22.0
GRASPS_PER_CATEGORY = 6
PAD = 6


class SheetError(ValueError):
    """Bad preview-sheet options (names the option and the problem)."""


@dataclass
class SheetOptions:
    """How a sheet is rendered. size: tile edge in pixels; limit: at most this many objects /
    subjects / grasp cases per category (None: all); seed: object-shape and grasp seed."""
    what: tuple = ("objects", "hands")
    size: int = 160
    samples: int = 24
    denoise: bool = True
    limit: int = None
    seed: int = 0
    grasps_per_category: int = GRASPS_PER_CATEGORY

    def __post_init__(self):
        self.what = parse_what(self.what)
        if int(self.size) < 16:
            raise SheetError(f"--size must be >= 16 px, got {self.size}")
        if int(self.samples) < 1:
            raise SheetError(f"--samples must be >= 1, got {self.samples}")
        if self.limit is not None and int(self.limit) < 1:
            raise SheetError(f"--limit must be >= 1, got {self.limit}")
        if int(self.grasps_per_category) < 1:
            raise SheetError(f"grasps_per_category must be >= 1, got {self.grasps_per_category}")


def parse_what(what):
    """'objects,hands' or a sequence -> tuple of known section names, in SECTIONS order."""
    items = [w.strip() for w in what.split(",")] if isinstance(what, str) else [str(w).strip() for w in what]
    items = [w for w in items if w]
    bad = [w for w in items if w not in SECTIONS]
    if bad or not items:
        raise SheetError(f"--what: expected a comma-separated subset of {','.join(SECTIONS)}, got {what!r}")
    return tuple(s for s in SECTIONS if s in items)


# ----------------------------------------------------------------------------- demo hand poses

def _angles(**deg):
    a = kin.neutral_angles()
    for name, v in deg.items():
        a[kin.DOF_INDEX[name]] = math.radians(v)
    return kin.clamp_angles(a)


def open_hand_angles():
    """(NUM_DOF,) a relaxed open hand: fingers slightly spread and curled, thumb abducted."""
    d = dict(thumb_cmc_abd=35.0, thumb_cmc_flex=5.0, thumb_mcp_flex=5.0, thumb_ip_flex=8.0)
    for f, abd in zip(("index", "middle", "ring", "pinky"), (8.0, 0.0, 6.0, 12.0)):
        d.update({f"{f}_mcp_flex": 6.0, f"{f}_mcp_abd": abd, f"{f}_pip_flex": 10.0, f"{f}_dip_flex": 6.0})
    return _angles(**d)


def fist_angles():
    """(NUM_DOF,) a closed fist: long fingers at 90/108/85 deg, thumb folded over index and middle."""
    # Thumb tuned by eye on the sheet: abducted enough to clear the curled fingers, then flexed
    # across their middle phalanges.
    d = dict(thumb_cmc_flex=50.0, thumb_cmc_abd=35.0, thumb_cmc_roll=35.0, thumb_mcp_flex=55.0,
             thumb_ip_flex=40.0)
    for f in ("index", "middle", "ring", "pinky"):
        d.update({f"{f}_mcp_flex": 90.0, f"{f}_pip_flex": 108.0, f"{f}_dip_flex": 85.0})
    return _angles(**d)


# ----------------------------------------------------------------------------- framing

def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / max(np.linalg.norm(v), 1e-12)


def frame_points(points, direction, up, width, height, margin=0.07, distance_factor=3.2):
    """Camera (K, world_to_camera) looking along -`direction` at `points` (N,3) so they fill the image.

    The eye sits at `distance_factor` bounding radii from the points' box centre along `direction`;
    the focal length and principal point are then chosen so the projected points span the image
    inside `margin` (fraction of each side) and are centred. `up` appears up in the image.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(p) == 0 or not np.all(np.isfinite(p)):
        raise SheetError("frame_points: need a non-empty set of finite points")
    d = _unit(direction)
    centre = 0.5 * (p.min(0) + p.max(0))
    radius = max(float(np.linalg.norm(p - centre, axis=1).max()), 1e-3)
    up = np.asarray(up, dtype=np.float64)
    if abs(float(_unit(up) @ d)) > 0.98:  # looking along `up`: any perpendicular will do
        up = np.cross(d, [1.0, 0.0, 0.0] if abs(d[0]) < 0.9 else [0.0, 1.0, 0.0])
    w2c = cam.look_at(centre + distance_factor * radius * d, centre, up=up)
    q = cam.transform(w2c, p)
    x, y = q[:, 0] / q[:, 2], q[:, 1] / q[:, 2]  # normalised image coordinates
    span_x, span_y = max(x.max() - x.min(), 1e-9), max(y.max() - y.min(), 1e-9)
    f = min((1 - 2 * margin) * width / span_x, (1 - 2 * margin) * height / span_y)
    cx = (width - 1) / 2.0 - f * 0.5 * (x.min() + x.max())
    cy = (height - 1) / 2.0 - f * 0.5 * (y.min() + y.max())
    return cam.intrinsics(f, f, cx, cy), w2c


def turntable_direction(angle_deg, elevation_deg=OBJECT_ELEVATION_DEG):
    """(3,) unit vector from the object to the camera: azimuth `angle_deg` from the front (-y), raised."""
    az, el = math.radians(-90.0 - angle_deg), math.radians(elevation_deg)
    return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def hand_view_directions(side):
    """Hand-frame view directions (camera side) and up vectors {view: (dir (3,), up (3,))}.

    Hand frame: +y along the fingers, +z palmar, thumb on +x for a right hand (-x for a left one).
    """
    s = 1.0 if side == "right" else -1.0
    return {
        "palm": (_unit([0.15 * s, -0.1, 1.0]), np.array([0.0, 1.0, 0.0])),
        "back": (_unit([0.2 * s, -0.1, -1.0]), np.array([0.0, 1.0, 0.0])),
        "fist": (_unit([0.8 * s, 0.1, -0.55]), np.array([0.0, 1.0, 0.0])),
    }


def grasp_view_directions(side):
    """Two hand-frame views of a grasp: radial-palmar (thumb side) and ulnar-dorsal (pinky side)."""
    s = 1.0 if side == "right" else -1.0
    return (_unit([0.85 * s, -0.2, 0.55]), _unit([-0.7 * s, -0.2, -0.7]))


# ----------------------------------------------------------------------------- grasp cases

@dataclass
class GraspCase:
    """One grasp to synthesise and show: object (manifest name) x type x subject x side x seed."""
    category: str
    object_name: str
    grasp_type: str
    subject: str
    side: str
    seed: list = field(default_factory=list)

    def rng(self):
        return np.random.default_rng(self.seed)


def grasp_cases(objects, subjects, type_table, per_category=GRASPS_PER_CATEGORY, seed=0):
    """Grasp cases spread over objects and grasp types of each category.

    objects: [(name, category)] in manifest order; subjects: subject ids (cycled); type_table:
    {object name: {type: prob}} (the types that suit each object). Per category, `per_category`
    objects are picked evenly (repeating when there are fewer), and each takes its most likely
    type not yet shown for the category (its most likely one when all were). Sides alternate
    right, right, left. Deterministic in its inputs.
    """
    cases = []
    k = 0
    for cat in CATEGORIES:
        names = [n for n, c in objects if c == cat]
        if not names:
            continue
        used = set()
        for i in range(per_category):
            name = names[(i * len(names)) // per_category]
            ranked = sorted(type_table[name].items(), key=lambda kv: (-kv[1], kv[0]))
            fresh = [t for t, _ in ranked if t not in used]
            gtype = (fresh or [t for t, _ in ranked])[0]
            used.add(gtype)
            cases.append(GraspCase(cat, name, gtype, subjects[k % len(subjects)],
                                   "left" if i % 3 == 2 else "right", [int(seed), 7001, k]))
            k += 1
    return cases


# ----------------------------------------------------------------------------- layout

@dataclass
class Cell:
    """Tiles shown side by side ((H,W,3) uint8 each, same size) over a caption image (h,w,3)."""
    tiles: list
    caption: np.ndarray


@dataclass
class Section:
    """A header image (h,w,3) over a grid of cells, `columns` cells per row."""
    header: np.ndarray
    cells: list
    columns: int


def _pad_width(img, width, bg):
    if img.shape[1] >= width:
        return img[:, :width]
    extra = np.full((img.shape[0], width - img.shape[1], 3), bg, np.uint8)
    return np.concatenate([img, extra], axis=1)


def compose(sections, pad=PAD, bg=255):
    """Stack sections into one sheet. Returns (sheet (H,W,3) uint8, boxes) where boxes lists,
    per section, per cell, per tile, the (y0, x0, y1, x1) pixel box of that tile in the sheet."""
    if not sections:
        raise SheetError("compose: nothing to show")
    blocks, boxes = [], []
    for sec in sections:
        if not sec.cells:
            raise SheetError("compose: a section has no cells")
        th, tw = sec.cells[0].tiles[0].shape[:2]
        nt = max(len(c.tiles) for c in sec.cells)
        cap_h = max(c.caption.shape[0] for c in sec.cells)
        cell_w = nt * tw + (nt - 1) * pad
        cols = max(1, min(int(sec.columns), len(sec.cells)))
        grid_w = cols * cell_w + (cols + 1) * pad
        rows = []
        sec_boxes = []
        y = sec.header.shape[0] + pad
        for r in range(0, len(sec.cells), cols):
            row = np.full((th + cap_h + pad, grid_w, 3), bg, np.uint8)
            for c, cell in enumerate(sec.cells[r:r + cols]):
                x0 = pad + c * (cell_w + pad)
                cell_boxes = []
                for t, tile in enumerate(cell.tiles):
                    if tile.shape[:2] != (th, tw):
                        raise SheetError(f"compose: tile of shape {tile.shape} in a section of {th}x{tw} tiles")
                    xt = x0 + t * (tw + pad)
                    row[:th, xt:xt + tw] = tile
                    cell_boxes.append((y, xt, y + th, xt + tw))
                cap = _pad_width(cell.caption, cell_w, bg)
                row[th:th + cap.shape[0], x0:x0 + cell_w] = cap
                sec_boxes.append(cell_boxes)
            rows.append(row)
            y += row.shape[0]
        blocks.append((sec.header, rows, grid_w))
        boxes.append(sec_boxes)
    width = max(b[2] for b in blocks)  # headers are cropped to the grid
    parts, offset = [], 0
    for (header, rows, _), sec_boxes in zip(blocks, boxes):
        for cell_boxes in sec_boxes:  # shift to the sheet's y
            cell_boxes[:] = [(y0 + offset, x0, y1 + offset, x1) for y0, x0, y1, x1 in cell_boxes]
        block = [_pad_width(header, width, bg), np.full((pad, width, 3), bg, np.uint8)]
        block += [_pad_width(r, width, bg) for r in rows]
        h = sum(b.shape[0] for b in block)
        parts += block
        offset += h
    return np.concatenate(parts, axis=0), boxes


def downscale(img, factor):
    """Box-filter downscale of an (H,W,3) uint8 image by an integer factor (for size-capped copies)."""
    f = int(factor)
    if f <= 1:
        return img
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    a = img[:h, :w].astype(np.float32).reshape(h // f, f, w // f, f, -1).mean(axis=(1, 3))
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)
