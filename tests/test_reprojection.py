"""A marker at a known 3D point renders where hopgen.camera.project says, in both Blenders.

Four cameras (square and non-square images, off-centre principal points, roll) each render an
emissive sphere ~2.5 px in radius. Its label-pass centroid (pixel-centre samples) must be within
0.5 px of project(K, X); its anti-aliased RGB centroid within 0.2 px, tight enough to catch a
half-pixel convention error or a wrong principal-point shift.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import blender_probe

BLENDER = os.environ.get("HOPGEN_BLENDER") or shutil.which("blender")


def run_probe_binary(checks, tmp_path):
    """Run tests/blender_probe.py in the Blender executable; returns its JSON results."""
    out = tmp_path / "probe.json"
    args = json.dumps({"out": str(out), "checks": checks, "tmp": str(tmp_path)})
    proc = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-exit-code", "1",
                           "-P", blender_probe.__file__, "--", args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def assert_reprojection(results):
    assert len(results) == len(blender_probe.REPROJECTION_CASES)
    for case, r in zip(blender_probe.REPROJECTION_CASES, results):
        assert r["shape"] == [case["H"], case["W"]]
        assert r["label_pixels"] >= 10, r  # ~pi * 2.5^2 pixels
        assert r["err_label"] < 0.5, r
        assert r["err_rgb"] < 0.2, r


@pytest.mark.bpy
def test_reprojection_bpy_module(tmp_path):
    assert_reprojection(blender_probe.check_reprojection(str(tmp_path)))


@pytest.mark.blender_binary
def test_reprojection_blender_binary(tmp_path):
    assert_reprojection(run_probe_binary(["reprojection"], tmp_path)["reprojection"])


def test_probe_cases_land_inside_the_images():
    """Guards the test itself: every marker projects well inside its image, off-centre."""
    from hopgen import camera as cam
    for case in blender_probe.REPROJECTION_CASES:
        T = cam.look_at(case["eye"], case["target"], roll=case["roll"])
        uv = cam.project(case["K"], cam.transform(T, [blender_probe.MARKER]))[0]
        assert 6 < uv[0] < case["W"] - 7 and 6 < uv[1] < case["H"] - 7, uv
        assert np.hypot(uv[0] - (case["W"] - 1) / 2, uv[1] - (case["H"] - 1) / 2) > 3
