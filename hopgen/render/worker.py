"""One render worker: renders whole episodes of a shard inside Blender (bpy module or binary).

Runs as `python -m hopgen.render.worker ARGS` (bpy module) or through
`blender -b --python-exit-code 1 -P blender_scripts/render_hop.py -- ARGS`. It reports one line per
sample on stdout, which the parent (`hopgen render`) turns into progress and a failure list:
    HOPGEN_DONE <id>        HOPGEN_SKIP <id>        HOPGEN_FAIL <id> <seed> <message>
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
    return p.parse_args(argv)


def worker_main(argv):
    args = parse_args(argv)
    if args.parent_pid is not None:
        from hopgen.render.lifeline import die_with_parent
        die_with_parent(args.parent_pid)
    from hopgen.config import load_generation_config
    from hopgen.assets.manifest import load_manifest
    from hopgen.render.pipeline import prepare_output, todo_samples
    from hopgen.episode.plan import parse_shard, plan_episode, shard_episodes
    cfg = load_generation_config(args.config, args.overrides)
    manifest = load_manifest(args.manifest)
    shard, (k, n) = parse_shard(args.shard), parse_shard(args.worker)
    # Only a lone process may remove '.tmp-hopgen-*' leftovers: with other workers or shards writing into
    # the same folder they can be writes in flight (a worker started by `hopgen render` finds the
    # folder already cleaned by its parent).
    writer = prepare_output(cfg, manifest, args.out, exclusive=shard[1] == 1 and n == 1,
                            force=args.force or args.parent_pid is not None)  # the parent checked the folder
    episodes = shard_episodes(cfg, shard)[k::n]
    from hopgen.blender.render_episode import EpisodeRenderer
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
