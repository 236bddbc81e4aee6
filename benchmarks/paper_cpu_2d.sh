#!/usr/bin/env bash
# CPU-scale Tables I and II (2D joints through the full-image pipeline, per-category AUC) on the 2,000-sample
# hop_cpu_s4 set (configs/hop_cpu.yaml, 128x128): every command that made the 2D numbers in
# benchmarks/results/paper_cpu_2d.md. One lane: one training at a time, train.threads=1, data loading in-process
# (data.workers 0), bf16 autocast on the CPU (train.amp_cpu: 1.6x faster steps on this AVX512-BF16 CPU).
#
#   0. the weight init (model.init default | kaiming) on the VAL split: seed 0 of HS-PoseNet and Ours-PoseNet
#      (the configs' beta 0.1) with each init, pipeline crop; rule fixed before the numbers: the init with the
#      higher mean of the two methods' val AUC wins, and every later run of every row uses it (--set model.init).
#   1. seed 0 of the three PoseNet rows: HS-PoseNet (= the init run of the chosen init), Ours w/o variational,
#      then Ours-PoseNet at each beta in $BETAS (loss.kl, the normalised KL weight), val split, pipeline crop;
#      the best val AUC wins and its seed-0 run is copied to ours_posenet_s0. Only init and beta were searched;
#      warm-up (300 steps), lr (1e-3, 1e-4 from step 900), steps, widths fixed beforehand.
#   2. seeds 1 and 2 of the three PoseNet rows; test reports table1 (pipeline crop), table1_gt_crop.
#   3. the Hourglass rows (Ours-Hourglass, HS-Hourglass): the init chosen on val again, by the same rule, from
#      their seed-0 runs with each init (the Hourglass has BatchNorm and residual sums, unlike the plain PoseNet
#      nets step 0 was decided on; report val_init_hourglass), then seeds in $HG_SEEDS (HG=0 skips them):
#      reports table1_hourglass, table1_hourglass_gt_crop (the beta of Ours-PoseNet, not searched again).
#   The GT-crop reports are the ablation that separates the crop from the heatmaps; predictions npz per run
#   under REPORT/predictions. REPORTS/STATUS_2D.txt says after every step what is final (the 3D lane reads it).
#
# Usage: benchmarks/paper_cpu_2d.sh [DATA] [RUNS] [REPORTS]   (defaults: /work/data/hop_cpu_s4,
#        /work/data/runs_s5/table1, /work/data/reports_s5). Each finished run folder gets a DONE file and
#        cpu_seconds.txt (user + sys CPU seconds of the training process, /usr/bin/time); a finished run is
#        never trained again, so the script resumes after a stop.
set -euo pipefail
DATA=${1:-/work/data/hop_cpu_s4}
RUNS=${2:-/work/data/runs_s5/table1}
REPORTS=${3:-/work/data/reports_s5}
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
PY=${PY:-/work/main/.venv/bin/python}
SEEDS=${SEEDS:-"0 1 2"}
INITS=${INITS:-"default kaiming"}
BETAS=${BETAS:-"0.01 0.1"}
INIT_BETA=0.1              # the configs' loss.kl: the beta of the init comparison
HG=${HG:-1}
HG_SEEDS=${HG_SEEDS:-"0 1 2"}
STEPS=${STEPS:-}            # empty: the configs' train.iterations (STEPS, BATCH, EVAL_MAX: only for a dry run)
EVAL=()
[ -n "${EVAL_MAX:-}" ] && EVAL=(--max-samples "$EVAL_MAX")
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=1   # one torch thread for the evaluations too: 2 spinning threads on a shared 2-core machine crawl
hopgen() { "$PY" -m hopgen.cli "$@"; }
mkdir -p "$RUNS/search" "$RUNS/init" "$REPORTS"
init=unchosen beta=unchosen hg_init=unchosen

status() {  # STATUS_2D.txt: the choices, the finished runs (DONE) and the written reports, atomically
  {
    echo "updated $(date -u +%FT%TZ) by benchmarks/paper_cpu_2d.sh; runs $RUNS, reports $REPORTS"
    echo "init: $init (val: $REPORTS/val_init)   beta (loss.kl): $beta (val: $REPORTS/val_beta)   Hourglass init: $hg_init (val: $REPORTS/val_init_hourglass)"
    echo "final runs (DONE):"
    for d in "$RUNS"/*/ "$RUNS"/init/*/ "$RUNS"/search/*/ "$RUNS"/init_hg/*/; do
      [ -f "$d/DONE" ] && echo "  ${d%/} $(cat "$d/cpu_seconds.txt" 2>/dev/null) CPU-s"
    done
    echo "final reports:"
    for r in val_init val_beta table1 table1_gt_crop val_init_hourglass table1_hourglass table1_hourglass_gt_crop; do
      [ -f "$REPORTS/$r/metrics.json" ] && echo "  $REPORTS/$r"
    done
  } > "$REPORTS/STATUS_2D.txt.tmp"
  mv "$REPORTS/STATUS_2D.txt.tmp" "$REPORTS/STATUS_2D.txt"
}

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
  status
}

reuse() {  # reuse SRC DST: DST is the finished run SRC (same config and seed), copied atomically
  local src=$1 dst=$2
  [ -f "$dst/DONE" ] && return
  rm -rf "$dst.tmp" "$dst"
  cp -r "$src" "$dst.tmp" && mv "$dst.tmp" "$dst"
}

best_of() {  # best_of METRICS PATTERN: the part of the best-val-AUC run name matched by the regex group
  "$PY" - "$1" "$2" <<'PYEOF'
import json, re, sys
m = json.load(open(sys.argv[1]))
print(re.search(sys.argv[2], max(m, key=lambda k: m[k]["auc"])).group(1))
PYEOF
}

