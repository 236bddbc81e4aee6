import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hopfixtures import make_toy_hop
from hopgen.dataset.hopformat import HopDataset, HopFormatError, HopWriter, sample_id
from hopgen.core.pngio import PNGError, decode_png, encode_png


def test_png_round_trip_all_kinds():
    rng = np.random.default_rng(0)
    for arr in (rng.integers(0, 256, (7, 5, 3), dtype=np.uint8), rng.integers(0, 256, (4, 9), dtype=np.uint8),
                rng.integers(0, 65536, (6, 3), dtype=np.uint16), rng.integers(0, 256, (3, 3, 4), dtype=np.uint8)):
        np.testing.assert_array_equal(decode_png(encode_png(arr)), arr)
    with pytest.raises(PNGError):
        decode_png(b"not a png")


def test_png_decoder_reads_pillow_filtered_files(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(1)
    img = (np.linspace(0, 255, 40 * 30 * 3).reshape(30, 40, 3) + rng.integers(0, 20, (30, 40, 3))).clip(0, 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "a.png", optimize=True)  # Pillow picks adaptive filters
    np.testing.assert_array_equal(decode_png((tmp_path / "a.png").read_bytes()), img)


def test_round_trip(tmp_path):
    root = make_toy_hop(tmp_path / "d", n=4, size=64)
    ds = HopDataset(root)
    assert ds.ids == [sample_id(i) for i in range(4)]
    a = ds.annotation(ds.ids[0])
    assert a["id"] == "00000000" and len(a["hand"]["xyz"]) == 21
    assert ds.image("rgb", ds.ids[0]).shape == (64, 64, 3)
    assert ds.image("hand_mask", ds.ids[0]).dtype == bool
    assert ds.split("train")


def test_writer_validates_and_rejects_bad_ids(tmp_path):
    w = HopWriter(tmp_path)
    z = np.zeros((8, 8), np.uint8)
    with pytest.raises(HopFormatError, match="hand_mask is"):
        w.write_sample("00000001", {}, np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4)), z, z)
    with pytest.raises(HopFormatError, match="bad sample id"):
        w.write_sample("../../x", {}, np.zeros((8, 8, 3), np.uint8), z, z, z)
    assert not (tmp_path / "anno" / "00000001.json").exists()
    with pytest.raises(HopFormatError, match="not a HOP dataset"):
        HopDataset(tmp_path)


def test_interrupted_write_leaves_no_sample(tmp_path, monkeypatch):
    w = HopWriter(tmp_path)
    calls = {"n": 0}
    import hopgen.dataset.hopformat as hf
    real = hf.atomic_write_bytes

    def failing(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("killed mid-sample")
        real(path, data)
    monkeypatch.setattr(hf, "atomic_write_bytes", failing)
    z = np.zeros((8, 8), np.uint8)
    with pytest.raises(KeyboardInterrupt):
        w.write_sample("00000000", {"id": "00000000"}, np.zeros((8, 8, 3), np.uint8), z, z, z)
    assert not w.is_done("00000000")
    assert not any(n.startswith(".tmp-") for _, _, fs in os.walk(tmp_path) for n in fs)


KILL_SCRIPT = r"""
import sys, numpy as np
from hopgen.dataset.hopformat import HopWriter, sample_id
w = HopWriter(sys.argv[1])
rng = np.random.default_rng(0)
for i in range(100000):
    img = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    m = rng.integers(0, 2, (256, 256)).astype(np.uint8)
    w.write_sample(sample_id(i), {"id": sample_id(i), "n": i}, img, m, m, m)
    print(i, flush=True)
"""


def test_killed_writer_leaves_only_complete_samples(tmp_path):
    """SIGKILL a writing process at an arbitrary moment: every sample with an annotation is complete,
    and reopening removes the temporaries of the half-written one."""
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    for _ in range(3):
        proc.stdout.readline()
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.stem for p in (tmp_path / "anno").glob("*.json"))
    assert len(done) >= 3
    for sid in done:
        for kind in ("rgb", "hand_mask", "object_mask", "seg"):
            decode_png((tmp_path / kind / f"{sid}.png").read_bytes())
        assert json.loads((tmp_path / "anno" / f"{sid}.json").read_text())["id"] == sid
    HopWriter(tmp_path)  # resume: cleans leftovers
    assert not any(n.startswith(".tmp-") for _, _, fs in os.walk(tmp_path) for n in fs)
