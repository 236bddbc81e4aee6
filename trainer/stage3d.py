"""The 3D stage for the training engine: lifting from heatmaps, alone or behind a trained 2D stage.

Config (`stage: 3d`): the core sections plus a registered `lift` section (LiftCfg below).

    model.kind    poseprior    PosePrior + ViewPoint (Zimmermann & Brox)
                  ours         variational q_j/p_p + ViewPoint, no metric loss
                  ours_triplet variational + triplet loss on the object category (eq. 5)
                  ours_cluster variational + cluster loss with lift.clusters learnable centres (eq. 6)
                  ours_novar   deterministic q_j ("ours without variational"), metric per lift.metric
    model.width / model.latent   channel multiplier / size of z_j (paper: 1.0 / 256)
    lift.source   gt      heatmaps rendered from the GT uv in the GT hand crop (Table III protocol),
                          with uv noise (lift.uv_noise) and crop jitter in training; no image is read
                  pred2d  heatmaps predicted by the 2D stage of lift.run2d (Table IV, the whole
                          pipeline); lift.finetune_2d also trains the 2D network (its own loss added
                          with weight lift.weight_2d); otherwise it is frozen, in eval mode

A pred2d run is self-contained: its checkpoint holds the 2D weights (model.net2d.*) and its
config the 2D run's resolved config (lift.config2d, YAML text filled in when the model is built).

The model (LiftModel) also keeps running statistics of the training batches (EMA, momentum
lift.ema) in buffers, so they travel with the checkpoint: the class means of the latent mu (the
category read-out of triplet/ours models), cluster x category counts (the category of a cluster)
and the mean bone length in metres (used by `hopgen predict` to place a hand in the camera frame).

In-plane crop rotations (data.rotation_deg) are applied to the 3D targets too: the camera frame is
rolled about its optical axis by the crop angle, so the viewpoint stays consistent with the maps.
"""

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from hopgen.core.skeleton import CATEGORIES, VIS_OUTSIDE, VIS_VISIBLE
from trainer.config import ConfigError, config_from_dict, register_section
from trainer.data import apply_affine, crop_affine, gt_crop_box, make_dataset
from trainer.heatmaps import render_heatmaps
from trainer.losses3d import (Loss3DConfig, cluster_purity, lifting_loss, nearest_cluster,
                              squared_distances)
from trainer.metrics import keypoint_measures, table_measures
from trainer.models3d import ClusterCentres, Lifter, LifterConfig, hand_side_onehot, lifting_targets
from trainer.plots import plot_latent

KINDS = ("poseprior", "ours", "ours_triplet", "ours_cluster", "ours_novar")
METRICS = ("auto", "none", "triplet", "cluster")
SOURCES = ("gt", "pred2d")
NUM_CLASSES = len(CATEGORIES)


@dataclass
class LiftCfg:
    """The `lift` config section of the 3D stage (see the module docstring)."""
    source: str = "gt"              # gt | pred2d
    run2d: str = ""                 # 2D run folder (ckpt/<checkpoint2d> + config.yaml) for source pred2d
    checkpoint2d: str = "last.pt"
    config2d: str = ""              # the 2D run's resolved config as YAML text (filled in at build time)
    finetune_2d: bool = False       # pred2d: train the 2D network jointly
    weight_2d: float = 1.0          # weight of the 2D loss when fine-tuning
    metric: str = "auto"            # auto (from model.kind; ours_novar -> cluster) | none | triplet | cluster
    clusters: int = 5               # number of cluster centres (paper: 5 for HOP)
    cluster_std: float = 1.0        # std of the Gaussian centre initialisation
    root: str = "wrist"             # canonical root: wrist | palm
    uv_noise: float = 2.5           # gt: std of the uv noise in px on a 256 crop (hand3d coord_uv_noise)
    heatmap_dropout: float = 0.0    # gt: probability of blanking a drawn heatmap in training
    ema: float = 0.99               # momentum of the running class means / cluster counts / bone length
    auc_lo_mm: float = 0.0          # 3D AUC range (paper: 0-50 mm)
    auc_hi_mm: float = 50.0
    latent_plot_max: int = 2000     # at most this many points in the latent-space plot
    loss: Loss3DConfig = field(default_factory=Loss3DConfig)


