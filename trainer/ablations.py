"""Ablations for `hopgen tables`: one hyperparameter varied at a time, with bootstrap intervals and paired deltas.

    hopgen tables ... --ablation metric_weight=REPORTS/ablation3d_weight --ablation latent=REPORTS/ablation3d_latent \\
                      --ablation crop=REPORTS/table1 --ablation crop=REPORTS/table1_gt_crop \\
                      --noise-ablation benchmarks/results/cpu_scale/lift_noise_3d.json

`--ablation KEY=REPORT` (repeat; several REPORTs per KEY are pooled) reads every run of a `hopgen eval` report
folder (any split) and files it under KEY at the value its run had. KEY is a dotted config path of the run's
resolved config.yaml (defaults filled in by trainer.config), an alias of one (ALIASES: latent, kl, steps, init,
kl2d), `metric_weight` (lift.loss.triplet or lift.loss.cluster, whichever metric the 3D run trains; None for a
lifter without one, e.g. PosePrior beside the others in a steps ablation) or `crop` (the evaluation's crop,
metrics.json `crop`: pipeline | gt). AUC, EPE and the category read-out are recomputed from the predictions npz
as for the tables (trainer.table_rows.collect).

One record per (table, method, varied, value, split) in result["ablations"]: seeds, runs ([{seed, auc, run,
report, label}]), auc (mean over seeds), auc_std (ddof 1), ci95 (bootstrap 95% interval of the seed-mean AUC
over the split's samples, as the tables), epe_median/epe_mean, category_accuracy / majority_rate /
cluster_purity (means), steps, in_table (its runs are the runs of that table's row: the value the table uses),
reference (whether it is its method's reference value: the in_table one, a plain evaluation before a variant
such as the GT crop, else the first value) and delta_vs_reference {value, auc, ci95, tie}: the AUC difference to
the reference, bootstrapped PAIRED (the same resampled samples for both; a tie
when the interval holds 0). `--noise-ablation` adds the records of benchmarks/lift_noise_3d.py (varied
uv_noise_px: Table III lifters on GT maps with uv noise, scored in 3D, with the 2D EPE the noisy maps encode;
one run each, no interval: the JSON holds no per-sample predictions).
"""

import json
import os
import re

import numpy as np
import yaml

from trainer.config import ConfigError, config_from_dict, config_to_dict, variant_and_metric
from trainer.table_rows import _mean_std, aligned_errors, bootstrap_auc, collect, paper_method

ALIASES = {"latent": "model.latent", "kl": "lift.loss.kl", "steps": "train.iterations", "init": "model.init",
           "kl2d": "loss.kl"}
TITLES = {
    "model.latent": "Latent size z (model.latent)",
    "lift.loss.kl": "KL weight beta (lift.loss.kl)",
    "metric_weight": "Metric-loss weight (lift.loss.cluster for Ours (cluster), lift.loss.triplet for Ours "
                     "(triplet); 0 = the same variational lifter without its object-aware term)",
    "train.iterations": "Training steps (train.iterations; lr drop at 80% of them)",
    "model.init": "2D weight initialisation (model.init)",
    "loss.kl": "2D KL weight beta (loss.kl)",
    "crop": "2D test crop: pipeline (from the predicted mask) vs GT crop (hand3d's keypoint crop, no segmentation)",
    "uv_noise_px": "2D error a Table III lifter tolerates (benchmarks/lift_noise_3d.py: GT heatmaps drawn with uv "
                   "noise, lifted, scored in 3D; 2D EPE = what the noisy maps encode)",
}
# run-label prefixes of benchmarks/lift_noise_3d.py's JSON -> the paper's method names
NOISE_METHODS = {"poseprior": "PosePrior", "ours_cluster": "Ours (cluster)", "ours_triplet": "Ours (triplet)",
                 "ours_novar": "Ours w/o variational"}


class AblationError(ValueError):
    """An --ablation / --noise-ablation argument the aggregator cannot use (names it)."""


def parse_ablation(arg):
    """(KEY, REPORT) of a `KEY=REPORT` argument (KEY's alias resolved)."""
    key, sep, rep = arg.partition("=")
    if not sep or not key or not rep:
        raise AblationError(f"--ablation {arg!r}: expected KEY=REPORT (KEY: a config path, metric_weight or crop)")
    return ALIASES.get(key, key), rep


