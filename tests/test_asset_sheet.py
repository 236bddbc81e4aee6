"""Asset / grasp preview sheets: pure choices and layout, and a tiny real Cycles sheet (bpy module)."""

import numpy as np
import pytest

from hopgen.assets import sheet as sheet
from hopgen.core import camera as cam
from hopgen.hand import kinematics as kin
from hopgen.cli import main
from hopgen.core.pngio import read_png
from hopgen.core.skeleton import CATEGORIES


def test_parse_what_and_options():
    assert sheet.parse_what("grasps, objects") == ("objects", "grasps")
    assert sheet.parse_what(["hands"]) == ("hands",)
    for bad in ("", "objects,cats", ","):
        with pytest.raises(sheet.SheetError, match="--what"):
            sheet.parse_what(bad)
    with pytest.raises(sheet.SheetError, match="--size"):
        sheet.SheetOptions(size=4)
    with pytest.raises(sheet.SheetError, match="--limit"):
        sheet.SheetOptions(limit=0)


def test_cli_rejects_bad_options(capsys):
    assert main(["assets", "preview", "--what", "objects,cats"]) == 1
    assert "--what" in capsys.readouterr().err
    assert main(["assets", "preview", "--samples", "0"]) == 1
    assert "--samples" in capsys.readouterr().err


def test_demo_poses_within_limits_and_distinct():
    open_, fist = sheet.open_hand_angles(), sheet.fist_angles()
    assert kin.within_limits(open_) and kin.within_limits(fist)
    for f in range(1, 5):  # every long finger curls far more in the fist (sum of flexions > 3 rad)
        flex = list(kin.FLEX_DOFS[f])
        assert fist[flex].sum() > 3.0 > 1.0 > open_[flex].sum()


@pytest.mark.parametrize("direction", [(0, -1, 0.4), (1, 0.2, -0.5), (0, 0, 1)])
def test_frame_points_fills_and_centres(direction):
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(200, 3)) * [0.02, 0.05, 0.01] + [0.3, -0.1, 0.2]
    K, w2c = sheet.frame_points(pts, direction, (0, 0, 1), 120, 80, margin=0.1)
    uv = cam.project(K, cam.transform(w2c, pts))
    lo, hi = uv.min(0), uv.max(0)
    assert np.all(lo >= [0.1 * 120 - 0.51, 0.1 * 80 - 0.51]) and np.all(hi <= [0.9 * 120 + 0.51, 0.9 * 80 + 0.51])
    # One axis spans exactly the inner 80 %; the box is centred.
    assert max((hi - lo)[0] / 96, (hi - lo)[1] / 64) == pytest.approx(1.0, abs=1e-6)
    assert 0.5 * (lo + hi) == pytest.approx([59.5, 39.5], abs=1e-6)
    with pytest.raises(sheet.SheetError):
        sheet.frame_points(np.zeros((0, 3)), direction, (0, 0, 1), 10, 10)


def test_grasp_cases_cover_categories_types_and_are_deterministic():
    objects = [(f"c{i}", "cylindrical") for i in range(5)] + [("s0", "slender"), ("s1", "slender")]
    table = {n: {"large_diameter": 0.6, "medium_wrap": 0.3, "power_sphere": 0.1} for n, _ in objects}
    table["s0"] = table["s1"] = {"writing_tripod": 0.5, "small_diameter": 0.5}
    a = sheet.grasp_cases(objects, ["f01", "m01"], table, per_category=3, seed=5)
    assert a == sheet.grasp_cases(objects, ["f01", "m01"], table, per_category=3, seed=5)
    cyl = [c for c in a if c.category == "cylindrical"]
    assert [c.grasp_type for c in cyl] == ["large_diameter", "medium_wrap", "power_sphere"]
    assert len({c.object_name for c in cyl}) == 3
    sl = [c for c in a if c.category == "slender"]
    assert [c.grasp_type for c in sl] == ["small_diameter", "writing_tripod", "small_diameter"]
    assert [c.side for c in cyl] == ["right", "right", "left"]
    assert len({tuple(c.seed) for c in a}) == len(a)


