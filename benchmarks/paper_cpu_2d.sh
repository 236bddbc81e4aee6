#!/usr/bin/env bash
# CPU-scale Tables I and II (2D joints through the full-image pipeline, per-category AUC) on the 2,000-sample
# hop_cpu_s4 set (configs/hop_cpu.yaml rendered with this session's code, 128x128): every command that made
# the 2D numbers in benchmarks/results/paper_cpu_2d.md. One lane: one training at a time, train.threads=1,
# data loading in-process (data.workers 0), bf16 autocast on the CPU (train.amp_cpu: 1.6x faster steps on
# this AVX512-BF16 CPU, measured in paper_cpu_2d.md).
#
#   1. seed 0 first (the 3D helper's Table IV starts from these runs): HS-PoseNet, Ours w/o variational,
#      then Ours-PoseNet at each beta in $BETAS (loss.kl, the normalised KL weight), evaluated on the VAL
#      split with the pipeline crop; the best val AUC wins and its seed-0 run is copied to ours_posenet_s0.
#      Only beta was searched; warm-up (300 steps), lr (1e-3, 1e-4 from step 900), steps, widths fixed beforehand.
#   2. seeds 1 and 2 of the three PoseNet rows; 3. the Hourglass rows (Ours-Hourglass, HS-Hourglass), seeds
#      in $HG_SEEDS, as long as the machine's budget allows (HG=0 skips them).
#   4. hopgen eval on test: pipeline crop (Tables I, II) and GT crop (the ablation that separates the crop from
#      the heatmaps), predictions npz per run under REPORTS/predictions.
#
# Usage: benchmarks/paper_cpu_2d.sh [DATA] [RUNS] [REPORTS]   (defaults: /work/data/hop_cpu_s4,
#        /work/data/runs_s4/table1, /work/data/reports_s4). Reports: REPORTS/table1 (pipeline crop, test),
#        REPORTS/table1_gt_crop, REPORTS/val_beta. Each finished run folder gets a DONE file and cpu_seconds.txt
#        (user + sys CPU seconds of the training process, /usr/bin/time).
set -euo pipefail
DATA=${1:-/work/data/hop_cpu_s4}
RUNS=${2:-/work/data/runs_s4/table1}
REPORTS=${3:-/work/data/reports_s4}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-/work/main/.venv/bin/python}
SEEDS=${SEEDS:-"0 1 2"}
BETAS=${BETAS:-"0.01 0.1"}
HG=${HG:-1}
HG_SEEDS=${HG_SEEDS:-"0"}
STEPS=${STEPS:-}            # empty: the configs' train.iterations (STEPS, BATCH, EVAL_MAX: only for a dry run)
EVAL=()
[ -n "${EVAL_MAX:-}" ] && EVAL=(--max-samples "$EVAL_MAX")
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=1   # one torch thread for the evaluations too: 2 spinning threads on a shared 2-core machine crawl
hopgen() { "$PY" -m hopgen.cli "$@"; }
mkdir -p "$RUNS/search" "$REPORTS"

train() {  # train CONFIG OUT SEED [--set ...]: skip a finished run (DONE), else train from scratch
  local config=$1 out=$2 seed=$3; shift 3
  if [ -f "$out/DONE" ]; then echo "done already: $out"; return; fi
  rm -rf "$out"
  local extra=()
  [ -n "$STEPS" ] && extra+=(--set "train.iterations=$STEPS")
  [ -n "${BATCH:-}" ] && extra+=(--set "data.batch_size=$BATCH")
  echo "$(date -u +%FT%TZ) train $out"
  /usr/bin/time -f "%U %S" -o "$out.cpu" "$PY" -m hopgen.cli train --config "$REPO/configs/train/$config.yaml" \
    --data "$DATA" --out "$out" --no-progress --set train.threads=1 --set "train.seed=$seed" "${extra[@]}" "$@"
  awk '{printf "%.1f\n", $1 + $2}' "$out.cpu" > "$out/cpu_seconds.txt" && rm -f "$out.cpu"
  touch "$out/DONE"
  echo "$(date -u +%FT%TZ) done $out ($(cat "$out/cpu_seconds.txt") CPU-s)"
}

choose_beta() {  # the beta whose seed-0 run has the best val AUC (pipeline crop)
  "$PY" - "$REPORTS/val_beta/metrics.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
best = max(m, key=lambda k: m[k]["auc"])
print(best.split("_kl")[1].rsplit("_s", 1)[0])
PYEOF
}

evaluate() {  # evaluate CROP OUT RUN...: test-split report of the finished runs
  local crop=$1 out=$2; shift 2
  local runs=()
  for r in "$@"; do [ -f "$r/DONE" ] && runs+=(--run "$r"); done
  [ ${#runs[@]} -gt 0 ] || return 0
  hopgen eval "${runs[@]}" --data "$DATA" --split test --crop "$crop" --out "$out" "${EVAL[@]}" > "$out.log" 2>&1
}

# 1. seed 0 of the three PoseNet rows, the beta search on val
train cpu_hs_posenet "$RUNS/hs_posenet_s0" 0
train cpu_ours_novar_posenet "$RUNS/ours_novar_posenet_s0" 0
search=()
for b in $BETAS; do
  train cpu_ours_posenet "$RUNS/search/ours_posenet_kl${b}_s0" 0 --set "loss.kl=$b"
  search+=(--run "$RUNS/search/ours_posenet_kl${b}_s0")
done
hopgen eval "${search[@]}" --data "$DATA" --split val --out "$REPORTS/val_beta" "${EVAL[@]}" > "$REPORTS/val_beta.log" 2>&1
beta=$(choose_beta)
echo "$beta" > "$REPORTS/val_beta/chosen.txt"
echo "beta chosen on val: $beta"
if [ ! -f "$RUNS/ours_posenet_s0/DONE" ]; then  # the seed-0 run of the chosen beta is the search run
  rm -rf "$RUNS/ours_posenet_s0.tmp"
  cp -r "$RUNS/search/ours_posenet_kl${beta}_s0" "$RUNS/ours_posenet_s0.tmp"
  mv "$RUNS/ours_posenet_s0.tmp" "$RUNS/ours_posenet_s0"
fi

# 2. seeds 1, 2
for s in $SEEDS; do
  [ "$s" = 0 ] && continue
  train cpu_hs_posenet "$RUNS/hs_posenet_s$s" "$s"
  train cpu_ours_novar_posenet "$RUNS/ours_novar_posenet_s$s" "$s"
  train cpu_ours_posenet "$RUNS/ours_posenet_s$s" "$s" --set "loss.kl=$beta"
done
posenet=()
for m in hs_posenet ours_posenet ours_novar_posenet; do for s in $SEEDS; do posenet+=("$RUNS/${m}_s$s"); done; done
evaluate pipeline "$REPORTS/table1" "${posenet[@]}"
evaluate gt "$REPORTS/table1_gt_crop" "${posenet[@]}"

# 3. Hourglass rows
if [ "$HG" = 1 ]; then
  for s in $HG_SEEDS; do
    train cpu_ours_hourglass "$RUNS/ours_hourglass_s$s" "$s" --set "loss.kl=$beta"
    train cpu_hs_hourglass "$RUNS/hs_hourglass_s$s" "$s"
  done
  hourglass=()
  for m in ours_hourglass hs_hourglass; do for s in $HG_SEEDS; do hourglass+=("$RUNS/${m}_s$s"); done; done
  evaluate pipeline "$REPORTS/table1_hourglass" "${hourglass[@]}"
fi
echo "$(date -u +%FT%TZ) all done"
