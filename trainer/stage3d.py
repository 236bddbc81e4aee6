"""The 3D stage for the training engine: lifting from heatmaps, alone or behind a trained 2D stage.

Config (`stage: 3d`): the core sections plus the `lift` section (trainer.config.LiftCfg).

    model.kind    poseprior    PosePrior + ViewPoint (Zimmermann & Brox)
                  ours         variational q_j/p_p + ViewPoint, no metric loss
                  ours_triplet variational + triplet loss on the object category (eq. 5)
                  ours_cluster variational + cluster loss with lift.clusters learnable centres (eq. 6)
                  ours_novar   deterministic q_j ("ours without variational"), metric per lift.metric
    lift.metric   auto (from model.kind) | none | triplet | cluster | triplet+cluster (eq. 7)
    model.width / model.latent / model.fc   channel multiplier / size of z_j / q_j's FC layers after
                  PosePrior's first FC (paper: 1.0 / 256 / [256, 128, 128])
    lift.source   gt      heatmaps rendered from the GT uv in the GT hand crop (Table III protocol),
                          with uv noise (lift.uv_noise) and crop jitter in training; no image is read
                  pred2d  heatmaps predicted by the 2D stage of lift.run2d (Table IV, the whole
                          pipeline); lift.finetune_2d also trains the 2D network (the 2D stage's own
                          loss added with weight lift.weight_2d); otherwise it is frozen, in eval mode
    lift.input_norm / lift.input_size   how any heatmaps become the lifter's input (LiftModel.lifter_input:
                  resampled to the lifter's grid, "sample_max" = clamped at 0 and divided by the
                  sample's max), identical in training, evaluation and prediction
    lift.init_from  a 3D run (Table IV: the Table III run of the same method and seed) whose lifter,
                  centres and running statistics initialise this run (init_from_run, when training starts)

Loss (loss_3d): eq. 9 + beta KL (lift.loss, see trainer.config.Loss3DConfig: per-sample sums, beta
ramped over kl_warmup steps, metric terms on the latent means), + the 2D loss when fine-tuning.
Cluster centres are seeded by k-means++ on the latent means after lift.cluster_warmup steps (the
cluster loss is off until then) and dead centres are re-seeded (models3d.ClusterCentres).

A pred2d run is self-contained: its checkpoint holds the 2D weights (model.net2d.*) and its
config the 2D run's resolved config (lift.config2d, YAML text filled in when the model is built).

The model (LiftModel) also keeps running statistics of the training batches (EMA, momentum
lift.ema) in buffers, so they travel with the checkpoint: the class means of the latent mu (the
category read-out of triplet/ours models), cluster x category counts (the category of a cluster),
the mean bone length in metres (used by `hopgen predict` to place a hand in the camera frame) and
the number of training steps taken (the KL warm-up).

In-plane crop rotations (data.rotation_deg) are applied to the 3D targets too: the camera frame is
rolled about its optical axis by the crop angle, so the viewpoint stays consistent with the maps.
Evaluation is trainer.evaluate.evaluate_3d; the datasets are trainer.data.make_dataset_3d.
"""

import dataclasses
import os

import torch
from torch import nn
import torch.nn.functional as F

from hopgen.core.skeleton import CATEGORIES
from trainer.config import ConfigError, config_2d, config_from_dict, lift_cfg, variant_and_metric
from trainer.data import make_dataset_3d
from trainer.engine import CheckpointError, load_checkpoint, unwrap
from trainer.evaluate import evaluate_3d
from trainer.losses2d import loss_2d_outputs
from trainer.losses3d import lifting_loss, nearest_cluster, squared_distances
from trainer.models3d import ClusterCentres, Lifter, LifterConfig, camera_roll, hand_side_onehot, lifting_targets
from trainer.stages import Stage

NUM_CLASSES = len(CATEGORIES)


# ---- the 2D stage behind a pred2d run ---------------------------------------------------------------

