"""Paired bootstrap of a comparison: AUC(B) - AUC(A) of two 2D runs (or seed means) on the same samples.

    python -m benchmarks.paired_val2d REPORT LABEL_A LABEL_B [--boot 2000]

Reads REPORT/predictions/LABEL.npz (hopgen eval; a comma-separated list of labels = the mean AUC over those runs,
e.g. the seeds of a row), aligns the samples by id, and resamples them with replacement (the same resample for
every run, trainer.table_rows.bootstrap_auc with one seed), printing both AUCs, the difference and its 95% interval:
how far a val decision on 72 samples, or a test ordering, is from a tie (sample noise only, not seed noise).
"""

import argparse
import os

import numpy as np

from trainer.table_rows import bootstrap_auc, errors_of


def paired(report, a, b, n_boot=2000, lo=0.0, hi=20.0):
    sides = []
    for labels in (a, b):
        runs = []
        for label in labels.split(","):
            with np.load(os.path.join(report, "predictions", f"{label}.npz")) as z:
                err, vis, _ = errors_of(z)
                runs.append((np.asarray(z["ids"]).astype(str), err, vis))
        sides.append(runs)
    common = sorted(set.intersection(*(set(r[0]) for runs in sides for r in runs)))
    reps = []
    for runs in sides:
        errs, viss = [], []
        for ids, err, vis in runs:
            pos = {s: i for i, s in enumerate(ids)}
            take = np.array([pos[s] for s in common])
            errs.append(err[take])
            viss.append(vis[take])
        reps.append(bootstrap_auc(errs, viss, lo, hi, n_boot=n_boot, seed=0))
    diff = reps[1] - reps[0]  # same seed and sample count: the same resamples for both runs
    return len(common), float(np.mean(reps[0])), float(np.mean(reps[1])), np.percentile(diff, [2.5, 97.5])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--boot", type=int, default=2000)
    x = ap.parse_args(argv)
    n, ma, mb, ci = paired(x.report, x.a, x.b, x.boot)
    print(f"{x.b} - {x.a} on {n} samples: bootstrap mean AUC {ma:.4f} -> {mb:.4f}, difference 95% interval "
          f"[{ci[0]:+.4f}, {ci[1]:+.4f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
