"""`hopgen export --format rhd` read the way hand3d reads RHD.

The reader below is written from hand3d's documented behaviour (lmb-freiburg/hand3d:
create_binary_db.py loads {set}/anno_{set}.pickle with plain pickle and color/ mask/ %.5d.png with
an image reader, packs each sample into a fixed-length record; data/BinaryDbReader.py decodes
records of a hard-coded 320x320 size, takes mask > 1 as hand, 1 < mask < 18 as the left hand and
mask > 17 as the right hand, and uses the left hand's 21 keypoints only when it has more pixels)
and the RHD README's conventions (keypoints 0 left wrist, 1-4 left thumb tip to palm, ..., 21-41
right; masks 0 background, 1 person, 2-4 left thumb tip to palm, 5-7 index, ..., 14-16 pinky,
17 palm, 18-33 right hand; depth = (R * 256 + G) / (2^16 - 1) * 5 m). None of it imports the exporter.
"""

import json
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from hopfixtures import add_toy_depth, make_toy_hop
from hopgen.cli import main
from hopgen.core import skeleton
from hopgen.core.pngio import encode_png
from hopgen.dataset.hopformat import HopDataset
from hopgen.dataset.visibility import compute_visibility

IMAGE = 320  # hand3d's BinaryDbReader.image_size
NUM_KP = 42


# ---- hand3d, re-stated ---------------------------------------------------------------------------

def create_binary_db(path_to_db, set_name):
    """create_binary_db.py: one fixed-length record per sample, in the pickle's item order."""
    with open(os.path.join(path_to_db, set_name, "anno_%s.pickle" % set_name), "rb") as fi:
        anno_all = pickle.load(fi)
    out = bytearray()
    for sample_id, anno in anno_all.items():
        image = np.asarray(Image.open(os.path.join(path_to_db, set_name, "color", "%.5d.png" % sample_id)))
        mask = np.asarray(Image.open(os.path.join(path_to_db, set_name, "mask", "%.5d.png" % sample_id)))
        kp_coord_uv = anno["uv_vis"][:, :2]
        kp_visible = anno["uv_vis"][:, 2] == 1
        for c in anno["xyz"]:
            out += struct.pack("fff", c[0], c[1], c[2])
        for c in kp_coord_uv:
            out += struct.pack("ff", c[0], c[1])
        for row in anno["K"]:
            for k in row:
                out += struct.pack("f", k)
        out += struct.pack("BB", 255, 255)
        for x in range(image.shape[0]):  # (the original packs pixel by pixel; same bytes)
            out += bytes(image[x, :, :3].astype(np.uint8).tobytes())
        out += mask.astype(np.uint8).tobytes()
        out += kp_visible.astype(np.uint8).tobytes()
    return bytes(out), len(anno_all)


