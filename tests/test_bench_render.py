"""`hopgen bench render`: one tiny run through the CLI; the JSON has both timings, their ratio and the settings."""

import json
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
                        "config=configs/hop_tiny.yaml", "num=1", "samples=1", "--out", str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep["benchmark"] == "render" and rep["entry"] == "bpy module"
    assert rep["samples_rendered"] == {"full": 1, "beauty": 1, "episodes": 1}
    assert rep["failures"] == []
    s = rep["seconds_per_sample"]
    assert 0 < s["beauty"] and 0 < s["full"]
    assert rep["ratio_full_over_beauty"] == pytest.approx(s["full"] / s["beauty"])
    c = rep["cpu_seconds_per_sample"]
    assert rep["ratio_cpu_full_over_beauty"] == pytest.approx(c["full"] / c["beauty"])
    # The full run contains its own beauty renders, so its parts cannot exceed its wall time.
    parts = rep["breakdown_s_per_sample"]
    assert set(parts) == set(rep["breakdown_cpu_s_per_sample"])
    assert set(parts) == {"episode_build", "scene_setup", "beauty", "annotations", "write"}
    assert sum(parts.values()) <= s["full"] * 1.001
    st = rep["settings"]
    assert (st["width"], st["height"], st["samples"]) == (96, 96, 1)
    assert st["blender_version"].startswith("5.0") and st["device"] == "CPU" and st["threads"] >= 1
    assert "denoiser" in st and "adaptive_threshold" in st and "max_bounces" in st
    m = rep["machine"]
    assert m["cpu_count"] >= 1 and len(m["load_average_before"]) == 3 and len(m["load_average_after"]) == 3


def test_bench_render_rejects_bad_options(tmp_path):
    from benchmarks import bench_render
    with pytest.raises(ValueError, match="num must be >= 1"):
        bench_render.run(None, num=0)
    with pytest.raises(ValueError, match="not found"):
        bench_render.run(None, config=str(tmp_path / "missing.yaml"))
