"""Record sources: each reads one dataset folder (HOP, RHD, FreiHAND) into records (full image, amodal
hand mask, uv, xyz, K, visibility, side, category; keypoints always in the NATIVE joint order of
hopgen.core.skeleton). `open_source(root)` picks the source by the folder's layout. trainer.data turns
records into network inputs."""

import glob
import json
import os
import sys

import numpy as np

from hopgen.dataset.hopformat import HopDataset
from hopgen.core.skeleton import (CATEGORIES, HAND_LABELS, NATIVE_FROM_RHD, NUM_JOINTS, VIS_OBJECT, VIS_OUTSIDE,
                                  VIS_VISIBLE)

class DataError(ValueError):
    """A dataset folder or annotation the trainer cannot use (names the file and field)."""


def _array(value, shape, where):
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: not numeric") from None
    if a.shape != shape or not np.all(np.isfinite(a)):
        raise DataError(f"{where}: expected finite array of shape {shape}, got {a.shape}")
    return a


class HopSource:
    """Records of a HOP v1 folder (hopgen.dataset.hopformat.HopDataset)."""

    kind = "hop"

    def __init__(self, root):
        self.root = os.fspath(root)
        self.ds = HopDataset(self.root)

    def ids(self, split):
        return self.ds.split(split)

    def record(self, sid):
        a = self.ds.annotation(sid)
        where = os.path.join(self.root, "anno", f"{sid}.json")
        try:
            cam, hand, obj = a["camera"], a["hand"], a.get("object") or {}
            side, vis = hand["side"], np.asarray(hand["visibility"], dtype=np.int64)
            cat = obj.get("category_id", CATEGORIES.index(obj["category"]) if obj.get("category") in CATEGORIES else -1)
            rec = {"uv": _array(hand["uv"], (NUM_JOINTS, 2), f"{where}: hand.uv"),
                   "xyz": _array(hand["xyz"], (NUM_JOINTS, 3), f"{where}: hand.xyz"),
                   "K": _array(cam["K"], (3, 3), f"{where}: camera.K")}
        except KeyError as e:
            raise DataError(f"{where}: missing field {e.args[0]!r}") from None
        if side not in ("left", "right"):
            raise DataError(f"{where}: hand.side is {side!r}, expected 'left' or 'right'")
        if vis.shape != (NUM_JOINTS,):
            raise DataError(f"{where}: hand.visibility has shape {vis.shape}, expected (21,)")
        seg = self.ds.image("seg", sid)
        return dict(rec, rgb=self.ds.image("rgb", sid)[..., :3], mask=self.ds.image("hand_mask", sid),
                    vis_mask=np.isin(seg, HAND_LABELS), vis=vis, side=side, category=int(cat))


