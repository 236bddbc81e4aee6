"""Cycles settings vs look: beauty renders of a few HOP samples under several settings, their CPU cost
and their difference from a high-quality reference, and a sheet of hand crops side by side.

    python -m benchmarks.render_settings [--samples 0 13 26] [--out benchmarks/results/render_settings.json]
                                         [--sheet benchmarks/results/render_settings_sheet.png]

Runs in one bpy process. Each planned sample (index into the plan of configs/hop.yaml) is built and
posed exactly as the pipeline does (EpisodeRenderer.build_scene / prepare_sample, photo backplate and
depth of field included), then rendered once per variant of VARIANTS (the camera effects are left
out: their noise would hide the renderer's). For each render: process CPU seconds of the render
(all Cycles threads; for the reference, with the scene sync) and, against the reference variant, the mean absolute 8-bit error and PSNR over
the whole image and over a 128x128 crop centred on the hand. The sheet has one row per sample and
one column per variant in VARIANTS order, each crop shown at 2x (nearest), so per-pixel noise is
visible. The machine may be shared: CPU seconds are comparable across load, wall times are not.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "configs", "hop.yaml")
CROP = 128

# name -> configure_cycles arguments (the rest as configs/hop.yaml). The first is the reference.
VARIANTS = (
    ("reference_64spp_a0.01_accurate_8b", dict(samples=64, adaptive_threshold=0.01, max_bounces=8,
                                                 denoise_prefilter="ACCURATE")),
    ("hop_16spp_a0.05_fast_4b", dict(samples=16, adaptive_threshold=0.05, max_bounces=4)),
    ("16spp_2bounces", dict(samples=16, adaptive_threshold=0.05, max_bounces=2)),
    ("8spp_4bounces", dict(samples=8, adaptive_threshold=0.05, max_bounces=4)),
    ("8spp_2bounces", dict(samples=8, adaptive_threshold=0.05, max_bounces=2)),
)


def _psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def _crop_box(uv, width, height):
    cx, cy = np.mean(np.asarray(uv), axis=0)
    x0 = int(np.clip(round(cx) - CROP // 2, 0, width - CROP))
    y0 = int(np.clip(round(cy) - CROP // 2, 0, height - CROP))
    return y0, x0


def measure(indices, threads=2, workdir=None):
    """Render every sample of `indices` under every variant; returns (report, sheet (H,W,3) uint8)."""
    import bpy
    from hopgen.assets.manifest import load_manifest
    from hopgen.blender import compat, scene as hscene
    from hopgen.blender.passes import read_rgb_png, render_rgb
    from hopgen.blender.render_episode import EpisodeRenderer
    from hopgen.config import load_generation_config
    from hopgen.core import camera as cam
    from hopgen.episode.plan import plan_episode, samples_per_episode
    from hopgen.render.pipeline import prepare_output
    cfg = load_generation_config(CONFIG, [])
    man = load_manifest(None)
    W, H = cfg.dataset.width, cfg.dataset.height
    workdir = workdir or tempfile.mkdtemp(prefix="hopgen_settings_")
    renderer = EpisodeRenderer(cfg, man, prepare_output(cfg, man, os.path.join(workdir, "out")), threads=threads)
    per = samples_per_episode(cfg)
    rows, results = [], []
    built = {}
    for index in indices:
        e = int(index) // per
        spec = plan_episode(cfg, man, e)
        if e not in built:
            built = {e: renderer.build_scene(spec)}
        scene_data = built[e]
        sample = next(s for s in spec.samples if s.index == int(index))
        state, K, w2c = renderer.prepare_sample(spec, scene_data, sample)
        uv = cam.project(K, cam.transform(w2c, state.joints))
        y0, x0 = _crop_box(uv, W, H)
        scene = bpy.context.scene
        crops, ref = [], None
        for name, kw in VARIANTS:
            hscene.configure_cycles(scene, denoise=cfg.render.denoise, threads=threads, device=cfg.render.device,
                                    view_transform="Filmic" if cfg.render.view_transform == "filmic" else "Standard",
                                    **kw)
            scene.cycles.seed = int(sample.index)
            path = os.path.join(workdir, f"{index}_{name}.png")
            if ref is not None:  # once untimed: a settings change makes Cycles sync the whole scene again,
                render_rgb(scene, path)  # which a worker pays once per episode (the reference is not timed)
            t0, c0 = time.perf_counter(), time.process_time()
            render_rgb(scene, path)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            img = read_rgb_png(path, W, H)
            crop = img[y0:y0 + CROP, x0:x0 + CROP]
            if ref is None:
                ref, ref_crop = img, crop
            results.append({"sample": int(index), "variant": name, "settings": kw, "cpu_s": cpu, "wall_s": wall,
                            "mean_abs_error": float(np.mean(np.abs(img.astype(int) - ref.astype(int)))),
                            "psnr_db": _psnr(img, ref), "crop_xy": [x0, y0],
                            "crop_mean_abs_error": float(np.mean(np.abs(crop.astype(int) - ref_crop.astype(int)))),
                            "crop_psnr_db": _psnr(crop, ref_crop)})
            crops.append(np.repeat(np.repeat(crop, 2, 0), 2, 1))
            gap = np.full((2 * CROP, 4, 3), 255, np.uint8)
            crops.append(gap)
        rows.append(np.concatenate(crops[:-1], axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    sheet = np.concatenate(rows[:-1], axis=0)
    summary = {}
    for name, kw in VARIANTS:
        mine = [r for r in results if r["variant"] == name]
        summary[name] = {"settings": kw, "cpu_s_per_render": float(np.mean([r["cpu_s"] for r in mine])),
                         "mean_abs_error": float(np.mean([r["mean_abs_error"] for r in mine])),
                         "crop_mean_abs_error": float(np.mean([r["crop_mean_abs_error"] for r in mine])),
                         "crop_psnr_db_min": float(np.min([r["crop_psnr_db"] for r in mine]))}
    return {"benchmark": "render_settings", "config": "configs/hop.yaml", "width": W, "height": H,
            "threads": threads, "samples": [int(i) for i in indices], "variants": [v[0] for v in VARIANTS],
            "sheet_layout": f"rows: samples in order; columns: variants in order; {CROP}x{CROP} hand crops at 2x",
            "blender_version": ".".join(map(str, compat.blender_version())),
            "summary": summary, "renders": results}, sheet


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, nargs="+", default=[0, 13, 26])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "render_settings.json"))
    ap.add_argument("--sheet", default=os.path.join(REPO, "benchmarks", "results", "render_settings_sheet.png"))
    a = ap.parse_args(argv)
    load0 = list(os.getloadavg())
    report, sheet = measure(a.samples, a.threads)
    report["machine"] = {"cpu_count": os.cpu_count(), "load_average_before": load0,
                         "load_average_after": list(os.getloadavg())}
    from hopgen.core.atomic import atomic_write_bytes, atomic_write_json
    from hopgen.core.pngio import encode_png
    atomic_write_bytes(a.sheet, encode_png(sheet))
    report["sheet"] = os.path.relpath(os.path.abspath(a.sheet), REPO)
    atomic_write_json(a.out, report, indent=1)
    for name, s in report["summary"].items():
        print(f"{name:38s} {s['cpu_s_per_render']:6.2f} CPU-s  crop MAE {s['crop_mean_abs_error']:5.2f}  "
              f"min crop PSNR {s['crop_psnr_db_min']:5.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
