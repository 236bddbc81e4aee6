"""The CPU bf16 autocast switch and the scale at which the full-image pipeline segments (issue 13)."""

import dataclasses
import os

import numpy as np
import pytest
import torch

from trainer.config import load_config
from trainer.crops import single_object, view_link_radius
from trainer.data import apply_affine, make_dataset, warp
from trainer.engine import autocast, get_stage, make_optimizer
from trainer.evaluate import predict_boxes, segmentation_view_size
from trainer.models2d import build_model_2d

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = "configs/train/tiny_ours_posenet.yaml"
TINY_HS = "configs/train/tiny_hs_posenet.yaml"
CPU = torch.device("cpu")


def _dtype_under(cfg, model, x):
    with autocast(cfg, CPU):
        return model.pose(torch.cat([x, x[:, :1]], 1))[-1].dtype


def test_cpu_bf16_autocast_is_opt_in_and_trains():
    x = torch.rand(2, 3, 64, 64) - 0.5
    model = build_model_2d(load_config(TINY)).train()
    assert _dtype_under(load_config(TINY, ["train.amp=bf16"]), model, x) == torch.float32  # default: fp32 on CPU
    assert _dtype_under(load_config(TINY, ["train.amp=off", "train.amp_cpu=true"]), model, x) == torch.float32
    cfg = load_config(TINY, ["train.amp=bf16", "train.amp_cpu=true"])
    assert _dtype_under(cfg, model, x) == torch.bfloat16
    # one optimisation step under CPU bf16: finite loss, fp32 weights and gradients, the weights move
    g = torch.Generator().manual_seed(0)
    batch = {"image": x, "mask": (torch.rand(2, 1, 64, 64, generator=g) > 0.5).float(),
             "heatmaps": torch.rand(2, 21, 8, 8, generator=g), "weight": torch.ones(2, 21)}
    stage, opt = get_stage("2d"), make_optimizer(cfg, model)
    before = [p.detach().clone() for p in model.parameters()]
    with autocast(cfg, CPU):
        loss, parts = stage.loss(model, batch, cfg)
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and set(parts) >= {"mask", "heatmap", "kl"}
    loss.backward()
    assert all(p.dtype == torch.float32 and torch.isfinite(p.grad).all() for p in model.parameters())
    opt.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))


def test_handsegnet_segments_the_whole_image_at_its_training_scale():
    hs = build_model_2d(load_config(TINY_HS))
    assert segmentation_view_size(hs, load_config(TINY_HS)) == 80        # 64 px crops of 0.8 x the image side
    assert segmentation_view_size(hs, load_config(TINY_HS, ["data.crop=256"])) == 320  # hand3d: the 320 image
    assert segmentation_view_size(hs, load_config(TINY_HS, ["data.seg_crop=0"])) == 64
    assert segmentation_view_size(build_model_2d(load_config(TINY)), load_config(TINY)) == 64  # q_h has FC layers
    # the net is fully convolutional: an 80 px view gives an 80 px mask
    assert hs.segment(torch.zeros(1, 3, 80, 80)).shape == (1, 1, 80, 80)


class _Oracle(torch.nn.Module):
    """A segmenter that answers the given masks in order (logit +4 / -4): checks the boxes and IoUs."""

    def __init__(self, masks):
        super().__init__()
        self.masks = list(masks)

    def segment(self, image):
        b, side = image.shape[0], image.shape[-1]
        out = torch.tensor(np.stack(self.masks[:b]), dtype=torch.float32)[:, None] * 8.0 - 4.0
        del self.masks[:b]
        assert out.shape[-1] == side
        return out


def test_pipeline_boxes_and_visible_iou_at_the_view_scale(toy_hop, monkeypatch):
    cfg = load_config(TINY_HS)
    view = 80
    vcfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crop=view))
    ds = make_dataset(vcfg, toy_hop, "test", False, crop_mode="full")
    seen = [warp(ds.record(i, visible=True)["vis_mask"].astype(np.float32), ds[i]["A"].astype(np.float64), view) > 0.5
            for i in range(len(ds))]
    import trainer.evaluate as ev
    monkeypatch.setattr(ev, "segmentation_view_size", lambda model, c: view)
    ious = {}
    boxes, amodal = predict_boxes(_Oracle(seen), cfg, toy_hop, "test", CPU, ious)
    assert ious["visible"] == pytest.approx(1.0) and ious["amodal"] == amodal < 1.0  # the object hides some hand
    assert boxes.shape == (len(ds), 4)
    radius = view_link_radius(cfg.eval.link_px, view)
    for i, m in enumerate(seen):  # the box of the mask's object, mapped back to full-image px
        ys, xs = np.nonzero(single_object(m * 8.0 - 4.0, radius))
        box = [0, 0, view - 1, view - 1] if xs.size == 0 else [xs.min(), ys.min(), xs.max(), ys.max()]
        corners = apply_affine(np.linalg.inv(ds[i]["A"].astype(np.float64)), np.array(box, float).reshape(2, 2))
        assert boxes[i] == pytest.approx(np.concatenate([corners.min(0), corners.max(0)]), abs=1e-4)


