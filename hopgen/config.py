"""The generator's configuration schema (configs/hop*.yaml). Ranges are [lo, hi] pairs.

Load with `load_generation_config(path, overrides)`; unknown keys and wrong types are errors that
name the key. `config_digest` hashes the resolved config (recorded in every annotation).
"""

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from hopgen.core.structured import ConfigError, load_config, to_dict

Range = Tuple[float, float]


def _check_range(name, r, lo=None, hi=None):
    if r[0] > r[1]:
        raise ConfigError(f"{name}: range [{r[0]}, {r[1]}] has lo > hi")
    if lo is not None and r[0] < lo:
        raise ConfigError(f"{name}: {r[0]} below the minimum {lo}")
    if hi is not None and r[1] > hi:
        raise ConfigError(f"{name}: {r[1]} above the maximum {hi}")


def _check_probs(name, probs, allowed):
    for k, v in probs.items():
        if k not in allowed:
            raise ConfigError(f"{name}: unknown choice {k!r} (allowed: {', '.join(allowed)})")
        if v < 0:
            raise ConfigError(f"{name}.{k}: probability {v} is negative")
    if probs and sum(probs.values()) <= 0:
        raise ConfigError(f"{name}: probabilities sum to zero")


@dataclass
class DatasetConfig:
    name: str = "hop"
    num_samples: int = 64
    seed: int = 0
    width: int = 320
    height: int = 320
    frames_per_episode: int = 4      # frames along approach -> grasp -> hold
    views_per_frame: int = 1         # camera viewpoints rendered per frame
    test_fraction: float = 0.068     # 800 of 11,820 in the paper
    val_fraction: float = 0.05
    holdout_objects_per_category: int = 1  # test objects are unseen in training
    depth: bool = False

    def validate(self):
        if self.num_samples < 1:
            raise ConfigError("dataset.num_samples must be >= 1")
        if self.width < 16 or self.height < 16:
            raise ConfigError("dataset.width/height must be >= 16")
        if self.frames_per_episode < 1 or self.views_per_frame < 1:
            raise ConfigError("dataset.frames_per_episode and views_per_frame must be >= 1")
        if not (0 <= self.test_fraction < 1 and 0 <= self.val_fraction < 1):
            raise ConfigError("dataset.test_fraction/val_fraction must be in [0, 1)")


@dataclass
class CameraConfig:
    rigs: Dict[str, float] = field(default_factory=lambda: {"third_person": 0.75, "egocentric": 0.25})
    distance_m: Range = (0.35, 0.65)
    elevation_deg: Range = (-20.0, 60.0)
    roll_deg: Range = (-25.0, 25.0)
    focal_mm: Range = (28.0, 50.0)
    sensor_width_mm: float = 36.0
    margin: float = 0.08             # keep the hand this fraction of the image inside the border
    crop_jitter: float = 0.1         # random offset of the hand in the frame, fraction of the image

    def validate(self):
        _check_probs("camera.rigs", self.rigs, ("third_person", "egocentric"))
        _check_range("camera.distance_m", self.distance_m, 0.05, 10.0)
        _check_range("camera.elevation_deg", self.elevation_deg, -90.0, 90.0)
        _check_range("camera.roll_deg", self.roll_deg, -180.0, 180.0)
        _check_range("camera.focal_mm", self.focal_mm, 5.0, 500.0)
        if not 0 <= self.margin < 0.4:
            raise ConfigError("camera.margin must be in [0, 0.4)")


@dataclass
class LightingConfig:
    point_lamps: int = 2             # as in the paper
    lamp_power_w: Range = (20.0, 120.0)
    lamp_distance_m: Range = (0.6, 2.0)
    hdri_probability: float = 0.8
    hdri_strength: Range = (0.3, 1.3)

    def validate(self):
        if self.point_lamps < 0:
            raise ConfigError("lighting.point_lamps must be >= 0")
        _check_range("lighting.lamp_power_w", self.lamp_power_w, 0.0)
        _check_range("lighting.hdri_strength", self.hdri_strength, 0.0)


@dataclass
class BackgroundConfig:
    kinds: Dict[str, float] = field(default_factory=lambda: {"hdri": 0.35, "backdrop": 0.35, "photo": 0.3})
    distractors: Tuple[int, int] = (0, 3)

    def validate(self):
        _check_probs("background.kinds", self.kinds, ("hdri", "backdrop", "photo"))


@dataclass
class AvatarConfig:
    subjects: List[str] = field(default_factory=list)   # empty: every avatar in the manifest
    left_probability: float = 0.5
    sleeve_probability: float = 0.6
    body: bool = True                                    # skin interference from the body where the avatar has one


@dataclass
class GraspConfig:
    type_probabilities: Dict[str, Dict[str, float]] = field(default_factory=dict)  # category -> type -> p (overrides)
    phases: List[str] = field(default_factory=lambda: ["approach", "grasp", "hold"])
    max_attempts: int = 24
    # Only grasps that pass the MuJoCo hold test (hopgen.physics): read from `library` (built by
    # `hopgen grasps build`, for farms whose Blender has no MuJoCo) or synthesised with the test.
    require_physics: bool = False
    library: str = ""

    def validate(self):
        if self.library and not self.require_physics:
            raise ConfigError("grasp.library is set but grasp.require_physics is false (the library only "
                              "serves held grasps)")


@dataclass
class RenderConfig:
    device: str = "CPU"              # CPU | GPU (CUDA/OptiX when available)
    samples: int = 32
    adaptive_threshold: float = 0.05
    denoise: bool = True             # used when the Blender build has OpenImageDenoise
    max_bounces: int = 4
    view_transform: str = "filmic"   # filmic (Filmic/AgX by version) | standard
    threads: int = 0                 # 0: all cores of this worker's share
    # Skin subsurface scattering: "burley" (Christensen-Burley, ~28% faster per sample) or
    # "random_walk" (Blender's skin random walk where the build has it; closest to measured skin).
    subsurface: str = "burley"

    def validate(self):
        if self.samples < 1:
            raise ConfigError("render.samples must be >= 1")
        if self.subsurface not in ("burley", "random_walk"):
            raise ConfigError(f"render.subsurface must be burley or random_walk, got {self.subsurface!r}")
        if self.device not in ("CPU", "GPU"):
            raise ConfigError(f"render.device must be CPU or GPU, got {self.device!r}")
        if self.view_transform not in ("filmic", "standard"):
            raise ConfigError("render.view_transform must be filmic or standard")


@dataclass
class GenerationConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    avatar: AvatarConfig = field(default_factory=AvatarConfig)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    render: RenderConfig = field(default_factory=RenderConfig)


def load_generation_config(path=None, overrides=(), data=None):
    return load_config(GenerationConfig, path, overrides, data)


def config_digest(cfg):
    """Short stable hash of the resolved config."""
    blob = json.dumps(to_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


__all__ = ["GenerationConfig", "load_generation_config", "config_digest", "ConfigError", "dataclasses"]
