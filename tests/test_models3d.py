"""3D lifting networks (trainer.models3d) and GT heatmaps (trainer.heatmaps) at tiny width."""

import numpy as np
import pytest
import torch

from hopgen.hand import canonical as cn
from hopgen.core.camera import rotation_matrix
from test_canonical import random_rotation, synthetic_hands
from trainer import losses3d as L
from trainer import models3d as M
from trainer.heatmaps import render_heatmaps

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(width=0.125, latent_dim=16)


def make_batch(n, seed=0, sigma=2.0):
    """Heatmaps (n, 21, 32, 32) of randomly rotated synthetic hands (orthographic, mixed sides),
    their one-hot sides and canonical targets from hopgen.hand.canonical."""
    rng = np.random.default_rng(seed)
    hands = synthetic_hands(rng, n)
    right = rng.random(n) < 0.5
    hands[right] = hands[right] * [1, 1, -1]  # right hands are mirror images
    xyz = np.stack([h @ random_rotation(rng).T for h in hands])
    can, rot, scale, root = cn.canonicalize(xyz, right)
    rel = (xyz - root[:, None]) / scale[:, None, None]
    uv = 15.5 + 2.0 * rel[..., :2]  # orthographic view of the root-relative pose, in map pixels
    maps = render_heatmaps(uv, np.ones((n, 21), bool), 32, sigma)
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)
    return f(maps), M.hand_side_onehot(right), dict(canonical=f(can), rotation=f(rot)), f(rel)


# --- heatmaps ---------------------------------------------------------------------------------

def test_heatmap_values_and_visibility():
    uv = np.array([[[3.0, 5.0], [10.25, 2.5]]])
    maps = render_heatmaps(uv, np.array([[True, False]]), size=16, sigma=2.0)
    assert maps.shape == (1, 2, 16, 16) and maps.dtype == np.float32
    assert maps[0, 0, 5, 3] == pytest.approx(1.0)  # row v = 5, column u = 3
    assert maps[0, 0, 6, 5] == pytest.approx(np.exp(-(1 + 4) / 4.0))
    assert np.unravel_index(maps[0, 0].argmax(), (16, 16)) == (5, 3)
    assert np.all(maps[0, 1] == 0)  # not visible
    w = render_heatmaps(uv, np.array([[0.5, 1.0]], np.float32), 16, 2.0)
    np.testing.assert_allclose(w[0, 0], 0.5 * maps[0, 0])


def test_heatmap_crop_scaling_and_torch():
    # uv in 256-crop pixels, maps at 32: pixel i has its centre at crop coordinate 8 i + 3.5
    uv = np.array([[[8 * 4 + 3.5, 8 * 20 + 3.5]]])
    maps = render_heatmaps(uv, np.ones((1, 1), bool), 32, sigma=25.0, crop_size=256)
    assert maps[0, 0, 20, 4] == pytest.approx(1.0)
    assert maps[0, 0, 20, 5] == pytest.approx(np.exp(-64 / 625.0))
    mt = render_heatmaps(torch.as_tensor(uv), torch.ones(1, 1, dtype=torch.bool), 32, 25.0, crop_size=256)
    assert isinstance(mt, torch.Tensor)
    np.testing.assert_allclose(mt.numpy(), maps, rtol=1e-6)
    with pytest.raises(ValueError, match="VIS_VISIBLE"):
        render_heatmaps(uv, np.zeros((1, 1), np.int64), 32)
    with pytest.raises(ValueError, match="shape"):
        render_heatmaps(uv[0], np.ones((1,), bool), 32)


# --- rotations --------------------------------------------------------------------------------

def test_rodrigues_matches_camera_rotation_matrix():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(20, 3)) * rng.uniform(0.0, 3.0, size=(20, 1))
    u[0] = [1e-5, -2e-5, 3e-6]  # inside the Taylor branch
    r = M.rodrigues(torch.as_tensor(u)).numpy()
    for ui, ri in zip(u, r):
        np.testing.assert_allclose(ri, rotation_matrix(ui, np.linalg.norm(ui)), atol=1e-12)


