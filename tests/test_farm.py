"""`hopgen farm slurm` command lines and the batch script's own checks, without a Slurm (the real
single-node Slurm run is tests/test_slurm.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hopgen.render.farm import FarmError, array_spec, parse_indices

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")  # 2 episodes
SCRIPT = str(REPO / "scripts" / "slurm_render.sh")


def hopgen(*args):
    return subprocess.run([sys.executable, "-m", "hopgen.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_indices_and_array_lists():
    assert parse_indices("5,1,8-10,9", 64) == [1, 5, 8, 9, 10]
    assert array_spec([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert array_spec(list(range(64))) == "0-63"
    for bad in ("64", "3-1", "x", "1,,2"):
        with pytest.raises(FarmError, match="--indices"):
            parse_indices(bad, 64)


def test_prints_the_array_and_the_afterok_check_job(tmp_path):
    r = hopgen("farm", "slurm", TINY, str(tmp_path / "o"), "--shards", "2", "--blender", "/opt/blender/blender",
               "--set", "render.samples=2", "--", "--partition=render", "--cpus-per-task=8")
    assert r.returncode == 0, r.stderr
    mkdir, render, strip, check = r.stdout.strip().splitlines()
    assert mkdir == f"mkdir -p {tmp_path}/o/logs"
    assert render.startswith("JOB=$(sbatch --parsable --job-name=hopgen-render --array=0-1 ")
    assert "HOPGEN_SHARDS=2" in render and "HOPGEN_BLENDER=/opt/blender/blender" in render
    assert f"hopgen/render/slurm_render.sh {TINY} {tmp_path}/o --set render.samples=2)" in render
    assert "--partition=render --cpus-per-task=8" in render and "--partition=render" in check
    assert '"--dependency=afterok:$JOB"' in check and "hopgen.cli index" in check and "hopgen.cli validate" in check
    assert strip.startswith("JOB=${JOB%%;*}")
    r = hopgen("farm", "slurm", TINY, str(tmp_path / "o"), "--shards", "2", "--indices", "1")
    assert "--array=1 " in r.stdout and "HOPGEN_SHARDS=2" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--shards", "3"], "--shards 3: .* has only 2 episodes"),
    (["--shards", "2", "--indices", "2"], "--indices '2': 2 is outside 0-1"),
    (["--shards", "2", "--", "--array=0-9"], "sbatch flag --array=0-9: set by hopgen farm"),
    (["--shards", "2", "--set", "dataset.nope=1"], "nope"),
])
def test_bad_arguments_fail_before_submitting(tmp_path, args, message):
    r = hopgen("farm", "slurm", TINY, str(tmp_path / "o"), "--submit", *args)
    assert r.returncode == 1 and r.stderr.startswith("hopgen farm: error:"), r.stderr
    import re
    assert re.search(message, r.stderr), r.stderr
    assert not (tmp_path / "o").exists()


def _task(tmp_path, env, *args):
    """Run the batch script as a Slurm task would (env) with a stand-in Blender that prints its arguments."""
    fake = tmp_path / "fake-blender"
    fake.write_text("#!/bin/sh\necho \"ARGS $*\"\n")
    fake.chmod(0o755)
    base = {"PATH": os.environ["PATH"], "HOPGEN_BLENDER": str(fake), "SLURM_SUBMIT_DIR": str(REPO),
            "SLURM_JOB_ID": "7", "SLURM_ARRAY_JOB_ID": "6"}
    return subprocess.run(["bash", SCRIPT, TINY, str(tmp_path / "o"), *args], capture_output=True, text=True,
                          env=dict(base, **env), cwd=tmp_path)


def test_batch_script_takes_shards_from_the_array_and_resources_from_slurm(tmp_path):
    array = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3",
             "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_CPUS_PER_TASK": "6"}
    r = _task(tmp_path, array, "--set", "render.samples=2")
    assert r.returncode == 0, r.stderr
    assert f"log {tmp_path}/o/logs/shard-2-of-4.7.log" in r.stdout
    log = (tmp_path / "o" / "logs" / "shard-2-of-4.7.log").read_text()
    entry = REPO / "blender_scripts" / "render_hop.py"  # found from the submit dir, not from $0
    assert (f"ARGS -b --factory-startup --python-exit-code 1 -P {entry} -- --config {TINY} --out {tmp_path}/o "
            "--shard 2/4 --threads 6 --set render.samples=2") in log
    # Re-running index 5 of 8: the shard count comes from HOPGEN_SHARDS, not the one-task array.
    rerun = dict(array, SLURM_ARRAY_TASK_ID="5", SLURM_ARRAY_TASK_MIN="5", SLURM_ARRAY_TASK_MAX="5",
                 SLURM_ARRAY_TASK_COUNT="1")
    r = _task(tmp_path, rerun)
    assert r.returncode == 2 and "not 0-(N-1)" in r.stderr and "HOPGEN_SHARDS=N" in r.stderr
    r = _task(tmp_path, dict(rerun, HOPGEN_SHARDS="8"))
    assert r.returncode == 0 and "--shard 5/8" in (tmp_path / "o" / "logs" / "shard-5-of-8.7.log").read_text()


def test_batch_script_fails_clearly(tmp_path):
    assert "not an array task" in _task(tmp_path, {}).stderr
    array = {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "0",
             "SLURM_ARRAY_TASK_COUNT": "1"}
    r = _task(tmp_path, dict(array, HOPGEN_BLENDER="/nonexistent/blender"))
    assert r.returncode == 2 and "Blender '/nonexistent/blender' not found" in r.stderr
    r = _task(tmp_path, dict(array, HOPGEN_SHARDS="0"))
    assert r.returncode == 2 and "need 0 <= index < shards" in r.stderr
    # A failing Blender fails the task (Slurm marks it FAILED).
    fail = tmp_path / "failing-blender"
    fail.write_text("#!/bin/sh\nexit 1\n")
    fail.chmod(0o755)
    assert _task(tmp_path, dict(array, HOPGEN_BLENDER=str(fail))).returncode == 1


def test_batch_script_finds_an_installed_hopgen(tmp_path):
    """Submitted from a folder that is no checkout: the entry comes from the hopgen that HOPGEN_PYTHON imports."""
    array = {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "1",
             "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_SUBMIT_DIR": str(tmp_path)}
    r = _task(tmp_path, dict(array, HOPGEN_PYTHON=sys.executable, PYTHONPATH=str(REPO)))
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "o" / "logs" / "shard-0-of-2.7.log").read_text()
    assert f"-P {REPO}/hopgen/render/blender_entry.py -- " in log and "--threads 0" in log
    r = _task(tmp_path, dict(array, HOPGEN_PYTHON="false"))
    assert r.returncode == 2 and "no hopgen found" in r.stderr
