"""The packed cache and the training loader: same samples as the PNG path, reproducible per (seed, epoch,
index) whatever the worker count, resume point or device path."""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hopfixtures import make_toy_hop  # noqa: E402

from trainer import pack  # noqa: E402
from trainer.augment import finish_batch, warp_batch  # noqa: E402
from trainer.config import load_config  # noqa: E402
from trainer.data import crop_affine, make_dataset, warp
from trainer.sources import HopSource, open_source  # noqa: E402
from trainer.loader import EpochKeyed, TrainLoader  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _cfg(*overrides):
    return load_config(REPO / "configs" / "train" / "tiny_ours_posenet.yaml",
                       ["data.rotation_deg=30", "data.color_jitter=0.3", *overrides])


@pytest.fixture
def toy(tmp_path):
    return make_toy_hop(str(tmp_path / "toy"), n=16, size=96)


def test_pack_records_equal_png_records(toy):
    path = pack.write_pack(toy)
    assert pack.find_pack(toy) == path and os.path.basename(path) == pack.dataset_digest(toy)
    png, packed = HopSource(toy), pack.PackedSource(toy)
    assert packed.ids("train") == png.ids("train") and packed.ids("test") == png.ids("test")
    for sid in png.ds.ids:
        a, b = png.record(sid), packed.record(sid)
        assert np.array_equal(a["rgb"], b["rgb"]) and np.array_equal(a["mask"], b["mask"].astype(bool))
        for k in ("uv", "xyz", "K", "vis"):
            assert np.array_equal(a[k], b[k]), k
        assert (a["side"], a["category"]) == (b["side"], b["category"])
    assert not [n for n in os.listdir(os.path.join(toy, "pack")) if n.startswith(".tmp-")]


def test_pack_invalidated_by_dataset_change(toy):
    old = pack.write_pack(toy)
    anno = os.path.join(toy, "anno", "00000000.json")
    rec = json.load(open(anno))
    rec["hand"]["uv"][0][0] += 1.0
    time.sleep(0.01)
    with open(anno, "w") as f:
        json.dump(rec, f)
    assert pack.find_pack(toy) is None  # the stale pack is not used
    new = pack.write_pack(toy)
    assert new != old and not os.path.exists(old)  # and the writer removed it
    assert pack.PackedSource(toy).record("00000000")["uv"][0, 0] == pytest.approx(rec["hand"]["uv"][0][0])


def test_pack_modes_and_mixed_sizes(toy, tmp_path, capsys):
    assert type(open_source(toy)).__name__ == "HopSource"  # default of the function: PNGs
    with pytest.raises(ValueError, match="data.pack is 'require'"):
        open_source(toy, "require")
    assert type(open_source(toy, "auto")).__name__ == "PackedSource"  # written on first use
    with pytest.raises(ValueError, match="data.pack"):
        open_source(toy, "sometimes")
    mixed = make_toy_hop(str(tmp_path / "mixed"), n=4, size=64)
    big = make_toy_hop(str(tmp_path / "big"), n=4, size=80)
    os.replace(os.path.join(big, "rgb", "00000001.png"), os.path.join(mixed, "rgb", "00000001.png"))
    with pytest.raises(ValueError, match=r"rgb/00000001.png: "):  # names the odd file
        pack.write_pack(mixed)
    assert type(open_source(mixed, "auto")).__name__ == "HopSource"
    assert "not packing" in capsys.readouterr().err
    assert not os.listdir(os.path.join(mixed, "pack"))  # nothing half-written left


def test_torch_warp_matches_numpy_warp():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(70, 90, 3)).astype(np.uint8)
    A = crop_affine([40.3, 31.7], 57.0, 48, angle=0.4)
    ref = warp(img, A, 48)
    out = warp_batch(torch.from_numpy(img)[None], torch.from_numpy(A)[None], 48)[0].permute(1, 2, 0).numpy()
    assert np.abs(out - ref).max() < 2e-3  # of 255: float32 rounding of the sampling grid only


def test_samples_same_from_png_and_pack(toy):
    cfg = _cfg()
    a = make_dataset(cfg, toy, "train", True)
    b = make_dataset(load_config(REPO / "configs" / "train" / "tiny_ours_posenet.yaml",
                                 ["data.rotation_deg=30", "data.color_jitter=0.3", "data.pack=off"]), toy, "train", True)
    assert type(a.items[0][0]).__name__ == "PackedSource" and type(b.items[0][0]).__name__ == "HopSource"
    for i in range(len(a)):
        x, y = a[(1, i)], b[(1, i)]
        for k in x:
            assert np.array_equal(x[k], y[k]), k


def _collect(loader_iter):
    return [{k: v.clone() for k, v in b.items()} for b in loader_iter]


def _same(b1, b2, atol=0.0):
    assert len(b1) == len(b2)
    for x, y in zip(b1, b2):
        assert set(x) == set(y)
        for k in x:
            assert torch.allclose(x[k].to(torch.float64), y[k].to(torch.float64), atol=atol, rtol=0), k


def test_loader_reproducible_across_workers_resume_and_epochs(toy):
    cfg0 = _cfg("data.workers=0", "data.batch_size=3")
    ds = make_dataset(cfg0, toy, "train", True)
    l0 = TrainLoader(ds, cfg0)
    e0, e1 = _collect(l0.epoch(0)), _collect(l0.epoch(1))
    assert not torch.equal(e0[0]["image"], e1[0]["image"])  # a new epoch draws new augmentation
    cfg2 = _cfg("data.workers=2", "data.batch_size=3", "data.prefetch=2")
    l2 = TrainLoader(make_dataset(cfg2, toy, "train", True), cfg2)
    _same(_collect(l2.epoch(0)), e0)          # 2 persistent workers: the same batches ...
    _same(_collect(l2.epoch(1)), e1)          # ... and they learn the next epoch from the keys
    _same(_collect(l0.epoch(1, start_batch=1)), e1[1:])  # resume mid-epoch
    fresh = make_dataset(cfg0, toy, "train", True)  # any order: item i of epoch 1 alone
    i = int(e1[0]["index"][0])
    fresh.set_epoch(1)
    assert np.array_equal(fresh[i]["image"], e1[0]["image"][0].numpy())


def test_epoch_keyed_wrapper_sets_the_epoch():
    class Ds:
        epoch = 0

        def set_epoch(self, e):
            self.epoch = e

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return (self.epoch, i)

    assert EpochKeyed(Ds())[(3, 2)] == (3, 2)


def test_device_finishing_equals_worker_finishing(toy):
    """The GPU path (raw uint8 fields, finish_batch after the copy), run here on the CPU, gives the samples
    a worker finishes itself; ours_posenet's flip, full views, rotation and colour jitter all occur."""
    cfg = _cfg("data.workers=0", "data.batch_size=4")
    ds = make_dataset(cfg, toy, "train", True)
    ref = _collect(TrainLoader(ds, cfg).epoch(2))
    ds.defer_image_ops = True
    raw = _collect(TrainLoader(ds, cfg).epoch(2))
    assert raw[0]["raw_rgb"].dtype == torch.uint8 and "image" not in raw[0]
    _same([finish_batch(b, cfg.data) for b in raw], ref, atol=1e-5)