register_section("lift", LiftCfg)


def lift_cfg(cfg):
    """The validated `lift` section of a Config."""
    lift = cfg.section("lift")
    if lift.source not in SOURCES:
        raise ConfigError(f"config key 'lift.source': {lift.source!r}; expected one of {SOURCES}")
    if lift.metric not in METRICS:
        raise ConfigError(f"config key 'lift.metric': {lift.metric!r}; expected one of {METRICS}")
    if cfg.model.kind not in KINDS:
        raise ConfigError(f"config key 'model.kind': {cfg.model.kind!r} is not a 3D model; expected one of {KINDS}")
    if lift.clusters < 1 or not 0.0 <= lift.ema < 1.0 or not lift.auc_hi_mm > lift.auc_lo_mm:
        raise ConfigError("config keys 'lift.clusters' >= 1, 0 <= 'lift.ema' < 1 and 'lift.auc_hi_mm' > 'lift.auc_lo_mm' are required")
    return lift


def variant_and_metric(cfg):
    """(Lifter variant, metric loss name) of a 3D config."""
    kind, metric = cfg.model.kind, lift_cfg(cfg).metric
    variant = {"poseprior": "poseprior", "ours_novar": "deterministic"}.get(kind, "variational")
    if metric == "auto":
        metric = {"ours_triplet": "triplet", "ours_cluster": "cluster", "ours_novar": "cluster"}.get(kind, "none")
    if variant == "poseprior" and metric != "none":
        raise ConfigError(f"config key 'lift.metric': {metric!r} needs a latent; model.kind poseprior has none")
    return variant, metric


def method_name(cfg):
    """Label of the lifting method as in the paper's Table III: PosePrior (Z&B), Ours (triplet),
    Ours (cluster), Ours (no metric loss), Ours w/o variational (cluster), ..."""
    variant, metric = variant_and_metric(cfg)
    if variant == "poseprior":
        return "PosePrior (Z&B)"
    head = "Ours w/o variational" if variant == "deterministic" else "Ours"
    return f"{head} (no metric loss)" if metric == "none" else f"{head} ({metric})"


# ---- the 2D stage behind a pred2d run ---------------------------------------------------------------

def config_2d(cfg):
    """The 2D Config of a pred2d run (from lift.config2d, else RUN2D/config.yaml, which fills it in)."""
    import yaml
    lift = lift_cfg(cfg)
    if not lift.config2d:
        if not lift.run2d:
            raise ConfigError("config key 'lift.run2d': lift.source 'pred2d' needs the 2D run folder")
        path = os.path.join(lift.run2d, "config.yaml")
        try:
            with open(path) as f:
                lift.config2d = f.read()
        except OSError as e:
            raise ConfigError(f"config key 'lift.run2d': cannot read {path} ({e.strerror})") from None
    cfg2d = config_from_dict(yaml.safe_load(lift.config2d))
    if cfg2d.stage != "2d":
        raise ConfigError(f"config key 'lift.run2d': {lift.run2d} is a {cfg2d.stage!r} run, not a 2D run")
    if (cfg2d.data.crop, cfg2d.data.heatmap_stride) != (cfg.data.crop, cfg.data.heatmap_stride):
        raise ConfigError(f"config keys 'data.crop'/'data.heatmap_stride' ({cfg.data.crop}/{cfg.data.heatmap_stride}) "
                          f"must equal the 2D run's ({cfg2d.data.crop}/{cfg2d.data.heatmap_stride})")
    return cfg2d


def build_net2d(cfg):
    """(cfg2d, 2D network) of a pred2d config, with the 2D run's weights when its checkpoint exists."""
    from trainer.engine import load_checkpoint
    from trainer.models2d import build_model_2d
    lift = lift_cfg(cfg)
    cfg2d = config_2d(cfg)
    net = build_model_2d(cfg2d)
    path = os.path.join(lift.run2d, "ckpt", lift.checkpoint2d) if lift.run2d else ""
    if path and os.path.isfile(path):
        net.load_state_dict(load_checkpoint(path)["model"])
    # Otherwise the weights must come from this 3D run's own checkpoint (engine.load_model).
    return cfg2d, net


