"""The `hopgen` command: generate HOP datasets with Blender, inspect them, train and evaluate models.

Over 450 lines on purpose for now: every subcommand's parser and dispatcher (to be split by job).
"""

import argparse
import json
import os
import sys
import textwrap


class CommandError(RuntimeError):
    """A failure the user can act on: printed as one line, exit code 1."""


def _parser(sub, name, help_text, examples):
    return sub.add_parser(name, help=help_text, description=help_text,
                          epilog="examples:\n" + textwrap.indent(examples.strip(), "  "),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_generation_args(p, out_required=True):
    p.add_argument("--config", default="configs/hop_demo.yaml", help="generation config (YAML or JSON)")
    p.add_argument("--manifest", default=None, help="asset manifest (default: the built-in assets)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set dataset.num_samples=100 (repeatable)")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="render only shard I of N (whole episodes)")


def _load_generation(args):
    from hopgen.config import load_generation_config
    from hopgen.assets.manifest import load_manifest
    from hopgen.episode.plan import parse_shard
    from hopgen.config import check_config_against_manifest
    cfg = load_generation_config(args.config, args.overrides)
    manifest = load_manifest(args.manifest)
    check_config_against_manifest(cfg, manifest)
    return cfg, manifest, parse_shard(args.shard)


def cmd_render(args):
    from hopgen.render.pipeline import render_dataset
    cfg, manifest, shard = _load_generation(args)
    return render_dataset(cfg, manifest, args.out, shard=shard, workers=args.workers, blender=args.blender,
                          config_path=args.config, overrides=args.overrides, manifest_path=args.manifest,
                          force=args.force)


def cmd_grasps(args):
    from hopgen.render.grasp_library import build_library
    cfg, manifest, _ = _load_generation(args)
    if not cfg.grasp.require_physics:
        import dataclasses
        cfg = dataclasses.replace(cfg, grasp=dataclasses.replace(cfg.grasp, require_physics=True, library=""))
    rep = build_library(cfg, manifest, args.out,
                        progress=lambda i, n: sys.stderr.write(f"\r{i}/{n} episodes   "))
    sys.stderr.write("\n")
    print(f"wrote {rep['grasps']} held grasps to {args.out}" + (f"; {len(rep['failed'])} episodes without a "
          f"held grasp: {[f['episode'] for f in rep['failed']]}" if rep["failed"] else ""))
    return 1 if rep["failed"] else 0


def cmd_plan(args):
    from hopgen.episode.plan import num_episodes, plan
    cfg, manifest, shard = _load_generation(args)
    episodes = [spec.to_dict() for spec in plan(cfg, manifest, shard)]
    if args.out:
        from hopgen.core.atomic import atomic_write_json
        atomic_write_json(args.out, {"episodes": episodes}, indent=1)
        print(f"wrote {len(episodes)} of {num_episodes(cfg)} episodes to {args.out}")
    else:
        json.dump({"episodes": episodes}, sys.stdout, indent=1)
        print()
    return 0


