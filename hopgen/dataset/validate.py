"""`hopgen validate`: check every HOP v1 contract rule that can be checked from the files.

Per sample: the annotation's fields and shapes, K and rigid transforms, reprojection (uv == K xyz),
visibility codes (consistent with seg and the image bounds), decodable images of the right size,
binary masks, seg labels in range, visible hand/object pixels inside their amodal masks.
"""

import json
import os
from dataclasses import dataclass

import numpy as np

from hopgen import FORMAT
from hopgen.core.camera import is_rigid, project
from hopgen.dataset.hopformat import HopDataset, HopFormatError, sample_path
from hopgen.core.skeleton import (CATEGORIES, HAND_LABELS, NUM_JOINTS, NUM_SEG_LABELS, SEG_BACKGROUND, SEG_OBJECT,
                                  VIS_SURROUNDINGS)
from hopgen.dataset.visibility import HAND_PIXEL_RADIUS_PX, compute_visibility, joint_pixels, visible_without_hand

VIS_CODES = (0, 1, 2, 3, 4)

REPROJECTION_TOL_PX = 0.05


@dataclass
class Problem:
    sample: str
    rule: str
    message: str

    def __str__(self):
        return f"{self.sample}: [{self.rule}] {self.message}"


def _arr(value, shape, name):
    a = np.asarray(value, dtype=np.float64)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")
    return a


def check_annotation(sid, anno):
    """Problems of the annotation alone (no images). Returns (problems, parsed or None)."""
    out = []
    if not isinstance(anno, dict):
        return [Problem(sid, "fields", f"anno/{sid}.json is {type(anno).__name__}, not a JSON object")], None
    try:
        if anno.get("id") != sid:
            out.append(Problem(sid, "id", f"annotation id {anno.get('id')!r} != file name"))
        if anno.get("format") != FORMAT:
            out.append(Problem(sid, "format", f"format {anno.get('format')!r} != {FORMAT!r}"))
        cam, hand, obj = anno["camera"], anno["hand"], anno["object"]
        for sec in ("grasp", "subject", "scene", "render"):
            if not isinstance(anno.get(sec), dict):
                out.append(Problem(sid, "fields", f"missing section {sec!r}"))
        K = _arr(cam["K"], (3, 3), "camera.K")
        w, h = int(cam["width"]), int(cam["height"])
        if not (K[0, 0] > 0 and K[1, 1] > 0 and abs(K[0, 1]) < 1e-9 and np.allclose(K[2], [0, 0, 1]) and K[1, 0] == 0):
            out.append(Problem(sid, "K", "camera.K is not a pinhole matrix [[fx,0,cx],[0,fy,cy],[0,0,1]]"))
        if not is_rigid(cam["world_to_camera"]):
            out.append(Problem(sid, "rigid", "camera.world_to_camera is not a rigid transform"))
        if not is_rigid(obj["object_to_camera"]):
            out.append(Problem(sid, "rigid", "object.object_to_camera is not a rigid transform"))
        xyz = _arr(hand["xyz"], (NUM_JOINTS, 3), "hand.xyz")
        uv = _arr(hand["uv"], (NUM_JOINTS, 2), "hand.uv")
        vis = np.asarray(hand["visibility"])
        if vis.shape != (NUM_JOINTS,) or not np.all(np.isin(vis, VIS_CODES)):
            out.append(Problem(sid, "visibility", "hand.visibility must be 21 codes in 0..4"))
        if hand.get("side") not in ("left", "right"):
            out.append(Problem(sid, "side", f"hand.side {hand.get('side')!r} is not left/right"))
        if np.any(xyz[:, 2] <= 0):
            out.append(Problem(sid, "depth", "some joints are behind the camera (z <= 0)"))
        else:
            err = np.abs(project(K, xyz) - uv).max()
            if err > REPROJECTION_TOL_PX:
                out.append(Problem(sid, "reprojection", f"uv differs from K*xyz by up to {err:.3f} px"))
        if obj.get("category") not in CATEGORIES or CATEGORIES.index(obj["category"]) != obj.get("category_id"):
            out.append(Problem(sid, "category", f"object category {obj.get('category')!r} / id {obj.get('category_id')!r} inconsistent"))
        vf = obj.get("visible_fraction")
        if not isinstance(vf, (int, float)) or not 0 <= vf <= 1:
            out.append(Problem(sid, "object", f"object.visible_fraction {vf!r} not in [0, 1]"))
        return out, {"K": K, "w": w, "h": h, "uv": uv, "vis": vis, "xyz": xyz}
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        out.append(Problem(sid, "fields", f"anno/{sid}.json: bad or missing field: {e}"))
        return out, None


