"""The test-time hand box of the full-image pipeline, as hand3d computes it (numpy only).

hand3d (Zimmermann & Brox) keeps only the object of the hand score map that contains the score
maximum (`single_obj_scoremap`: start at the arg-max and grow by repeated 21x21 dilation AND the
thresholded map, so foreground pixels closer than 10 px link up), then takes the box around it
(`calc_center_bb`); the crop is centred on the box with side box_scale x its longer side. Both
methods use this rule, each on its own mask: HandSegNet's visible-hand scores for HS-PoseNet,
p_h's complete (amodal) mask for ours.
"""

import numpy as np


def _dilate(mask, r):
    """Binary dilation of a (H, W) bool mask by a (2r+1) x (2r+1) square (separable sliding max)."""
    if r <= 0:
        return mask.copy()
    h, w = mask.shape
    p = np.pad(mask, r)
    rows = np.zeros((h + 2 * r, w), bool)
    for d in range(2 * r + 1):
        rows |= p[:, d:d + w]
    out = np.zeros((h, w), bool)
    for d in range(2 * r + 1):
        out |= rows[d:d + h]
    return out


def single_object(scores, radius, threshold=0.0):
    """(H, W) bool: the foreground (scores > threshold) object that holds the arg-max of `scores`,
    foreground pixels within `radius` px (Chebyshev) of each other counting as connected (hand3d's
    single_obj_scoremap). All False when the maximum is not foreground."""
    scores = np.asarray(scores, dtype=np.float64)
    fg = scores > threshold
    obj = np.zeros_like(fg)
    iy, ix = np.unravel_index(int(np.argmax(scores)), scores.shape)
    if not fg[iy, ix]:
        return obj
    obj[iy, ix] = True
    r = max(0, int(round(radius)))
    while True:
        grown = _dilate(obj, r) & fg if r > 0 else _grow4(obj) & fg
        if np.array_equal(grown, obj):
            return obj
        obj = grown


def _grow4(mask):
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def object_box(scores, radius, threshold=0.0):
    """(x0, y0, x1, y1) in the scores' pixels of single_object(scores, radius), or None if it is empty."""
    obj = single_object(scores, radius, threshold)
    ys, xs = np.nonzero(obj)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float64)


def view_link_radius(link_px, view_side):
    """eval.link_px (px of hand3d's 320-px whole image) in px of a whole-image segmentation view of
    `view_side` px (the whole image resized to it): link_px * view_side / 320."""
    return float(link_px) * float(view_side) / 320.0
