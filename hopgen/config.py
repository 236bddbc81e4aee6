"""The generator's configuration schema (configs/hop*.yaml). Ranges are [lo, hi] pairs.

Load with `load_generation_config(path, overrides)`; unknown keys and wrong types are errors that
name the key. `config_digest` hashes the resolved config (recorded in every annotation).
"""

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from hopgen.core.structured import ConfigError, load_config, to_dict

Range = Tuple[float, float]


def _check_range(name, r, lo=None, hi=None):
    if not all(math.isfinite(x) for x in r):
        raise ConfigError(f"{name}: range [{r[0]}, {r[1]}] is not finite")
    if r[0] > r[1]:
        raise ConfigError(f"{name}: range [{r[0]}, {r[1]}] has lo > hi")
    if lo is not None and r[0] < lo:
        raise ConfigError(f"{name}: {r[0]} below the minimum {lo}")
    if hi is not None and r[1] > hi:
        raise ConfigError(f"{name}: {r[1]} above the maximum {hi}")


PROB_SUM_TOL = 1e-6
MAX_SAMPLES = 10 ** 8 - 1      # sample ids have 8 digits
MAX_IMAGE_SIZE = 8192


def _check_probs(name, probs, allowed):
    """Choice probabilities: known keys, each in [0, 1], summing to 1 (no silent renormalising)."""
    if not probs:
        raise ConfigError(f"{name}: needs at least one choice (allowed: {', '.join(allowed)})")
    for k, v in probs.items():
        if k not in allowed:
            raise ConfigError(f"{name}: unknown choice {k!r} (allowed: {', '.join(allowed)})")
        if not 0 <= v <= 1:
            raise ConfigError(f"{name}.{k}: probability {v} is not in [0, 1]")
    total = sum(probs.values())
    if abs(total - 1) > PROB_SUM_TOL:
        raise ConfigError(f"{name}: probabilities sum to {total:g}, not 1")


def _check_probability(name, p):
    if not 0 <= p <= 1:
        raise ConfigError(f"{name}: {p} is not a probability in [0, 1]")


def _check_finite_range(name, r, lo=None, hi=None):
    if not all(math.isfinite(x) for x in r):
        raise ConfigError(f"{name}: range [{r[0]}, {r[1]}] is not finite")
    _check_range(name, r, lo, hi)


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
        if not 1 <= self.num_samples <= MAX_SAMPLES:
            raise ConfigError(f"dataset.num_samples: {self.num_samples} is not in [1, {MAX_SAMPLES}] "
                              "(sample ids have 8 digits)")
        for key in ("width", "height"):
            if not 16 <= getattr(self, key) <= MAX_IMAGE_SIZE:
                raise ConfigError(f"dataset.{key}: {getattr(self, key)} is not in [16, {MAX_IMAGE_SIZE}] pixels")
        if not 1 <= self.frames_per_episode <= 1000 or not 1 <= self.views_per_frame <= 1000:
            raise ConfigError("dataset.frames_per_episode and views_per_frame must be in [1, 1000]")
        if not (0 <= self.test_fraction < 1 and 0 <= self.val_fraction < 1
                and self.test_fraction + self.val_fraction < 1):
            raise ConfigError("dataset.test_fraction/val_fraction must be in [0, 1) and sum to less than 1")
        if self.holdout_objects_per_category < 0:
            raise ConfigError(f"dataset.holdout_objects_per_category: {self.holdout_objects_per_category} is negative")
        if self.seed < 0:
            raise ConfigError(f"dataset.seed: {self.seed} is negative (numpy seeds are >= 0)")


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
    hand_share: Range = (0.3, 0.6)   # the hand box's longer side, fraction of the image (paper-like framing)
    foreground_occluder_probability: float = 0.05  # a distractor may stand between lens and hand
    effects: bool = True             # depth of field, noise, JPEG, white balance, ... (hopgen.episode.effects)
    motion_blur_probability: float = 0.3  # share of the samples with motion blur (camera.effects on)
    exposure_s: Range = (0.004, 0.04)     # their shutter time, seconds (log-uniform)

    def validate(self):
        _check_probs("camera.rigs", self.rigs, ("third_person", "egocentric"))
        _check_range("camera.distance_m", self.distance_m, 0.05, 10.0)
        _check_range("camera.elevation_deg", self.elevation_deg, -90.0, 90.0)
        _check_range("camera.roll_deg", self.roll_deg, -180.0, 180.0)
        _check_range("camera.focal_mm", self.focal_mm, 5.0, 500.0)
        if not 1.0 <= self.sensor_width_mm <= 100.0:
            raise ConfigError(f"camera.sensor_width_mm: {self.sensor_width_mm} is not in [1, 100] mm")
        if not 0 <= self.margin < 0.4:
            raise ConfigError(f"camera.margin: {self.margin} is not in [0, 0.4)")
        if not 0 <= self.crop_jitter <= 0.5:
            raise ConfigError(f"camera.crop_jitter: {self.crop_jitter} is not in [0, 0.5] (a fraction of the image)")
        _check_range("camera.hand_share", self.hand_share, 0.05, 0.9)
        if not 0 <= self.foreground_occluder_probability <= 1:
            raise ConfigError(f"camera.foreground_occluder_probability: {self.foreground_occluder_probability} "
                              "is not in [0, 1]")
        if not isinstance(self.effects, bool):
            raise ConfigError(f"camera.effects: {self.effects!r} is not true/false")
        if not 0 <= self.motion_blur_probability <= 1:
            raise ConfigError(f"camera.motion_blur_probability: {self.motion_blur_probability} is not in [0, 1]")
        _check_range("camera.exposure_s", self.exposure_s, 1e-4, 1.0)


