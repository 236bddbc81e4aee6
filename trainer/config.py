"""Training configuration: nested dataclasses loaded from YAML, with typed `--set a.b=value` overrides.

Typed loading, overrides and unknown-key errors are hopgen.core.structured's (shared with the generator);
this module holds the trainer's whole schema, the 3D stage's `lift` section included, and imports
neither torch nor a stage module (the stage names come from the torch-free trainer.stages table).

    cfg = load_config("configs/train/ours_posenet.yaml", overrides=["optim.lrs=[1e-4]"])
    cfg.data.crop, cfg.model.kind, cfg.section("lift")  # a stage section (3D configs only)
    save_resolved(cfg, "RUN/config.yaml")

The core sections (data, model, loss, optim, train, eval) are shared by both stages. A stage's own
sections are declared here in STAGE_SECTIONS ({stage: {name: dataclass}}; the 3D stage has `lift`);
YAML top-level keys are looked up there. Unknown keys, sections of another stage and values of the
wrong type raise `ConfigError` naming the key.
"""

import dataclasses
import os
import typing
from dataclasses import dataclass, field

import yaml

from hopgen.core.atomic import atomic_write_text
from hopgen.core.structured import ConfigError, apply_overrides, from_dict, load_structured_file

from trainer.stages import STAGE_MODULES

__all__ = ["ConfigError", "Config", "LiftCfg", "Loss3DConfig", "load_config", "config_from_dict", "config_to_dict",
           "save_resolved", "lift_cfg", "variant_and_metric", "config_2d"]


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
    init: str = "default"           # 2D conv/linear weights: default (PyTorch's) | kaiming (He normal for leaky ReLU
                                    # 0.01, zero biases). The cpu_* and paper 2D configs set kaiming (chosen on val;
                                    # with PyTorch's default the plain nets start image-blind: paper_cpu_2d.md)


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
    amp: str = "bf16"               # bf16 | fp16 | off (autocast on CUDA; on the CPU only with amp_cpu)
    amp_cpu: bool = False           # also bf16 autocast on the CPU (amp bf16): 1.6x faster steps on an AVX512-BF16
                                    # CPU without AMX (benchmarks/results/paper_cpu_2d.md); slower on CPUs without bf16
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


# ---- the 3D stage's section -------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum")
MINING = ("all", "random")
METRIC_INPUTS = ("mu", "z")


@dataclass
class Loss3DConfig:
    """Weights of eq. 9 (+ KL); a weight of 0 disables a term (lift.loss).

    Every term is a per-sample sum (joints x xyz, matrix entries, latent dimensions) averaged over the
    batch (reduction "mean"), so the pose term is the negative log-likelihood of a unit-variance
    Gaussian in canonical units (bone lengths, about 3-4 cm) up to a constant, and `kl` is the beta of a
    beta-VAE: kl = 1 is the plain ELBO under that noise model; smaller values assume less noise.
    The KL weight ramps linearly from 0 over the first kl_warmup steps (so the encoder learns a useful
    posterior before the prior pulls it in). Metric losses act on the latent means (metric_on "mu"):
    on sampled z they would mostly measure the posterior variance and fight the KL."""
    pose: float = 1.0
    rotation: float = 1.0
    kl: float = 1.0            # beta; the released code uses 1
    kl_warmup: int = 0         # steps of the linear KL ramp 0 -> kl
    triplet: float = 1.0
    cluster: float = 0.01      # the released code uses 0.01 (with 7 centres)
    margin: float = 0.01
    mining: str = "all"        # all | random (trainer.losses3d.mine_triplets)
    reduction: str = "mean"    # mean | sum over the batch
    metric_on: str = "mu"      # mu | z: the latent the triplet/cluster terms see

    def __post_init__(self):
        if self.mining not in MINING or self.reduction not in REDUCTIONS or self.metric_on not in METRIC_INPUTS:
            raise ValueError(f"Loss3DConfig: mining must be in {MINING}, reduction in {REDUCTIONS} and metric_on "
                             f"in {METRIC_INPUTS}, got {self}")
        if min(self.pose, self.rotation, self.kl, self.triplet, self.cluster, self.margin, self.kl_warmup) < 0:
            raise ValueError(f"Loss3DConfig: weights, margin and kl_warmup must be >= 0, got {self}")


KINDS_3D = ("poseprior", "ours", "ours_triplet", "ours_cluster", "ours_novar")
METRICS = ("auto", "none", "triplet", "cluster", "triplet+cluster")
SOURCES = ("gt", "pred2d")
INPUT_NORMS = ("none", "sample_max")
CLUSTER_INITS = ("kmeans++", "gaussian")


