"""Stage 2D losses (paper eq. 4): L2d = KL_h + L_mask + L_heatmap, weights in cfg.loss.

The KL of q(z_h|X) against N(0, I) (summed over the latent, batch mean) is divided by the number of
mask pixels, so that with the mask BCE averaged over pixels the first two terms are the negative
ELBO per pixel. eq. 4's KL_j is the same term again in our 2D stage (p_j decodes from the same
z_h through p_h), so it is not counted twice.
"""

import torch
import torch.nn.functional as F


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the latent, mean over the batch (>= 0)."""
    mu, logvar = mu.float(), logvar.float()
    kl = 0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar).sum(1)
    return kl.clamp_min(0.0).mean()


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


def loss_2d(model, batch, cfg):
    """(total loss, dict of float components) of a 2D model on a batch (tensors on the model's device)."""
    out = model(batch["image"])
    w = cfg.loss
    parts = {"mask": mask_loss(out["mask_logits"], batch["mask"]),
             "heatmap": heatmap_loss(out["heatmaps"], batch["heatmaps"], batch["weight"])}
    total = w.mask * parts["mask"] + w.heatmap * parts["heatmap"]
    if "mu" in out:
        parts["kl"] = kl_divergence(out["mu"], out["logvar"])
        total = total + w.kl * parts["kl"] / float(batch["mask"].shape[-1] * batch["mask"].shape[-2])
    return total, {k: float(v.detach()) for k, v in parts.items()}
