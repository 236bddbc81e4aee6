"""Summarise `hopgen eval` reports of 3D runs (dev-only helper of benchmarks/paper_cpu_3d.sh).

    python -m benchmarks.summarise_3d REPORT_DIR OUT.json
    python -m benchmarks.summarise_3d --choose VAL_REPORT_DIR CHOICE.json   # the VAL search's choice

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


SEARCH_LABEL = re.compile(r"(?P<method>.+)_kl(?P<kl>[0-9.e-]+)_w(?P<w>[0-9.e-]+)_s(?P<seed>\d+)$")


def choose(report):
    """{method: {kl, weight, val_auc, run, searched: [{kl, weight, val_auc}]}} from a VAL report of search runs
    labelled METHOD_klBETA_wWEIGHT_sSEED: per method the (beta, weight) of the best val AUC (ties: first in
    sorted label order). Raises ValueError for a report that is not on the val split."""
    with open(os.path.join(report, "metrics.json")) as f:
        metrics = json.load(f)
    out = {}
    for label, r in sorted(metrics.items()):
        m = SEARCH_LABEL.match(label)
        if not m:
            continue
        if r["split"] != "val":
            raise ValueError(f"{report}: run {label} was evaluated on {r['split']!r}; the search must use val")
        e = out.setdefault(m.group("method"), {"searched": []})
        e["searched"].append({"kl": float(m.group("kl")), "weight": float(m.group("w")), "val_auc": r["auc"],
                              "run": label})
    for e in out.values():
        best = max(e["searched"], key=lambda x: x["val_auc"])  # max keeps the first of equal values
        e.update(kl=best["kl"], weight=best["weight"], val_auc=best["val_auc"], run=best["run"])
    return out


if __name__ == "__main__":
    if sys.argv[1] == "--choose":
        res = choose(sys.argv[2])
        atomic_write_json(sys.argv[3], res, indent=1)
        for m, e in res.items():
            print(f"{m}: kl {e['kl']} weight {e['weight']} (val AUC {e['val_auc']:.3f}; searched "
                  + ", ".join(f"{x['kl']}/{x['weight']}: {x['val_auc']:.3f}" for x in e["searched"]) + ")")
        sys.exit(0)
    res = summarise(sys.argv[1])
    atomic_write_json(sys.argv[2], res, indent=1)
    for g, s in res["groups"].items():
        print(f"{g:28s} n={s['n']} AUC {s['auc_mean']:.3f} +- {s['auc_std']:.3f}  EPE med {s['epe_median_mean']:.1f}"
              + (f"  cat {s['category_accuracy_mean']:.3f} (majority {s['majority_rate_mean']:.3f})"
                 if "category_accuracy_mean" in s else ""))
