#!/usr/bin/env bash
# Render one shard of a HOP dataset per Slurm array task with the farm's Blender (3.4 - 5.0).
#   mkdir -p logs && sbatch --array=0-63 scripts/slurm_render.sh configs/hop.yaml /data/hop 64
# (Slurm opens --output before the script runs, so logs/ must exist at submission.)
#SBATCH --job-name=hopgen-render
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=logs/hopgen-%A_%a.out
set -euo pipefail
CONFIG=${1:?config}; OUT=${2:?output folder}; SHARDS=${3:?number of shards}
BLENDER=${BLENDER:-blender}
cd "$(dirname "$0")/.."
# A failure exits non-zero (--python-exit-code), so Slurm marks the task failed; re-running it resumes.
"$BLENDER" -b --factory-startup --python-exit-code 1 -P blender_scripts/render_hop.py -- \
  --config "$CONFIG" --out "$OUT" --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --threads "${SLURM_CPUS_PER_TASK:-0}"
