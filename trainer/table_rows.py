"""Per-run rows of `hopgen tables`: every run of `hopgen eval` report folders recomputed from its predictions npz
with the hand3d protocol, its metadata read from its run folder, and the bootstrap of the AUC (trainer.tables
aggregates the rows into the paper's tables, trainer.ablations into the ablations)."""

import json
import os
import re

import numpy as np
import yaml

from hopgen.core.skeleton import CATEGORIES
from trainer.metrics import keypoint_measures


class TablesError(ValueError):
    """A report folder or run the aggregator cannot use (names the file)."""


# ---- measures -----------------------------------------------------------------------------------------

def errors_of(npz):
    """(errors (N, K), vis (N, K) bool, unit) of a predictions npz (2D uv in px, else 3D xyz in mm)."""
    if "uv_pred" in npz:
        pred, gt, unit = npz["uv_pred"], npz["uv_gt"], "px"
    elif "xyz_pred_mm" in npz:
        pred, gt, unit = npz["xyz_pred_mm"], npz["xyz_gt_mm"], "mm"
    else:
        raise TablesError("predictions npz has neither uv_pred/uv_gt nor xyz_pred_mm/xyz_gt_mm")
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    return err, np.asarray(npz["vis"], bool), unit


def bootstrap_auc(err_list, vis_list, lo, hi, n_boot=1000, seed=0, steps=20):
    """(B,) bootstrap replicates of the mean over runs of the protocol AUC, resampling the N samples
    (rows, shared by every run: the same resampled indices for each) with replacement.

    err_list, vis_list: per run (N, K) errors and visibility. Each replicate is exactly
    keypoint_measures(...)['auc'] of the resampled rows (PCK per keypoint over its visible resampled
    errors, trapezoid over linspace(lo, hi, steps) / (hi - lo), mean over keypoints with data), computed
    for all replicates at once from multinomial counts."""
    rng = np.random.default_rng(seed)
    n = err_list[0].shape[0]
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # (B, N)
    t = np.linspace(lo, hi, steps)
    total = np.zeros(n_boot)
    for err, vis in zip(err_list, vis_list):
        k = err.shape[1]
        hit = (err[:, :, None] <= t[None, None, :]) & vis[:, :, None]                  # (N, K, T)
        num = counts @ hit.reshape(n, k * steps).astype(np.float64)                   # (B, K*T)
        den = counts @ vis.astype(np.float64)                                         # (B, K)
        pck = num.reshape(n_boot, k, steps) / np.maximum(den, 1e-12)[:, :, None]
        auc_k = np.sum((pck[:, :, 1:] + pck[:, :, :-1]) * np.diff(t), axis=-1) / 2.0 / (hi - lo)
        has = den > 0
        total += np.where(has, auc_k, 0.0).sum(1) / np.maximum(has.sum(1), 1)
    return total / len(err_list)


def _mean_std(values):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    if v.size == 0:
        return None, None
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


# ---- run metadata -------------------------------------------------------------------------------------

def run_metadata(run_dir):
    """{seed, steps, minutes, batch_size} of a training run folder (None where it cannot be read)."""
    meta = {"seed": None, "steps": None, "minutes": None, "batch_size": None}
    if not run_dir or not os.path.isdir(run_dir):
        return meta
    cfg_path = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(cfg_path):
        with open(cfg_path) as f:
            cfg = yaml.safe_load(f) or {}
        meta["seed"] = (cfg.get("train") or {}).get("seed")
        meta["batch_size"] = (cfg.get("data") or {}).get("batch_size")
    log_path = os.path.join(run_dir, "log.jsonl")
    if os.path.isfile(log_path):
        seconds, prev, last = 0.0, 0, None
        with open(log_path) as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if "step" not in rec or "images_per_s" not in rec:
                    continue
                step = int(rec["step"])
                if step <= prev:  # a restarted log: count from its start
                    prev = 0
                if meta["batch_size"] and rec["images_per_s"] > 0:
                    seconds += (step - prev) * meta["batch_size"] / rec["images_per_s"]
                prev, last = step, step
        meta["steps"] = last
        meta["minutes"] = seconds / 60.0 if last is not None and meta["batch_size"] else None
    return meta


def dataset_info(root):
    """{config, samples, train, val, test, image_size} of a HOP folder (dataset.json + splits/*.txt)."""
    with open(os.path.join(root, "dataset.json")) as f:
        ds = json.load(f)
    cfg = ds.get("config") or {}
    info = {"path": os.path.abspath(root),
            "config": (cfg.get("dataset") or {}).get("name") if isinstance(cfg.get("dataset"), dict) else None,
            "samples": ds.get("num_samples"), "image_size": ds.get("image_size")}
    for split in ("train", "val", "test"):
        p = os.path.join(root, "splits", f"{split}.txt")
        info[split] = sum(1 for line in open(p) if line.strip()) if os.path.isfile(p) else None
    return info


