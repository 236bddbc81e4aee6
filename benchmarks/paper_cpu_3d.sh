#!/usr/bin/env bash
# CPU-scale reproduction of the paper's 3D tables (issue 13): Table III (3D from GT heatmaps) and Table IV (the
# whole pipeline, 2D stage fine-tuned jointly, lifter initialised from Table III). Every number in
# benchmarks/results/cpu_scale/table3_3d.md comes from these commands, in this order:
#
#   benchmarks/paper_cpu_3d.sh search    # VAL search, seed 0: beta x metric weight for Ours (triplet) / (cluster)
#   benchmarks/paper_cpu_3d.sh table3    # PosePrior / Ours (triplet) / Ours (cluster), seeds 0 1 2, TEST split
#   benchmarks/paper_cpu_3d.sh novar     # the GT-heatmap run of the "Ours w/o variational" lifter (Table IV init)
#   benchmarks/paper_cpu_3d.sh table4    # Table IV from the 2D runs in $RUNS/table1 (the 2D helper's script)
#   benchmarks/paper_cpu_3d.sh ablation [GROUP...]  # VAL ablations: weight kl latent steps seed (see the case below)
#   benchmarks/paper_cpu_3d.sh tables    # benchmarks/results/paper_tables.json + report.md from every report there is
#
# Data: the 2,000-sample 128x128 render of configs/hop_cpu.yaml made with this session's code ($DATA).
# Runs: one at a time (one CPU lane), one torch thread (train.threads=1), normal priority; each run folder gets
# DONE and time.txt (user sys wall seconds of the training process, /usr/bin/time). EXTRA="--set k=v ..." is
# appended to every training (a dry run: EXTRA="--set train.iterations=3" with other RUNS/REPORTS); NOEVAL=1 trains
# without evaluating (table3 / novar / table4), for a later call that evaluates every seed at once.
set -euo pipefail
cd "${HOPGEN_ROOT:-$(dirname "$0")/..}"  # HOPGEN_ROOT: the checkout, when running a copy of this script
PY=${PY:-/work/main/.venv/bin/python}
DATA=${DATA:-/work/data/hop_cpu_s4}
RUNS=${RUNS:-/work/data/runs_s4}
REPORTS=${REPORTS:-/work/data/reports_s4}
RES=${RES:-benchmarks/results/cpu_scale}
CHOICE=$RES/table3_val_choice.json
SEEDS=${SEEDS:-0 1 2}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=1  # evaluations too: one lane

train() {  # train OUT CONFIG [--set k=v ...]   (skips a finished run: OUT/DONE)
  local out=$1 cfg=$2; shift 2
  [ -f "$out/DONE" ] && { echo "done already: $out"; return 0; }
  rm -rf "$out"; mkdir -p "$(dirname "$out")"
  echo "$(date -u +%FT%TZ) train $out $*"
  # hopgen train wants an empty or new --out: time and log go next to it first, then into it
  /usr/bin/time -f "%U %S %e" -o "$out.time.txt" \
    $PY -m hopgen.cli train --config "$cfg" --data "$DATA" --out "$out" --no-progress "$@" ${EXTRA:-} > "$out.train.out" 2>&1
  mv "$out.time.txt" "$out/time.txt"; mv "$out.train.out" "$out/train.out"
  touch "$out/DONE"
  echo "$(basename "$out"): cpu $(awk '{print $1+$2}' "$out/time.txt") s, wall $(awk '{print $3}' "$out/time.txt") s"
}