def _resolved_config(run_dir):
    """The run's config as a plain dict, defaults filled in (raw YAML if it no longer validates), or None."""
    path = os.path.join(run_dir or "", "config.yaml")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    try:
        cfg = config_from_dict(raw)
        d = config_to_dict(cfg)
        d["_metric"] = variant_and_metric(cfg)[1] if cfg.stage == "3d" else None
        return d
    except (ConfigError, ValueError, TypeError):
        return raw


def value_of(key, entry, run_dir):
    """The value of ablation KEY for a run: its metrics.json entry (crop) or its resolved config."""
    if key == "crop":
        return entry.get("crop") or "pipeline"
    cfg = _resolved_config(run_dir)
    if cfg is None:
        raise AblationError(f"{run_dir}: no config.yaml, cannot read ablation key {key!r}")
    if key == "metric_weight":
        metric = cfg.get("_metric")
        if not metric or metric == "none":
            return None
        loss = (cfg.get("lift") or {}).get("loss") or {}
        return "/".join(str(loss.get(m)) for m in metric.split("+")) if "+" in metric else loss.get(metric)
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise AblationError(f"{run_dir}/config.yaml: no key {key!r} (ablation keys: a dotted config path, "
                                f"{', '.join(ALIASES)}, metric_weight, crop)")
        node = node[part]
    return node


def _sort_key(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))


def _same_run(a, b):
    """Whether two run folders are the same training: one a COPIED_FROM copy of the other (a chain too), or
    copies without that note: byte-identical config.yaml and log.jsonl (the training log holds every step's
    losses, so two different trainings do not share it)."""
    def origin(d):
        d = os.path.realpath(d or "")
        for _ in range(16):  # a copy of a copy: follow the chain
            cf = os.path.join(d, "COPIED_FROM")
            if not os.path.isfile(cf):
                break
            d = os.path.realpath(open(cf).read().strip())
        return d

    def same_bytes(name):
        pa, pb = os.path.join(origin(a), name), os.path.join(origin(b), name)
        if not (os.path.isfile(pa) and os.path.isfile(pb)):
            return False
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            return fa.read() == fb.read()
    return bool(a and b) and (origin(a) == origin(b) or (same_bytes("config.yaml") and same_bytes("log.jsonl")))


def build_ablations(specs, table_rows, n_boot=1000, seed=0):
    """Ablation records (module docstring) of [(KEY, REPORT)] specs; table_rows = the tables' rows (in_table)."""
    groups = {}  # (table, method, key, value, split) -> [(row, arrays)]
    order = []
    for key, rep in specs:
        rows, arrays = collect([rep])
        with open(os.path.join(rep, "metrics.json")) as f:
            metrics = json.load(f)
        for row, arr in zip(rows, arrays):
            entry = metrics[row["label"]]
            value = value_of(key, entry, row["run"])
            g = (row["table"], paper_method(entry["method"]), key, value, entry.get("split", "test"))
            if g not in groups:
                groups[g] = []
                order.append(g)
            groups[g].append((row, arr))
    out = []
    for g in order:
        table, method, key, value, split = g
        items = groups[g]
        rs = [r for r, _ in items]
        rec = {"table": table, "method": method, "varied": key, "value": value, "split": split,
               "seeds": sorted(r["seed"] for r in rs if r["seed"] is not None), "samples": rs[0]["samples"],
               "runs": [{k: r[k] for k in ("seed", "auc", "run", "report", "label")} for r in rs]}
        rec["auc"], rec["auc_std"] = _mean_std([r["auc"] for r in rs])
        for k in ("epe_median", "epe_mean", "category_accuracy", "majority_rate", "cluster_purity", "steps", "minutes"):
            vals = [r.get(k) for r in rs if r.get(k) is not None]
            rec[k] = _mean_std(vals)[0] if vals else None
        # the tables' names of these runs (" (GT crop)" appended, no " [split]"): in a table row with the same run?
        named = {r["method"][:-len(f" [{split}]")] if r["method"].endswith(f" [{split}]") else r["method"] for r in rs}
        rec["in_table"] = any(t["table"] == table and t["method"] in named and _same_run(t["run"], r["run"])
                              for t in table_rows for r in rs)
        rec["_plain"] = named == {method}  # not an evaluation variant (a GT-crop row): preferred as the reference
        common, errs, viss = aligned_errors([a for _, a in items], list(range(len(items))))
        reps = bootstrap_auc(errs, viss, rs[0]["lo"], rs[0]["hi"], n_boot=n_boot, seed=seed)
        rec["ci95"] = [float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5))]
        rec["bootstrap"] = {"resamples": n_boot, "samples": len(common), "seed": seed}
        rec["_items"] = items
        out.append(rec)
    _add_deltas(out, n_boot, seed)
    for rec in out:
        rec.pop("_items"), rec.pop("_plain")
    keys = list(dict.fromkeys(k for k, _ in specs))  # the order of the --ablation arguments
    return sorted(out, key=lambda r: (keys.index(r["varied"]), r["table"], r["method"], r["split"], _sort_key(r["value"])))


