"""`hopgen tables --ablation / --noise-ablation`: values read from the runs' resolved configs, the reference
value found through the tables' rows, paired bootstrap deltas, the report section, and clear errors."""

import json
import os

import numpy as np
import pytest

from trainer.ablations import AblationError, build_ablations, noise_records, parse_ablation, value_of
from trainer.config import load_config, save_resolved
from trainer.evaluate import write_predictions
from trainer.tables import build_tables, main

CFG = {"ours_cluster": "configs/train/cpu_ours_cluster_3d.yaml", "ours_triplet": "configs/train/cpu_ours_triplet_3d.yaml",
       "poseprior": "configs/train/cpu_poseprior_3d.yaml"}
N = 50


def _run(root, name, kind, sets=()):
    """A run folder holding the real resolved config of a CPU 3D config (+ overrides), as `hopgen train` writes it."""
    d = os.path.join(root, name)
    os.makedirs(d)
    save_resolved(load_config(CFG[kind], list(sets)), os.path.join(d, "config.yaml"))
    return d


def _report(path, split, runs, crop=None):
    """A `hopgen eval`-style 3D report: {label: (method, run_dir, noise_mm)}; the same GT for every run."""
    os.makedirs(os.path.join(path, "predictions"))
    rng = np.random.default_rng(0)
    gt = rng.normal(scale=40.0, size=(N, 21, 3))
    cats = np.arange(N) % 4
    metrics = {}
    for label, (method, run, noise) in runs.items():
        pred = gt + np.random.default_rng(int(noise * 10)).normal(scale=noise, size=gt.shape)
        write_predictions(os.path.join(path, "predictions", f"{label}.npz"), ids=[f"{i:08d}" for i in range(N)],
                          xyz_pred_mm=pred, xyz_gt_mm=gt, vis=np.ones((N, 21), bool), category_pred=cats[::-1].copy(),
                          category_gt=cats)
        metrics[label] = {"method": method, "table": "III", "lo": 0.0, "hi": 50.0, "split": split, "run_dir": run,
                          **({"crop": crop} if crop else {})}
    with open(os.path.join(path, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    return str(path)


@pytest.fixture
def weight_ablation(tmp_path):
    runs = str(tmp_path / "runs")
    r = {(k, w): _run(runs, f"{k}_w{w}_s0", k, [f"lift.loss.{k[5:]}={w}"])
         for k in ("ours_cluster", "ours_triplet") for w in (0, 0.1, 1)}
    name = {"ours_cluster": "Ours (cluster)", "ours_triplet": "Ours (triplet)"}
    noise = {0: 20.0, 0.1: 20.0, 1: 6.0}   # weight 0 = weight 0.1 (same predictions); weight 1 much better
    val = _report(tmp_path / "val", "val", {f"{k}_w{w}_s0": (name[k], d, noise[w]) for (k, w), d in r.items()})
    test = _report(tmp_path / "test", "test", {f"{k}_s0": (name[k], r[(k, 0.1)], 20.0) for k in name})
    return val, test


def test_metric_weight_values_reference_and_paired_delta(weight_ablation):
    val, test = weight_ablation
    result, _ = build_tables([test], n_boot=200, ablations=[parse_ablation(f"metric_weight={val}")])
    recs = result["ablations"]
    assert len(recs) == 6 and {r["split"] for r in recs} == {"val"} and {r["varied"] for r in recs} == {"metric_weight"}
    for method in ("Ours (cluster)", "Ours (triplet)"):
        by = {r["value"]: r for r in recs if r["method"] == method}
        assert sorted(by) == [0.0, 0.1, 1.0]
        assert by[0.1]["in_table"] and by[0.1]["reference"] and "delta_vs_reference" not in by[0.1]
        assert not by[1.0]["in_table"] and not by[0.0]["reference"]
        same, better = by[0.0]["delta_vs_reference"], by[1.0]["delta_vs_reference"]
        assert same["value"] == 0.1 and same["auc"] == 0.0 and same["ci95"] == [0.0, 0.0] and same["tie"]  # paired
        assert better["auc"] > 0.1 and better["ci95"][0] > 0 and not better["tie"]
        assert better["auc"] == pytest.approx(by[1.0]["auc"] - by[0.1]["auc"])
        lo, hi = by[1.0]["ci95"]
        assert lo < by[1.0]["auc"] < hi and by[1.0]["bootstrap"]["samples"] == N
        assert by[1.0]["category_accuracy"] == 0.0 and by[1.0]["majority_rate"] == pytest.approx(13 / 50)
        assert by[1.0]["runs"][0]["label"].endswith("_w1_s0") and by[1.0]["seeds"] == [0]


def test_value_of_aliases_crop_and_a_lifter_without_metric(tmp_path):
    run = _run(str(tmp_path), "pp_s0", "poseprior", ["train.iterations=1500"])
    assert parse_ablation("steps=/x") == ("train.iterations", "/x") and parse_ablation("latent=/x")[0] == "model.latent"
    assert value_of("train.iterations", {}, run) == 1500 and value_of("model.latent", {}, run) == 64
    assert value_of("metric_weight", {}, run) is None
    assert value_of("crop", {"crop": "gt"}, run) == "gt" and value_of("crop", {}, run) == "pipeline"
    with pytest.raises(AblationError, match="pp_s0/config.yaml: no key 'model.nonsense'"):
        value_of("model.nonsense", {}, run)
    with pytest.raises(AblationError, match="expected KEY=REPORT"):
        parse_ablation("model.latent")


def test_noise_records_and_cli_report_section(weight_ablation, tmp_path):
    val, test = weight_ablation
    noise = tmp_path / "noise.json"
    noise.write_text(json.dumps({"split": "test", "runs": {"poseprior_s0": [
        {"uv_noise": 0.0, "auc": 0.44, "epe_median": 27.2, "epe_median_2d_px": 0.1, "auc_2d": 0.89},
        {"uv_noise": 80.0, "auc": 0.12, "epe_median": 96.2, "epe_median_2d_px": 19.4, "auc_2d": 0.22}]}}))
    recs = noise_records(str(noise))
    assert [(r["method"], r["value"], r["auc"], r["epe_2d_px"]) for r in recs] == \
        [("PosePrior", 0.0, 0.44, 0.1), ("PosePrior", 80.0, 0.12, 19.4)]
    out = str(tmp_path / "res" / "paper_tables.json")
    assert main(["--reports", test, "--out", out, "--bootstrap", "50", "--ablation", f"metric_weight={val}",
                 "--noise-ablation", str(noise)]) == 0
    res = json.load(open(out))
    assert len(res["ablations"]) == 8 and "rows" in res and "summary" in res and "missing" in res  # schema kept
    report = open(tmp_path / "res" / "report.md").read()
    assert "## Ablations" in report and "### Metric-loss weight" in report and "### 2D error a Table III" in report
    assert "| III | Ours (cluster) | 0.1 * | val |" in report and " tie |" in report and "| 80 | 19.4 | 0.120 (96.2) |" in report
    assert report.index("## Ablations") < report.index("## Missing rows")
    # without ablations the JSON has no "ablations" key (the documented schema, unchanged)
    assert main(["--reports", test, "--out", out, "--bootstrap", "20"]) == 0 and "ablations" not in json.load(open(out))
    assert main(["--reports", test, "--out", out, "--ablation", f"latent={tmp_path / 'nothing'}"]) == 2


def test_an_ablation_over_runs_without_a_config_names_the_run(tmp_path):
    rep = _report(tmp_path / "rep", "val", {"x_s0": ("Ours (cluster)", str(tmp_path / "gone"), 10.0)})
    with pytest.raises(AblationError, match="gone: no config.yaml"):
        build_ablations([("model.latent", rep)], [])


def test_a_copy_of_a_copy_is_the_same_run(tmp_path):
    from trainer.ablations import _same_run
    a, b, c, other = (tmp_path / n for n in "abcx")
    for d in (a, b, c, other):
        d.mkdir()
    (b / "COPIED_FROM").write_text(f"{a}\n")
    (c / "COPIED_FROM").write_text(f"{b}\n")
    assert _same_run(str(c), str(a)) and _same_run(str(b), str(c)) and not _same_run(str(c), str(other))
    assert not _same_run(None, str(a))
    for d, loss in ((a, 1.0), (other, 1.0)):  # a plain copy (cp -r, no note): the same config and training log
        (d / "config.yaml").write_text("train: {seed: 0}\n")
        (d / "log.jsonl").write_text(f'{{"step": 10, "loss": {loss}}}\n')
    assert _same_run(str(other), str(c))
    (other / "log.jsonl").write_text('{"step": 10, "loss": 2.0}\n')
    assert not _same_run(str(other), str(a))


def test_report_states_the_seed_spread_next_to_single_seed_deltas():
    from trainer.ablations import ablation_markdown

    def rec(varied, value, auc, ref=False):
        return {"table": "III", "method": "Ours (cluster)", "varied": varied, "value": value, "split": "val",
                "seeds": [0], "auc": auc, "auc_std": 0.0, "ci95": [auc - 0.05, auc + 0.05], "in_table": ref,
                "reference": ref, **({} if ref else {"delta_vs_reference": {"value": 0.1, "auc": auc - 0.40,
                                                                           "ci95": [0.001, 0.02], "tie": False}})}
    recs = [rec("metric_weight", 0.1, 0.40, True), rec("metric_weight", 0.0, 0.41),
            rec("train.seed", 0, 0.40, True), rec("train.seed", 1, 0.37), rec("train.seed", 2, 0.43)]
    text = "\n".join(ablation_markdown(recs))
    assert "seed-to-seed sd of the reference config on the same split (train.seed ablation) is Ours (cluster) 0.030" in text
    assert "| III | Ours (cluster) | 0 | val | 0 | 0.410 | [0.360, 0.460] | +0.010 [+0.001, +0.020] |" in text
    assert text.count("seed-to-seed sd") == 1  # not under the seed table itself
