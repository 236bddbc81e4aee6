"""`hopgen tables`: the paper's Tables I-IV over seeds, from the per-sample predictions of `hopgen eval`.

    hopgen tables --reports /work/data/reports/table1 --reports /work/data/reports/table3 \\
                  --data /work/data/hop_cpu --scale cpu --out benchmarks/results/paper_tables.json

Every REPORT folder given holds metrics.json ({run label: metrics}, by `hopgen eval`) and
predictions/LABEL.npz (docs/format.md). For every run the numbers are recomputed from its npz with
the hand3d protocol (trainer.metrics.keypoint_measures; 2D over metrics' lo..hi px on uv, 3D over
lo..hi mm on xyz_*_mm), and the run's metadata is read from its folder (metrics' run_dir): the
resolved config.yaml (seed, batch size) and log.jsonl (steps = last logged step; minutes = the
training loop's wall time, the sum over log records of steps x batch / images_per_s).

OUT (JSON) gets {"scale", "dataset": {config, samples, train/val/test counts, image size}, "rows":
[one per run: table, method (the paper's name; " (GT crop)" appended for 2D runs evaluated on GT
crops, " [split]" for runs not evaluated on test), seed, auc, epe_median, epe_mean, (category_accuracy, majority_rate,
cluster_purity), steps, minutes, run, report], "summary": [one per (table, method): seeds, mean and
std (ddof 1) over seeds of auc / epe_median / epe_mean (/ category_accuracy), and auc_ci95: a
bootstrap 95% interval of the seed-mean AUC over test samples (B resamples of the sample ids shared by
the seeds, the protocol recomputed per resample, numpy default_rng(seed))], "missing": [paper rows
without a run]}. Next to it: report.md (the paper's numbers beside ours), pck_table_<T>.png (PCK
curves, mean over seeds, like Fig. 6) and latent plots (Fig. 3) of the seed-0 runs: drawn from a
`latent` (N, D) array in the npz, else copied from the report's latent plot (metrics' latent_plot).
"""

import argparse
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import yaml

from hopgen.core.atomic import atomic_write_json, atomic_write_text
from hopgen.core.skeleton import CATEGORIES
from trainer.metrics import keypoint_measures

# The paper's rows (HOP) and numbers: Tables I, II (2D, 0-20 px), III (3D from GT heatmaps), IV (pipeline).
PAPER = {
    "I": {"HS-PoseNet": (0.722, 4.285, 13.392), "HS-Hourglass": (0.741, 5.159, 10.709),
          "Ours-PoseNet": (0.754, 4.024, 10.707), "Ours-Hourglass": (0.775, 3.791, 8.496)},
    "III": {"PosePrior": (0.534, 19.728, 30.860), "Ours (triplet)": (0.597, 15.901, 27.326),
            "Ours (cluster)": (0.583, 16.741, 28.018)},
    "IV": {"Zimmermann et al.": (0.543, 32.003, 45.581), "Ours w/o variational": (0.564, 30.193, 44.466),
           "Ours (cluster)": (0.669, 23.280, 36.052), "Ours (triplet)": (0.580, 29.485, 41.012)},
}
PAPER_TABLE_II = {"HS-PoseNet": (0.694, 0.773, 0.767, 0.701, 0.734),  # cylinder slender cubical sphere avg
                  "Ours-PoseNet": (0.743, 0.812, 0.828, 0.721, 0.776)}
METHODS = ("HS-PoseNet", "HS-Hourglass", "Ours-PoseNet", "Ours-Hourglass", "PosePrior", "Ours (triplet)",
           "Ours (cluster)", "Zimmermann et al.", "Ours w/o variational")
TABLE_TITLES = {"I": "Table I: 2D joint estimation through the full-image pipeline (AUC 0-20 px, EPE px)",
                "III": "Table III: 3D pose from ground-truth heatmaps (AUC 0-50 mm, EPE mm)",
                "IV": "Table IV: the whole pipeline RGB -> 2D -> 3D (AUC 0-50 mm, EPE mm)"}


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


def summarise(rows, arrays, n_boot=1000, seed=0):
    """One summary dict per (table, method), in paper order."""
    groups = {}
    for i, r in enumerate(rows):
        groups.setdefault((r["table"], r["method"]), []).append(i)
    order = {m: i for i, m in enumerate(METHODS)}
    out = []
    for (table, method), idx in sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99), kv[0][1])):
        rs = [rows[i] for i in idx]
        s = {"table": table, "method": method, "seeds": sorted(r["seed"] for r in rs if r["seed"] is not None),
             "runs": len(rs), "samples": rs[0]["samples"]}
        for key in ("auc", "epe_median", "epe_mean", "category_accuracy", "majority_rate", "cluster_purity",
                    "minutes", "steps"):
            if any(key in r and r[key] is not None for r in rs):
                s[f"{key}_mean"], s[f"{key}_std"] = _mean_std([r.get(key) for r in rs])
        # bootstrap over the test samples every run of the group scored (aligned by id)
        common = set(arrays[idx[0]]["ids"])
        for i in idx[1:]:
            common &= set(arrays[i]["ids"])
        common = sorted(common)
        errs, viss = [], []
        for i in idx:
            pos = {sid: j for j, sid in enumerate(arrays[i]["ids"])}
            take = np.array([pos[sid] for sid in common], dtype=np.int64)
            errs.append(arrays[i]["err"][take])
            viss.append(arrays[i]["vis"][take])
        if common:
            reps = bootstrap_auc(errs, viss, rs[0]["lo"], rs[0]["hi"], n_boot=n_boot, seed=seed)
            s["auc_ci95"] = [float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5))]
            s["bootstrap"] = {"resamples": n_boot, "samples": len(common), "seed": seed}
        if any(r.get("per_category") for r in rs):
            s["per_category_auc_mean"] = {c: _mean_std([r["per_category"].get(c) for r in rs])[0]
                                          for c in CATEGORIES if any(c in r.get("per_category", {}) for r in rs)}
        paper = PAPER.get(table, {}).get(method)
        if paper:
            s["paper"] = {"auc": paper[0], "epe_median": paper[1], "epe_mean": paper[2]}
        out.append(s)
    return out


