import json

import pytest

from hopgen.config import config_digest, load_generation_config
from hopgen.core.structured import ConfigError


def test_defaults_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("dataset:\n  num_samples: 10\nrender:\n  samples: 8\n")
    c = load_generation_config(p, ["render.samples=2", "camera.focal_mm=[30, 40]"])
    assert c.dataset.num_samples == 10 and c.render.samples == 2 and c.camera.focal_mm == (30.0, 40.0)
    assert c.dataset.width == 320  # default kept


def test_json_config_and_digest(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"dataset": {"num_samples": 3}}))
    a = load_generation_config(p)
    b = load_generation_config(p)
    assert config_digest(a) == config_digest(b)
    assert config_digest(a) != config_digest(load_generation_config(p, ["dataset.seed=5"]))


@pytest.mark.parametrize("override,match", [
    ("dataset.nope=1", "unknown config key dataset.nope"),
    ("nosection.x=1", "unknown config key nosection"),
    ("render.samples=abc", "render.samples: expected an integer"),
    ("render.denoise=3", "render.denoise: expected true/false"),
    ("camera.distance_m=[1, 0.5]", "camera.distance_m: range"),
    ("camera.rigs={drone: 1}", "camera.rigs: unknown choice 'drone'"),
    ("render.device=TPU", "render.device"),
    ("render.subsurface=christensen", "render.subsurface must be burley or random_walk"),
    ("render.engine=EEVEE", "unknown config key render.engine"),
    ("dataset.num_samples=0", "dataset.num_samples"),
])
def test_bad_values_name_the_key(override, match):
    with pytest.raises(ConfigError, match=match):
        load_generation_config(overrides=[override])


def test_bad_file_errors_name_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("dataset: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: invalid YAML"):
        load_generation_config(p)
    p.write_text("dataset:\n  bogus: 1\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown config key dataset.bogus"):
        load_generation_config(p)
    with pytest.raises(ConfigError, match="file not found"):
        load_generation_config(tmp_path / "missing.yaml")


def test_shipped_configs_load():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "configs"
    for name in ("hop.yaml", "hop_demo.yaml", "hop_tiny.yaml"):
        load_generation_config(root / name)
    assert load_generation_config(root / "hop.yaml").dataset.num_samples == 11820
