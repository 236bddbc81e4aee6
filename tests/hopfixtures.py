"""Hand-made HOP v1 datasets for tests that must not depend on Blender.

`make_toy_hop` draws a stick-figure hand (thick limbs for the amodal mask, labelled parts for seg)
and an elliptic 'object' that occludes part of it, with exactly consistent annotations (uv = K xyz,
visibility from seg), so the trainer and `hopgen validate` can run on it. Not photo-real: rendered
data comes from `hopgen render`.
"""

from pathlib import Path

import numpy as np

from hopgen import __version__
from hopgen.core import camera, skeleton
from hopgen.dataset.hopformat import HopWriter, sample_id
from hopgen.dataset.visibility import compute_visibility

# A flat open right hand in its own frame (metres): wrist at origin, fingers along +y.
_BASE = np.array([
    [0, 0, 0],
    [-0.025, 0.02, 0], [-0.045, 0.045, 0], [-0.06, 0.07, 0], [-0.07, 0.09, 0],
    [-0.02, 0.09, 0], [-0.022, 0.125, 0], [-0.023, 0.148, 0], [-0.024, 0.168, 0],
    [0.0, 0.092, 0], [0.0, 0.132, 0], [0.0, 0.158, 0], [0.0, 0.18, 0],
    [0.018, 0.088, 0], [0.02, 0.124, 0], [0.021, 0.148, 0], [0.022, 0.166, 0],
    [0.034, 0.08, 0], [0.038, 0.106, 0], [0.04, 0.122, 0], [0.041, 0.138, 0],
])


def _segment_distance(px, a, b):
    ab = b - a
    t = np.clip(((px - a) @ ab) / max(ab @ ab, 1e-12), 0.0, 1.0)
    return np.linalg.norm(px - (a + t[..., None] * ab), axis=-1)


def _toy_sample(rng, size, category_id):
    side = "right" if rng.random() < 0.5 else "left"
    xyz = _BASE.copy()
    curl = rng.uniform(0.0, 0.6)
    xyz[:, 2] += curl * np.maximum(xyz[:, 1] - 0.09, 0.0)  # fingers bend toward the camera-ish
    if side == "left":
        xyz[:, 0] *= -1
    rot = camera.rotation_matrix(rng.normal(size=3), rng.uniform(0, 0.5)) @ camera.rotation_matrix([0, 0, 1], rng.uniform(-np.pi, np.pi))
    xyz = xyz @ rot.T - xyz[9] @ rot.T + np.array([rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02), rng.uniform(0.38, 0.45)])
    K = camera.intrinsics_from_lens(rng.uniform(30, 40), 36.0, size, size)
    uv = camera.project(K, xyz)
    yy, xx = np.mgrid[0:size, 0:size]
    pix = np.stack([xx, yy], -1).astype(np.float64)
    thick = 0.009 * K[0, 0] / xyz[:, 2].mean()
    seg = np.zeros((size, size), np.uint8)
    hand = np.zeros((size, size), bool)
    palm_poly = uv[[0, 1, 5, 9, 13, 17]]
    palm_d = np.min([_segment_distance(pix, palm_poly[i], palm_poly[(i + 1) % 6]) for i in range(6)], axis=0)
    centre = palm_poly.mean(0)
    palm = palm_d < 2.5 * thick
    palm |= np.linalg.norm(pix - centre, axis=-1) < 0.8 * np.linalg.norm(palm_poly - centre, axis=-1).min()
    seg[palm] = skeleton.SEG_PALM
    hand |= palm
    for f in range(5):
        chain = [1 + 4 * f + k for k in range(4)]
        for s in range(3):
            d = _segment_distance(pix, uv[chain[s]], uv[chain[s + 1]])
            part = d < thick * (1.0 - 0.1 * s)
            seg[part & (seg == 0)] = skeleton.seg_phalanx(f, s)
            hand |= part
    # The 'object': an ellipse over the middle of the fingers.
    oc = uv[[6, 10, 14]].mean(0) + rng.normal(scale=size * 0.03, size=2)
    ax = np.array([rng.uniform(0.08, 0.16), rng.uniform(0.05, 0.1)]) * size
    obj = (((pix - oc) / ax) ** 2).sum(-1) < 1.0
    seg[obj] = skeleton.SEG_OBJECT
    rgb = np.empty((size, size, 3), np.uint8)
    rgb[:] = rng.integers(30, 200, size=3)
    rgb[hand] = (210, 160, 130)
    rgb[obj] = rng.integers(0, 255, size=3)
    rgb = np.clip(rgb.astype(np.int16) + rng.integers(-12, 13, size=rgb.shape), 0, 255).astype(np.uint8)
    vis = compute_visibility(uv, seg)
    obj_to_cam = np.eye(4)
    obj_to_cam[:3, 3] = xyz[10] + [0, 0, 0.02]
    anno = {
        "camera": {"K": K.tolist(), "world_to_camera": np.eye(4).tolist(), "width": size, "height": size},
        "hand": {"side": side, "xyz": xyz.tolist(), "uv": uv.tolist(), "visibility": vis.tolist(),
                 "joint_angles": {}, "shape": {}},
        "object": {"name": f"toy_{skeleton.CATEGORIES[category_id]}", "category": skeleton.CATEGORIES[category_id],
                   "category_id": category_id, "source": "toy", "object_to_camera": obj_to_cam.tolist(),
                   "visible_fraction": 1.0},
        "grasp": {"type": "toy", "phase": "hold", "frame": 0, "contacts": [], "max_penetration_mm": 0.0},
        "subject": {"id": "toy", "sex": "female", "skin_tone": 3, "hand_length_mm": 180.0, "avatar": "toy"},
        "scene": {"background": "flat", "lights": [], "distractors": []},
        "render": {"engine": "numpy-toy", "device": "CPU", "samples": 0, "denoise": False,
                   "blender_version": None, "generator_version": __version__, "config_digest": "toy"},
    }
    return anno, rgb, hand, obj, seg