def binary_db_records(data):
    """BinaryDbReader.get() for every record: the 21-keypoint subset of the dominant hand."""
    record_bytes = 2 + 4 * 3 * NUM_KP + 4 * 2 * NUM_KP + 4 * 9 + IMAGE * IMAGE * 3 + IMAGE * IMAGE + NUM_KP
    assert len(data) % record_bytes == 0, "Doesnt add up."
    out = []
    for r in range(len(data) // record_bytes):
        rec = data[r * record_bytes:(r + 1) * record_bytes]
        f32 = np.frombuffer(rec[: (3 * NUM_KP + 2 * NUM_KP + 9) * 4], np.float32)
        xyz = f32[: 3 * NUM_KP].reshape(NUM_KP, 3)
        uv = f32[3 * NUM_KP: 5 * NUM_KP].reshape(NUM_KP, 2).astype(np.int32).astype(np.float32)
        K = f32[5 * NUM_KP:].reshape(3, 3)
        pos = (5 * NUM_KP + 9) * 4 + 2
        image = np.frombuffer(rec[pos: pos + IMAGE * IMAGE * 3], np.uint8).reshape(IMAGE, IMAGE, 3)
        pos += IMAGE * IMAGE * 3
        parts = np.frombuffer(rec[pos: pos + IMAGE * IMAGE], np.uint8).reshape(IMAGE, IMAGE).astype(np.int32)
        pos += IMAGE * IMAGE
        vis = np.frombuffer(rec[pos: pos + NUM_KP], np.uint8).astype(bool)
        num_l = int(((parts > 1) & (parts < 18)).sum())
        num_r = int((parts > 17).sum())
        cond_left = num_l > num_r
        sl = slice(0, 21) if cond_left else slice(21, 42)
        out.append({"xyz21": xyz[sl], "uv21": uv[sl], "uv21_float": f32[3 * NUM_KP: 5 * NUM_KP].reshape(NUM_KP, 2)[sl],
                    "vis21": vis[sl], "K": K, "image": image, "hand_parts": parts, "hand_mask": parts > 1,
                    "hand_side": 0 if cond_left else 1})
    return out


def rhd_depth_m(png_path):
    """RHD README / view_samples.py: depth_two_uint8_to_float(top_bits=R, bottom_bits=G)."""
    d = np.asarray(Image.open(png_path)).astype(np.float64)
    return (d[..., 0] * 2 ** 8 + d[..., 1]) / float(2 ** 16 - 1) * 5.0


# RHD keypoint order from the README: wrist, then each finger tip -> palm (HOP native: base -> tip).
RHD_ORDER = [0] + [1 + 4 * f + (3 - k) for f in range(5) for k in range(4)]


def rhd_label(hop_label, side):
    """The README's mask label of a HOP seg label (phalanx s = 0 proximal .. 2 distal)."""
    base = 2 if side == "left" else 18
    if hop_label == skeleton.SEG_ARM:
        return 1
    if hop_label == skeleton.SEG_PALM:
        return base + 15           # 17 left palm, 33 right palm
    if hop_label >= 4:
        f, s = divmod(hop_label - 4, 3)
        return base + 3 * f + (2 - s)  # "tip to palm": distal first
    return 0                       # background, and the object (RHD has none)


# ---- tests ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hop(tmp_path_factory):
    root = make_toy_hop(str(tmp_path_factory.mktemp("hop") / "d"), n=8, size=64)
    add_toy_depth(root)
    return root


def test_hand3d_reads_the_rhd_export(hop, tmp_path):
    out = str(tmp_path / "RHD")
    assert main(["export", hop, "--format", "rhd", "--split", "train", "--out", out]) == 0
    assert main(["export", hop, "--format", "rhd", "--split", "test", "--out", out]) == 0
    assert sorted(os.listdir(out)) == [".hopgen-export.json", "evaluation", "training"]
    assert sorted(os.listdir(os.path.join(out, "training"))) == ["anno_training.pickle", "color", "depth", "mask"]
    ds = HopDataset(hop)
    for set_name, split in (("training", "train"), ("evaluation", "test")):
        data, n = create_binary_db(out, set_name)
        records = binary_db_records(data)
        ids = ds.split(split)
        assert n == len(records) == len(ids)
        with open(os.path.join(out, set_name, f"anno_{set_name}.pickle"), "rb") as f:
            annos = pickle.load(f)
        assert sorted(annos) == list(range(n)) and all(isinstance(k, int) for k in annos)
        for k, (rec, sid) in enumerate(zip(records, ids)):
            a = ds.annotation(sid)
            side, s = a["hand"]["side"], 5.0  # 64 -> 320
            assert rec["hand_side"] == (0 if side == "left" else 1), sid
            uv = (np.asarray(a["hand"]["uv"]) + 0.5) * s - 0.5          # pixel centres at integers
            np.testing.assert_allclose(rec["uv21_float"], uv[RHD_ORDER], atol=1e-3)
            np.testing.assert_allclose(rec["xyz21"], np.asarray(a["hand"]["xyz"])[RHD_ORDER], atol=1e-6)
            vis = np.asarray(a["hand"]["visibility"]) == skeleton.VIS_VISIBLE
            assert np.array_equal(rec["vis21"], vis[RHD_ORDER])
            # K follows the resampling: the keypoints project onto their uv
            proj = rec["xyz21"] @ rec["K"].T
            np.testing.assert_allclose(proj[:, :2] / proj[:, 2:], rec["uv21_float"], atol=1e-2)
            # mask labels as the README numbers them, on the exact x5 nearest upsampling of HOP's seg
            seg5 = np.repeat(np.repeat(ds.image("seg", sid), 5, 0), 5, 1)
            expected = np.vectorize(lambda v: rhd_label(v, side))(seg5)
            assert np.array_equal(rec["hand_parts"], expected), sid
            # at a visible fingertip the label is the finger's distal label (or background at a silhouette)
            tips = [4, 8, 12, 16, 20]
            px = np.floor(uv + 0.5).astype(int)
            base = 2 if side == "left" else 18
            for f, j in enumerate(tips):
                if vis[j]:
                    assert rec["hand_parts"][px[j, 1], px[j, 0]] in (base + 3 * f, 0), (sid, j)
            assert rec["image"].shape == (IMAGE, IMAGE, 3)
            depth = rhd_depth_m(os.path.join(out, set_name, "depth", f"{k:05d}.png"))
            hop_depth = np.repeat(np.repeat(ds.image("depth", sid), 5, 0), 5, 1) / 1000.0
            surface = hop_depth > 0
            assert np.abs(depth[surface] - hop_depth[surface]).max() <= 5.0 / 65535
            assert np.allclose(depth[~surface], 5.0)  # no surface -> RHD's far plane


def test_left_hand_without_visible_pixels_is_left_out(hop, tmp_path):
    """hand3d gives a tie (0 = 0 pixels) to the right hand: a hidden left hand cannot be exported."""
    import shutil
    root = str(tmp_path / "d")
    shutil.copytree(hop, root)
    ds = HopDataset(root)
    sid = next(s for s in ds.split("train") if ds.annotation(s)["hand"]["side"] == "left")
    seg, obj = ds.image("seg", sid).copy(), ds.image("object_mask", sid)
    hand = np.isin(seg, skeleton.HAND_LABELS)
    seg[hand] = skeleton.SEG_OBJECT                  # the object now covers the whole hand
    obj = obj | hand
    a = ds.annotation(sid)
    a["hand"]["visibility"] = compute_visibility(np.asarray(a["hand"]["uv"]), seg).tolist()
    for kind, img in (("seg", seg), ("object_mask", obj.astype(np.uint8) * 255)):
        with open(os.path.join(root, kind, f"{sid}.png"), "wb") as f:
            f.write(encode_png(img))
    with open(os.path.join(root, "anno", f"{sid}.json"), "w") as f:
        json.dump(a, f)
    out = str(tmp_path / "RHD")
    assert main(["export", root, "--format", "rhd", "--split", "train", "--out", out]) == 0
    records = binary_db_records(create_binary_db(out, "training")[0])
    kept = [s for s in ds.split("train") if s != sid]
    assert len(records) == len(kept)
    for rec, s in zip(records, kept):
        assert rec["hand_side"] == (0 if ds.annotation(s)["hand"]["side"] == "left" else 1)
    with open(os.path.join(out, ".hopgen-export.json")) as f:
        assert json.load(f)["exports"]["training"]["skipped"] == [sid]


def test_trainer_reads_the_rhd_export(hop, tmp_path):
    from trainer.sources import RhdSource, open_source
    out = str(tmp_path / "RHD")
    assert main(["export", hop, "--format", "rhd", "--split", "test", "--size", "128", "--out", out]) == 0
    src = open_source(out)
    assert isinstance(src, RhdSource)
    ds = HopDataset(hop)
    for key, sid in zip(src.ids("test"), ds.split("test")):
        rec, a = src.record(key), ds.annotation(sid)
        assert rec["side"] == a["hand"]["side"]
        np.testing.assert_allclose(rec["uv"], (np.asarray(a["hand"]["uv"]) + 0.5) * 2 - 0.5, atol=1e-3)
        assert rec["rgb"].shape == (128, 128, 3)


def test_trainer_rhd_tie_goes_to_the_right_hand(tmp_path):
    """trainer.data.RhdSource breaks a pixel tie as BinaryDbReader does (left only with more pixels)."""
    from trainer.sources import RhdSource
    folder = tmp_path / "training"
    (folder / "color").mkdir(parents=True)
    (folder / "mask").mkdir()
    annos = {}
    for k, (n_left, n_right) in enumerate(((16, 16), (0, 0), (17, 16), (16, 17))):
        uv = np.tile([[10.0, 12.0]], (42, 1))
        uv[21:] += 5.0
        annos[k] = {"uv_vis": np.concatenate([uv, np.ones((42, 1))], 1).astype(np.float32),
                    "xyz": np.full((42, 3), 0.5, np.float32), "K": np.eye(3, dtype=np.float32)}
        mask = np.zeros((IMAGE, IMAGE), np.uint8)
        mask.flat[:n_left] = 5                        # left index
        mask.flat[1000:1000 + n_right] = 20           # right thumb
        Image.fromarray(mask).save(folder / "mask" / f"{k:05d}.png")
        Image.fromarray(np.zeros((IMAGE, IMAGE, 3), np.uint8)).save(folder / "color" / f"{k:05d}.png")
    with open(folder / "anno_training.pickle", "wb") as f:
        pickle.dump(annos, f)
    hand3d = [r["hand_side"] for r in binary_db_records(create_binary_db(str(tmp_path), "training")[0])]
    assert hand3d == [1, 1, 0, 1]
    src = RhdSource(str(tmp_path))
    ours = [src.record(key)["side"] for key in src.ids("train")]
    assert ours == ["right" if h else "left" for h in hand3d]