def test_template_reference_scores_the_train_mean_pose_in_the_gt_crop(toy_hop):
    from benchmarks.template2d import crop_frames, template_scores
    cfg = load_config(TINY_HS)
    res = template_scores(cfg, toy_hop, splits=("test",))
    assert 0.0 <= res["test"]["auc"] <= 1.0 and np.isfinite(res["test"]["epe_median"])
    frames = crop_frames(cfg, toy_hop, "train")  # normalised uv: the GT crop maps the hand into [-0.5, 0.5]
    assert len(frames) > 0 and all(f[0].shape == (21, 2) and f[2] > 0 for f in frames)
    assert all(np.abs(f[0][f[5]]).max() <= 0.5 + 1e-6 for f in frames if f[5].any())


def test_model_init_kaiming_is_he_normal_and_default_is_unchanged():
    from trainer.models2d import kaiming_init
    torch.manual_seed(0)
    a = build_model_2d(load_config(TINY))
    torch.manual_seed(0)
    b = build_model_2d(load_config(TINY, ["model.init=default"]))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))  # default: PyTorch's init
    k = build_model_2d(load_config(TINY, ["model.init=kaiming"]))
    conv = k.pose.encoder[2]  # the second 3x3 conv of the PoseNet trunk
    fan_in = conv.weight[0].numel()
    std = conv.weight.std().item()
    assert std == pytest.approx((2.0 / (1 + 0.01 ** 2) / fan_in) ** 0.5, rel=0.15) and not conv.bias.any()
    assert std > 1.5 * a.pose.encoder[2].weight.std().item()  # PyTorch's default is ~1/sqrt(3) of He
    assert kaiming_init(torch.nn.Linear(4, 4)).bias.abs().sum() == 0
    with pytest.raises(ValueError, match="model.init"):
        build_model_2d(load_config(TINY, ["model.init=xavier"]))


@pytest.mark.parametrize("config,overrides", [
    (TINY, []), (TINY, ["model.kind=ours_novar"]), (TINY, ["model.pose_net=hourglass"]),
    (TINY_HS, []), (TINY_HS, ["model.pose_net=hourglass"])])
def test_model_init_kaiming_reaches_every_conv_and_linear(config, overrides):
    """kaiming re-initialises every conv / linear layer of every 2D net (q_h, p_h, p_j, HandSegNet, PoseNet,
    Hourglass): zero biases, He-normal std per layer; BatchNorm keeps its (1, 0) init."""
    torch.manual_seed(0)
    model = build_model_2d(load_config(config, overrides + ["model.init=kaiming"]))
    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) > 10
    for m in layers:
        assert m.bias is None or not m.bias.any()
        fan_in = m.weight[0].numel()
        if m.weight.numel() >= 2000:  # enough weights for a 15% check of the std
            assert m.weight.std().item() == pytest.approx((2.0 / (1 + 0.01 ** 2) / fan_in) ** 0.5, rel=0.15)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and not m.bias.any()


def test_kaiming_keeps_the_image_in_the_output_of_the_plain_nets():
    """The diagnosis of the CPU-scale plateau (benchmarks/init_signal2d.py): with PyTorch's default init the
    plain-VGG PoseNet's heatmaps are the same for every image (the signal vanishes over ~20 layers), with He
    init they vary with it."""
    x = torch.rand(4, 3, 64, 64) - 0.5
    shares = {}
    for init in ("default", "kaiming"):
        torch.manual_seed(0)
        model = build_model_2d(load_config(TINY_HS, [f"model.init={init}", "model.width=0.25"])).eval()
        with torch.no_grad():
            maps = model.pose(x)[-1].flatten(1)
        shares[init] = float(maps.var(0).mean() / maps.pow(2).mean())  # input-dependent share of the variance
    assert shares["default"] < 1e-6 < 1e-2 < shares["kaiming"]


def test_paired_val_bootstrap_is_zero_for_the_same_run_and_signed_for_a_better_one(tmp_path):
    from benchmarks.paired_val2d import paired
    rng = np.random.default_rng(0)
    err = rng.uniform(0, 30, (40, 21, 2))
    gt = np.zeros_like(err)
    os.makedirs(tmp_path / "predictions")
    for label, e in (("a", err), ("b", err * 0.5), ("c", err)):
        ids = np.array([f"s{i}" for i in range(40)])[::-1 if label == "c" else 1]  # c: same run, other order
        np.savez(tmp_path / "predictions" / f"{label}.npz", ids=ids, uv_pred=(e if label != "c" else e[::-1]),
                 uv_gt=gt, vis=np.ones((40, 21), bool))
    n, a, c, ci = paired(str(tmp_path), "a", "c", n_boot=200)
    assert n == 40 and a == pytest.approx(c) and np.allclose(ci, 0.0)
    _, a, b, ci = paired(str(tmp_path), "a", "b", n_boot=200)
    assert b > a and ci[0] > 0