@dataclass
class LightingConfig:
    point_lamps: int = 2             # as in the paper
    lamp_power_w: Range = (20.0, 120.0)
    lamp_distance_m: Range = (0.6, 2.0)
    hdri_probability: float = 0.8
    hdri_strength: Range = (0.3, 1.3)

    def validate(self):
        if not 0 <= self.point_lamps <= 16:
            raise ConfigError(f"lighting.point_lamps: {self.point_lamps} is not in [0, 16]")
        _check_range("lighting.lamp_power_w", self.lamp_power_w, 0.0)
        _check_range("lighting.lamp_distance_m", self.lamp_distance_m, 0.05, 100.0)
        _check_probability("lighting.hdri_probability", self.hdri_probability)
        _check_range("lighting.hdri_strength", self.hdri_strength, 0.0)


@dataclass
class BackgroundConfig:
    kinds: Dict[str, float] = field(default_factory=lambda: {"hdri": 0.35, "backdrop": 0.35, "photo": 0.3})
    distractors: Tuple[int, int] = (0, 3)

    def validate(self):
        _check_probs("background.kinds", self.kinds, ("hdri", "backdrop", "photo"))
        _check_range("background.distractors", self.distractors, 0, 16)


@dataclass
class AvatarConfig:
    subjects: List[str] = field(default_factory=list)   # empty: every avatar in the manifest
    left_probability: float = 0.5
    sleeve_probability: float = 0.6
    body: bool = True                                    # skin interference from the body where the avatar has one

    def validate(self):
        _check_probability("avatar.left_probability", self.left_probability)
        _check_probability("avatar.sleeve_probability", self.sleeve_probability)
        if len(set(self.subjects)) != len(self.subjects):
            raise ConfigError(f"avatar.subjects: {self.subjects} names a subject twice")


ACCESSORY_KINDS = ("watch", "bracelet")          # hopgen.episode.wear builds these
SLEEVE_FABRICS = ("knit", "cotton", "denim")