def build_net2d(cfg):
    """(cfg2d, 2D network) of a pred2d config, with the 2D run's weights when its checkpoint exists."""
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

    forward(side (B, 2), heatmaps (B, 21, S, S) | None, image (B, 3, C, C) | None, seg_image | None) -> the Lifter's
    dict plus heatmaps (the lifter's input) and out2d (the 2D network's output dict, or None).
    """

    def __init__(self, lifter_cfg, metric="none", clusters=5, cluster_std=1.0, seed=0, net2d=None,
                 finetune_2d=False, ema=0.99, cluster_kw=None, input_norm="none"):
        super().__init__()
        self.metric, self.ema, self.finetune_2d = metric, float(ema), bool(finetune_2d)
        self.input_norm = input_norm
        self.lifter = Lifter(lifter_cfg)
        self.has_latent = lifter_cfg.variant != "poseprior"
        d = lifter_cfg.latent_dim
        kw = dict(cluster_kw or {"init": "gaussian"}, seed=seed)  # ClusterCentres options (build_model: from lift)
        self.centres = (ClusterCentres(clusters, d, cluster_std, torch.Generator().manual_seed(seed), **kw)
                        if "cluster" in metric else None)
        self.uses_labels = "triplet" in metric
        self.net2d = net2d
        if net2d is not None and not finetune_2d:
            net2d.requires_grad_(False)
        self.register_buffer("class_means", torch.zeros(NUM_CLASSES, d))
        self.register_buffer("class_seen", torch.zeros(NUM_CLASSES))
        self.register_buffer("cluster_counts", torch.zeros(clusters if self.centres is not None else 0, NUM_CLASSES))
        self.register_buffer("bone_length", torch.zeros(()))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))  # training steps taken (KL warm-up)

    def train(self, mode=True):
        super().train(mode)
        if self.net2d is not None and not self.finetune_2d:
            self.net2d.eval()  # a frozen 2D stage predicts as at test time (z = mu, no BN updates)
        return self

    def forward(self, side, heatmaps=None, image=None, seg_image=None):
        out2d = None
        if self.net2d is not None:
            if image is None:
                raise ValueError("LiftModel: a pred2d model needs the image crop")
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.finetune_2d):
                out2d = self.net2d(image) if seg_image is None else self.net2d(image, seg_image=seg_image)
            heatmaps = out2d["heatmaps"][-1].float()
        x = self.lifter_input(heatmaps)
        out = self.lifter(x, side)
        out.update(heatmaps=heatmaps, lifter_input=x, out2d=out2d)
        return out

    def lifter_input(self, heatmaps):
        """The lifter's input from heatmaps (B, 21, h, w), GT or a 2D stage's, the same way in training,
        evaluation and `hopgen predict`: resampled bilinearly to the lifter's grid S when h, w != S
        (cell centres aligned: align_corners=False, the convention of evaluate.heatmaps_to_uv), then for
        input_norm "sample_max" clamped at 0 (a GT map has no negative values) and divided by the sample's
        maximum over all its maps (floored at 1e-3, so an empty sample stays empty). One common maximum
        keeps the relative confidence of the joints (a GT map is zero for an invisible joint; a 2D
        stage's map for it is usually weaker than the others) and removes only the overall scale, which
        is what differs between GT maps (peak ~1) and an undertrained 2D stage's (peak ~0.06)."""
        s = self.lifter.cfg.heatmap_size
        x = heatmaps.float()
        if tuple(x.shape[-2:]) != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)
        if self.input_norm == "sample_max":
            x = x.clamp_min(0.0)
            x = x / x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        elif self.input_norm != "none":
            raise ValueError(f"LiftModel: input_norm {self.input_norm!r}; expected none or sample_max")
        return x

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
                        encoder_fc=tuple(cfg.model.fc), heatmap_size=lifter_grid(cfg))
    net2d = build_net2d(cfg)[1] if lift.source == "pred2d" else None
    cluster_kw = dict(init=lift.cluster_init, buffer=lift.cluster_buffer, warmup=lift.cluster_warmup,
                      reseed_every=lift.cluster_reseed_every, dead_share=lift.cluster_dead_share, ema=lift.ema)
    return LiftModel(lcfg, metric, lift.clusters, lift.cluster_std, cfg.train.seed, net2d, lift.finetune_2d,
                     lift.ema, cluster_kw, lift.input_norm)


def lifter_grid(cfg):
    """Side S of the lifter's (S, S) input maps: lift.input_size, or the data's crop / heatmap_stride."""
    return lift_cfg(cfg).input_size or cfg.data.crop // cfg.data.heatmap_stride


def _lifter_signature(cfg):
    """What must agree between a run and the run its lifter is initialised from (lift.init_from)."""
    lift = lift_cfg(cfg)
    variant, metric = variant_and_metric(cfg)
    return {"lifter variant": variant, "metric loss": metric, "model.width": cfg.model.width,
            "model.latent": cfg.model.latent, "model.fc": list(cfg.model.fc), "lifter grid": lifter_grid(cfg),
            "lift.input_norm": lift.input_norm, "lift.clusters": lift.clusters if "cluster" in metric else None,
            "lift.cluster_buffer": lift.cluster_buffer if "cluster" in metric else None,
            "lift.root": lift.root}