choose_init() {  # choose_init REPORT: the init with the higher mean val AUC over the init runs of both methods
  "$PY" - "$1/metrics.json" <<'PYEOF'
import json, re, sys
m = json.load(open(sys.argv[1]))
by_init = {}
for run, r in m.items():
    by_init.setdefault(re.search(r"_(default|kaiming)_s0$", run).group(1), []).append(r["auc"])
print(max(by_init, key=lambda k: sum(by_init[k]) / len(by_init[k])))
PYEOF
}

evaluate() {  # evaluate SPLIT CROP OUT RUN...: report of the finished runs
  local split=$1 crop=$2 out=$3; shift 3
  local runs=()
  for r in "$@"; do [ -f "$r/DONE" ] && runs+=(--run "$r"); done
  [ ${#runs[@]} -gt 0 ] || return 0
  echo "$(date -u +%FT%TZ) eval $split $crop -> $out"
  hopgen eval "${runs[@]}" --data "$DATA" --split "$split" --crop "$crop" --out "$out" "${EVAL[@]}" > "$out.log" 2>&1
  status
}

init_on_val() {  # init_on_val NET DIR REPORT BETA: seed-0 runs of cpu_hs_NET and cpu_ours_NET per init in $INITS,
  # evaluated on val; the chosen init goes to REPORT/chosen.txt
  local net=$1 dir=$2 report=$3 beta=$4 i inits=()
  mkdir -p "$dir"
  for i in $INITS; do
    train "cpu_hs_$net" "$dir/hs_${net}_${i}_s0" 0 --set "model.init=$i"
    train "cpu_ours_$net" "$dir/ours_${net}_${i}_s0" 0 --set "model.init=$i" --set "loss.kl=$beta"
    inits+=("$dir/hs_${net}_${i}_s0" "$dir/ours_${net}_${i}_s0")
  done
  evaluate val pipeline "$report" "${inits[@]}"
  choose_init "$report" > "$report/chosen.txt"
  echo "$net init chosen on val: $(cat "$report/chosen.txt")"
}

# 0. the init, on val
status
init_on_val posenet "$RUNS/init" "$REPORTS/val_init" "$INIT_BETA"
init=$(cat "$REPORTS/val_init/chosen.txt")
status

# 1. seed 0 of the three PoseNet rows, the beta search on val
reuse "$RUNS/init/hs_posenet_${init}_s0" "$RUNS/hs_posenet_s0"
train cpu_ours_novar_posenet "$RUNS/ours_novar_posenet_s0" 0 --set "model.init=$init"
search=()
for b in $BETAS; do
  if [ "$b" = "$INIT_BETA" ]; then
    reuse "$RUNS/init/ours_posenet_${init}_s0" "$RUNS/search/ours_posenet_kl${b}_s0"
  else
    train cpu_ours_posenet "$RUNS/search/ours_posenet_kl${b}_s0" 0 --set "model.init=$init" --set "loss.kl=$b"
  fi
  search+=("$RUNS/search/ours_posenet_kl${b}_s0")
done
evaluate val pipeline "$REPORTS/val_beta" "${search[@]}"
beta=$(best_of "$REPORTS/val_beta/metrics.json" '_kl(.+)_s0$')
echo "$beta" > "$REPORTS/val_beta/chosen.txt"
echo "beta chosen on val: $beta"
reuse "$RUNS/search/ours_posenet_kl${beta}_s0" "$RUNS/ours_posenet_s0"
status

# 2. seeds 1, 2
for s in $SEEDS; do
  [ "$s" = 0 ] && continue
  train cpu_hs_posenet "$RUNS/hs_posenet_s$s" "$s" --set "model.init=$init"
  train cpu_ours_novar_posenet "$RUNS/ours_novar_posenet_s$s" "$s" --set "model.init=$init"
  train cpu_ours_posenet "$RUNS/ours_posenet_s$s" "$s" --set "model.init=$init" --set "loss.kl=$beta"
done
posenet=()
for m in hs_posenet ours_posenet ours_novar_posenet; do for s in $SEEDS; do posenet+=("$RUNS/${m}_s$s"); done; done
evaluate test pipeline "$REPORTS/table1" "${posenet[@]}"
evaluate test gt "$REPORTS/table1_gt_crop" "${posenet[@]}"

# 3. Hourglass rows
if [ "$HG" = 1 ]; then
  init_on_val hourglass "$RUNS/init_hg" "$REPORTS/val_init_hourglass" "$beta"
  hg_init=$(cat "$REPORTS/val_init_hourglass/chosen.txt")
  for m in hs_hourglass ours_hourglass; do reuse "$RUNS/init_hg/${m}_${hg_init}_s0" "$RUNS/${m}_s0"; done
  for s in $HG_SEEDS; do
    [ "$s" = 0 ] && continue
    train cpu_ours_hourglass "$RUNS/ours_hourglass_s$s" "$s" --set "model.init=$hg_init" --set "loss.kl=$beta"
    train cpu_hs_hourglass "$RUNS/hs_hourglass_s$s" "$s" --set "model.init=$hg_init"
  done
  hourglass=()
  for m in ours_hourglass hs_hourglass; do for s in $HG_SEEDS; do hourglass+=("$RUNS/${m}_s$s"); done; done
  evaluate test pipeline "$REPORTS/table1_hourglass" "${hourglass[@]}"
  evaluate test gt "$REPORTS/table1_hourglass_gt_crop" "${hourglass[@]}"
fi
echo "$(date -u +%FT%TZ) all done"