# ---- the model -------------------------------------------------------------------------------------

class LiftModel(nn.Module):
    """Lifter (+ cluster centres, + the 2D network for pred2d) and running training statistics.

    forward(side (B, 2), heatmaps (B, 21, S, S) | None, image (B, 3, C, C) | None) -> the Lifter's
    dict plus heatmaps (the lifter's input) and out2d (the 2D network's output dict, or None).
    """

    def __init__(self, lifter_cfg, metric="none", clusters=5, cluster_std=1.0, seed=0, net2d=None,
                 finetune_2d=False, ema=0.99):
        super().__init__()
        self.metric, self.ema, self.finetune_2d = metric, float(ema), bool(finetune_2d)
        self.lifter = Lifter(lifter_cfg)
        self.has_latent = lifter_cfg.variant != "poseprior"
        d = lifter_cfg.latent_dim
        self.centres = (ClusterCentres(clusters, d, cluster_std, torch.Generator().manual_seed(seed))
                        if metric == "cluster" else None)
        self.net2d = net2d
        if net2d is not None and not finetune_2d:
            net2d.requires_grad_(False)
        self.register_buffer("class_means", torch.zeros(NUM_CLASSES, d))
        self.register_buffer("class_seen", torch.zeros(NUM_CLASSES))
        self.register_buffer("cluster_counts", torch.zeros(clusters if self.centres is not None else 0, NUM_CLASSES))
        self.register_buffer("bone_length", torch.zeros(()))

    def train(self, mode=True):
        super().train(mode)
        if self.net2d is not None and not self.finetune_2d:
            self.net2d.eval()  # a frozen 2D stage predicts as at test time (z = mu, no BN updates)
        return self

    def forward(self, side, heatmaps=None, image=None):
        out2d = None
        if self.net2d is not None:
            if image is None:
                raise ValueError("LiftModel: a pred2d model needs the image crop")
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune_2d):
                out2d = self.net2d(image)
            heatmaps = out2d["heatmaps"][-1].float()
        out = self.lifter(heatmaps, side)
        out.update(heatmaps=heatmaps, out2d=out2d)
        return out

    def latent(self, out):
        """The latent used for the category read-out: mu (z = mu at test time), or None."""
        return out["mu"] if self.has_latent else None

    def class_centres(self):
        """(K, D) running class means, NaN rows for categories never seen in training."""
        seen = self.class_seen[:, None] > 0
        return torch.where(seen, self.class_means, torch.full_like(self.class_means, float("nan")))

    @torch.no_grad()
    def update_stats(self, mu, labels, scale, assign=None):
        """EMA update from a training batch: mu (B, D) or None, labels (B,), GT bone lengths (B,) m."""
        m = self.ema
        s = scale.float().mean()
        self.bone_length.copy_(s if self.bone_length <= 0 else m * self.bone_length + (1 - m) * s)
        if mu is None:
            return
        labels = labels.to(mu.device)
        for k in range(NUM_CLASSES):
            sel = labels == k
            if sel.any():
                mk = mu[sel].float().mean(0)
                self.class_means[k] = mk if self.class_seen[k] == 0 else m * self.class_means[k] + (1 - m) * mk
                self.class_seen[k] = 1
        if assign is not None and self.centres is not None:
            known = labels >= 0
            hist = torch.zeros_like(self.cluster_counts)
            hist.index_put_((assign[known], labels[known]), torch.ones_like(labels[known], dtype=hist.dtype),
                            accumulate=True)
            self.cluster_counts.mul_(m).add_(hist)

    @torch.no_grad()
    def category_probs(self, mu):
        """(B, K) category probabilities from softmax(-distance) to the class means (triplet/ours) or
        to the cluster centres mapped through the cluster x category counts (cluster); None without a
        latent. Also returns the nearest cluster (B,) or None."""
        if mu is None:
            return None, None
        if self.centres is not None:
            c = self.centres()
            p_cluster = torch.softmax(-squared_distances(mu, c).sqrt(), dim=1)           # (B, N)
            counts = self.cluster_counts + 1e-6                                           # uniform if empty
            p_cat_given_cluster = counts / counts.sum(1, keepdim=True)                    # (N, K)
            return p_cluster @ p_cat_given_cluster, nearest_cluster(mu, c)
        means = self.class_centres()
        d = squared_distances(mu, torch.nan_to_num(means, nan=0.0)).sqrt()
        d = torch.where(torch.isnan(means[:, 0])[None, :], torch.full_like(d, float("inf")), d)
        if torch.isinf(d).all():
            return None, None
        return torch.softmax(-d, dim=1), None


