"""Summarise the `hopgen eval` reports of benchmarks/paper_cpu_2d.sh (dev-only helper, Tables I and II).

    python -m benchmarks.summarise_2d OUT.json REPORT_DIR [REPORT_DIR ...]

For every run of every report: method, crop, split, seed, AUC / EPE, per-category AUC, the whole-image mask
IoUs (amodal and visible GT), and the run's training cost (RUN/cpu_seconds.txt: user + sys CPU seconds; steps
from RUN/config.yaml). Groups = (report, run label without _sSEED): mean and sample std over seeds. Writes
OUT.json atomically and prints one line per group.
"""

import json
import os
import re
import sys

import numpy as np
import yaml

from hopgen.core.atomic import atomic_write_json

KEYS = ("auc", "epe_median", "epe_mean", "mask_iou_full", "mask_iou_full_visible", "mask_iou_crop")


def _run_cost(run_dir):
    out = {}
    cpu = os.path.join(run_dir or "", "cpu_seconds.txt")
    if os.path.isfile(cpu):
        out["cpu_min"] = round(float(open(cpu).read().split()[0]) / 60.0, 2)
    cfg = os.path.join(run_dir or "", "config.yaml")
    if os.path.isfile(cfg):
        with open(cfg) as f:
            c = yaml.safe_load(f)
        out.update(steps=c["train"]["iterations"], kl=c["loss"]["kl"] if c["model"]["kind"] == "ours" else None)
    return out


def _stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else None)


def summarise(reports):
    runs, groups = {}, {}
    for rep in reports:
        with open(os.path.join(rep, "metrics.json")) as f:
            metrics = json.load(f)
        for label, r in sorted(metrics.items()):
            m = re.match(r"(.*)_s(\d+)$", label)
            row = {"method": r["method"], "crop": r["crop"], "split": r["split"], "samples": r["samples"],
                   "seed": int(m.group(2)) if m else None, **{k: r.get(k) for k in KEYS},
                   "per_category_auc": {c: v["auc"] for c, v in (r.get("per_category") or {}).items()},
                   "run_dir": r.get("run_dir"), **_run_cost(r.get("run_dir"))}
            key = f"{os.path.basename(os.path.normpath(rep))}/{label}"
            runs[key] = row
            groups.setdefault(f"{os.path.basename(os.path.normpath(rep))}/{m.group(1) if m else label}", []).append(row)
    out = {}
    for g, rows in groups.items():
        s = {"method": rows[0]["method"], "crop": rows[0]["crop"], "split": rows[0]["split"], "n": len(rows),
             "seeds": [r["seed"] for r in rows]}
        for k in KEYS + ("cpu_min",):
            s[f"{k}_mean"], s[f"{k}_std"] = _stats([r.get(k) for r in rows])
        cats = sorted({c for r in rows for c in r["per_category_auc"]})
        s["per_category_auc"] = {c: dict(zip(("mean", "std"), _stats([r["per_category_auc"].get(c) for r in rows])))
                                 for c in cats}
        out[g] = s
    return {"reports": [os.path.abspath(r) for r in reports], "runs": runs, "groups": out}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    res = summarise(argv[1:])
    atomic_write_json(argv[0], res, indent=1)
    for g, s in res["groups"].items():
        sd = "" if s["auc_std"] is None else f" +- {s['auc_std']:.3f}"
        iou = s["mask_iou_full_visible_mean"]
        print(f"{g:45s} n={s['n']} AUC {s['auc_mean']:.3f}{sd}  EPE med {s['epe_median_mean']:.1f} px"
              + (f"  IoU amodal {s['mask_iou_full_mean']:.3f} visible {iou:.3f}" if iou is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
