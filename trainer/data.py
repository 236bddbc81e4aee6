"""Hand-centred crops from HOP (and RHD, FreiHAND) for training and evaluation.

(Length, ~600 lines: the four record sources, HandCrops and LiftKeypoints share the crop helpers here;
moving the sources (HopSource, RhdSource, FreiHandSource) into their own module is the obvious split.)

A *source* reads one dataset folder into records (full image, amodal hand mask, uv, xyz, K,
visibility, side, category; keypoints always in the NATIVE joint order of hopgen.core.skeleton).
`HandCrops` turns records into network inputs:

    image     (3, C, C) float32   crop, x / 255 - 0.5
    mask      (1, C, C) float32   hand mask target (amodal for HOP, visible for RHD)
    heatmaps  (21, C/s, C/s)      exp(-d^2 / sigma^2), sigma = data.sigma * C / 256 crop px, zero where weight is 0
                                  (hand3d; trainer.heatmaps.render_heatmaps)
    weight    (21,)  float32      1 for visible joints inside the crop, loss.occluded_weight for hidden ones
    uv (21, 2) full-image px, uv_crop (21, 2) crop px, xyz (21, 3) m, K (3, 3), vis (21,) int64,
    side () int64 (0 left, 1 right), category () int64 (-1 unknown), A (3, 3) full px -> crop px, index
    seg_image (3, C, C), seg_mask (1, C, C), seg_A (3, 3)   training only, when data.seg_crop > 0: HandSegNet's
                                  own view (hand3d): a random square of seg_crop x the shorter image side anywhere
                                  in the image, against the data.seg_target mask (visible: seg labels palm +
                                  phalanges, the record's vis_mask; amodal: hand_mask)

`LiftKeypoints` (the 3D stage from GT heatmaps, Table III) gives the same dict without image and mask,
the heatmaps drawn from the (noisy, jittered) GT uv; `make_dataset_3d` picks it or HandCrops.

Crops: "gt" (hand3d: centred on the middle MCP, side 2 x the largest offset of the visible keypoints,
clamped to [crop_min, crop_max]; jittered in training), "full" (the whole image, padded square),
or "box" (given full-image boxes, e.g. from a predicted mask). Pixel (0, 0) is the centre of the
top-left pixel everywhere. Augmentation draws from np.random.default_rng([seed, epoch, index]), so
a sample's crop does not depend on worker count or order (exact resume).
"""

import glob
import json
import os
import sys

import numpy as np
import torch

from hopgen.dataset.hopformat import HopDataset
from hopgen.core.skeleton import (CATEGORIES, HAND_LABELS, NATIVE_FROM_RHD, NUM_JOINTS, VIS_OBJECT, VIS_OUTSIDE,
                                  VIS_VISIBLE)
from trainer.augment import crop_heatmaps, crop_images
from trainer.config import lift_cfg
from trainer.heatmaps import render_heatmaps

MIDDLE_MCP = 9  # native index of the crop centre


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


# ---- geometry -------------------------------------------------------------------------------------

def crop_affine(centre, side, size, angle=0.0):
    """3x3 map from full-image px to crop px: the square of `side` px about `centre`, rotated by
    `angle` (radians, image rotates counter-clockwise), onto a size x size crop (pixel centres)."""
    s = size / float(side)
    c, n = np.cos(angle), np.sin(angle)
    R = np.array([[c, n], [-n, c]]) * s
    A = np.eye(3)
    A[:2, :2] = R
    A[:2, 2] = (size - 1) / 2.0 - R @ np.asarray(centre, dtype=np.float64)
    return A


def apply_affine(A, uv):
    """(N,2) points through a 3x3 affine."""
    uv = np.asarray(uv, dtype=np.float64)
    return uv @ A[:2, :2].T + A[:2, 2]


