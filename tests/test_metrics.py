"""trainer.metrics against hand-computed cases of the hand3d protocol (PAPER.md)."""

import numpy as np
import pytest

from trainer.metrics import keypoint_measures, mask_iou, table_measures


def _case():
    # 3 samples, 3 keypoints, 2D. Errors: k0 = [1, 3, 10] (10 from offset (6, 8)); k1 = [2, 6, 100]
    # with the 100 invisible; k2 invisible everywhere.
    gt = np.zeros((3, 3, 2))
    pred = np.zeros((3, 3, 2))
    pred[:, 0] = [[1, 0], [0, 3], [6, 8]]
    pred[:, 1] = [[2, 0], [6, 0], [100, 0]]
    pred[:, 2] = [[1, 1], [1, 1], [1, 1]]
    vis = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0]], bool)
    return gt, pred, vis


def test_keypoint_measures_hand_computed():
    gt, pred, vis = _case()
    m = keypoint_measures(gt, pred, vis, lo=0.0, hi=4.0, steps=5)
    np.testing.assert_allclose(m["thresholds"], [0, 1, 2, 3, 4])
    pck0 = np.array([0, 1, 1, 2, 2]) / 3.0          # errors [1, 3, 10]
    pck1 = np.array([0, 0, 0.5, 0.5, 0.5])           # errors [2, 6]
    auc0 = (1 / 6 + 1 / 3 + 1 / 2 + 2 / 3) / 4.0     # trapezoids with dt = 1, / (hi - lo)
    auc1 = (0 + 0.25 + 0.5 + 0.5) / 4.0
    np.testing.assert_allclose(m["pck"], (pck0 + pck1) / 2)
    assert m["auc"] == pytest.approx((auc0 + auc1) / 2)
    np.testing.assert_allclose(m["auc_per_keypoint"][:2], [auc0, auc1])
    assert np.isnan(m["auc_per_keypoint"][2])        # no visible data: excluded, not zero
    # Mean over keypoints of the per-keypoint median / mean (not the global ones: 3 and 4.4).
    assert m["epe_median"] == pytest.approx((3 + 4) / 2)
    assert m["epe_mean"] == pytest.approx((14 / 3 + 4) / 2)
    assert m["count"] == 5


def test_invisible_errors_do_not_count():
    gt, pred, vis = _case()
    pred2 = pred.copy()
    pred2[~vis] = 1e6                                 # garbage where invisible changes nothing
    a = keypoint_measures(gt, pred, vis, 0, 4, 5)
    b = keypoint_measures(gt, pred2, vis, 0, 4, 5)
    assert a["auc"] == b["auc"] and a["epe_mean"] == b["epe_mean"]


def test_perfect_and_3d_and_default_steps():
    gt = np.random.default_rng(0).normal(size=(4, 21, 3))
    m = keypoint_measures(gt, gt, np.ones((4, 21), bool), 0, 50)
    assert m["auc"] == pytest.approx(1.0) and m["epe_median"] == 0.0 and len(m["pck"]) == 20
    empty = keypoint_measures(gt, gt, np.zeros((4, 21), bool), 0, 50)
    assert np.isnan(empty["auc"]) and empty["count"] == 0


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shapes"):
        keypoint_measures(np.zeros((2, 21, 2)), np.zeros((2, 20, 2)), np.ones((2, 21), bool), 0, 20)
    with pytest.raises(ValueError, match="hi > lo"):
        keypoint_measures(np.zeros((2, 21, 2)), np.zeros((2, 21, 2)), np.ones((2, 21), bool), 5, 5)


def test_mask_iou():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True                                 # 4 px
    b[1:3, 1:3] = True                               # 4 px, overlap 1
    assert mask_iou(a, b) == pytest.approx(1 / 7)
    assert mask_iou(a, a) == 1.0
    assert mask_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    with pytest.raises(ValueError):
        mask_iou(a, b[:3])


def test_table_measures_per_category_are_the_subsets_measures():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(12, 21, 3))
    pred = gt + rng.normal(scale=0.5, size=gt.shape)
    vis = rng.random((12, 21)) > 0.2
    cats = np.array([0, 1, 3] * 4)
    names = ("a", "b", "c", "d")
    t = table_measures(gt, pred, vis, cats, names, 0.0, 2.0)
    whole = keypoint_measures(gt, pred, vis, 0.0, 2.0)
    assert t["auc"] == whole["auc"] and t["pck"] == whole["pck"].tolist() and len(t["thresholds"]) == 20
    assert set(t["per_category"]) == {"a", "b", "d"}  # no sample of category 2
    sel = cats == 3
    sub = keypoint_measures(gt[sel], pred[sel], vis[sel], 0.0, 2.0)
    assert t["per_category"]["d"] == {"auc": sub["auc"], "epe_median": sub["epe_median"],
                                      "epe_mean": sub["epe_mean"], "samples": 4}
