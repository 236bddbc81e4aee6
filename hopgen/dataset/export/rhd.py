"""RHD export: the Rendered Hand Pose Dataset layout (Zimmermann & Brox), as hand3d's
create_binary_db.py and data/BinaryDbReader.py read it.

    OUT/training/anno_training.pickle      (split train)     OUT/evaluation/anno_evaluation.pickle (val, test)
    OUT/<set>/color/%05d.png   RGB, 320x320 by default (hand3d hard-codes 320x320; --size changes it, K follows)
    OUT/<set>/mask/%05d.png    uint8 parts: 0 background, 1 person, 2-4 left thumb (tip to palm),
                               5-7 left index, ..., 14-16 left pinky, 17 left palm; 18-33 the same for the right hand
    OUT/<set>/depth/%05d.png   (when the HOP set has depth) RGB-coded: metres = (R * 256 + G) / 65535 * 5;
                               no surface and anything beyond 5 m -> 5 m
    anno_<set>.pickle          {index: {"uv_vis": (42, 3) float32 u, v, visible (1/0), "xyz": (42, 3) metres,
                               "K": (3, 3), "hop_id": str}}, joints 0-20 left hand, 21-41 right, RHD order

The HOP hand fills its side's slots; the other hand's slots are zero and invisible and it has no
mask pixels. hand3d picks the left hand only when it has more mask pixels than the right one, so
a left hand with no visible pixel would be read as the (empty) right hand: such samples are left
out and listed in the summary (`skipped`).
"""

import pickle

import numpy as np

from hopgen.core.skeleton import RHD_FROM_NATIVE, SEG_ARM, SEG_PALM, VIS_VISIBLE, seg_phalanx
from hopgen.dataset.export.samples import encode_png_bytes, finite

DEFAULT_SIZE = (320, 320)
RHD_SET = {"train": "training", "val": "evaluation", "test": "evaluation"}
DEPTH_MAX_M = 5.0
PERSON = 1
LEFT_BASE, RIGHT_BASE = 2, 18  # first label of each hand (its thumb tip phalanx)


def rhd_set(split):
    return RHD_SET[split]


def entries(split):
    return [rhd_set(split)]


def part_lut(side):
    """(256,) uint8: HOP seg label -> RHD mask label for a hand of `side`."""
    base = LEFT_BASE if side == "left" else RIGHT_BASE
    lut = np.zeros(256, np.uint8)
    lut[SEG_ARM] = PERSON
    lut[SEG_PALM] = base + 15
    for f in range(5):
        for s in range(3):  # HOP: s = 0 proximal .. 2 distal; RHD counts from the tip
            lut[seg_phalanx(f, s)] = base + 3 * f + (2 - s)
    return lut


def encode_depth(depth_mm):
    """(H, W) uint16 mm -> (H, W, 3) uint8 in RHD's coding (top byte R, bottom byte G)."""
    d = np.asarray(depth_mm, np.float64) / 1000.0
    d = np.where(d > 0, d, DEPTH_MAX_M)
    code = np.clip(np.round(d / DEPTH_MAX_M * 65535.0), 0, 65535).astype(np.uint16)
    out = np.zeros(code.shape + (3,), np.uint8)
    out[..., 0], out[..., 1] = code >> 8, code & 0xFF
    return out


def annotation(sample):
    perm = list(RHD_FROM_NATIVE)
    off = 0 if sample.side == "left" else 21
    uv_vis = np.zeros((42, 3), np.float32)
    xyz = np.zeros((42, 3), np.float32)
    uv_vis[off:off + 21, :2] = finite(sample.uv, f"sample {sample.sid}: hand.uv")[perm]
    uv_vis[off:off + 21, 2] = (sample.vis[perm] == VIS_VISIBLE)
    xyz[off:off + 21] = finite(sample.xyz, f"sample {sample.sid}: hand.xyz")[perm]
    return {"uv_vis": uv_vis, "xyz": xyz, "K": finite(sample.K, f"sample {sample.sid}: camera.K").astype(np.float32),
            "hop_id": sample.sid}


def write(stage, split, samples, ds, **_):
    name = rhd_set(split)
    annos, skipped, with_depth = {}, [], None
    for sample in samples:
        mask = part_lut(sample.side)[sample.seg]
        left = int(((mask >= LEFT_BASE) & (mask < RIGHT_BASE)).sum())
        right = int((mask >= RIGHT_BASE).sum())
        if sample.side == "left" and not left > right:  # hand3d's rule would pick the right hand
            skipped.append(sample.sid)
            continue
        if with_depth is None:
            with_depth = sample.depth is not None
        n = len(annos)
        annos[n] = annotation(sample)
        stage.write(f"{name}/color/{n:05d}.png", encode_png_bytes(sample.rgb))
        stage.write(f"{name}/mask/{n:05d}.png", encode_png_bytes(mask))
        if with_depth:
            if sample.depth is None:
                raise ValueError(f"sample {sample.sid}: no depth/ image while other samples have one")
            stage.write(f"{name}/depth/{n:05d}.png", encode_png_bytes(encode_depth(sample.depth)))
    # Protocol 4 (Python >= 3.4): bytes are stored as bytes, so the pickle needs no global but numpy's
    # array reconstruction (protocol 2 would reference _codecs.encode, which a restricted unpickler refuses).
    stage.write(f"{name}/anno_{name}.pickle", pickle.dumps(annos, protocol=4))
    return {"samples": len(annos), "skipped": skipped, "depth": bool(with_depth), "folder": name}
