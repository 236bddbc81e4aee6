"""3D-stage losses (trainer.losses3d) against hand-computed values, and the category read-out."""

import math

import pytest
import torch

from trainer import losses3d as L
from trainer.models3d import ClusterCentres

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_triplet_terms_hand_values():
    ref, pos = t([[0.0, 0.0]]), t([[1.0, 0.0]])               # d_pos = 1
    # d_neg = 1, m = 0: ratio 1 -> ln(max(1, 1)) = 0; only the pairwise term d_pos = 1 remains
    assert L.triplet_terms(ref, pos, t([[0.0, 1.0]]), margin=0.0).item() == pytest.approx(1.0)
    # d_neg = 0.25: ln(2 - 0.25) + 1
    assert L.triplet_terms(ref, pos, t([[0.0, 0.5]]), margin=0.0).item() == pytest.approx(math.log(1.75) + 1)
    # a far negative costs nothing beyond the pairwise term
    assert L.triplet_terms(ref, pos, t([[0.0, 5.0]]), margin=0.0).item() == pytest.approx(1.0)
    # margin effect: d_neg = 1 no longer suffices with m = 1 (ratio 0.5 -> ln 1.5)
    assert L.triplet_terms(ref, pos, t([[0.0, 1.0]]), margin=1.0).item() == pytest.approx(math.log(1.5) + 1)
    # identical ref and pos: ratio term ln(2 - d_neg / m), pairwise 0
    assert L.triplet_terms(ref, ref, t([[0.1, 0.0]]), margin=0.02).item() == pytest.approx(math.log(2 - 0.01 / 0.02))


def test_mine_all_triplets():
    ref, pos, neg = L.mine_triplets(torch.tensor([0, 0, 1, -1, 1]), "all")
    got = sorted(zip(ref.tolist(), pos.tolist(), neg.tolist()))
    # positives share the label (another sample), negatives differ, label -1 takes no part
    assert got == [(0, 1, 2), (0, 1, 4), (1, 0, 2), (1, 0, 4), (2, 4, 0), (2, 4, 1), (4, 2, 0), (4, 2, 1)]


