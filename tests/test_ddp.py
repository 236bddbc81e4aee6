"""DDP under torchrun (gloo, 2 CPU processes) against one process with the same global batch.

The baseline model (HandSegNet + PoseNet, tiny) has no BatchNorm and no sampling, so one process
with batch 4 and two ranks with batch 2 each take the same steps: DistributedSampler gives rank r
the positions r, r + 2, ... of the same shuffled order, DDP averages the gradients, and the logged
DDP loss is the mean over ranks. Tolerance: 1e-4 relative on every logged loss, 1e-5 absolute on
the final weights (float32 sums in another order; measured differences are ~1e-7).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hopfixtures import make_toy_hop  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / "configs" / "train" / "tiny_hs_posenet.yaml")
COMMON = ["train.log_every=1", "train.threads=1", "data.workers=0", "train.device=cpu", "data.full_view_prob=0.25"]


def _train(args, run, nproc=1, extra=()):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    entry = ["-m", "trainer.train"]
    if nproc > 1:
        entry = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "trainer.train"]
    sets = [x for kv in COMMON + list(args) for x in ("--set", kv)]
    cmd = [sys.executable, *entry, "--config", CONFIG, "--data", DATA[0], "--out", str(run), "--no-progress",
           *sets, *extra]
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-4000:]
    return [json.loads(line) for line in open(run / "log.jsonl")]


DATA = []


@pytest.mark.slow
def test_ddp_two_ranks_match_one_process_and_resume_single(tmp_path):
    DATA[:] = [make_toy_hop(str(tmp_path / "toy"), n=24, size=64)]
    one = _train(["data.batch_size=4", "train.iterations=4", "train.ckpt_every=4"], tmp_path / "one")
    ddp = _train(["data.batch_size=2", "train.iterations=2", "train.ckpt_every=2"], tmp_path / "ddp", nproc=2)

    # only rank 0 writes: one log line per step (not per rank), nothing but the run files
    assert [r["step"] for r in ddp] == [1, 2]
    assert sorted(os.listdir(tmp_path / "ddp")) == ["ckpt", "config.yaml", "log.jsonl"]
    assert os.listdir(tmp_path / "ddp" / "ckpt") == ["last.pt"]
    ck = torch.load(tmp_path / "ddp" / "ckpt" / "last.pt", weights_only=True)
    assert ck["step"] == 2 and isinstance(ck["rng"], list) and len(ck["rng"]) == 2  # both ranks' RNGs
    for a, b in zip(one[:2], ddp):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
        assert b["heatmap"] == pytest.approx(a["heatmap"], rel=1e-4)

    # the DDP checkpoint resumes in ONE process (global batch kept: 4) and continues the same run
    res = tmp_path / "resumed"
    shutil.copytree(tmp_path / "ddp", res)
    resumed = _train(["data.batch_size=4", "train.iterations=4", "train.ckpt_every=4"], res, extra=["--resume"])
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    for a, b in zip(one[2:], resumed[2:]):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
    w1 = torch.load(tmp_path / "one" / "ckpt" / "last.pt", weights_only=True)["model"]
    w2 = torch.load(res / "ckpt" / "last.pt", weights_only=True)["model"]
    assert w1.keys() == w2.keys()
    worst = max(float((w1[k].float() - w2[k].float()).abs().max()) for k in w1)
    assert worst < 1e-5, worst
