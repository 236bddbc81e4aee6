"""CPU seconds of the beauty pass per sample with each realism feature on and off (issue 15).

    nice -n 10 python -m benchmarks.bench_realism_cost --episodes 3 --per-episode 2 --out F.json

In ONE bpy process, the same planned episodes and cameras are rendered once per variant; only the
beauty render (hopgen.blender.passes.render_rgb) is timed, as process CPU time (user + sys of all
Cycles threads; load on a shared machine does not distort it the way it distorts wall time).
Variants: ``all`` (the config as shipped), then one feature off at a time:
  skin_detail   render.skin_detail=false (no veins, pores, micro-relief, wrinkles)
  camera_fx     camera.effects=false (no depth of field, no motion blur; the image-space effects are
                numpy, timed apart)
  motion_blur   camera.motion_blur_probability=0 (depth of field and the rest kept)
  accessories   wear.accessory_probability=0 (no watches or bracelets)
  sleeve_folds  wear.sleeve_folds=false (the sleeve without its fold rings)
  distractors   background.distractors=[0, 0]
  surroundings  the table/sweep and the distractors on it removed after the episode is built (a
                benchmark-only ablation: the plan has no switch for the support)
and ``none`` (all of them off). A variant's samples are the same (episode, frame, camera) as ``all``'s.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = {
    "all": ([], False),
    "skin_detail": (["render.skin_detail=false"], False),
    "camera_fx": (["camera.effects=false"], False),
    "motion_blur": (["camera.motion_blur_probability=0"], False),
    "distractors": (["background.distractors=[0, 0]"], False),
    "surroundings": ([], True),
    "accessories": (["wear.accessory_probability=0"], False),
    "sleeve_folds": (["wear.sleeve_folds=false"], False),
    "none": (["render.skin_detail=false", "camera.effects=false", "background.distractors=[0, 0]",
              "wear.accessory_probability=0", "wear.sleeve_folds=false"], True),
}


class _NoWriter:
    root = tempfile.gettempdir()


def run(config, episodes, per_episode, variants, threads):
    import bpy
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import plan_episode
    from hopgen.blender.passes import render_rgb
    from hopgen.blender.render_episode import EpisodeRenderer
    out = {}
    tmp = os.path.join(tempfile.gettempdir(), f"hop_cost_{os.getpid()}.png")
    for name in variants:
        overrides, no_support = VARIANTS[name]
        cfg = load_generation_config(config, overrides)
        manifest = load_manifest(None)
        renderer = EpisodeRenderer(cfg, manifest, _NoWriter(), threads=threads)
        cpu, wall, n, per = 0.0, 0.0, 0, []
        for e in range(episodes):
            ep = plan_episode(cfg, manifest, e)
            if no_support:
                from hopgen.episode import build as B
                scene_data = B.build_episode(cfg, manifest, ep)
                scene_data.looks.backdrop = None
                scene_data.looks.distractors = []
                renderer._mesh = scene_data.hand_mesh
                renderer._setup(ep, scene_data)
            else:
                scene_data = renderer.build_scene(ep)
            for sample in ep.samples[:per_episode]:
                renderer.prepare_sample(ep, scene_data, sample)
                c0, t0 = time.process_time(), time.perf_counter()
                render_rgb(bpy.context.scene, tmp)
                per.append(round(time.process_time() - c0, 3))
                cpu += per[-1]
                wall += time.perf_counter() - t0
                n += 1
        out[name] = {"samples": n, "cpu_s_per_sample": round(cpu / n, 3), "wall_s_per_sample": round(wall / n, 3),
                     "cpu_s_each": per,
                     "overrides": overrides, "support_removed": no_support}
        print(name, out[name], file=sys.stderr, flush=True)
    if os.path.exists(tmp):
        os.remove(tmp)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(REPO, "configs", "hop.yaml"))
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--per-episode", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    bad = [v for v in a.variants if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variant(s) {bad}; known: {list(VARIANTS)}")
    load0 = os.getloadavg()
    res = run(a.config, a.episodes, a.per_episode, a.variants, a.threads)
    base = res.get("all", {}).get("cpu_s_per_sample")
    report = {"benchmark": "realism_cost", "config": os.path.relpath(a.config, REPO), "episodes": a.episodes,
              "per_episode": a.per_episode, "threads": a.threads, "variants": res,
              "feature_cost_cpu_s": {k: round(base - v["cpu_s_per_sample"], 3) for k, v in res.items()
                                     if base is not None and k != "all"},
              "load_before_after": [load0, os.getloadavg()], "cpus": os.cpu_count(), "python": platform.python_version()}
    from hopgen.core.atomic import atomic_write_json
    atomic_write_json(a.out, report, indent=1)
    print(json.dumps(report["feature_cost_cpu_s"]))


if __name__ == "__main__":
    main()
