"""`hopgen farm slurm`: render a dataset as a Slurm array job (one shard per task), then index and
validate it in a job that starts only when every task has succeeded (--dependency=afterok).

The array tasks run the packaged batch script (slurm_render.sh, also scripts/slurm_render.sh), which
runs the farm entry `blender -b --factory-startup --python-exit-code 1 -P blender_entry.py -- ...`
for shard SLURM_ARRAY_TASK_ID of --shards. Resources (cpus, memory, time, partition, account) are the
caller's own sbatch flags, given to both jobs.
"""

import os
import shlex
import subprocess
import sys

from hopgen.render.pipeline import RENDER_SCRIPT

SLURM_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slurm_render.sh")
# Flags that this command sets itself: the array is --shards (or --indices), logs go to OUT/logs.
_OWN_FLAGS = ("--array", "-a", "--dependency", "-d", "--parsable", "--wrap")


class FarmError(ValueError):
    """Bad farm arguments; raised before anything is submitted."""


def parse_indices(text, shards):
    """'1,5,8-10' -> [1, 5, 8, 9, 10]: array indices to (re-)run, each in 0..shards-1."""
    indices = set()
    for part in str(text).split(","):
        try:
            lo, _, hi = part.partition("-")
            lo, hi = int(lo), int(hi or lo)
        except ValueError:
            raise FarmError(f"--indices {text!r}: expected a list like 1,5,8-10") from None
        if not 0 <= lo <= hi < shards:
            raise FarmError(f"--indices {text!r}: {part} is outside 0-{shards - 1} (--shards {shards})")
        indices.update(range(lo, hi + 1))
    return sorted(indices)


def array_spec(indices):
    """Sorted indices -> sbatch's --array list with ranges, e.g. [0, 1, 2, 5] -> '0-2,5'."""
    parts, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ",".join(parts)


def _export_value(name, value):
    value = str(value)
    if "," in value:  # sbatch --export separates variables by commas
        raise FarmError(f"{name} {value!r}: sbatch --export cannot pass a value containing ','")
    return value


def slurm_jobs(config, out, shards, indices=None, blender=None, manifest=None, overrides=(),
               sbatch_flags=(), python=None):
    """The two sbatch command lines: (render array, index+validate job). The second holds the
    placeholder '{job}' for the array's job id."""
    if shards < 1:
        raise FarmError(f"--shards {shards}: need at least 1")
    for flag in sbatch_flags:
        if flag.split("=")[0] in _OWN_FLAGS:
            raise FarmError(f"sbatch flag {flag}: set by hopgen farm (--shards/--indices choose the array)")
    indices = list(range(shards)) if indices is None else indices
    out = os.path.abspath(out)
    logs = os.path.join(out, "logs")
    export = [f"HOPGEN_SHARDS={shards}", f"HOPGEN_ENTRY={_export_value('render entry', RENDER_SCRIPT)}"]
    if blender:
        export.append(f"HOPGEN_BLENDER={_export_value('--blender', blender)}")
    render_args = [os.path.abspath(config), out]
    if manifest:
        render_args += ["--manifest", os.path.abspath(manifest)]
    for o in overrides:
        render_args += ["--set", o]
    render = ["sbatch", "--parsable", "--job-name=hopgen-render", f"--array={array_spec(indices)}",
              f"--output={logs}/slurm-%A_%a.out", "--export=ALL," + ",".join(export), *sbatch_flags,
              SLURM_SCRIPT, *render_args]
    py = shlex.quote(python or sys.executable)
    check_cmd = (f"{py} -m hopgen.cli index {shlex.quote(out)} && "
                 f"{py} -m hopgen.cli validate {shlex.quote(out)}")
    check = ["sbatch", "--parsable", "--job-name=hopgen-check", "--dependency=afterok:{job}",
             f"--output={logs}/check-%j.out", *sbatch_flags, f"--wrap={check_cmd}"]
    return render, check


def shell_lines(out, render, check):
    """The jobs as shell lines to paste on the submit host."""
    def join(argv):
        return " ".join('"--dependency=afterok:$JOB"' if a == "--dependency=afterok:{job}" else shlex.quote(a)
                        for a in argv)
    return [f"mkdir -p {shlex.quote(os.path.join(os.path.abspath(out), 'logs'))}",
            f"JOB=$({join(render)})",
            "JOB=${JOB%%;*}  # --parsable prints JOBID[;CLUSTER]",
            join(check)]


def _sbatch(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True)
    except FileNotFoundError:
        raise FarmError("sbatch not found: run on a Slurm submit host, or drop --submit to print the lines") from None
    if r.returncode != 0:
        raise FarmError(f"sbatch failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout.strip().split(";")[0]  # --parsable: JOBID[;CLUSTER]


def submit(out, render, check):
    """Submit the array, then the index+validate job depending on it; returns both job ids."""
    os.makedirs(os.path.join(os.path.abspath(out), "logs"), exist_ok=True)  # Slurm opens --output first
    job = _sbatch(render)
    final = _sbatch([a.replace("{job}", job) for a in check])
    return job, final
