"""`hopgen eval`: evaluate trained runs and write a report shaped like the paper's tables.

    hopgen eval --run runs/ours --run runs/hs --data HOP --out report/ [--split test] [--crop gt]

For every run: RUN/config.yaml + RUN/ckpt/last.pt are loaded and the stage's evaluate function
(engine.Stage.evaluate) is called; 2D and 3D runs can be mixed. OUT gets metrics.json ({run label:
metrics}), report.md (trainer.report: Tables I/II for 2D runs, Table III for 3D runs from GT
heatmaps, Table IV for whole-pipeline runs, with per-category AUC and the category read-out),
PCK plots per table (pck.png 2D, pck3d.png Table III, pck3d_pipeline.png Table IV; like Fig. 6),
overlays_<label>.png (2D predictions on test images) and latent_<label>.png (3D latents, like Fig. 3).

Per-sample predictions: OUT/predictions/<label>.npz (write_predictions; fields in docs/format.md), from
which every AUC/EPE in metrics.json can be recomputed with trainer.metrics.keypoint_measures.

3D protocol (evaluate_3d): root-relative poses in the crop's camera view (the GT rolled like the crop),
the prediction scaled by the GT bone length; AUC over lift.auc_lo_mm..auc_hi_mm mm on visible joints.

2D protocol (evaluate_2d): the pipeline crop (eval.crop = "pipeline", as HandSegNet + PoseNet in
hand3d) segments the whole image (padded square, resized to data.crop), keeps the mask object that
holds the score maximum and takes its box (trainer.crops: hand3d's single_obj_scoremap +
calc_center_bb), scales it by eval.box_scale, crops, and predicts heatmaps; "gt" crops from the GT
keypoints instead. Keypoints are the arg-max cell of the last heatmap refined to sub-cell precision,
mapped back to full-image pixels; AUC over eval.lo..eval.hi px on visible joints (metrics.py).

Per-sample predictions go to OUT/predictions/LABEL.npz (write_predictions; docs/format.md), so every
number in the report can be recomputed: 2D runs write ids, uv_pred, uv_gt (N, 21, 2; full-image px),
vis (N, 21 bool: the joints scored) and category_gt (N,).
"""

import argparse
import dataclasses
import io
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from hopgen.core.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from hopgen.core.skeleton import CATEGORIES, VIS_VISIBLE
from trainer.config import ConfigError, config_2d, lift_cfg, variant_and_metric
from trainer.crops import object_box, view_link_radius
from trainer.data import apply_affine, make_dataset_3d
from trainer.losses3d import cluster_purity
from trainer.metrics import keypoint_measures, table_measures
from trainer.models2d import HSPoseNet
from trainer.models3d import camera_roll, hand_side_onehot, lifting_targets
from trainer.plots import overlay, plot_latent, plot_pck, save_grid
from trainer.report import report_markdown, table_of


def write_predictions(path, **arrays):
    """Write the per-sample arrays of one evaluated run as an .npz, atomically (hopgen.core.atomic:
    temporary file + rename), creating the folder. No pickled objects: object arrays (e.g. string ids)
    are stored as unicode arrays, so np.load(path) needs no allow_pickle. Shared by the 2D and 3D evaluation."""
    def plain(v):
        a = np.asarray(v)
        return a.astype(str) if a.dtype == object else a
    buf = io.BytesIO()
    np.savez(buf, **{k: plain(v) for k, v in arrays.items()})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def sample_ids(ds):
    """(N,) unicode array of the dataset's sample ids (HOP ids; RHD (folder, index) as 'folder/index')."""
    def name(sid):
        return f"{os.path.basename(os.path.normpath(sid[0]))}/{sid[1]}" if isinstance(sid, tuple) else str(sid)
    return np.array([name(ds.sample_id(i)) for i in range(len(ds))], dtype=str)


def predictions_path(out_dir, run_dir):
    """OUT/predictions/<run label>.npz."""
    return os.path.join(out_dir, "predictions", f"{os.path.basename(os.path.normpath(run_dir))}.npz")


def method_name(cfg):
    """Paper-style method label of a 2D config (HS-PoseNet, Ours-Hourglass, ...)."""
    net = "Hourglass" if cfg.model.pose_net == "hourglass" else "PoseNet"
    if cfg.model.kind == "ours_novar":  # the paper's name (a Table IV row); the 2D runs are its 2D stage
        return "Ours w/o variational" + (" (Hourglass)" if net == "Hourglass" else "")
    head = {"hs_posenet": "HS", "ours": "Ours"}.get(cfg.model.kind, cfg.model.kind)
    return f"{head}-{net}"


