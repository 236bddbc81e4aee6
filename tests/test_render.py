"""End-to-end rendering through both entry points (bpy module and Debian's Blender binary), with
validation, determinism across shard layouts, resume after a kill, and failure reporting."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import BLENDER_BIN
from hopgen.dataset.hopformat import HopDataset
from hopgen.dataset.validate import validate_dataset

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")

def hopgen(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", *args], capture_output=True, text=True, cwd=REPO)
    if check and r.returncode != 0:
        raise AssertionError(f"hopgen {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def bpy_dataset(tmp_path_factory):
    # Only tests marked bpy use this fixture: conftest skips them without bpy, except in CI.
    out = tmp_path_factory.mktemp("render") / "bpy"
    hopgen("render", "--config", TINY, "--out", str(out))
    return out


@pytest.mark.bpy
@pytest.mark.slow
def test_bpy_render_is_valid_hop(bpy_dataset):
    ds = HopDataset(bpy_dataset)
    assert len(ds) == 6
    assert validate_dataset(bpy_dataset) == []
    a = ds.annotation(ds.ids[0])
    assert a["render"]["engine"] == "CYCLES" and a["render"]["blender_version"].startswith("5.0")
    seg = ds.image("seg", ds.ids[0])
    assert (seg >= 3).sum() > 50, "the hand must be visible in the image"
    assert ds.image("hand_mask", ds.ids[0]).sum() >= (seg >= 3).sum()
    hopgen("index", str(bpy_dataset))
    splits = {s: ds.split(s) for s in ("train", "val", "test")}
    assert sum(map(len, splits.values())) == 6


@pytest.mark.blender_binary
@pytest.mark.bpy
@pytest.mark.slow
def test_blender_binary_shards_match_bpy(bpy_dataset, tmp_path):
    """Debian's Blender 3.4 renders two shards; together they hold the same samples with the same
    geometry annotations as the bpy 5.0 run of the whole dataset."""
    out = tmp_path / "bin"
    for shard in ("0/2", "1/2"):
        cmd = [BLENDER_BIN, "-b", "--factory-startup", "--python-exit-code", "1", "-P",
               str(REPO / "blender_scripts" / "render_hop.py"), "--", "--config", TINY, "--out", str(out), "--shard", shard]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert validate_dataset(out) == []
    a, b = HopDataset(bpy_dataset), HopDataset(out)
    assert a.ids == b.ids
    for sid in a.ids:
        aa, bb = a.annotation(sid), b.annotation(sid)
        assert bb["render"]["blender_version"].startswith("3.4")
        # Planned choices agree exactly across the two Blenders. Known gap: Debian's Blender runs its
        # own numpy build, and grasp placement search can accept a different attempt there, so the
        # hand pose (xyz/uv) is only reproducible within one Python/numpy environment (tested below).
        for sec, key in (("grasp", "type"), ("grasp", "phase"), ("object", "name"), ("subject", "id"), ("hand", "side")):
            assert aa[sec][key] == bb[sec][key]


@pytest.mark.bpy
@pytest.mark.slow
def test_two_workers_match_one(bpy_dataset, tmp_path):
    """--workers 2 (two bpy processes, one thread each, episodes split between them) writes the same
    annotations and segmentation as one worker with all threads: layout does not change samples."""
    out = tmp_path / "w2"
    r = hopgen("render", "--config", TINY, "--out", str(out), "--workers", "2")
    assert "rendered 6 samples" in r.stdout
    log = (out / "render.log").read_text()
    threads = max(1, (os.cpu_count() or 1) // 2)
    for k in (0, 1):
        assert f"hopgen worker {k}/2 of shard 0/1: 1 episodes, {threads} Cycles threads" in log
    a, b = HopDataset(bpy_dataset), HopDataset(out)
    assert a.ids == b.ids
    for sid in a.ids:
        assert a.annotation(sid) == b.annotation(sid)
        np.testing.assert_array_equal(a.image("seg", sid), b.image("seg", sid))
        np.testing.assert_array_equal(a.image("hand_mask", sid), b.image("hand_mask", sid))


@pytest.mark.bpy
@pytest.mark.slow
def test_resume_after_kill(bpy_dataset, tmp_path):
    """Kill a render after its first finished sample; the rerun completes it and matches a clean run."""
    out = tmp_path / "resume"
    proc = subprocess.Popen([sys.executable, "-m", "hopgen.render.worker", "--config", TINY, "--out", str(out)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline()
    while line and not line.startswith("HOPGEN_"):  # Blender's own "Saved: ..." lines
        line = proc.stdout.readline()
    assert line.startswith("HOPGEN_DONE"), line
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in (out / "anno").glob("*.json"))
    assert 1 <= len(done_before) < 6
    r = hopgen("render", "--config", TINY, "--out", str(out))
    assert "already there" in r.stdout
    assert validate_dataset(out) == []
    a, b = HopDataset(bpy_dataset), HopDataset(out)
    assert a.ids == b.ids
    for sid in a.ids:
        assert a.annotation(sid) == b.annotation(sid)  # same machine, same Blender: identical annotations
        np.testing.assert_array_equal(a.image("seg", sid), b.image("seg", sid))


def test_ungraspable_object_is_refused_before_rendering(tmp_path):
    """An object no hand can hold (5 m) fails when the manifest loads, naming the entry, before
    --out exists (per-sample failure reporting: tests/test_bad_inputs.py)."""
    (tmp_path / "huge.obj").write_text("v 0 0 0\nv 5 0 0\nv 0 5 0\nv 0 0 5\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    (tmp_path / "m.yaml").write_text(
        "objects:\n  - {name: huge, category: cubical, file: huge.obj, units: m}\n")
    r = hopgen("render", "--config", TINY, "--manifest", str(tmp_path / "m.yaml"), "--out", str(tmp_path / "o"),
               "--set", "dataset.num_samples=2", check=False)
    assert r.returncode == 1
    assert "objects[0] (huge).file" in r.stderr and "too large" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.bpy
def test_render_refuses_a_folder_of_another_config(tmp_path):
    out = tmp_path / "o"
    from hopgen.config import load_generation_config
    from hopgen.assets.manifest import load_manifest
    from hopgen.render.pipeline import prepare_output
    prepare_output(load_generation_config(TINY), load_manifest(), out)
    r = hopgen("render", "--config", TINY, "--out", str(out), "--set", "dataset.seed=99", check=False)
    assert r.returncode == 1 and "another config" in r.stderr
