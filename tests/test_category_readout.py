"""benchmarks.category_readout_3d on a toy HOP folder: split mix, GT oracles and a run's read-out; a run that
predicts the GT pose gets the oracle's pose kNN read-out (the same features, the same neighbours)."""

import json
import os

import numpy as np

from benchmarks import category_readout_3d
from hopfixtures import make_toy_hop
from trainer.evaluate import write_predictions


def test_mix_oracles_and_a_perfect_pose_run(tmp_path):
    root = make_toy_hop(str(tmp_path / "toy"), n=40, size=32, seed=3)
    test_ids = [line.strip() for line in open(os.path.join(root, "splits", "test.txt")) if line.strip()]
    xyz = np.stack([json.load(open(os.path.join(root, "anno", f"{i}.json")))["hand"]["xyz"] for i in test_ids]) * 1000
    cats = np.array([int(i) % 4 for i in test_ids])  # make_toy_hop cycles the categories
    rep = tmp_path / "rep"
    os.makedirs(rep / "predictions")
    pred = np.roll(cats, 1)
    write_predictions(str(rep / "predictions" / "x_s0.npz"), ids=test_ids, xyz_pred_mm=xyz - xyz[:, :1],
                      xyz_gt_mm=xyz - xyz[:, :1], vis=np.ones((len(test_ids), 21), bool), category_pred=pred,
                      category_gt=cats)
    (rep / "metrics.json").write_text(json.dumps({"x_s0": {"method": "Ours (triplet)", "split": "test"}}))
    out = tmp_path / "out.json"
    assert category_readout_3d.main([root, str(out), str(rep)]) == 0
    res = json.load(open(out))
    mix = res["mix"]
    assert mix["train"]["samples"] + mix["val"]["samples"] + mix["test"]["samples"] == 40
    assert mix["test"]["majority_rate"] == np.bincount(cats).max() / len(cats)
    assert set(res["oracles"]["test"]) == {"grasp_type", "pose_nearest_class_mean", "pose_knn10"}  # no joint angles
    run = res["runs"][str(rep)]["x_s0"]
    assert run["category_accuracy"] == np.mean(pred == cats) and sum(map(sum, run["confusion"])) == len(cats)
    assert run["pose_knn10"] == res["oracles"]["test"]["pose_knn10"]
