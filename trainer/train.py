"""`hopgen train`: train a stage from a YAML config.

    hopgen train --config configs/train/ours_posenet.yaml --data HOP --out runs/ours
    hopgen train --config configs/train/cpu_ours_posenet.yaml --data HOP --data RHD --out runs/x --set data.batch_size=4
    hopgen train --out runs/ours --data HOP --resume          # continue from runs/ours/ckpt/last.pt
    hopgen train --config configs/train/ours_posenet.yaml --set optim.lrs=[1e-4] --print-config
"""

import argparse
import json
import os
import sys

from trainer.config import ConfigError, load_config


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="YAML config (default with --resume: RUN/config.yaml)")
    p.add_argument("--data", action="append", help="HOP, RHD or FreiHAND folder (repeat to train on several)")
    p.add_argument("--out", help="run folder (checkpoints, log.jsonl, config.yaml)")
    p.add_argument("--resume", action="store_true", help="continue exactly from RUN/ckpt/last.pt")
    p.add_argument("--force", action="store_true",
                   help="start afresh in an existing run folder (replaces its checkpoint and log)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. optim.lrs=[1e-4,1e-5]")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config (defaults, file and --set applied) as YAML and exit")
    return p


def check_run_folder(out, resume, force):
    """None when `out` may be trained into, else why not: an existing run (or any non-empty folder)
    is never overwritten without --force, and --resume needs its checkpoint."""
    ckpt = os.path.join(out, "ckpt", "last.pt")
    if os.path.exists(out) and not os.path.isdir(out):
        return f"--out {out}: exists and is not a folder"
    if resume:
        return None if os.path.isfile(ckpt) else f"--resume: no checkpoint at {ckpt}"
    if os.path.isdir(out) and os.listdir(out) and not force:
        what = "holds a training run" if os.path.exists(ckpt) or os.path.exists(os.path.join(out, "log.jsonl")) \
            else "is a non-empty folder"
        return f"--out {out} {what}; use --resume to continue it, --force to start afresh, or a new --out"
    return None


def check_data(roots, split):
    """None when every --data folder opens as a HOP, RHD or FreiHAND dataset with a readable list of
    `split` ids (HOP splits/, the RHD annotation pickle, FreiHAND's json lists), else the first problem."""
    from trainer.data import open_source
    for r in roots:
        if not os.path.isdir(r):
            return f"--data {r}: no such folder"
        try:
            open_source(r).ids(split)
        except ValueError as e:
            return str(e)
    return None


def main(argv=None):
    """Entry point; returns the exit code (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.print_config:
        missing = [flag for flag, value in (("--data", args.data), ("--out", args.out)) if not value]
        if missing:
            parser.error(f"the following arguments are required: {', '.join(missing)}")
    config = args.config
    if config is None and not (args.print_config and not args.resume):  # --print-config alone: the defaults
        config = os.path.join(args.out or ".", "config.yaml")
        if not (args.resume and os.path.isfile(config)):
            print("hopgen train: --config is required (unless --resume finds RUN/config.yaml)", file=sys.stderr)
            return 2
    from trainer.engine import train
    try:
        cfg = load_config(config, args.set)
    except (ConfigError, ValueError) as e:
        print(f"hopgen train: {e}", file=sys.stderr)
        return 2
    if args.print_config:
        import yaml

        from trainer.config import config_to_dict
        sys.stdout.write(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        return 0
    # Under torchrun only rank 0 judges the run folder: the others would see the files rank 0 has
    # just started writing (rank 0 failing ends the job for all).
    rank0 = int(os.environ.get("RANK", "0")) == 0
    problem = (check_run_folder(args.out, args.resume, args.force) if rank0 else None) or \
        check_data(args.data, cfg.data.train_split)
    if problem:
        print(f"hopgen train: {problem}", file=sys.stderr)
        return 2
    if args.force and not args.resume and int(os.environ.get("RANK", "0")) == 0:
        log = os.path.join(args.out, "log.jsonl")  # the old run's log (hopgen's file): a fresh run starts a new one
        if os.path.isfile(log):
            os.unlink(log)
    summary = train(cfg, args.data, args.out, resume=args.resume, progress=not args.no_progress)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