@dataclass
class LiftCfg:
    """The `lift` section of the 3D stage (trainer.stage3d).

    source gt: heatmaps rendered from the GT uv in the GT hand crop (Table III), with uv noise and crop
    jitter in training; pred2d: heatmaps predicted by the 2D stage of run2d (Table IV); finetune_2d
    trains that 2D network jointly ({q_h, p_h, p_j, q_j, p_p}, the paper's Table IV), adding the 2D
    stage's own loss with weight weight_2d. metric "triplet+cluster" is eq. 7.
    Cluster centres (eq. 6): "kmeans++" (default) keeps the cluster loss off for cluster_warmup
    steps, then seeds the centres by k-means++ (+ Lloyd steps) on the last cluster_buffer latent means;
    every cluster_reseed_every steps a centre whose running share of the assignments is below
    cluster_dead_share / clusters is re-seeded on a latent far from the live centres. "gaussian" is the
    paper's N(0, cluster_std^2) initialisation (no warm-up, no re-seeding), kept for the ablation.
    Lifter input (the same in training, validation, `hopgen eval` and `hopgen predict`: LiftModel.lifter_input):
    input_norm "sample_max" clamps the maps at 0 and divides all 21 maps of a sample by their common
    maximum (relative joint confidences kept; GT maps change little, a 2D stage's weak maps reach the GT
    range); input_size > 0 resamples the maps bilinearly to that grid (a 2D stage's 8x8 maps to the
    16x16 of a GT-heatmap lifter). init_from: a 3D run folder (a GT-heatmap run of the same lifter)
    whose lifter, cluster centres and running statistics initialise this run when its training starts
    (not on --resume); everything but the 2D network must match exactly (checked, CheckpointError).
    """
    source: str = "gt"              # gt | pred2d
    run2d: str = ""                 # 2D run folder (ckpt/<checkpoint2d> + config.yaml) for source pred2d
    checkpoint2d: str = "last.pt"
    config2d: str = ""              # the 2D run's resolved config as YAML text (filled in at build time)
    finetune_2d: bool = False       # pred2d: train the 2D network jointly
    weight_2d: float = 1.0          # weight of the 2D loss when fine-tuning
    metric: str = "auto"            # auto (from model.kind; ours_novar -> cluster) | none | triplet | cluster | triplet+cluster
    clusters: int = 5               # number of cluster centres (paper: 5 for HOP)
    cluster_init: str = "kmeans++"  # kmeans++ | gaussian
    cluster_std: float = 1.0        # gaussian: std of the centre initialisation
    cluster_warmup: int = 500       # kmeans++: steps before the centres are seeded
    cluster_buffer: int = 1024      # kmeans++: latent means kept for seeding / re-seeding
    cluster_reseed_every: int = 100  # steps between dead-centre checks (0 = never)
    cluster_dead_share: float = 0.1  # dead: running share < this / clusters
    init_from: str = ""             # 3D run folder (ckpt/<init_checkpoint>) to initialise the lifter from ("" = none)
    init_checkpoint: str = "last.pt"
    input_norm: str = "none"        # none | sample_max (clamp >= 0, divide by the sample's max over its 21 maps)
    input_size: int = 0             # lifter heatmap grid; 0 = data.crop / data.heatmap_stride, else resampled
    root: str = "wrist"             # canonical root: wrist | palm
    uv_noise: float = 2.5           # gt: std of the uv noise in px on a 256 crop (hand3d coord_uv_noise)
    heatmap_dropout: float = 0.0    # gt: probability of blanking a drawn heatmap in training
    ema: float = 0.99               # momentum of the running class means / cluster counts / bone length
    auc_lo_mm: float = 0.0          # 3D AUC range (paper: 0-50 mm)
    auc_hi_mm: float = 50.0
    latent_plot_max: int = 2000     # at most this many points in the latent-space plot
    loss: Loss3DConfig = field(default_factory=Loss3DConfig)


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
    extra: typing.Dict[str, typing.Any] = field(default_factory=dict)  # stage sections by name

    def section(self, name):
        """A core section or a section of this config's stage by name (defaults if absent from the file)."""
        if name in CORE:
            return getattr(self, name)
        sections = STAGE_SECTIONS.get(self.stage, {})
        if name not in sections:
            raise ConfigError(f"unknown config section {name!r} for stage {self.stage!r}; "
                              f"stage sections: {sorted(sections) or 'none'}")
        if name not in self.extra:
            self.extra[name] = sections[name]()
        return self.extra[name]


CORE = ("data", "model", "loss", "optim", "train", "eval")
STAGE_SECTIONS = {"3d": {"lift": LiftCfg}}  # {stage: {top-level key: dataclass}}