def make_toy_hop(root, n=16, size=128, seed=0):
    """Write `n` toy samples (categories cycling 0..3) into HOP folder `root` with splits; returns root."""
    writer = HopWriter(root)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        anno, rgb, hand, obj, seg = _toy_sample(rng, size, i % 4)
        sid = sample_id(i)
        anno = dict(id=sid, seed=[seed, i], format="hop/1", **anno)
        writer.write_sample(sid, anno, rgb, hand, obj, seg)
    writer.write_dataset_json({
        "generator_version": __version__, "config": {"toy": True}, "manifest_digest": "toy",
        "joint_names": list(skeleton.JOINT_NAMES), "bones": [list(b) for b in skeleton.BONES],
        "categories": list(skeleton.CATEGORIES), "image_size": [size, size], "num_samples": n,
    })
    ids = [sample_id(i) for i in range(n)]
    import os
    os.makedirs(os.path.join(root, "splits"), exist_ok=True)
    n_test = max(1, n // 4)
    n_val = max(1, n // 8)
    for name, part in (("train", ids[: n - n_test - n_val]), ("val", ids[n - n_test - n_val: n - n_test]), ("test", ids[n - n_test:])):
        with open(os.path.join(root, "splits", f"{name}.txt"), "w") as f:
            f.write("".join(s + "\n" for s in part))
    return root


TINY_CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "hop_tiny.yaml")


def two_sided_seed(sets, manifest, distinct_avatars=False):
    """A root seed whose first two episodes (of configs/hop_tiny.yaml + `sets`) use both hands
    (and, with distinct_avatars, two different avatars)."""
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import plan_episode
    for seed in range(1, 200):
        cfg = load_generation_config(TINY_CONFIG, list(sets) + [f"dataset.seed={seed}"])
        specs = [plan_episode(cfg, manifest, e) for e in (0, 1)]
        if {s.side for s in specs} == {"left", "right"} and (
                not distinct_avatars or len({s.avatar for s in specs}) == 2):
            return seed
    raise AssertionError("no seed gives both sides")


def render_two_sided(tmp_path, manifest_path, size, distinct_avatars=False):
    """Render 2 tiny samples (one per hand side) with `hopgen render` and `manifest_path`; assert the
    run succeeds and `hopgen validate` finds no problem; return the HopDataset."""
    import subprocess
    import sys
    from hopgen.dataset.hopformat import HopDataset
    from hopgen.assets.manifest import load_manifest
    from hopgen.dataset.validate import validate_dataset
    sets = ["dataset.num_samples=2", "dataset.frames_per_episode=1", f"dataset.width={size}",
            f"dataset.height={size}", "dataset.test_fraction=0.0"]
    seed = two_sided_seed(sets, load_manifest(manifest_path), distinct_avatars)
    out = Path(tmp_path) / "out"
    args = ["render", "--config", TINY_CONFIG, "--manifest", str(manifest_path), "--out", str(out)]
    for s in sets + [f"dataset.seed={seed}"]:
        args += ["--set", s]
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", *args], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert validate_dataset(out) == []
    return HopDataset(out)


def render_with_blender_binary(blender, tmp_path, manifest_path, size=48):
    """Render one tiny sample of configs/hop_tiny.yaml with `manifest_path` through the farm entry
    point (`blender -b -P blender_scripts/render_hop.py`); assert it validates; return the folder."""
    import subprocess
    from hopgen.dataset.validate import validate_dataset
    repo = Path(__file__).resolve().parents[1]
    out = Path(tmp_path) / "out"
    cmd = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P",
           str(repo / "blender_scripts" / "render_hop.py"), "--", "--config", TINY_CONFIG,
           "--manifest", str(manifest_path), "--out", str(out), "--set", "dataset.num_samples=1",
           "--set", "dataset.frames_per_episode=1", "--set", f"dataset.width={size}", "--set", f"dataset.height={size}"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert validate_dataset(out) == []
    return out


def add_toy_depth(root):
    """Give every sample of toy HOP folder `root` a depth/ID.png (uint16 mm: a tilted plane at the
    hand's distance, 0 = no surface in the top-left corner); returns {id: depth array}."""
    import json
    import os

    from hopgen.core.atomic import atomic_write_bytes
    from hopgen.core.pngio import encode_png
    out = {}
    for name in sorted(os.listdir(os.path.join(root, "anno"))):
        sid = name[:-5]
        with open(os.path.join(root, "anno", name)) as f:
            anno = json.load(f)
        h, w = anno["camera"]["height"], anno["camera"]["width"]
        z_mm = 1000.0 * float(np.mean(np.asarray(anno["hand"]["xyz"])[:, 2]))
        yy, xx = np.mgrid[0:h, 0:w]
        depth = np.round(z_mm + 3.0 * xx + 1.5 * yy).astype(np.uint16)
        depth[: h // 8, : w // 8] = 0
        atomic_write_bytes(os.path.join(root, "depth", f"{sid}.png"), encode_png(depth))
        out[sid] = depth
    return out
