"""Table IV's lifter: initialised from a GT-heatmap (Table III) run of the same method (lift.init_from,
trainer.stage3d.init_from_run), and the lifter's input (LiftModel.lifter_input: resampled to the lifter's
grid, lift.input_norm) made the same way in training, evaluation and prediction. Tiny real networks on
toy HOP data."""

import json
import os

import numpy as np
import pytest
import torch

from hopfixtures import make_toy_hop
from trainer import evaluate
from trainer.config import load_config
from trainer.data import make_dataset_3d
from trainer.engine import CheckpointError, load_checkpoint, train
from trainer.heatmaps import render_heatmaps
from trainer.stage3d import build_model, init_from_run, loss_3d

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHORT = ["train.iterations=3", "train.ckpt_every=3"]
# GT-heatmap lifters on a 16x16 grid (64 px crops, stride 4); the pipeline's 2D stage gives 8x8 maps
GT16 = ["train.iterations=6", "train.ckpt_every=6", "data.heatmap_stride=4", "lift.input_norm=sample_max"]
FULL16 = ["lift.input_size=16", "lift.input_norm=sample_max", "lift.cluster_buffer=16"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("liftinit")
    toy = make_toy_hop(str(base / "toy"), n=16, size=64, seed=7)
    runs = {k: str(base / k) for k in ("run2d", "cluster16", "cluster_z8", "poseprior16")}
    train(load_config("configs/train/tiny_ours_posenet.yaml", SHORT), [toy], runs["run2d"], progress=False)
    train(load_config("configs/train/tiny_3d_cluster.yaml", GT16), [toy], runs["cluster16"], progress=False)
    train(load_config("configs/train/tiny_3d_cluster.yaml", GT16 + ["model.latent=8"]), [toy], runs["cluster_z8"],
          progress=False)
    train(load_config("configs/train/tiny_3d_poseprior.yaml", GT16), [toy], runs["poseprior16"], progress=False)
    return dict(toy=toy, **runs)


def _full_cfg(setup, *extra):
    return load_config("configs/train/tiny_full_cluster.yaml",
                       [f"lift.run2d={setup['run2d']}", f"lift.init_from={setup['cluster16']}"] + FULL16 + list(extra))


def _lifter_state(state):
    return {k: v for k, v in state.items() if not k.startswith("net2d.") and k != "steps"}


def test_init_from_restores_the_lifter_exactly(setup):
    cfg = _full_cfg(setup)
    model = build_model(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    init_from_run(model, cfg)
    src = _lifter_state(load_checkpoint(os.path.join(setup["cluster16"], "ckpt", "last.pt"))["model"])
    got = model.state_dict()
    assert src and set(src) == set(_lifter_state(got))
    for k, v in src.items():
        assert torch.equal(got[k], v), k
    assert any(not torch.equal(before[k], src[k]) for k in src if src[k].is_floating_point())
    assert bool(model.centres.ready) and int(model.steps) == 0      # seeded centres; this run's steps from 0
    net2d = load_checkpoint(os.path.join(setup["run2d"], "ckpt", "last.pt"))["model"]
    for k, v in net2d.items():                                      # the 2D stage keeps the 2D run's weights
        assert torch.equal(got["net2d." + k], v), k


def test_training_starts_from_the_init_run_and_evaluates(setup, tmp_path):
    """A Table IV config end to end: the engine applies lift.init_from when training starts (an lr far too
    small to move float32 weights leaves the lifter exactly as initialised), then `hopgen eval` reads it."""
    out = str(tmp_path / "full")
    s = train(_full_cfg(setup, "optim.lrs=[1.0e-30,1.0e-30]"), [setup["toy"]], out, progress=False)
    assert s["step"] == 4 and np.isfinite(s["loss"])
    ck = load_checkpoint(os.path.join(out, "ckpt", "last.pt"))["model"]
    src = load_checkpoint(os.path.join(setup["cluster16"], "ckpt", "last.pt"))["model"]
    lifter = [k for k in src if k.startswith("lifter.")]
    assert lifter and all(torch.equal(ck[k], src[k]) for k in lifter)
    rep = str(tmp_path / "report")
    assert evaluate.main(["--run", out, "--data", setup["toy"], "--out", rep, "--max-samples", "4"]) == 0
    r = json.load(open(os.path.join(rep, "metrics.json")))["full"]
    assert r["table"] == "IV" and r["method"] == "Ours (cluster)" and 0.0 <= r["auc"] <= 1.0
    npz = np.load(os.path.join(rep, "predictions", "full.npz"))
    assert npz["xyz_pred_mm"].shape == (4, 21, 3) and np.isfinite(npz["xyz_pred_mm"]).all()


def test_init_from_rejects_a_mismatch(setup, tmp_path):
    model = build_model(_full_cfg(setup))
    bad = {"cluster_z8": "model.latent", "poseprior16": "lifter variant", "run2d": "not a 3D run"}
    for run, what in bad.items():
        with pytest.raises(CheckpointError, match=what):
            init_from_run(model, _full_cfg(setup, f"lift.init_from={setup[run]}"))
    with pytest.raises(CheckpointError, match="lifter grid"):   # 8x8 maps into a 16x16 lifter
        init_from_run(model, _full_cfg(setup, "lift.input_size=0"))
    with pytest.raises(CheckpointError, match="lift.input_norm"):
        init_from_run(model, _full_cfg(setup, "lift.input_norm=none"))
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        init_from_run(model, _full_cfg(setup, f"lift.init_from={tmp_path / 'nowhere'}"))
    # same keys, wrong shape: a checkpoint whose config matches but whose weights do not
    ck = load_checkpoint(os.path.join(setup["cluster16"], "ckpt", "last.pt"))
    k = next(k for k in ck["model"] if k.startswith("lifter.") and k.endswith("weight"))
    ck["model"][k] = torch.zeros(3, 3)
    os.makedirs(tmp_path / "forged" / "ckpt")
    torch.save(ck, tmp_path / "forged" / "ckpt" / "last.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        init_from_run(model, _full_cfg(setup, f"lift.init_from={tmp_path / 'forged'}"))


def test_lifter_input_normalisation_and_resampling(setup):
    model = build_model(_full_cfg(setup))
    uv = np.array([[[10.0, 20.0]] * 21])
    uv[0, :, 0] += np.arange(21) * 2.0
    draw = np.ones((1, 21), bool)
    draw[0, 5] = False                                      # an invisible joint: an empty map
    gt8 = torch.from_numpy(render_heatmaps(uv, draw, 8, 25.0 * 64 / 256, crop_size=64))
    pred = torch.cat([0.06 * gt8 - 0.01, gt8])              # a weak, offset map (an early 2D stage) and a GT one
    pred[0, 3] *= 0.5                                       # one joint half as confident as the others
    x = model.lifter_input(pred)
    assert x.shape == (2, 21, 16, 16) and float(x.min()) >= 0.0
    np.testing.assert_allclose(x.amax((1, 2, 3)).numpy(), 1.0, atol=1e-6)
    assert float(x[1, 5].abs().max()) == 0.0                # an empty map stays empty
    peaks = x[0].amax((1, 2))
    assert 0.4 < float(peaks[3] / peaks[4]) < 0.6           # relative confidence kept
    # resampling 8x8 -> 16x16 keeps the keypoints where heatmaps_to_uv reads them (crop px)
    np.testing.assert_allclose(evaluate.heatmaps_to_uv(x[1:], 64).numpy()[0, [0, 10, 20]],
                               evaluate.heatmaps_to_uv(gt8, 64).numpy()[0, [0, 10, 20]], atol=1.5)


def test_lifter_input_is_the_same_in_training_and_evaluation(setup):
    """The lifter sees identical inputs through the training loss (train mode) and the evaluation pass
    (`hopgen eval`'s predict_dataset, eval mode) for the same crops: one code path (LiftModel.forward)."""
    cfg = _full_cfg(setup, "lift.finetune_2d=false", "eval.crop=gt", "data.augment=false")
    model = build_model(cfg)
    init_from_run(model, cfg)
    seen = []
    model.lifter.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    ds = make_dataset_3d(cfg, [setup["toy"]], "train", False)
    batch = torch.utils.data.default_collate([ds[i] for i in range(4)])
    model.train()
    loss_3d(model, batch, cfg)
    train_input = seen.pop()
    evaluate.predict_dataset(model, cfg, [setup["toy"]], "train", "cpu")
    eval_input = torch.cat(seen)[:4]
    assert train_input.shape == (4, 21, 16, 16)
    torch.testing.assert_close(train_input, eval_input)
    np.testing.assert_allclose(train_input.amax((1, 2, 3)).numpy(), 1.0, atol=1e-6)


def test_lift_noise_ablation_measures_the_2d_error_it_adds(setup, tmp_path):
    """benchmarks.lift_noise_3d: GT maps drawn with more uv noise encode a larger 2D error (measured as `hopgen
    eval` measures a 2D stage) and are scored with the 3D protocol."""
    from benchmarks import lift_noise_3d
    out = str(tmp_path / "noise.json")
    assert lift_noise_3d.main([setup["toy"], out, setup["cluster16"], "--split", "train", "--noise", "0,80"]) == 0
    rows = json.load(open(out))["runs"]["cluster16"]
    assert [r["uv_noise"] for r in rows] == [0.0, 80.0]
    assert rows[0]["epe_median_2d_px"] < 1.0 < 3.0 < rows[1]["epe_median_2d_px"]
    assert all(0.0 <= r["auc"] <= 1.0 and np.isfinite(r["epe_median"]) for r in rows)


def test_a_bad_init_run_writes_nothing_into_the_run_folder(setup, tmp_path):
    """The init checkpoint is checked before the run folder is created: a wrong lift.init_from
    fails with its message and leaves --out absent, so the same --out can be used again."""
    out = tmp_path / "never"
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        train(_full_cfg(setup, f"lift.init_from={tmp_path / 'nowhere'}"), [setup["toy"]], str(out), progress=False)
    assert not out.exists()
