"""The training loop shared by the 2D and 3D stages.

A stage plugs in through a `trainer.stages.Stage`, the module-level `STAGE` of the module that the
torch-free table trainer.stages.STAGE_MODULES names (imported on first use by get_stage):

    Stage(name, build_model(cfg) -> nn.Module,
          loss(model, batch, cfg) -> (total tensor, {name: float}),
          make_dataset(cfg, roots, split, train) -> Dataset of dicts of arrays (None: data.make_dataset),
          evaluate(run_dir, cfg, model, roots, split, out_dir, device) -> metrics dict)

`train(cfg, roots, run_dir, resume)` then does: Adam/AdamW with the piecewise-constant lr schedule
(optim.lrs switching at optim.milestones), bf16/fp16 autocast on CUDA (bf16 on the CPU with train.amp_cpu),
channels_last on CUDA, optional torch.compile, grad-norm clipping, a NaN guard (skip the step, abort after
train.max_nan_steps), atomic checkpoints RUN/ckpt/last.pt (model, optimizer, scheduler, scaler,
torch/cuda/numpy RNG, data position), exact resume, metrics in RUN/log.jsonl, the resolved config
in RUN/config.yaml, and DDP (DistributedDataParallel + a resumable DistributedSampler) when
launched by torchrun with WORLD_SIZE > 1. Checkpoints hold only tensors and plain types, so
they load with torch.load(weights_only=True).
"""

import dataclasses
import importlib
import itertools
import json
import os
import time
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader

from trainer.config import config_from_dict, config_to_dict, load_config, save_resolved
from trainer.data import DataError  # noqa: F401 (re-exported: callers catch engine.DataError)
from trainer.data import make_dataset as default_make_dataset
from trainer.augment import finish_batch
from trainer.loader import TrainLoader
from trainer.stages import STAGE_MODULES, Stage

_STAGES = {}


def get_stage(name):
    """The Stage called `name` (the STAGE of its module in trainer.stages.STAGE_MODULES, imported on
    first use); a missing make_dataset becomes data.make_dataset."""
    if name not in _STAGES:
        if name not in STAGE_MODULES:
            raise ValueError(f"config key 'stage': unknown stage {name!r}; expected one of {sorted(STAGE_MODULES)}")
        stage = getattr(importlib.import_module(STAGE_MODULES[name]), "STAGE", None)
        if not isinstance(stage, Stage) or stage.name != name:
            raise ValueError(f"stage {name!r}: {STAGE_MODULES[name]} defines no STAGE = trainer.stages.Stage({name!r}, ...)")
        if stage.make_dataset is None:
            stage = dataclasses.replace(stage, make_dataset=default_make_dataset)
        _STAGES[name] = stage
    return _STAGES[name]


# ---- pieces -----------------------------------------------------------------------------------------

class PiecewiseLR:
    """LambdaLR factor: lrs[i] / lrs[0] from milestones[i-1] on (a plain object: picklable state)."""

    def __init__(self, lrs, milestones):
        if len(lrs) != len(milestones) + 1:
            raise ValueError(f"optim.lrs ({len(lrs)}) must have one more entry than optim.milestones ({len(milestones)})")
        self.lrs, self.milestones = [float(x) for x in lrs], [int(m) for m in milestones]

    def __call__(self, step):
        i = sum(step >= m for m in self.milestones)
        return self.lrs[i] / self.lrs[0]


def make_optimizer(cfg, model):
    o = cfg.optim
    params = [p for p in model.parameters() if p.requires_grad]
    kw = dict(lr=o.lrs[0], betas=tuple(o.betas), weight_decay=o.weight_decay)
    if o.name == "adam":
        return torch.optim.Adam(params, **kw)
    if o.name == "adamw":
        return torch.optim.AdamW(params, **kw)
    raise ValueError(f"config key 'optim.name': {o.name!r}; expected adam or adamw")


def make_loader(ds, cfg, epoch, rank=0, world=1, start_batch=0, device=torch.device("cpu")):
    """A DataLoader over the batches of `epoch` after `start_batch` (trainer.loader.TrainLoader, one epoch)."""
    tl = TrainLoader(ds, cfg, rank, world, device)
    tl.sampler.begin(epoch, start_batch * cfg.data.batch_size)
    return tl.loader


def to_device(batch, device, channels_last=False):
    out = {}
    for k, v in batch.items():
        if torch.is_tensor(v):
            v = v.to(device, non_blocking=True)
            if channels_last and v.ndim == 4:
                v = v.contiguous(memory_format=torch.channels_last)
        out[k] = v
    return out


def pick_device(name, local_rank=0):
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("config key 'train.device' is 'cuda' but CUDA is not available")
    return torch.device("cuda", local_rank)


def autocast(cfg, device):
    """The training autocast context: train.amp on CUDA; on the CPU only bf16 and only with
    train.amp_cpu (opt-in: a win on CPUs with AVX512-BF16 or AMX, a loss on older ones)."""
    amp = cfg.train.amp
    if amp not in ("bf16", "fp16", "off"):
        raise ValueError(f"config key 'train.amp': {amp!r}; expected bf16, fp16 or off")
    if device.type == "cuda":
        enabled = amp != "off"
    else:
        enabled = amp == "bf16" and bool(cfg.train.amp_cpu)
    dtype = torch.float16 if amp == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


