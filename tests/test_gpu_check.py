"""scripts/gpu_check.sh in smoke mode (CPU, tiny): every step runs and writes its JSON, so the script that a
lent GPU node runs once cannot rot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.bpy
def test_gpu_check_smoke(tmp_path):
    env = dict(os.environ, GPU_CHECK_SMOKE="1", GPU_CHECK_OUT=str(tmp_path / "gpu"), HOPGEN_PYTHON=sys.executable)
    r = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=2400)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    out = tmp_path / "gpu"
    summary = json.loads((out / "summary.json").read_text())
    steps = {s["step"]: s for s in summary["steps"]}
    assert set(steps) == {"render", "bench_train_posenet", "bench_train_others", "train_run"}, r.stderr[-3000:]
    for name in ("render", "bench_train_posenet", "bench_train_others"):
        assert steps[name]["exit_code"] == 0, (name, r.stderr[-4000:])
    assert steps["train_run"]["exit_code"] == 0  # smoke: a fixed 20 steps (the GPU run stops at its time limit)
    env_rec = json.loads((out / "env.json").read_text())
    assert env_rec["smoke"] is True and env_rec["torch"]
    render = json.loads((out / "render.json").read_text())
    assert render["samples_rendered"]["full"] == 2 and render["settings"]["device"] == "CPU"
    assert render["throughput"]["runs"][0]["samples"] > 0
    bench = json.loads((out / "train_bench.json").read_text())
    assert [m["config"] for m in bench["models"]] == [
        "configs/train/tiny_ours_posenet.yaml", "configs/train/tiny_hs_posenet.yaml", "configs/train/tiny_3d_cluster.yaml"]
    assert all(m["model_only"]["achieved_tflops"] > 0 for m in bench["models"])
    run = json.loads((out / "train_run.json").read_text())
    assert run["steps"] == 20 and run["loss_fell"], run
