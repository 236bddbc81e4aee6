"""The training DataLoader: persistent workers across epochs, pinned memory, prefetch, exact resume.

Workers stay alive for the whole run (persistent_workers), so the epoch cannot reach them
through `set_epoch` calls in the main process. The sampler therefore yields (epoch, index)
keys: a dataset with `_epoch_key` (data.HandCrops) reads the epoch from the key, and any other
dataset with `set_epoch` is wrapped by `EpochKeyed`, which sets it in the worker's copy before
the item is read. Either way a sample depends only on (seed, epoch, index), never on the
worker count, the worker that reads it or the order (tests/test_loader.py).

Shuffling is DistributedSampler's (seeded by train.seed + epoch, drop_last), so one process
with global batch B*W reads the same samples per step as W DDP ranks with batch B each (rank r
takes positions r, r + W, ...).
"""

import itertools

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from trainer.data import DataError, WorkerInit


class EpochKeyed(Dataset):
    """ds[(epoch, index)] -> ds.set_epoch(epoch); ds[index] (for datasets without their own epoch keys)."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, key):
        epoch, index = key
        if getattr(self.ds, "epoch", None) != epoch:
            self.ds.set_epoch(epoch)
        return self.ds[index]


class EpochSampler(DistributedSampler):
    """DistributedSampler yielding (epoch, index), skipping the first `start` items of the epoch (resume)."""

    def __init__(self, dataset, num_replicas, rank, seed):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def begin(self, epoch, start):
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self):
        return ((self.epoch, i) for i in itertools.islice(super().__iter__(), self.start, None))

    def __len__(self):
        return max(0, self.num_samples - self.start)


class TrainLoader:
    """`epoch(e, start_batch)` iterates the batches of epoch e from `start_batch` on, with the same workers."""

    def __init__(self, ds, cfg, rank=0, world=1, device=torch.device("cpu")):
        bs, workers = cfg.data.batch_size, cfg.data.workers
        self.sampler = EpochSampler(ds, world, rank, cfg.train.seed)
        if self.sampler.num_samples < bs:
            raise DataError(f"{len(ds)} training samples over {world} process(es) is fewer than data.batch_size={bs}")
        self.batch_size = bs
        keyed = ds if hasattr(ds, "_epoch_key") else EpochKeyed(ds)
        # Own generator: creating the iterator must not draw from the global torch RNG (exact resume).
        gen = torch.Generator().manual_seed(cfg.train.seed * 7919 + rank)
        extra = dict(persistent_workers=True, prefetch_factor=max(1, cfg.data.prefetch)) if workers > 0 else {}
        self.loader = DataLoader(keyed, batch_size=bs, sampler=self.sampler, num_workers=workers, drop_last=True,
                                 pin_memory=device.type == "cuda", worker_init_fn=WorkerInit(cfg.train.seed, 0),
                                 generator=gen, **extra)

    def epoch(self, epoch, start_batch=0):
        self.sampler.begin(epoch, start_batch * self.batch_size)
        return iter(self.loader)
