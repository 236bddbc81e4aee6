"""Figures for evaluation reports: PCK curves (matplotlib, Agg) and keypoint overlays (Pillow)."""

import numpy as np
from PIL import Image, ImageDraw

from hopgen.skeleton import BONES, FINGER_COLOURS, WRIST_COLOUR, finger_of_joint


def plot_pck(curves, path, xlabel="error threshold (px)"):
    """curves: {label: (thresholds (T,), pck (T,))} -> PNG at `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.5), dpi=120)
    for label, (t, pck) in curves.items():
        ax.plot(t, pck, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("PCK")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _colour(j):
    f = finger_of_joint(j)
    return WRIST_COLOUR if f < 0 else FINGER_COLOURS[f]


def overlay(rgb, uv_pred, uv_gt=None, mask=None):
    """(H,W,3) uint8 with the predicted skeleton (finger colours), GT joints as white crosses and an
    optional mask tinted red."""
    img = np.asarray(rgb, dtype=np.float32).copy()
    if mask is not None:
        m = np.asarray(mask, bool)
        img[m] = 0.6 * img[m] + 0.4 * np.array([255.0, 0, 0])
    im = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    r = max(1, min(im.size) // 100)
    if uv_gt is not None:
        for u, v in np.asarray(uv_gt):
            d.line([(u - 2 * r, v), (u + 2 * r, v)], fill=(255, 255, 255))
            d.line([(u, v - 2 * r), (u, v + 2 * r)], fill=(255, 255, 255))
    p = np.asarray(uv_pred)
    for a, b in BONES:
        d.line([tuple(p[a]), tuple(p[b])], fill=_colour(b), width=r)
    for j, (u, v) in enumerate(p):
        d.ellipse([u - r, v - r, u + r, v + r], fill=_colour(j))
    return np.asarray(im)


def save_grid(images, path, cols=4, size=160):
    """Tile (H,W,3) uint8 images (resized to size x size) into one PNG."""
    if not images:
        return
    cols = min(cols, len(images))
    rows = (len(images) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * size, rows * size))
    for i, img in enumerate(images):
        tile = Image.fromarray(img).resize((size, size), Image.BILINEAR)
        sheet.paste(tile, ((i % cols) * size, (i // cols) * size))
    sheet.save(path)
