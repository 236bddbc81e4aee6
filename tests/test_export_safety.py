"""Exports validate every sample first, write nothing on failure, and never overwrite silently."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from hopfixtures import make_toy_hop
from hopgen.cli import main
from hopgen.core.pngio import encode_png
from hopgen.dataset.hopformat import HopDataset

FORMATS = ("rhd", "coco", "freihand", "webdataset")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_toy_hop(str(tmp_path_factory.mktemp("hop") / "d"), n=8, size=32)


@pytest.fixture
def hop(pristine, tmp_path):
    root = str(tmp_path / "d")
    shutil.copytree(pristine, root)
    return root


def _tree(path):
    if not os.path.exists(path):
        return None
    return sorted(os.path.relpath(os.path.join(r, f), path) for r, ds, fs in os.walk(path) for f in fs + ds)


def _refused(capsys, argv, *needles):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err
    return err


def _first_train_id(root):
    return HopDataset(root).split("train")[1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupt_sample_is_refused_by_name_and_nothing_is_written(hop, tmp_path, capsys, fmt):
    sid = _first_train_id(hop)
    with open(os.path.join(hop, "rgb", f"{sid}.png"), "r+b") as f:
        f.truncate(100)
    out = str(tmp_path / "out")
    _refused(capsys, ["export", hop, "--format", fmt, "--split", "train", "--out", out], sid, "decode", "nothing exported")
    assert not os.path.exists(out)


def test_nan_and_wrong_size_samples_are_refused(hop, tmp_path, capsys):
    ids = HopDataset(hop).split("train")
    path = os.path.join(hop, "anno", f"{ids[0]}.json")
    a = json.load(open(path))
    a["hand"]["xyz"][3][0] = float("nan")
    with open(path, "w") as f:
        json.dump(a, f)  # Python writes NaN: what a buggy writer would leave
    with open(os.path.join(hop, "seg", f"{ids[2]}.png"), "wb") as f:
        f.write(encode_png(__import__("numpy").zeros((16, 16), "uint8")))
    out = str(tmp_path / "out")
    err = _refused(capsys, ["export", hop, "--format", "coco", "--split", "train", "--out", out], ids[0], ids[2])
    assert "non-finite" in err and "2 of" in err
    assert not os.path.exists(out)


def test_a_failure_while_writing_leaves_the_output_as_it_was(hop, tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "out")
    assert main(["export", hop, "--format", "coco", "--split", "test", "--out", out]) == 0
    before = _tree(out)
    from hopgen.dataset.export import coco
    real = coco.annotation

    def failing(n, sample):
        if n == 3:
            raise OSError(28, "No space left on device")
        return real(n, sample)

    monkeypatch.setattr(coco, "annotation", failing)
    _refused(capsys, ["export", hop, "--format", "coco", "--split", "train", "--out", out], "No space left")
    assert _tree(out) == before   # no images/train, no staging folder, the test export untouched
    fresh = str(tmp_path / "fresh")
    _refused(capsys, ["export", hop, "--format", "coco", "--split", "train", "--out", fresh], "No space left")
    assert not os.path.exists(fresh)  # a folder the failed export created is not left behind


def test_existing_output_needs_force_and_foreign_files_are_never_replaced(hop, tmp_path, capsys):
    out = str(tmp_path / "out")
    argv = ["export", hop, "--format", "rhd", "--split", "train", "--out", out]
    assert main(argv) == 0
    anno = os.path.join(out, "training", "anno_training.pickle")
    first = os.path.getmtime(anno)
    _refused(capsys, argv, os.path.join(out, "training"), "--force")
    assert os.path.getmtime(anno) == first
    assert main(argv + ["--force", "--size", "64"]) == 0
    assert sorted(os.listdir(out)) == [".hopgen-export.json", "training"]
    from PIL import Image
    assert Image.open(os.path.join(out, "training", "color", "00000.png")).size == (64, 64)
    # a folder of the user's own with an export's name is not replaced, not even with --force
    mine = str(tmp_path / "mine")
    os.makedirs(os.path.join(mine, "evaluation"))
    open(os.path.join(mine, "evaluation", "notes.txt"), "w").write("mine")
    _refused(capsys, ["export", hop, "--format", "rhd", "--split", "test", "--out", mine, "--force"],
             "not written by hopgen export")
    assert _tree(mine) == ["evaluation", os.path.join("evaluation", "notes.txt")]


def test_a_killed_exports_staging_folder_is_removed_and_nothing_else(hop, tmp_path):
    out = str(tmp_path / "out")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = os.path.join(out, f".tmp-export-{int(dead.stdout)}-00000000")
    os.makedirs(os.path.join(stale, "images"))
    open(os.path.join(stale, ".hopgen-stage"), "w").close()
    users = os.path.join(out, ".tmp-export-notes")
    os.makedirs(users)
    assert main(["export", hop, "--format", "webdataset", "--split", "val", "--out", out]) == 0
    assert not os.path.exists(stale) and os.path.isdir(users)


def test_bad_targets_and_options_are_refused_before_work(hop, tmp_path, capsys):
    _refused(capsys, ["export", hop, "--format", "coco", "--out", hop], "HOP dataset")
    with open(os.path.join(hop, "splits", "val.txt"), "w") as f:
        f.write("")
    out = str(tmp_path / "o")
    _refused(capsys, ["export", hop, "--format", "coco", "--split", "val", "--out", out], "no samples")
    _refused(capsys, ["export", hop, "--format", "coco", "--size", "3x", "--out", out], "--size")
    assert not os.path.exists(out)
