"""Stage-2D fidelity: the KL scaling and warm-up, HandSegNet's own training view (random whole-image crops
against the visible mask), hand3d's test-time crop rule, and the per-sample predictions of `hopgen eval`."""

import json
import os

import numpy as np
import pytest
import torch

from hopgen.core.skeleton import HAND_LABELS
from hopgen.dataset.hopformat import HopDataset
from trainer.config import load_config
from trainer.crops import object_box, single_object, view_link_radius
from trainer.data import make_dataset, warp
from trainer.evaluate import main as eval_main
from trainer.evaluate import write_predictions
from trainer.losses2d import kl_divergence, kl_weight, loss_2d, loss_2d_outputs
from trainer.metrics import keypoint_measures
from trainer.models2d import build_model_2d
from trainer.train import main as train_main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = "configs/train/tiny_ours_posenet.yaml"
TINY_HS = "configs/train/tiny_hs_posenet.yaml"


def _batch(b=2, crop=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = crop // 8
    return {"image": torch.rand(b, 3, crop, crop, generator=g) - 0.5,
            "mask": (torch.rand(b, 1, crop, crop, generator=g) > 0.5).float(),
            "heatmaps": torch.rand(b, 21, h, h, generator=g),
            "weight": (torch.rand(b, 21, generator=g) > 0.3).float()}


# ---- KL scaling ---------------------------------------------------------------------------------------

def test_kl_is_per_latent_dimension_with_stated_beta():
    cfg = load_config(TINY, ["loss.kl=0.5", "loss.kl_warmup=0"])
    mu, logvar = torch.randn(4, 32), torch.randn(4, 32) * 0.3
    out = {"mask_logits": torch.zeros(4, 1, 64, 64), "heatmaps": [torch.zeros(4, 21, 8, 8)], "mu": mu, "logvar": logvar}
    batch = {"mask": torch.zeros(4, 1, 64, 64), "heatmaps": torch.zeros(4, 21, 8, 8), "weight": torch.ones(4, 21)}
    total, parts = loss_2d_outputs(out, batch, cfg, step=0)
    per_dim = kl_divergence(mu, logvar) / 32.0
    assert parts["kl"].item() == pytest.approx(per_dim.item())
    # mask BCE of zero logits is ln 2 per pixel; the heatmap term is 0 here
    assert total.item() == pytest.approx(np.log(2.0) + 0.5 * per_dim.item(), rel=1e-5)
    # independent of the crop size (the old scaling divided by crop^2)
    out2 = dict(out, mask_logits=torch.zeros(4, 1, 128, 128))
    total2, _ = loss_2d_outputs(out2, dict(batch, mask=torch.zeros(4, 1, 128, 128)), cfg, step=0)
    assert total2.item() == pytest.approx(total.item(), rel=1e-5)


def test_kl_warmup_ramps_linearly_then_holds():
    cfg = load_config(TINY, ["loss.kl=0.2", "loss.kl_warmup=10"])
    assert [round(kl_weight(cfg, s), 6) for s in (0, 4, 9, 10, 500)] == [0.02, 0.1, 0.2, 0.2, 0.2]
    assert kl_weight(load_config(TINY, ["loss.kl=0.2", "loss.kl_warmup=0"]), 0) == 0.2


def test_warmup_step_counts_training_forwards_and_is_checkpointed():
    cfg = load_config(TINY, ["loss.kl=1", "loss.kl_warmup=4"])
    torch.manual_seed(0)
    model = build_model_2d(cfg).train()
    betas = [loss_2d(model, _batch(), cfg)[1]["beta"] for _ in range(5)]
    assert betas == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    model.eval()
    with torch.no_grad():
        model(_batch()["image"])
    assert int(model.kl_step) == 5  # eval passes do not advance the ramp
    state = model.state_dict()
    again = build_model_2d(cfg)
    again.load_state_dict(state)
    assert int(again.kl_step) == 5
    state.pop("kl_step")  # a checkpoint from before the warm-up still loads
    build_model_2d(cfg).load_state_dict(state)


# ---- HandSegNet's view --------------------------------------------------------------------------------

def test_handsegnet_view_is_a_random_whole_image_crop_against_the_visible_mask(toy_hop):
    cfg = load_config(TINY_HS, ["data.crop=64", "data.seg_crop=0.8", "data.flip_prob=0"])
    ds = make_dataset(cfg, toy_hop, "train", train=True)
    hop = HopDataset(toy_hop)
    centres = []
    for i in range(len(ds)):
        s = ds[i]
        A = s["seg_A"].astype(np.float64)
        assert s["seg_image"].shape == (3, 64, 64) and s["seg_mask"].shape == (1, 64, 64)
        sid = ds.sample_id(i)
        seg, amodal = hop.image("seg", sid), hop.image("hand_mask", sid)
        h, w = seg.shape
        assert A[0, 0] == pytest.approx(64 / (0.8 * min(h, w)))      # side = 0.8 x the image side, no rotation
        inv = np.linalg.inv(A)
        corners = np.array([[-0.5, -0.5, 1], [63.5, 63.5, 1]]) @ inv[:2].T
        assert corners.min() >= -0.5 - 1e-6 and corners.max() <= w - 0.5 + 1e-6  # inside the image
        visible = np.isin(seg, HAND_LABELS)
        assert np.array_equal(s["seg_mask"][0] > 0.5, warp(visible.astype(np.float32), A, 64) > 0.5)
        centres.append(inv[:2] @ [31.5, 31.5, 1])
        if i == 0:
            assert (visible != amodal).any()  # the object hides part of the toy hand: the targets differ
    centres = np.array(centres)
    assert centres.std(0).min() > 2.0  # crops wander over the image, they are not hand-centred
    ds.set_epoch(1)
    assert not np.array_equal(ds[0]["seg_A"], make_dataset(cfg, toy_hop, "train", train=True)[0]["seg_A"])
    # eval and non-HS configs carry no such view
    assert "seg_image" not in make_dataset(cfg, toy_hop, "test", train=False)[0]
    assert "seg_image" not in make_dataset(load_config(TINY), toy_hop, "train", train=True)[0]


def test_hs_posenet_trains_segmentation_on_its_own_view():
    cfg = load_config(TINY_HS)
    torch.manual_seed(0)
    model = build_model_2d(cfg).train()
    batch = _batch()
    batch["seg_image"] = torch.rand(2, 3, 64, 64) - 0.5
    batch["seg_mask"] = torch.zeros(2, 1, 64, 64)
    out = model(batch["image"], seg_image=batch["seg_image"])
    assert torch.allclose(out["mask_logits"], model.segment(batch["seg_image"]))
    loss, parts = loss_2d(model, batch, cfg)
    assert torch.isfinite(loss) and "kl" not in parts
    with torch.no_grad():
        expect = torch.nn.functional.binary_cross_entropy_with_logits(model.segment(batch["seg_image"]), batch["seg_mask"])
    assert parts["mask"] == pytest.approx(expect.item(), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="hs_posenet only"):
        build_model_2d(load_config(TINY))(batch["image"], seg_image=batch["seg_image"])


# ---- crop rule ----------------------------------------------------------------------------------------

def test_single_object_keeps_the_blob_with_the_maximum():
    s = np.full((40, 40), -5.0)
    s[2:20, 2:20] = 1.0      # the larger blob
    s[28:36, 28:36] = 2.0    # the smaller blob holds the maximum
    s[31, 31] = 3.0
    obj = single_object(s, radius=1)
    assert obj.sum() == 64 and obj[28:36, 28:36].all()
    assert object_box(s, radius=1).tolist() == [28, 28, 35, 35]
    # blobs closer than the link radius are one object (hand3d's dilation), farther ones are not
    s[20:28, 20:28] = -5.0
    s[21:27, 21:27] = 1.0    # a bridge with 1-px holes on either side (Chebyshev distance 2)
    assert single_object(s, radius=1).sum() == 64
    assert single_object(s, radius=2).sum() == 64 + 36 + 18 * 18
    assert not single_object(np.full((8, 8), -1.0), radius=2).any()  # no foreground at the maximum
    assert object_box(np.full((8, 8), -1.0), radius=2) is None
    assert view_link_radius(10, 320) == 10 and view_link_radius(10, 64) == 2


def test_hand_box_from_the_object_not_all_positive_pixels():
    s = np.full((64, 64), -1.0)
    s[10:30, 10:30] = 4.0
    s[50:52, 50:52] = 0.5    # a false positive far away
    box = object_box(s, view_link_radius(10, 64))
    assert box.tolist() == [10, 10, 29, 29]


# ---- predictions npz ----------------------------------------------------------------------------------

def test_write_predictions_is_atomic_and_pickle_free(tmp_path):
    path = str(tmp_path / "p" / "run.npz")
    write_predictions(path, ids=np.array(["a", "b"], dtype=object), uv_pred=np.zeros((2, 21, 2)))
    with np.load(path, allow_pickle=False) as z:
        assert list(z["ids"]) == ["a", "b"] and z["uv_pred"].shape == (2, 21, 2)
    assert os.listdir(tmp_path / "p") == ["run.npz"]


def test_eval_predictions_recompute_the_report(toy_hop, tmp_path):
    run = str(tmp_path / "hs")
    assert train_main(["--config", TINY_HS, "--data", toy_hop, "--out", run, "--no-progress",
                       "--set", "train.iterations=2"]) == 0
    out = str(tmp_path / "report")
    assert eval_main(["--run", run, "--data", toy_hop, "--out", out]) == 0
    m = json.load(open(os.path.join(out, "metrics.json")))["hs"]
    assert m["run_dir"] == os.path.abspath(run)
    with np.load(os.path.join(out, "predictions", "hs.npz"), allow_pickle=False) as z:
        assert set(z.files) >= {"ids", "uv_pred", "uv_gt", "vis", "category_gt"}
        assert z["uv_pred"].shape == z["uv_gt"].shape == (4, 21, 2) and z["vis"].dtype == bool
        assert list(z["ids"]) == HopDataset(toy_hop).split("test")
        r = keypoint_measures(z["uv_gt"], z["uv_pred"], z["vis"], m["lo"], m["hi"])
    assert r["auc"] == pytest.approx(m["auc"], abs=1e-6)
    assert r["epe_median"] == pytest.approx(m["epe_median"], abs=1e-4)
    assert r["epe_mean"] == pytest.approx(m["epe_mean"], abs=1e-4)