def init_from_run(model, cfg):
    """Stage.init: copy lift.init_from's lifter (q_j/p_p or PosePrior, ViewPoint), cluster centres (with their
    book-keeping) and running statistics into a freshly built LiftModel; the 2D network (net2d.*) keeps its
    own weights and `steps` restarts at 0 (this run's steps). CheckpointError naming the file when the run
    or its weights do not match this config (model kind, metric, sizes, lifter grid, input_norm, ...)."""
    lift = lift_cfg(cfg)
    if not lift.init_from:
        return
    path = os.path.join(lift.init_from, "ckpt", lift.init_checkpoint)
    ck = load_checkpoint(path)
    if "config" not in ck:
        raise CheckpointError(f"{path}: lift.init_from needs a checkpoint with its config (a hopgen 3D run)")
    try:
        src = config_from_dict(ck["config"])
        if src.stage != "3d":
            raise CheckpointError(f"{path}: lift.init_from is a {src.stage!r} run, not a 3D run")
        want, have = _lifter_signature(cfg), _lifter_signature(src)
    except ConfigError as e:
        raise CheckpointError(f"{path}: lift.init_from: its config is not a valid 3D config ({e})") from None
    diff = [f"{k} {have[k]!r} (this run {want[k]!r})" for k in want if want[k] != have[k]]
    if diff:
        raise CheckpointError(f"{path}: lift.init_from does not match this run: " + "; ".join(diff))
    own = {k: v for k, v in model.state_dict().items() if not k.startswith("net2d.") and k != "steps"}
    theirs = {k: v for k, v in ck["model"].items() if not k.startswith("net2d.") and k != "steps"}
    bad = sorted(set(own) ^ set(theirs)) + sorted(k for k in own.keys() & theirs.keys()
                                                  if tuple(own[k].shape) != tuple(theirs[k].shape))
    if bad:
        raise CheckpointError(f"{path}: lift.init_from weights do not fit this lifter (keys/shapes: {', '.join(bad[:5])}"
                              f"{' ...' if len(bad) > 5 else ''})")
    model.load_state_dict(theirs, strict=False)


# ---- loss --------------------------------------------------------------------------------------------

def loss_3d(net, batch, cfg):
    """(total loss, {term: float}) of a 3D model on a batch: eq. 9 + beta KL (+ the 2D loss when fine-tuning)."""
    model = unwrap(net)
    lift = lift_cfg(cfg)
    side = hand_side_onehot(batch["side"]).to(batch["xyz"].device)
    if model.net2d is not None:  # seg_image: HandSegNet's own training view (data.seg_crop > 0, hs_posenet)
        out = net(side, image=batch["image"], seg_image=batch.get("seg_image"))
    else:
        out = net(side, heatmaps=batch["heatmaps"])
    xyz = batch["xyz"] @ camera_roll(batch["A"]).transpose(1, 2)       # the crop's view of the hand
    target = lifting_targets(xyz, batch["side"], lift.root)
    labels = batch["category"] if model.uses_labels else None
    centres = model.centres() if model.centres is not None and bool(model.centres.ready) else None
    wl = lift.loss
    if wl.kl_warmup > 0:  # linear beta ramp over the first kl_warmup steps
        wl = dataclasses.replace(wl, kl=wl.kl * min(1.0, float(model.steps + 1) / wl.kl_warmup))
    total, terms = lifting_loss(_float_out(out), target, wl, labels, centres)
    parts = {k: float(v) for k, v in terms.items() if k not in ("assignments", "total")}
    if model.centres is not None and "cluster" not in parts:
        parts["cluster"] = 0.0  # centres not seeded yet (k-means++ warm-up)
    if model.net2d is not None and model.finetune_2d and model.training:
        # the 2D stage's own loss on the output of the joint forward pass (KL warm-up on its own step count)
        step = int(model.net2d.kl_step) if hasattr(model.net2d, "kl_step") else 0
        l2, parts2 = loss_2d_outputs(out["out2d"], batch, config_2d(cfg), step)
        total = total + lift.weight_2d * l2
        parts["loss_2d"] = float(l2.detach())
        parts.update({f"2d_{k}": float(v.detach()) for k, v in parts2.items()})
    if model.training:
        lat = model.latent(out)
        mu = None if lat is None else lat.detach()
        assign = None
        if model.centres is not None and mu is not None:
            model.centres.observe(mu)
            assign = nearest_cluster(mu, model.centres())
            parts["clusters_live"] = float((model.centres.share >= lift.cluster_dead_share / lift.clusters).sum())
        model.update_stats(mu, batch["category"], target["scale"], assign)
        model.steps += 1
    return total, parts


def _float_out(out):
    """Lifter outputs in float32 (losses in full precision under autocast)."""
    return {k: (v.float() if torch.is_tensor(v) else v) for k, v in out.items()}


STAGE = Stage(name="3d", build_model=build_model, loss=loss_3d, make_dataset=make_dataset_3d, evaluate=evaluate_3d,
              init=init_from_run)
