"""`hopgen export --format coco | freihand | webdataset`, read back with the real client libraries
(pycocotools, webdataset) and by the trainer; the layouts checked against the formats' documented
conventions (COCO keypoints: [x, y, v] * K with v 0 unlabelled / 1 labelled hidden / 2 visible,
1-based skeleton; FreiHAND: <set>_xyz.json, <set>_K.json, <set>/rgb/%08d.jpg, uv = K xyz / z)."""

import glob
import json
import os

import numpy as np
import pytest
from PIL import Image

from hopfixtures import add_toy_depth, make_toy_hop
from hopgen.cli import main
from hopgen.core import skeleton
from hopgen.dataset.hopformat import HopDataset

# COCO-WholeBody's hand keypoint sigmas (mmpose's hand datasets use them); same joint order as HOP.
SIGMAS = np.array([0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
                   0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031])


@pytest.fixture(scope="module")
def hop(tmp_path_factory):
    root = make_toy_hop(str(tmp_path_factory.mktemp("hop") / "d"), n=12, size=64)
    add_toy_depth(root)
    return root


# ---- COCO ----------------------------------------------------------------------------------------

def _coco_ap(coco_gt, dets, sigmas):
    from pycocotools.cocoeval import COCOeval
    coco_dt = coco_gt.loadRes(dets)
    E = COCOeval(coco_gt, coco_dt, iouType="keypoints")
    E.params.kpt_oks_sigmas = sigmas
    E.evaluate()
    E.accumulate()
    E.summarize()
    return E.stats[0]


def test_coco_export_loads_and_scores_in_pycocotools(hop, tmp_path):
    from pycocotools.coco import COCO
    out = str(tmp_path / "coco")
    assert main(["export", hop, "--format", "coco", "--split", "train", "--out", out]) == 0
    path = os.path.join(out, "annotations", "hand_keypoints_train.json")
    coco = COCO(path)
    ds = HopDataset(hop)
    ids = ds.split("train")
    (cat,) = coco.loadCats(coco.getCatIds())
    assert cat["name"] == "hand" and cat["keypoints"] == list(skeleton.JOINT_NAMES)
    assert all(1 <= a <= 21 and 1 <= b <= 21 for a, b in cat["skeleton"]) and len(cat["skeleton"]) == 20
    assert sorted(coco.getImgIds()) == list(range(1, len(ids) + 1))
    for img_id, sid in zip(sorted(coco.getImgIds()), ids):
        img = coco.loadImgs(img_id)[0]
        assert img["file_name"] == f"{sid}.png"
        assert np.array_equal(np.asarray(Image.open(os.path.join(out, "images", "train", img["file_name"]))),
                              ds.image("rgb", sid))
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        a = ds.annotation(sid)
        kp = np.asarray(ann["keypoints"], float).reshape(21, 3)
        vis = np.asarray(a["hand"]["visibility"])
        expect_v = np.where(vis == skeleton.VIS_VISIBLE, 2, np.where(vis == skeleton.VIS_OUTSIDE, 0, 1))
        assert np.array_equal(kp[:, 2], expect_v)
        labelled = expect_v > 0
        np.testing.assert_allclose(kp[labelled, :2], np.asarray(a["hand"]["uv"])[labelled], atol=1e-3)
        assert ann["num_keypoints"] == int(labelled.sum())
        mask = ds.image("hand_mask", sid)
        ys, xs = np.nonzero(mask)
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert ann["area"] == mask.sum()
        assert np.array_equal(coco.annToMask(ann).astype(bool), mask)   # pycocotools decodes our RLE
        extra = ann["hopgen"]
        assert extra["id"] == sid and extra["side"] == a["hand"]["side"]
        assert extra["object_category"] == a["object"]["category"] and extra["grasp_type"] == a["grasp"]["type"]
        np.testing.assert_allclose(extra["xyz"], a["hand"]["xyz"], atol=1e-6)
        np.testing.assert_allclose(extra["K"], a["camera"]["K"])
    gt = coco.loadAnns(coco.getAnnIds())
    dets = [{"image_id": g["image_id"], "category_id": 1, "keypoints": g["keypoints"], "score": 1.0} for g in gt]
    assert _coco_ap(coco, dets, SIGMAS) == pytest.approx(1.0)
    shifted = [dict(d, keypoints=[v + 3.0 if i % 3 != 2 else v for i, v in enumerate(d["keypoints"])]) for d in dets]
    assert _coco_ap(coco, shifted, SIGMAS) < 0.9   # the score can fail: 3 px off on 64 px hands


