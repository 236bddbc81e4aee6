"""Figures for evaluation reports: PCK curves and latent-space plots (matplotlib, Agg) and keypoint
overlays (Pillow)."""

import numpy as np
from PIL import Image, ImageDraw

from hopgen.core.skeleton import BONES, CATEGORIES, FINGER_COLOURS, WRIST_COLOUR, finger_of_joint


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


def plot_latent(mu, labels, centres, path, title, max_points=2000, seed=0):
    """Like the paper's Fig. 3: the latents mu (N, D) projected by PCA to 2D, points coloured by
    object category labels (N,), centres (M, D) as black crosses (NaN rows skipped). At most
    max_points points (a seeded subset) are drawn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    mu, labels = np.asarray(mu, np.float64), np.asarray(labels)
    if len(mu) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(mu), max_points, replace=False))
        mu, labels = mu[keep], labels[keep]
    mean = mu.mean(0)
    _, _, vt = np.linalg.svd(mu - mean, full_matrices=False)
    basis = vt[:2].T if vt.shape[0] >= 2 else np.eye(mu.shape[1], 2)  # (D, 2)
    p = (mu - mean) @ basis                                               # (N, 2)
    fig, ax = plt.subplots(figsize=(4.5, 4.0), dpi=110)
    for c, name in enumerate(CATEGORIES):
        sel = labels == c
        if sel.any():
            ax.scatter(p[sel, 0], p[sel, 1], s=8, alpha=0.7, label=name)
    cs = np.asarray(centres, np.float64)
    cs = cs[np.all(np.isfinite(cs), axis=1)]
    if len(cs):
        q = (cs - mean) @ basis
        ax.scatter(q[:, 0], q[:, 1], marker="x", s=60, c="k", label="centres")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize=7)
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
