"""The farm path on a real single-node Slurm (Debian's slurm-wlm and munge, daemons started here):
an array of 4 shards renders a tiny dataset with Debian's Blender through scripts/slurm_render.sh,
one task is killed mid-way (scancel --signal=KILL), `hopgen farm slurm --indices --submit` re-runs
it and submits the afterok index+validate job. The job-completion records show the other tasks, the
re-run and the check job COMPLETED (and a task whose Blender fails FAILED); the dataset validates
and equals a one-process render."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import BLENDER_BIN
from hopgen.dataset.hopformat import IMAGE_KINDS, HopDataset, sample_id
from hopgen.dataset.validate import validate_dataset
from slurmcluster import LocalSlurm, missing_programs

REPO = Path(__file__).resolve().parents[1]
SHARDS = 4
KILLED = 1  # the array index killed mid-way
SLURM_FLAGS = ["--cpus-per-task=1", "--mem=200M", "--time=10"]


def _need_slurm():
    if os.geteuid() != 0:
        pytest.skip("the Slurm test runs munged/slurmctld/slurmd as root; not root here")
    missing = missing_programs()
    if missing:  # root can install them: `make test` and .ci/run do
        pytest.fail(f"Slurm test: {', '.join(missing)} not installed (apt-get install slurm-wlm munge)")


def _tiny_config(path):
    """configs/hop_tiny.yaml at 48 px, 1 Cycles sample, 8 one-frame episodes: 2 per shard."""
    cfg = yaml.safe_load((REPO / "configs" / "hop_tiny.yaml").read_text())
    cfg["dataset"].update(num_samples=8, frames_per_episode=1, width=48, height=48)
    cfg["render"].update(samples=1)
    path.write_text(yaml.safe_dump(cfg))
    return path


def _shard_ids(config, shard):
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import episode_samples, shard_episodes
    cfg = load_generation_config(str(config))
    return [sample_id(i) for e in shard_episodes(cfg, (shard, SHARDS)) for i in episode_samples(cfg, e)]


def assert_same_annotation(a, b, path="anno"):
    """Equal structure, strings, ints and bools; floats equal to 1e-9. Why not bit-equal: in Debian's
    Blender (numpy 1.24) a sample's camera and hand coordinates differ in the last bits (~1e-16)
    depending on which episodes its process rendered before, so a shard's samples are not bit-equal
    to a one-process render's (a shard re-rendered alone is bit-equal to itself; with the bpy 5.0
    module and the venv's numpy the shard is bit-equal to the one-process render)."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, (path, a, b)
    if isinstance(a, dict):
        assert a.keys() == b.keys(), (path, a.keys() ^ b.keys())
        for k in a:
            assert_same_annotation(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same_annotation(x, y, f"{path}[{k}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-9, (path, a, b)
    else:
        assert a == b, (path, a, b)


def _done(out, sid):
    return (out / "anno" / f"{sid}.json").exists()


@pytest.mark.slurm
@pytest.mark.blender_binary
@pytest.mark.slow
def test_slurm_array_renders_resumes_and_validates(tmp_path):
    _need_slurm()
    config = _tiny_config(tmp_path / "tiny.yaml")
    out, ref = tmp_path / "farm", tmp_path / "ref"
    (tmp_path / "slurm-out").mkdir()
    with LocalSlurm() as slurm:
        env = dict(slurm.env, HOPGEN_BLENDER=BLENDER_BIN)
        # The README's raw form, from the checkout (the submit dir): the array is the shard count.
        t0 = time.monotonic()
        job = slurm.run("sbatch", "--parsable", "--array=0-3", f"--output={tmp_path}/slurm-out/%A_%a.out",
                        *SLURM_FLAGS, "scripts/slurm_render.sh", str(config), str(out), cwd=REPO, env=env
                        ).stdout.strip().split(";")[0]
        # The one-process reference render, meanwhile, with the same Blender and thread count.
        reference = subprocess.Popen([BLENDER_BIN, "-b", "--factory-startup", "--python-exit-code", "1", "-P",
                                      str(REPO / "blender_scripts" / "render_hop.py"), "--", "--config", str(config),
                                      "--out", str(ref), "--threads", "1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
        try:
            # Kill one task after its first sample is written and before its last one.
            first, *_, last = _shard_ids(config, KILLED)
            deadline = time.monotonic() + 150
            while not _done(out, first):
                assert time.monotonic() < deadline, "task 1 wrote no sample in 150 s:\n" + slurm.diagnostics()
                assert slurm.active([job]), "the array ended before task 1 wrote a sample"
                time.sleep(0.05)
            slurm.run("scancel", "--signal=KILL", f"{job}_{KILLED}")
            killed_at = sorted(p.name for p in (out / "anno").glob("*.json"))
            slurm.wait([job], timeout=150)
            array_wall = time.monotonic() - t0
            assert not _done(out, last), "the kill came after task 1 had finished: nothing to resume"

            # Re-run the killed index through `hopgen farm slurm`, from another folder (no checkout
            # there); it also submits the index+validate job that runs only after the re-run succeeded.
            t1 = time.monotonic()
            r = subprocess.run([sys.executable, "-m", "hopgen.cli", "farm", "slurm", str(config), str(out),
                                "--shards", str(SHARDS), "--indices", str(KILLED), "--blender", BLENDER_BIN,
                                "--submit", "--", *SLURM_FLAGS], capture_output=True, text=True, cwd=tmp_path,
                               env=dict(slurm.env, PYTHONPATH=str(REPO)))
            assert r.returncode == 0, r.stdout + r.stderr
            rerun, check = re.search(r"render array (\d+) .* index\+validate job (\d+)", r.stdout).groups()
            slurm.wait([rerun, check], timeout=150)
            rerun_wall = time.monotonic() - t1
            # A task whose Blender fails is FAILED with its exit code (here `false` as the Blender).
            failing = slurm.run("sbatch", "--parsable", "--array=0", f"--output={tmp_path}/slurm-out/%A_%a.out",
                                *SLURM_FLAGS, "--export=ALL,HOPGEN_SHARDS=4,HOPGEN_BLENDER=false",
                                "scripts/slurm_render.sh", str(config), str(tmp_path / "failing"), cwd=REPO
                                ).stdout.strip().split(";")[0]
            slurm.wait([failing], timeout=60)
            _, stderr = reference.communicate(timeout=150)
            assert reference.returncode == 0, stderr[-3000:]
        finally:
            if reference.poll() is None:
                reference.kill()
                reference.wait()

        recs = {(rec.get("ArrayJobId", rec["JobId"]), rec.get("ArrayTaskId")): rec for rec in slurm.records()}
        states = {key: (rec["JobState"], rec["ExitCode"]) for key, rec in recs.items()}
        sacct = slurm.sacct_states()
        from datetime import datetime
        span = {key: (datetime.fromisoformat(rec["EndTime"]) - datetime.fromisoformat(rec["StartTime"])).seconds
                for key, rec in recs.items()}
        print(f"\nslurm task run times (s, jobcomp Start/End) {span}")
        print(f"slurm array of {SHARDS} (task {KILLED} killed): {array_wall:.1f} s wall; re-run + check "
              f"{rerun_wall:.1f} s; jobcomp states {states}; sacct --completion {sacct}")
        for i in range(SHARDS):
            if i != KILLED:
                assert states[(job, str(i))] == ("COMPLETED", "0:0"), states
        assert states[(job, str(KILLED))][0] != "COMPLETED", states
        assert states[(rerun, str(KILLED))] == ("COMPLETED", "0:0"), states
        assert states[(check, None)] == ("COMPLETED", "0:0"), states
        assert states[(failing, "0")] == ("FAILED", "1:0"), states
        for rec in recs.values():  # sacct reads the same records; it names jobs by their own id
            assert sacct[rec["JobId"]][0] == rec["JobState"]

    # Each task logged into OUT/logs (created by the script); the re-run skipped what was there.
    rerun_log = (out / "logs" / f"shard-{KILLED}-of-{SHARDS}.{rerun}.log").read_text()
    assert f"HOPGEN_SKIP {int(first)}" in rerun_log and f"HOPGEN_DONE {int(last)}" in rerun_log, rerun_log[-2000:]
    assert len(list((out / "logs").glob("shard-*-of-4.*.log"))) == SHARDS + 1
    assert "OK: 8 samples" in next((out / "logs").glob(f"check-{check}.out")).read_text()
    # No partial samples: every image belongs to a finished sample; the set is the reference's.
    assert validate_dataset(out) == []
    a, b = HopDataset(ref), HopDataset(out)
    assert len(b.ids) == 8 and a.ids == b.ids, (a.ids, b.ids, killed_at)
    for kind in IMAGE_KINDS:
        if (out / kind).is_dir():
            names = {p.stem for p in (out / kind).iterdir() if not p.name.startswith(".tmp-")}
            assert names == set(b.ids), (kind, names ^ set(b.ids))
    for sid in a.ids:
        assert_same_annotation(a.annotation(sid), b.annotation(sid))
        np.testing.assert_array_equal(a.image("seg", sid), b.image("seg", sid))
    assert (out / "index.jsonl").exists() and (out / "splits" / "train.txt").exists()