def heatmaps_to_uv(maps, crop):
    """(B, 21, h, w) maps -> (B, 21, 2) crop px. The arg-max cell is refined per axis by the vertex
    of the parabola through the logs of it and its two neighbours (exact for a sampled Gaussian),
    offset clamped to half a cell (none on border cells); cell j is centred at crop px (j + 0.5) * crop / w - 0.5."""
    b, k, h, w = maps.shape
    m = maps.float().reshape(b * k, h, w)
    idx = m.flatten(1).argmax(-1)
    iy, ix = idx // w, idx % w
    logm = torch.log(F.pad(m.clamp_min(1e-6), (1, 1, 1, 1), value=1e-6))
    n = torch.arange(b * k)

    def vertex(lm, l0, lp):
        den = lm - 2 * l0 + lp
        off = torch.where(den < -1e-9, 0.5 * (lm - lp) / den.clamp_max(-1e-9), torch.zeros_like(den))
        return off.clamp(-0.5, 0.5)

    c = logm[n, iy + 1, ix + 1]
    inner_x, inner_y = (ix > 0) & (ix < w - 1), (iy > 0) & (iy < h - 1)  # border cells: no refinement
    dx = vertex(logm[n, iy + 1, ix], c, logm[n, iy + 1, ix + 2]) * inner_x
    dy = vertex(logm[n, iy, ix + 1], c, logm[n, iy + 2, ix + 1]) * inner_y
    stride = crop / w
    uv = torch.stack([(ix + dx + 0.5) * stride - 0.5, (iy + dy + 0.5) * stride - 0.5], -1)
    return uv.reshape(b, k, 2)