def test_rodrigues_safe_at_zero():
    u = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    r = M.rodrigues(u)
    torch.testing.assert_close(r, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
    (r * torch.arange(9.0, dtype=torch.float64).view(3, 3)).sum().backward()
    assert torch.all(torch.isfinite(u.grad))
    # dR/du at 0 is the skew generator: d/du_x of R[2,1] = 1, of R[1,2] = -1 (weights 7, 5)
    assert u.grad[0, 0].item() == pytest.approx(7 - 5)
    assert torch.autograd.gradcheck(M.rodrigues, (torch.randn(3, 3, dtype=torch.float64, requires_grad=True),))


def test_relative_pose_matches_numpy():
    maps, side, target, rel = make_batch(6)
    got = M.relative_pose(target["canonical"].double(), target["rotation"].double(), side.double())
    torch.testing.assert_close(got.float(), rel, atol=1e-5, rtol=0)


def test_lifting_targets_match_numpy():
    rng = np.random.default_rng(4)
    xyz = synthetic_hands(rng, 5) + [0, 0, 0.5]
    side = torch.tensor([0, 1, 1, 0, 1])
    tg = M.lifting_targets(torch.as_tensor(xyz, dtype=torch.float32), side)
    can, rot, scale, root = cn.canonicalize(xyz, side.numpy().astype(bool))
    np.testing.assert_allclose(tg["canonical"].numpy(), can, atol=1e-4)
    np.testing.assert_allclose(tg["rotation"].numpy(), rot, atol=1e-5)
    back = M.relative_pose(tg["canonical"], tg["rotation"], M.hand_side_onehot(side)) * tg["scale"][:, None, None]
    np.testing.assert_allclose((back + tg["root"][:, None]).numpy(), xyz, atol=1e-5)
    tg2 = M.lifting_targets(torch.as_tensor(xyz, dtype=torch.float32), M.hand_side_onehot(side))
    torch.testing.assert_close(tg2["canonical"], tg["canonical"])


# --- networks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", M.VARIANTS)
def test_output_shapes_gradients_no_nan(variant):
    torch.manual_seed(0)
    cfg = M.LifterConfig(variant=variant, **TINY)
    net = M.Lifter(cfg)
    centres = M.ClusterCentres(5, cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    maps, side, target, _ = make_batch(6)
    out = net(maps, side, generator=torch.Generator().manual_seed(1))
    assert out["canonical"].shape == (6, 21, 3) and out["rotation"].shape == (6, 3, 3)
    assert out["relative"].shape == (6, 21, 3) and out["axis_angle"].shape == (6, 3)
    if variant == "poseprior":
        assert out["z"] is None and out["mu"] is None and out["logvar"] is None
    else:
        assert out["z"].shape == out["mu"].shape == (6, cfg.latent_dim)
        assert (out["logvar"] is None) == (variant == "deterministic")
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    total, terms = L.lifting_loss(out, target, labels=labels, centres=centres())
    assert torch.isfinite(total)
    total.backward()
    params = list(net.named_parameters()) + ([("centres", centres.centres)] if variant != "poseprior" else [])
    for name, p in params:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_full_width_shapes():
    net = M.Lifter(M.LifterConfig())  # the paper's sizes: z 256, 4x4x128 trunk features
    assert net.encoder.mu.out_features == net.encoder.logvar.out_features == 256
    assert net.encoder.fc[0].in_features == 4 * 4 * 128 + 2
    # q_j: PosePrior's first FC (512), then FC [256, 128, 128] (paper Sec. III), leaky ReLU (models3d)
    fcs = [m for m in net.encoder.fc if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in fcs] == [512, 256, 128, 128] and net.encoder.mu.in_features == 128
    acts = [type(m).__name__ for m in net.encoder.fc if not isinstance(m, torch.nn.Linear)]
    assert acts == ["LeakyReLU"] * 4
    # the posterior starts narrow (sigma = exp(-5/2)): the samples carry the encoder's signal from step one
    assert torch.all(net.encoder.logvar.bias == -5.0)
    assert net.viewpoint.fc[0].in_features == 4 * 4 * 256 + 2
    net.eval()
    with torch.no_grad():
        out = net(torch.rand(2, 21, 32, 32), M.hand_side_onehot(["left", "right"]))
    assert out["canonical"].shape == (2, 21, 3) and torch.isfinite(out["relative"]).all()


def test_variational_sampling_modes():
    net = M.Lifter(M.LifterConfig(**TINY))
    maps, side, _, _ = make_batch(4)
    net.train()
    a = net(maps, side, generator=torch.Generator().manual_seed(3))
    b = net(maps, side, generator=torch.Generator().manual_seed(3))
    c = net(maps, side, generator=torch.Generator().manual_seed(4))
    net.eval()  # disables dropout; q_j has none, so mu is comparable
    e = net(maps, side)
    torch.testing.assert_close(a["z"], b["z"])
    assert not torch.allclose(a["z"], c["z"])
    torch.testing.assert_close(e["z"], e["mu"])
    torch.testing.assert_close(e["mu"], a["mu"])


def test_bad_inputs():
    net = M.Lifter(M.LifterConfig(**TINY))
    with pytest.raises(ValueError, match="heatmaps"):
        net(torch.zeros(2, 21, 16, 16), M.hand_side_onehot([0, 1]))
    with pytest.raises(ValueError, match="one-hot"):
        net(torch.zeros(2, 21, 32, 32), torch.zeros(2))
    with pytest.raises(ValueError, match="variant"):
        M.LifterConfig(variant="vae")
    with pytest.raises(ValueError, match="hand side"):
        M.hand_side_onehot(["left", "up"])
    assert M.hand_side_onehot(["left", "right"]).tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_training_reduces_pose_loss():
    torch.manual_seed(0)
    maps, side, target, _ = make_batch(128, seed=1)
    net = M.Lifter(M.LifterConfig(**TINY))
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    cfg = L.Loss3DConfig(kl=1e-3)
    gen = torch.Generator().manual_seed(0)

    def eval_losses():
        net.eval()
        with torch.no_grad():
            out = net(maps, side)
        net.train()
        return L.pose_loss(out["canonical"], target["canonical"]).item(), \
            L.rotation_loss(out["rotation"], target["rotation"]).item()

    pose0, rot0 = eval_losses()
    for step in range(100):
        idx = torch.arange(32) + 32 * (step % 4)
        out = net(maps[idx], side[idx], generator=gen)
        loss, _ = L.lifting_loss(out, {k: v[idx] for k, v in target.items()}, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    pose1, rot1 = eval_losses()
    print(f"pose loss {pose0:.2f} -> {pose1:.2f}, rotation loss {rot0:.2f} -> {rot1:.2f}")
    assert pose1 < 0.2 * pose0
    assert rot1 < rot0


# --- cluster centres (eq. 6): seeded from data, dead centres re-seeded --------------------------------

def _blobs(n_per, centres, seed, std=0.05):
    g = torch.Generator().manual_seed(seed)
    c = torch.as_tensor(centres, dtype=torch.float32)
    return torch.cat([ci + std * torch.randn(n_per, c.shape[1], generator=g) for ci in c])


def test_cluster_centres_seeded_by_kmeanspp_after_warmup():
    blobs = [[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]]
    cc = M.ClusterCentres(3, 2, init="kmeans++", buffer=60, warmup=3, seed=1)
    before = cc.centres.detach().clone()
    for step in range(2):
        cc.observe(_blobs(10, blobs, step)[torch.randperm(30, generator=torch.Generator().manual_seed(step))])
        assert not bool(cc.ready) and torch.equal(cc.centres.detach(), before)  # warm-up: untouched
    cc.observe(_blobs(10, blobs, 2))
    assert bool(cc.ready)
    got = cc.centres.detach()
    # one centre on each blob (k-means++ + Lloyd), whatever the order
    d = L.squared_distances(got, torch.tensor(blobs)).sqrt()
    assert sorted(d.argmin(1).tolist()) == [0, 1, 2] and float(d.min(1).values.max()) < 0.1
    # the paper's Gaussian initialisation is ready at once and never waits for data
    assert bool(M.ClusterCentres(3, 2, init="gaussian").ready)


def test_dead_centre_is_reseeded_onto_the_data():
    blobs = [[4.0, 0.0], [-4.0, 0.0]]
    cc = M.ClusterCentres(3, 2, init="gaussian", buffer=40, reseed_every=2, dead_share=0.5, ema=0.5, seed=0)
    with torch.no_grad():
        cc.centres.copy_(torch.tensor([[4.0, 0.0], [-4.0, 0.0], [100.0, 100.0]]))  # the third wins nothing
    for step in range(4):
        cc.observe(_blobs(20, blobs, step))
    assert int(cc.reseeded) >= 1
    third = cc.centres.detach()[2]
    assert float(L.squared_distances(third[None], torch.tensor(blobs)).min().sqrt()) < 1.0  # now on the data
    assert torch.allclose(cc.centres.detach()[:2], torch.tensor(blobs))  # live centres kept


def test_cluster_state_round_trips_in_the_state_dict():
    a = M.ClusterCentres(2, 3, init="kmeans++", buffer=8, warmup=1, seed=0)
    a.observe(torch.randn(8, 3, generator=torch.Generator().manual_seed(0)))
    b = M.ClusterCentres(2, 3, init="kmeans++", buffer=8, warmup=1, seed=0)
    b.load_state_dict(a.state_dict())
    assert bool(b.ready) and torch.equal(a.centres, b.centres) and torch.equal(a.pool, b.pool)


def test_lift_model_every_parameter_gets_a_gradient():
    """q_j + p_p + ViewPoint + seeded centres under eq. 7 (triplet + cluster on the means + beta KL)."""
    from trainer.stage3d import LiftModel
    torch.manual_seed(0)
    lc = M.LifterConfig(variant="variational", **TINY)
    model = LiftModel(lc, metric="triplet+cluster", clusters=3,
                      cluster_kw=dict(init="kmeans++", buffer=6, warmup=0))
    maps, side, target, _ = make_batch(6)
    model.train()
    out = model(side, heatmaps=maps)
    model.centres.observe(out["mu"].detach())
    assert bool(model.centres.ready)
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    total, terms = L.lifting_loss(out, target, L.Loss3DConfig(kl=0.1, cluster=0.1), labels, model.centres())
    assert {"pose", "rotation", "kl", "triplet", "cluster"} <= set(terms) and torch.isfinite(total)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
