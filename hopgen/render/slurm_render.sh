#!/usr/bin/env bash
# One Slurm array task renders one shard of a HOP dataset with the farm's Blender (3.4 - 5.0).
#
#   sbatch --array=0-63 --cpus-per-task=8 --mem=8G --time=04:00:00 scripts/slurm_render.sh CONFIG OUT [--set K=V ...]
#   hopgen farm slurm CONFIG OUT --shards 64 -- --cpus-per-task=8   # prints these lines, plus the index/validate job
#
# Resources (cpus, memory, time, partition) come from sbatch's own flags; Cycles uses the task's CPUs.
# Shard count: HOPGEN_SHARDS when set (re-running some indices: `sbatch --array=5,17
# --export=ALL,HOPGEN_SHARDS=64 ...`), otherwise the array itself, which must then be 0-(N-1).
# sbatch runs a copy of this file from its spool folder, so the project is found from HOPGEN_ENTRY
# (set by `hopgen farm slurm`), the submit directory (a checkout) or an installed hopgen package.
# The task's output goes to OUT/logs/shard-I-of-N.JOBID.log (folder created here). Any failure exits
# non-zero, so Slurm marks the task FAILED; re-running a task resumes where it stopped.
# Environment: HOPGEN_BLENDER (default: blender on PATH), HOPGEN_PYTHON (default python3; used only to
# find an installed hopgen).
set -euo pipefail
die() { echo "slurm_render.sh: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: sbatch --array=0-N-1 slurm_render.sh CONFIG OUT [render options]"
CONFIG=$1; OUT=$2; shift 2
[ -n "${SLURM_ARRAY_TASK_ID:-}" ] || die "not an array task: submit with sbatch --array=0-N-1"
INDEX=$SLURM_ARRAY_TASK_ID

if [ -n "${HOPGEN_SHARDS:-}" ]; then
  SHARDS=$HOPGEN_SHARDS
elif [ "${SLURM_ARRAY_TASK_MIN}" = 0 ] && [ "$((SLURM_ARRAY_TASK_MAX + 1))" = "${SLURM_ARRAY_TASK_COUNT}" ]; then
  SHARDS=$SLURM_ARRAY_TASK_COUNT
else
  die "array ${SLURM_ARRAY_TASK_MIN}-${SLURM_ARRAY_TASK_MAX} (${SLURM_ARRAY_TASK_COUNT} tasks) is not 0-(N-1):" \
      "to re-run some indices of an N-shard run pass --export=ALL,HOPGEN_SHARDS=N"
fi
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] && [ "$INDEX" -lt "$SHARDS" ] || die "shard $INDEX of $SHARDS: need 0 <= index < shards"

ENTRY=${HOPGEN_ENTRY:-}
if [ -z "$ENTRY" ] && [ -f "${SLURM_SUBMIT_DIR:-}/blender_scripts/render_hop.py" ]; then
  ENTRY=$SLURM_SUBMIT_DIR/blender_scripts/render_hop.py
fi
if [ -z "$ENTRY" ]; then
  ENTRY=$("${HOPGEN_PYTHON:-python3}" -c \
    'import importlib.util as u; print(u.find_spec("hopgen.render.blender_entry").origin)' 2>/dev/null) ||
    die "no hopgen found: submit from a hopgen checkout, install hopgen for ${HOPGEN_PYTHON:-python3}, or set HOPGEN_ENTRY"
fi
[ -f "$ENTRY" ] || die "render entry $ENTRY does not exist"
BLENDER=${HOPGEN_BLENDER:-blender}
command -v "$BLENDER" >/dev/null || die "Blender '$BLENDER' not found on $(hostname) (set HOPGEN_BLENDER)"

mkdir -p "$OUT/logs"
LOG=$OUT/logs/shard-$INDEX-of-$SHARDS.${SLURM_JOB_ID:-0}.log
echo "hopgen shard $INDEX/$SHARDS on $(hostname): log $LOG"
exec >>"$LOG" 2>&1
echo "hopgen shard $INDEX/$SHARDS, job ${SLURM_JOB_ID:-?} (array ${SLURM_ARRAY_JOB_ID:-?}), $(hostname), $(date -u +%FT%TZ)"
# --python-exit-code: a Python error (or any failed sample) makes Blender exit 1, so the task is FAILED.
exec "$BLENDER" -b --factory-startup --python-exit-code 1 -P "$ENTRY" -- \
  --config "$CONFIG" --out "$OUT" --shard "$INDEX/$SHARDS" \
  --threads "${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-0}}" "$@"