def test_compose_boxes_hold_the_tiles():
    def tile(v, h=10, w=12):
        return np.full((h, w, 3), v, np.uint8)
    cells = [sheet.Cell([tile(10 * i), tile(10 * i + 5)], np.zeros((4, 30, 3), np.uint8)) for i in range(1, 6)]
    img, boxes = sheet.compose([sheet.Section(np.zeros((7, 500, 3), np.uint8), cells, columns=2),
                                sheet.Section(np.zeros((7, 5, 3), np.uint8), cells[:1], columns=3)], pad=2)
    assert len(boxes) == 2 and len(boxes[0]) == 5 and len(boxes[1]) == 1
    assert img.shape[1] == 2 * (2 * 12 + 2) + 3 * 2  # the wider header is cropped to the grid
    for sec_cells, sec_boxes in ((cells, boxes[0]), (cells[:1], boxes[1])):
        for cell, cell_boxes in zip(sec_cells, sec_boxes):
            for t, (y0, x0, y1, x1) in zip(cell.tiles, cell_boxes):
                assert np.array_equal(img[y0:y1, x0:x1], t)
    with pytest.raises(sheet.SheetError, match="tile of shape"):
        sheet.compose([sheet.Section(np.zeros((7, 5, 3), np.uint8), [sheet.Cell([tile(1), tile(1, 9)], cells[0].caption)], 1)])
    assert sheet.downscale(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), 2).shape == (2, 2, 3)


def _tile_ok(t, backdrop):
    """A rendered tile shows something: not uniform, and a good part of it differs from the backdrop."""
    assert t.std() > 8.0
    differs = np.abs(t.astype(int) - backdrop).max(-1) > 25
    assert 0.03 < differs.mean() < 0.97


@pytest.mark.bpy
@pytest.mark.slow
def test_tiny_real_sheet(tmp_path, capsys):
    from hopgen.blender.asset_sheet import render_sheet
    from hopgen.assets.manifest import load_manifest
    manifest = load_manifest(None)
    opts = sheet.SheetOptions(what="objects,hands,grasps", size=32, samples=2, denoise=False, limit=1)
    out = tmp_path / "sheet.png"
    r = render_sheet(manifest, str(out), opts, threads=2)
    img = read_png(str(out))
    assert img.shape[:2] == (r["height"], r["width"])
    # 1 object (cylindrical) + 1 hand section + 4 grasp categories; 3 / 3 / 2 tiles per cell.
    assert [len(sec) for sec in r["boxes"]] == [1, 1, 1, 1, 1, 1]
    assert [len(sec[0]) for sec in r["boxes"]] == [3, 3, 2, 2, 2, 2]
    backdrop = img[r["boxes"][0][0][0][0], r["boxes"][0][0][0][1]].astype(int)  # a tile corner
    assert 20 < backdrop.mean() < 200
    for sec in r["boxes"]:
        for cell in sec:
            for y0, x0, y1, x1 in cell:
                _tile_ok(img[y0:y1, x0:x1, :3], backdrop)
    # Every category got a grasp within the 2 mm bar, recorded for the caption.
    assert sorted(g["category"] for g in r["grasps"]) == sorted(CATEGORIES)
    for g in r["grasps"]:
        assert "error" not in g, g
        assert g["max_penetration_mm"] <= 2.0 and len(g["fingers"]) >= 2
    # The command writes the same kind of sheet.
    assert main(["assets", "preview", "--what", "hands", "--limit", "1", "--size", "24", "--samples", "1",
                 "--no-denoise", "--threads", "2", "--out", str(tmp_path / "cli.png")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert read_png(str(tmp_path / "cli.png")).shape[1] == 3 * 24 + 4 * sheet.PAD
