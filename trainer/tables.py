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
without a run], optional "ablations": [one per (table, method, varied, value, split), trainer.ablations; only
with --ablation / --noise-ablation]}. Next to it: report.md (the paper's numbers beside ours), pck_table_<T>.png (PCK
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

from hopgen.core.atomic import atomic_write_json, atomic_write_text
from hopgen.core.skeleton import CATEGORIES
from trainer.ablations import AblationError, ablation_markdown, build_ablations, noise_records, parse_ablation
from trainer.metrics import keypoint_measures
from trainer.table_rows import TablesError, _mean_std, aligned_errors, bootstrap_auc, collect, dataset_info, run_metadata  # noqa: F401

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
        common, errs, viss = aligned_errors(arrays, idx)
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
    lines += ablation_markdown(result.get("ablations"))
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


def build_tables(report_dirs, data=None, scale="cpu", n_boot=1000, seed=0, ablations=(), noise=None):
    """The paper_tables dict (see the module docstring) and the per-run arrays. ablations: [(KEY, REPORT)],
    noise: a lift_noise_3d JSON (trainer.ablations); with either, result["ablations"] holds their records."""
    rows, arrays = collect(report_dirs)
    summary = summarise(rows, arrays, n_boot=n_boot, seed=seed)
    result = {"scale": scale, "dataset": dataset_info(data) if data else None, "rows": rows, "summary": summary,
              "missing": missing_rows(summary), "reports": [os.path.abspath(r) for r in report_dirs]}
    if ablations or noise:
        result["ablations"] = build_ablations(ablations, rows, n_boot=n_boot, seed=seed) + \
            (noise_records(noise) if noise else [])
    return result, arrays


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen tables", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reports", action="append", required=True, help="`hopgen eval` report folder (repeat)")
    p.add_argument("--data", help="the HOP folder the runs were evaluated on (dataset section)")
    p.add_argument("--out", default="benchmarks/results/paper_tables.json", help="output JSON (report.md and plots beside it)")
    p.add_argument("--scale", default="cpu", help="label of the scale (cpu | paper)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--ablation", action="append", default=[], metavar="KEY=REPORT",
                   help="an ablation report (any split; repeat): KEY = the varied config path (or latent, kl, steps, "
                        "init, kl2d, metric_weight, crop); see trainer/ablations.py")
    p.add_argument("--noise-ablation", metavar="JSON", help="benchmarks/lift_noise_3d.py output (2D-noise ablation)")
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
        specs = [parse_ablation(a) for a in args.ablation]
        for key, rep in specs:
            if not os.path.isfile(os.path.join(rep, "metrics.json")):
                raise TablesError(f"--ablation {key}={rep}: no metrics.json (not a `hopgen eval` report folder)")
        result, arrays = build_tables(reports, args.data, args.scale, args.bootstrap, args.seed, specs,
                                      args.noise_ablation)
    except (TablesError, AblationError, OSError, KeyError) as e:
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
