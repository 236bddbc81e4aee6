"""Losses of the 3D lifting stage (paper eqs. 5-9) and the object-category read-out.

Reductions: every term is a per-item sum (over joints and coordinates, matrix entries, latent
dimensions) then, with reduction="mean" (default), a mean over the batch (samples, or triplets
for the triplet loss), so weights do not depend on the batch size; reduction="sum" gives the
paper's literal sums over the batch.
"""

import numpy as np
import torch

from trainer.config import MINING, REDUCTIONS, Loss3DConfig  # noqa: F401  (Loss3DConfig: the weights of lifting_loss)


def _reduce(per_item, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    if per_item.numel() == 0:
        return per_item.sum()  # 0, keeps dtype/device
    return per_item.mean() if reduction == "mean" else per_item.sum()


def pose_loss(pred, target, reduction="mean"):
    """Squared L2 between canonical poses (B, J, 3): sum over joints and xyz per sample."""
    if pred.shape != target.shape:
        raise ValueError(f"pose_loss: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}")
    return _reduce(((pred - target) ** 2).flatten(1).sum(1), reduction)


def rotation_loss(pred, target, reduction="mean"):
    """|R_gt - R|^2 (squared Frobenius norm) per sample, rotations (B, 3, 3)."""
    if pred.shape != target.shape:
        raise ValueError(f"rotation_loss: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}")
    return _reduce(((pred - target) ** 2).flatten(1).sum(1), reduction)


def kl_divergence(mu, logvar, reduction="mean"):
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over latent dims, (B, D) inputs; >= 0.

    Written as 0.5 * (mu^2 + (e^lv - 1 - lv)), each part >= 0, clamped so rounding cannot go below 0.
    """
    per_dim = 0.5 * (mu ** 2 + (torch.exp(logvar) - 1.0 - logvar).clamp_min(0.0))
    return _reduce(per_dim.sum(1), reduction)


def squared_distances(a, b):
    """(N, M) squared Euclidean distances between the rows of a (N, D) and b (M, D), exact (no
    |a|^2 + |b|^2 - 2ab cancellation) and with finite gradients at zero distance."""
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def mine_triplets(labels, mode="all", generator=None):
    """Triplet indices (ref, pos, neg), three (T,) long tensors, from labels (B,) within a batch.

    A positive shares the reference's label (another sample), a negative has a different label;
    labels < 0 (unknown category) take no part. mode "all": every valid (ref, pos, neg), in
    lexicographic order (deterministic). mode "random": one positive and one negative per
    reference that has both, drawn uniformly with `generator` (torch.Generator, or None for the
    global torch RNG).
    """
    if mode not in MINING:
        raise ValueError(f"triplet mining: expected one of {MINING}, got {mode!r}")
    labels = torch.as_tensor(labels).reshape(-1).to(torch.long).cpu()
    known = labels >= 0
    same = (labels[:, None] == labels[None, :]) & known[:, None] & known[None, :]
    same.fill_diagonal_(False)
    diff = (labels[:, None] != labels[None, :]) & known[:, None] & known[None, :]
    if mode == "all":
        valid = same[:, :, None] & diff[:, None, :]  # (ref, pos, neg)
        ref, pos, neg = valid.nonzero(as_tuple=True)
        return ref, pos, neg
    refs = (same.any(1) & diff.any(1)).nonzero(as_tuple=True)[0]
    if len(refs) == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty, empty
    # Uniform choice among the True entries of each row: argmax of random scores on the mask.
    r_pos = torch.rand(len(refs), len(labels), generator=generator)
    r_neg = torch.rand(len(refs), len(labels), generator=generator)
    pos = torch.where(same[refs], r_pos + 1.0, torch.zeros_like(r_pos)).argmax(1)
    neg = torch.where(diff[refs], r_neg + 1.0, torch.zeros_like(r_neg)).argmax(1)
    return refs, pos, neg


def triplet_from_distances(d_pos, d_neg, margin=0.01):
    """Per-triplet value of eq. 5 from squared distances (T,): ln(max(1, 2 - d_neg / (d_pos + m))) + d_pos."""
    return torch.log(torch.clamp(2.0 - d_neg / (d_pos + margin), min=1.0)) + d_pos


def triplet_terms(z_ref, z_pos, z_neg, margin=0.01):
    """Per-triplet value of eq. 5, (T,), from the latents (T, D) of references, positives, negatives."""
    return triplet_from_distances(((z_ref - z_pos) ** 2).sum(-1), ((z_ref - z_neg) ** 2).sum(-1), margin)


def triplet_loss(z, labels, margin=0.01, mode="all", generator=None, reduction="mean"):
    """Eq. 5 over the triplets mined in the batch (z (B, D), labels (B,) object categories).

    Zero (still attached to z) when the batch holds no valid triplet. The default margin 0.01 is
    that of the descriptor-learning triplet loss the paper cites (its margin is not stated).
    Distances come from one (B, B) matrix, so mode "all" costs O(B^3) scalars, not latents.
    """
    if margin < 0:
        raise ValueError(f"triplet_loss: margin must be >= 0, got {margin}")
    ref, pos, neg = (i.to(z.device) for i in mine_triplets(labels, mode, generator))
    if len(ref) == 0:
        return z.sum() * 0.0
    d2 = squared_distances(z, z)
    return _reduce(triplet_from_distances(d2[ref, pos], d2[ref, neg], margin), reduction)


def nearest_cluster(z, centres):
    """Index (B,) of the nearest centre (N, D) to each latent z (B, D)."""
    return squared_distances(z.detach(), centres.detach()).argmin(1)


def cluster_loss(z, centres, reduction="mean"):
    """Eq. 6: each z (B, D) is assigned its nearest centre (N, D); loss = sum |z_m - c_m|^2.

    The assignment is a hard argmin (no gradient); the distance moves both z and the centres.
    Returns (loss, assignments (B,) long).
    """
    if z.shape[-1] != centres.shape[-1]:
        raise ValueError(f"cluster_loss: latent size {z.shape[-1]} != centre size {centres.shape[-1]}")
    assign = nearest_cluster(z, centres)
    return _reduce(((z - centres[assign]) ** 2).sum(-1), reduction), assign


def class_means(z, labels, num_classes):
    """(num_classes, D) mean latent of each category (rows of absent categories are NaN).

    Used after triplet training: the means of the training latents are the class centres.
    """
    z = torch.as_tensor(z)
    labels = torch.as_tensor(labels, device=z.device).reshape(-1).to(torch.long)
    out = torch.full((num_classes, z.shape[-1]), float("nan"), dtype=z.dtype, device=z.device)
    for k in range(num_classes):
        sel = labels == k
        if sel.any():
            out[k] = z[sel].mean(0)
    return out


def nearest_class_centre(z, class_means):
    """Category (B,) of the nearest class mean (K, D); NaN rows (absent classes) are never chosen."""
    d = squared_distances(torch.as_tensor(z).detach(), class_means.detach())
    d = torch.where(torch.isnan(d), torch.full_like(d, float("inf")), d)
    return d.argmin(1)


def cluster_purity(assignments, labels):
    """Purity in [0, 1]: the fraction of samples whose label is the majority label of their cluster.

    Samples with labels < 0 are ignored; returns nan when none is left.
    """
    a = np.asarray(torch.as_tensor(assignments).cpu()).reshape(-1).astype(np.int64)
    y = np.asarray(torch.as_tensor(labels).cpu()).reshape(-1).astype(np.int64)
    if a.shape != y.shape:
        raise ValueError(f"cluster_purity: {a.shape[0]} assignments but {y.shape[0]} labels")
    keep = y >= 0
    a, y = a[keep], y[keep]
    if len(y) == 0:
        return float("nan")
    majority = sum(np.bincount(y[a == c]).max() for c in np.unique(a))
    return float(majority) / len(y)


def metric_loss(z, labels=None, centres=None, cfg=None, generator=None):
    """Eq. 7 (unweighted): triplet (if labels) + cluster (if centres). Returns (loss, terms dict)."""
    cfg = cfg or Loss3DConfig()
    terms = {}
    total = z.sum() * 0.0
    if labels is not None:
        terms["triplet"] = triplet_loss(z, labels, cfg.margin, cfg.mining, generator, cfg.reduction)
        total = total + terms["triplet"]
    if centres is not None:
        terms["cluster"], terms["assignments"] = cluster_loss(z, centres, cfg.reduction)
        total = total + terms["cluster"]
    return total, terms


def lifting_loss(out, target, cfg=None, labels=None, centres=None, generator=None):
    """Eq. 9 + KL: w_pose L_pose + w_rot |R_gt - R|^2 + w_kl KL + w_trip L_triplet + w_clu L_cluster.

    out: Lifter output dict (canonical, rotation, z, mu, logvar); the metric terms see out[cfg.metric_on]. target: dict with canonical
    (B, J, 3) and rotation (B, 3, 3) from hopgen.hand.canonical. labels: (B,) categories (-1 unknown)
    or None; centres: (N, D) tensor (ClusterCentres()) or None. KL is used when out has logvar.
    Returns (total scalar, dict of the unweighted terms as detached tensors + "assignments").
    """
    cfg = cfg or Loss3DConfig()
    canonical = out["canonical"]
    total = canonical.sum() * 0.0
    terms = {}

    def add(name, weight, value):
        nonlocal total
        terms[name] = value.detach()
        if weight:
            total = total + weight * value

    add("pose", cfg.pose, pose_loss(canonical, target["canonical"], cfg.reduction))
    add("rotation", cfg.rotation, rotation_loss(out["rotation"], target["rotation"], cfg.reduction))
    if out.get("logvar") is not None and cfg.kl:
        add("kl", cfg.kl, kl_divergence(out["mu"], out["logvar"], cfg.reduction))
    z = out.get("mu") if cfg.metric_on == "mu" else out.get("z")  # metric losses on the means (Loss3DConfig)
    if z is not None and labels is not None and cfg.triplet:
        add("triplet", cfg.triplet, triplet_loss(z, labels, cfg.margin, cfg.mining, generator, cfg.reduction))
    if z is not None and centres is not None and cfg.cluster:
        value, terms["assignments"] = cluster_loss(z, centres, cfg.reduction)
        add("cluster", cfg.cluster, value)
    terms["total"] = total.detach()
    return total, terms


def kmeans_pp(x, n, generator=None, lloyd_steps=10):
    """n centres (n, D) for the points x (M, D), M >= n: k-means++ seeding (each new centre drawn with
    probability proportional to the squared distance to the nearest chosen one; `generator` a
    torch.Generator on the CPU) refined by `lloyd_steps` Lloyd iterations (a centre that loses all its
    points keeps its place)."""
    x = x.detach().float().cpu()
    if x.shape[0] < n:
        raise ValueError(f"kmeans_pp: {x.shape[0]} points for {n} centres")
    idx = [int(torch.randint(x.shape[0], (1,), generator=generator))]
    d2 = squared_distances(x, x[idx[0]][None])[:, 0]
    for _ in range(1, n):
        p = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / len(d2))
        idx.append(int(torch.multinomial(p, 1, generator=generator)))
        d2 = torch.minimum(d2, squared_distances(x, x[idx[-1]][None])[:, 0])
    c = x[idx].clone()
    for _ in range(lloyd_steps):
        a = squared_distances(x, c).argmin(1)
        for k in range(n):
            if (a == k).any():
                c[k] = x[a == k].mean(0)
    return c


def far_point(x, centres, generator=None):
    """One row of x (M, D) drawn with probability proportional to its squared distance to the nearest
    of `centres` (K, D) (the k-means++ step; used to re-seed a dead centre)."""
    x = x.detach().float().cpu()
    d2 = squared_distances(x, centres.detach().float().cpu()).min(1).values
    p = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / len(d2))
    return x[int(torch.multinomial(p, 1, generator=generator))]
