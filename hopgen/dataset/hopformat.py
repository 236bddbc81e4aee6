"""HOP format v1: the on-disk contract between the generator and the trainer (docs/format.md).

    DATASET/dataset.json, rgb/ID.png, hand_mask/ID.png, object_mask/ID.png, seg/ID.png,
    depth/ID.png (optional), anno/ID.json, splits/{train,val,test}.txt, index.jsonl

`HopWriter` writes every file atomically and the annotation last, so a sample exists exactly when
its annotation exists. `HopDataset` reads a dataset (Pillow is used for decoding when present,
the pure-numpy codec otherwise).
"""

import contextlib
import json
import os

import numpy as np

from hopgen import FORMAT
from hopgen.core.atomic import atomic_write_bytes, atomic_write_json, cleanup_temporaries
from hopgen.core.pngio import PNGError, check_png, encode_png, png_looks_complete, read_png

IMAGE_KINDS = ("rgb", "hand_mask", "object_mask", "seg", "depth")
REQUIRED_IMAGES = ("rgb", "hand_mask", "object_mask", "seg")
DATASET_SUBFOLDERS = ("", "anno", "splits") + IMAGE_KINDS  # where hopgen writes (and cleans its temporaries)
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


def is_sample_name(name):
    """True for an annotation file name 'NNNNNNNN.json' (other files in anno/ are not samples)."""
    return name.endswith(".json") and len(name) == ID_DIGITS + 5 and name[:-5].isdigit()


class HopWriter:
    """Writes samples into a HOP v1 folder; removes hopgen's own leftovers of killed runs on open
    (only in the dataset's own subfolders: see DATASET_SUBFOLDERS)."""

    def __init__(self, root, cleanup=True):
        self.root = os.fspath(root)
        os.makedirs(os.path.join(self.root, "anno"), exist_ok=True)
        if cleanup:
            cleanup_temporaries(self.root, DATASET_SUBFOLDERS)

    def is_done(self, sid):
        """A sample exists when its annotation exists and each of its images is a complete PNG
        (signature, header and IEND: a file truncated by a full disk is not done) of one size."""
        if not os.path.exists(sample_path(self.root, "anno", sid)):
            return False
        sizes = {png_looks_complete(sample_path(self.root, kind, sid)) for kind in REQUIRED_IMAGES}
        return len(sizes) == 1 and None not in sizes

    def write_dataset_json(self, meta):
        self.write_dataset_json_into(self.root, meta)

    @staticmethod
    def write_dataset_json_into(root, meta):
        atomic_write_json(os.path.join(root, "dataset.json"), dict(meta, format=FORMAT), indent=2)

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
            check_rendered_rgb(sid, rgb, w, h)
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


