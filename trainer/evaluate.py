"""`hopgen eval`: evaluate trained runs and write a report shaped like the paper's tables.

    hopgen eval --run runs/ours --run runs/hs --data HOP --out report/ [--split test] [--crop gt]

For every run: RUN/config.yaml + RUN/ckpt/last.pt are loaded and the stage's evaluate function
(engine.Stage.evaluate) is called; 2D and 3D runs can be mixed. OUT gets metrics.json ({run label:
metrics}), report.md (trainer.report: Tables I/II for 2D runs, Table III for 3D runs from GT
heatmaps, Table IV for whole-pipeline runs, with per-category AUC and the category read-out),
PCK plots per table (pck.png 2D, pck3d.png Table III, pck3d_pipeline.png Table IV; like Fig. 6),
overlays_<label>.png (2D predictions on test images) and latent_<label>.png (3D latents, like Fig. 3).

2D protocol (evaluate_2d): the pipeline crop (eval.crop = "pipeline", as HandSegNet + PoseNet in
hand3d) segments the whole image (padded square, resized to data.crop), takes the box of the
predicted mask, scales it by eval.box_scale, crops, and predicts heatmaps; "gt" crops from the GT
keypoints instead. Keypoints are the arg-max cell of the last heatmap refined to sub-cell precision,
mapped back to full-image pixels; AUC over eval.lo..eval.hi px on visible joints (metrics.py).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from hopgen.core.atomic import atomic_write_json, atomic_write_text
from hopgen.core.skeleton import CATEGORIES, VIS_VISIBLE
from trainer.data import apply_affine
from trainer.metrics import table_measures
from trainer.plots import overlay, plot_pck, save_grid
from trainer.report import report_markdown, table_of


def method_name(cfg):
    """Paper-style method label of a 2D config (HS-PoseNet, Ours-Hourglass, ...)."""
    head = {"hs_posenet": "HS", "ours": "Ours", "ours_novar": "Ours w/o var."}.get(cfg.model.kind, cfg.model.kind)
    return f"{head}-{'Hourglass' if cfg.model.pose_net == 'hourglass' else 'PoseNet'}"


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


@torch.no_grad()
def predict_boxes(model, cfg, roots, split, device):
    """Pipeline pass 1: segment whole-image views; returns (boxes (N, 4) full px, IoU of the masks)."""
    from trainer.data import make_dataset
    ds = make_dataset(cfg, roots, split, False, crop_mode="full")
    boxes, inter_union = [], np.zeros(2)
    for batch in _loader(ds, cfg, "eval (boxes)"):
        pred = (model.segment(batch["image"].to(device)) > 0)[:, 0].cpu().numpy()
        gt = batch["mask"][:, 0].numpy() > 0.5
        inter_union += [np.logical_and(pred, gt).sum(), np.logical_or(pred, gt).sum()]
        for i in range(pred.shape[0]):
            A_inv = np.linalg.inv(batch["A"][i].double().numpy())
            box = mask_box(pred[i])
            if box is None:  # nothing segmented: fall back to the whole view
                box = np.array([0, 0, cfg.data.crop - 1, cfg.data.crop - 1], dtype=np.float64)
            corners = apply_affine(A_inv, box.reshape(2, 2))
            boxes.append(np.concatenate([corners.min(0), corners.max(0)]))
    iou = float(inter_union[0] / inter_union[1]) if inter_union[1] else 1.0
    return np.array(boxes), iou


@torch.no_grad()
def evaluate_2d(run_dir, cfg, model, roots, split, out_dir, device):
    """2D keypoints of a 2D model on `split`; writes overlays into out_dir and returns the metrics dict."""
    from trainer.data import make_dataset
    model.eval()
    crop = cfg.data.crop
    iou_full = None
    if cfg.eval.crop == "pipeline":
        boxes, iou_full = predict_boxes(model, cfg, roots, split, device)
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
    return {"method": method_name(cfg), "stage": "2d", "table": "I", "unit": "px", "lo": lo, "hi": hi,
            "split": split, "crop": cfg.eval.crop, "data": [os.path.basename(os.path.normpath(r)) for r in roots],
            "samples": int(len(uv_gt)), **table_measures(uv_gt, uv_pred, vis, cats, CATEGORIES, lo, hi),
            "mask_iou_crop": float(inter_union[0] / inter_union[1]) if inter_union[1] else 1.0,
            "mask_iou_full": iou_full, "overlays": overlays if cfg.eval.overlays > 0 else None}


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