def missing_rows(summary):
    have = {(s["table"], s["method"]) for s in summary}
    return [{"table": t, "method": m} for t, ms in PAPER.items() for m in ms if (t, m) not in have]


# ---- report -------------------------------------------------------------------------------------------

def _f(x, nd=3):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def report_markdown(result, figures):
    """The generated report.md: per table the paper's numbers beside ours (mean +- std over seeds,
    bootstrap 95% interval), the per-run rows, the category read-out and what is missing."""
    ds = result["dataset"] or {}
    lines = ["# Paper tables, reproduced at %s scale" % result["scale"], "",
             "Generated by `hopgen tables` (trainer/tables.py) from the per-sample predictions of `hopgen eval`; "
             "every number below is recomputed from `REPORT/predictions/RUN.npz` with the hand3d protocol.", "",
             f"Data: {ds.get('config') or ds.get('path')}: {ds.get('samples')} samples "
             f"(train {ds.get('train')}, val {ds.get('val')}, test {ds.get('test')}), images {ds.get('image_size')}. "
             "Paper: HOP, 11,020 train / 800 test at 320x320; its numbers are not directly comparable "
             "(different data, scale and budget): compare the ORDER of the methods.", "",
             "Ours = mean +- std (sample std, ddof 1) over seeds; CI = bootstrap 95% interval of the seed-mean "
             "AUC over test samples.", ""]
    by_table = {}
    for s in result["summary"]:
        by_table.setdefault(s["table"], []).append(s)
    for table in ("I", "III", "IV"):
        rows = by_table.get(table)
        lines += [f"## {TABLE_TITLES[table]}", ""]
        if not rows:
            lines += ["No runs for this table in the reports given.", ""]
            continue
        u = "px" if table == "I" else "mm"
        nd = 2 if u == "px" else 1
        lines += ["| method | paper AUC | AUC (ours) | 95% CI | EPE median | EPE mean | seeds | steps | minutes/run |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for s in rows:
            p = s.get("paper")
            ci = s.get("auc_ci95")
            lines.append(f"| {s['method']} | {_f(p['auc']) if p else '-'} | {_f(s.get('auc_mean'))} +- "
                         f"{_f(s.get('auc_std'))} | {'[%s, %s]' % (_f(ci[0]), _f(ci[1])) if ci else '-'} | "
                         f"{_f(s.get('epe_median_mean'), nd)} {u} | {_f(s.get('epe_mean_mean'), nd)} {u} | "
                         f"{len(s['seeds'])} | {_f(s.get('steps_mean'), 0)} | {_f(s.get('minutes_mean'), 1)} |")
        if table == "I" and any(s.get("per_category_auc_mean") for s in rows):
            lines += ["", "Table II: AUC (0-20 px) per object category, mean over seeds (paper in brackets):", "",
                      "| method | " + " | ".join(CATEGORIES) + " | Avg. |", "|---|" + "---|" * (len(CATEGORIES) + 1)]
            for s in rows:
                pc = s.get("per_category_auc_mean") or {}
                pp = PAPER_TABLE_II.get(s["method"])
                cells = [f"{_f(pc.get(c))}" + (f" ({pp[i]:.3f})" if pp else "") for i, c in enumerate(CATEGORIES)]
                vals = [v for v in pc.values() if v is not None]
                avg = _f(float(np.mean(vals)) if vals else None) + (f" ({pp[4]:.3f})" if pp else "")
                lines.append(f"| {s['method']} | " + " | ".join(cells) + f" | {avg} |")
        if any("majority_rate_mean" in s for s in rows):
            lines += ["", "Object category read from the latent, beside the majority-class rate of the test samples:", "",
                      "| method | category accuracy | majority rate | cluster purity |", "|---|---|---|---|"]
            for s in rows:
                lines.append(f"| {s['method']} | {_f(s.get('category_accuracy_mean'))} +- "
                             f"{_f(s.get('category_accuracy_std'))} | {_f(s.get('majority_rate_mean'))} | "
                             f"{_f(s.get('cluster_purity_mean'))} |")
        lines += ["", "Runs (mask IoU: the whole-image segmentation against the amodal GT mask; 0 = nothing found, "
                  "the crop falls back to the whole image):", "",
                  "| method | seed | AUC | EPE median | EPE mean | mask IoU | steps | minutes | run |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in result["rows"]:
            if r["table"] == table:
                lines.append(f"| {r['method']} | {r['seed']} | {_f(r['auc'])} | {_f(r['epe_median'], nd)} | "
                             f"{_f(r['epe_mean'], nd)} | {_f(r.get('mask_iou_full'))} | {r['steps']} | "
                             f"{_f(r['minutes'], 1)} | `{r['run']}` |")
        lines.append("")
    lines += ["## Missing rows", ""]
    lines += [f"- Table {m['table']}: {m['method']}" for m in result["missing"]] or ["None."]
    lines += ["", "## Figures", ""]
    lines += [f"- `{name}`: {what}" for name, what in figures] or ["None."]
    if not any("latent" in name for name, _ in figures):
        lines += ["- Latent plots (Fig. 3): no run given has a `latent` array in its npz or a latent plot in its report."]
    return "\n".join(lines) + "\n"


def write_figures(rows, arrays, out_dir):
    """PCK curves per table (mean over seeds, Fig. 6 style) and latent plots (Fig. 3); [(file, what)]."""
    from trainer.plots import plot_latent, plot_pck
    figures = []
    for table in ("I", "III", "IV"):
        curves = {}
        for r, a in zip(rows, arrays):
            if r["table"] != table:
                continue
            t = np.linspace(r["lo"], r["hi"], 20)
            pck = keypoint_measures(np.zeros(a["err"].shape + (1,)), a["err"][..., None], a["vis"], r["lo"], r["hi"])["pck"]
            curves.setdefault(r["method"], []).append((t, pck))
        if curves:
            name = f"pck_table_{table}.png"
            plot_pck({m: (c[0][0], np.mean([p for _, p in c], axis=0)) for m, c in curves.items()},
                     os.path.join(out_dir, name), xlabel="error threshold (%s)" % ("px" if table == "I" else "mm"))
            figures.append((name, f"Table {table}: PCK curves, mean over seeds (like Fig. 6)"))
    for r, a in zip(rows, arrays):
        if r["seed"] not in (0, None):
            continue
        name = f"latent_table_{r['table']}_{re.sub(r'[^A-Za-z0-9]+', '_', r['method']).strip('_')}.png"
        what = f"{r['method']} (Table {r['table']}, seed {r['seed']}): latent means by object category, PCA (like Fig. 3)"
        if a.get("latent") is not None and a.get("category_gt") is not None:
            plot_latent(a["latent"], a["category_gt"], np.zeros((0, a["latent"].shape[1])),
                        os.path.join(out_dir, name), f"{r['method']} (Table {r['table']}, seed {r['seed']})")
            figures.append((name, what))
        elif a.get("latent_plot"):  # the plot `hopgen eval` drew for the run (with its centres)
            shutil.copyfile(a["latent_plot"], os.path.join(out_dir, name))
            figures.append((name, what + f"; drawn by hopgen eval ({r['label']})"))
    return figures


def build_tables(report_dirs, data=None, scale="cpu", n_boot=1000, seed=0):
    """The paper_tables dict (see the module docstring) and the per-run arrays."""
    rows, arrays = collect(report_dirs)
    summary = summarise(rows, arrays, n_boot=n_boot, seed=seed)
    result = {"scale": scale, "dataset": dataset_info(data) if data else None, "rows": rows, "summary": summary,
              "missing": missing_rows(summary), "reports": [os.path.abspath(r) for r in report_dirs]}
    return result, arrays


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen tables", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", action="append", required=True, help="`hopgen eval` report folder (repeat)")
    p.add_argument("--data", help="the HOP folder the runs were evaluated on (dataset section)")
    p.add_argument("--out", default="benchmarks/results/paper_tables.json", help="output JSON (report.md and plots beside it)")
    p.add_argument("--scale", default="cpu", help="label of the scale (cpu | paper)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    return p


def main(argv=None):
    """Entry point; returns the exit code (0 on success)."""
    args = build_parser().parse_args(argv)
    reports = [r for r in args.reports if os.path.isfile(os.path.join(r, "metrics.json"))]
    for r in args.reports:
        if r not in reports:
            print(f"hopgen tables: {r}: no metrics.json, skipped", file=sys.stderr)
    if not reports:
        print("hopgen tables: no report folder with metrics.json", file=sys.stderr)
        return 2
    try:
        result, arrays = build_tables(reports, args.data, args.scale, args.bootstrap, args.seed)
    except (TablesError, OSError, KeyError) as e:
        print(f"hopgen tables: {e}", file=sys.stderr)
        return 2
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    figures = write_figures(result["rows"], arrays, out_dir)
    atomic_write_json(args.out, result, indent=2)
    atomic_write_text(os.path.join(out_dir, "report.md"), report_markdown(result, figures))
    print(json.dumps([{k: s.get(k) for k in ("table", "method", "auc_mean", "auc_std", "auc_ci95")}
                      for s in result["summary"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
