"""render.device: GPU uses OptiX/CUDA when present and fails clearly (before any sample) when not."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.bpy
def test_gpu_device_is_used_or_refused_clearly(tmp_path):
    import bpy  # the bpy marker skips (outside CI) or fails (in CI) when the module is missing
    from hopgen.blender import compat, scene
    s = bpy.context.scene
    backend, seen = compat.find_gpu(("OPTIX", "CUDA"))
    if backend is None:  # this machine: no GPU, so asking for one is an error naming what was tried
        with pytest.raises(compat.NoGpuError, match="render.device is GPU but Cycles finds no GPU"):
            scene.configure_cycles(s, samples=1, device="GPU")
        assert compat.use_gpu(s, ("OPTIX", "CUDA")) == "CPU"  # the explicit fallback still exists
    else:
        info = scene.configure_cycles(s, samples=1, denoise=True, device="GPU")
        assert info["device"] == backend and s.cycles.device == "GPU"
    assert scene.configure_cycles(s, samples=1, device="CPU")["device"] == "CPU"


@pytest.mark.bpy
def test_render_cli_refuses_gpu_without_one(tmp_path):
    from hopgen.blender import compat
    if compat.find_gpu(("OPTIX", "CUDA"))[0] is not None:
        pytest.skip("this machine has a GPU: the refusal cannot be shown here")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", "render", "--config", "configs/hop_tiny.yaml",
                        "--out", str(out), "--set", "render.device=GPU"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1
    assert "render.device is GPU but Cycles finds no GPU" in r.stderr.splitlines()[-1]
    assert not list((out / "rgb").glob("*.png")) if (out / "rgb").exists() else True
