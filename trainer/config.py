"""Training configuration: nested dataclasses loaded from YAML, with typed `--set a.b=value` overrides.

Typed loading, overrides and unknown-key errors are hopgen.core.structured's (shared with the generator);
this module holds the trainer's schema and the registry of stage sections.

    cfg = load_config("configs/train/ours_posenet.yaml", overrides=["optim.lrs=[1e-4]"])
    cfg.data.crop, cfg.model.kind, cfg.section("lift")  # a section registered by a stage plugin
    save_resolved(cfg, "RUN/config.yaml")

The core sections (data, model, loss, optim, train, eval) are shared by both stages. A stage adds
its own section with `register_section(name, DataclassType)` at import time (the 3D stage does this
for its lifting losses); YAML top-level keys are looked up there. Unknown keys and values of the
wrong type raise `ConfigError` naming the key.
"""

import dataclasses
import os
import typing
from dataclasses import dataclass, field

import yaml

from hopgen.core.atomic import atomic_write_text
from hopgen.core.structured import ConfigError, apply_overrides, from_dict, load_structured_file

__all__ = ["ConfigError", "Config", "load_config", "config_from_dict", "config_to_dict", "register_section",
           "save_resolved"]


@dataclass
class DataCfg:
    crop: int = 256                 # side of the square hand crop fed to the networks (px)
    heatmap_stride: int = 8         # heatmaps are crop / stride (32x32 for 256)
    sigma: float = 25.0             # Gaussian sigma in px on a 256 crop; scaled by crop / 256
    crop_from: str = "visible"      # keypoints that size the GT crop: "visible" (hand3d) or "all"
    crop_min: float = 50.0          # GT crop side clamp in full-image px (hand3d: [50, 500])
    crop_max: float = 500.0
    full_view_prob: float = 0.0     # training: probability of a whole-image view instead of a hand crop
    seg_crop: float = 0.0           # > 0: each training sample also carries a HandSegNet view (seg_image, seg_mask):
                                    # a random square of seg_crop x the shorter image side anywhere in the image
                                    # (hand3d: random 256 crops of 320 images = 0.8), resized to data.crop
    seg_target: str = "visible"     # mask of that view: visible (seg labels palm + phalanges, hand3d) | amodal
    augment: bool = True            # training augmentation (eval never augments)
    centre_jitter: float = 20.0     # std of the crop-centre noise, in px of the crop seen at 256 px (x side/256)
    scale_jitter: float = 0.1       # crop side multiplied by exp(N(0, scale_jitter))
    rotation_deg: float = 15.0      # uniform rotation in [-r, r] degrees
    flip_prob: float = 0.0          # horizontal flip (swaps the hand side)
    color_jitter: float = 0.2       # brightness/contrast/saturation jitter amplitude
    batch_size: int = 8
    workers: int = 2
    train_split: str = "train"
    val_split: str = "val"
    max_samples: int = 0            # 0 = all; else the first N ids of a split (CPU runs, tests)
    pack: str = "auto"              # HOP folders: auto (use / write DATASET/pack, trainer.pack) | require | off
    prefetch: int = 4               # batches each DataLoader worker keeps ready (workers > 0)


@dataclass
class ModelCfg:
    kind: str = "ours"              # 2D: ours | ours_novar | hs_posenet; 3D stage: lift_ours, posprior, ...
    pose_net: str = "posenet"       # p_j variant: posenet (CPM, 3 stages) | hourglass
    width: float = 1.0              # channel multiplier (1.0 = paper widths)
    latent: int = 256               # z size
    fc: typing.List[int] = field(default_factory=lambda: [256, 128, 128])  # q_h FC layers
    stages: int = 3                 # PoseNet stages (1 + refinements)
    hg_stacks: int = 2              # Hourglass stacks
    hg_depth: int = 3               # Hourglass recursion depth
    dropout: float = 0.0


@dataclass
class LossCfg:
    kl: float = 1.0                 # normalised beta: weight of KL(q(z|X) || N(0, I)) per latent dim (losses2d)
    kl_warmup: int = 0              # beta ramps linearly from 0 to loss.kl over this many steps (0 = no ramp)
    mask: float = 1.0               # weight of the mask BCE (mean over pixels)
    heatmap: float = 1.0            # weight of the heatmap L2 (summed over PoseNet stages)
    occluded_weight: float = 0.0    # heatmap weight of joints hidden by object/hand (0 = hand3d)