def rng_state():
    """Torch CPU/CUDA and numpy global RNG states as tensors and plain types."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)}}


def set_rng_state(s):
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    n = s["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))


def atomic_torch_save(obj, path):
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.path.basename(path)}-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def unwrap(model):
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)       # DDP


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded or does not fit its run (names the file)."""


def load_checkpoint(path, map_location="cpu"):
    """torch.load(weights_only=True) of a hopgen checkpoint; CheckpointError naming the file."""
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as e:  # truncated, not a checkpoint, or holding non-tensor objects
        raise CheckpointError(f"{path}: cannot load checkpoint ({' '.join(str(e).split())[:200]})") from None
    if not isinstance(ck, dict) or "model" not in ck:
        raise CheckpointError(f"{path}: not a hopgen checkpoint (no 'model' entry)")
    return ck


def load_model(run_dir, device="cpu", checkpoint="last.pt"):
    """(cfg, stage, model in eval mode) of a training run folder."""
    path = os.path.join(run_dir, "ckpt", checkpoint)
    ckpt = load_checkpoint(path, map_location=device)
    cfg = config_from_dict(ckpt["config"]) if "config" in ckpt else load_config(os.path.join(run_dir, "config.yaml"))
    stage = get_stage(cfg.stage)
    model = stage.build_model(cfg)
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: weights do not fit the {cfg.stage} model of its config "
                              f"({' '.join(str(e).split())[:200]})") from None
    return cfg, stage, model.to(device).eval()


class JsonlLog:
    def __init__(self, path, enabled=True):
        self.path, self.enabled = path, enabled

    def write(self, record):
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")


def _setup_distributed(device_name):
    """(world, rank, local_rank, device) from torchrun's environment; NCCL on CUDA (after set_device, so
    every collective and all_gather_object uses this rank's GPU), gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else 0
    device = pick_device(device_name, local_rank)
    if world <= 1:
        return 1, 0, 0, device
    if device.type == "cuda":
        torch.cuda.set_device(device)
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world, dist.get_rank(), local_rank, device


def _mean_over_ranks(values, world, device):
    """{name: float} averaged over the DDP ranks (each rank's mean over the same number of steps)."""
    if world == 1 or not values:
        return values
    import torch.distributed as dist
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t.tolist())}


def _all_finite(flag, world, device):
    if world == 1:
        return flag
    import torch.distributed as dist
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item() > 0)


@torch.no_grad()
def validate(stage, model, cfg, roots, device):
    """Mean loss components over the first train.val_batches batches of the val split (eval mode)."""
    ds = stage.make_dataset(cfg, roots, cfg.data.val_split, False)
    loader = DataLoader(ds, batch_size=cfg.data.batch_size, shuffle=False, num_workers=0)
    was = model.training
    model.eval()
    sums, n = {}, 0
    for batch in itertools.islice(loader, cfg.train.val_batches):
        with autocast(cfg, device):
            loss, parts = stage.loss(model, to_device(batch, device), cfg)
        for k, v in dict(parts, loss=float(loss)).items():
            sums[k] = sums.get(k, 0.0) + v
        n += 1
    model.train(was)
    return {f"val_{k}": v / max(n, 1) for k, v in sums.items()}


# ---- the loop ---------------------------------------------------------------------------------------

