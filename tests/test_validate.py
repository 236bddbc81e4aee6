import json
import shutil

import numpy as np
import pytest

from hopfixtures import make_toy_hop
from hopgen.dataset.hopformat import HopDataset
from hopgen.core.pngio import encode_png
from hopgen.dataset.validate import validate_dataset


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return make_toy_hop(tmp_path_factory.mktemp("toy") / "d", n=4, size=64)


def corrupt(clean, tmp_path, fn):
    root = tmp_path / "d"
    shutil.copytree(clean, root)
    fn(root)
    return [p.rule for p in validate_dataset(root)]


def edit_anno(root, fn, sid="00000001"):
    p = root / "anno" / f"{sid}.json"
    a = json.loads(p.read_text())
    fn(a)
    p.write_text(json.dumps(a))


def write_png(root, kind, arr, sid="00000001"):
    (root / kind / f"{sid}.png").write_bytes(encode_png(arr))


def test_clean_dataset_is_valid(clean):
    assert validate_dataset(clean) == []


def _shift_uv(a):
    a["hand"]["uv"][3][0] += 0.5


def _bad_rot(a):
    a["camera"]["world_to_camera"][0][0] = 2.0


def _flip_vis(a):
    v = a["hand"]["visibility"]
    v[5] = 3 if v[5] != 3 else 0


def _behind(a):
    for p in a["hand"]["xyz"]:
        p[2] = -p[2]


def _cat(a):
    a["object"]["category_id"] = (a["object"]["category_id"] + 1) % 4


def _drop(a):
    del a["hand"]["xyz"]


CASES = [
    ("reprojection", lambda r: edit_anno(r, _shift_uv)),
    ("rigid", lambda r: edit_anno(r, _bad_rot)),
    ("visibility", lambda r: edit_anno(r, _flip_vis)),
    ("depth", lambda r: edit_anno(r, _behind)),
    ("category", lambda r: edit_anno(r, _cat)),
    ("fields", lambda r: edit_anno(r, _drop)),
    ("id", lambda r: edit_anno(r, lambda a: a.update(id="00000009"))),
    ("decode", lambda r: (r / "rgb" / "00000001.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")),
    ("files", lambda r: (r / "seg" / "00000001.png").unlink()),
    ("hand_mask", lambda r: write_png(r, "hand_mask", np.full((64, 64), 128, np.uint8))),
    ("rgb", lambda r: write_png(r, "rgb", np.zeros((32, 64, 3), np.uint8))),
    ("seg", lambda r: write_png(r, "seg", np.full((64, 64), 40, np.uint8))),
    ("masks", lambda r: write_png(r, "hand_mask", np.zeros((64, 64), np.uint8))),
    ("masks", lambda r: write_png(r, "object_mask", np.zeros((64, 64), np.uint8))),
    ("dataset.json", lambda r: (r / "dataset.json").write_text(json.dumps({"format": "hop/0"}))),
]


@pytest.mark.parametrize("rule,fn", CASES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(CASES)])
def test_each_corruption_is_caught(clean, tmp_path, rule, fn):
    assert rule in corrupt(clean, tmp_path, fn)


def test_visibility_follows_seg(clean, tmp_path):
    """Painting object pixels over a visible joint must be reported unless the code says 'hidden by object'."""
    root = tmp_path / "d"
    shutil.copytree(clean, root)
    ds = HopDataset(root)
    a = ds.annotation("00000002")
    j = next(i for i, v in enumerate(a["hand"]["visibility"]) if v == 0)
    u, v = (int(np.floor(x + 0.5)) for x in a["hand"]["uv"][j])
    seg = ds.image("seg", "00000002").copy()
    obj = (ds.image("object_mask", "00000002") * 255).astype(np.uint8)
    seg[v, u] = 1
    obj[v, u] = 255
    write_png(root, "seg", seg, "00000002")
    write_png(root, "object_mask", obj, "00000002")
    problems = validate_dataset(root)
    assert [p.rule for p in problems] == ["visibility"] and f"[{j}]" in problems[0].message
    edit_anno(root, lambda an: an["hand"]["visibility"].__setitem__(j, 1), "00000002")
    assert validate_dataset(root) == []