@dataclass
class OptimCfg:
    name: str = "adam"              # adam | adamw
    lrs: typing.List[float] = field(default_factory=lambda: [1e-4, 1e-5, 1e-6])  # piecewise-constant lr
    milestones: typing.List[int] = field(default_factory=lambda: [10000, 20000])  # steps where lr changes
    weight_decay: float = 0.0
    betas: typing.List[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 0.0          # max grad norm (0 = off)


@dataclass
class TrainCfg:
    iterations: int = 30000
    seed: int = 0
    log_every: int = 50
    ckpt_every: int = 1000
    val_every: int = 0              # 0 = no validation pass during training
    val_batches: int = 10
    amp: str = "bf16"               # bf16 | fp16 | off (autocast on CUDA only)
    compile: bool = False
    channels_last: bool = True
    max_nan_steps: int = 10         # abort after this many skipped non-finite steps
    device: str = "auto"            # auto | cpu | cuda
    threads: int = 0                # torch intra-op CPU threads (0 = torch's default)


@dataclass
class EvalCfg:
    crop: str = "pipeline"          # pipeline (segment full image -> box -> crop) | gt (GT keypoint crop)
    box_scale: float = 1.25         # crop side = box_scale * longest side of the predicted mask box
    link_px: float = 10.0           # single_obj_scoremap: mask pixels within this many px (of a 320-px whole image,
                                    # hand3d's 21x21 dilation) are one object; scaled to the segmentation view
    lo: float = 0.0                 # AUC range in px
    hi: float = 20.0
    overlays: int = 8


@dataclass
class Config:
    stage: str = "2d"
    name: str = ""
    data: DataCfg = field(default_factory=DataCfg)
    model: ModelCfg = field(default_factory=ModelCfg)
    loss: LossCfg = field(default_factory=LossCfg)
    optim: OptimCfg = field(default_factory=OptimCfg)
    train: TrainCfg = field(default_factory=TrainCfg)
    eval: EvalCfg = field(default_factory=EvalCfg)
    extra: typing.Dict[str, typing.Any] = field(default_factory=dict)  # registered sections by name

    def section(self, name):
        """A core or registered section by name (registered ones get their defaults if absent)."""
        if name in CORE:
            return getattr(self, name)
        if name not in _REGISTERED:
            raise ConfigError(f"unknown config section {name!r}; registered: {sorted(_REGISTERED)}")
        if name not in self.extra:
            self.extra[name] = _REGISTERED[name]()
        return self.extra[name]


CORE = ("data", "model", "loss", "optim", "train", "eval")
_REGISTERED = {}


def register_section(name, cls):
    """Make top-level YAML key `name` load into dataclass `cls` (idempotent for the same class)."""
    if name in CORE or name in ("stage", "name", "extra"):
        raise ConfigError(f"section name {name!r} is reserved")
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"section {name!r}: {cls} is not a dataclass")
    _REGISTERED[name] = cls


def config_from_dict(data):
    """Build a `Config` from a plain dict (as loaded from YAML); registered sections go to `extra`."""
    data = dict(data or {})
    if data.get("stage", "2d") != "2d":  # a stage plug-in registers its sections (e.g. "lift") on import
        from trainer.engine import get_stage
        try:
            get_stage(data["stage"])
        except ValueError as e:
            raise ConfigError(str(e)) from None
    if "extra" in data:
        raise ConfigError("config key 'extra' is internal; write registered sections at the top level")
    top = {f.name for f in dataclasses.fields(Config)}
    extra = {}
    for key in [k for k in data if k not in top]:
        if key not in _REGISTERED:
            raise ConfigError(f"unknown config key {key} (sections: {', '.join(list(CORE) + sorted(_REGISTERED))})")
        extra[key] = from_dict(_REGISTERED[key], data.pop(key), key)
    cfg = from_dict(Config, data)
    cfg.extra = extra
    return cfg


def config_to_dict(cfg):
    """Plain dict (YAML/JSON/torch-safe) of a Config, registered sections at the top level."""
    d = dataclasses.asdict(cfg)
    d.pop("extra")
    d.update({k: dataclasses.asdict(v) for k, v in cfg.extra.items()})
    return d


def load_config(path=None, overrides=()):
    """Load a YAML/JSON config (or the defaults when path is None), apply 'a.b=value' overrides, validate.
    Errors are ConfigError naming the file and the key path."""
    data = load_structured_file(path) if path is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        cfg = config_from_dict(apply_overrides(data, overrides))
    except ConfigError as e:
        raise ConfigError(f"{path or '<defaults>'}: {e}") from None
    if path is not None and not cfg.name:
        cfg.name = os.path.splitext(os.path.basename(path))[0]
    return cfg


def save_resolved(cfg, path):
    """Write the fully resolved config (every key, defaults included) as YAML, atomically."""
    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
