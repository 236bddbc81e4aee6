"""Summarise `hopgen eval` reports of 3D runs (dev-only helper of benchmarks/paper_cpu_3d.sh).

    python -m benchmarks.summarise_3d REPORT_DIR OUT.json

Reads REPORT/metrics.json and each run's RUN/time.txt (user, sys, wall seconds from /usr/bin/time) and
writes {runs: {label: {method, seed, auc, epe_median, epe_mean, category_accuracy, majority_rate,
cluster_purity, cluster_occupancy, steps, cpu_min}}, groups: {group: {n, auc_mean, auc_std, ...}}},
where a group is the run label without its _sSEED suffix (mean and sample std over seeds).
"""

import json
import os
import re
import sys

import numpy as np

from hopgen.core.atomic import atomic_write_json

KEYS = ("auc", "epe_median", "epe_mean", "category_accuracy", "majority_rate", "cluster_purity")


def summarise(report):
    with open(os.path.join(report, "metrics.json")) as f:
        metrics = json.load(f)
    runs, groups = {}, {}
    for label, r in sorted(metrics.items()):
        row = {"method": r["method"], "split": r["split"], "samples": r["samples"], "steps": r.get("steps"),
               **{k: r.get(k) for k in KEYS}, "cluster_occupancy": r.get("cluster_occupancy"),
               "auc_2d": r.get("auc_2d")}
        m = re.match(r"(.*)_s(\d+)$", label)
        row["seed"] = int(m.group(2)) if m else None
        t = os.path.join(r.get("run_dir", ""), "time.txt")
        if os.path.isfile(t):
            user, sys_, wall = (float(x) for x in open(t).read().split()[:3])
            row.update(cpu_min=round((user + sys_) / 60, 2), wall_min=round(wall / 60, 2))
        runs[label] = row
        groups.setdefault(m.group(1) if m else label, []).append(row)
    out = {}
    for g, rows in groups.items():
        s = {"method": rows[0]["method"], "n": len(rows)}
        for k in KEYS + ("auc_2d",):
            v = [r[k] for r in rows if r.get(k) is not None]
            if v:
                s[f"{k}_mean"] = float(np.mean(v))
                s[f"{k}_std"] = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        out[g] = s
    return {"report": report, "runs": runs, "groups": out}


if __name__ == "__main__":
    res = summarise(sys.argv[1])
    atomic_write_json(sys.argv[2], res, indent=1)
    for g, s in res["groups"].items():
        print(f"{g:28s} n={s['n']} AUC {s['auc_mean']:.3f} +- {s['auc_std']:.3f}  EPE med {s['epe_median_mean']:.1f}"
              + (f"  cat {s['category_accuracy_mean']:.3f} (majority {s['majority_rate_mean']:.3f})"
                 if "category_accuracy_mean" in s else ""))