def config_from_dict(data):
    """Build a `Config` from a plain dict (as loaded from YAML); stage sections go to `extra`."""
    data = dict(data or {})
    stage = data.get("stage", "2d")
    if stage not in STAGE_MODULES:
        raise ConfigError(f"config key 'stage': unknown stage {stage!r}; expected one of {sorted(STAGE_MODULES)}")
    if "extra" in data:
        raise ConfigError("config key 'extra' is internal; write stage sections at the top level")
    top = {f.name for f in dataclasses.fields(Config)}
    sections = STAGE_SECTIONS.get(stage, {})
    extra = {}
    for key in [k for k in data if k not in top]:
        if key not in sections:
            owner = [s for s, secs in STAGE_SECTIONS.items() if key in secs]
            if owner:
                raise ConfigError(f"config key {key!r}: a section of stage {owner[0]!r}, not of stage {stage!r}")
            raise ConfigError(f"unknown config key {key} (sections: {', '.join(list(CORE) + sorted(sections))})")
        extra[key] = from_dict(sections[key], data.pop(key), key)
    cfg = from_dict(Config, data)
    cfg.extra = extra
    return cfg


def config_to_dict(cfg):
    """Plain dict (YAML/JSON/torch-safe) of a Config, stage sections at the top level."""
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


# ---- 3D-stage helpers (validation and the 2D run behind a pred2d config) ----------------------------

def lift_cfg(cfg):
    """The validated `lift` section of a 3D Config."""
    lift = cfg.section("lift")
    if lift.source not in SOURCES:
        raise ConfigError(f"config key 'lift.source': {lift.source!r}; expected one of {SOURCES}")
    if lift.metric not in METRICS:
        raise ConfigError(f"config key 'lift.metric': {lift.metric!r}; expected one of {METRICS}")
    if lift.cluster_init not in CLUSTER_INITS:
        raise ConfigError(f"config key 'lift.cluster_init': {lift.cluster_init!r}; expected one of {CLUSTER_INITS}")
    if lift.input_norm not in INPUT_NORMS:
        raise ConfigError(f"config key 'lift.input_norm': {lift.input_norm!r}; expected one of {INPUT_NORMS}")
    if lift.input_size < 0:
        raise ConfigError(f"config key 'lift.input_size': {lift.input_size}; expected >= 0 (0 = crop / heatmap_stride)")
    if cfg.model.kind not in KINDS_3D:
        raise ConfigError(f"config key 'model.kind': {cfg.model.kind!r} is not a 3D model; expected one of {KINDS_3D}")
    if lift.clusters < 1 or not 0.0 <= lift.ema < 1.0 or not lift.auc_hi_mm > lift.auc_lo_mm:
        raise ConfigError("config keys 'lift.clusters' >= 1, 0 <= 'lift.ema' < 1 and 'lift.auc_hi_mm' > 'lift.auc_lo_mm' are required")
    if lift.cluster_buffer < lift.clusters or lift.cluster_warmup < 0 or lift.cluster_reseed_every < 0:
        raise ConfigError("config keys 'lift.cluster_buffer' >= lift.clusters, 'lift.cluster_warmup' >= 0 and "
                          "'lift.cluster_reseed_every' >= 0 are required")
    return lift


def variant_and_metric(cfg):
    """(Lifter variant, metric loss name) of a 3D config; the metric is none, triplet, cluster or triplet+cluster."""
    kind, metric = cfg.model.kind, lift_cfg(cfg).metric
    variant = {"poseprior": "poseprior", "ours_novar": "deterministic"}.get(kind, "variational")
    if metric == "auto":
        metric = {"ours_triplet": "triplet", "ours_cluster": "cluster", "ours_novar": "cluster"}.get(kind, "none")
    if variant == "poseprior" and metric != "none":
        raise ConfigError(f"config key 'lift.metric': {metric!r} needs a latent; model.kind poseprior has none")
    return variant, metric


def config_2d(cfg):
    """The 2D Config of a pred2d run (from lift.config2d, else RUN2D/config.yaml, which fills it in)."""
    lift = lift_cfg(cfg)
    if not lift.config2d:
        if not lift.run2d:
            raise ConfigError("config key 'lift.run2d': lift.source 'pred2d' needs the 2D run folder")
        path = os.path.join(lift.run2d, "config.yaml")
        try:
            with open(path) as f:
                lift.config2d = f.read()
        except OSError as e:
            raise ConfigError(f"config key 'lift.run2d': cannot read {path} ({e.strerror})") from None
    cfg2d = config_from_dict(yaml.safe_load(lift.config2d))
    if cfg2d.stage != "2d":
        raise ConfigError(f"config key 'lift.run2d': {lift.run2d} is a {cfg2d.stage!r} run, not a 2D run")
    if (cfg2d.data.crop, cfg2d.data.heatmap_stride) != (cfg.data.crop, cfg.data.heatmap_stride):
        raise ConfigError(f"config keys 'data.crop'/'data.heatmap_stride' ({cfg.data.crop}/{cfg.data.heatmap_stride}) "
                          f"must equal the 2D run's ({cfg2d.data.crop}/{cfg2d.data.heatmap_stride})")
    return cfg2d