def _add_deltas(records, n_boot, seed):
    """delta_vs_reference of every record: paired bootstrap of its AUC minus the reference value's."""
    fam = {}
    for r in records:
        fam.setdefault((r["table"], r["method"], r["varied"], r["split"]), []).append(r)
    for recs in fam.values():
        recs.sort(key=lambda r: _sort_key(r["value"]))
        ref = next((r for r in recs if r["in_table"] and r["_plain"]), None) or \
            next((r for r in recs if r["in_table"]), recs[0])
        for r in recs:
            r["reference"] = r is ref
            if r is ref:
                continue
            items_a, items_b = r["_items"], ref["_items"]
            arrays = [a for _, a in items_a] + [a for _, a in items_b]
            na = len(items_a)
            _, errs, viss = aligned_errors(arrays, list(range(len(arrays))))
            lo, hi = items_a[0][0]["lo"], items_a[0][0]["hi"]
            da = bootstrap_auc(errs[:na], viss[:na], lo, hi, n_boot=n_boot, seed=seed)
            db = bootstrap_auc(errs[na:], viss[na:], lo, hi, n_boot=n_boot, seed=seed)  # same resampled samples
            ci = [float(np.percentile(da - db, 2.5)), float(np.percentile(da - db, 97.5))]
            r["delta_vs_reference"] = {"value": ref["value"], "auc": r["auc"] - ref["auc"], "ci95": ci,
                                       "tie": bool(ci[0] <= 0.0 <= ci[1])}