@dataclass
class WearConfig:
    """What the arm wears (hopgen.episode.wear): a wrist accessory in this share of episodes, its
    kind by probability, the sleeve's fabric by probability (when the plan gives a sleeve) and
    whether the sleeve has fold rings (geometry) near the cuff."""
    accessory_probability: float = 0.35
    accessory_kinds: Dict[str, float] = field(default_factory=lambda: {"watch": 0.6, "bracelet": 0.4})
    sleeve_fabrics: Dict[str, float] = field(default_factory=lambda: {"knit": 0.3, "cotton": 0.4, "denim": 0.3})
    sleeve_folds: bool = True

    def validate(self):
        _check_probability("wear.accessory_probability", self.accessory_probability)
        _check_probs("wear.accessory_kinds", self.accessory_kinds, ACCESSORY_KINDS)
        _check_probs("wear.sleeve_fabrics", self.sleeve_fabrics, SLEEVE_FABRICS)


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
        from hopgen.grasp.taxonomy import GRASP_TYPES
        from hopgen.grasp.episode import PHASES
        from hopgen.core.skeleton import CATEGORIES
        bad = [p for p in self.phases if p not in PHASES]
        if bad or not self.phases:
            raise ConfigError(f"grasp.phases: {bad or self.phases} "
                              f"{'are not phases' if bad else 'is empty'} (phases: {', '.join(PHASES)})")
        for cat, probs in self.type_probabilities.items():
            if cat not in CATEGORIES:
                raise ConfigError(f"grasp.type_probabilities: unknown category {cat!r} "
                                  f"(categories: {', '.join(CATEGORIES)})")
            _check_probs(f"grasp.type_probabilities.{cat}", probs, GRASP_TYPES)
        if not 1 <= self.max_attempts <= 10000:
            raise ConfigError(f"grasp.max_attempts: {self.max_attempts} is not in [1, 10000]")


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
    # Per-subject skin detail (veins, pores, micro-relief, knuckle wrinkles as bump; hopgen.episode.skin).
    skin_detail: bool = True

    def validate(self):
        if not 1 <= self.samples <= 1 << 16:
            raise ConfigError(f"render.samples: {self.samples} is not in [1, 65536]")
        if not 0 <= self.adaptive_threshold < 1:
            raise ConfigError(f"render.adaptive_threshold: {self.adaptive_threshold} is not in [0, 1)")
        if not 0 <= self.max_bounces <= 1024:
            raise ConfigError(f"render.max_bounces: {self.max_bounces} is not in [0, 1024]")
        if not 0 <= self.threads <= 1024:
            raise ConfigError(f"render.threads: {self.threads} is not in [0, 1024] (0: all cores)")
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
    wear: WearConfig = field(default_factory=WearConfig)
    grasp: GraspConfig = field(default_factory=GraspConfig)
    render: RenderConfig = field(default_factory=RenderConfig)


def load_generation_config(path=None, overrides=(), data=None):
    """Load and check a generation config; an empty file is an error (it would render all defaults)."""
    if path is not None:
        from hopgen.core.structured import load_structured_file
        raw = load_structured_file(path)
        if not raw:
            raise ConfigError(f"{path}: the config file is empty (write at least one section, e.g. dataset:)")
        return load_config(GenerationConfig, None, overrides, raw, where=path)
    return load_config(GenerationConfig, path, overrides, data)


def check_config_against_manifest(cfg, manifest):
    """Config choices that name manifest entries (avatar.subjects) must exist in the manifest."""
    names = {a.name for a in manifest.avatars}
    missing = [s for s in cfg.avatar.subjects if s not in names]
    if missing:
        raise ConfigError(f"avatar.subjects: {', '.join(missing)} not in the manifest "
                          f"{manifest.path or '(built-in)'} (avatars: {', '.join(sorted(names))})")


def config_digest(cfg):
    """Short stable hash of the resolved config."""
    blob = json.dumps(to_dict(cfg), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


__all__ = ["GenerationConfig", "load_generation_config", "config_digest", "ConfigError", "dataclasses"]