def paper_method(name):
    """The paper's method name for a report's method label (unknown labels pass through)."""
    aliases = {"Ours w/o var.-PoseNet": "Ours w/o variational", "Ours w/o variational-PoseNet": "Ours w/o variational",
               "Zimmermann": "Zimmermann et al.", "Zimmermann & Brox": "Zimmermann et al."}
    return aliases.get(name, name)


# ---- aggregation --------------------------------------------------------------------------------------

def collect(report_dirs):
    """Rows (dicts) and per-run arrays of every run in the report folders."""
    rows, arrays = [], []
    for rep in report_dirs:
        mpath = os.path.join(rep, "metrics.json")
        if not os.path.isfile(mpath):
            raise TablesError(f"{rep}: no metrics.json (not a `hopgen eval` report folder)")
        with open(mpath) as f:
            metrics = json.load(f)
        for label, r in metrics.items():
            npz_path = os.path.join(rep, "predictions", f"{label}.npz")
            if not os.path.isfile(npz_path):
                raise TablesError(f"{npz_path}: missing (re-run `hopgen eval` to write per-sample predictions)")
            with np.load(npz_path, allow_pickle=False) as z:
                npz = {k: z[k] for k in z.files}
            err, vis, unit = errors_of(npz)
            lo, hi = float(r.get("lo", 0.0)), float(r.get("hi", 20.0 if unit == "px" else 50.0))
            m = keypoint_measures(np.zeros(err.shape + (1,)), err[..., None], vis, lo, hi)
            meta = run_metadata(r.get("run_dir"))
            seed = meta["seed"]
            if seed is None:
                hit = re.search(r"_s(\d+)$", label)
                seed = int(hit.group(1)) if hit else None
            method = paper_method(r["method"])
            if unit == "px" and r.get("crop") == "gt":  # an ablation row: hand3d's GT keypoint crop, no segmentation
                method += " (GT crop)"
            if r.get("split", "test") != "test":
                method += f" [{r['split']}]"
            row = {"table": r.get("table") or ("I" if unit == "px" else "III"), "method": method,
                   "seed": seed, "auc": m["auc"], "epe_median": m["epe_median"], "epe_mean": m["epe_mean"],
                   "unit": unit, "lo": lo, "hi": hi, "samples": int(err.shape[0]),
                   "steps": meta["steps"], "minutes": meta["minutes"], "run": r.get("run_dir"), "report": rep,
                   "label": label, "auc_in_report": r.get("auc")}
            if "category_pred" in npz and "category_gt" in npz:
                gt, pred = np.asarray(npz["category_gt"]), np.asarray(npz["category_pred"])
                known = gt >= 0
                if known.any():
                    row["majority_rate"] = float(np.bincount(gt[known]).max() / known.sum())
                    if (pred >= 0).any():  # pred -1 everywhere: the method reads no category
                        row["category_accuracy"] = float(np.mean(pred[known] == gt[known]))
            if r.get("mask_iou_full") is not None:  # 2D: how well the whole-image segmentation found the hand
                row["mask_iou_full"] = float(r["mask_iou_full"])
            if r.get("mask_iou_full_visible") is not None:  # against the visible mask (what HandSegNet learns)
                row["mask_iou_full_visible"] = float(r["mask_iou_full_visible"])
            if r.get("cluster_purity") is not None:
                row["cluster_purity"] = float(r["cluster_purity"])
            if "category_gt" in npz and unit == "px":
                row["per_category"] = per_category_auc(err, vis, npz["category_gt"], lo, hi)
            rows.append(row)
            plot = os.path.join(rep, r["latent_plot"]) if r.get("latent_plot") else None
            arrays.append({"ids": np.asarray(npz["ids"]).astype(str), "err": err, "vis": vis,
                           "latent": npz.get("latent"), "category_gt": npz.get("category_gt"),
                           "latent_plot": plot if plot and os.path.isfile(plot) else None})
    return rows, arrays


def per_category_auc(err, vis, cats, lo, hi):
    """{category: AUC} of the samples of each category present (Table II)."""
    out = {}
    cats = np.asarray(cats)
    for c, name in enumerate(CATEGORIES):
        sel = cats == c
        if sel.any():
            out[name] = keypoint_measures(np.zeros(err[sel].shape + (1,)), err[sel][..., None], vis[sel], lo, hi)["auc"]
    return out


def aligned_errors(arrays, idx):
    """(common ids, errors, visibilities) of runs idx on the sample ids they all scored (sorted), for the bootstraps
    of the tables and the ablations."""
    common = set(arrays[idx[0]]["ids"])
    for i in idx[1:]:
        common &= set(arrays[i]["ids"])
    common = sorted(common)
    errs, viss = [], []
    for i in idx:
        pos = {sid: j for j, sid in enumerate(arrays[i]["ids"])}
        take = np.array([pos[s] for s in common], dtype=np.int64)
        errs.append(arrays[i]["err"][take])
        viss.append(arrays[i]["vis"][take])
    return common, errs, viss
