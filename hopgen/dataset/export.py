"""`hopgen export`: write a HOP dataset in other layouts.

rhd: the Rendered Hand Dataset layout of Zimmermann & Brox (hand3d code): color/ID.png,
mask/ID.png and anno_<split>.pickle with per-sample dicts {uv_vis (42,3), xyz (42,3), K (3,3)}
in RHD joint order; the HOP hand fills the left-hand slots 0-20 or the right-hand slots 21-41 and
the other hand is marked invisible. Mask values: 0 background, 1 person, 2.. hand parts (RHD uses
2-17 for the left and 18-33 for the right hand; here palm + phalanges map onto those ranges).
"""

import os
import pickle
import shutil

import numpy as np

from hopgen.core.atomic import atomic_write_bytes
from hopgen.dataset.hopformat import HopDataset, sample_path
from hopgen.core.pngio import encode_png
from hopgen.core.skeleton import HAND_LABELS, RHD_FROM_NATIVE, SEG_ARM, VIS_VISIBLE


def _rhd_mask(seg, side):
    out = np.zeros(seg.shape, np.uint8)
    out[seg == SEG_ARM] = 1
    base = 2 if side == "left" else 18
    for k, label in enumerate(HAND_LABELS):  # 16 labels -> RHD's 16 per hand
        out[seg == label] = base + k
    return out


def export_rhd(root, out, split="train"):
    ds = HopDataset(root)
    ids = ds.split(split)
    os.makedirs(os.path.join(out, "color"), exist_ok=True)
    os.makedirs(os.path.join(out, "mask"), exist_ok=True)
    annos = {}
    for n, sid in enumerate(ids):
        a = ds.annotation(sid)
        side = a["hand"]["side"]
        uv = np.asarray(a["hand"]["uv"])[list(RHD_FROM_NATIVE)]
        xyz = np.asarray(a["hand"]["xyz"])[list(RHD_FROM_NATIVE)]
        vis = (np.asarray(a["hand"]["visibility"])[list(RHD_FROM_NATIVE)] == VIS_VISIBLE).astype(np.float32)
        uv_vis = np.zeros((42, 3), np.float32)
        xyz42 = np.zeros((42, 3), np.float32)
        off = 0 if side == "left" else 21
        uv_vis[off:off + 21, :2], uv_vis[off:off + 21, 2], xyz42[off:off + 21] = uv, vis, xyz
        annos[n] = {"uv_vis": uv_vis, "xyz": xyz42, "K": np.asarray(a["camera"]["K"], np.float32), "hop_id": sid}
        name = f"{n:05d}.png"
        shutil.copyfile(sample_path(ds.root, "rgb", sid), os.path.join(out, "color", name))
        atomic_write_bytes(os.path.join(out, "mask", name), encode_png(_rhd_mask(ds.image("seg", sid), side)))
    atomic_write_bytes(os.path.join(out, f"anno_{split}.pickle"), pickle.dumps(annos, protocol=4))
    return len(ids)