def mask_box(mask):
    """(x0, y0, x1, y1) of the True pixels of a (H, W) bool mask, or None if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float64)


def _loader(ds, cfg, label="eval"):
    """Batches of `ds` in order, with a progress bar (hopgen.core.progress) when stderr is a terminal."""
    from hopgen.core.progress import progress_iter
    loader = DataLoader(ds, batch_size=cfg.data.batch_size, shuffle=False, num_workers=cfg.data.workers)
    return progress_iter(loader, len(loader), label, unit="batches")


def segmentation_view_size(model, cfg):
    """Side (px) of the whole-image view that pass 1 segments. HandSegNet is fully convolutional and was
    trained on random crops of data.seg_crop x the image side resized to data.crop, so it segments the whole
    (square) image at that training scale, as hand3d runs it on the whole 320 px image after training on
    256 px crops: crop / seg_crop, rounded to a multiple of 8 (80 px for 64 px crops and seg_crop 0.8; 320
    for the paper's 256 and 0.8). Ours' q_h has FC layers and was trained on whole-image views at data.crop."""
    if isinstance(model, HSPoseNet) and cfg.data.seg_crop > 0:
        return max(8, int(round(cfg.data.crop / min(1.0, cfg.data.seg_crop) / 8.0)) * 8)
    return cfg.data.crop


@torch.no_grad()
def predict_boxes(model, cfg, roots, split, device, ious=None):
    """Pipeline pass 1: segment whole-image views (segmentation_view_size), keep the object holding the score
    maximum (trainer.crops); returns (boxes (N, 4) full px, IoU of the whole predicted masks with the GT
    amodal masks). A dict `ious` gets "amodal" and "visible" (the IoU with the visible hand masks, what
    HandSegNet is trained on)."""
    from trainer.data import make_dataset, warp
    view = segmentation_view_size(model, cfg)
    vcfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crop=view))
    ds = make_dataset(vcfg, roots, split, False, crop_mode="full")
    boxes, inter_union, vis_iu, n = [], np.zeros(2), np.zeros(2), 0
    radius = view_link_radius(cfg.eval.link_px, view)
    for batch in _loader(ds, cfg, "eval (boxes)"):
        logits = model.segment(batch["image"].to(device))[:, 0].float().cpu().numpy()
        pred = logits > 0
        gt = batch["mask"][:, 0].numpy() > 0.5
        inter_union += [np.logical_and(pred, gt).sum(), np.logical_or(pred, gt).sum()]
        for i in range(pred.shape[0]):
            A = batch["A"][i].double().numpy()
            if ious is not None:
                seen = warp(ds.record(n, visible=True)["vis_mask"].astype(np.float32), A, view) > 0.5
                vis_iu += [np.logical_and(pred[i], seen).sum(), np.logical_or(pred[i], seen).sum()]
            n += 1
            box = object_box(logits[i], radius)
            if box is None:  # nothing segmented: fall back to the whole view
                box = np.array([0, 0, view - 1, view - 1], dtype=np.float64)
            corners = apply_affine(np.linalg.inv(A), box.reshape(2, 2))
            boxes.append(np.concatenate([corners.min(0), corners.max(0)]))
    iou = float(inter_union[0] / inter_union[1]) if inter_union[1] else 1.0
    if ious is not None:
        ious.update(amodal=iou, visible=float(vis_iu[0] / vis_iu[1]) if vis_iu[1] else 1.0)
    return np.array(boxes), iou


@torch.no_grad()
def evaluate_2d(run_dir, cfg, model, roots, split, out_dir, device):
    """2D keypoints of a 2D model on `split`; writes overlays into out_dir and returns the metrics dict."""
    from trainer.data import make_dataset
    model.eval()
    crop = cfg.data.crop
    ious = {"amodal": None, "visible": None}
    if cfg.eval.crop == "pipeline":
        boxes, _ = predict_boxes(model, cfg, roots, split, device, ious)
        ds = make_dataset(cfg, roots, split, False, crop_mode="box", boxes=boxes, box_scale=cfg.eval.box_scale)
    elif cfg.eval.crop == "gt":
        ds = make_dataset(cfg, roots, split, False, crop_mode="gt")
    else:
        raise ValueError(f"config key 'eval.crop': {cfg.eval.crop!r}; expected pipeline or gt")
    uv_gt, uv_pred, vis, cats, inter_union = [], [], [], [], np.zeros(2)
    for batch in _loader(ds, cfg):
        out = model(batch["image"].to(device))
        uv_c = heatmaps_to_uv(out["heatmaps"][-1], crop).cpu().numpy()
        for i in range(uv_c.shape[0]):
            uv_pred.append(apply_affine(np.linalg.inv(batch["A"][i].double().numpy()), uv_c[i]))
        pm = (out["mask_logits"][:, 0] > 0).cpu().numpy()
        gm = batch["mask"][:, 0].numpy() > 0.5
        inter_union += [np.logical_and(pm, gm).sum(), np.logical_or(pm, gm).sum()]
        uv_gt.append(batch["uv"].numpy())
        vis.append(batch["vis"].numpy() == VIS_VISIBLE)
        cats.append(batch["category"].numpy())
    uv_gt, uv_pred = np.concatenate(uv_gt), np.stack(uv_pred)
    vis, cats = np.concatenate(vis), np.concatenate(cats)
    lo, hi = cfg.eval.lo, cfg.eval.hi
    label = os.path.basename(os.path.normpath(run_dir))
    overlays = f"overlays_{label}.png"
    _write_overlays(ds, uv_pred, cfg.eval.overlays, os.path.join(out_dir, overlays))
    write_predictions(os.path.join(out_dir, "predictions", f"{label}.npz"),
                      ids=[str(ds.sample_id(i)) for i in range(len(ds))], uv_pred=uv_pred.astype(np.float32),
                      uv_gt=uv_gt.astype(np.float32), vis=vis, category_gt=cats.astype(np.int64))
    return {"method": method_name(cfg), "stage": "2d", "table": "I", "unit": "px", "lo": lo, "hi": hi,
            "split": split, "crop": cfg.eval.crop, "data": [os.path.basename(os.path.normpath(r)) for r in roots],
            "samples": int(len(uv_gt)), **table_measures(uv_gt, uv_pred, vis, cats, CATEGORIES, lo, hi),
            "mask_iou_crop": float(inter_union[0] / inter_union[1]) if inter_union[1] else 1.0,
            "mask_iou_full": ious["amodal"], "mask_iou_full_visible": ious["visible"],
            "seg_view_px": segmentation_view_size(model, cfg) if cfg.eval.crop == "pipeline" else None, "overlays": overlays if cfg.eval.overlays > 0 else None}


# ---- 3D (Tables III and IV) --------------------------------------------------------------------------

@torch.no_grad()
def predict_dataset(model, cfg, roots, split, device):
    """Run a 3D model over `split`. Returns (dataset, dict of numpy arrays: rel (N,21,3) predicted
    root-relative bone-normalised pose in the crop's camera view, xyz (N,21,3) GT rolled the same way,
    scale (N,), vis, category, side, mu (N,D) | None, probs (N,K) | None, cluster (N,) | None,
    uv_pred (N,21,2) full px | None for gt heatmaps, uv (N,21,2), ids (N,) sample ids as strings)."""
    lift = lift_cfg(cfg)
    model.eval()
    kw = {}
    if lift.source == "pred2d":
        if cfg.eval.crop == "pipeline":
            boxes, _ = predict_boxes(model.net2d, cfg, roots, split, device)
            kw = dict(crop_mode="box", boxes=boxes, box_scale=cfg.eval.box_scale)
        elif cfg.eval.crop != "gt":
            raise ConfigError(f"config key 'eval.crop': {cfg.eval.crop!r}; expected pipeline or gt")
    ds = make_dataset_3d(cfg, roots, split, False, **kw)
    acc = {k: [] for k in ("rel", "xyz", "scale", "vis", "category", "side", "mu", "probs", "cluster", "uv_pred", "uv")}
    for batch in _loader(ds, cfg, "eval 3d"):
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
            acc[k].append(None if v is None else (v if k == "cluster" else v.float()).cpu().numpy())
        if model.net2d is not None:
            uv_c = heatmaps_to_uv(out["heatmaps"], cfg.data.crop).cpu().numpy()
            A = batch["A"].double().numpy()
            acc["uv_pred"].append(np.stack([apply_affine(np.linalg.inv(A[i]), uv_c[i]) for i in range(len(A))]))
        else:
            acc["uv_pred"].append(None)
    res = {k: (None if v[0] is None else np.concatenate(v)) for k, v in acc.items()}
    res["ids"] = sample_ids(ds)
    return ds, res


def method_name_3d(cfg):
    """Label of a lifting method as in the paper's Table III: PosePrior, Ours (triplet), Ours (cluster),
    Ours (triplet+cluster), Ours (no metric loss), Ours w/o variational (cluster), ..."""
    variant, metric = variant_and_metric(cfg)
    if variant == "poseprior":
        return "PosePrior"
    head = "Ours w/o variational" if variant == "deterministic" else "Ours"
    return f"{head} (no metric loss)" if metric == "none" else f"{head} ({metric})"


def pipeline_name(cfg):
    """The 2D and 3D labels of a whole-pipeline (pred2d) run joined, e.g. 'HS-PoseNet + PosePrior'."""
    return f"{method_name(config_2d(cfg))} + {method_name_3d(cfg)}"


def method_label(cfg):
    """Table III label (method_name_3d) for GT-heatmap runs; for whole-pipeline runs the paper's Table IV
    names: Zimmermann et al. (HS-PoseNet + PosePrior), Ours w/o variational (both stages deterministic),
    Ours (cluster) / Ours (triplet) (variational 2D + variational 3D); other pairs by pipeline_name."""
    if lift_cfg(cfg).source == "gt":
        return method_name_3d(cfg)
    kind2d, (variant, metric) = config_2d(cfg).model.kind, variant_and_metric(cfg)
    if kind2d == "hs_posenet" and variant == "poseprior":
        return "Zimmermann et al."
    if kind2d == "ours_novar" and variant == "deterministic":
        return "Ours w/o variational"
    if kind2d == "ours" and variant == "variational" and metric != "none":
        return f"Ours ({metric})"
    return pipeline_name(cfg)


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
    cat_acc = purity = occupancy = None
    cat_pred = np.full(len(cats), -1, dtype=np.int64)
    if r["probs"] is not None and known.any():
        cat_pred = r["probs"].argmax(1).astype(np.int64)
        cat_acc = float((cat_pred[known] == cats[known]).mean())
    # the rate of always answering the most frequent test category: the read-out must beat it
    majority = float(np.bincount(cats[known]).max() / known.sum()) if known.any() else None
    if r["cluster"] is not None:
        purity = cluster_purity(r["cluster"], cats)
        occupancy = np.bincount(r["cluster"], minlength=model.centres().shape[0]).tolist()
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
           **rows, "auc_all_joints": all_joints["auc"], "category_accuracy": cat_acc, "majority_rate": majority,
           "cluster_purity": purity, "cluster_occupancy": occupancy,
           "clusters_used": None if occupancy is None else int(np.count_nonzero(occupancy)),
           "latent_plot": latent_png, "bone_length_train_m": float(model.bone_length),
           "steps": _trained_steps(model), "run_dir": os.path.abspath(run_dir)}
    if lift.source == "pred2d":
        res["pipeline"] = pipeline_name(cfg)
    pred_path = predictions_path(out_dir, run_dir)
    write_predictions(pred_path, ids=r["ids"], xyz_pred_mm=pred_mm.astype(np.float32),
                      xyz_gt_mm=gt_mm.astype(np.float32), vis=vis, category_pred=cat_pred,
                      category_gt=cats.astype(np.int64))
    res["predictions"] = os.path.relpath(pred_path, out_dir)
    if r["uv_pred"] is not None:
        m2 = keypoint_measures(r["uv"], r["uv_pred"], vis, 0.0, 20.0)
        res.update(auc_2d=m2["auc"], epe_median_2d_px=m2["epe_median"])
    return res



def _trained_steps(model):
    steps = getattr(model, "steps", None)
    return None if steps is None else int(steps)


def _write_overlays(ds, uv_pred, n, path):
    picks = np.linspace(0, len(ds) - 1, min(n, len(ds))).astype(int) if n > 0 else []
    images = []
    for i in picks:
        rec = ds.record(i)
        images.append(overlay(rec["rgb"], uv_pred[i], rec["uv"], rec["mask"]))
    save_grid(images, path)


PCK_PLOTS = {  # table -> (file, x label, description)
    "I": ("pck.png", "2D error threshold (px)", "2D PCK curves (like Fig. 6a)"),
    "III": ("pck3d.png", "3D error threshold (mm)", "3D PCK curves from ground-truth heatmaps (like Fig. 6b)"),
    "IV": ("pck3d_pipeline.png", "3D error threshold (mm)", "3D PCK curves of the whole pipeline"),
}


def write_pck_plots(results, out_dir):
    """One PCK plot per paper table present in {label: metrics}; returns [(file, description)]."""
    figures = []
    for table, (name, xlabel, what) in PCK_PLOTS.items():
        curves = {f"{r['method']} ({label})": (r["thresholds"], r["pck"]) for label, r in results.items()
                  if table_of(r) == table and "pck" in r}
        if curves:
            plot_pck(curves, os.path.join(out_dir, name), xlabel=xlabel)
            figures.append((name, what))
    return figures


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="append", required=True, help="training run folder (repeat to compare runs)")
    p.add_argument("--data", action="append", required=True, help="HOP, RHD or FreiHAND folder (repeat for several)")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--crop", choices=["pipeline", "gt"], help="override eval.crop")
    p.add_argument("--max-samples", type=int, default=None, help="evaluate only the first N samples")
    p.add_argument("--device", default=None, help="cpu | cuda (default: the run's train.device, auto)")
    p.add_argument("--checkpoint", default="last.pt", help="file in RUN/ckpt (default last.pt)")
    return p


def main(argv=None):
    """Entry point; returns the exit code (0 on success)."""
    from trainer.engine import load_model, pick_device

    args = build_parser().parse_args(argv)
    from trainer.train import check_data
    problem = check_data(args.data, args.split) or next((f"{run}: no checkpoint ckpt/{args.checkpoint}" for run in args.run
                                            if not os.path.isfile(os.path.join(run, "ckpt", args.checkpoint))), None)
    if problem:  # before anything is written under --out
        print(f"hopgen eval: {problem}", file=sys.stderr)
        return 2
    device = pick_device(args.device or "auto")
    loaded = []
    for run in args.run:  # every checkpoint loads before anything is written under --out
        cfg, stage, model = load_model(run, device, args.checkpoint)
        if args.crop:
            cfg.eval.crop = args.crop
        if args.max_samples is not None:
            cfg.data.max_samples = args.max_samples
        if stage.evaluate is None:
            print(f"hopgen eval: stage {cfg.stage!r} has no evaluate function", file=sys.stderr)
            return 2
        loaded.append((run, cfg, stage, model))
    os.makedirs(args.out, exist_ok=True)
    results = {}
    for run, cfg, stage, model in loaded:
        label = os.path.basename(os.path.normpath(run))
        r = stage.evaluate(run_dir=run, cfg=cfg, model=model, roots=args.data, split=args.split,
                           out_dir=args.out, device=device)
        r.setdefault("run_dir", os.path.abspath(run))  # run metadata for `hopgen tables`
        results[label] = r
    atomic_write_json(os.path.join(args.out, "metrics.json"), results, indent=2)
    figures = write_pck_plots(results, args.out)
    figures += [(r[key], what) for r in results.values()
                for key, what in (("overlays", f"{r['method']}: predicted joints on test images"),
                                  ("latent_plot", f"{r['method']}: latent space by object category (like Fig. 3)"))
                if r.get(key)]
    atomic_write_text(os.path.join(args.out, "report.md"), report_markdown(results, figures))
    print(json.dumps({k: {m: v.get(m) for m in ("method", "auc", "epe_median", "epe_mean")} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
