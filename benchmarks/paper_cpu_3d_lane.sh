#!/usr/bin/env bash
# Session 5's 3D lane (issue 13): one training at a time, in this order, resumable (every run holds DONE; a finished
# run is skipped, an identical run of PREV is copied). Table IV rows start as soon as the 2D lane's runs of a
# seed are final (RUNS2D/table1/<2D run>_sSEED/DONE, written by benchmarks/paper_cpu_2d.sh), before any further
# ablation; the rest of the time goes to the VAL ablations of benchmarks/paper_cpu_3d.sh.
#
#   nohup nice -n 3 benchmarks/paper_cpu_3d_lane.sh > REPORTS/lane3d.log 2>&1 &
#
# Env: RUNS / REPORTS (default /work/data/runs_s5, /work/data/reports_s5), PREV (an earlier session's runs that
# are still valid: default /work/data/runs_s4), RUNS3D (the Table III runs Table IV starts from: default PREV),
# RUNS2D (default RUNS), DEADLINE (epoch seconds: no training starts after it; default: never), PAPER3D (the
# paper_cpu_3d.sh to call, e.g. a frozen copy, so that editing the checkout does not change a running lane).
set -uo pipefail
cd "${HOPGEN_ROOT:-$(dirname "$0")/..}"
export HOPGEN_ROOT=$PWD
export RUNS=${RUNS:-/work/data/runs_s5} REPORTS=${REPORTS:-/work/data/reports_s5} PREV=${PREV:-/work/data/runs_s4}
export RUNS3D=${RUNS3D:-$PREV} RUNS2D=${RUNS2D:-$RUNS}
P3D=${PAPER3D:-benchmarks/paper_cpu_3d.sh}
DEADLINE=${DEADLINE:-0}
T4_LEFT=" 0 1 2 "

late() { [ "$DEADLINE" -gt 0 ] && [ "$(date +%s)" -ge "$DEADLINE" ]; }

ready2d() {  # ready2d SEED: the three 2D runs Table IV starts from are final
  local r; for r in hs_posenet ours_novar_posenet ours_posenet; do [ -f "$RUNS2D/table1/${r}_s$1/DONE" ] || return 1; done
}

table4_ready() {  # train the Table IV rows of every seed whose 2D runs are final; evaluate once all seeds are
  local s
  for s in $T4_LEFT; do
    late && return 0
    ready2d "$s" || continue
    echo "$(date -u +%FT%TZ) lane: Table IV seed $s"
    NOEVAL=1 SEEDS=$s bash "$P3D" table4 && T4_LEFT=${T4_LEFT/ $s / }
  done
  if [ -z "${T4_LEFT// /}" ] && [ -z "${T4_EVALUATED:-}" ]; then table4_eval; T4_EVALUATED=1; fi
}

table4_eval() {  # evaluate the Table IV seeds whose rows all finished (test split, one report)
  local done_seeds
  done_seeds=$(for s in 0 1 2; do [[ "$T4_LEFT" == *" $s "* ]] || echo "$s"; done | xargs)
  [ -n "$done_seeds" ] || return 0
  echo "$(date -u +%FT%TZ) lane: Table IV evaluation, seeds $done_seeds"
  SEEDS=$done_seeds bash "$P3D" table4 || echo "$(date -u +%FT%TZ) lane: Table IV evaluation failed"
}

step() {  # step ENV... -- ARGS: one paper_cpu_3d.sh call, after any Table IV rows that became possible
  table4_ready
  late && { echo "$(date -u +%FT%TZ) lane: deadline, skipping: $*"; return 0; }
  echo "$(date -u +%FT%TZ) lane: $*"
  env "$@" || echo "$(date -u +%FT%TZ) lane: failed ($?): $*"
}

step bash "$P3D" ablation weight
step bash "$P3D" ablation kl
step bash "$P3D" ablation seed                  # copies of the Table III runs: evaluation only
step METHODS=ours_cluster bash "$P3D" ablation latent   # (z 256 of Ours (cluster) is a session-4 run)
step VALUES=1500 bash "$P3D" ablation steps
step METHODS=ours_triplet bash "$P3D" ablation latent
for m in ours_cluster ours_triplet poseprior; do step METHODS=$m VALUES=6000 bash "$P3D" ablation steps; done
step ASEEDS=1 VALUES="0 10" bash "$P3D" ablation weight   # the object-aware term at a second seed
# the Table IV seeds still missing: wait for the 2D lane until the deadline; then evaluate what finished
while [ -n "${T4_LEFT// /}" ] && ! late && [ "$DEADLINE" -gt 0 ]; do table4_ready; [ -n "${T4_LEFT// /}" ] && sleep 60; done
[ -n "${T4_EVALUATED:-}" ] || table4_eval
echo "$(date -u +%FT%TZ) lane: done"