def test_mine_random_triplets_deterministic_and_valid():
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 3])
    a = L.mine_triplets(labels, "random", torch.Generator().manual_seed(5))
    b = L.mine_triplets(labels, "random", torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    ref, pos, neg = a
    assert ref.tolist() == [0, 1, 2, 3, 4, 5, 6]  # label 3 has no positive
    assert torch.all(labels[ref] == labels[pos]) and torch.all(ref != pos)
    assert torch.all(labels[ref] != labels[neg])


def test_triplet_loss_batch_hand_value():
    z = t([[0.0, 0.0], [1.0, 0.0], [0.0, 0.5]])
    labels = [0, 0, 1]
    # triplets (0, 1, 2): d_pos 1, d_neg 0.25 -> ln 1.75 + 1; (1, 0, 2): d_pos 1, d_neg 1.25 -> ln 1 + 1 = 1
    want_sum = math.log(1.75) + 1 + 1
    assert L.triplet_loss(z, labels, margin=0.0, reduction="sum").item() == pytest.approx(want_sum)
    assert L.triplet_loss(z, labels, margin=0.0).item() == pytest.approx(want_sum / 2)


def test_triplet_loss_without_triplets_is_zero_and_differentiable():
    z = torch.randn(4, 3, requires_grad=True)
    loss = L.triplet_loss(z, [2, 2, 2, -1])
    loss.backward()
    assert loss.item() == 0.0 and torch.all(z.grad == 0)


def test_triplet_training_separates_classes():
    torch.manual_seed(0)
    z = torch.randn(12, 4, requires_grad=True)
    labels = torch.arange(12) % 3
    opt = torch.optim.SGD([z], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        L.triplet_loss(z, labels, margin=0.01).backward()
        opt.step()
    means = L.class_means(z.detach(), labels, 3)
    assert torch.equal(L.nearest_class_centre(z.detach(), means), labels)


def test_cluster_loss_hand_value_and_gradients():
    z = t([[0.0, 0.0], [3.0, 0.0], [0.2, 0.0]]).requires_grad_(True)
    centres = ClusterCentres(2, 2)
    with torch.no_grad():
        centres.centres.copy_(torch.tensor([[0.0, 0.0], [3.0, 1.0]]))
    c = centres().double()
    loss, assign = L.cluster_loss(z, c, reduction="sum")
    assert assign.tolist() == [0, 1, 0]
    assert loss.item() == pytest.approx(0 + 1 + 0.04)
    loss.backward()
    # d/dc_k = -2 sum_{m assigned to k} (z_m - c_k), and z moves towards its centre
    torch.testing.assert_close(centres.centres.grad, torch.tensor([[-0.4, 0.0], [0.0, 2.0]]))
    torch.testing.assert_close(z.grad, t([[0.0, 0.0], [0.0, -2.0], [0.4, 0.0]]))
    mean_loss, _ = L.cluster_loss(z, c, reduction="mean")
    assert mean_loss.item() == pytest.approx(1.04 / 3)


def test_centres_move_to_clusters():
    g = torch.Generator().manual_seed(1)
    true = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    labels = torch.arange(60) % 3
    z = true[labels] + 0.1 * torch.randn(60, 2, generator=g)
    centres = ClusterCentres(3, 2, std=3.0, generator=torch.Generator().manual_seed(4))
    opt = torch.optim.SGD(centres.parameters(), lr=0.01)
    for _ in range(100):
        opt.zero_grad()
        L.cluster_loss(z, centres(), reduction="sum")[0].backward()
        opt.step()
    assign = L.nearest_cluster(z, centres())
    used = assign.unique()
    # every used centre sits at the mean of its members
    for k in used:
        torch.testing.assert_close(centres()[k].detach(), z[assign == k].mean(0), atol=1e-3, rtol=0)
    # clusters never mix the well-separated groups: each cluster is a union of whole groups
    assert len(used) >= 2
    assert L.cluster_purity(assign, labels) == pytest.approx(len(used) / 3)


def test_readout_on_separable_latents():
    g = torch.Generator().manual_seed(2)
    means = 4.0 * torch.eye(4, 8)
    labels = torch.arange(40) % 4
    z = means[labels] + 0.3 * torch.randn(40, 8, generator=g)
    cm = L.class_means(z, labels, 5)  # class 4 absent -> NaN row, never chosen
    assert torch.isnan(cm[4]).all()
    z_test = means[labels] + 0.3 * torch.randn(40, 8, generator=g)
    assert torch.equal(L.nearest_class_centre(z_test, cm), labels)
    perm = torch.tensor([2, 0, 3, 1])  # centres in another order: purity ignores the naming
    assign = L.nearest_cluster(z_test, means[perm])
    assert L.cluster_purity(assign, labels) == 1.0
    assert L.cluster_purity(torch.zeros(40, dtype=torch.long), labels) == 0.25


def test_cluster_purity_hand_value():
    assert L.cluster_purity([0, 0, 1, 1, 1], [2, 2, 3, 3, 0]) == pytest.approx(0.8)
    assert L.cluster_purity([0, 1, 1], [-1, 1, 2]) == pytest.approx(0.5)  # unknown labels ignored
    with pytest.raises(ValueError, match="labels"):
        L.cluster_purity([0, 1], [0])


def test_kl_pose_rotation_values():
    assert L.kl_divergence(t([[0.0, 0.0]]), t([[0.0, 0.0]])).item() == 0.0
    assert L.kl_divergence(t([[1.0, 0.0]]), t([[0.0, 0.0]])).item() == pytest.approx(0.5)
    lv = math.log(2.0)  # 0.5 * (2 - 1 - ln 2)
    assert L.kl_divergence(t([[0.0]]), t([[lv]])).item() == pytest.approx(0.5 * (1 - lv))
    g = torch.Generator().manual_seed(3)
    kl = L.kl_divergence(torch.randn(64, 16, generator=g) * 3, torch.randn(64, 16, generator=g) * 5, "sum")
    assert kl.item() >= 0
    p, q = torch.zeros(2, 21, 3), torch.zeros(2, 21, 3)
    q[0, 3] = torch.tensor([1.0, 2.0, 2.0])
    assert L.pose_loss(p, q).item() == pytest.approx(9.0 / 2)
    assert L.pose_loss(p, q, reduction="sum").item() == pytest.approx(9.0)
    r = torch.eye(3).expand(2, 3, 3)
    assert L.rotation_loss(r, -r, reduction="sum").item() == pytest.approx(2 * 12.0)
    with pytest.raises(ValueError, match="reduction"):
        L.pose_loss(p, q, reduction="max")


def test_lifting_loss_combines_weighted_terms():
    g = torch.Generator().manual_seed(4)
    b, d = 6, 5
    out = dict(canonical=torch.randn(b, 21, 3, generator=g, requires_grad=True),
               rotation=torch.randn(b, 3, 3, generator=g), z=torch.randn(b, d, generator=g),
               mu=torch.randn(b, d, generator=g), logvar=torch.randn(b, d, generator=g))
    target = dict(canonical=torch.randn(b, 21, 3, generator=g), rotation=torch.randn(b, 3, 3, generator=g))
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    centres = torch.randn(3, d, generator=g)
    cfg = L.Loss3DConfig(pose=1.0, rotation=0.5, kl=2.0, triplet=0.3, cluster=0.1)
    total, terms = L.lifting_loss(out, target, cfg, labels=labels, centres=centres)
    want = (terms["pose"] + 0.5 * terms["rotation"] + 2.0 * terms["kl"] + 0.3 * terms["triplet"]
            + 0.1 * terms["cluster"])
    assert total.item() == pytest.approx(want.item())
    # metric terms are computed on the latent means by default, on the samples z when asked
    assert terms["triplet"].item() == pytest.approx(L.triplet_loss(out["mu"], labels).item())
    assert terms["cluster"].item() == pytest.approx(L.cluster_loss(out["mu"], centres)[0].item())
    _, on_z = L.lifting_loss(out, target, L.Loss3DConfig(metric_on="z"), labels=labels, centres=centres)
    assert on_z["triplet"].item() == pytest.approx(L.triplet_loss(out["z"], labels).item())
    assert on_z["triplet"].item() != pytest.approx(terms["triplet"].item())
    # disabled / unavailable terms are left out
    total2, terms2 = L.lifting_loss(out, target, L.Loss3DConfig(kl=0.0, rotation=0.0))
    assert set(terms2) == {"pose", "rotation", "total"}
    assert total2.item() == pytest.approx(terms2["pose"].item())
    m, mterms = L.metric_loss(out["mu"], labels, centres)
    assert m.item() == pytest.approx((terms["triplet"] + terms["cluster"]).item())
    with pytest.raises(ValueError, match="mining"):
        L.Loss3DConfig(mining="hard")
