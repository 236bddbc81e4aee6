"""The `hopgen` subcommands' handlers: each takes parsed args, does its work through the layers below and
returns an exit code. Failures raise; `hopgen.cli.main` turns them into one-line messages."""

import json
import os
import sys


class CommandError(RuntimeError):
    """A failure the user can act on: printed as one line, exit code 1."""


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
