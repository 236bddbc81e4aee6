"""HOP format v1: the on-disk contract between the generator and the trainer (docs/format.md).

    DATASET/dataset.json, rgb/ID.png, hand_mask/ID.png, object_mask/ID.png, seg/ID.png,
    depth/ID.png (optional), anno/ID.json, splits/{train,val,test}.txt, index.jsonl

`HopWriter` writes every file atomically and the annotation last, so a sample exists exactly when
its annotation exists. `HopDataset` reads a dataset (Pillow is used for decoding when present,
the pure-numpy codec otherwise).
"""

import json
import os

import numpy as np

from hopgen import FORMAT
from hopgen.core.atomic import atomic_write_bytes, atomic_write_json, cleanup_temporaries
from hopgen.core.pngio import encode_png, read_png

IMAGE_KINDS = ("rgb", "hand_mask", "object_mask", "seg", "depth")
SPLITS = ("train", "val", "test")
ID_DIGITS = 8


class HopFormatError(ValueError):
    """A dataset folder or file that breaks the HOP v1 contract."""


def sample_id(index):
    """Zero-padded 8-digit id of sample number `index`."""
    index = int(index)
    if not 0 <= index < 10 ** ID_DIGITS:
        raise ValueError(f"sample index {index} out of range")
    return f"{index:0{ID_DIGITS}d}"


def _check_id(sid):
    if not (isinstance(sid, str) and len(sid) == ID_DIGITS and sid.isdigit()):
        raise HopFormatError(f"bad sample id {sid!r}: expected {ID_DIGITS} digits")
    return sid


def sample_path(root, kind, sid):
    ext = "json" if kind == "anno" else "png"
    return os.path.join(root, kind, f"{_check_id(sid)}.{ext}")


class HopWriter:
    """Writes samples into a HOP v1 folder; removes leftovers of killed runs on open."""

    def __init__(self, root):
        self.root = os.fspath(root)
        os.makedirs(os.path.join(self.root, "anno"), exist_ok=True)
        cleanup_temporaries(self.root)

    def is_done(self, sid):
        return os.path.exists(sample_path(self.root, "anno", sid))

    def write_dataset_json(self, meta):
        atomic_write_json(os.path.join(self.root, "dataset.json"), dict(meta, format=FORMAT), indent=2)

    def write_sample(self, sid, anno, rgb, hand_mask, object_mask, seg, depth=None):
        """Write one sample. rgb (H,W,3) uint8, or the path of a finished RGB PNG on the same file
        system (moved into place, e.g. straight from Blender); masks (H,W) bool/uint8 (nonzero =
        inside); seg (H,W) uint8 labels; depth (H,W) uint16 mm or None. The annotation goes last."""
        h, w = np.asarray(seg).shape[:2]
        images = {"hand_mask": (np.asarray(hand_mask) > 0).astype(np.uint8) * 255,
                  "object_mask": (np.asarray(object_mask) > 0).astype(np.uint8) * 255,
                  "seg": np.asarray(seg, np.uint8)}
        if depth is not None:
            images["depth"] = np.asarray(depth, np.uint16)
        if isinstance(rgb, (str, os.PathLike)):
            os.makedirs(os.path.join(self.root, "rgb"), exist_ok=True)
            os.replace(rgb, sample_path(self.root, "rgb", sid))
        else:
            images["rgb"] = np.asarray(rgb, np.uint8)
        for kind, img in images.items():
            if img.shape[:2] != (h, w):
                raise HopFormatError(f"sample {sid}: {kind} is {img.shape[:2]}, rgb is {(h, w)}")
            atomic_write_bytes(sample_path(self.root, kind, sid), encode_png(img, compress_level=3))
        atomic_write_json(sample_path(self.root, "anno", sid), anno)


def _decode(path):
    try:
        from PIL import Image
    except ImportError:
        return read_png(path)
    with Image.open(path) as im:
        if im.mode == "I;16" or im.mode == "I;16B":
            return np.asarray(im, dtype=np.uint16)
        return np.asarray(im)


class HopDataset:
    """Read access to a HOP v1 folder."""

    def __init__(self, root):
        self.root = os.fspath(root)
        meta_path = os.path.join(self.root, "dataset.json")
        if not os.path.isfile(meta_path):
            raise HopFormatError(f"{self.root}: not a HOP dataset (dataset.json missing)")
        with open(meta_path) as f:
            self.meta = json.load(f)
        if self.meta.get("format") != FORMAT:
            raise HopFormatError(f"{meta_path}: format is {self.meta.get('format')!r}, expected {FORMAT!r}")
        anno_dir = os.path.join(self.root, "anno")
        names = os.listdir(anno_dir) if os.path.isdir(anno_dir) else []
        self.ids = sorted(n[:-5] for n in names if n.endswith(".json") and n[:-5].isdigit())

    def __len__(self):
        return len(self.ids)

    def annotation(self, sid):
        with open(sample_path(self.root, "anno", sid)) as f:
            return json.load(f)

    def image(self, kind, sid):
        """rgb -> (H,W,3) uint8; hand_mask/object_mask -> (H,W) bool; seg -> (H,W) uint8; depth -> (H,W) uint16."""
        if kind not in IMAGE_KINDS:
            raise ValueError(f"unknown image kind {kind!r}; expected one of {IMAGE_KINDS}")
        arr = _decode(sample_path(self.root, kind, sid))
        if kind in ("hand_mask", "object_mask"):
            return arr > 127
        return arr

    def has(self, kind, sid):
        return os.path.exists(sample_path(self.root, kind, sid))

    def split(self, name):
        """Ids listed in splits/<name>.txt (only those whose sample exists)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
        path = os.path.join(self.root, "splits", f"{name}.txt")
        if not os.path.isfile(path):
            raise HopFormatError(f"{path} missing: run `hopgen index {self.root}` first")
        present = set(self.ids)
        with open(path) as f:
            return [line.strip() for line in f if line.strip() in present]