class RhdSource:
    """Records of the Rendered Hand Pose dataset layout (Zimmermann & Brox).

    A split folder holds color/NNNNN.png, mask/NNNNN.png and anno_*.pickle ({index: {uv_vis (42,3),
    xyz (42,3), K (3,3)}}; keypoints 0-20 left hand, 21-41 right, RHD order). A root with
    training/ and evaluation/ maps split "train" to training and "val"/"test" to evaluation. The
    hand with more mask pixels is used, the right one on a tie (hand3d's BinaryDbReader: left only
    when it has more pixels); its mask is the visible hand mask.
    """

    kind = "rhd"

    def __init__(self, root):
        self.root = os.fspath(root)
        self._annos = {}

    def _folder(self, split):
        sub = {"train": "training", "val": "evaluation", "test": "evaluation"}.get(split)
        if sub and os.path.isdir(os.path.join(self.root, sub)):
            return os.path.join(self.root, sub)
        return self.root

    def _anno(self, folder):
        if folder not in self._annos:
            files = sorted(glob.glob(os.path.join(folder, "anno_*.pickle")))
            if not files:
                raise DataError(f"{folder}: no anno_*.pickle (not an RHD split folder)")
            from hopgen.core.safepickle import SafePickleError, load_file
            try:  # RHD ships pickles: parsed as plain data, never executed
                annos = load_file(files[0])
            except (OSError, SafePickleError) as e:
                raise DataError(str(e) if isinstance(e, SafePickleError) else f"{files[0]}: {e}") from None
            if not isinstance(annos, dict):
                raise DataError(f"{files[0]}: expected a mapping index -> annotation, got {type(annos).__name__}")
            self._annos[folder] = annos
        return self._annos[folder]

    def ids(self, split):
        folder = self._folder(split)
        return [(folder, k) for k in sorted(self._anno(folder))]

    def record(self, key):
        from PIL import Image

        folder, k = key
        a = self._anno(folder)[k]
        where = f"{folder}/anno pickle[{k}]"
        if not isinstance(a, dict):
            raise DataError(f"{where}: expected a mapping with uv_vis, xyz, K, got {type(a).__name__}")
        uv_vis = _array(a.get("uv_vis"), (42, 3), f"{where}: uv_vis")
        xyz = _array(a.get("xyz"), (42, 3), f"{where}: xyz")
        K = _array(a.get("K"), (3, 3), f"{where}: K")
        with Image.open(os.path.join(folder, "color", f"{k:05d}.png")) as im:
            rgb = np.asarray(im.convert("RGB"))
        with Image.open(os.path.join(folder, "mask", f"{k:05d}.png")) as im:
            seg = np.asarray(im)
        left, right = (seg >= 2) & (seg <= 17), seg >= 18
        right_hand = not left.sum() > right.sum()  # hand3d: a tie goes to the right hand
        sl = slice(21, 42) if right_hand else slice(0, 21)
        perm = list(NATIVE_FROM_RHD)
        uv, vis_flag = uv_vis[sl, :2][perm], uv_vis[sl, 2][perm]
        h, w = seg.shape
        inside = (uv[:, 0] > -0.5) & (uv[:, 0] < w - 0.5) & (uv[:, 1] > -0.5) & (uv[:, 1] < h - 0.5)
        vis = np.where(vis_flag > 0.5, VIS_VISIBLE, VIS_OBJECT)
        vis = np.where(inside, vis, VIS_OUTSIDE).astype(np.int64)
        mask = right if right_hand else left
        return {"rgb": rgb, "mask": mask, "vis_mask": mask, "uv": uv, "xyz": xyz[sl][perm], "K": K,
                "vis": vis, "side": "right" if right_hand else "left", "category": -1}