def cmd_index(args):
    from hopgen.dataset.index import build_index
    counts = build_index(args.dataset)
    print(f"{args.dataset}: index.jsonl and splits written: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _emit(text):
    """Print `text` on stdout; a reader that stops early (`hopgen stats --json | head`) is not an error."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's recipe: point stdout at devnull so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None  # as _fail does for a closed pipe: exit 1, no message


def cmd_validate(args):
    from hopgen.core.progress import Progress
    from hopgen.dataset.hopformat import HopDataset
    from hopgen.dataset.validate import validate_dataset
    try:
        total = len(HopDataset(args.dataset).ids)
    except (ValueError, OSError):
        total = 0  # validate_dataset reports the broken dataset.json as a problem
    bar = Progress(total, label="validate")
    problems = validate_dataset(args.dataset, images=not args.no_images, progress=bar.update)
    bar.close()
    n = 0 if any(p.sample == "dataset" and p.rule == "dataset.json" for p in problems) else total
    if args.json:
        _emit(json.dumps({"dataset": args.dataset, "valid": not problems, "samples": n,
                          "problems": [{"sample": p.sample, "rule": p.rule, "message": p.message} for p in problems]},
                         indent=1))
        return 1 if problems else 0
    lines = [str(p) for p in problems[: args.max_problems]]
    if len(problems) > args.max_problems:
        lines.append(f"... and {len(problems) - args.max_problems} more")
    if problems:
        lines.append(f"INVALID: {len(problems)} problems in {args.dataset}")
    else:
        lines.append(f"OK: {n} samples in {args.dataset} satisfy HOP v1")
    _emit("\n".join(lines))
    return 1 if problems else 0


def cmd_stats(args):
    from hopgen.dataset.stats import dataset_stats, format_stats
    s = dataset_stats(args.dataset, images=not args.no_images)
    _emit(json.dumps(s, indent=1) if args.json else format_stats(s))
    return 0


PREVIEW_TILE_RANGE = (16, 2048)
PREVIEW_MAX_SAMPLES = 1024


def cmd_preview(args):
    from hopgen.dataset.preview import contact_sheet
    lo, hi = PREVIEW_TILE_RANGE
    if not lo <= args.tile <= hi:
        raise CommandError(f"--tile {args.tile}: must be in [{lo}, {hi}] pixels")
    if not 1 <= args.num <= PREVIEW_MAX_SAMPLES:
        raise CommandError(f"--num {args.num}: must be in [1, {PREVIEW_MAX_SAMPLES}]")
    if args.realism:
        from hopgen.dataset.realism import realism_sheet
        summaries = realism_sheet(args.dataset, args.out, args.measure, num=args.num, tile=args.tile,
                                  levels=args.levels)
        for root, sm in summaries.items():
            print(f"{root}: {sm['samples']} samples, arm end in frame {sm['arm_end_in_frame']} "
                  f"({100 * sm['arm_end_in_frame_share']:.1f}%), floating distractors {sm['floating_distractors']} "
                  f"of {sm['distractors']}, cameras behind occluders {sm['camera_behind_occluder']}")
        print(f"wrote {args.out}" + (f" and {args.measure}" if args.measure else ""))
        return 0
    if len(args.dataset) != 1:
        raise CommandError("preview: one dataset folder (several only with --realism)")
    ids = contact_sheet(args.dataset[0], args.out, max_samples=args.num, tile=args.tile)
    print(f"wrote {args.out} ({len(ids)} samples: image | skeleton | masks (hand red, object blue) | seg)")
    return 0


def cmd_export(args):
    from hopgen.dataset.export import export_dataset, parse_size
    r = export_dataset(args.dataset, args.out, args.format, split=args.split, size=parse_size(args.size),
                       force=args.force, shard_size=args.shard_size)
    size = "x".join(map(str, r["size"])) if r["size"] else "original size"
    print(f"exported {r['samples']} {args.split} samples ({size}) to {args.out} in the {args.format} layout: "
          + ", ".join(r["entries"]))
    if r.get("skipped"):
        print(f"left out {len(r['skipped'])} samples ({', '.join(r['skipped'][:10])}"
              f"{', ...' if len(r['skipped']) > 10 else ''}): left hands without a visible pixel, which "
              "hand3d's tie rule would read as the right hand")
    return 0


def cmd_assets(args):
    from hopgen.assets import library
    from hopgen.assets.manifest import load_manifest
    if args.action == "add":
        new = library.add_folder(args.manifest, args.folder, args.category, units=args.units, license=args.license)
        print(f"added {len(new)} objects to {args.manifest}: {', '.join(e['name'] for e in new)}")
        return 0
    if args.folder is not None:
        raise CommandError(f"assets {args.action}: unexpected argument {args.folder!r} (only `assets add` takes a folder)")
    manifest = load_manifest(args.manifest)
    if args.action == "list":
        rows = library.object_rows(manifest, seed=args.seed, attempts=args.grasp_attempts)
        if args.json:
            _emit(json.dumps(dict(manifest.summary(), object_rows=rows), indent=1))
        else:
            _emit("\n".join(library.list_lines(manifest, rows, seed=args.seed, attempts=args.grasp_attempts)))
        return 0
    return _assets_preview(args, manifest)


def _assets_preview(args, manifest):
    """Render the asset / grasp preview sheet with Cycles through the bpy module."""
    from hopgen.assets.sheet import SheetError, SheetOptions
    try:
        opts = SheetOptions(what=args.what, size=args.size, samples=args.samples, denoise=not args.no_denoise,
                            limit=args.limit, seed=args.seed)
    except SheetError as e:
        raise CommandError(str(e)) from None
    try:
        from hopgen.blender.asset_sheet import render_sheet
    except ImportError as e:
        raise CommandError(f"`hopgen assets preview` renders with the bpy module ({e}); "
                           "install it with: pip install bpy==5.0.1") from None
    out = args.out or ("out/grasps_preview.png" if opts.what == ("grasps",) else "out/assets_preview.png")
    if any(o.needs_blender_geometry for o in manifest.objects):  # .fbx/.blend: their triangles, for this sheet
        import tempfile
        from hopgen.assets.manifest import load_manifest
        from hopgen.blender.object_import import ensure_extracted
        with tempfile.TemporaryDirectory(prefix="hopgen-meshes-") as cache:
            ensure_extracted(manifest, cache)
            r = render_sheet(load_manifest(args.manifest, mesh_cache=cache), out, opts, threads=args.threads)
    else:
        r = render_sheet(manifest, out, opts, threads=args.threads)
    for g in r["grasps"]:
        if "error" in g:
            print(f"grasp {g['object']} {g['type']} {g['subject']} {g['side']} seed {g['seed']}: FAILED {g['error']}")
        else:
            print(f"grasp {g['object']} {g['type']} {g['subject']} {g['side']} seed {g['seed']}: "
                  f"penetration {g['max_penetration_mm']:.2f} mm, fingers {','.join(g['fingers'])}"
                  f"{' +palm' if g['palm'] else ''}")
    print(f"wrote {out} ({r['width']}x{r['height']} px, {', '.join(opts.what)}, {opts.size} px tiles, "
          f"{opts.samples} samples, denoise {'on' if r['render']['denoise'] else 'off'}) in {r['seconds']:.0f} s")
    return 0  # failed grasps are shown on the sheet and listed above: they are findings, not errors


def _trainer(module):
    try:
        return __import__(f"trainer.{module}", fromlist=["main"])
    except ImportError as e:
        if "torch" in str(e):
            raise CommandError("the trainer needs PyTorch: pip install 'hopgen[train]'") from None
        raise


def cmd_train(args, rest):
    return _trainer("train").main(rest)


def cmd_eval(args, rest):
    return _trainer("evaluate").main(rest)


def cmd_predict(args, rest):
    return _trainer("predict").main(rest)


def cmd_tables(args, rest):
    return _trainer("tables").main(rest)


def cmd_pack(args, rest):
    return _trainer("pack").main(rest)


def cmd_farm(args):
    from hopgen.config import load_generation_config
    from hopgen.assets.manifest import load_manifest
    from hopgen.episode.plan import num_episodes
    from hopgen.render import farm
    # A bad config, override or manifest fails here, before anything is submitted.
    cfg = load_generation_config(args.config, args.overrides)
    load_manifest(args.manifest)
    if args.shards > num_episodes(cfg):
        raise CommandError(f"--shards {args.shards}: {args.config} has only {num_episodes(cfg)} episodes "
                           "(a shard renders whole episodes)")
    try:
        indices = farm.parse_indices(args.indices, args.shards) if args.indices else None
        render, check = farm.slurm_jobs(args.config, args.out, args.shards, indices=indices, blender=args.blender,
                                        manifest=args.manifest, overrides=args.overrides,
                                        sbatch_flags=args.sbatch_flags)
        if not args.submit:
            print("\n".join(farm.shell_lines(args.out, render, check)))
            return 0
        job, final = farm.submit(args.out, render, check)
    except farm.FarmError as e:
        raise CommandError(str(e)) from None
    print(f"submitted render array {job} ({len(indices or range(args.shards))} of {args.shards} shards) and "
          f"index+validate job {final} (runs after every task succeeded); logs in {os.path.join(args.out, 'logs')}")
    return 0


def cmd_bench(args):
    from hopgen.bench import run_benchmark
    extra = list(args.extra) + (["physics=true"] if getattr(args, "physics", False) else [])
    return run_benchmark(args.what, args.out, quick=args.quick, extra=extra)


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen", description=__doc__,
                                epilog="Run `hopgen COMMAND --help` for the options and examples of each command.")
    from hopgen import __version__
    p.add_argument("--version", action="version", version=f"hopgen {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = _parser(sub, "render", "render a HOP dataset with Blender (bpy module, or a Blender binary with --blender)", """
hopgen render --config configs/hop_demo.yaml --out out/demo
hopgen render --config configs/hop.yaml --out /data/hop --shard 3/64 --workers 2
hopgen render --config configs/hop_tiny.yaml --out out/tiny --blender /usr/bin/blender --set render.samples=8""")
    _add_generation_args(r)
    r.add_argument("--out", required=True, help="output dataset folder (resumes if it exists)")
    r.add_argument("--workers", type=int, default=1, help="Blender worker processes (threads are split among them)")
    r.add_argument("--blender", default=None, help="render with this Blender executable instead of the bpy module")
    r.add_argument("--force", action="store_true",
                   help="write into a non-empty folder that is not a HOP dataset (its files are left alone)")
    r.set_defaults(func=cmd_render)

    pl = _parser(sub, "plan", "print or write the sample plan (episodes and per-sample choices) without rendering", """
hopgen plan --config configs/hop_demo.yaml --shard 0/4 --out plan.json""")
    _add_generation_args(pl)
    pl.add_argument("--out", default=None, help="write JSON here instead of stdout")
    pl.set_defaults(func=cmd_plan)

    gl = _parser(sub, "grasps", "grasps build: the hold-tested grasp of every planned episode, as a library a "
                 "render reads (grasp.require_physics + grasp.library; needs the physics extra)", """
hopgen grasps build --config configs/hop_demo.yaml --out grasps.json""")
    gl.add_argument("action", choices=["build"])
    _add_generation_args(gl)
    gl.add_argument("--out", required=True, help="library JSON (written atomically)")
    gl.set_defaults(func=cmd_grasps)

    ix = _parser(sub, "index", "write index.jsonl and train/val/test splits (unseen test objects)", "hopgen index out/demo")
    ix.add_argument("dataset")
    ix.set_defaults(func=cmd_index)

    v = _parser(sub, "validate", "check every HOP v1 contract rule; exit 1 on any problem", "hopgen validate out/demo")
    v.add_argument("dataset")
    v.add_argument("--no-images", action="store_true", help="check annotations only")
    v.add_argument("--max-problems", type=int, default=50)
    v.add_argument("--json", action="store_true", help="print {dataset, valid, samples, problems: [...]} as JSON")
    v.set_defaults(func=cmd_validate)

    s = _parser(sub, "stats", "counts and visibility/occlusion histograms", "hopgen stats out/demo --json")
    s.add_argument("dataset")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-images", action="store_true", help="skip image-based statistics")
    s.set_defaults(func=cmd_stats)

    pv = _parser(sub, "preview", "contact sheet: image, skeleton overlay per finger, masks, seg", "hopgen preview out/demo --out out/demo_preview.png")
    pv.add_argument("dataset", nargs="+", help="dataset folder (several with --realism)")
    pv.add_argument("--out", required=True)
    pv.add_argument("--num", type=int, default=16, help="samples per dataset")
    pv.add_argument("--tile", type=int, default=192)
    pv.add_argument("--realism", action="store_true",
                    help="realism sheet: beauty images only, 8 a row, and the realism measurements "
                         "(arm ends in frame, floating distractors, cameras behind occluders)")
    pv.add_argument("--measure", help="--realism: write the measurements to this JSON file")
    pv.add_argument("--levels", type=int, default=256, help="--realism: grey levels per channel in the "
                                                             "sheet PNG (fewer: a smaller file)")
    pv.set_defaults(func=cmd_preview)

    ex = _parser(sub, "export", "export one split to another layout: rhd (RHD / hand3d), coco (COCO keypoints), "
                 "freihand (FreiHAND json lists), webdataset (tar shards)", """
hopgen export out/demo --format rhd --split train --out out/demo_rhd        # out/demo_rhd/training/
hopgen export out/demo --format rhd --split test --out out/demo_rhd         # out/demo_rhd/evaluation/
hopgen export out/demo --format coco --split test --out out/demo_coco
hopgen export out/demo --format freihand --split train --size 224 --out out/demo_fh
hopgen export out/demo --format webdataset --split train --shard-size 500 --out out/demo_wds""")
    ex.add_argument("dataset")
    ex.add_argument("--format", choices=["rhd", "coco", "freihand", "webdataset"], default="rhd")
    ex.add_argument("--split", default="train", choices=["train", "val", "test"])
    ex.add_argument("--out", required=True, help="output folder; each split's files are added to it")
    ex.add_argument("--size", default=None, metavar="N|WxH",
                    help="resample images to this size, K and uv adjusted (default: 320 for rhd, unchanged otherwise)")
    ex.add_argument("--force", action="store_true", help="replace this split's files from an earlier hopgen export")
    ex.add_argument("--shard-size", type=int, default=1000, help="webdataset: samples per tar shard")
    ex.set_defaults(func=cmd_export)

    a = _parser(sub, "assets", "list the manifest's avatars/objects/backgrounds, or render a preview sheet", """
hopgen assets list --json
hopgen assets list --manifest my_manifest.yaml
hopgen assets add models/mugs --category cylindrical --units cm --license CC-BY-4.0 --manifest my_manifest.yaml
hopgen assets preview --out out/assets.png
hopgen assets preview --what grasps --out out/grasps.png
hopgen assets preview --what objects --limit 3 --size 96 --samples 8 --out out/quick.png""")
    a.add_argument("action", choices=["list", "add", "preview"])
    a.add_argument("folder", nargs="?", default=None, help="add: the folder of models (sub-folders too)")
    a.add_argument("--manifest", default=None)
    a.add_argument("--category", default=None, help="add: the objects' category")
    a.add_argument("--units", default=None, help="add: the files' length unit (m, cm, mm, dm, in)")
    a.add_argument("--license", default=None, help="add: the files' license")
    a.add_argument("--grasp-attempts", type=int, default=8,
                   help="list: placements tried by the quick grasp synthesis per object (0: skip it)")
    a.add_argument("--json", action="store_true", help="list: print JSON")
    a.add_argument("--out", default=None,
                   help="preview: PNG path (default out/assets_preview.png, or out/grasps_preview.png for grasps)")
    a.add_argument("--what", default="objects,hands",
                   help="preview: comma-separated sections: objects (turntable), hands (open, fist), grasps")
    a.add_argument("--size", "--tile", dest="size", type=int, default=160,
                   help="preview: tile edge in pixels (grasp close-ups are 1.5x)")
    a.add_argument("--samples", type=int, default=24, help="preview: Cycles samples per tile")
    a.add_argument("--no-denoise", action="store_true", help="preview: no OpenImageDenoise")
    a.add_argument("--limit", type=int, default=None,
                   help="preview: at most N objects, N subjects and N grasps per category")
    a.add_argument("--seed", type=int, default=0, help="list, preview: object-shape and grasp seed")
    a.add_argument("--threads", type=int, default=0, help="preview: Cycles CPU threads (0: all)")
    a.set_defaults(func=cmd_assets)

    for name, fn, help_text, ex_text in (
            ("train", cmd_train, "train a model (2D or 3D stage) on HOP data",
             "hopgen train --config configs/train/cpu_ours_posenet.yaml --data out/demo --out runs/ours\n"
             "torchrun --nproc_per_node 8 -m hopgen.cli train --config configs/train/ours_posenet.yaml --data /data/hop --out runs/ours"),
            ("eval", cmd_eval, "evaluate a run: metrics.json, paper-style tables, PCK plots, overlays",
             "hopgen eval --run runs/ours --data out/demo --out runs/ours/report"),
            ("predict", cmd_predict, "predict 2D/3D hand pose and object category from RGB images",
             "hopgen predict photo.jpg --run runs/full --out predictions/"),
            ("tables", cmd_tables, "the paper's Tables I-IV over seeds (bootstrap intervals) from eval reports",
             "hopgen tables --reports reports/table1 --data DATA --out benchmarks/results/paper_tables.json"),
            ("pack", cmd_pack, "decode a HOP folder once into DATASET/pack (uint8 memory maps the trainer reads)",
             "hopgen pack /data/hop")):
        t = _parser(sub, name, help_text + " (options: hopgen " + name + " --help)", ex_text)
        t.set_defaults(func=fn, passthrough=True)

    f = _parser(sub, "farm", "render on a Slurm farm: print (or --submit) an array job of shards and a final "
                "index+validate job (extra sbatch flags after --)", """
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 -- --cpus-per-task=8 --mem=8G --time=04:00:00
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 --submit -- --partition=render --cpus-per-task=8
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 --indices 5,17 --submit   # re-run failed tasks""")
    f.add_argument("scheduler", choices=["slurm"])
    f.add_argument("config", help="generation config (YAML or JSON)")
    f.add_argument("out", help="output dataset folder (shared file system; resumes if it exists)")
    f.add_argument("--shards", type=int, required=True, help="number of shards = array tasks")
    f.add_argument("--indices", default=None, metavar="LIST",
                   help="run only these array indices, e.g. 5,17 or 8-11 (re-running failed tasks)")
    f.add_argument("--blender", default=None, help="Blender executable on the compute nodes (default: blender)")
    f.add_argument("--manifest", default=None, help="asset manifest (default: the built-in assets)")
    f.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    f.add_argument("--submit", action="store_true", help="run sbatch instead of printing the lines")
    f.set_defaults(func=cmd_farm, sbatch_flags=[])

    b = _parser(sub, "bench", "run a benchmark and write its JSON (grasp | render | train)", """
hopgen bench grasp --out benchmarks/results/grasp.json
hopgen bench render --out benchmarks/results/render.json
hopgen bench train --out benchmarks/results/train.json""")
    b.add_argument("what", choices=["grasp", "render", "train"])
    b.add_argument("--out", default=None)
    b.add_argument("--quick", action="store_true", help="a small version (seconds to minutes)")
    b.add_argument("--physics", action="store_true",
                   help="grasp: add the MuJoCo hold test (needs the physics extra; same as physics=true)")
    b.add_argument("extra", nargs="*", help="extra KEY=VALUE options for the benchmark")
    b.set_defaults(func=cmd_bench)
    return p


def _fail(command, e):
    """One line on stderr for a failed command; exit code 1 (130 for Ctrl-C). HOPGEN_TRACEBACK=1
    re-raises instead, for debugging."""
    if os.environ.get("HOPGEN_TRACEBACK") == "1":
        raise e
    if isinstance(e, BrokenPipeError):  # e.g. `hopgen plan | head`: the reader left, nothing to say
        return 1
    if isinstance(e, KeyboardInterrupt):
        print(f"hopgen {command}: interrupted", file=sys.stderr)
        return 130
    if isinstance(e, MemoryError):
        msg = "out of memory (use smaller sizes or fewer samples)"
    elif isinstance(e, (CommandError, ValueError, OSError)) or type(e).__name__ in _USER_ERRORS:
        msg = str(e) or type(e).__name__  # config/manifest/format/data errors name their file and field
    else:  # not expected: still one line, with the kind of error
        msg = f"{type(e).__name__}: {e} (unexpected; HOPGEN_TRACEBACK=1 shows where)"
    print(f"hopgen {command}: error: {' '.join(msg.split())}", file=sys.stderr)
    return 1


# RuntimeError subclasses that are user errors with their own messages.
_USER_ERRORS = {"RenderError", "MakeHumanError", "SheetError"}


def main(argv=None):
    """Run one `hopgen` command; every failure is a one-line message and a non-zero exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # train/eval/predict own their flags: everything after the command goes to the trainer.
    if argv and argv[0] in ("train", "eval", "predict", "tables", "pack"):
        cmd = argv[0]
        fn = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "tables": cmd_tables, "pack": cmd_pack}[cmd]
        try:
            return fn(None, argv[1:]) or 0
        except SystemExit:
            raise
        except BaseException as e:
            return _fail(cmd, e)
    sbatch_flags = []
    if argv and argv[0] == "farm" and "--" in argv:  # everything after -- goes to sbatch
        k = argv.index("--")
        argv, sbatch_flags = argv[:k], argv[k + 1:]
    args = parser.parse_args(argv)
    if sbatch_flags:
        args.sbatch_flags = sbatch_flags
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except SystemExit:
        raise
    except BaseException as e:
        return _fail(args.command, e)


if __name__ == "__main__":
    sys.exit(main())