def read_json_file(path, what="a JSON file"):
    """Parse a JSON file; HopFormatError naming the file when it is missing or does not parse."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise HopFormatError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise HopFormatError(f"{path}: unreadable as {what} ({e})") from None


class HopDataset:
    """Read access to a HOP v1 folder. Every read error is a HopFormatError naming the file."""

    def __init__(self, root):
        self.root = os.fspath(root)
        meta_path = os.path.join(self.root, "dataset.json")
        if not os.path.isfile(meta_path):
            raise HopFormatError(f"{self.root}: not a HOP dataset (dataset.json missing)")
        self.meta = read_json_file(meta_path, "dataset.json")
        if not isinstance(self.meta, dict):
            raise HopFormatError(f"{meta_path}: expected a JSON object, got {type(self.meta).__name__}")
        if self.meta.get("format") != FORMAT:
            raise HopFormatError(f"{meta_path}: format is {self.meta.get('format')!r}, expected {FORMAT!r}")
        size = self.meta.get("image_size")
        self.image_size = tuple(size) if (isinstance(size, list) and len(size) == 2
                                          and all(isinstance(x, int) for x in size)) else None
        anno_dir = os.path.join(self.root, "anno")
        names = os.listdir(anno_dir) if os.path.isdir(anno_dir) else []
        self.ids = sorted(n[:-5] for n in names if is_sample_name(n))
        self.stray = sorted(n for n in names if not is_sample_name(n))  # e.g. anno/42.json: not a sample

    def __len__(self):
        return len(self.ids)

    def annotation(self, sid):
        """The annotation of `sid` (a dict); HopFormatError naming the file otherwise."""
        path = sample_path(self.root, "anno", sid)
        anno = read_json_file(path, "an annotation")
        if not isinstance(anno, dict):
            raise HopFormatError(f"{path}: expected a JSON object, got {json.dumps(anno)[:40]}")
        return anno

    @contextlib.contextmanager
    def reading(self, sid):
        """Turn a missing or malformed field met while using sample `sid` into a HopFormatError that
        names the sample's annotation file."""
        try:
            yield
        except HopFormatError:
            raise
        except KeyError as e:
            raise HopFormatError(f"{sample_path(self.root, 'anno', sid)}: missing field {e.args[0]!r}") from None
        except (TypeError, ValueError, IndexError, AttributeError) as e:
            raise HopFormatError(f"{sample_path(self.root, 'anno', sid)}: bad field ({e})") from None

    def image(self, kind, sid, check_size=True):
        """rgb -> (H,W,3) uint8; hand_mask/object_mask -> (H,W) bool; seg -> (H,W) uint8; depth -> (H,W) uint16.

        HopFormatError naming the file when it is missing, does not decode, or (check_size) is
        not the dataset's image_size."""
        if kind not in IMAGE_KINDS:
            raise ValueError(f"unknown image kind {kind!r}; expected one of {IMAGE_KINDS}")
        path = sample_path(self.root, kind, sid)
        try:
            arr = _decode(path)
        except FileNotFoundError:
            raise HopFormatError(f"{path}: missing") from None
        except Exception as e:  # Pillow and pngio raise many kinds for a corrupt file
            raise HopFormatError(f"{path}: does not decode ({e})") from None
        if check_size and self.image_size and arr.shape[:2] != (self.image_size[1], self.image_size[0]):
            raise HopFormatError(f"{path}: image is {arr.shape[1]}x{arr.shape[0]}, dataset.json says "
                                 f"{self.image_size[0]}x{self.image_size[1]}")
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

    def split_problems(self):
        """(file, message) for each problem of splits/*.txt: lines that are not sample ids or name no
        sample, duplicates, and ids listed in more than one split."""
        out, owner = [], {}
        present = set(self.ids)
        for name in SPLITS:
            path = os.path.join(self.root, "splits", f"{name}.txt")
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except (OSError, UnicodeDecodeError) as e:
                out.append((path, f"unreadable ({e})"))
                continue
            for n, line in enumerate(lines, 1):
                sid = line.strip()
                if not sid:
                    continue
                if not (len(sid) == ID_DIGITS and sid.isdigit()):
                    out.append((path, f"line {n}: {sid[:40]!r} is not a sample id"))
                elif sid not in present:
                    out.append((path, f"line {n}: sample {sid} does not exist"))
                elif sid in owner:
                    out.append((path, f"line {n}: sample {sid} is also listed in {owner[sid]}.txt"))
                else:
                    owner[sid] = name
        return out


def _rendered_rgb_error(sid, path, error):
    return HopFormatError(f"sample {sid}: the rendered RGB image {path} is incomplete or wrong ({error}); "
                          "is the disk full?")


def check_rendered_rgb(sid, path, width, height):
    """Check the RGB PNG Blender rendered for sample `sid` (every chunk, CRC and the inflated size;
    hopgen.core.pngio.check_png) is complete and width x height RGB: Blender's image writer reports
    no error when the disk fills up. A HopFormatError names the file."""
    try:
        with open(path, "rb") as f:
            check_png(f.read(), width, height, 3)
    except (OSError, PNGError) as e:
        raise _rendered_rgb_error(sid, path, e) from None


def read_rendered_rgb(sid, path):
    """(H,W,3) uint8 of the RGB PNG Blender rendered for sample `sid` (for post-processing); a
    truncated or unreadable file (Blender reports no error when the disk fills up) is a
    HopFormatError naming it."""
    try:
        return read_png(path)
    except (OSError, PNGError) as e:
        raise _rendered_rgb_error(sid, path, e) from None
