"""`hopgen predict` (trainer.predict) with tiny trained runs: JSON + PNG per image, both ways of
getting the 2D stage (a whole-pipeline run, or a GT-heatmap run + --run2d), root placement with K,
and clear errors."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from hopfixtures import make_toy_hop
from hopgen.core import camera
from trainer import predict
from trainer.config import load_config
from trainer.engine import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("predict")
    toy = make_toy_hop(str(base / "toy"), n=16, size=64, seed=5)
    runs = {k: str(base / k) for k in ("run2d", "gt", "full")}
    short = ["train.iterations=2", "train.ckpt_every=2"]
    train(load_config("configs/train/tiny_ours_posenet.yaml", short), [toy], runs["run2d"], progress=False)
    train(load_config("configs/train/tiny_3d_triplet.yaml", short), [toy], runs["gt"], progress=False)
    train(load_config("configs/train/tiny_full_cluster.yaml", short + [f"lift.run2d={runs['run2d']}"]), [toy],
          runs["full"], progress=False)
    # an arbitrary non-square RGB photo-like image
    rng = np.random.default_rng(0)
    photo = str(base / "photo.png")
    Image.fromarray(rng.integers(0, 255, size=(50, 80, 3), dtype=np.uint8)).save(photo)
    return dict(toy=toy, photo=photo, **runs)


def _check(out, stem, side=None):
    with open(os.path.join(out, f"{stem}.json")) as f:
        r = json.load(f)
    assert np.asarray(r["uv"]).shape == (21, 2) and np.asarray(r["xyz_relative_m"]).shape == (21, 3)
    assert len(r["uv_confidence"]) == 21 and len(r["joint_names"]) == 21
    assert np.all(np.isfinite(r["uv"])) and np.all(np.isfinite(r["xyz_relative_m"]))
    assert np.allclose(r["xyz_relative_m"][0], 0.0)  # root-relative at the wrist
    assert r["side"] in ("left", "right") and (side is None or r["side"] == side)
    assert set(r["side_fit_residual"]) == ({side} if side else {"left", "right"})
    w, h = r["image_size"]
    x0, y0, x1, y1 = r["box"]
    assert -1 <= x0 < x1 <= w and -1 <= y0 < y1 <= h
    with Image.open(os.path.join(out, f"{stem}.png")) as im:
        assert im.size[0] >= 200 and im.size[1] >= 100
    return r


def test_predict_full_run_with_K(setup, tmp_path):
    out = str(tmp_path / "pred")
    img = os.path.join(setup["toy"], "rgb", "00000000.png")
    assert predict.main([img, setup["photo"], "--run", setup["full"], "--out", out, "--K", "80,80,31.5,31.5"]) == 0
    r = _check(out, "00000000")
    assert np.asarray(r["xyz_camera_m"]).shape == (21, 3) and len(r["root_camera_m"]) == 3
    np.testing.assert_allclose(np.asarray(r["xyz_camera_m"]) - r["root_camera_m"], r["xyz_relative_m"], atol=1e-9)
    assert r["category"] in ("cylindrical", "slender", "cubical", "spherical")
    assert sum(r["category_probabilities"].values()) == pytest.approx(1.0)
    assert r["category_probability"] == max(r["category_probabilities"].values())
    assert isinstance(r["cluster"], int)
    _check(out, "photo")


def test_predict_gt_run_with_run2d_and_side(setup, tmp_path):
    out = str(tmp_path / "pred")
    img = os.path.join(setup["toy"], "rgb", "00000003.png")
    assert predict.main([img, "--run", setup["gt"], "--run2d", setup["run2d"], "--out", out, "--side", "left"]) == 0
    r = _check(out, "00000003", side="left")
    assert r["side_given"] and r["xyz_camera_m"] is None and r["cluster"] is None
    assert r["category"] is not None  # triplet run: nearest running class mean


def test_predict_errors(setup, tmp_path, capsys):
    img = os.path.join(setup["toy"], "rgb", "00000000.png")
    out = str(tmp_path / "p")
    assert predict.main([img, "--run", setup["run2d"], "--out", out]) == 2
    assert "3D run" in capsys.readouterr().err
    assert predict.main([img, "--run", setup["gt"], "--out", out]) == 2
    assert "--run2d" in capsys.readouterr().err
    assert predict.main([img, "--run", setup["full"], "--out", out, "--K", "1,2,3"]) == 2
    assert "fx,fy,cx,cy" in capsys.readouterr().err
    assert predict.main([str(tmp_path / "missing.png"), "--run", setup["full"], "--out", out]) == 2
    assert "missing.png" in capsys.readouterr().err


def test_place_root_and_fit_are_exact():
    rng = np.random.default_rng(1)
    P = rng.normal(scale=0.04, size=(21, 3))
    P -= P[0]
    t = np.array([0.03, -0.02, 0.45])
    K = camera.intrinsics(300.0, 310.0, 64.0, 50.0)
    uv = camera.project(K, P + t)
    np.testing.assert_allclose(predict.place_root(P, uv, K, np.ones(21)), t, atol=1e-9)
    resid, t_fit = predict.fit_residual(P, uv, np.ones(21), K)
    assert resid < 1e-9 and np.allclose(t_fit, t)
    # weak perspective: an exact affine image of the xy is fit exactly, a perturbed one is not
    uv_w = 200.0 * P[:, :2] + [30.0, 40.0]
    assert predict.fit_residual(P, uv_w, np.ones(21))[0] < 1e-9
    assert predict.fit_residual(P, uv_w + rng.normal(scale=2.0, size=uv_w.shape), np.ones(21))[0] > 1e-3
