"""Per-joint visibility from the visible segmentation (the rule `hopgen validate` checks too).

A joint inside the image is visible (0) when the label at its pixel is one of the hand parts that
meet at that joint (skeleton.labels_at_joint) or nothing at all (thin fingertips at silhouettes:
nothing occludes them); hidden by the object (1) when the grasped object is seen there; hidden by
the hand/arm/body (2) when another hand part or the arm/body is seen there; hidden by the
surroundings (4) when the table, backdrop, a distractor or an accessory is seen there. The last
needs the annotation pass's SEG_SURROUNDINGS label, which seg PNGs write as background
(seg_for_file); `hopgen validate` therefore accepts 4 where the seg PNG shows background and
checks separately that every visible joint has a hand pixel near it (visible_without_hand).
"""

import numpy as np

from hopgen.core.skeleton import (HAND_LABELS, NUM_JOINTS, SEG_ARM, SEG_BACKGROUND, SEG_OBJECT, SEG_SURROUNDINGS,
                                  VIS_OBJECT, VIS_OUTSIDE, VIS_SELF, VIS_SURROUNDINGS, VIS_VISIBLE,
                                  labels_at_joint)

HAND_PIXEL_RADIUS_PX = 3  # a visible joint has a hand pixel within this many pixels (validate)


def joint_pixels(uv):
    """Integer pixel of each (N,2) uv (pixel centres at integer coordinates)."""
    return np.floor(np.asarray(uv, dtype=np.float64) + 0.5).astype(np.int64)


def inside_image(uv, width, height):
    px = joint_pixels(uv)
    return (px[:, 0] >= 0) & (px[:, 0] < width) & (px[:, 1] >= 0) & (px[:, 1] < height)


def classify_label(joint, label):
    """Visibility code of `joint` when `label` (annotation-pass label) is seen at its pixel."""
    if label in labels_at_joint(joint) or label == SEG_BACKGROUND:
        return VIS_VISIBLE
    if label == SEG_OBJECT:
        return VIS_OBJECT
    if label == SEG_SURROUNDINGS:
        return VIS_SURROUNDINGS
    return VIS_SELF  # another hand part, or SEG_ARM / body


def compute_visibility(uv, seg):
    """(21,) int visibility codes from (21,2) uv and the (H,W) label image (annotation pass, or a
    seg PNG: there surroundings read as background)."""
    seg = np.asarray(seg)
    h, w = seg.shape
    inside = inside_image(uv, w, h)
    px = joint_pixels(uv)
    vis = np.full(NUM_JOINTS, VIS_OUTSIDE, dtype=np.int64)
    for j in range(NUM_JOINTS):
        if inside[j]:
            vis[j] = classify_label(j, int(seg[px[j, 1], px[j, 0]]))
    return vis


def seg_for_file(labels):
    """The seg PNG labels (docs/format.md) of an annotation-pass label image: surroundings -> 0."""
    labels = np.asarray(labels)
    return np.where(labels == SEG_SURROUNDINGS, SEG_BACKGROUND, labels).astype(np.uint8)


def visible_without_hand(uv, vis, seg, radius=HAND_PIXEL_RADIUS_PX):
    """Indices of joints coded visible (0) with no hand pixel (palm or phalanx label) within
    `radius` pixels of their pixel: a hand hidden by something the labels call background."""
    seg = np.asarray(seg)
    h, w = seg.shape
    hand = np.isin(seg, HAND_LABELS)
    px = joint_pixels(uv)
    bad = []
    for j in np.nonzero(np.asarray(vis) == VIS_VISIBLE)[0]:
        x, y = px[j]
        win = hand[max(y - radius, 0):min(y + radius + 1, h), max(x - radius, 0):min(x + radius + 1, w)]
        if not win.any():
            bad.append(int(j))
    return bad


__all__ = ["compute_visibility", "classify_label", "inside_image", "joint_pixels", "seg_for_file",
           "visible_without_hand", "SEG_ARM"]