def check_images(ds, sid, parsed):
    out = []
    imgs = {}
    for kind in ("rgb", "hand_mask", "object_mask", "seg") + (("depth",) if ds.has("depth", sid) else ()):
        path = sample_path(ds.root, kind, sid)
        if not os.path.exists(path):
            out.append(Problem(sid, "files", f"{kind}/{sid}.png missing"))
            continue
        try:
            from hopgen.core.pngio import read_png
            imgs[kind] = read_png(path) if kind != "rgb" else ds.image("rgb", sid, check_size=False)
        except Exception as e:  # any decoder error is a corrupt file
            out.append(Problem(sid, "decode", f"{kind}/{sid}.png does not decode: {e}"))
    if out or parsed is None:
        return out
    h, w = parsed["h"], parsed["w"]
    rgb = imgs["rgb"]
    if rgb.shape != (h, w, 3) or rgb.dtype != np.uint8:
        out.append(Problem(sid, "rgb", f"rgb/{sid}.png is {rgb.shape} {rgb.dtype}, expected ({h}, {w}, 3) uint8"))
    for kind in ("hand_mask", "object_mask"):
        m = imgs[kind]
        if m.shape != (h, w):
            out.append(Problem(sid, kind, f"{kind}/{sid}.png is {m.shape}, expected ({h}, {w})"))
        elif not np.all((m == 0) | (m == 255)):
            out.append(Problem(sid, kind, f"{kind}/{sid}.png has values other than 0/255"))
    seg = imgs["seg"]
    if seg.shape != (h, w) or seg.dtype != np.uint8:
        out.append(Problem(sid, "seg", f"seg/{sid}.png is {seg.shape} {seg.dtype}, expected ({h}, {w}) uint8"))
        return out
    if seg.max() >= NUM_SEG_LABELS:
        out.append(Problem(sid, "seg", f"seg/{sid}.png has label {seg.max()} >= {NUM_SEG_LABELS}"))
    if "depth" in imgs and (imgs["depth"].shape != (h, w) or imgs["depth"].dtype != np.uint16):
        out.append(Problem(sid, "depth", f"depth/{sid}.png must be (H,W) uint16 millimetres"))
    if out:
        return out
    hand_vis = np.isin(seg, HAND_LABELS)
    if np.any(hand_vis & (imgs["hand_mask"] == 0)):
        n = int(np.sum(hand_vis & (imgs["hand_mask"] == 0)))
        out.append(Problem(sid, "masks", f"{n} visible hand pixels in seg lie outside the amodal hand mask"))
    obj_vis = seg == SEG_OBJECT
    if np.any(obj_vis & (imgs["object_mask"] == 0)):
        n = int(np.sum(obj_vis & (imgs["object_mask"] == 0)))
        out.append(Problem(sid, "masks", f"{n} visible object pixels in seg lie outside the amodal object mask"))
    expected = compute_visibility(parsed["uv"], seg)
    vis = parsed["vis"]
    # seg PNGs write the surroundings as background: code 4 is consistent wherever seg shows 0.
    px = np.clip(joint_pixels(parsed["uv"]), 0, [w - 1, h - 1])
    behind_surroundings = (vis == VIS_SURROUNDINGS) & (expected == 0) & (seg[px[:, 1], px[:, 0]] == SEG_BACKGROUND)
    bad = np.nonzero((expected != vis) & ~behind_surroundings)[0]
    if bad.size:
        out.append(Problem(sid, "visibility", f"joints {bad.tolist()} have visibility {vis[bad].tolist()}, "
                                              f"seg/bounds say {expected[bad].tolist()}"))
    hidden = visible_without_hand(parsed["uv"], vis, seg)
    if hidden:
        out.append(Problem(sid, "visibility", f"joints {hidden} are marked visible but no hand pixel lies within "
                                              f"{HAND_PIXEL_RADIUS_PX} px of them (hidden by the surroundings?)"))
    return out


def dataset_level_problems(ds):
    """Counts against dataset.json, files in anno/ that are not samples, and the split files."""
    out = []
    n = ds.meta.get("num_samples")
    if isinstance(n, int):
        beyond = [sid for sid in ds.ids if int(sid) >= n]
        if beyond:
            out.append(Problem("dataset", "samples", f"{len(beyond)} samples (first {beyond[0]}) lie beyond "
                                                     f"dataset.json's num_samples {n}"))
        elif len(ds.ids) < n:
            out.append(Problem("dataset", "samples", f"{len(ds.ids)} of the {n} samples dataset.json promises "
                                                     "exist (an unfinished or partly failed render)"))
    for name in ds.stray:
        out.append(Problem("dataset", "files", f"anno/{name} is not a sample annotation (expected NNNNNNNN.json)"))
    for path, msg in ds.split_problems():
        out.append(Problem("dataset", "splits", f"{os.path.relpath(path, ds.root)}: {msg}"))
    return out


def validate_dataset(root, ids=None, images=True, progress=None):
    """All problems found in dataset `root` (empty list: valid)."""
    problems = []
    try:
        ds = HopDataset(root)
    except (HopFormatError, json.JSONDecodeError) as e:
        return [Problem("dataset", "dataset.json", str(e))]
    for key in ("generator_version", "joint_names", "categories", "image_size"):
        if key not in ds.meta:
            problems.append(Problem("dataset", "dataset.json", f"missing key {key!r}"))
    if not ds.ids:
        problems.append(Problem("dataset", "samples", "no samples (anno/ is empty)"))
    problems += dataset_level_problems(ds)
    digest = ds.meta.get("config_digest")
    for sid in ids or ds.ids:
        try:
            anno = ds.annotation(sid)
        except HopFormatError as e:
            problems.append(Problem(sid, "decode", str(e)))
            continue
        found, parsed = check_annotation(sid, anno)
        problems += found
        if parsed is not None and digest is not None:
            mine = (anno.get("render") or {}).get("config_digest") if isinstance(anno.get("render"), dict) else None
            if mine != digest:
                problems.append(Problem(sid, "config", f"anno/{sid}.json was made with config {mine}, "
                                                       f"dataset.json says {digest} (datasets mixed?)"))
        if images:
            problems += check_images(ds, sid, parsed)
        if progress:
            progress()
    return problems
