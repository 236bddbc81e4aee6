"""A marker at a known 3D point renders where hopgen.core.camera.project says, in both Blenders.

Four cameras (square and non-square images, off-centre principal points, roll) each render an
emissive sphere ~2.5 px in radius. Its label-pass centroid (pixel-centre samples) must be within
0.5 px of project(K, X); its anti-aliased RGB centroid within 0.2 px, tight enough to catch a
half-pixel convention error or a wrong principal-point shift.

Then the same with real planned samples: a left and a right hand episode (grasp synthesised), two
cameras each (hopgen.episode.scene.place_camera: rig, framing, crop jitter, non-square image), markers at
joints of the posed hand; each marker's label centroid must be within 0.5 px of the annotated uv
(hopgen.episode.scene.annotation_core). The cases are computed here and rendered by both Blenders (this
file is also a Blender script: `blender -b -P tests/test_reprojection.py -- CASES.json OUT.json`).
"""

import json
import os
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _p in (_HERE, os.path.dirname(_HERE)):  # the Blender binary's Python has neither on its path
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402

import blender_probe  # noqa: E402

try:
    import pytest
except ImportError:  # a Blender binary's Python without pytest: only the __main__ part runs
    class _NoMarks:
        def __getattr__(self, name):
            return lambda f: f

    class pytest:  # noqa: N801  (decorators become no-ops)
        mark = _NoMarks()

        @staticmethod
        def fixture(*a, **k):
            return lambda f: f

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
    from hopgen.core import camera as cam
    for case in blender_probe.REPROJECTION_CASES:
        T = cam.look_at(case["eye"], case["target"], roll=case["roll"])
        uv = cam.project(case["K"], cam.transform(T, [blender_probe.MARKER]))[0]
        assert 6 < uv[0] < case["W"] - 7 and 6 < uv[1] < case["H"] - 7, uv
        assert np.hypot(uv[0] - (case["W"] - 1) / 2, uv[1] - (case["H"] - 1) / 2) > 3


# ---------------------------------------------------------------- joints of planned hands

TINY = os.path.join(os.path.dirname(_HERE), "configs", "hop_tiny.yaml")
HAND_JOINTS = (0, 4, 8, 12, 16, 20)   # wrist and the five tips: spread over the hand
HAND_MARKER_PX = 2.0


def hand_joint_cases(cams_per_side=2, width=112, height=84):
    """Planned samples of a left- and a right-hand episode (pure code, this Python): camera, the
    world positions of joints whose markers do not overlap in the image, and their annotated uv."""
    from hopgen.config import load_generation_config
    from hopgen.episode.build import build_episode
    from hopgen.episode.scene import annotation_core, place_camera
    from hopgen.assets.manifest import load_manifest
    from hopgen.episode.plan import plan_episode
    man = load_manifest()
    cases = []
    for side, p_left in (("left", 1.0), ("right", 0.0)):
        cfg = load_generation_config(TINY, [f"avatar.left_probability={p_left}", f"dataset.width={width}",
                                            f"dataset.height={height}"])
        spec = plan_episode(cfg, man, 0)
        scene = build_episode(cfg, man, spec)
        for sample in spec.samples[:cams_per_side]:
            state = scene.frame_state(sample.frame)
            K, w2c = place_camera(cfg, sample, state, width, height)
            anno = annotation_core(cfg, scene, sample, state, K, w2c, width, height)
            uv = np.asarray(anno["hand"]["uv"])
            keep = []
            for j in HAND_JOINTS:  # markers 2 px in radius: keep those at least 6 px from the kept ones
                if all(np.hypot(*(uv[j] - uv[k])) > 3 * HAND_MARKER_PX for k in keep) and \
                        3 < uv[j, 0] < width - 4 and 3 < uv[j, 1] < height - 4:
                    keep.append(j)
            cases.append({"side": side, "rig": sample.camera.rig, "W": width, "H": height, "K": K.tolist(),
                          "world_to_camera": w2c.tolist(), "joints": keep,
                          "world": state.joints[keep].tolist(), "uv": uv[keep].tolist(),
                          "depth": np.asarray(anno["hand"]["xyz"])[keep, 2].tolist()})
    return cases


def render_hand_markers(cases):
    """Inside Blender: per case, markers (label 10 + k) at the joints; their label-pass centroids."""
    compat, materials, passes, scene, world = blender_probe._blender()
    out = []
    for case in cases:
        s = scene.reset_scene()
        scene.configure_cycles(s, samples=1, adaptive_threshold=None, view_transform="Standard")
        world.set_colour_world((0.0, 0.0, 0.0), 0.0)
        K = np.array(case["K"])
        scene.set_camera(K, case["W"], case["H"], np.array(case["world_to_camera"]))
        for k, (x, z) in enumerate(zip(case["world"], case["depth"])):
            world.add_marker(x, HAND_MARKER_PX * z / K[0, 0], label=10 + k, name=f"m{k}")
        labels = passes.render_labels(s)
        cents = []
        for k in range(len(case["world"])):
            rows, cols = np.nonzero(labels == 10 + k)
            cents.append([float(cols.mean()), float(rows.mean()), int(len(rows))] if len(rows) else None)
        out.append(cents)
    return out


def assert_hand_markers(cases, results):
    assert {c["side"] for c in cases} == {"left", "right"} and len(cases) >= 4
    for case, cents in zip(cases, results):
        assert len(case["joints"]) >= 3, case  # enough separated joints per camera to mean something
        for j, uv, c in zip(case["joints"], case["uv"], cents):
            assert c is not None and c[2] >= 6, (case["side"], j, c)
            err = np.hypot(c[0] - uv[0], c[1] - uv[1])
            assert err < 0.5, (case["side"], case["rig"], j, uv, c)


@pytest.fixture(scope="module")
def hand_cases():
    return hand_joint_cases()


@pytest.mark.bpy
def test_hand_joint_reprojection_bpy_module(hand_cases):
    assert_hand_markers(hand_cases, render_hand_markers(hand_cases))


@pytest.mark.blender_binary
def test_hand_joint_reprojection_blender_binary(hand_cases, tmp_path):
    (tmp_path / "cases.json").write_text(json.dumps(hand_cases))
    proc = subprocess.run([BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "-P", os.path.abspath(__file__),
                           "--", str(tmp_path / "cases.json"), str(tmp_path / "out.json")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_hand_markers(hand_cases, json.loads((tmp_path / "out.json").read_text()))


if __name__ == "__main__":  # inside a Blender binary: render the cases given as JSON
    _args = sys.argv[sys.argv.index("--") + 1:]
    with open(_args[0]) as _f:
        _res = render_hand_markers(json.load(_f))
    with open(_args[1], "w") as _f:
        json.dump(_res, _f)
