"""Per-joint visibility from the visible segmentation (the rule `hopgen validate` checks too).

A joint inside the image is visible when the seg label at its pixel is one of the hand parts that
meet at that joint (skeleton.labels_at_joint) or any hand part of the same finger/palm region next to
it; hidden by the object when the grasped object is seen there; hidden by the hand/arm/body when
another hand part or the arm/body is seen there. Joints whose pixel is background (thin fingertips
at silhouettes) count as visible: nothing occludes them.
"""

import numpy as np

from hopgen.core.skeleton import (NUM_JOINTS, SEG_ARM, SEG_BACKGROUND, SEG_OBJECT, VIS_OBJECT, VIS_OUTSIDE,
                       VIS_SELF, VIS_VISIBLE, labels_at_joint)


def joint_pixels(uv):
    """Integer pixel of each (N,2) uv (pixel centres at integer coordinates)."""
    return np.floor(np.asarray(uv, dtype=np.float64) + 0.5).astype(np.int64)


def inside_image(uv, width, height):
    px = joint_pixels(uv)
    return (px[:, 0] >= 0) & (px[:, 0] < width) & (px[:, 1] >= 0) & (px[:, 1] < height)


def classify_label(joint, label):
    """Visibility code of `joint` when `label` is seen at its pixel."""
    if label in labels_at_joint(joint) or label == SEG_BACKGROUND:
        return VIS_VISIBLE
    if label == SEG_OBJECT:
        return VIS_OBJECT
    return VIS_SELF  # another hand part, or SEG_ARM / body


def compute_visibility(uv, seg):
    """(21,) int visibility codes from (21,2) uv and the (H,W) seg label image."""
    seg = np.asarray(seg)
    h, w = seg.shape
    inside = inside_image(uv, w, h)
    px = joint_pixels(uv)
    vis = np.full(NUM_JOINTS, VIS_OUTSIDE, dtype=np.int64)
    for j in range(NUM_JOINTS):
        if inside[j]:
            vis[j] = classify_label(j, int(seg[px[j, 1], px[j, 0]]))
    return vis


__all__ = ["compute_visibility", "classify_label", "inside_image", "joint_pixels", "SEG_ARM"]
