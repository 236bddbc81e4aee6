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

from hopgen.core.skeleton import CATEGORIES
from trainer.config import ConfigError, config_2d, lift_cfg, variant_and_metric
from trainer.data import make_dataset_3d
from trainer.engine import load_checkpoint, unwrap
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
                 finetune_2d=False, ema=0.99, cluster_kw=None):
        super().__init__()
        self.metric, self.ema, self.finetune_2d = metric, float(ema), bool(finetune_2d)
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
                        encoder_fc=tuple(cfg.model.fc), heatmap_size=cfg.data.crop // cfg.data.heatmap_stride)
    net2d = build_net2d(cfg)[1] if lift.source == "pred2d" else None
    cluster_kw = dict(init=lift.cluster_init, buffer=lift.cluster_buffer, warmup=lift.cluster_warmup,
                      reseed_every=lift.cluster_reseed_every, dead_share=lift.cluster_dead_share, ema=lift.ema)
    return LiftModel(lcfg, metric, lift.clusters, lift.cluster_std, cfg.train.seed, net2d, lift.finetune_2d,
                     lift.ema, cluster_kw)


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


STAGE = Stage(name="3d", build_model=build_model, loss=loss_3d, make_dataset=make_dataset_3d, evaluate=evaluate_3d)