def build_model(cfg):
    """The LiftModel of a 3D config (for pred2d: fills lift.config2d, loads the 2D weights)."""
    lift = lift_cfg(cfg)
    variant, metric = variant_and_metric(cfg)
    if cfg.data.crop % cfg.data.heatmap_stride:
        raise ConfigError(f"config key 'data.crop' {cfg.data.crop} is not a multiple of data.heatmap_stride")
    lcfg = LifterConfig(variant=variant, width=cfg.model.width, latent_dim=cfg.model.latent,
                        heatmap_size=cfg.data.crop // cfg.data.heatmap_stride)
    net2d = build_net2d(cfg)[1] if lift.source == "pred2d" else None
    return LiftModel(lcfg, metric, lift.clusters, lift.cluster_std, cfg.train.seed, net2d, lift.finetune_2d, lift.ema)


# ---- data --------------------------------------------------------------------------------------------

class LiftKeypoints(torch.utils.data.Dataset):
    """GT heatmaps of hand crops, keypoints only (no image decoding after the first pass).

    Records of `base` (a data.HandCrops) are read once; each item is the HandCrops dict without the
    image and mask, with heatmaps rendered from the uv in the GT crop
    (jittered, with uv noise and map dropout in training; draws from default_rng([seed, epoch, index, 3])).
    """

    def __init__(self, base, lift, train, occluded_weight=0.0):
        self.cfg, self.lift, self.train = base.cfg, lift, train
        self.seed, self.occluded_weight, self.epoch = base.seed, occluded_weight, 0
        self.recs = []
        for i in range(len(base)):
            r = base.record(i)
            self.recs.append({"uv": r["uv"], "xyz": r["xyz"], "K": r["K"], "vis": r["vis"], "side": r["side"],
                              "category": r["category"], "hw": r["rgb"].shape[:2]})

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

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
    """LiftKeypoints for source gt, data.HandCrops (images) for pred2d."""
    lift = lift_cfg(cfg)
    base = make_dataset(cfg, roots, split, train, **kwargs)
    if lift.source == "pred2d":
        return base
    return LiftKeypoints(base, lift, train, cfg.loss.occluded_weight)


def camera_roll(A):
    """(B, 3, 3) rotation about the optical axis matching the in-plane rotation of crop affines A (B, 3, 3)."""
    M = A[:, :2, :2].double()
    s = torch.sqrt(torch.det(M).abs()).clamp_min(1e-12)
    R = torch.eye(3, dtype=torch.float64, device=A.device).repeat(A.shape[0], 1, 1)
    R[:, :2, :2] = M / s[:, None, None]
    return R.to(A.dtype)


# ---- loss --------------------------------------------------------------------------------------------

def loss_3d(net, batch, cfg):
    """(total loss, {term: float}) of a 3D model on a batch: eq. 9 + KL (+ the 2D loss when fine-tuning)."""
    from trainer.engine import unwrap
    model = unwrap(net)
    lift = lift_cfg(cfg)
    side = hand_side_onehot(batch["side"]).to(batch["xyz"].device)
    if model.net2d is not None:
        out = net(side, image=batch["image"])
    else:
        out = net(side, heatmaps=batch["heatmaps"])
    xyz = batch["xyz"] @ camera_roll(batch["A"]).transpose(1, 2)       # the crop's view of the hand
    target = lifting_targets(xyz, batch["side"], lift.root)
    metric = model.metric
    labels = batch["category"] if metric == "triplet" else None
    centres = model.centres() if metric == "cluster" else None
    total, terms = lifting_loss(_float_out(out), target, lift.loss, labels, centres)
    parts = {k: float(v) for k, v in terms.items() if k not in ("assignments", "total")}
    if model.net2d is not None and model.finetune_2d and model.training:
        from trainer.losses2d import heatmap_loss, kl_divergence, mask_loss
        w2 = config_2d(cfg).loss
        o2 = out["out2d"]
        l2 = w2.mask * mask_loss(o2["mask_logits"], batch["mask"]) + w2.heatmap * heatmap_loss(
            o2["heatmaps"], batch["heatmaps"], batch["weight"])
        if "mu" in o2:
            l2 = l2 + w2.kl * kl_divergence(o2["mu"], o2["logvar"]) / float(batch["mask"].shape[-1] * batch["mask"].shape[-2])
        total = total + lift.weight_2d * l2
        parts["loss_2d"] = float(l2.detach())
    if model.training:
        lat = model.latent(out)
        model.update_stats(None if lat is None else lat.detach(), batch["category"], target["scale"],
                           terms.get("assignments"))
    return total, parts


def _float_out(out):
    """Lifter outputs in float32 (losses in full precision under autocast)."""
    return {k: (v.float() if torch.is_tensor(v) else v) for k, v in out.items()}


# ---- evaluation --------------------------------------------------------------------------------------

@torch.no_grad()
def predict_dataset(model, cfg, roots, split, device):
    """Run a 3D model over `split`. Returns (dataset, dict of numpy arrays: rel (N,21,3) predicted
    root-relative bone-normalised pose in the crop's camera view, xyz (N,21,3) GT rolled the same way,
    scale (N,), vis, category, side, mu (N,D) | None, probs (N,K) | None, cluster (N,) | None,
    uv_pred (N,21,2) full px | None for gt heatmaps, uv (N,21,2))."""
    from torch.utils.data import DataLoader
    lift = lift_cfg(cfg)
    model.eval()
    kw = {}
    if lift.source == "pred2d":
        if cfg.eval.crop == "pipeline":
            from trainer.evaluate import predict_boxes
            boxes, _ = predict_boxes(model.net2d, cfg, roots, split, device)
            kw = dict(crop_mode="box", boxes=boxes, box_scale=cfg.eval.box_scale)
        elif cfg.eval.crop != "gt":
            raise ConfigError(f"config key 'eval.crop': {cfg.eval.crop!r}; expected pipeline or gt")
    ds = make_dataset_3d(cfg, roots, split, False, **kw)
    loader = DataLoader(ds, batch_size=cfg.data.batch_size, shuffle=False, num_workers=cfg.data.workers)
    acc = {k: [] for k in ("rel", "xyz", "scale", "vis", "category", "side", "mu", "probs", "cluster", "uv_pred", "uv")}
    from hopgen.core.progress import progress_iter
    for batch in progress_iter(loader, len(loader), "eval 3d", unit="batches"):
        b = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
        side = hand_side_onehot(b["side"]).to(device)
        out = model(side, heatmaps=None if model.net2d is not None else b["heatmaps"],
                    image=b["image"] if model.net2d is not None else None)
        xyz = b["xyz"] @ camera_roll(b["A"]).transpose(1, 2)
        tgt = lifting_targets(xyz, b["side"], lift.root)
        acc["rel"].append(out["relative"].float().cpu().numpy())
        acc["xyz"].append((xyz - tgt["root"][:, None]).cpu().numpy())
        acc["scale"].append(tgt["scale"].cpu().numpy())
        for k in ("vis", "category", "side", "uv"):
            acc[k].append(batch[k].numpy())
        mu = model.latent(out)
        probs, cluster = model.category_probs(mu)
        for k, v in (("mu", mu), ("probs", probs), ("cluster", cluster)):
            acc[k].append(None if v is None else v.float().cpu().numpy())
        if model.net2d is not None:
            from trainer.evaluate import heatmaps_to_uv
            uv_c = heatmaps_to_uv(out["heatmaps"], cfg.data.crop).cpu().numpy()
            A = batch["A"].double().numpy()
            acc["uv_pred"].append(np.stack([apply_affine(np.linalg.inv(A[i]), uv_c[i]) for i in range(len(A))]))
        else:
            acc["uv_pred"].append(None)
    res = {k: (None if v[0] is None else np.concatenate(v)) for k, v in acc.items()}
    return ds, res


def method_label(cfg):
    """Table III label (method_name) for GT-heatmap runs; for whole-pipeline runs (Table IV) the 2D and
    3D labels joined, the baseline pipeline named as in the paper (Zimmermann et al.)."""
    if lift_cfg(cfg).source == "gt":
        return method_name(cfg)
    from trainer.evaluate import method_name as method_2d
    both = f"{method_2d(config_2d(cfg))} + {method_name(cfg)}"
    return f"Zimmermann et al. ({both})" if both == "HS-PoseNet + PosePrior (Z&B)" else both


@torch.no_grad()
def evaluate_3d(run_dir, cfg, model, roots, split, out_dir, device):
    """3D evaluation (Table III for gt heatmaps, Table IV for the pipeline): root-relative poses scaled
    by the GT bone length, AUC over lift.auc_lo_mm..auc_hi_mm on visible joints, per category,
    category accuracy / cluster purity; writes the latent plot OUT/latent_<label>.png (like Fig. 3) and
    returns the metrics dict (`hopgen eval` writes the tables and the PCK plots of all runs)."""
    lift = lift_cfg(cfg)
    os.makedirs(out_dir, exist_ok=True)
    _, r = predict_dataset(model, cfg, roots, split, device)
    pred_mm = r["rel"] * r["scale"][:, None, None] * 1000.0
    gt_mm = r["xyz"] * 1000.0
    vis = r["vis"] == VIS_VISIBLE
    lo, hi = lift.auc_lo_mm, lift.auc_hi_mm
    cats = r["category"]
    rows = table_measures(gt_mm, pred_mm, vis, cats, CATEGORIES, lo, hi)
    all_joints = keypoint_measures(gt_mm, pred_mm, np.ones_like(vis), lo, hi)
    known = cats >= 0
    cat_acc = purity = None
    if r["probs"] is not None and known.any():
        cat_acc = float((r["probs"].argmax(1)[known] == cats[known]).mean())
    if r["cluster"] is not None:
        purity = cluster_purity(r["cluster"], cats)
    label = os.path.basename(os.path.normpath(run_dir))
    method = method_label(cfg)
    latent_png = None
    if r["mu"] is not None:
        centres = model.centres().detach().cpu().numpy() if model.centres is not None else \
            model.class_centres().cpu().numpy()
        latent_png = f"latent_{label}.png"
        plot_latent(r["mu"], cats, centres, os.path.join(out_dir, latent_png),
                    f"{method}: latent mu (PCA)", lift.latent_plot_max, cfg.train.seed)
    res = {"method": method, "stage": "3d", "table": "III" if lift.source == "gt" else "IV",
           "input": "GT heatmaps" if lift.source == "gt" else f"2D stage ({cfg.eval.crop} crop)",
           "unit": "mm", "lo": lo, "hi": hi, "split": split,
           "data": [os.path.basename(os.path.normpath(x)) for x in roots], "samples": int(len(cats)),
           **rows, "auc_all_joints": all_joints["auc"], "category_accuracy": cat_acc, "cluster_purity": purity,
           "latent_plot": latent_png, "bone_length_train_m": float(model.bone_length)}
    if r["uv_pred"] is not None:
        m2 = keypoint_measures(r["uv"], r["uv_pred"], vis, 0.0, 20.0)
        res.update(auc_2d=m2["auc"], epe_median_2d_px=m2["epe_median"])
    return res


def _stage():
    from trainer.engine import Stage
    return Stage(name="3d", build_model=build_model, loss=loss_3d, make_dataset=make_dataset_3d,
                 evaluate=evaluate_3d)


STAGE = _stage()