reuse_or_train() {  # reuse_or_train OUT CONFIG [--set ...]: copy a finished run of PREV with the same resolved config, else train
  local out=$1 src
  if [ ! -f "$out/DONE" ] && [ -n "${PREV:-}" ]; then
    src=$($PY -c "
import glob, os, sys, yaml
from trainer.config import config_from_dict, config_to_dict, load_config
cfg, sets = sys.argv[2], [a for a in sys.argv[3:] if a != '--set']
want = config_to_dict(load_config(cfg, sets))
for src in sorted(glob.glob(os.path.join(sys.argv[1], '*', '*_s[0-9]'))):
    if os.path.isfile(os.path.join(src, 'DONE')) and os.path.isfile(os.path.join(src, 'config.yaml')):
        if config_to_dict(config_from_dict(yaml.safe_load(open(os.path.join(src, 'config.yaml'))))) == want:
            print(src); break" "$PREV" "${@:2}")
    if [ -n "$src" ]; then
      rm -rf "$out"; mkdir -p "$(dirname "$out")"; cp -a "$src" "$out"; echo "$src" > "$out/COPIED_FROM"
      echo "$(basename "$out"): copied from $src (same resolved config)"; return 0
    fi
  fi
  train "$@"
}

evaluate() {  # evaluate SPLIT REPORT RUN...   (metrics.json, report.md, predictions/RUN.npz per run)
  local split=$1 rep=$2; shift 2
  echo "$(date -u +%FT%TZ) eval $split -> $rep ($# runs)"
  $PY -m hopgen.cli eval --split "$split" --data "$DATA" --out "$rep" $(printf -- '--run %s ' "$@") > /dev/null
}

chosen() {  # chosen METHOD FIELD: the VAL search's choice (kl | weight) for ours_triplet / ours_cluster
  $PY -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])" "$CHOICE" "$1" "$2"
}

metric_of() { case $1 in ours_triplet) echo triplet ;; *) echo cluster ;; esac; }

sets_of() {  # sets_of METHOD: --set lines for the chosen lifting loss of METHOD (none for poseprior)
  case $1 in
    ours_triplet|ours_cluster) echo "--set lift.loss.kl=$(chosen "$1" kl) --set lift.loss.$(metric_of "$1")=$(chosen "$1" weight)" ;;
    ours_novar) echo "--set lift.loss.cluster=$(chosen ours_cluster weight)" ;;
  esac
}

C=configs/train
KLS=${KLS:-0.01 0.1}
WEIGHTS=${WEIGHTS:-0.1 1}

case "${1:-}" in
search)
  # VAL (72 samples), seed 0: beta (lift.loss.kl) x metric weight for the two ours lifters, at the Table III
  # budget; every other setting fixed beforehand. The choice (best val AUC) goes to $CHOICE; the seed-0 Table III
  # run of a method is its chosen search run (the same config and seed: training is deterministic).
  V=$RUNS/table3val
  for m in ours_triplet ours_cluster; do
    for kl in $KLS; do for w in $WEIGHTS; do
      train "$V/${m}_kl${kl}_w${w}_s0" "$C/cpu_${m}_3d.yaml" --set lift.loss.kl=$kl --set "lift.loss.$(metric_of $m)=$w"
    done; done
  done
  evaluate val "$REPORTS/table3val" "$V"/ours_*_kl*_w*_s0/
  $PY -m benchmarks.summarise_3d "$REPORTS/table3val" $RES/table3_val.json
  $PY -m benchmarks.summarise_3d --choose "$REPORTS/table3val" "$CHOICE"
  ;;
