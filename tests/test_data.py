"""trainer.data: crops, heatmap targets, flips, determinism, HOP and RHD layouts."""

import json
import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from hopgen.core import camera
from hopgen.core.skeleton import NATIVE_FROM_RHD, RHD_FROM_NATIVE, VIS_VISIBLE
from trainer.config import load_config
from trainer.data import HandCrops, flip_record, make_dataset
from trainer.sources import DataError, HopSource, RhdSource, open_source
from trainer.evaluate import heatmaps_to_uv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cfg(*overrides):
    return load_config("configs/train/tiny_ours_posenet.yaml", list(overrides))


class MemSource:
    """In-memory records (for exact geometry checks)."""
    root = "mem"

    def __init__(self, recs):
        self.recs = recs

    def ids(self, split):
        return list(range(len(self.recs)))

    def record(self, i):
        return dict(self.recs[i])


def test_sample_fields_and_shapes(toy_hop):
    ds = make_dataset(_cfg(), toy_hop, "train", train=True)
    s = ds[0]
    c = 64
    assert s["image"].shape == (3, c, c) and s["image"].dtype == np.float32
    assert -0.5 <= s["image"].min() and s["image"].max() <= 0.5
    assert s["mask"].shape == (1, c, c) and set(np.unique(s["mask"])) <= {0.0, 1.0}
    assert s["heatmaps"].shape == (21, c // 8, c // 8)
    assert s["weight"].shape == s["vis"].shape == (21,)
    assert s["uv"].shape == s["uv_crop"].shape == (21, 2) and s["xyz"].shape == (21, 3)
    assert s["K"].shape == s["A"].shape == (3, 3)
    assert s["side"] in (0, 1) and 0 <= s["category"] <= 3
    # A maps uv to uv_crop; heatmaps are zero exactly where the weight is zero (hand3d).
    np.testing.assert_allclose(s["uv"] @ s["A"][:2, :2].T + s["A"][:2, 2], s["uv_crop"], atol=1e-3)
    assert np.all(s["heatmaps"][s["weight"] == 0] == 0)
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch["image"].shape == (2, 3, c, c)


@pytest.mark.parametrize("crop", [64, 256])
def test_heatmap_targets_decode_to_keypoints(toy_hop, crop):
    """Training targets and the evaluation decoder agree on the pixel convention (sub-cell exact)."""
    ds = make_dataset(_cfg("data.augment=false", f"data.crop={crop}"), toy_hop, "train", train=False)
    for i in range(len(ds)):
        s = ds[i]
        uv = heatmaps_to_uv(torch.from_numpy(s["heatmaps"])[None], crop)[0].numpy()
        ok = s["weight"] > 0
        inner = ok & np.all((s["uv_crop"] > 4 + crop / 16) & (s["uv_crop"] < crop - 4 - crop / 16), axis=1)
        assert inner.sum() > 5
        np.testing.assert_allclose(uv[inner], s["uv_crop"][inner], atol=0.05)
        assert np.abs(uv[ok] - s["uv_crop"][ok]).max() <= crop / 16 + 0.5  # border cells: half a cell


def _blob_record(uv5, rot_ok=True):
    h, w = 160, 200
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.exp(-((xx - uv5[0]) ** 2 + (yy - uv5[1]) ** 2) / (2 * 4.0 ** 2))
    rng = np.random.default_rng(3)
    uv = uv5 + rng.normal(scale=20, size=(21, 2))
    uv[5] = uv5
    K = camera.intrinsics(300, 300, (w - 1) / 2, (h - 1) / 2)
    xyz = np.concatenate([(uv - K[:2, 2]) / 300 * 0.5, np.full((21, 1), 0.5)], 1)
    return {"rgb": (np.repeat(img[..., None], 3, -1) * 255).astype(np.uint8), "mask": img > 0.5, "uv": uv,
            "xyz": xyz, "K": K, "vis": np.zeros(21, np.int64), "side": "right", "category": 2}


def test_crop_warp_matches_keypoint_transform_with_rotation():
    rec = _blob_record(np.array([90.3, 70.8]))
    cfg = _cfg("data.rotation_deg=40", "data.color_jitter=0", "data.flip_prob=0", "data.full_view_prob=0")
    ds = HandCrops([(MemSource([rec] * 4), "train")], cfg.data, train=True)
    angles = set()
    for i in range(4):
        s = ds[i]
        img = s["image"][0] + 0.5
        peak = np.array(np.unravel_index(np.argmax(img), img.shape)[::-1], float)
        assert np.linalg.norm(peak - s["uv_crop"][5]) <= 1.0
        ys, xs = np.nonzero(s["mask"][0])
        assert np.linalg.norm([xs.mean() - s["uv_crop"][5, 0], ys.mean() - s["uv_crop"][5, 1]]) <= 1.0
        angles.add(round(float(np.arctan2(s["A"][1, 0], s["A"][0, 0])), 3))
    assert len(angles) == 4  # rotation augmentation was on


def test_flip_is_consistent(toy_hop):
    src = HopSource(toy_hop)
    rec = src.record(src.ids("train")[0])
    f = flip_record(rec)
    np.testing.assert_allclose(camera.project(f["K"], f["xyz"]), f["uv"], atol=1e-6)
    assert f["side"] != rec["side"]
    assert np.array_equal(f["mask"], rec["mask"][:, ::-1]) and np.array_equal(f["rgb"], rec["rgb"][:, ::-1])
    ds = make_dataset(_cfg("data.flip_prob=1.0"), toy_hop, "train", train=True)
    assert ds[0]["side"] == (rec["side"] == "left")  # side swapped
    np.testing.assert_allclose(camera.project(ds[0]["K"], ds[0]["xyz"]), ds[0]["uv"], atol=1e-3)


def test_augmentation_deterministic_per_seed_epoch_index(toy_hop):
    ds = make_dataset(_cfg(), toy_hop, "train", train=True)
    a, b = ds[2], ds[2]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    ds.set_epoch(1)
    assert not np.array_equal(ds[2]["image"], a["image"])
    test = make_dataset(_cfg(), toy_hop, "test", train=False)
    assert np.array_equal(test[0]["image"], test[0]["image"])


def test_full_and_box_crops(toy_hop):
    full = make_dataset(_cfg(), toy_hop, "test", train=False, crop_mode="full")
    s = full[0]
    assert abs(float(s["A"][0, 0]) - 64 / 96) < 1e-6  # whole 96 px image onto the 64 px crop
    boxes = np.array([[10, 20, 50, 40]] * len(full))
    bx = make_dataset(_cfg(), toy_hop, "test", train=False, crop_mode="box", boxes=boxes, box_scale=1.0)
    A = bx[0]["A"]
    np.testing.assert_allclose(A[:2, :2] @ [30, 30] + A[:2, 2], [31.5, 31.5], atol=1e-4)  # box centre -> crop centre
    with pytest.raises(ValueError, match="box"):
        make_dataset(_cfg(), toy_hop, "test", train=False, crop_mode="box")


def test_bad_annotation_names_file_and_field(toy_hop, tmp_path):
    import shutil
    root = str(tmp_path / "bad")
    shutil.copytree(toy_hop, root)
    sid = HopSource(root).ids("train")[0]
    path = os.path.join(root, "anno", f"{sid}.json")
    anno = json.load(open(path))
    del anno["hand"]["uv"]
    json.dump(anno, open(path, "w"))
    with pytest.raises(DataError, match=r"anno.*%s\.json.*uv" % sid):
        HopSource(root).record(sid)
    with pytest.raises(DataError, match="neither"):
        open_source(str(tmp_path))


def _write_rhd(root, n=2, size=80):
    os.makedirs(os.path.join(root, "color"))
    os.makedirs(os.path.join(root, "mask"))
    annos = {}
    K = camera.intrinsics(100, 100, (size - 1) / 2, (size - 1) / 2)
    for k in range(n):
        rng = np.random.default_rng(k)
        xyz = np.concatenate([rng.uniform(-0.1, 0.1, size=(42, 2)), rng.uniform(0.4, 0.6, size=(42, 1))], 1)
        uv = camera.project(K, xyz)
        vis = (rng.random(42) > 0.3).astype(float)
        annos[k] = {"uv_vis": np.concatenate([uv, vis[:, None]], 1).astype(np.float32),
                    "xyz": xyz.astype(np.float32), "K": K.astype(np.float32)}
        seg = np.zeros((size, size), np.uint8)
        seg[5:40, 5:40] = 5 if k == 0 else 20          # hand 0: left labels (2-17); hand 1: right (18-33)
        seg[50:55, 50:55] = 20 if k == 0 else 5
        Image.fromarray(seg).save(os.path.join(root, "mask", f"{k:05d}.png"))
        Image.fromarray(rng.integers(0, 255, size=(size, size, 3), dtype=np.uint8)).save(
            os.path.join(root, "color", f"{k:05d}.png"))
    with open(os.path.join(root, "anno_training.pickle"), "wb") as f:
        pickle.dump(annos, f)
    return annos


def test_rhd_layout_loads(tmp_path):
    root = str(tmp_path / "RHD")
    annos = _write_rhd(os.path.join(root, "training"))
    src = open_source(root)
    assert isinstance(src, RhdSource)
    ids = src.ids("train")
    assert len(ids) == 2
    r0, r1 = src.record(ids[0]), src.record(ids[1])
    assert r0["side"] == "left" and r1["side"] == "right"
    a1 = annos[1]["uv_vis"][21:]
    np.testing.assert_allclose(r1["uv"], a1[list(NATIVE_FROM_RHD), :2], atol=1e-5)  # native order
    np.testing.assert_allclose(r1["uv"][RHD_FROM_NATIVE[1]], a1[1, :2], atol=1e-5)     # RHD 1 = thumb tip = native 4
    assert np.array_equal(r0["vis"] == VIS_VISIBLE, annos[0]["uv_vis"][:21, 2][list(NATIVE_FROM_RHD)] > 0.5)
    assert r0["mask"].sum() == 35 * 35 and r0["category"] == -1
    ds = make_dataset(_cfg("data.flip_prob=0"), root, "train", train=True)
    assert ds[1]["image"].shape == (3, 64, 64) and ds[1]["side"] == 1
