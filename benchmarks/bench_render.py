"""Render benchmark: seconds per sample through the full pipeline vs the bare beauty pass, and
samples/s of `hopgen render` with K workers (threads split) vs one worker with all threads.

    hopgen bench render [config=configs/hop.yaml] [episodes=3] [per_episode=0] [workers='[1, 2]'] [profile=30] --out F.json
    hopgen bench render overrides='["render.device=GPU"]' episodes=4 workers='[1]'    # on a GPU node
    python -m benchmarks.bench_render --config configs/hop.yaml --episodes 3 --workers 1 2 --out F.json

Samples: the first `episodes` episodes of the plan (different subjects, objects and grasps), each
with its first `per_episode` samples (0: all of them; HOP has 12 per episode, 4 frames x 3 views).
In ONE Blender process (the bpy module, or a Blender binary with blender=PATH) they are rendered twice:
  (a) full: exactly what a render worker does per episode and sample (EpisodeRenderer.render_episode:
      episode build with grasp synthesis, scene build, beauty pass, annotation pass, visibility,
      atomic HOP writes), timed end to end;
  (b) beauty: the same scenes and cameras with the same Cycles settings, timing only the beauty
      render (bpy.ops.render.render + its PNG) of each sample; scene building is not timed.
Then (c) throughput: for each K in `workers`, `hopgen render` (the real pipeline: K Blender worker
processes, cores // K Cycles threads each, episodes dealt out between them) renders the first
`throughput_episodes` (default: `episodes`) whole episodes into a fresh folder; samples/s counts from the start of the processes (start-up and kernel
load included) to the last sample, CPU time is that of the worker processes. With K > 1 one
worker's episode build (single-threaded) overlaps the other's Cycles render.
Before (a), each episode is built once untimed (warm_caches, the default): a worker keeps the hand
meshes and grasp hand models of a subject for the whole process, so (a) is its steady state; what
those first builds cost more is reported in `cache_fill`, with the ratios as they would be with cold
caches (`ratio_cold_caches_*`). `--cold` (warm_caches=False) times (a) with empty caches instead.
The report has seconds per sample of (a) and (b) (wall and process CPU time), their ratio, a
breakdown of (a) per stage (STAGES: episode build, scene setup, pose and camera, annotation fields,
beauty, annotation pass, visibility, RGB readback, camera effects, writes, and "other", the rest),
optionally the top functions of a cProfile run of (a) (`profile=N`), the settings (resolution,
samples, denoiser, Blender version, threads), the load average before/after and the cpu count. The
machine may be shared: read the load average next to the numbers; CPU seconds are load-robust.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(REPO, "configs", "hop.yaml")


# ------------------------------------------------------------------ inside Blender

class _Timers:
    """Accumulated wall and process-CPU time per named phase; `wrap` times every call of a function."""

    def __init__(self):
        self.total, self.cpu = {}, {}

    def wrap(self, name, fn):
        def timed(*a, **kw):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - t0
                self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c0
        return timed


# The stages of (a) timed by wrapping the functions render_episode calls (module attributes of
# hopgen.blender.render_episode), plus the renderer's scene setup and per-sample pose/camera and the
# writer: disjoint, so they sum to at most the full wall time; "other" is the rest.
STAGES = (("build_episode", "episode_build"), ("annotation_core", "annotation_fields"), ("render_rgb", "beauty"),
          ("render_annotations", "annotations"), ("compute_visibility", "visibility"),
          ("read_beauty", "rgb_readback"), ("apply_effects", "camera_effects"))
# Inside episode_build: the subject's hand meshes (hopgen.hand.handmesh, cached per process, so a
# worker pays them once per subject x side x forearm length, not once per episode).
NESTED_HAND_MESH = "hand_mesh_builds"


def _profile_top(profiler, n):
    """The `n` functions with the most own time in a cProfile run: [{function, calls, tottime_s, cumtime_s}]."""
    import pstats
    stats = pstats.Stats(profiler).stats
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:int(n)]
    out = []
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in rows:
        rel = os.path.relpath(path, REPO) if os.path.isabs(path) and path.startswith(REPO) else os.path.basename(path)
        out.append({"function": f"{rel}:{line}({name})", "calls": calls, "tottime_s": round(tottime, 4),
                    "cumtime_s": round(cumtime, 4)})
    return out


def _pick_samples(cfg, manifest, episodes, per_episode=0):
    """Specs of the first `episodes` episodes of the plan, each cut to `per_episode` samples (0: all)."""
    from hopgen.episode.plan import num_episodes, plan_episode
    specs = []
    for e in range(min(int(episodes), num_episodes(cfg))):
        spec = plan_episode(cfg, manifest, e)
        if per_episode:
            spec.samples = spec.samples[:int(per_episode)]
        specs.append(spec)
    return specs


def _warm_up(workdir):
    """One tiny Cycles render, untimed: a process's first render loads the kernels (~1 s), which a
    worker pays once per process, not per sample."""
    import bpy
    from hopgen.blender import scene as hscene
    from hopgen.blender.passes import render_rgb
    sc = hscene.reset_scene()
    hscene.configure_cycles(sc, samples=1, adaptive_threshold=None)
    hscene.add_mesh_object("warm", [[0, 0, 1], [1, 0, 1], [0, 1, 1]], [[0, 1, 2]])
    import numpy as np
    hscene.set_camera(np.array([[8.0, 0, 3.5], [0, 8.0, 3.5], [0, 0, 1]]), 8, 8, np.eye(4), scene=sc)
    render_rgb(bpy.context.scene, os.path.join(workdir, "warm.png"))


def measure(config=DEFAULT_CONFIG, samples=None, episodes=3, per_episode=0, threads=0, manifest=None, overrides=(),
            workdir=None, profile=0, warm_caches=True):
    """Run both timings inside Blender (bpy importable); returns the report dict (no machine info).
    profile: run (a) under cProfile and report its `profile` functions with the most own time
    (cProfile slows the Python parts, so the timings of such a run overstate them).
    warm_caches: build each episode once, untimed, before (a), so (a) measures a worker's steady
    state (its per-process caches filled); the report has the cold figures too."""
    import bpy
    from hopgen.blender import compat, render_episode as rmod
    from hopgen.config import load_generation_config
    from hopgen.assets.manifest import load_manifest
    from hopgen.render.pipeline import prepare_output
    overrides = list(overrides)
    if samples is not None:
        overrides.append(f"render.samples={int(samples)}")
    cfg = load_generation_config(config, overrides)
    man = load_manifest(manifest)
    specs = _pick_samples(cfg, man, episodes, per_episode)
    n = sum(len(s.samples) for s in specs)
    workdir = workdir or tempfile.mkdtemp(prefix="hopgen_bench_render_")
    writer = prepare_output(cfg, man, os.path.join(workdir, "full"))
    renderer = rmod.EpisodeRenderer(cfg, man, writer, threads=threads)

    _warm_up(workdir)
    cache_fill = None
    if warm_caches:
        # The per-process caches (hand meshes of each subject x side x forearm length, hand models of
        # the grasp synthesis): a worker fills them once per subject, not once per episode, so these
        # first builds are timed here, apart from (a).
        fill = _Timers()
        from hopgen.hand import handmesh
        build_right = handmesh._build_right
        handmesh._build_right = fill.wrap(NESTED_HAND_MESH, build_right)
        try:
            for spec in specs:
                fill.wrap("episode_build", rmod.build_episode)(cfg, man, spec)
        finally:
            handmesh._build_right = build_right
        cache_fill = fill
    # (a) full pipeline, with a breakdown from timed wrappers around its parts.
    timers = _Timers()
    originals = {key: getattr(rmod, key) for key, _ in STAGES}
    for key, name in STAGES:
        setattr(rmod, key, timers.wrap(name, originals[key]))
    from hopgen.hand import handmesh
    build_right = handmesh._build_right
    handmesh._build_right = timers.wrap(NESTED_HAND_MESH, build_right)
    renderer._setup = timers.wrap("scene_setup", renderer._setup)
    renderer.prepare_sample = timers.wrap("pose_and_camera", renderer.prepare_sample)
    writer.write_sample = timers.wrap("write", writer.write_sample)
    failures = []
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    try:
        for spec in specs:
            for index, err in renderer.render_episode(spec, {s.index for s in spec.samples}):
                if err is not None:
                    failures.append({"index": index, "error": f"{type(err).__name__}: {err}"})
    finally:
        if profiler:
            profiler.disable()
        for k, fn in originals.items():
            setattr(rmod, k, fn)
        handmesh._build_right = build_right
        del renderer._setup, renderer.prepare_sample
    full_s, full_cpu = time.perf_counter() - t0, time.process_time() - c0
    info = dict(renderer.render_info)

    # (b) the bare beauty pass: same scenes, cameras and Cycles settings; only the render is timed.
    beauty_s, beauty_cpu, done_b = 0.0, 0.0, 0
    tmp_png = os.path.join(workdir, "beauty.png")
    for spec in specs:
        scene_data = renderer.build_scene(spec)
        for sample in spec.samples:
            try:
                renderer.prepare_sample(spec, scene_data, sample)
            except Exception:  # a sample the full run could not render either
                continue
            t1, c1 = time.perf_counter(), time.process_time()
            originals["render_rgb"](bpy.context.scene, tmp_png)
            beauty_s += time.perf_counter() - t1
            beauty_cpu += time.process_time() - c1
            done_b += 1
    done_a = n - len(failures)
    per_full = full_s / max(done_a, 1)
    per_beauty = beauty_s / max(done_b, 1)
    scene = bpy.context.scene
    c = scene.cycles
    nested = {NESTED_HAND_MESH: timers.total.pop(NESTED_HAND_MESH, 0.0)}
    nested_cpu = {NESTED_HAND_MESH: timers.cpu.pop(NESTED_HAND_MESH, 0.0)}
    timers.total["other"] = max(full_s - sum(timers.total.values()), 0.0)
    timers.cpu["other"] = max(full_cpu - sum(timers.cpu.values()), 0.0)
    extra = {}
    if cache_fill is not None:
        # Cold: what (a) would have cost with empty caches = (a) + (first builds - warm builds).
        fill_s = cache_fill.total["episode_build"] - timers.total.get("episode_build", 0.0)
        fill_cpu = cache_fill.cpu["episode_build"] - timers.cpu.get("episode_build", 0.0)
        extra["cache_fill"] = {
            "first_builds_s": cache_fill.total["episode_build"], "first_builds_cpu_s": cache_fill.cpu["episode_build"],
            "hand_mesh_builds_s": cache_fill.total.get(NESTED_HAND_MESH, 0.0),
            "hand_mesh_builds_cpu_s": cache_fill.cpu.get(NESTED_HAND_MESH, 0.0),
            "cold_extra_s_per_sample": fill_s / max(done_a, 1), "cold_extra_cpu_s_per_sample": fill_cpu / max(done_a, 1)}
        extra["ratio_cold_caches_full_over_beauty"] = (per_full + fill_s / max(done_a, 1)) / per_beauty if per_beauty > 0 else None
        extra["ratio_cpu_cold_caches_full_over_beauty"] = ((full_cpu + fill_cpu) * done_b / (beauty_cpu * max(done_a, 1))
                                                          if beauty_cpu > 0 else None)
    if profiler:
        extra["profile_top_tottime"] = _profile_top(profiler, profile)
    return {**extra,
        "benchmark": "render",
        "config": os.path.relpath(os.path.abspath(config), REPO) if config else None,
        "overrides": overrides,
        "samples_rendered": {"full": done_a, "beauty": done_b, "episodes": len(specs)},
        "sample_indices": [s.index for spec in specs for s in spec.samples],
        "seconds_per_sample": {"full": per_full, "beauty": per_beauty},
        "ratio_full_over_beauty": per_full / per_beauty if per_beauty > 0 else None,
        "ratio_cpu_full_over_beauty": full_cpu * done_b / (beauty_cpu * max(done_a, 1)) if beauty_cpu > 0 else None,
        # CPU seconds (all threads of the process): steadier than wall time on a shared machine.
        "cpu_seconds_per_sample": {"full": full_cpu / max(done_a, 1), "beauty": beauty_cpu / max(done_b, 1)},
        "breakdown_s_per_sample": {k: v / max(done_a, 1) for k, v in sorted(timers.total.items())},
        "breakdown_cpu_s_per_sample": {k: v / max(done_a, 1) for k, v in sorted(timers.cpu.items())},
        # Part of episode_build; cached per process (a farm worker pays it once per subject x side).
        "episode_build_includes": {"hand_mesh_builds_s_per_sample": nested[NESTED_HAND_MESH] / max(done_a, 1),
                                   "hand_mesh_builds_cpu_s_per_sample": nested_cpu[NESTED_HAND_MESH] / max(done_a, 1)},
        "profiled": bool(profiler), "warm_caches": bool(warm_caches),
        "wall_s": {"full": full_s, "beauty_renders": beauty_s},
        "failures": failures,
        "settings": {
            "width": cfg.dataset.width, "height": cfg.dataset.height, "samples": cfg.render.samples,
            "adaptive_threshold": cfg.render.adaptive_threshold, "denoise_requested": cfg.render.denoise,
            "denoiser": c.denoiser if c.use_denoising else None, "denoise_prefilter": info.get("denoise_prefilter"),
            "denoise_device": info.get("denoise_device"),
            "max_bounces": c.max_bounces,
            "depth": cfg.dataset.depth, "device": info.get("device"),
            "threads": scene.render.threads, "threads_mode": scene.render.threads_mode,
            "blender_version": ".".join(map(str, compat.blender_version())),
            "view_transform": info.get("view_transform"),
        },
    }


def _child_main(argv):
    """Entry inside Blender: `--child JSON_KWARGS OUT`."""
    kw = json.loads(argv[0])
    report = measure(**kw)
    with open(argv[1], "w") as fh:
        json.dump(report, fh)
    return 0


# ------------------------------------------------------------------ parent

def _machine():
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {"cpu_count": os.cpu_count(), "load_average": load}


def _throughput(config, samples, episodes, workers, manifest, overrides, blender, workdir):
    """samples/s of `hopgen render` with K workers (cores // K threads each) on the first `episodes` episodes."""
    import resource
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import samples_per_episode
    from hopgen.render.pipeline import render_dataset
    over = list(overrides) + ([f"render.samples={int(samples)}"] if samples is not None else [])
    cfg0 = load_generation_config(config, over)
    n = min(cfg0.dataset.num_samples, int(episodes) * samples_per_episode(cfg0))
    over.append(f"dataset.num_samples={n}")
    cfg = load_generation_config(config, over)
    man = load_manifest(manifest)
    cores = os.cpu_count() or 1
    runs = []
    for k in workers:
        out = os.path.join(workdir, f"throughput_w{k}")
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        code = render_dataset(cfg, man, out, workers=int(k), blender=blender, config_path=config, overrides=over,
                              manifest_path=manifest)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = len([f for f in os.listdir(os.path.join(out, "anno")) if f.endswith(".json")])
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        runs.append({"workers": int(k), "threads_per_worker": cfg.render.threads or max(1, cores // int(k)),
                     "exit_code": code, "samples": done, "wall_s": wall, "samples_per_s": done / wall if wall else None,
                     "cpu_s_per_sample": cpu / max(done, 1), "load_average_after": _machine()["load_average"]})
    base = next((r for r in runs if r["workers"] == 1), None)
    for r in runs:
        r["speedup_vs_1_worker"] = r["samples_per_s"] / base["samples_per_s"] if base and base["samples_per_s"] else None
    best = max(runs, key=lambda r: r["samples_per_s"] or 0) if runs else None
    return {"samples_planned": n, "episodes": int(episodes), "runs": runs,
            "best": {"workers": best["workers"], "samples_per_s": best["samples_per_s"]} if best else None}


def run(out_path, config=DEFAULT_CONFIG, samples=None, episodes=3, per_episode=0, workers=(1, 2), threads=0,
        manifest=None, overrides=(), blender=None, quick=False, throughput_episodes=None, profile=0, warm_caches=True):
    """Run the benchmark (a fresh Blender process, then `hopgen render` per worker count); write JSON atomically.

    config: generation config; samples: Cycles samples override; episodes / per_episode: which planned
    samples (see the module doc); workers: worker counts to compare ([] skips the throughput part),
    each rendering the first `throughput_episodes` whole episodes (default: episodes);
    threads: Cycles threads of the full/beauty process (0 = all cores); blender: a Blender executable
    (default: the bpy module in this Python); quick: the tiny test config, 2 episodes of 1 sample, 1 worker;
    profile: N > 0 runs (a) under cProfile and adds its N functions with the most own time;
    warm_caches: fill the per-process caches before (a) (see measure; the cold ratio is reported too).
    """
    if quick:
        config, episodes, per_episode, workers = os.path.join(REPO, "configs", "hop_tiny.yaml"), 2, 1, [1]
    if isinstance(workers, int):
        workers = [workers]
    if int(episodes) < 1 or int(per_episode) < 0:
        raise ValueError(f"bench render: episodes must be >= 1 and per_episode >= 0, got {episodes}, {per_episode}")
    if any(int(k) < 1 for k in workers):
        raise ValueError(f"bench render: workers must be >= 1, got {list(workers)}")
    config = os.path.abspath(config)
    if not os.path.isfile(config):
        raise ValueError(f"bench render: config {config} not found")
    manifest = os.path.abspath(manifest) if manifest else None
    kw = {"config": config, "samples": samples, "episodes": int(episodes), "per_episode": int(per_episode),
          "threads": int(threads), "manifest": manifest, "overrides": list(overrides), "profile": int(profile),
          "warm_caches": bool(warm_caches)}
    before = _machine()
    with tempfile.TemporaryDirectory(prefix="hopgen_bench_render_") as tmp:
        kw["workdir"] = tmp
        result = os.path.join(tmp, "result.json")
        args = ["--child", json.dumps(kw), result]
        if blender:
            cmd = [blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P", os.path.abspath(__file__),
                   "--", *args]
        else:
            cmd = [sys.executable, "-m", "benchmarks.bench_render", *args]
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(result):
            raise RuntimeError(f"bench render: the Blender process failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        with open(result) as fh:
            report = json.load(fh)
        after_child = _machine()["load_average"]
        if workers:
            report["throughput"] = _throughput(config, samples, int(throughput_episodes or episodes),
                                               sorted(set(int(k) for k in workers)),
                                               manifest, overrides, blender, tmp)
            best = report["throughput"]["best"]
            beauty = report["seconds_per_sample"]["beauty"]
            if best and best["samples_per_s"] and beauty:
                # Node level: wall s/sample of the best `hopgen render` (start-up included) over the bare
                # beauty pass of (b). Below the in-process ratio when K workers overlap builds and renders.
                report["ratio_best_render_over_beauty"] = (1.0 / best["samples_per_s"]) / beauty
    report["machine"] = {"cpu_count": before["cpu_count"], "load_average_before": before["load_average"],
                         "load_average_after_full_and_beauty": after_child,
                         "load_average_after": _machine()["load_average"]}
    report["entry"] = "blender binary" if blender else "bpy module"
    if out_path:
        from hopgen.core.atomic import atomic_write_json  # here: the Blender-side child imports this file bare
        atomic_write_json(out_path, report, indent=1)
    return report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "render.json"))
    ap.add_argument("--config", default=DEFAULT_CONFIG)
    ap.add_argument("--samples", type=int, default=None, help="Cycles samples (default: the config's)")
    ap.add_argument("--episodes", type=int, default=3, help="planned episodes to render")
    ap.add_argument("--per-episode", type=int, default=0, help="samples of each episode (0: all)")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="worker counts to compare")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--manifest", default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--blender", default=None, help="Blender executable (default: the bpy module)")
    ap.add_argument("--profile", type=int, default=0, help="cProfile (a) and report its N top functions")
    ap.add_argument("--cold", action="store_true", help="do not fill the per-process caches before (a)")
    a = ap.parse_args(argv)
    r = run(a.out, a.config, a.samples, a.episodes, a.per_episode, a.workers, a.threads, a.manifest, a.overrides,
            a.blender, profile=a.profile, warm_caches=not a.cold)
    s = r["seconds_per_sample"]
    c = r["cpu_seconds_per_sample"]
    print(f"full {s['full']:.2f} s/sample (cpu {c['full']:.2f}), beauty {s['beauty']:.2f} s/sample (cpu {c['beauty']:.2f}), "
          f"ratio {r['ratio_full_over_beauty']:.3f} "
          f"({r['settings']['width']}x{r['settings']['height']}, {r['settings']['samples']} spp, "
          f"load {r['machine']['load_average_before']})")
    if "ratio_cold_caches_full_over_beauty" in r:
        print(f"with cold per-process caches: ratio {r['ratio_cold_caches_full_over_beauty']:.3f} "
              f"(CPU {r['ratio_cpu_cold_caches_full_over_beauty']:.3f})")
    print(json.dumps(r["breakdown_cpu_s_per_sample"], indent=1))
    for t in (r.get("throughput") or {}).get("runs", []):
        print(f"hopgen render --workers {t['workers']} ({t['threads_per_worker']} threads each): "
              f"{t['samples_per_s']:.3f} samples/s, {t['cpu_s_per_sample']:.2f} CPU-s/sample")
    return 0


if __name__ == "__main__":
    if "--" in sys.argv:  # inside a Blender binary: `blender -b -P bench_render.py -- --child ...`
        sys.path.insert(0, REPO)
        sys.exit(main(sys.argv[sys.argv.index("--") + 1:]) or 0)
    sys.exit(main())
