"""`hopgen preview`: a contact sheet per sample: image | skeleton overlay | masks | visible seg."""

import numpy as np

from hopgen.core.atomic import atomic_write_bytes
from hopgen.core.draw import colourise_seg, draw_skeleton
from hopgen.dataset.hopformat import HopDataset
from hopgen.core.pngio import encode_png


def _resize_nearest(img, size):
    h, w = img.shape[:2]
    ys = (np.arange(size) * h / size).astype(int)
    xs = (np.arange(size) * w / size).astype(int)
    return img[ys][:, xs]


def sample_row(ds, sid, tile):
    anno = ds.annotation(sid)
    rgb = ds.image("rgb", sid)
    over = rgb.copy()
    draw_skeleton(over, np.asarray(anno["hand"]["uv"]), anno["hand"]["visibility"])
    masks = (rgb * 0.35).astype(np.uint8)
    hand, obj = ds.image("hand_mask", sid), ds.image("object_mask", sid)
    masks[hand] = (masks[hand] * 0.4 + np.array([255, 80, 60]) * 0.6).astype(np.uint8)
    masks[obj] = (masks[obj] * 0.4 + np.array([60, 140, 255]) * 0.6).astype(np.uint8)
    both = hand & obj
    masks[both] = (200, 90, 230)
    seg = colourise_seg(ds.image("seg", sid))
    return np.concatenate([_resize_nearest(x, tile) for x in (rgb, over, masks, seg)], axis=1)


def contact_sheet(root, out_path, ids=None, max_samples=16, tile=192, columns=2):
    """Write a PNG sheet of up to `max_samples` samples (4 tiles each); returns the ids shown."""
    ds = HopDataset(root)
    ids = list(ids or ds.ids)[:max_samples]
    if not ids:
        raise ValueError(f"{root}: no samples to preview")
    rows = []
    for sid in ids:
        with ds.reading(sid):  # a missing/malformed field names the sample's file
            rows.append(sample_row(ds, sid, tile))
    pad = 4
    blank = np.full_like(rows[0], 255)
    while len(rows) % columns:
        rows.append(blank)
    grid_rows = []
    for r in range(0, len(rows), columns):
        parts = []
        for c in range(columns):
            parts.append(rows[r + c])
            if c < columns - 1:
                parts.append(np.full((rows[0].shape[0], pad, 3), 255, np.uint8))
        grid_rows.append(np.concatenate(parts, axis=1))
        grid_rows.append(np.full((pad, grid_rows[-1].shape[1], 3), 255, np.uint8))
    sheet = np.concatenate(grid_rows[:-1], axis=0)
    atomic_write_bytes(out_path, encode_png(sheet))
    return ids
