#!/usr/bin/env bash
# The paper's Tables I-IV at PAPER scale, one command: trains the paper configs (configs/train/*.yaml without
# cpu_ / tiny_) for every seed, evaluates them on the test split and writes OUT/paper_tables.json + report.md
# with `hopgen tables --scale paper` (the same generator as the CPU-scale benchmarks/results/paper_tables.json).
#
#   scripts/paper_tables.sh DATA [OUT]        DATA: a rendered, indexed HOP folder (configs/hop.yaml; README
#                                             "Reproducing Tables I-IV at paper scale"); OUT default runs_paper
#   DRY_RUN=1 scripts/paper_tables.sh DATA    print the plan (every command, in order) and exit
#
# Phase 1 (independent): Tables I/II 2D runs (ours_posenet, hs_posenet, ours_hourglass, ours_novar_posenet,
# hs_hourglass) and Table III lifters on GT heatmaps (poseprior_gt, ours_triplet_gt,
# ours_cluster_gt, ours_novar_gt), SEEDS each (default "0 1 2", train.seed). Phase 2: Table IV (full_zb,
# full_ours_novar, full_ours_cluster, full_ours_triplet) on the predicted heatmaps of the phase-1 2D run of the
# same seed (lift.run2d). Runs are dealt round-robin to GPUS GPUs (default: nvidia-smi -L), one run per GPU at a
# time (CUDA_VISIBLE_DEVICES); a finished run holds DONE and is skipped, an interrupted one is resumed
# (hopgen train --resume). Then: hopgen eval per table (Table I also on GT crops) and hopgen tables.
# EXTRA="--set k=v ..." is appended to every training (e.g. a shorter schedule). Python: HOPGEN_PYTHON, else
# .venv/bin/python, else python3; hopgen runs from this checkout (PYTHONPATH). Logs: OUT/logs/RUN.log.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: scripts/paper_tables.sh DATA [OUT]   (DRY_RUN=1 prints the plan)}
OUT=${2:-runs_paper}
SEEDS=${SEEDS:-0 1 2}
C=configs/train
if [ -z "${HOPGEN_PYTHON:-}" ]; then
  HOPGEN_PYTHON=python3; [ -x .venv/bin/python ] && HOPGEN_PYTHON=.venv/bin/python
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${GPUS:-}" ]; then GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
[ "${GPUS:-0}" -ge 1 ] 2>/dev/null || GPUS=1
R=$OUT/runs; REP=$OUT/reports
hopgen() { if [ -n "${DRY_RUN:-}" ]; then echo "hopgen $*"; else "$HOPGEN_PYTHON" -m hopgen.cli "$@"; fi; }

[ -n "${DRY_RUN:-}" ] || { [ -f "$DATA/dataset.json" ] || { echo "scripts/paper_tables.sh: $DATA: no dataset.json (render and index a HOP folder first)" >&2; exit 2; }; }
TABLE1="ours_posenet hs_posenet ours_hourglass hs_hourglass ours_novar_posenet"
TABLE3="poseprior_gt ours_triplet_gt ours_cluster_gt ours_novar_gt"
declare -A RUN2D=([full_zb]=hs_posenet [full_ours_novar]=ours_novar_posenet [full_ours_cluster]=ours_posenet
                  [full_ours_triplet]=ours_posenet)
TABLE4="full_zb full_ours_novar full_ours_cluster full_ours_triplet"
for c in $TABLE1 $TABLE3 $TABLE4; do [ -f "$C/$c.yaml" ] || { echo "scripts/paper_tables.sh: $C/$c.yaml missing" >&2; exit 2; }; done

train_one() {  # train_one GPU CONFIG SEED [--set ...]: OUT/runs/CONFIG_sSEED, skipped when DONE, resumed when interrupted
  local gpu=$1 cfg=$2 seed=$3; shift 3
  local run=$R/${cfg}_s$seed
  [ -f "$run/DONE" ] && { echo "done already: $run"; return 0; }
  local how=(--config "$C/$cfg.yaml")
  [ -f "$run/ckpt/last.pt" ] && how=(--resume)
  if [ -n "${DRY_RUN:-}" ]; then
    echo "CUDA_VISIBLE_DEVICES=$gpu hopgen train ${how[*]} --data $DATA --out $run --no-progress --set train.seed=$seed $* ${EXTRA:-}"
    return 0
  fi
  mkdir -p "$OUT/logs"
  CUDA_VISIBLE_DEVICES=$gpu "$HOPGEN_PYTHON" -m hopgen.cli train "${how[@]}" --data "$DATA" --out "$run" --no-progress \
    --set train.seed="$seed" "$@" ${EXTRA:-} > "$OUT/logs/${cfg}_s$seed.log" 2>&1
  touch "$run/DONE"
}

run_phase() {  # run_phase JOB...: each JOB "CONFIG SEED [--set ...]"; GPU g takes jobs g, g+GPUS, ... in order
  local g pids=() jobs=("$@")
  for ((g = 0; g < GPUS; g++)); do
    ( for ((i = g; i < ${#jobs[@]}; i += GPUS)); do train_one "$g" ${jobs[i]} || exit 1; done ) &
    pids+=($!)
    [ -z "${DRY_RUN:-}" ] || wait "$!"  # the plan in a stable order
  done
  local bad=0
  for p in "${pids[@]}"; do wait "$p" || bad=1; done
  [ "$bad" = 0 ] || { echo "scripts/paper_tables.sh: a training failed (logs in $OUT/logs)" >&2; exit 1; }
}

runs_of() {  # runs_of CONFIG...: --run flags of every seed
  local c s; for c in "$@"; do for s in $SEEDS; do printf -- '--run %s ' "$R/${c}_s$s"; done; done
}

phase1=() phase4=()
for s in $SEEDS; do
  for c in $TABLE1 $TABLE3; do phase1+=("$c $s"); done
  for c in $TABLE4; do phase4+=("$c $s --set lift.run2d=$R/${RUN2D[$c]}_s$s"); done
done
run_phase "${phase1[@]}"
run_phase "${phase4[@]}"
# shellcheck disable=SC2046
{
  hopgen eval --split test --data "$DATA" --out "$REP/table1" $(runs_of $TABLE1)
  hopgen eval --split test --crop gt --data "$DATA" --out "$REP/table1_gt_crop" $(runs_of $TABLE1)
  hopgen eval --split test --data "$DATA" --out "$REP/table3" $(runs_of $TABLE3)
  hopgen eval --split test --data "$DATA" --out "$REP/table4" $(runs_of $TABLE4)
  hopgen tables --scale paper --data "$DATA" --out "$OUT/paper_tables.json" \
    --reports "$REP/table1" --reports "$REP/table1_gt_crop" --reports "$REP/table3" --reports "$REP/table4"
}
