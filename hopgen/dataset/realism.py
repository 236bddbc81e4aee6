"""Realism measurements of rendered HOP samples (pure) and the realism sheet (`hopgen preview
--realism`): what issue 15 asks a photograph-like sample to respect, measured from the files.

Per sample:
- arm_end_in_frame: the visible arm (seg label 2: forearm, sleeve, body) covers at least
  MIN_ARM_PIXELS pixels and none of them touches the image border, so its end is inside the frame
  (a forearm that stops in the air; a whole body inside the frame counts too).
- floating_distractors: distractors whose lowest point is not on the support top (> 1 mm off), or
  that stand where there is no support.
- camera_behind_occluder: the camera centre (from world_to_camera) lies below the support top,
  or the hand is in view (amodal hand mask) but not one of its pixels is seen.
- foreground_occluder: the placement recorded a distractor between lens and hand (sampled case).
"""

import json

import numpy as np

from hopgen.core.camera import invert_rigid
from hopgen.core.skeleton import HAND_LABELS, SEG_ARM
from hopgen.core.shapes import rest_height

MIN_ARM_PIXELS = 30
REST_TOL_M = 1e-3


def arm_end_in_frame(seg):
    """True when the visible arm (label 2) has >= MIN_ARM_PIXELS pixels and none on the border."""
    arm = np.asarray(seg) == SEG_ARM
    if arm.sum() < MIN_ARM_PIXELS:
        return False
    border = np.concatenate([arm[0], arm[-1], arm[:, 0], arm[:, -1]])
    return not bool(border.any())


def floating_distractors(scene):
    """Number of distractors of an annotation's scene section that do not rest on its support."""
    support = scene.get("support")
    out = 0
    for d in scene.get("distractor_objects", []):
        if support is None:
            out += 1
            continue
        bottom = d["location"][2] - rest_height(d["shape"], d["size_m"])
        out += int(abs(bottom - support["top_z"]) > REST_TOL_M)
    return out


def camera_behind_occluder(anno, seg, hand_mask):
    """True when the camera sits below the support top or sees none of the hand in its view."""
    support = (anno.get("scene") or {}).get("support")
    eye = invert_rigid(np.asarray(anno["camera"]["world_to_camera"], np.float64))[:3, 3]
    if support is not None and eye[2] < support["top_z"]:
        return True
    return bool(np.asarray(hand_mask).any() and not np.isin(seg, HAND_LABELS).any())


def measure_sample(anno, seg, hand_mask):
    placement = anno["camera"].get("placement") or {}
    return {"id": anno["id"], "arm_end_in_frame": arm_end_in_frame(seg),
            "floating_distractors": floating_distractors(anno.get("scene") or {}),
            "distractors": len((anno.get("scene") or {}).get("distractor_objects", [])),
            "camera_behind_occluder": camera_behind_occluder(anno, seg, hand_mask),
            "foreground_occluder": bool(placement.get("foreground_occluder")),
            "camera_breaks": list(placement.get("breaks", [])),
            "background": (anno.get("scene") or {}).get("background"),
            "support_material": ((anno.get("scene") or {}).get("support") or {}).get("material")}


def measure_dataset(ds, ids):
    """Per-sample measurements and their summary for samples `ids` of HopDataset `ds`."""
    rows = []
    for sid in ids:
        with ds.reading(sid):
            rows.append(measure_sample(ds.annotation(sid), ds.image("seg", sid), ds.image("hand_mask", sid)))
    n = max(len(rows), 1)
    summary = {"samples": len(rows),
               "arm_end_in_frame": sum(r["arm_end_in_frame"] for r in rows),
               "arm_end_in_frame_share": sum(r["arm_end_in_frame"] for r in rows) / n,
               "distractors": sum(r["distractors"] for r in rows),
               "floating_distractors": sum(r["floating_distractors"] for r in rows),
               "camera_behind_occluder": sum(r["camera_behind_occluder"] for r in rows),
               "foreground_occluder": sum(r["foreground_occluder"] for r in rows),
               "backgrounds": _counts(r["background"] for r in rows),
               "support_materials": _counts(r["support_material"] for r in rows)}
    return summary, rows


def _counts(values):
    out = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items()))


def realism_sheet(roots, out_png, out_json=None, num=None, tile=320, columns=8, levels=256):
    """A grid of the beauty images of the first `num` samples of each dataset in `roots` (tile px
    each; `levels` per channel, fewer make a smaller PNG) and, with out_json, the measurements per
    dataset. Returns the summaries."""
    if not 2 <= levels <= 256:
        raise ValueError(f"--levels {levels}: must be in [2, 256]")
    from hopgen.core.atomic import atomic_write_bytes, atomic_write_text
    from hopgen.core.pngio import encode_png
    from hopgen.dataset.hopformat import HopDataset
    from hopgen.dataset.preview import _resize_nearest
    tiles, report = [], {}
    for root in roots:
        ds = HopDataset(root)
        ids = list(ds.ids)[:num] if num else list(ds.ids)
        if not ids:
            raise ValueError(f"{root}: no samples for the realism sheet")
        summary, rows = measure_dataset(ds, ids)
        report[str(root)] = {"summary": summary, "samples": rows}
        for sid in ids:
            tiles.append(_resize_nearest(ds.image("rgb", sid)[..., :3], tile))
    blank = np.full((tile, tile, 3), 255, np.uint8)
    while len(tiles) % columns:
        tiles.append(blank)
    grid = np.concatenate([np.concatenate(tiles[r:r + columns], axis=1) for r in range(0, len(tiles), columns)], axis=0)
    if levels < 256:
        step = 255.0 / (levels - 1)
        grid = (np.rint(np.rint(grid / step) * step)).clip(0, 255).astype(np.uint8)
    atomic_write_bytes(out_png, encode_png(grid, compress_level=9))
    if out_json:
        atomic_write_text(out_json, json.dumps(report, indent=1) + "\n")
    return {k: v["summary"] for k, v in report.items()}
