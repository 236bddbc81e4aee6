"""Tiny numpy raster helpers for previews and overlays: lines, discs, the coloured hand skeleton."""

import numpy as np

from hopgen.core.skeleton import BONES, FINGER_COLOURS, WRIST_COLOUR, finger_of_joint


def draw_disc(img, centre, radius, colour):
    h, w = img.shape[:2]
    cx, cy = centre
    x0, x1 = int(max(np.floor(cx - radius), 0)), int(min(np.ceil(cx + radius) + 1, w))
    y0, y1 = int(max(np.floor(cy - radius), 0)), int(min(np.ceil(cy + radius) + 1, h))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius ** 2
    img[y0:y1, x0:x1][inside] = colour


def draw_line(img, a, b, colour, width=1.0):
    """A line of the given width from a to b (pixel coordinates, pixel centres at integers)."""
    h, w = img.shape[:2]
    a, b = np.asarray(a, float), np.asarray(b, float)
    r = width / 2.0
    x0, x1 = int(max(np.floor(min(a[0], b[0]) - r), 0)), int(min(np.ceil(max(a[0], b[0]) + r) + 1, w))
    y0, y1 = int(max(np.floor(min(a[1], b[1]) - r), 0)), int(min(np.ceil(max(a[1], b[1]) + r) + 1, h))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    p = np.stack([xx, yy], -1).astype(float)
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-12), 0, 1)
    d = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)
    img[y0:y1, x0:x1][d <= r] = colour


def draw_skeleton(img, uv, visibility=None, width=None):
    """Draw the 21-joint skeleton coloured per finger; hidden joints as hollow-looking small dots."""
    size = max(img.shape[:2])
    width = width or max(1.0, size / 160.0)
    for parent, child in BONES:
        draw_line(img, uv[parent], uv[child], FINGER_COLOURS[finger_of_joint(child)], width)
    for j, p in enumerate(uv):
        colour = WRIST_COLOUR if j == 0 else FINGER_COLOURS[finger_of_joint(j)]
        hidden = visibility is not None and visibility[j] != 0
        draw_disc(img, p, width * (1.2 if hidden else 2.0), (0, 0, 0) if hidden else colour)
    return img


SEG_PALETTE = np.array([[0, 0, 0], [40, 120, 255], [150, 150, 150], [255, 255, 255]]
                       + [list(c) for c in FINGER_COLOURS for _ in range(3)], dtype=np.uint8)
# Darken proximal -> distal so the three phalanges of one finger differ.
SEG_PALETTE[4:] = (SEG_PALETTE[4:] * np.tile([1.0, 0.75, 0.5], 5)[:, None]).astype(np.uint8)


def colourise_seg(seg):
    return SEG_PALETTE[np.clip(seg, 0, len(SEG_PALETTE) - 1)]
