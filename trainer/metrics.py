"""Keypoint and mask measures with the hand3d evaluation protocol (PAPER.md).

Per keypoint k, only the samples where k is visible count. PCK_k(t) is the fraction of their errors
<= t at t = linspace(lo, hi, steps); AUC_k = trapz(PCK_k, t) / (hi - lo); the reported AUC, EPE
median and EPE mean are means over the keypoints that have data of AUC_k, median_k, mean_k.
"""

import numpy as np


def _trapz(y, x):
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def keypoint_measures(gt, pred, vis, lo, hi, steps=20):
    """gt, pred (N, K, D); vis (N, K) bool (True = count it). Returns dict:
    auc, epe_median, epe_mean (floats), pck (steps,) mean over keypoints with data,
    thresholds (steps,), auc_per_keypoint (K,) (NaN without data), count (visible pairs)."""
    gt, pred = np.asarray(gt, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    vis = np.asarray(vis, dtype=bool)
    if gt.shape != pred.shape or gt.ndim != 3 or vis.shape != gt.shape[:2]:
        raise ValueError(f"keypoint_measures: shapes gt {gt.shape}, pred {pred.shape}, vis {vis.shape} do not match (N,K,D)/(N,K)")
    if not hi > lo:
        raise ValueError(f"keypoint_measures: need hi > lo, got lo={lo}, hi={hi}")
    err = np.linalg.norm(gt - pred, axis=-1)  # (N, K)
    t = np.linspace(lo, hi, steps)
    k_n = gt.shape[1]
    auc_k, med_k, mean_k, pck_k = np.full(k_n, np.nan), np.full(k_n, np.nan), np.full(k_n, np.nan), []
    for k in range(k_n):
        e = err[vis[:, k], k]
        if e.size == 0:
            continue
        pck = (e[:, None] <= t[None, :]).mean(0)
        pck_k.append(pck)
        auc_k[k] = _trapz(pck, t) / (hi - lo)
        med_k[k], mean_k[k] = np.median(e), e.mean()
    has = ~np.isnan(auc_k)
    if not has.any():
        nan = float("nan")
        return {"auc": nan, "epe_median": nan, "epe_mean": nan, "pck": np.full(steps, np.nan),
                "thresholds": t, "auc_per_keypoint": auc_k, "count": 0}
    return {"auc": float(auc_k[has].mean()), "epe_median": float(med_k[has].mean()),
            "epe_mean": float(mean_k[has].mean()), "pck": np.mean(pck_k, axis=0), "thresholds": t,
            "auc_per_keypoint": auc_k, "count": int(vis.sum())}


def mask_iou(pred, gt):
    """Intersection over union of boolean masks (..., H, W), pooled over everything given (1.0 if both empty)."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"mask_iou: shapes {pred.shape} and {gt.shape} differ")
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def table_measures(gt, pred, vis, categories, names, lo, hi, steps=20):
    """The numbers of one evaluation-table row (Tables I-IV): keypoint_measures over all samples
    (auc, epe_median, epe_mean; pck and thresholds as lists) plus per_category {names[c]: {auc,
    epe_median, epe_mean, samples}} for every category id c present in `categories` (N,)."""
    gt, pred, vis = np.asarray(gt), np.asarray(pred), np.asarray(vis, dtype=bool)
    cats = np.asarray(categories)
    m = keypoint_measures(gt, pred, vis, lo, hi, steps)
    per_cat = {}
    for c, name in enumerate(names):
        sel = cats == c
        if sel.any():
            mc = keypoint_measures(gt[sel], pred[sel], vis[sel], lo, hi, steps)
            per_cat[name] = {"auc": mc["auc"], "epe_median": mc["epe_median"], "epe_mean": mc["epe_mean"],
                             "samples": int(sel.sum())}
    return {"auc": m["auc"], "epe_median": m["epe_median"], "epe_mean": m["epe_mean"], "pck": m["pck"].tolist(),
            "thresholds": m["thresholds"].tolist(), "per_category": per_cat}
