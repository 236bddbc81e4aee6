"""The `hopgen` command: generate HOP datasets with Blender, inspect them, train and evaluate models.

`main` runs one subcommand (parser in hopgen.cli.parser, handlers in hopgen.cli.commands) and turns every
failure into a one-line message with a non-zero exit code.
"""

import os
import sys

from hopgen.cli.commands import CommandError, cmd_eval, cmd_pack, cmd_predict, cmd_tables, cmd_train
from hopgen.cli.parser import build_parser

__all__ = ["CommandError", "build_parser", "main"]


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