def noise_records(path):
    """Ablation records of a benchmarks/lift_noise_3d.py JSON (varied uv_noise_px, one run each, no interval)."""
    try:
        with open(path) as f:
            d = json.load(f)
        runs = d["runs"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise AblationError(f"--noise-ablation {path}: not a lift_noise_3d JSON ({e})") from None
    out = []
    for label, levels in runs.items():
        prefix = re.sub(r"_s\d+$", "", label)
        hit = re.search(r"_s(\d+)$", label)
        for lv in levels:
            out.append({"table": "IV", "method": NOISE_METHODS.get(prefix, prefix), "varied": "uv_noise_px",
                        "value": lv["uv_noise"], "split": d.get("split", "test"),
                        "seeds": [int(hit.group(1))] if hit else [], "samples": None,
                        "runs": [{"seed": int(hit.group(1)) if hit else None, "auc": lv["auc"], "label": label,
                                  "run": None, "report": os.path.abspath(path)}],
                        "auc": lv["auc"], "auc_std": 0.0, "ci95": None, "epe_median": lv.get("epe_median"),
                        "epe_2d_px": lv.get("epe_median_2d_px"), "auc_2d": lv.get("auc_2d"), "in_table": False})
    return out


def _f(x, nd=3):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _v(x):
    """A hyperparameter value as written in a config (0.01, 256, kaiming)."""
    return "-" if x is None else (f"{x:g}" if isinstance(x, float) else str(x))


def ablation_markdown(records):
    """The report's Ablations section (lines): one small table per varied hyperparameter."""
    if not records:
        return []
    lines = ["## Ablations", "",
             "One hyperparameter varied at a time around the tables' configs. These runs choose nothing (the tables' "
             "hyperparameters come from the VAL searches their configs name); they explain the tables. AUC = mean over "
             "the seeds listed (+- sample std when more than one); CI = bootstrap 95% interval of the seed-mean AUC over "
             "the split's samples. delta = AUC minus the reference value's AUC (* = the value the table itself uses; "
             "(ref) where the table uses none of them), with a PAIRED bootstrap interval (the same resampled samples "
             "for both): when it holds 0 the difference is a tie at this sample size (val: 72 samples, test: 300). That "
             "interval holds the sample noise only, not the training noise of a single seed (see the train.seed "
             "ablation where there is one).", ""]
    by_key = {}
    for r in records:
        by_key.setdefault(r["varied"], []).append(r)
    # the seed-to-seed spread of each (table, method, split) when a train.seed ablation is given: training noise,
    # which the sample bootstrap of a single-seed delta does not see
    seed_sd = {}
    for r in by_key.get("train.seed", []):
        seed_sd.setdefault((r["table"], r["method"], r["split"]), []).append(r["auc"])
    seed_sd = {k: float(np.std(v, ddof=1)) for k, v in seed_sd.items() if len(v) > 1}
    for key, recs in by_key.items():
        lines += [f"### {TITLES.get(key, key)}", ""]
        if key == "uv_noise_px":  # one row per noise level, one column per lifter
            methods = list(dict.fromkeys(r["method"] for r in recs))
            levels = sorted({r["value"] for r in recs}, key=_sort_key)
            cell = {(r["method"], r["value"]): r for r in recs}
            lines += ["| uv noise (px on a 256 crop) | 2D EPE median of the maps (px) | " +
                      " | ".join(f"{m}: AUC (EPE median mm)" for m in methods) + " |", "|---|---|" + "---|" * len(methods)]
            for v in levels:
                any_r = next(cell[(m, v)] for m in methods if (m, v) in cell)
                lines.append(f"| {_v(v)} | {_f(any_r.get('epe_2d_px'), 1)} | " + " | ".join(
                    f"{_f(cell[(m, v)]['auc'])} ({_f(cell[(m, v)].get('epe_median'), 1)})" if (m, v) in cell else "-"
                    for m in methods) + " |")
            lines += ["", f"Split: {recs[0]['split']}; one seed-0 Table III run per lifter, no interval (the JSON "
                      "holds no per-sample predictions).", ""]
            continue
        lines += ["| table | method | value | split | seeds | AUC | 95% CI | delta vs * [95% CI] | category acc. | "
                  "majority | cluster purity | steps |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in recs:
            d = r.get("delta_vs_reference")
            delta = "-" if d is None else (f"{d['auc']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"
                                                   + (" tie" if d["tie"] else ""))
            ci = r.get("ci95")
            std = f" +- {_f(r['auc_std'])}" if len(r["seeds"]) > 1 else ""
            lines.append(f"| {r['table']} | {r['method']} | {_v(r['value'])}{(' *' if r['in_table'] else ' (ref)') if r.get('reference') else ''} | "
                         f"{r['split']} | {','.join(map(str, r['seeds']))} | {_f(r['auc'])}{std} | "
                         f"{'[%s, %s]' % (_f(ci[0]), _f(ci[1])) if ci else '-'} | {delta} | "
                         f"{_f(r.get('category_accuracy'))} | {_f(r.get('majority_rate'))} | "
                         f"{_f(r.get('cluster_purity'))} | {_f(r.get('steps'), 0)} |")
        lines.append("")
        sds = {k: v for k, v in seed_sd.items() if any((r["table"], r["method"], r["split"]) == k for r in recs)}
        if sds and key != "train.seed":
            lines += ["Training noise: the seed-to-seed sd of the reference config on the same split (train.seed "
                      "ablation) is " + ", ".join(f"{m} {sd:.3f}" for (_, m, _), sd in sorted(sds.items())) +
                      "; the delta intervals above hold only the sample noise, so a single-seed delta within about "
                      "twice that sd is not a finding.", ""]
    return lines
