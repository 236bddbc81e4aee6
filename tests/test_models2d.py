"""Stage 2D networks and losses at tiny width: shapes, gradients everywhere, finiteness, KL >= 0."""

import numpy as np
import pytest
import torch

from trainer.config import load_config
from trainer.losses2d import heatmap_loss, kl_divergence, loss_2d
from trainer.models2d import build_model_2d

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CROP = 64


VARIANTS = [("ours", "posenet"), ("ours", "hourglass"), ("ours_novar", "posenet"), ("hs_posenet", "posenet"),
            ("hs_posenet", "hourglass")]


def _cfg(kind, pose_net):
    return load_config("configs/train/tiny_ours_posenet.yaml", [f"model.kind={kind}", f"model.pose_net={pose_net}"])


def _batch(b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = CROP // 8
    return {"image": torch.rand(b, 3, CROP, CROP, generator=g) - 0.5,
            "mask": (torch.rand(b, 1, CROP, CROP, generator=g) > 0.5).float(),
            "heatmaps": torch.rand(b, 21, h, h, generator=g),
            "weight": (torch.rand(b, 21, generator=g) > 0.3).float()}


@pytest.mark.parametrize("kind,pose_net", VARIANTS)
def test_shapes_gradients_finite(kind, pose_net):
    torch.manual_seed(0)
    cfg = _cfg(kind, pose_net)
    model = build_model_2d(cfg).train()
    batch = _batch()
    out = model(batch["image"])
    assert out["mask_logits"].shape == (2, 1, CROP, CROP)
    n_maps = cfg.model.stages if pose_net == "posenet" else cfg.model.hg_stacks
    assert len(out["heatmaps"]) == n_maps
    assert all(m.shape == (2, 21, CROP // 8, CROP // 8) for m in out["heatmaps"])
    assert ("mu" in out) == (kind == "ours")
    if kind == "ours":
        assert out["mu"].shape == out["logvar"].shape == (2, cfg.model.latent)
    assert model.segment(batch["image"]).shape == (2, 1, CROP, CROP)
    loss, parts = loss_2d(model, batch, cfg)
    assert torch.isfinite(loss) and all(np.isfinite(v) for v in parts.values())
    assert ("kl" in parts) == (kind == "ours")
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a finite gradient: {missing}"
    dead = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    assert not dead, f"parameters with an all-zero gradient: {dead}"


def test_eval_is_deterministic_and_channels_last_matches():
    torch.manual_seed(0)
    model = build_model_2d(_cfg("ours", "posenet")).eval()
    x = _batch()["image"]
    with torch.no_grad():
        a = model(x)
        b = model(x)
        model_cl = model.to(memory_format=torch.channels_last)
        c = model_cl(x.contiguous(memory_format=torch.channels_last))
    assert torch.equal(a["mask_logits"], b["mask_logits"])  # eval: z = mu, no sampling
    torch.testing.assert_close(a["heatmaps"][-1], c["heatmaps"][-1], rtol=1e-4, atol=1e-5)


def test_training_samples_the_latent():
    torch.manual_seed(0)
    model = build_model_2d(_cfg("ours", "posenet")).train()
    x = _batch()["image"]
    assert not torch.equal(model(x)["mask_logits"], model(x)["mask_logits"])
    novar = build_model_2d(_cfg("ours_novar", "posenet")).train()
    assert torch.equal(novar(x)["mask_logits"], novar(x)["mask_logits"])


def test_kl_nonnegative_and_zero_at_prior():
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        mu, lv = torch.randn(8, 32, generator=g) * 3, torch.randn(8, 32, generator=g) * 3
        assert kl_divergence(mu, lv) >= 0
    assert kl_divergence(torch.zeros(4, 16), torch.zeros(4, 16)) == 0
    # KL of N(1, 1) vs N(0, 1) per dim is 0.5: summed over 16 dims.
    assert kl_divergence(torch.ones(4, 16), torch.zeros(4, 16)).item() == pytest.approx(8.0)


def test_heatmap_loss_weights_and_stages():
    t = torch.zeros(1, 21, 4, 4)
    p = torch.zeros(1, 21, 4, 4)
    p[0, 3] = 2.0                                     # error 4 per pixel on joint 3 only
    w = torch.ones(1, 21)
    assert heatmap_loss([p], t, w).item() == pytest.approx(4.0)
    assert heatmap_loss([p, p], t, w).item() == pytest.approx(8.0)  # every stage counts
    w[0, 3] = 0.0                                     # invisible joint: no loss
    assert heatmap_loss([p], t, w).item() == 0.0


def test_paper_size_models_build():
    for name, lo, hi in (("hs_posenet", 20e6, 60e6), ("ours_posenet", 20e6, 60e6), ("ours_hourglass", 5e6, 60e6)):
        cfg = load_config(f"configs/train/{name}.yaml")
        n = sum(p.numel() for p in build_model_2d(cfg).parameters())
        assert lo < n < hi, (name, n)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="model.kind"):
        build_model_2d(_cfg("lift_ours", "posenet"))
    with pytest.raises(ValueError, match="pose_net"):
        build_model_2d(_cfg("ours", "resnet"))
