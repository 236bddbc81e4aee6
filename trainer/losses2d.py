"""Stage 2D losses (paper eq. 4): L2d = beta * KL_h + L_mask + L_heatmap, weights in cfg.loss.

Scaling (the balance of the ELBO terms, stated so it can be checked):
- L_mask is the binary cross-entropy averaged over the mask pixels (a per-pixel Bernoulli likelihood);
- L_heatmap is the visibility-weighted squared error averaged over each joint's map, summed over joints
  and PoseNet stages (hand3d);
- KL_h = KL(q(z_h|X) || N(0, I)) averaged over the latent dimensions (per-dimension mean, batch mean).
Every term is a per-dimension mean, so `loss.kl` is the normalised beta of a beta-VAE (Higgins et al.
2017: beta_norm = beta * latent / pixels); beta_norm = 1 weighs one nat of KL per latent dimension as
much as one nat of BCE per mask pixel. (The previous scaling, KL summed over the latent / crop^2, is
beta_norm = latent / crop^2 = 1/256 at 256 px with z 256, the plain per-pixel ELBO of the mask alone:
the KL barely constrained q(z_h|X), so "ours" was close to "ours w/o variational"; issue 13.) beta ramps linearly from 0 to loss.kl over the first
loss.kl_warmup training steps (the step count is the model's `kl_step` buffer, so resume is exact).
eq. 4's KL_j is the same term again in our 2D stage (p_j decodes from the same z_h through p_h), so it
is not counted twice. The CPU configs' beta was chosen on the val split (benchmarks/paper_cpu_2d.sh).

HS-PoseNet trains its HandSegNet on its own view: when the batch has `seg_image` / `seg_mask`
(data.seg_crop > 0: random whole-image crops against the visible mask, hand3d), the mask loss is
computed on those and the heatmap loss on the hand crop `image`.
"""

import torch
import torch.nn.functional as F


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the latent, mean over the batch (>= 0)."""
    mu, logvar = mu.float(), logvar.float()
    kl = 0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar).sum(1)
    return kl.clamp_min(0.0).mean()


def kl_weight(cfg, step):
    """beta_norm at training step `step` (0-based): loss.kl, ramped linearly over loss.kl_warmup steps."""
    w = cfg.loss
    if w.kl_warmup <= 0:
        return float(w.kl)
    return float(w.kl) * min(1.0, (float(step) + 1.0) / float(w.kl_warmup))


def mask_loss(logits, target):
    """Binary cross-entropy of the hand mask, mean over pixels and batch."""
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def heatmap_loss(maps, target, weight):
    """Visibility-weighted L2 summed over the stages: per joint mean squared error over the map,
    weighted, summed over joints, mean over the batch. maps: list of (B, 21, h, w)."""
    total = 0.0
    for m in maps:
        err = (m.float() - target).pow(2).mean((2, 3))  # (B, 21)
        total = total + (err * weight).sum(1).mean()
    return total


def loss_2d_outputs(out, batch, cfg, step=0):
    """(total loss tensor, {name: tensor}) of 2D network outputs `out` on `batch` (see the module
    docstring); `step` drives the KL warm-up. Shared by the 2D stage and the joint (Table IV) training."""
    w = cfg.loss
    target = batch["seg_mask"] if "seg_mask" in batch else batch["mask"]
    parts = {"mask": mask_loss(out["mask_logits"], target),
             "heatmap": heatmap_loss(out["heatmaps"], batch["heatmaps"], batch["weight"])}
    total = w.mask * parts["mask"] + w.heatmap * parts["heatmap"]
    if "mu" in out:
        parts["kl"] = kl_divergence(out["mu"], out["logvar"]) / float(out["mu"].shape[1])  # per latent dim
        beta = kl_weight(cfg, step)
        total = total + beta * parts["kl"]
        parts["beta"] = torch.tensor(beta)
    return total, parts


def loss_2d(model, batch, cfg):
    """(total loss, dict of float components) of a 2D model on a batch (tensors on the model's device)."""
    inner = getattr(getattr(model, "_orig_mod", model), "module", getattr(model, "_orig_mod", model))
    step = int(inner.kl_step) if hasattr(inner, "kl_step") else 0
    if "seg_image" in batch:
        out = model(batch["image"], seg_image=batch["seg_image"])
    else:
        out = model(batch["image"])
    total, parts = loss_2d_outputs(out, batch, cfg, step)
    return total, {k: float(v.detach()) for k, v in parts.items()}
