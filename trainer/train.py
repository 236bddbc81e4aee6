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
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. optim.lrs=[1e-4,1e-5]")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved config (defaults, file and --set applied) as YAML and exit")
    return p


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
    summary = train(cfg, args.data, args.out, resume=args.resume, progress=not args.no_progress)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
