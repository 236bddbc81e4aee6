#!/usr/bin/env bash
# One prepared check for a lent GPU node (one NVIDIA H200, 16 cores, NO network), under 8 minutes.
# Writes JSON under benchmarks/results/gpu/ (GPU_CHECK_OUT overrides):
#   env.json          nvidia-smi, Python, torch, CUDA, cores, load
#   render.json       bench render: 48 samples of configs/hop.yaml (4 episodes) with render.device=GPU:
#                     s/sample full pipeline vs beauty, ratio, device string, samples/s of `hopgen render`
#   train_bench.json  bench train at paper size: Ours-PoseNet, HS-PoseNet, Ours-Hourglass, the 3D lifter
#                     (img/s loader-only per worker, model-only, combined ratio, TFLOP/s, share of bf16
#                     peak, peak memory, and which of bf16 / channels_last / torch.compile helped)
#   train_run.json    a 2-minute real training run (Ours-PoseNet, paper size): loss at the start and end
#   summary.json      what each step did (ok, skipped with the reason, or failed with its exit code)
#
#   scripts/gpu_check.sh                      on the GPU node, from a checkout (the working tree)
#   GPU_CHECK_SMOKE=1 scripts/gpu_check.sh    the same steps on the CPU at tiny size (< 3 min; tests/test_gpu_check.py)
#
# Python: nothing can be installed on that node, so the script uses what is there or carried:
# HOPGEN_PYTHON, else .venv/bin/python (carry the checkout's .venv), else python3 (the H200 image's python3
# has torch+CUDA, numpy, pyyaml, pillow, tqdm), the first that imports torch, numpy and yaml. hopgen runs from
# the checkout (PYTHONPATH), no install. The render step needs the bpy module (Blender 5.0 as a Python 3.11
# module: HOPGEN_RENDER_PYTHON or the training Python if it imports bpy) or a Blender binary (HOPGEN_BLENDER
# or `blender` on PATH); with neither it is skipped and summary.json says so.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SMOKE=${GPU_CHECK_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then OUT=${GPU_CHECK_OUT:-$(mktemp -d /tmp/gpu_check_smoke.XXXXXX)}; else OUT=${GPU_CHECK_OUT:-benchmarks/results/gpu}; fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/gpu_check_work.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
T0=$(date +%s)

PY=${HOPGEN_PYTHON:-}
if [ -z "$PY" ]; then
  for c in .venv/bin/python python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c "import torch, numpy, yaml" 2>/dev/null; then PY=$c; break; fi
  done
fi
if [ -z "$PY" ]; then
  echo "gpu_check: no Python with torch, numpy and pyyaml: carry the checkout's .venv (the node has no network," \
       "nothing can be pip-installed there) or set HOPGEN_PYTHON" >&2
  exit 2
fi
RPY=${HOPGEN_RENDER_PYTHON:-$PY}
BLENDER=${HOPGEN_BLENDER:-$(command -v blender || true)}

STEPS=()
step() {  # step NAME TIMEOUT_S CMD...: run one step, record its outcome, never stop the script
  local name=$1 limit=$2; shift 2
  local t=$(date +%s)
  echo "== $name (limit ${limit}s)" >&2
  timeout --signal=INT --kill-after=15 "$limit" "$@"
  local rc=$?
  STEPS+=("{\"step\": \"$name\", \"exit_code\": $rc, \"wall_s\": $(( $(date +%s) - t ))}")
  return 0
}
skip() { STEPS+=("{\"step\": \"$1\", \"skipped\": \"$2\"}"); echo "== $1 skipped: $2" >&2; }

if [ "$SMOKE" = 1 ]; then
  GEN=configs/hop_tiny.yaml; RENDER_ARGS=(episodes=2 per_episode=1 'workers=[1]')
  TRAIN_CONFIGS='["configs/train/tiny_hs_posenet.yaml", "configs/train/tiny_3d_cluster.yaml"]'
  BENCH_ARGS=(steps=3 warmup=1 compile=false toy_size=96); RUN_CONFIG=configs/train/tiny_ours_posenet.yaml
  # limits are safety nets here (a loaded CI machine); the run is 20 steps, not a time budget
  RUN_S=900; RENDER_S=900; BENCH_S=900
  RUN_SETS=(--set train.device=cpu --set train.iterations=20 --set train.log_every=2 --set train.ckpt_every=20)
else
  GEN=configs/hop.yaml; RENDER_ARGS=(episodes=4 'workers=[1]' 'overrides=["render.device=GPU"]')
  TRAIN_CONFIGS='["configs/train/hs_posenet.yaml", "configs/train/ours_hourglass.yaml", "configs/train/poseprior_gt.yaml"]'
  BENCH_ARGS=(steps=20 warmup=5 toy_size=320 'overrides=["data.workers=12"]'); RUN_CONFIG=configs/train/ours_posenet.yaml
  RUN_S=120; RENDER_S=150; BENCH_S=170
  RUN_SETS=(--set data.workers=12 --set train.iterations=1000000 --set train.log_every=20 --set train.ckpt_every=1000000
            --set "optim.lrs=[1.0e-4]" --set "optim.milestones=[]")
