"""The 3D stage in the training engine (trainer.stage3d): training per variant, exact resume,
`hopgen eval` on 3D runs, the category read-out, the crop-roll of the 3D targets, and the whole
pipeline (2D run -> 3D run on its predicted heatmaps). Tiny real networks on toy HOP data."""

import json
import os

import numpy as np
import pytest
import torch

from hopfixtures import make_toy_hop
from hopgen.core import camera
from trainer import evaluate
from trainer.config import ConfigError, load_config
from trainer.data import apply_affine, crop_affine
from trainer.engine import load_model, train
from trainer.metrics import keypoint_measures
from trainer.models3d import LifterConfig, camera_roll
from trainer.stage3d import LiftModel, build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CFG = "configs/train/tiny_3d_{}.yaml"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_hop(str(tmp_path_factory.mktemp("toy3d")), n=32, size=64, seed=3)


def _losses(run):
    with open(os.path.join(run, "log.jsonl")) as f:
        return [json.loads(line)["loss"] for line in f if "loss" in line]


@pytest.fixture(scope="module")
def runs(toy, tmp_path_factory):
    """One short training run per variant (poseprior, triplet, cluster)."""
    base = tmp_path_factory.mktemp("runs3d")
    out = {}
    for v in ("poseprior", "triplet", "cluster"):
        cfg = load_config(CFG.format(v), ["train.iterations=24", "train.ckpt_every=24", "data.augment=false"])
        out[v] = str(base / v)
        summary = train(cfg, [toy], out[v], progress=False)
        assert summary["step"] == 24 and summary["nan_steps"] == 0
    return out


@pytest.mark.parametrize("variant", ["poseprior", "triplet", "cluster"])
def test_training_reduces_the_loss(runs, variant):
    losses = _losses(runs[variant])
    assert len(losses) == 24 and np.all(np.isfinite(losses))
    assert np.mean(losses[-4:]) < 0.6 * np.mean(losses[:4]), losses


def test_terms_per_variant(runs):
    with open(os.path.join(runs["triplet"], "log.jsonl")) as f:
        rec = json.loads(f.readline())
    assert {"pose", "rotation", "kl", "triplet"} <= set(rec) and "cluster" not in rec
    with open(os.path.join(runs["cluster"], "log.jsonl")) as f:
        rec = json.loads(f.readline())
    assert {"pose", "rotation", "kl", "cluster"} <= set(rec) and "triplet" not in rec
    with open(os.path.join(runs["poseprior"], "log.jsonl")) as f:
        rec = json.loads(f.readline())
    assert {"pose", "rotation"} <= set(rec) and not {"kl", "triplet", "cluster"} & set(rec)


def test_eq7_triplet_and_cluster_from_config(toy, tmp_path):
    """Eq. 7 (triplet + cluster together) is one config key away: lift.metric triplet+cluster."""
    cfg = load_config(CFG.format("cluster"), ["lift.metric=triplet+cluster", "data.augment=false"])
    train(cfg, [toy], str(tmp_path / "eq7"), progress=False)
    recs = [json.loads(line) for line in open(tmp_path / "eq7" / "log.jsonl")]
    assert all({"pose", "rotation", "kl", "triplet", "cluster"} <= set(r) for r in recs)
    assert recs[-1]["cluster"] > 0 and recs[-1]["triplet"] > 0  # centres seeded after the 4-step warm-up


def test_resume_is_exact(toy, tmp_path):
    over = ["train.iterations=6", "train.ckpt_every=3"]
    straight = str(tmp_path / "straight")
    train(load_config(CFG.format("cluster"), over), [toy], straight, progress=False)
    split = str(tmp_path / "split")
    train(load_config(CFG.format("cluster"), ["train.iterations=3", "train.ckpt_every=3"]), [toy], split, progress=False)
    train(load_config(CFG.format("cluster"), over), [toy], split, resume=True, progress=False)
    a = torch.load(os.path.join(straight, "ckpt", "last.pt"), weights_only=True)["model"]
    b = torch.load(os.path.join(split, "ckpt", "last.pt"), weights_only=True)["model"]
    assert a.keys() == b.keys() and "centres.centres" in a and "class_means" in a
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert float(a["bone_length"]) == pytest.approx(0.04, rel=0.2)  # toy hands: 40 mm MCP-PIP bone