class FreiHandSource:
    """Records of a FreiHAND-layout folder (Zimmermann et al. 2019; `hopgen export --format freihand`).

    ROOT/<set>_xyz.json ([N][21][3] m, native joint order) and ROOT/<set>_K.json ([N][3][3]) with
    ROOT/<set>/rgb/%08d.jpg and, when present, ROOT/<set>/mask/%08d.jpg (hand mask, > 127); <set> is
    training (split train) or evaluation (val, test). As in FreiHAND, image i shows annotation
    i mod N (the training set ships each sample in several colour versions). All hands are right
    hands; FreiHAND has no occlusion labels, so every joint inside the image counts as visible.
    A folder without masks gets all-zero mask targets (nothing for the segmentation loss to learn).
    """

    kind = "freihand"
    SETS = {"train": "training", "val": "evaluation", "test": "evaluation"}

    def __init__(self, root):
        self.root = os.fspath(root)
        self._sets = {}

    def _set(self, split):
        name = self.SETS.get(split)
        if name is None:
            raise DataError(f"{self.root}: unknown split {split!r} for a FreiHAND folder")
        if name not in self._sets:
            lists = {}
            for key in ("xyz", "K"):
                path = os.path.join(self.root, f"{name}_{key}.json")
                if not os.path.isfile(path):
                    raise DataError(f"{path} missing (FreiHAND layout: {name}_xyz.json and {name}_K.json)")
                try:
                    with open(path) as f:
                        lists[key] = json.load(f)
                except (OSError, ValueError) as e:
                    raise DataError(f"{path}: unreadable ({e})") from None
                if not isinstance(lists[key], list) or not lists[key]:
                    raise DataError(f"{path}: expected a non-empty JSON list")
            if len(lists["xyz"]) != len(lists["K"]):
                raise DataError(f"{self.root}: {name}_xyz.json has {len(lists['xyz'])} entries, "
                                f"{name}_K.json {len(lists['K'])}")
            rgb_dir = os.path.join(self.root, name, "rgb")
            names = sorted(n for n in (os.listdir(rgb_dir) if os.path.isdir(rgb_dir) else [])
                           if n.endswith(".jpg") and n[:-4].isdigit())
            if not names:
                raise DataError(f"{rgb_dir}: no %08d.jpg images")
            self._sets[name] = (lists, [int(n[:-4]) for n in names])
        return name, self._sets[name]

    def ids(self, split):
        name, (_, images) = self._set(split)
        return [(name, i) for i in images]

    def record(self, key):
        from PIL import Image

        name, i = key
        lists, _ = self._sets[name]
        n = i % len(lists["xyz"])
        where = f"{self.root}/{name}_*.json[{n}]"
        xyz = _array(lists["xyz"][n], (NUM_JOINTS, 3), f"{where}: xyz")
        K = _array(lists["K"][n], (3, 3), f"{where}: K")
        if np.any(xyz[:, 2] <= 0):
            raise DataError(f"{where}: xyz has joints behind the camera (z <= 0)")
        path = os.path.join(self.root, name, "rgb", f"{i:08d}.jpg")
        try:
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"))
        except OSError as e:
            raise DataError(f"{path}: unreadable image ({e})") from None
        h, w = rgb.shape[:2]
        mask_path = os.path.join(self.root, name, "mask", f"{n:08d}.jpg")
        if os.path.isfile(mask_path):
            with Image.open(mask_path) as im:
                mask = np.asarray(im.convert("L")) > 127
            if mask.shape != (h, w):
                raise DataError(f"{mask_path}: mask is {mask.shape}, image {path} is {(h, w)}")
        else:
            mask = np.zeros((h, w), bool)
        uv = (xyz @ K.T)[:, :2] / xyz[:, 2:3]
        inside = (uv[:, 0] > -0.5) & (uv[:, 0] < w - 0.5) & (uv[:, 1] > -0.5) & (uv[:, 1] < h - 0.5)
        vis = np.where(inside, VIS_VISIBLE, VIS_OUTSIDE).astype(np.int64)
        return {"rgb": rgb, "mask": mask, "vis_mask": mask, "uv": uv, "xyz": xyz, "K": K, "vis": vis, "side": "right",
                "category": -1}  # FreiHAND's masks are visible masks


def _is_freihand(root):
    return any(os.path.isfile(os.path.join(root, f"{s}_xyz.json")) and os.path.isfile(os.path.join(root, f"{s}_K.json"))
               for s in ("training", "evaluation"))


def open_source(root, pack="off"):
    """HopSource for a folder with dataset.json, RhdSource for an RHD layout, FreiHandSource for a
    FreiHAND layout (<set>_xyz.json + <set>_K.json).

    pack (HOP only): "off" reads the PNGs; "auto" reads the folder's current pack (trainer.pack),
    writing it on first use when the folder is writable (else, or when the samples differ in size,
    the PNGs with a one-line note); "require" fails without a current pack.
    """
    root = os.fspath(root)
    if os.path.isfile(os.path.join(root, "dataset.json")):
        if pack == "off":
            return HopSource(root)
        from trainer import pack as packing
        if pack not in ("auto", "require"):
            raise DataError(f"config key 'data.pack': {pack!r}; expected auto, require or off")
        path = packing.find_pack(root)
        if path is None and pack == "auto":
            if not os.access(root, os.W_OK):
                print(f"note: {root} is read-only, so it is not packed (run `hopgen pack` where it is "
                      "writable); decoding PNGs", file=sys.stderr)
                return HopSource(root)
            try:
                path = packing.write_pack(root)
            except ValueError as e:
                print(f"note: not packing {root}: {e}; decoding PNGs", file=sys.stderr)
                return HopSource(root)
        if path is None:
            raise DataError(f"{root}: data.pack is 'require' but there is no current pack; run `hopgen pack {root}`")
        return packing.PackedSource(root, path)
    if glob.glob(os.path.join(root, "anno_*.pickle")) or glob.glob(os.path.join(root, "*", "anno_*.pickle")):
        return RhdSource(root)
    if _is_freihand(root):
        return FreiHandSource(root)
    raise DataError(f"{root}: neither a HOP dataset (dataset.json), an RHD folder (anno_*.pickle) "
                    f"nor a FreiHAND folder (training_xyz.json + training_K.json)")
