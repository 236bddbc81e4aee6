"""`hopgen bench render`: one tiny run through the CLI over two episodes; the JSON has both timings, their ratio,
the settings and the samples/s of `hopgen render` with 1 and 2 workers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.bpy
@pytest.mark.slow
def test_bench_render_tiny(tmp_path):
    out = tmp_path / "render.json"
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", "bench", "render",
                        "config=configs/hop_tiny.yaml", "episodes=2", "per_episode=1", "samples=1",
                        "workers=[1, 2]", "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep["benchmark"] == "render" and rep["entry"] == "bpy module"
    assert rep["samples_rendered"] == {"full": 2, "beauty": 2, "episodes": 2}
    assert rep["sample_indices"] == [0, 3]  # the first sample of each of two episodes (3 per episode)
    assert rep["failures"] == []
    s = rep["seconds_per_sample"]
    assert 0 < s["beauty"] and 0 < s["full"]
    assert rep["ratio_full_over_beauty"] == pytest.approx(s["full"] / s["beauty"])
    c = rep["cpu_seconds_per_sample"]
    assert rep["ratio_cpu_full_over_beauty"] == pytest.approx(c["full"] / c["beauty"])
    # The full run contains its own beauty renders, so its parts cannot exceed its wall time.
    parts = rep["breakdown_s_per_sample"]
    assert set(parts) == set(rep["breakdown_cpu_s_per_sample"])
    assert set(parts) == {"episode_build", "scene_setup", "pose_and_camera", "annotation_fields", "beauty",
                          "annotations", "visibility", "rgb_readback", "camera_effects", "write", "other"}
    assert sum(parts.values()) == pytest.approx(s["full"], rel=1e-6)  # "other" is the rest of the full time
    # The caches were filled before (a), timed apart: the cold ratio adds what the first builds cost more.
    assert rep["warm_caches"] is True and rep["cache_fill"]["first_builds_cpu_s"] > 0
    extra = rep["cache_fill"]["cold_extra_s_per_sample"]
    assert rep["ratio_cold_caches_full_over_beauty"] == pytest.approx((s["full"] + extra) / s["beauty"])
    st = rep["settings"]
    assert (st["width"], st["height"], st["samples"]) == (96, 96, 1)
    assert st["blender_version"].startswith("5.0") and st["device"] == "CPU" and st["threads"] >= 1
    assert "denoiser" in st and "adaptive_threshold" in st and "max_bounces" in st
    t = rep["throughput"]
    assert t["samples_planned"] == 6 and [r["workers"] for r in t["runs"]] == [1, 2]
    for r in t["runs"]:
        assert r["exit_code"] == 0 and r["samples"] == 6 and r["samples_per_s"] > 0 and r["cpu_s_per_sample"] > 0
    assert [r["threads_per_worker"] for r in t["runs"]] == [os.cpu_count(), max(1, os.cpu_count() // 2)]
    assert t["runs"][0]["speedup_vs_1_worker"] == 1.0
    m = rep["machine"]
    assert m["cpu_count"] >= 1 and len(m["load_average_before"]) == 3 and len(m["load_average_after"]) == 3


def test_bench_render_rejects_bad_options(tmp_path):
    from benchmarks import bench_render
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        bench_render.run(None, episodes=0)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        bench_render.run(None, workers=[0])
    with pytest.raises(ValueError, match="not found"):
        bench_render.run(None, config=str(tmp_path / "missing.yaml"))
