#!/usr/bin/env bash
# CPU-scale reproduction of the paper's 3D tables (issue 13): Table III (3D from GT heatmaps) and
# Table IV (the whole pipeline, 2D stage fine-tuned jointly). Every number in
# benchmarks/results/cpu_scale/table3_val, table3 and table4 comes from these commands.
#
#   benchmarks/paper_cpu_3d.sh val        # hyperparameter search on the VAL split (seed 0)
#   benchmarks/paper_cpu_3d.sh table3     # PosePrior / Ours (triplet) / Ours (cluster), seeds 0 1 2, TEST split
#   benchmarks/paper_cpu_3d.sh ablation   # ablations on VAL (latent size, KL weight, metric weight, steps)
#   benchmarks/paper_cpu_3d.sh table4     # Table IV from the 2D runs in $RUNS/table1 (see the 2D script)
#
# Data: the 2,000-sample 128x128 render of configs/hop_cpu.yaml in $DATA (train 1628 / val 72 / test 300).
# Runs: one thread each (train.threads=1), two side by side; measured runs at normal priority.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
DATA=${DATA:-/work/data/hop_cpu}
RUNS=${RUNS:-/work/data/runs}
REPORTS=${REPORTS:-/work/data/reports}
JOBS=${JOBS:-2}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

train() {  # train OUT CONFIG [--set k=v ...]   (skips a finished run: OUT/DONE)
  local out=$1 cfg=$2; shift 2
  [ -f "$out/DONE" ] && return 0
  rm -rf "$out"; mkdir -p "$out"
  local t0=$(date +%s)
  /usr/bin/time -f "%U %S %e" -o "$out/time.txt" \
    $PY -m hopgen.cli train --config "$cfg" --data "$DATA" --out "$out" --no-progress "$@" > "$out/train.out" 2>&1
  touch "$out/DONE"
  echo "$(basename "$out"): $(( $(date +%s) - t0 )) s wall, cpu $(awk '{print $1+$2}' "$out/time.txt") s"
}

evaluate() {  # evaluate SPLIT REPORT RUN...
  local split=$1 rep=$2; shift 2
  $PY -m hopgen.cli eval --split "$split" --data "$DATA" --out "$rep" $(printf -- '--run %s ' "$@") > /dev/null
}

parallel() {  # run the lines of stdin as commands, $JOBS at a time
  local n=0
  while read -r line; do
    eval "$line" &
    n=$((n + 1))
    if [ $n -ge "$JOBS" ]; then wait -n; n=$((n - 1)); fi
  done
  wait
}

C=configs/train
VAL_STEPS='--set train.iterations=1000 --set optim.milestones=[800] --set lift.loss.kl_warmup=300 --set lift.cluster_warmup=300'

case "${1:-}" in
val)
  # Search (seed 0, 1000 steps, VAL split, 72 samples): beta = lift.loss.kl in {0.001, 0.01, 0.1} for triplet
  # (weight 0.1), triplet weight {0.1, 1} and cluster weight {0.1, 1} at beta 0.01; PosePrior as the reference.
  V=$RUNS/table3val
  {
    echo "train $V/poseprior $C/cpu_poseprior_3d.yaml $VAL_STEPS"
    for kl in 0.01 0.1 0.001; do
      echo "train $V/triplet_kl${kl}_w0.1 $C/cpu_ours_triplet_3d.yaml $VAL_STEPS --set lift.loss.kl=$kl --set lift.loss.triplet=0.1"
    done
    echo "train $V/triplet_kl0.01_w1 $C/cpu_ours_triplet_3d.yaml $VAL_STEPS --set lift.loss.kl=0.01 --set lift.loss.triplet=1.0"
    for w in 0.1 1.0; do
      echo "train $V/cluster_kl0.01_w$w $C/cpu_ours_cluster_3d.yaml $VAL_STEPS --set lift.loss.kl=0.01 --set lift.loss.cluster=$w"
    done
  } | parallel
  evaluate val "$REPORTS/table3val" "$V"/*/
  $PY -m benchmarks.summarise_3d "$REPORTS/table3val" benchmarks/results/cpu_scale/table3_val.json
  ;;
table3)
  T=$RUNS/table3
  {
    for s in 0 1 2; do
      for m in poseprior ours_triplet ours_cluster; do
        echo "train $T/${m}_s$s $C/cpu_${m}_3d.yaml --set train.seed=$s"
      done
    done
  } | parallel
  evaluate test "$REPORTS/table3" "$T"/*_s[0-9]/  # metrics.json of all nine, predictions/RUN.npz per run
  ;;
*)
  echo "usage: $0 val|table3|ablation|table4" >&2; exit 2 ;;
esac
