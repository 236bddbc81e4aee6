"""Hand-centred crops from HOP (and RHD, FreiHAND) for training and evaluation.

A *source* (trainer.sources: HOP, RHD, FreiHAND) reads one dataset folder into records (full image, amodal hand mask, uv, xyz, K,
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

import os

import numpy as np
import torch

from hopgen.core.skeleton import HAND_LABELS, VIS_OUTSIDE, VIS_VISIBLE
from hopgen.dataset.hopformat import HopDataset
from trainer.augment import crop_heatmaps, crop_images
from trainer.config import lift_cfg
from trainer.heatmaps import render_heatmaps
from trainer.sources import DataError, open_source  # noqa: F401  (DataError: callers catch trainer.data.DataError)

MIDDLE_MCP = 9  # native index of the crop centre


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

    def record(self, index, visible=False):
        """The source record of item `index`; with visible=True (or HandSegNet training on the visible
        mask) it carries `vis_mask` (H, W) bool, the visible hand mask."""
        src, sid = self.items[index]
        rec = src.record(sid)
        visible = visible or (self.train and self.cfg.seg_crop > 0 and self.cfg.seg_target == "visible")
        if "vis_mask" not in rec and visible:
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
