"""Training throughput, in one run, per model config: the loader alone, the model alone, both together.

    hopgen bench train [data=HOP] [configs='["configs/train/cpu_ours_posenet.yaml", ...]'] [steps=20]
    python -m benchmarks.bench_train OUT.json [--data HOP] [--config C ...] [--steps 20] [--set k=v]

For each config:
  loader_only   images/s of the training DataLoader with no model: `loader_only_img_per_s_per_worker`
                is one DataLoader worker process feeding an idle main process (what each of
                data.workers adds), with its CPU seconds per image (steadier than wall time on a
                loaded machine); on CUDA the workers only slice the packed uint8 arrays and the
                warp/jitter/heatmaps run batched on the GPU, and that GPU time is included.
  model_only    images/s of the full training step (forward, backward, optimizer) on one in-memory
                batch (synthetic: no loader), plus FLOPs per image (torch FlopCounterMode on one
                step), achieved TFLOP/s, share of the device's dense bf16 peak and, on CUDA, peak
                memory; on CUDA also each speed setting (fp32, bf16 autocast, + channels_last,
                + torch.compile) so the report says what helped.
  combined      the training step fed by the real loader with data.workers workers;
                ratio = combined / model_only (1.0: the loader keeps up).
The machine (cpu count, torch threads, load average before/after, device name) is recorded with
the numbers: the workplace's machine is shared, so read the load next to them.

Without data= a toy HOP folder (tests/hopfixtures.py, checkout only) is written to a temporary
directory. HOP folders are packed first (trainer.pack; a pack is written next to the data).
"""

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time

import torch

from hopgen.core.atomic import atomic_write_json
from trainer.augment import finish_batch
from trainer.config import load_config
from trainer.engine import get_stage, make_optimizer, pick_device, to_device, training_step_fn
from trainer.loader import TrainLoader

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIGS = ("configs/train/cpu_ours_posenet.yaml", "configs/train/cpu_ours_cluster_3d.yaml")
# Dense bf16 tensor-core peaks (vendor datasheets, SXM parts), for the share of peak.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def _toy_data(tmp, n, size):
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from hopfixtures import make_toy_hop
    return make_toy_hop(os.path.join(tmp, "toy"), n=n, size=size)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _n(batch):
    return next(v.shape[0] for v in batch.values() if torch.is_tensor(v))


def _batches(loader, device, finish_cfg, channels_last):
    epoch = 0
    while True:
        for b in loader.epoch(epoch):
            yield finish_batch(to_device(b, device, channels_last), finish_cfg, channels_last)
        epoch += 1


def _timed(fn, items, device, steps, warmup):
    """(images/s wall, process CPU s per image) of fn over `steps` items after `warmup`."""
    it = iter(items)
    for _ in range(warmup):
        fn(next(it))
    _sync(device)
    t0, c0, n = time.perf_counter(), time.process_time(), 0
    for _ in range(steps):
        b = next(it)
        fn(b)
        n += _n(b)
    _sync(device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, cpu / n


def _flops_per_image(step, batch):
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        step(batch)
    return counter.get_total_flops() / _n(batch)


def _peak(device):
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)


def _loader_only(ds, cfg, device, steps, warmup):
    """Per-worker figure: one worker process, the main process only receives (and on CUDA finishes)."""
    cfg1 = load_config_copy(cfg, workers=1)
    tl = TrainLoader(ds, cfg1, device=device)
    ips, _ = _timed(lambda b: None, _batches(tl, device, cfg.data, False), device, steps, warmup)
    # The same work in this process (workers=0) with one torch thread as in a worker, for its CPU
    # seconds per image (process_time cannot see into the worker process).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tl0 = TrainLoader(ds, load_config_copy(cfg, workers=0), device=device)
        ips0, cpu0 = _timed(lambda b: None, _batches(tl0, device, cfg.data, False), device, steps, warmup)
    finally:
        torch.set_num_threads(threads)
    return {"loader_only_img_per_s_per_worker": ips, "in_process_img_per_s": ips0,
            "cpu_s_per_image": cpu0, "img_per_cpu_s": 1.0 / cpu0 if cpu0 > 0 else None,
            "gpu_finishing": bool(getattr(ds, "defer_image_ops", False))}


def load_config_copy(cfg, **data):
    import dataclasses
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, **data))


def _variants(cfg, device):
    """(name, cfg, channels_last, compile) speed settings to try; CPU: the config as it is."""
    import dataclasses
    if device.type != "cuda":
        return [("as_config", cfg, False, False)]
    off = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, amp="off"))
    bf = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, amp="bf16"))
    return [("fp32", off, False, False), ("bf16", bf, False, False), ("bf16_channels_last", bf, True, False),
            ("bf16_channels_last_compile", bf, True, True)]