table3)
  T=$RUNS/table3
  for s in $SEEDS; do
    for m in ${METHODS:-poseprior ours_triplet ours_cluster}; do
      out=$T/${m}_s$s
      if [ "$s" = 0 ] && [ "$m" != poseprior ] && [ ! -f "$out/DONE" ]; then  # the chosen search run itself
        src=$RUNS/table3val/$(chosen "$m" run)
        [ -f "$src/DONE" ] || { echo "table3: $src not finished" >&2; exit 1; }
        rm -rf "$out"; mkdir -p "$T"; cp -a "$src" "$out"; echo "$src" > "$out/COPIED_FROM"
        echo "$(basename "$out"): copied from $src"
        continue
      fi
      train "$out" "$C/cpu_${m}_3d.yaml" --set train.seed=$s $(sets_of $m)
    done
  done
  [ -n "${NOEVAL:-}" ] && exit 0
  evaluate test "$REPORTS/table3" "$T"/*_s[0-9]/
  $PY -m benchmarks.summarise_3d "$REPORTS/table3" $RES/table3.json
  ;;
novar)
  # Not a Table III row of the paper: the GT-heatmap run of the deterministic lifter that Table IV's
  # "Ours w/o variational" starts from (cluster weight: the one chosen for Ours (cluster)).
  N=$RUNS/table3_novar
  for s in $SEEDS; do train "$N/ours_novar_s$s" "$C/cpu_ours_novar_3d.yaml" --set train.seed=$s $(sets_of ours_novar); done
  [ -n "${NOEVAL:-}" ] && exit 0
  evaluate test "$REPORTS/table3_novar" "$N"/ours_novar_s[0-9]/
  $PY -m benchmarks.summarise_3d "$REPORTS/table3_novar" $RES/table3_novar.json
  ;;
table4)
  # Table IV: each row starts from the matching 2D run of the 2D script (RUNS/table1/<2D run>_sSEED, finished when
  # it holds DONE) and from the Table III run of its lifter (same seed), and trains {q_h, p_h, p_j, q_j, p_p}
  # jointly; the crop settings come from the 2D run. ROWS picks rows; T4 names the folders. RUNS2D / RUNS3D: where the
  # 2D runs (RUNS2D/table1) and the Table III runs (RUNS3D/table3, RUNS3D/table3_novar) are, when not in RUNS.
  T4=${T4:-table4}; F=$RUNS/$T4
  for s in $SEEDS; do
    for row in ${ROWS:-zb:hs_posenet:table3/poseprior ours_novar:ours_novar_posenet:table3_novar/ours_novar \
               ours_cluster:ours_posenet:table3/ours_cluster ours_triplet:ours_posenet:table3/ours_triplet}; do
      IFS=: read -r m r2 r3 <<< "$row"
      r2=${RUNS2D:-$RUNS}/table1/${r2}_s$s r3=${RUNS3D:-$RUNS}/${r3}_s$s
      [ -f "$r2/DONE" ] || { echo "table4: $r2 not finished, skipping $m seed $s" >&2; continue; }
      [ -f "$r3/DONE" ] || { echo "table4: $r3 not finished, skipping $m seed $s" >&2; continue; }
      sets=$($PY -c "import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))['data']
print(' '.join(f'--set data.{k}={d[k]}' for k in ('crop', 'heatmap_stride', 'sigma', 'crop_min', 'crop_max', 'seg_crop', 'seg_target') if k in d))" "$r2/config.yaml")
      lossm=$m; [ "$m" = zb ] && lossm=poseprior
      train "$F/${m}_s$s" "$C/cpu_full_${m}_3d.yaml" --set lift.run2d=$r2 --set lift.init_from=$r3 --set train.seed=$s \
        $sets $(sets_of $lossm)
    done
  done
  [ -n "${NOEVAL:-}" ] && exit 0  # NOEVAL=1: train only (one evaluation of every seed at the end)
  evaluate test "$REPORTS/$T4" "$F"/*_s[0-9]/
  $PY -m benchmarks.summarise_3d "$REPORTS/$T4" $RES/$T4.json
  ;;
ablation)
  # Ablations (issue 13: latent size, KL weight, metric-loss weight, steps) on VAL, one hyperparameter at a time
  # around the chosen Table III configs (Ours (cluster) / Ours (triplet): z 64, beta and weight from $CHOICE, 3000
  # steps; PosePrior beside them in the steps and seed groups). Nothing is chosen from them. GROUPS: weight kl latent
  # steps seed;
  # ASEEDS: seeds (default 0); METHODS / VALUES: a subset (default: all). Runs: RUNS/ablation3d/<method>_<group><value>_sSEED;
  # every finished run of a group is evaluated on VAL into REPORTS/ablation3d_<group> (the centre value's run
  # included), which `hopgen tables --ablation` reads.
  # PREV: an earlier session's RUNS; a run there with the same resolved config (search, table3, ablation runs)
  # is copied (COPIED_FROM) instead of retrained.
  A=$RUNS/ablation3d
  groups="${*:2}" first_seed=${ASEEDS:-0}; first_seed=${first_seed%% *}
  for g in ${groups:-weight kl latent steps}; do
    for s in ${ASEEDS:-0}; do
      methods="ours_cluster ours_triplet"; case $g in steps|seed) methods="poseprior $methods" ;; esac
      for m in ${METHODS:-$methods}; do
        case $g in
          weight) values="0 $(chosen "$m" weight) 1 10" ;;
          kl)     values="0.001 $(chosen "$m" kl) 0.1 1" ;;
          latent) values="16 64 256" ;;
          seed)   values="0 1 2" ;;   # the chosen configs at three seeds: the seed-to-seed spread on VAL
          steps)  values="1500 3000 6000" ;;
          *) echo "ablation: group $g: expected weight | kl | latent | steps | seed" >&2; exit 2 ;;
        esac
        for v in ${VALUES:-$values}; do
          sets=$(sets_of "$m")
          case $g in
            weight) sets="$sets --set lift.loss.$(metric_of "$m")=$v" ;;
            kl)     sets="$sets --set lift.loss.kl=$v" ;;
            latent) sets="$sets --set model.latent=$v" ;;
            steps)  sets="$sets --set train.iterations=$v --set optim.milestones=[$((v * 4 / 5))] --set train.ckpt_every=$v" ;;
          esac
          out=$A/${m}_${g}${v}_s$s
          if [ "$g" = seed ]; then [ "$s" = "$first_seed" ] || continue; out=$A/${m}_seed_s$v; sets="$sets --set train.seed=$v"; fi
          reuse_or_train "$out" "$C/cpu_${m}_3d.yaml" --set train.seed=$s $sets
        done
      done
    done
    runs=(); for d in "$A"/*_"$g"*_s[0-9]; do [ -f "$d/DONE" ] && runs+=("$d"); done
    evaluate val "$REPORTS/ablation3d_$g" "${runs[@]}"
  done
  ;;
tables)
  # benchmarks/results/paper_tables.json + report.md (hopgen tables) from every report that exists: Tables I/II
  # (REPORTS2D: the 2D lane's reports), Table III and the GT run of the novar lifter (REPORTS3D), Table IV (REPORTS),
  # and the ablations: the 3D VAL groups above, the 2D lane's VAL choices (model.init, loss.kl), the 2D test crop
  # (pipeline vs GT crop reports of the same runs) and the 2D-noise ablation (lift_noise_3d.json).
  R2=${REPORTS2D:-$REPORTS} R3=${REPORTS3D:-$REPORTS}
  args=()
  for r in $R2/table1 $R2/table1_gt_crop $R2/table1_hourglass $R2/table1_hourglass_gt_crop $R3/table3 $R3/table3_novar \
           $REPORTS/table4; do
    [ -f "$r/metrics.json" ] && args+=(--reports "$r") || echo "tables: no report $r" >&2
  done
  for a in metric_weight=$REPORTS/ablation3d_weight lift.loss.kl=$REPORTS/ablation3d_kl model.latent=$REPORTS/ablation3d_latent \
           train.iterations=$REPORTS/ablation3d_steps train.seed=$REPORTS/ablation3d_seed model.init=$R2/val_init \
           model.init=$R2/val_init_hourglass \
           loss.kl=$R2/val_beta crop=$R2/table1 crop=$R2/table1_gt_crop crop=$R2/table1_hourglass \
           crop=$R2/table1_hourglass_gt_crop; do
    [ -f "${a#*=}/metrics.json" ] && args+=(--ablation "$a") || echo "tables: no ablation report ${a#*=}" >&2
  done
  echo "$(date -u +%FT%TZ) hopgen tables ${args[*]}"
  $PY -m hopgen.cli tables "${args[@]}" --noise-ablation $RES/lift_noise_3d.json --data "$DATA" --scale cpu \
    --out "${TABLES_OUT:-benchmarks/results/paper_tables.json}"
  ;;
*)
  echo "usage: $0 search|table3|novar|table4|ablation [GROUP...]|tables" >&2; exit 2 ;;
esac