def warp(img, A, size):
    """Bilinear warp of (H,W) or (H,W,C) `img` into a size x size crop (zeros outside); float32."""
    img = np.asarray(img, dtype=np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    h, w = img.shape[:2]
    Ai = np.linalg.inv(A)
    q = np.arange(size, dtype=np.float64)
    px = Ai[0, 0] * q[None, :] + Ai[0, 1] * q[:, None] + Ai[0, 2]  # (size, size)
    py = Ai[1, 0] * q[None, :] + Ai[1, 1] * q[:, None] + Ai[1, 2]
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    fx, fy = (px - x0).astype(np.float32), (py - y0).astype(np.float32)
    out = np.zeros((size, size, img.shape[2]), np.float32)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            out += (wy * wx * ok)[..., None] * img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
    return out[..., 0] if squeeze else out


def gt_crop_box(uv, vis, width, height, cfg):
    """hand3d crop: (centre, side) in full-image px from the keypoints."""
    use = vis == VIS_VISIBLE if cfg.crop_from == "visible" else vis != VIS_OUTSIDE
    if use.sum() < 2:
        use = np.ones(len(uv), bool)
    centre = uv[MIDDLE_MCP]
    pts = uv[use]
    lo = np.maximum(pts.min(0), 0.0)
    hi = np.minimum(pts.max(0), [width - 1, height - 1])
    side = 2.0 * np.max(np.maximum(hi - centre, centre - lo))
    return centre, float(np.clip(side, cfg.crop_min, cfg.crop_max))


def flip_record(rec):
    """Mirror a record horizontally: image/mask columns, u -> W-1-u, x -> -x, cx -> W-1-cx, side swapped."""
    w = rec["rgb"].shape[1]
    K = rec["K"].copy()
    K[0, 2] = (w - 1) - K[0, 2]
    K[0, 1] = -K[0, 1]
    uv = rec["uv"].copy()
    uv[:, 0] = (w - 1) - uv[:, 0]
    xyz = rec["xyz"] * np.array([-1.0, 1.0, 1.0])
    if "vis_mask" in rec:
        rec = dict(rec, vis_mask=rec["vis_mask"][:, ::-1])
    return dict(rec, rgb=rec["rgb"][:, ::-1], mask=rec["mask"][:, ::-1],
                uv=uv, xyz=xyz, K=K,
                side="left" if rec["side"] == "right" else "right")


def mirror_affine(width):
    """3x3 map u -> (width - 1) - u (the horizontal flip of flip_record, on pixel coordinates)."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def colour_jitter(img, rng, amount):
    """Brightness, contrast and saturation factors in [1 - amount, 1 + amount]; img (H,W,3) in 0..255."""
    b, c, s = rng.uniform(1 - amount, 1 + amount, size=3)
    img = img * b
    mean = img.mean()
    img = (img - mean) * c + mean
    grey = img.mean(-1, keepdims=True)
    return np.clip((img - grey) * s + grey, 0, 255)


# ---- dataset ---------------------------------------------------------------------------------------

class HandCrops(torch.utils.data.Dataset):
    """Hand crops over one or more sources (see the module docstring for the sample dict).

    sources: list of (source, split); train: augmentation on; crop_mode: "gt" | "full" | "box";
    boxes: (N, 4) full-image x0, y0, x1, y1 per item for crop_mode "box".
    """

    def __init__(self, sources, data_cfg, train=False, seed=0, crop_mode="gt", boxes=None, box_scale=1.25,
                 occluded_weight=0.0):
        self.cfg, self.train, self.seed = data_cfg, train, seed
        self.crop_mode, self.boxes, self.box_scale = crop_mode, boxes, box_scale
        self.occluded_weight = occluded_weight
        self.epoch = 0
        self.defer_image_ops = False  # True: return raw uint8 fields for augment.finish_batch (GPU training)
        self.items = []  # (source, id)
        for src, split in sources:
            ids = src.ids(split)
            if data_cfg.max_samples > 0:
                ids = ids[: data_cfg.max_samples]
            self.items += [(src, i) for i in ids]
        if not self.items:
            raise DataError(f"no samples in {[(s.root, sp) for s, sp in sources]}")
        if crop_mode not in ("gt", "full", "box"):
            raise ValueError(f"crop_mode {crop_mode!r}: expected gt, full or box")
        if crop_mode == "box" and (boxes is None or len(boxes) != len(self.items)):
            raise ValueError("crop_mode 'box' needs one box per item")
        if data_cfg.crop % data_cfg.heatmap_stride:
            raise DataError(f"data.crop {data_cfg.crop} is not a multiple of data.heatmap_stride")

    def set_epoch(self, epoch):
        """Augmentation of epoch e draws from default_rng([seed, e, index])."""
        self.epoch = int(epoch)

    def __len__(self):
        return len(self.items)

    def sample_id(self, index):
        return self.items[index][1]

    def record(self, index):
        src, sid = self.items[index]
        rec = src.record(sid)
        if "vis_mask" not in rec and self.train and self.cfg.seg_crop > 0 and self.cfg.seg_target == "visible":
            # a packed HOP source (trainer.pack) holds rgb and the amodal mask only: read the seg labels
            if not hasattr(src, "_seg_reader"):
                src._seg_reader = HopDataset(src.root)
            rec = dict(rec, vis_mask=np.isin(src._seg_reader.image("seg", sid), HAND_LABELS))
        return rec

    def __getitem__(self, key):
        index = self._epoch_key(key)
        cfg, size = self.cfg, self.cfg.crop
        rec = self.record(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        aug = self.train and cfg.augment
        stored_w = rec["rgb"].shape[1]
        flipped = bool(aug and rng.random() < cfg.flip_prob)
        if flipped:
            rec = flip_record(rec)  # keypoints and camera; the pixels are mirrored by the warp below
        h, w = rec["rgb"].shape[:2]
        full = self.crop_mode == "full" or (self.train and rng.random() < cfg.full_view_prob)
        if full:
            centre, side = np.array([(w - 1) / 2.0, (h - 1) / 2.0]), float(max(w, h))
        elif self.crop_mode == "box":
            x0, y0, x1, y1 = np.asarray(self.boxes[index], dtype=np.float64)
            centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
            side = float(np.clip(self.box_scale * max(x1 - x0, y1 - y0), cfg.crop_min, cfg.crop_max))
        else:
            centre, side = gt_crop_box(rec["uv"], rec["vis"], w, h, cfg)
        angle = 0.0
        if aug and not full:
            centre = centre + rng.normal(scale=cfg.centre_jitter * side / 256.0, size=2)
            side *= float(np.exp(rng.normal(scale=cfg.scale_jitter)))
        if aug:
            angle = float(np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)))
        A = crop_affine(centre, side, size, angle)
        jitter = bool(aug and cfg.color_jitter > 0)
        colour = rng.uniform(1 - cfg.color_jitter, 1 + cfg.color_jitter, size=3) if jitter else np.ones(3)
        raw_A = A @ mirror_affine(stored_w) if flipped else A  # stored (unflipped) pixels -> crop px
        uv_crop = apply_affine(A, rec["uv"])
        inside = np.all((uv_crop > -0.5) & (uv_crop < size - 0.5), axis=1)
        weight = np.where(rec["vis"] == VIS_VISIBLE, 1.0, self.occluded_weight)
        weight = np.where(inside & (rec["vis"] != VIS_OUTSIDE), weight, 0.0)
        out = {
            "weight": weight.astype(np.float32),
            "uv": rec["uv"].astype(np.float32), "uv_crop": uv_crop.astype(np.float32),
            "xyz": rec["xyz"].astype(np.float32), "K": rec["K"].astype(np.float32),
            "vis": rec["vis"].astype(np.int64),
            "side": np.int64(rec["side"] == "right"), "category": np.int64(rec["category"]),
            "A": A.astype(np.float32), "index": np.int64(index),
        }
        if self.train and cfg.seg_crop > 0:  # HandSegNet's own view (hs_posenet, hand3d)
            out.update(self._seg_view(rec, rng))
        stored_rgb, stored_mask = rec["rgb"], rec["mask"]
        if flipped:  # back to the stored orientation (views: no copy)
            stored_rgb, stored_mask = stored_rgb[:, ::-1], stored_mask[:, ::-1]
        # Own copies: the memory map is read-only, and a batch must not alias it.
        raw = {"raw_rgb": np.array(stored_rgb, dtype=np.uint8, order="C"),
               "raw_mask": np.array(stored_mask, dtype=np.uint8, order="C"),
               "raw_A": raw_A.astype(np.float32), "colour": colour.astype(np.float32), "jitter": np.array(jitter)}
        if self.defer_image_ops:  # augment.finish_batch renders image, mask and heatmaps on the device
            return dict(out, **raw)
        t = {k: torch.from_numpy(v)[None] for k, v in raw.items()}
        img, mask = crop_images(t["raw_rgb"], t["raw_mask"], t["raw_A"], size, t["colour"], t["jitter"])
        heat = crop_heatmaps(torch.from_numpy(out["uv_crop"])[None], torch.from_numpy(out["weight"])[None], cfg)
        return dict(out, image=img[0].numpy(), mask=mask[0].numpy(), heatmaps=heat[0].numpy())

    def _epoch_key(self, key):
        """An index, or (epoch, index) from an EpochKeyed sampler (persistent workers learn the epoch so)."""
        if isinstance(key, (tuple, list)):
            epoch, key = key
            self.epoch = int(epoch)
        return int(key)


    def _seg_view(self, rec, rng):
        """HandSegNet's training view (hand3d): a random square of data.seg_crop x the shorter image side,
        anywhere inside the image (not hand-centred), resized to data.crop, against the data.seg_target mask."""
        cfg, size = self.cfg, self.cfg.crop
        if cfg.seg_target not in ("visible", "amodal"):
            raise ValueError(f"config key 'data.seg_target': {cfg.seg_target!r}; expected visible or amodal")
        h, w = rec["rgb"].shape[:2]
        side = min(1.0, cfg.seg_crop) * min(h, w)
        x0, y0 = rng.uniform(0.0, w - side), rng.uniform(0.0, h - side)
        A = crop_affine([x0 + (side - 1) / 2.0, y0 + (side - 1) / 2.0], side, size)
        img = warp(rec["rgb"], A, size)
        if cfg.augment and cfg.color_jitter > 0:
            img = colour_jitter(img, rng, cfg.color_jitter)
        if cfg.seg_target == "visible" and "vis_mask" not in rec:
            raise DataError("config key 'data.seg_target': 'visible' needs a visible hand mask, which this data source "
                            "does not provide (use amodal)")
        target = rec["vis_mask"] if cfg.seg_target == "visible" else rec["mask"]
        mask = warp(np.asarray(target, np.float32), A, size) > 0.5
        return {"seg_image": np.ascontiguousarray((img / 255.0 - 0.5).transpose(2, 0, 1), dtype=np.float32),
                "seg_mask": mask[None].astype(np.float32), "seg_A": A.astype(np.float32)}


def make_dataset(cfg, roots, split, train, **kwargs):
    """HandCrops over the folders `roots` (HOP or RHD) for `split`, from a full Config."""
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    return HandCrops([(open_source(r, cfg.data.pack), split) for r in roots], cfg.data, train=train, seed=cfg.train.seed,
                     occluded_weight=cfg.loss.occluded_weight, **kwargs)


class LiftKeypoints(torch.utils.data.Dataset):
    """GT heatmaps of hand crops, keypoints only (no image decoding after the first pass).

    Records of `base` (a data.HandCrops) are read once; each item is the HandCrops dict without the
    image and mask, with heatmaps rendered from the uv in the GT crop
    (jittered, with uv noise and map dropout in training; draws from default_rng([seed, epoch, index, 3])).
    """

    def __init__(self, base, lift, train, occluded_weight=0.0):
        self.cfg, self.lift, self.train = base.cfg, lift, train
        self.seed, self.occluded_weight, self.epoch = base.seed, occluded_weight, 0
        self.recs, self.ids = [], [base.sample_id(i) for i in range(len(base))]
        for i in range(len(base)):
            r = base.record(i)
            self.recs.append({"uv": r["uv"], "xyz": r["xyz"], "K": r["K"], "vis": r["vis"], "side": r["side"],
                              "category": r["category"], "hw": r["rgb"].shape[:2]})

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def sample_id(self, index):
        return self.ids[index]

    def __len__(self):
        return len(self.recs)

    def __getitem__(self, index):
        cfg, lift, size = self.cfg, self.lift, self.cfg.crop
        r = self.recs[index]
        rng = np.random.default_rng([self.seed, self.epoch, index, 3])
        aug = self.train and cfg.augment
        uv, xyz, K, side = r["uv"], r["xyz"], r["K"], r["side"]
        h, w = r["hw"]
        if aug and rng.random() < cfg.flip_prob:  # as data.flip_record, on the keypoints only
            uv = np.stack([(w - 1) - uv[:, 0], uv[:, 1]], 1)
            xyz = xyz * np.array([-1.0, 1.0, 1.0])
            K = K.copy()
            K[0, 2], K[0, 1] = (w - 1) - K[0, 2], -K[0, 1]
            side = "left" if side == "right" else "right"
        centre, side_px = gt_crop_box(uv, r["vis"], w, h, cfg)
        angle = 0.0
        if aug:
            centre = centre + rng.normal(scale=cfg.centre_jitter * side_px / 256.0, size=2)
            side_px *= float(np.exp(rng.normal(scale=cfg.scale_jitter)))
            angle = float(np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)))
        A = crop_affine(centre, side_px, size, angle)
        uv_crop = apply_affine(A, uv)
        inside = np.all((uv_crop > -0.5) & (uv_crop < size - 0.5), axis=1)
        weight = np.where(r["vis"] == VIS_VISIBLE, 1.0, self.occluded_weight)
        weight = np.where(inside & (r["vis"] != VIS_OUTSIDE), weight, 0.0)
        draw = weight > 0
        uv_draw = uv_crop
        if aug:
            uv_draw = uv_crop + rng.normal(scale=lift.uv_noise * size / 256.0, size=uv_crop.shape)
            if lift.heatmap_dropout > 0:
                draw = draw & (rng.random(len(draw)) >= lift.heatmap_dropout)
        maps = render_heatmaps(uv_draw[None], draw[None], size // cfg.heatmap_stride, cfg.sigma * size / 256.0,
                               crop_size=size)[0]
        return {"heatmaps": maps, "weight": weight.astype(np.float32),
                "uv": uv.astype(np.float32), "uv_crop": uv_crop.astype(np.float32), "xyz": xyz.astype(np.float32),
                "K": K.astype(np.float32), "vis": r["vis"].astype(np.int64), "side": np.int64(side == "right"),
                "category": np.int64(r["category"]), "A": A.astype(np.float32), "index": np.int64(index)}


def make_dataset_3d(cfg, roots, split, train, **kwargs):
    """The 3D stage's dataset: LiftKeypoints for lift.source gt, HandCrops (images) for pred2d."""
    lift = lift_cfg(cfg)
    base = make_dataset(cfg, roots, split, train, **kwargs)
    if lift.source == "pred2d":
        return base
    return LiftKeypoints(base, lift, train, cfg.loss.occluded_weight)


class WorkerInit:
    """worker_init_fn: reseed torch in each worker from (base seed, epoch, worker id) and pass the epoch on."""

    def __init__(self, seed, epoch):
        self.seed, self.epoch = seed, epoch

    def __call__(self, worker_id):
        torch.manual_seed((self.seed * 1_000_003 + self.epoch * 1009 + worker_id) % (2 ** 63))
        info = torch.utils.data.get_worker_info()
        if info is not None and hasattr(info.dataset, "set_epoch"):
            info.dataset.set_epoch(self.epoch)
