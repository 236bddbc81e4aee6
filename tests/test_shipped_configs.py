"""Every YAML shipped under configs/ loads with the loader that reads it: generation configs with
hopgen.config, the asset manifest with hopgen.assets.manifest, training configs with trainer.config
(which must know their stage and sections without importing torch or a stage module)."""

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
MANIFESTS = {"makehuman_manifest.yaml"}
MAKEHUMAN = "/work/shared/assets/makehuman"


def _generation():
    return sorted(p for p in CONFIGS.glob("*.yaml") if p.name not in MANIFESTS)


def _train():
    return sorted((CONFIGS / "train").glob("*.yaml"))


def test_every_yaml_is_covered():
    every = {Path(p) for p in glob.glob(str(CONFIGS / "**" / "*.yaml"), recursive=True)}
    assert every == set(_generation()) | set(_train()) | {CONFIGS / m for m in MANIFESTS}


@pytest.mark.parametrize("path", _generation(), ids=lambda p: p.name)
def test_generation_config_loads(path):
    from hopgen.config import load_generation_config
    assert load_generation_config(path).dataset.num_samples > 0


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_manifest_loads(name, monkeypatch):
    from hopgen.assets.manifest import load_manifest
    if not os.path.isdir(MAKEHUMAN):
        pytest.skip(f"MakeHuman assets not at {MAKEHUMAN}")
    monkeypatch.setenv("HOPGEN_MAKEHUMAN_DIR", MAKEHUMAN)
    assert load_manifest(str(CONFIGS / name)).avatars


@pytest.mark.parametrize("path", _train(), ids=lambda p: p.name)
def test_train_config_loads(path):
    from trainer.config import lift_cfg, load_config, variant_and_metric
    cfg = load_config(str(path))
    assert cfg.stage in ("2d", "3d") and cfg.name == path.stem
    if cfg.stage == "3d":
        lift = lift_cfg(cfg)
        variant_and_metric(cfg)
        # Table IV configs train the whole pipeline jointly, as the paper ({q_h, p_h, p_j, q_j, p_p})
        assert lift.source == "gt" or lift.finetune_2d, path.name


def test_train_configs_load_without_torch():
    code = ("import sys, glob; from trainer.config import load_config\n"
            "[load_config(p) for p in glob.glob('configs/train/*.yaml')]\n"
            "assert 'torch' not in sys.modules and 'trainer.engine' not in sys.modules, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