def test_coco_export_resampled(hop, tmp_path):
    from pycocotools.coco import COCO
    out = str(tmp_path / "coco")
    assert main(["export", hop, "--format", "coco", "--split", "test", "--size", "128x96", "--out", out]) == 0
    coco = COCO(os.path.join(out, "annotations", "hand_keypoints_test.json"))
    ds = HopDataset(hop)
    for img_id, sid in zip(sorted(coco.getImgIds()), ds.split("test")):
        img = coco.loadImgs(img_id)[0]
        assert (img["width"], img["height"]) == (128, 96)
        assert Image.open(os.path.join(out, "images", "test", img["file_name"])).size == (128, 96)
        (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        K = np.asarray(ann["hopgen"]["K"])
        xyz = np.asarray(ann["hopgen"]["xyz"])
        uv = (xyz @ K.T)[:, :2] / xyz[:, 2:]
        uv_expect = (np.asarray(ds.annotation(sid)["hand"]["uv"]) + 0.5) * [2.0, 1.5] - 0.5
        np.testing.assert_allclose(uv, uv_expect, atol=1e-3)


# ---- webdataset ----------------------------------------------------------------------------------

def test_webdataset_shards_stream_with_the_webdataset_library(hop, tmp_path):
    import webdataset as wds
    out = str(tmp_path / "wds")
    assert main(["export", hop, "--format", "webdataset", "--split", "train", "--shard-size", "3", "--out", out]) == 0
    shards = sorted(glob.glob(os.path.join(out, "train", "*.tar")))
    ds = HopDataset(hop)
    ids = ds.split("train")
    assert len(shards) == -(-len(ids) // 3)
    seen = []
    def png(data):
        import io
        return np.asarray(Image.open(io.BytesIO(data)))

    # default decoders: json is parsed, images stay PNG bytes (label and 16-bit images must not be
    # converted to RGB, which webdataset's "pil" decoder does)
    for sample in wds.WebDataset(shards, shardshuffle=False).decode():
        sid = sample["__key__"]
        seen.append(sid)
        assert np.array_equal(png(sample["rgb.png"]), ds.image("rgb", sid))
        assert np.array_equal(png(sample["seg.png"]), ds.image("seg", sid))
        assert np.array_equal(png(sample["hand_mask.png"]) > 127, ds.image("hand_mask", sid))
        assert np.array_equal(png(sample["object_mask.png"]) > 127, ds.image("object_mask", sid))
        assert np.array_equal(png(sample["depth.png"]).astype(np.uint16), ds.image("depth", sid))
        assert sample["json"] == ds.annotation(sid)
    rgb8 = next(iter(wds.WebDataset(shards[:1], shardshuffle=False).decode("rgb8")))
    assert np.array_equal(rgb8["rgb.png"], ds.image("rgb", ids[0]))
    assert seen == ids
    # the same dataset gives byte-identical shards
    again = str(tmp_path / "wds2")
    assert main(["export", hop, "--format", "webdataset", "--split", "train", "--shard-size", "3", "--out", again]) == 0
    for a, b in zip(shards, sorted(glob.glob(os.path.join(again, "train", "*.tar")))):
        assert open(a, "rb").read() == open(b, "rb").read()


# ---- FreiHAND ------------------------------------------------------------------------------------

def _write_freihand(root, n=3, versions=2, size=64):
    """A FreiHAND-layout folder as the FreiHAND README / fh_utils describe it: annotation i for
    images i, i + N, ... (colour versions); masks only for the first N."""
    K = [[150.0, 0.0, size / 2], [0.0, 150.0, size / 2], [0.0, 0.0, 1.0]]
    xyz = []
    for i in range(n):
        rng = np.random.default_rng(i)
        xyz.append(np.concatenate([rng.uniform(-0.05, 0.05, (21, 2)), rng.uniform(0.5, 0.7, (21, 1))], 1).tolist())
    for key, value in (("xyz", xyz), ("K", [K] * n)):
        with open(os.path.join(root, f"training_{key}.json"), "w") as f:
            json.dump(value, f)
    os.makedirs(os.path.join(root, "training", "rgb"))
    os.makedirs(os.path.join(root, "training", "mask"))
    for i in range(n * versions):
        Image.fromarray(np.full((size, size, 3), 40 * (i % 5), np.uint8)).save(
            os.path.join(root, "training", "rgb", f"{i:08d}.jpg"))
    for i in range(n):
        m = np.zeros((size, size), np.uint8)
        m[10:30, 10:30] = 255
        Image.fromarray(m).save(os.path.join(root, "training", "mask", f"{i:08d}.jpg"))
    return np.asarray(xyz), np.asarray(K)


def test_freihand_layout_reader(tmp_path):
    from trainer.sources import FreiHandSource, open_source
    root = str(tmp_path / "FH")
    os.makedirs(root)
    xyz, K = _write_freihand(root)
    src = open_source(root)
    assert isinstance(src, FreiHandSource)
    ids = src.ids("train")
    assert len(ids) == 6
    r4 = src.record(ids[4])                     # image 4 shows annotation 4 mod 3 = 1
    np.testing.assert_allclose(r4["xyz"], xyz[1])
    uv = (xyz[1] @ K.T)[:, :2] / xyz[1][:, 2:]
    np.testing.assert_allclose(r4["uv"], uv)
    assert r4["side"] == "right" and r4["mask"][20, 20] and not r4["mask"][40, 40]
    from trainer.sources import DataError
    with pytest.raises(DataError, match="evaluation_xyz.json missing"):
        src.ids("test")


def test_freihand_export_feeds_the_trainer(hop, tmp_path):
    from trainer.config import load_config
    from trainer.data import make_dataset
    from trainer.sources import FreiHandSource, open_source
    out = str(tmp_path / "FH")
    assert main(["export", hop, "--format", "freihand", "--split", "train", "--out", out]) == 0
    assert main(["export", hop, "--format", "freihand", "--split", "test", "--out", out]) == 0
    for s in ("training", "evaluation"):
        assert os.path.isfile(os.path.join(out, f"{s}_xyz.json")) and os.path.isfile(os.path.join(out, f"{s}_K.json"))
    src = open_source(out)
    assert isinstance(src, FreiHandSource)
    ds = HopDataset(hop)
    for split in ("train", "test"):
        keys = src.ids(split)
        assert len(keys) == len(ds.split(split))
        for key, sid in zip(keys, ds.split(split)):
            rec, a = src.record(key), ds.annotation(sid)
            uv = np.asarray(a["hand"]["uv"])
            if a["hand"]["side"] == "left":            # FreiHAND is right hands only: mirrored
                uv = uv * [-1, 1] + [63, 0]
            np.testing.assert_allclose(rec["uv"], uv, atol=1e-3)
            hand = np.isin(ds.image("seg", sid), skeleton.HAND_LABELS)
            if a["hand"]["side"] == "left":
                hand = hand[:, ::-1]
            assert (rec["mask"] == hand).mean() > 0.98    # JPEG masks, thresholded
    cfg = load_config("configs/train/tiny_ours_posenet.yaml", ["data.flip_prob=0"])
    crops = make_dataset(cfg, out, "test", train=False)
    item = crops[0]
    assert item["image"].shape[0] == 3 and item["side"] == 1 and np.isfinite(np.asarray(item["uv"])).all()


@pytest.mark.usefixtures("one_torch_thread")
def test_hopgen_train_and_eval_accept_a_freihand_folder(hop, tmp_path):
    out = str(tmp_path / "FH")
    for split in ("train", "test"):
        assert main(["export", hop, "--format", "freihand", "--split", split, "--out", out]) == 0
    run, report = str(tmp_path / "run"), str(tmp_path / "report")
    assert main(["train", "--config", "configs/train/tiny_ours_posenet.yaml", "--data", out, "--out", run,
                 "--no-progress", "--set", "train.iterations=2", "--set", "data.val_split=test"]) == 0
    assert main(["eval", "--run", run, "--data", out, "--out", report, "--crop", "gt"]) == 0
    with open(os.path.join(report, "metrics.json")) as f:
        (m,) = json.load(f).values()
    assert m["samples"] == len(HopDataset(hop).split("test")) and 0 <= m["auc"] <= 1
