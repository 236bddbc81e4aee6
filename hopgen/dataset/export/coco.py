"""COCO keypoints export (pycocotools, mmpose and other COCO-style tools).

    OUT/images/<split>/<ID>.png
    OUT/annotations/hand_keypoints_<split>.json

One category, id 1 "hand", with the 21 native joint names as `keypoints` (the COCO-WholeBody hand
order) and the 20 bones as a 1-based `skeleton`. One image and one annotation per sample, ids
1-based in split order. `keypoints` is [x, y, v] * 21 in pixels (pixel centre at integer
coordinates): v = 2 visible, 1 hidden inside the image (by the object or the hand itself),
0 outside the image (then x = y = 0, as COCO writes unlabelled points); `num_keypoints` counts
v > 0. `bbox` [x, y, w, h] covers the amodal hand mask's pixels, `area` is its pixel count and
`segmentation` its uncompressed (column-major) RLE. hopgen's own values sit under the
annotation's "hopgen" key: id, side, xyz (metres, camera frame), K, uv (all 21), visibility codes,
object category (+ id), grasp type and phase. OKS sigmas for scoring: HAND_OKS_SIGMAS (those of
COCO-WholeBody's hand keypoints, which mmpose uses for its hand datasets).
"""

import json
import shutil

import numpy as np

from hopgen.core.skeleton import BONES, JOINT_NAMES, VIS_OUTSIDE, VIS_VISIBLE
from hopgen.dataset.export.samples import encode_png_bytes, finite

HAND_OKS_SIGMAS = (0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
                   0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031)
CATEGORY = {"id": 1, "name": "hand", "supercategory": "hand", "keypoints": list(JOINT_NAMES),
            "skeleton": [[a + 1, b + 1] for a, b in BONES]}


def entries(split):
    return [f"images/{split}", f"annotations/hand_keypoints_{split}.json"]


def rle(mask):
    """Uncompressed COCO RLE of a (H, W) bool mask: run lengths in column-major order, starting with 0s."""
    flat = np.asarray(mask, bool).flatten(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"counts": counts, "size": [int(mask.shape[0]), int(mask.shape[1])]}


def keypoints(uv, vis):
    """[x, y, v] * 21 and the number of labelled keypoints."""
    out = []
    for (x, y), code in zip(uv, vis):
        if code == VIS_OUTSIDE:
            out += [0.0, 0.0, 0]
        else:
            out += [round(float(x), 3), round(float(y), 3), 2 if code == VIS_VISIBLE else 1]
    return out, int(sum(1 for c in vis if c != VIS_OUTSIDE))


def annotation(n, sample):
    where = f"sample {sample.sid}"
    kp, num = keypoints(finite(sample.uv, f"{where}: hand.uv"), sample.vis)
    ys, xs = np.nonzero(sample.hand_mask)
    bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)] \
        if xs.size else [0.0, 0.0, 0.0, 0.0]
    obj, grasp = sample.anno.get("object", {}), sample.anno.get("grasp", {})
    return {"id": n, "image_id": n, "category_id": 1, "iscrowd": 0, "keypoints": kp, "num_keypoints": num,
            "bbox": bbox, "area": float(xs.size), "segmentation": rle(sample.hand_mask),
            "hopgen": {"id": sample.sid, "side": sample.side,
                       "xyz": finite(sample.xyz, f"{where}: hand.xyz").round(6).tolist(),
                       "K": finite(sample.K, f"{where}: camera.K").tolist(), "uv": sample.uv.round(4).tolist(),
                       "visibility": sample.vis.tolist(), "object_category": obj.get("category"),
                       "object_category_id": obj.get("category_id"), "grasp_type": grasp.get("type"),
                       "grasp_phase": grasp.get("phase")}}


def write(stage, split, samples, ds, **_):
    images, annos = [], []
    for sample in samples:
        n = len(images) + 1
        name = f"{sample.sid}.png"
        if sample.resized:
            stage.write(f"images/{split}/{name}", encode_png_bytes(sample.rgb))
        else:
            shutil.copyfile(sample.rgb_path, stage.file(f"images/{split}/{name}"))
        w, h = sample.size
        images.append({"id": n, "file_name": name, "width": w, "height": h, "hopgen_id": sample.sid})
        annos.append(annotation(n, sample))
    doc = {"info": {"description": f"hopgen HOP export, split {split}", "version": "1.0",
                    "hopgen_source": ds.root},
           "licenses": [], "images": images, "annotations": annos, "categories": [CATEGORY]}
    stage.write(f"annotations/hand_keypoints_{split}.json", json.dumps(doc, allow_nan=False).encode())
    return {"samples": len(images), "skipped": []}
