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


class _Device:
    def __init__(self, type_, name):
        self.type, self.name, self.use = type_, name, True


class _Prefs:
    """Stands in for the Cycles add-on preferences of a machine with the given backends and devices
    (the selection rule is tested here; a real GPU is exercised by scripts/gpu_check.sh)."""

    def __init__(self, built, devices, oidn_gpu=True):
        self._built, self._all, self._type, self._oidn = set(built), devices, "NONE", oidn_gpu
        self.devices = []

    @property
    def compute_device_type(self):
        return self._type

    @compute_device_type.setter
    def compute_device_type(self, value):
        if value != "NONE" and value not in self._built:
            raise TypeError(f"enum {value!r} not found")
        self._type = value

    def refresh_devices(self):  # Cycles lists the chosen backend's devices plus the CPU
        self.devices = [d for d in self._all if d.type in (self._type, "CPU")]

    def has_oidn_gpu_devices(self):
        return self._oidn


def _machine(oidn_gpu=True):
    return _Prefs({"CUDA", "OPTIX"}, [_Device("CPU", "Xeon"), _Device("CUDA", "H200"), _Device("OPTIX", "H200")],
                  oidn_gpu)


@pytest.mark.bpy
def test_gpu_selection_prefers_optix_then_cuda_and_uses_only_those_devices():
    from hopgen.blender import compat
    prefs = _machine()
    assert compat.find_gpu(("OPTIX", "CUDA"), prefs) == ("OPTIX", ["H200"])
    assert prefs.compute_device_type == "OPTIX"
    assert {d.type: d.use for d in prefs.devices} == {"CPU": False, "OPTIX": True}  # GPUs only, not the CPU
    # a build without OptiX (or a driver too old for it) falls back to CUDA and says why
    prefs = _Prefs({"CUDA"}, [_Device("CPU", "Xeon"), _Device("CUDA", "H200")])
    assert compat.find_gpu(("OPTIX", "CUDA"), prefs) == ("CUDA", ["H200"])
    # no GPU at all: None, each backend's reason, and the preferences left on NONE
    prefs = _Prefs({"CUDA", "OPTIX"}, [_Device("CPU", "Xeon")])
    assert compat.find_gpu(("OPTIX", "CUDA"), prefs) == (None, ["OPTIX: no device", "CUDA: no device"])
    assert prefs.compute_device_type == "NONE"
    assert compat.find_gpu("CUDA", _Prefs(set(), []))[1] == ["CUDA: not in this build"]


@pytest.mark.bpy
def test_gpu_render_device_and_denoiser_follow_the_selection():
    import bpy
    from hopgen.blender import compat
    s = bpy.context.scene
    assert compat.use_gpu(s, ("OPTIX", "CUDA"), required=True, prefs=_machine()) == "OPTIX"
    assert s.cycles.device == "GPU"
    # OIDN runs on the GPU where the device supports it (4.1+), else on the CPU, and says which
    assert compat.set_denoise_device(s, True, prefs=_machine()) == "GPU" and s.cycles.denoising_use_gpu
    assert compat.set_denoise_device(s, True, prefs=_machine(oidn_gpu=False)) == "CPU"
    assert not s.cycles.denoising_use_gpu
    with pytest.raises(compat.NoGpuError, match=r"finds no GPU \(OPTIX: no device; CUDA: no device\)"):
        compat.use_gpu(s, ("OPTIX", "CUDA"), required=True, prefs=_Prefs({"CUDA", "OPTIX"}, [_Device("CPU", "x")]))
    assert s.cycles.device == "CPU"  # a failed GPU selection leaves the scene on the CPU
    assert compat.use_gpu(s, ("OPTIX", "CUDA"), prefs=_Prefs(set(), [])) == "CPU"  # explicit fallback