fi

"$PY" - "$OUT/env.json" "$SMOKE" "$PY" <<'EOF'
import json, os, platform, subprocess, sys, torch
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True) if torch.cuda.is_available() else None
env = {"smoke": sys.argv[2] == "1", "python": sys.argv[3], "python_version": platform.python_version(),
       "torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
       "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.machine(),
       "nvidia_smi": smi.stdout.strip() if smi else None, "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
json.dump(env, open(sys.argv[1], "w"), indent=1)
print(json.dumps(env))
EOF

# 1. render on the GPU (bench render: full pipeline vs beauty, device string, hopgen render samples/s)
if "$RPY" -c "import bpy" 2>/dev/null; then
  step render "$RENDER_S" "$RPY" -m hopgen.cli bench render "config=$GEN" "${RENDER_ARGS[@]}" --out "$OUT/render.json"
elif [ -n "$BLENDER" ]; then
  step render "$RENDER_S" "$PY" -m hopgen.cli bench render "config=$GEN" "${RENDER_ARGS[@]}" "blender=$BLENDER" --out "$OUT/render.json"
else
  skip render "no bpy module ($RPY cannot import bpy; bpy 5.0 needs Python 3.11) and no Blender binary (HOPGEN_BLENDER)"
fi

# 2. bench train: Ours-PoseNet with the torch.compile variant, the other three without (time)
step bench_train_posenet "$BENCH_S" "$PY" -m hopgen.cli bench train \
  "configs=[\"$( [ "$SMOKE" = 1 ] && echo configs/train/tiny_ours_posenet.yaml || echo configs/train/ours_posenet.yaml )\"]" \
  "${BENCH_ARGS[@]}" --out "$WORK/bench_posenet.json"
step bench_train_others "$BENCH_S" "$PY" -m hopgen.cli bench train "configs=$TRAIN_CONFIGS" "${BENCH_ARGS[@]}" compile=false \
  --out "$WORK/bench_others.json"
"$PY" - "$WORK" "$OUT/train_bench.json" <<'EOF'
import json, os, sys
parts = [json.load(open(os.path.join(sys.argv[1], f))) for f in ("bench_posenet.json", "bench_others.json")
         if os.path.isfile(os.path.join(sys.argv[1], f))]
if parts:
    out = dict(parts[-1], models=[m for p in parts for m in p["models"]],
               loader_only_img_per_s_per_worker={k: v for p in parts for k, v in p["loader_only_img_per_s_per_worker"].items()},
               machine=[p["machine"] for p in parts])
    json.dump(out, open(sys.argv[2], "w"), indent=1)
EOF

# 3. a 2-minute real training run (smoke: 20 steps): toy HOP data at 320 px (the render's 48 samples are
#    too few to learn from, and that step may be skipped); stopped by its time limit; the loss must fall.
"$PY" -c "import sys; sys.path.insert(0, 'tests'); from hopfixtures import make_toy_hop; make_toy_hop('$WORK/toy', n=64, size=$( [ "$SMOKE" = 1 ] && echo 96 || echo 320 ))"
step train_run "$RUN_S" "$PY" -m hopgen.cli train --config "$RUN_CONFIG" --data "$WORK/toy" --out "$WORK/run" --no-progress \
  --set train.val_every=0 "${RUN_SETS[@]}"
"$PY" - "$WORK/run/log.jsonl" "$OUT/train_run.json" "$RUN_CONFIG" "$RUN_S" <<'EOF'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])] if os.path.isfile(sys.argv[1]) else []
recs = [r for r in recs if "loss" in r]
k = max(1, min(5, len(recs) // 3))
first = sum(r["loss"] for r in recs[:k]) / k if recs else None
last = sum(r["loss"] for r in recs[-k:]) / k if recs else None
out = {"config": sys.argv[3], "limit_s": int(sys.argv[4]), "steps": recs[-1]["step"] if recs else 0,
       "loss_first": first, "loss_last": last, "loss_fell": bool(recs) and last < first,
       "images_per_s_last": recs[-1].get("images_per_s") if recs else None,
       "log": [{"step": r["step"], "loss": r["loss"]} for r in recs]}
json.dump(out, open(sys.argv[2], "w"), indent=1)
print(f"train_run: {out['steps']} steps, loss {first} -> {last}, fell: {out['loss_fell']}")
EOF

printf '%s\n' "${STEPS[@]}" | "$PY" -c "
import json, sys
steps = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({'smoke': '$SMOKE' == '1', 'out': '$OUT', 'wall_s': $(( $(date +%s) - T0 )), 'steps': steps},
          open('$OUT/summary.json', 'w'), indent=1)"
echo "gpu_check: wrote $OUT ($(( $(date +%s) - T0 )) s)" >&2