def train(cfg, roots, run_dir, resume=False, progress=True):
    """Train `cfg` on the dataset folders `roots` into `run_dir`; returns a summary dict."""
    world, rank, local_rank, device = _setup_distributed(cfg.train.device)
    main = rank == 0
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    stage = get_stage(cfg.stage)
    torch.manual_seed(cfg.train.seed * 1000 + rank)
    model = stage.build_model(cfg)
    if not resume and stage.init is not None:  # e.g. the lifter from another run (lift.init_from)
        stage.init(model, cfg)
    model = model.to(device)
    channels_last = cfg.train.channels_last and device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, PiecewiseLR(cfg.optim.lrs, cfg.optim.milestones))
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda" and cfg.train.amp == "fp16")
    ds = stage.make_dataset(cfg, roots, cfg.data.train_split, True)
    if device.type == "cuda" and hasattr(ds, "defer_image_ops"):
        ds.defer_image_ops = True  # workers only slice uint8 arrays; warp/jitter/heatmaps run batched on the GPU
    # The run folder is written only now: a bad config value found while building the model, its init
    # (lift.init_from) or the dataset (lift.run2d) leaves nothing behind.
    ckpt_dir = os.path.join(run_dir, "ckpt")
    os.makedirs(ckpt_dir, exist_ok=True)
    ckpt_path = os.path.join(ckpt_dir, "last.pt")
    if main:
        save_resolved(cfg, os.path.join(run_dir, "config.yaml"))
    log = JsonlLog(os.path.join(run_dir, "log.jsonl"), enabled=main)
    loader = TrainLoader(ds, cfg, rank, world, device)

    state = {"step": 0, "epoch": 0, "pos": 0, "nan_steps": 0}
    if resume:
        if not os.path.isfile(ckpt_path):
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        ck = load_checkpoint(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        state.update({k: int(ck[k]) for k in state})
        rngs = ck["rng"]
        set_rng_state(rngs[rank] if isinstance(rngs, list) else rngs)

    def save():
        rngs = rng_state()
        if world > 1:  # every rank's RNG, so a resumed DDP run continues each one
            import torch.distributed as dist
            gathered = [None] * world
            dist.all_gather_object(gathered, rngs)
            rngs = gathered
        if main:
            atomic_torch_save({"model": unwrap(model).state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "rng": rngs,
                               "config": config_to_dict(cfg), **state}, ckpt_path)

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None)
    if cfg.train.compile:
        net = torch.compile(net)
    net.train()

    from tqdm import tqdm
    bar = tqdm(total=cfg.train.iterations, initial=state["step"], disable=not (main and progress),
               desc=f"train {cfg.name or cfg.stage}", dynamic_ncols=True)
    acc, acc_n, t_log, imgs = {}, 0, time.perf_counter(), 0
    last_loss = float("nan")
    while state["step"] < cfg.train.iterations:
        for batch in loader.epoch(state["epoch"], state["pos"]):
            # raw (B, H, W, 3) uint8 images are not NCHW: channels_last is applied to the finished crops
            batch = finish_batch(to_device(batch, device, channels_last and "raw_rgb" not in batch), cfg.data,
                                 channels_last)
            opt.zero_grad(set_to_none=True)
            with autocast(cfg, device):
                loss, parts = stage.loss(net, batch, cfg)
            ok = _all_finite(bool(torch.isfinite(loss)), world, device)
            if ok:
                scaler.scale(loss).backward()
                if cfg.optim.grad_clip > 0:
                    scaler.unscale_(opt)
                    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
                    ok = _all_finite(bool(torch.isfinite(gn)), world, device) or scaler.is_enabled()
            if ok:
                scaler.step(opt)
                scaler.update()
            else:
                state["nan_steps"] += 1
                opt.zero_grad(set_to_none=True)
                if state["nan_steps"] > cfg.train.max_nan_steps:
                    raise RuntimeError(f"{state['nan_steps']} non-finite steps (train.max_nan_steps="
                                       f"{cfg.train.max_nan_steps}); last at step {state['step'] + 1}")
            with warnings.catch_warnings():  # a skipped step makes LambdaLR warn about the call order
                warnings.simplefilter("ignore", UserWarning)
                sched.step()
            state["step"] += 1
            state["pos"] += 1
            imgs += next(v.shape[0] for v in batch.values() if torch.is_tensor(v)) * world
            if ok:
                last_loss = float(loss.detach())
                for k, v in dict(parts, loss=last_loss).items():
                    acc[k] = acc.get(k, 0.0) + v
                acc_n += 1
            step = state["step"]
            bar.update(1)
            if step % cfg.train.log_every == 0 or step == cfg.train.iterations:
                dt = time.perf_counter() - t_log
                # Under DDP the mean over ranks: the loss of the global batch, as one process would log it.
                means = _mean_over_ranks({k: v / max(acc_n, 1) for k, v in acc.items()}, world, device)
                rec = {"step": step, "epoch": state["epoch"], "lr": opt.param_groups[0]["lr"], **means,
                       "nan_steps": state["nan_steps"], "images_per_s": imgs / max(dt, 1e-9)}
                log.write(rec)
                bar.set_postfix(loss=f"{rec.get('loss', float('nan')):.4g}")
                acc, acc_n, t_log, imgs = {}, 0, time.perf_counter(), 0
            if cfg.train.val_every and step % cfg.train.val_every == 0 and main:
                log.write({"step": step, **validate(stage, model, cfg, roots, device)})
            if step % cfg.train.ckpt_every == 0 or step == cfg.train.iterations:
                save()
            if step >= cfg.train.iterations:
                break
        else:
            state["epoch"] += 1
            state["pos"] = 0
    bar.close()
    if world > 1:  # every rank waits for rank 0's last checkpoint, then the group is closed
        import torch.distributed as dist
        dist.barrier()
        dist.destroy_process_group()
    return {"run": run_dir, "step": state["step"], "loss": last_loss, "nan_steps": state["nan_steps"]}


def training_step_fn(stage, model, cfg, device, opt=None):
    """A callable(batch) doing one full optimisation step (for benchmarks); returns the loss. `opt`
    defaults to a fresh optimizer of `model` (pass one when `model` is a compiled view of another)."""
    opt = opt if opt is not None else make_optimizer(cfg, model)

    def step(batch):
        opt.zero_grad(set_to_none=True)
        with autocast(cfg, device):
            loss, _ = stage.loss(model, batch, cfg)
        loss.backward()
        opt.step()
        return loss

    return step
