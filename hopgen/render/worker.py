"""One render worker: renders whole episodes of a shard inside Blender (bpy module or binary).

Runs as `python -m hopgen.render.worker ARGS` (bpy module) or through
`blender -b --python-exit-code 1 -P blender_scripts/render_hop.py -- ARGS`. It reports one line per
sample on stdout, which the parent (`hopgen render`) turns into progress and a failure list:
    HOPGEN_DONE <id>        HOPGEN_SKIP <id>        HOPGEN_FAIL <id> <seed> <message>
    HOPGEN_FATAL <message>  (nothing can be rendered, e.g. render.device: GPU without a GPU)
"""

import argparse
import sys
import traceback


def parse_args(argv):
    p = argparse.ArgumentParser(prog="render_hop.py", description="render HOP samples of one shard")
    p.add_argument("--config", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--manifest", default=None)
    p.add_argument("--shard", default="0/1")
    p.add_argument("--worker", default="0/1", help="this worker's part K/W of the shard's episodes")
    p.add_argument("--threads", type=int, default=0, help="Cycles threads (0: render.threads of the config, "
                   "0 there too: all cores)")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--parent-pid", type=int, default=None,
                   help="exit as soon as this process (the `hopgen render` that started us) is gone")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder that is not a HOP dataset")
    p.add_argument("--extract-meshes", action="store_true",
                   help="only extract the triangles of .fbx/.blend objects into OUT/meshcache, then exit")
    return p.parse_args(argv)


def manifest_with_geometry(manifest_path, out):
    """The manifest with every .fbx/.blend object's triangles extracted (once, into
    OUT/meshcache; hopgen.blender.object_import) and checked: a farm worker started without
    `hopgen render` does the extraction itself, so no job depends on a pre-step."""
    import os
    from hopgen.assets.manifest import load_manifest
    from hopgen.assets.object_files import MESH_CACHE
    manifest = load_manifest(manifest_path)
    if not any(o.needs_blender_geometry for o in manifest.objects):
        return manifest
    from hopgen.blender.object_import import ensure_extracted
    cache = os.path.join(out, MESH_CACHE)
    ensure_extracted(manifest, cache)
    return load_manifest(manifest_path, mesh_cache=cache)


def worker_main(argv):
    args = parse_args(argv)
    if args.parent_pid is not None:
        from hopgen.render.lifeline import die_with_parent
        die_with_parent(args.parent_pid)
    from hopgen.config import load_generation_config
    from hopgen.render.pipeline import prepare_output, todo_samples
    from hopgen.episode.plan import parse_shard, plan_episode, shard_episodes
    cfg = load_generation_config(args.config, args.overrides)
    if args.extract_meshes:  # `hopgen render` asks before anything else: report a bad file in one line
        from hopgen.assets.manifest import ManifestError
        from hopgen.blender.object_import import ObjectImportError
        try:
            manifest_with_geometry(args.manifest, args.out)
        except (ManifestError, ObjectImportError) as e:
            print(f"HOPGEN_ERROR {e}".replace("\n", " "), flush=True)
            return 2
        return 0
    manifest = manifest_with_geometry(args.manifest, args.out)
    shard, (k, n) = parse_shard(args.shard), parse_shard(args.worker)
    # Only a lone process may remove '.tmp-hopgen-*' leftovers: with other workers or shards writing into
    # the same folder they can be writes in flight (a worker started by `hopgen render` finds the
    # folder already cleaned by its parent).
    writer = prepare_output(cfg, manifest, args.out, exclusive=shard[1] == 1 and n == 1,
                            force=args.force or args.parent_pid is not None)  # the parent checked the folder
    episodes = shard_episodes(cfg, shard)[k::n]
    from hopgen.blender.render_episode import EpisodeRenderer
    if cfg.render.device != "CPU":  # before any episode: a missing GPU is one clear error, not N failed samples
        from hopgen.blender import compat
        backend, seen = compat.find_gpu(("OPTIX", "CUDA"))
        if backend is None:
            print(f"HOPGEN_FATAL render.device is GPU but Cycles finds no GPU ({'; '.join(seen)}); "
                  "set render.device: CPU or run on a node with an NVIDIA GPU and driver", flush=True)
            return 3
        print(f"hopgen worker {k}/{n}: Cycles on {backend} ({', '.join(seen)})", file=sys.stderr, flush=True)
    threads = args.threads or cfg.render.threads
    renderer = EpisodeRenderer(cfg, manifest, writer, threads=threads)
    print(f"hopgen worker {k}/{n} of shard {shard[0]}/{shard[1]}: {len(episodes)} episodes, "
          f"{threads or 'all'} Cycles threads", file=sys.stderr, flush=True)
    failed = 0
    for e in episodes:
        spec = plan_episode(cfg, manifest, e)
        todo = todo_samples(writer, spec)
        for s in spec.samples:
            if s.index not in todo:
                print(f"HOPGEN_SKIP {s.index}", flush=True)
        if not todo:
            continue
        try:
            for index, err in renderer.render_episode(spec, todo):
                if err is None:
                    print(f"HOPGEN_DONE {index}", flush=True)
                else:
                    failed += 1
                    msg = f"{type(err).__name__}: {err}".replace("\n", " ")
                    print(f"HOPGEN_FAIL {index} {cfg.dataset.seed},{index} {msg}", flush=True)
                    traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
        except Exception as err:  # the episode could not be built: every missing sample fails
            traceback.print_exc(file=sys.stderr)
            msg = f"{type(err).__name__}: {err}".replace("\n", " ")
            for index in sorted(todo):
                failed += 1
                print(f"HOPGEN_FAIL {index} {cfg.dataset.seed},{index} episode {e}: {msg}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
