"""Training throughput: images/s of the full training step (forward, backward, optimizer) fed by
the real data loader vs by one synthetic in-memory batch, in one run; the ratio shows how much the
loader costs.

    python -m benchmarks.bench_train OUT.json [--config configs/train/cpu_ours_posenet.yaml] [--data HOP] [--steps 20]

Without --data a toy HOP folder (tests/hopfixtures.py) is written to a temporary directory.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import torch

from hopgen.core.atomic import atomic_write_json
from trainer.config import load_config
from trainer.engine import get_stage, make_loader, pick_device, to_device, training_step_fn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _toy_data(tmp, n, size):
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from hopfixtures import make_toy_hop
    return make_toy_hop(os.path.join(tmp, "toy"), n=n, size=size)


def _timed(step, batches, device, steps, warmup):
    t0 = None
    n = 0
    for i, batch in enumerate(batches):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, n = time.perf_counter(), 0
        loss = step(batch)
        if i >= warmup:
            n += next(v.shape[0] for v in batch.values() if torch.is_tensor(v))
        if i + 1 >= warmup + steps:
            break
    float(loss.detach())  # sync
    return n / (time.perf_counter() - t0)


def run(out_path, stage="2d", config=None, data=None, steps=20, warmup=3, overrides=(), toy_size=320):
    """Measure and write {real_images_per_s, synthetic_images_per_s, ratio, ...} to out_path (JSON, atomic)."""
    if config is None:
        if stage != "2d":
            raise ValueError(f"bench_train: pass config= for stage {stage!r}")
        config = os.path.join(REPO, "configs", "train", "cpu_ours_posenet.yaml")
    cfg = load_config(config, list(overrides))
    if cfg.stage != stage:
        raise ValueError(f"{config}: stage is {cfg.stage!r}, the benchmark asked for {stage!r}")
    device = pick_device(cfg.train.device)
    torch.manual_seed(0)
    st = get_stage(stage)
    with tempfile.TemporaryDirectory() as tmp:
        roots = [data] if data else [_toy_data(tmp, max(4 * cfg.data.batch_size, 16) * 2, toy_size)]
        ds = st.make_dataset(cfg, roots, cfg.data.train_split, True)
        model = st.build_model(cfg).to(device).train()
        step = training_step_fn(st, model, cfg, device)

        def real():
            epoch = 0
            while True:
                for b in make_loader(ds, cfg, epoch, device=device):
                    yield to_device(b, device)
                epoch += 1

        real_ips = _timed(step, real(), device, steps, warmup)
        batch = to_device(next(iter(make_loader(ds, cfg, 0, device=device))), device)
        synth_ips = _timed(step, (batch for _ in range(steps + warmup)), device, steps, warmup)
    result = {"stage": stage, "config": os.path.relpath(config, REPO) if os.path.isabs(config) else config,
              "overrides": list(overrides), "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
              "torch": torch.__version__, "threads": torch.get_num_threads(), "batch_size": cfg.data.batch_size,
              "crop": cfg.data.crop, "workers": cfg.data.workers, "steps": steps,
              "real_images_per_s": real_ips, "synthetic_images_per_s": synth_ips, "ratio": real_ips / synth_ips,
              "data": data or f"toy HOP folder ({toy_size} px, made by the benchmark)",
              "machine": {"cpu_count": os.cpu_count(), "load_average_after": list(os.getloadavg())}}
    atomic_write_json(out_path, result, indent=2)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--stage", default="2d")
    p.add_argument("--config")
    p.add_argument("--data")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args(argv)
    print(json.dumps(run(a.out, a.stage, a.config, a.data, a.steps, overrides=a.set), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