def bench_config(config, data, steps, warmup, overrides=(), compile_variants=True):
    cfg = load_config(config, list(overrides))
    device = pick_device(cfg.train.device)
    stage = get_stage(cfg.stage)
    torch.manual_seed(0)
    ds = stage.make_dataset(cfg, [data], cfg.data.train_split, True)
    if device.type == "cuda" and hasattr(ds, "defer_image_ops"):
        ds.defer_image_ops = True
    res = {"config": os.path.relpath(config, REPO) if os.path.isabs(config) else config, "stage": cfg.stage,
           "model": f"{cfg.model.kind}/{cfg.model.pose_net}" if cfg.stage == "2d" else cfg.model.kind,
           "crop": cfg.data.crop, "batch_size": cfg.data.batch_size, "workers": cfg.data.workers,
           "amp": cfg.train.amp if device.type == "cuda" else "off (CPU)", "device": str(device)}
    res["loader"] = _loader_only(ds, cfg, device, steps, warmup)

    batch = next(_batches(TrainLoader(ds, load_config_copy(cfg, workers=0), device=device), device, cfg.data, False))
    variants = {}
    best = None
    for name, vcfg, cl, comp in _variants(cfg, device):
        if comp and not compile_variants:
            continue
        model = stage.build_model(vcfg).to(device).train()
        b = batch
        if cl:
            model = model.to(memory_format=torch.channels_last)
            b = {k: (v.contiguous(memory_format=torch.channels_last) if torch.is_tensor(v) and v.ndim == 4 else v)
                 for k, v in batch.items()}
        net = torch.compile(model) if comp else model
        step = training_step_fn(stage, net, vcfg, device, make_optimizer(vcfg, model))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            t_first = time.perf_counter()
            step(b)  # compile / first-call cost, reported separately
            _sync(device)
            first_s = time.perf_counter() - t_first
            ips, cpu = _timed(step, (b for _ in iter(int, 1)), device, steps, warmup)
        except Exception as e:  # e.g. torch.compile without a compiler on this machine: say so
            variants[name] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
            continue
        v = {"img_per_s": ips, "cpu_s_per_image": cpu, "first_step_s": first_s}
        if device.type == "cuda":
            v["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2 ** 30
        variants[name] = v
        if best is None or ips > variants[best]["img_per_s"]:
            best = name
        del net, model, step
    if best is None:
        raise RuntimeError(f"bench train {config}: every speed setting failed: {variants}")
    fmodel = stage.build_model(cfg).to(device).train()  # FLOPs do not depend on dtype or memory format
    flops = _flops_per_image(training_step_fn(stage, fmodel, cfg, device, make_optimizer(cfg, fmodel)), batch)
    del fmodel
    peak = _peak(device)
    m = dict(variants[best], variants=variants, best=best, train_flops_per_image=flops,
             achieved_tflops=flops * variants[best]["img_per_s"] / 1e12)
    if peak:
        m["bf16_peak_tflops"], m["share_of_bf16_peak"] = peak, m["achieved_tflops"] / peak
    res["model_only"] = m

    # combined: the best setting, fed by the real loader with the config's workers
    import dataclasses
    bcfg = {n: c for n, c, _, _ in _variants(cfg, device)}[best]
    cl = "channels_last" in best
    model = stage.build_model(bcfg).to(device).train()
    if cl:
        model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if best.endswith("compile") else model
    step = training_step_fn(stage, net, bcfg, device, make_optimizer(bcfg, model))
    tl = TrainLoader(ds, bcfg, device=device)
    ips, cpu = _timed(step, _batches(tl, device, cfg.data, cl), device, steps, warmup)
    res["combined"] = {"img_per_s": ips, "setting": best, "workers": dataclasses.asdict(bcfg.data)["workers"]}
    res["ratio_combined_over_model"] = ips / m["img_per_s"]
    return res


def _data_info(data):
    info = {"path": data}
    meta = os.path.join(data, "dataset.json")
    if os.path.isfile(meta):
        with open(meta) as f:
            m = json.load(f)
        info.update(samples=len(os.listdir(os.path.join(data, "anno"))), image_size=m.get("image_size"))
        from trainer.pack import find_pack
        info["pack"] = find_pack(data)
    return info


def run(out_path, data=None, configs=DEFAULT_CONFIGS, steps=20, warmup=3, overrides=(), compile=True,
        quick=False, toy_size=128):
    """Benchmark each config of `configs` on `data` (HOP/RHD folder; default a toy set); write JSON atomically."""
    if isinstance(configs, str):
        configs = [configs]
    if quick:
        configs, steps, warmup = ("configs/train/tiny_ours_posenet.yaml", "configs/train/tiny_3d_cluster.yaml"), 3, 1
    configs = [c if os.path.isabs(c) else os.path.join(REPO, c) for c in configs]
    for c in configs:
        if not os.path.isfile(c):
            raise ValueError(f"bench train: config {c} not found")
    if data is not None and not os.path.isdir(data):
        raise ValueError(f"bench train: data folder {data} not found")
    load0, cpu0, t0 = os.getloadavg(), time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = data or _toy_data(tmp, 48, toy_size)
        results = [bench_config(c, root, steps, warmup, overrides, compile) for c in configs]
        info = _data_info(root) if data else {"path": f"toy HOP folder ({toy_size} px, made by the benchmark)"}
    dev = pick_device(load_config(configs[0], list(overrides)).train.device)
    result = {
        "benchmark": "train", "models": results,
        "loader_only_img_per_s_per_worker": {r["config"]: r["loader"]["loader_only_img_per_s_per_worker"] for r in results},
        "data": info, "steps": steps, "warmup": warmup, "overrides": list(overrides),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "device": str(dev), "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda"
                    else (platform.processor() or platform.machine()),
                    "load_average_before": list(load0), "load_average_after": list(os.getloadavg()),
                    "process_cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - t0},
    }
    if out_path:
        atomic_write_json(out_path, result, indent=2)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--data")
    p.add_argument("--config", action="append", help="training config (repeat; default: the CPU 2D and 3D configs)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args(argv)
    r = run(a.out, a.data, a.config or DEFAULT_CONFIGS, a.steps, overrides=a.set, compile=not a.no_compile)
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