def test_eval_writes_tables_plots_and_sane_metrics(runs, toy, tmp_path):
    out = str(tmp_path / "report")
    argv = ["--data", toy, "--out", out, "--split", "test"]
    for v in ("poseprior", "triplet", "cluster"):
        argv += ["--run", runs[v]]
    assert evaluate.main(argv) == 0
    for name in ("metrics.json", "report.md", "pck3d.png", "latent_triplet.png", "latent_cluster.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    assert not os.path.exists(os.path.join(out, "latent_poseprior.png"))  # PosePrior has no latent
    assert not os.path.exists(os.path.join(out, "pck.png"))  # no 2D runs
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    assert set(m) == {"poseprior", "triplet", "cluster"}
    for r in m.values():
        assert r["stage"] == "3d" and r["table"] == "III" and r["unit"] == "mm" and (r["lo"], r["hi"]) == (0, 50)
        assert 0.0 <= r["auc"] <= 1.0 and 0 < r["epe_median"] < 1000 and 0 < r["epe_mean"] < 1000
        assert r["samples"] == 8 and len(r["pck"]) == 20 and r["pck"] == sorted(r["pck"])
        assert set(r["per_category"]) <= {"cylindrical", "slender", "cubical", "spherical"} and r["per_category"]
    assert m["poseprior"]["category_accuracy"] is None and m["poseprior"]["method"] == "PosePrior"
    assert m["poseprior"]["latent_plot"] is None and m["cluster"]["latent_plot"] == "latent_cluster.png"
    assert 0.0 <= m["triplet"]["category_accuracy"] <= 1.0 and m["triplet"]["cluster_purity"] is None
    assert m["triplet"]["method"] == "Ours (triplet)" and m["cluster"]["method"] == "Ours (cluster)"
    assert 0.25 <= m["cluster"]["cluster_purity"] <= 1.0  # 4 balanced categories: purity >= 1/4
    assert 0.0 <= m["cluster"]["category_accuracy"] <= 1.0
    text = open(os.path.join(out, "report.md")).read()
    assert "## Table III: 3D pose from ground-truth heatmaps" in text and "Table I:" not in text
    assert "| AUC (0-50 mm) | EPE median (mm) | EPE mean (mm) |" in text
    assert "Table III per object category" in text and "category accuracy | cluster purity" in text
    assert "`pck3d.png`" in text and "`latent_cluster.png`" in text
    # the category read-out is reported beside the majority-class rate; the cluster occupancy is reported
    assert 0.25 <= m["triplet"]["majority_rate"] <= 1.0
    assert sum(m["cluster"]["cluster_occupancy"]) == 8 and len(m["cluster"]["cluster_occupancy"]) == 4
    assert m["cluster"]["clusters_used"] == sum(c > 0 for c in m["cluster"]["cluster_occupancy"])
    # per-sample predictions: every AUC/EPE in metrics.json is recomputable from the npz
    for label, r in m.items():
        assert r["predictions"] == f"predictions/{label}.npz"
        with np.load(os.path.join(out, r["predictions"]), allow_pickle=False) as z:
            p = {k: z[k] for k in z.files}
        assert set(p) == {"ids", "xyz_pred_mm", "xyz_gt_mm", "vis", "category_pred", "category_gt"}
        assert p["xyz_pred_mm"].shape == p["xyz_gt_mm"].shape == (8, 21, 3) and p["vis"].dtype == bool
        assert p["ids"].shape == (8,) and len(set(p["ids"].tolist())) == 8
        np.testing.assert_allclose(p["xyz_gt_mm"][:, 0], 0.0, atol=1e-3)  # root-relative (wrist)
        again = keypoint_measures(p["xyz_gt_mm"], p["xyz_pred_mm"], p["vis"], r["lo"], r["hi"])
        for key in ("auc", "epe_median", "epe_mean"):
            assert again[key] == pytest.approx(r[key], rel=1e-5, abs=1e-6), (label, key)
        known = p["category_gt"] >= 0
        if r["category_accuracy"] is None:
            assert np.all(p["category_pred"] == -1)
        else:
            assert (p["category_pred"][known] == p["category_gt"][known]).mean() == pytest.approx(r["category_accuracy"])


def test_category_readout():
    lc = LifterConfig(variant="variational", width=0.125, latent_dim=2, heatmap_size=8)
    m = LiftModel(lc, metric="triplet", ema=0.0)
    mu = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    m.update_stats(mu, torch.tensor([0, 0, 1, 3]), torch.full((4,), 0.04))
    probs, cluster = m.category_probs(torch.tensor([[0.2, 0.1], [4.0, 4.0], [-6.0, 5.0]]))
    assert cluster is None and probs.shape == (3, 4)
    assert probs.argmax(1).tolist() == [0, 1, 3]
    assert torch.all(probs[:, 2] == 0)  # category 2 never seen: never chosen
    torch.testing.assert_close(probs.sum(1), torch.ones(3))
    # cluster model: a cluster's category is the majority of the training samples assigned to it
    m = LiftModel(lc, metric="cluster", clusters=2, ema=0.0)
    with torch.no_grad():
        m.centres.centres.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
    m.update_stats(mu[:2], torch.tensor([2, 2]), torch.full((2,), 0.04), assign=torch.tensor([1, 1]))
    probs, cluster = m.category_probs(torch.tensor([[9.0, 0.0]]))
    assert cluster.tolist() == [1] and probs.argmax(1).tolist() == [2]


def test_write_predictions_round_trip_and_atomic(tmp_path):
    path = str(tmp_path / "rep" / "predictions" / "run.npz")
    arrays = dict(ids=np.array(["a", "b"]), xyz_pred_mm=np.random.default_rng(0).normal(size=(2, 21, 3)),
                  vis=np.ones((2, 21), bool), category_pred=np.array([-1, 2]))
    evaluate.write_predictions(path, **arrays)
    with np.load(path, allow_pickle=False) as z:
        for k, v in arrays.items():
            np.testing.assert_array_equal(z[k], v)
    assert os.listdir(os.path.dirname(path)) == ["run.npz"]  # no temporaries left
    evaluate.write_predictions(path, ids=np.array(["c"]))  # replaced whole
    with np.load(path) as z:
        assert z.files == ["ids"] and z["ids"].tolist() == ["c"]


def test_camera_roll_matches_rotated_crop():
    """Rolling the camera by the crop angle maps the 3D pose onto the rotated crop exactly
    (principal point at the crop centre, square pixels)."""
    rng = np.random.default_rng(0)
    xyz = rng.normal(scale=0.05, size=(21, 3)) + [0, 0, 0.5]
    K = camera.intrinsics(500.0, 500.0, 100.0, 80.0)
    A = crop_affine([100.0, 80.0], 150.0, 64, angle=0.4)
    uv_crop = apply_affine(A, camera.project(K, xyz))
    R = camera_roll(torch.tensor(A[None], dtype=torch.float64))[0].numpy()
    s = 64 / 150.0
    K_crop = camera.intrinsics(500.0 * s, 500.0 * s, 31.5, 31.5)
    np.testing.assert_allclose(camera.project(K_crop, xyz @ R.T), uv_crop, atol=1e-9)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_config_errors():
    with pytest.raises(ConfigError, match="lift.source"):
        from trainer.config import lift_cfg
        lift_cfg(load_config(CFG.format("cluster"), ["lift.source=photo"]))
    with pytest.raises(ConfigError, match="lift.nope"):
        load_config(CFG.format("cluster"), ["lift.nope=1"])
    with pytest.raises(ConfigError, match="lift.run2d"):
        from trainer.stage3d import build_model
        build_model(load_config("configs/train/tiny_full_cluster.yaml"))


def test_full_pipeline_end_to_end(toy, tmp_path):
    """2D run -> 3D run on its predicted heatmaps (2D fine-tuned jointly) -> Table IV evaluation."""
    run2d, full = str(tmp_path / "run2d"), str(tmp_path / "full")
    train(load_config("configs/train/tiny_ours_posenet.yaml", ["train.iterations=2", "train.ckpt_every=2"]),
          [toy], run2d, progress=False)
    cfg = load_config("configs/train/tiny_full_cluster.yaml", [f"lift.run2d={run2d}"])
    s = train(cfg, [toy], full, progress=False)
    assert s["step"] == 4 and np.isfinite(s["loss"])
    recs = [json.loads(line) for line in open(os.path.join(full, "log.jsonl"))]
    assert all("loss_2d" in r and "cluster" in r for r in recs)
    ck = torch.load(os.path.join(full, "ckpt", "last.pt"), weights_only=True)
    assert any(k.startswith("net2d.") for k in ck["model"]) and "stage: 2d" in ck["config"]["lift"]["config2d"]
    # the 2D weights moved (fine-tuned) away from the 2D run's
    w2d = torch.load(os.path.join(run2d, "ckpt", "last.pt"), weights_only=True)["model"]
    assert any(not torch.equal(w2d[k], ck["model"]["net2d." + k]) for k in w2d if w2d[k].is_floating_point())
    out = str(tmp_path / "report")
    assert evaluate.main(["--run", full, "--data", toy, "--out", out, "--max-samples", "4"]) == 0
    r = json.load(open(os.path.join(out, "metrics.json")))["full"]
    assert r["table"] == "IV" and r["method"] == "Ours (cluster)" and r["pipeline"] == "Ours-PoseNet + Ours (cluster)" and r["samples"] == 4
    assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["auc_2d"] <= 1.0 and np.isfinite(r["epe_mean"])
    text = open(os.path.join(out, "report.md")).read()
    assert "## Table IV: the whole pipeline" in text and "| 2D AUC (0-20 px) |" in text and "Table III" not in text
    assert os.path.getsize(os.path.join(out, "pck3d_pipeline.png")) > 0


def test_pred2d_heatmaps_are_the_2d_runs_own_predictions(toy, tmp_path):
    """A frozen pred2d model reads the same 2D keypoints as `hopgen eval` of its 2D run (same pipeline crops,
    same heatmap size and read-out, same sample order): the lifter of Table IV sees the 2D stage of Table I."""
    run2d = str(tmp_path / "run2d")
    train(load_config("configs/train/tiny_ours_posenet.yaml", ["train.iterations=2", "train.ckpt_every=2"]),
          [toy], run2d, progress=False)
    cfg2d, _, net2d = load_model(run2d)
    rep2d = str(tmp_path / "rep2d")
    os.makedirs(rep2d)
    evaluate.evaluate_2d(run2d, cfg2d, net2d, [toy], "train", rep2d, "cpu")
    ref = np.load(os.path.join(rep2d, "predictions", "run2d.npz"))
    cfg = load_config("configs/train/tiny_full_cluster.yaml", [f"lift.run2d={run2d}", "lift.finetune_2d=false"])
    model = build_model(cfg)
    _, r = evaluate.predict_dataset(model, cfg, [toy], "train", "cpu")
    assert list(r["ids"]) == list(ref["ids"]) and r["uv_pred"].shape == ref["uv_pred"].shape
    np.testing.assert_allclose(r["uv_pred"], ref["uv_pred"], atol=1e-3)
    np.testing.assert_allclose(r["uv"], ref["uv_gt"], atol=1e-4)
