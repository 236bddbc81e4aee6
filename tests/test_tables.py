"""`hopgen tables`: rows recomputed from the predictions npz, seeds' mean/std, bootstrap intervals, run
metadata from the run folders, the generated report."""

import json
import os

import numpy as np
import pytest
import yaml

from trainer.evaluate import write_predictions
from trainer.metrics import keypoint_measures
from trainer.tables import bootstrap_auc, build_tables, main, run_metadata


def _run_dir(root, name, seed, steps=40, batch=4, ips=8.0):
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "config.yaml"), "w") as f:
        yaml.safe_dump({"train": {"seed": seed}, "data": {"batch_size": batch}}, f)
    with open(os.path.join(d, "log.jsonl"), "w") as f:
        for s in range(10, steps + 1, 10):
            f.write(json.dumps({"step": s, "loss": 1.0, "images_per_s": ips}) + "\n")
    return d


def _report_2d(tmp_path, n=60, seeds=(0, 1, 2)):
    """A report folder with two 2D methods x seeds of synthetic predictions (ours closer to the GT)."""
    rep = str(tmp_path / "rep")
    os.makedirs(os.path.join(rep, "predictions"))
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 128, size=(n, 21, 2))
    vis = rng.random((n, 21)) > 0.2
    ids = [f"{i:08d}" for i in range(n)]
    metrics = {}
    for method, noise in (("HS-PoseNet", 12.0), ("Ours-PoseNet", 6.0)):
        for s in seeds:
            label = f"{method.lower()}_s{s}"
            pred = gt + rng.normal(scale=noise, size=gt.shape)
            run = _run_dir(str(tmp_path / "runs"), label, s)
            write_predictions(os.path.join(rep, "predictions", f"{label}.npz"), ids=ids, uv_pred=pred, uv_gt=gt,
                              vis=vis, category_gt=np.arange(n) % 4)
            m = keypoint_measures(gt, pred, vis, 0, 20)
            metrics[label] = {"method": method, "table": "I", "stage": "2d", "lo": 0.0, "hi": 20.0,
                              "auc": m["auc"], "run_dir": run}
    with open(os.path.join(rep, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    return rep, metrics


def test_bootstrap_replicate_is_the_protocol_on_resampled_rows():
    rng = np.random.default_rng(3)
    err = rng.gamma(2.0, 6.0, size=(30, 21))
    vis = rng.random((30, 21)) > 0.3
    reps = bootstrap_auc([err], [vis], 0, 20, n_boot=5, seed=7)
    counts = np.random.default_rng(7).multinomial(30, np.full(30, 1 / 30), size=5)
    for b in range(5):
        idx = np.repeat(np.arange(30), counts[b])
        want = keypoint_measures(np.zeros((len(idx), 21, 1)), err[idx][..., None], vis[idx], 0, 20)["auc"]
        assert reps[b] == pytest.approx(want, abs=1e-12)


def test_rows_summary_std_and_interval(tmp_path):
    rep, metrics = _report_2d(tmp_path)
    result, _ = build_tables([rep], n_boot=300, seed=0)
    rows = result["rows"]
    assert len(rows) == 6 and {r["method"] for r in rows} == {"HS-PoseNet", "Ours-PoseNet"}
    for r in rows:
        assert r["auc"] == pytest.approx(metrics[r["label"]]["auc"], abs=1e-12)  # recomputed from the npz
        assert r["steps"] == 40 and r["minutes"] == pytest.approx(40 * 4 / 8.0 / 60.0)
        assert r["seed"] in (0, 1, 2) and r["table"] == "I"
    summ = {s["method"]: s for s in result["summary"]}
    assert list(summ) == ["HS-PoseNet", "Ours-PoseNet"]  # paper order
    for method, s in summ.items():
        aucs = [r["auc"] for r in rows if r["method"] == method]
        assert s["auc_mean"] == pytest.approx(np.mean(aucs))
        assert s["auc_std"] == pytest.approx(np.std(aucs, ddof=1))
        lo, hi = s["auc_ci95"]
        assert lo <= s["auc_mean"] <= hi and hi - lo > 0
        assert s["seeds"] == [0, 1, 2] and s["paper"]["auc"] in (0.722, 0.754)
        assert set(s["per_category_auc_mean"]) == {"cylindrical", "slender", "cubical", "spherical"}
    assert summ["Ours-PoseNet"]["auc_mean"] > summ["HS-PoseNet"]["auc_mean"]
    missing = {(m["table"], m["method"]) for m in result["missing"]}
    assert ("I", "Ours-Hourglass") in missing and ("III", "PosePrior") in missing and ("I", "HS-PoseNet") not in missing
    again, _ = build_tables([rep], n_boot=300, seed=0)
    assert again["summary"] == result["summary"]  # seeded
    m = json.load(open(os.path.join(rep, "metrics.json")))  # the same predictions evaluated on GT crops
    for r in m.values():
        r["crop"] = "gt"
    json.dump(m, open(os.path.join(rep, "metrics.json"), "w"))
    gt_rows, _ = build_tables([rep], n_boot=10)
    assert {r["method"] for r in gt_rows["rows"]} == {"HS-PoseNet (GT crop)", "Ours-PoseNet (GT crop)"}


def test_3d_rows_category_readout_and_cli(tmp_path):
    rep2, _ = _report_2d(tmp_path, seeds=(0,))
    rep = str(tmp_path / "rep3")
    rng = np.random.default_rng(1)
    n = 40
    gt = rng.normal(scale=40.0, size=(n, 21, 3))
    cats = np.array([0] * 20 + [1] * 10 + [2] * 10)
    pred_cat = cats.copy()
    pred_cat[:10] = 1
    write_predictions(os.path.join(rep, "predictions", "triplet_s0.npz"), ids=[str(i) for i in range(n)],
                      xyz_pred_mm=gt + rng.normal(scale=10.0, size=gt.shape), xyz_gt_mm=gt, vis=np.ones((n, 21), bool),
                      category_pred=pred_cat, category_gt=cats, latent=rng.normal(size=(n, 8)))
    with open(os.path.join(rep, "metrics.json"), "w") as f:
        json.dump({"triplet_s0": {"method": "Ours (triplet)", "table": "III", "lo": 0.0, "hi": 50.0, "auc": 0.5,
                                  "cluster_purity": 0.7}}, f)
    data = str(tmp_path / "data")
    os.makedirs(os.path.join(data, "splits"))
    with open(os.path.join(data, "dataset.json"), "w") as f:
        json.dump({"num_samples": 100, "image_size": [128, 128], "config": {"dataset": {"name": "hop_cpu"}}}, f)
    for split, k in (("train", 80), ("val", 5), ("test", 15)):
        with open(os.path.join(data, "splits", f"{split}.txt"), "w") as f:
            f.write("".join(f"{i}\n" for i in range(k)))
    out = str(tmp_path / "results" / "paper_tables.json")
    assert main(["--reports", rep2, "--reports", rep, "--data", data, "--out", out, "--bootstrap", "100"]) == 0
    res = json.load(open(out))
    assert res["dataset"]["config"] == "hop_cpu" and res["dataset"]["test"] == 15 and res["scale"] == "cpu"
    (row,) = [r for r in res["rows"] if r["table"] == "III"]
    assert row["category_accuracy"] == pytest.approx(0.75) and row["majority_rate"] == pytest.approx(0.5)
    assert row["cluster_purity"] == 0.7 and row["unit"] == "mm" and row["steps"] is None
    report = open(os.path.join(tmp_path, "results", "report.md")).read()
    assert "0.597" in report and "majority rate" in report and "Table IV: Zimmermann et al." in report
    for f in ("pck_table_I.png", "pck_table_III.png", "latent_table_III_Ours_triplet.png"):
        assert os.path.getsize(os.path.join(tmp_path, "results", f)) > 500
    assert main(["--reports", str(tmp_path / "nothing"), "--out", out]) == 2


def test_run_metadata_of_a_missing_run():
    assert run_metadata(None) == {"seed": None, "steps": None, "minutes": None, "batch_size": None}
