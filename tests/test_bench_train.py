"""`hopgen bench train --quick`: loader-only, model-only and combined throughput for a 2D and a 3D model in
one run; the benchmarks load from the checkout by path, from any working directory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_train_quick_from_another_directory(tmp_path):
    out = tmp_path / "train.json"
    env = dict(os.environ, PYTHONPATH=str(REPO))  # the package only: benchmarks/ is found by path
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", "bench", "train", "--quick", "--out", str(out)],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert [m["stage"] for m in rep["models"]] == ["2d", "3d"]
    for m in rep["models"]:
        assert m["loader"]["loader_only_img_per_s_per_worker"] > 0 and m["loader"]["cpu_s_per_image"] > 0
        mo = m["model_only"]
        assert mo["img_per_s"] > 0 and mo["train_flops_per_image"] > 0
        assert mo["achieved_tflops"] == pytest.approx(mo["train_flops_per_image"] * mo["img_per_s"] / 1e12)
        assert m["ratio_combined_over_model"] == pytest.approx(m["combined"]["img_per_s"] / mo["img_per_s"])
    assert set(rep["loader_only_img_per_s_per_worker"]) == {m["config"] for m in rep["models"]}
    mach = rep["machine"]
    assert len(mach["load_average_before"]) == 3 and mach["process_cpu_s"] > 0 and mach["device"] == "cpu"


def test_bench_needs_a_checkout(monkeypatch, tmp_path):
    from hopgen import bench
    monkeypatch.setattr(bench, "__file__", str(tmp_path / "site" / "hopgen" / "bench.py"))
    with pytest.raises(FileNotFoundError, match="belong to the source checkout"):
        bench.find_benchmark("train", cwd=tmp_path)
    with pytest.raises(ValueError, match="unknown benchmark"):
        bench.find_benchmark("nope")
    assert bench.find_benchmark("render", cwd=REPO) == str(REPO / "benchmarks" / "bench_render.py")
