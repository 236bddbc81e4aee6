"""CLI conventions: `python -m hopgen`, `validate --json`, the shared progress bar, a closed stdout
pipe, `train --print-config`."""

import io
import json
import os
import subprocess
import sys

import yaml

from hopfixtures import make_toy_hop
from hopgen.core.progress import Progress, progress_iter

ENV = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))


def hopgen(*args, **kw):
    return subprocess.run([sys.executable, "-m", "hopgen", *args], capture_output=True, text=True, env=ENV, **kw)


def test_python_dash_m_hopgen(tmp_path):
    r = hopgen("--help")
    assert r.returncode == 0 and "export" in r.stdout
    r = hopgen("export", "--help")
    assert r.returncode == 0
    for fmt in ("rhd", "coco", "freihand", "webdataset", "--size", "--force"):
        assert fmt in r.stdout


def test_validate_json(tmp_path):
    root = make_toy_hop(tmp_path / "d", n=3, size=32)
    r = hopgen("validate", str(root), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == {"dataset": str(root), "valid": True, "samples": 3, "problems": []}
    (root / "seg" / "00000002.png").write_bytes(b"junk")
    r = hopgen("validate", str(root), "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["valid"] is False
    assert [(p["sample"], p["rule"]) for p in doc["problems"]] == [("00000002", "decode")]


def test_stats_into_a_closed_pipe_is_quiet(tmp_path):
    root = make_toy_hop(tmp_path / "d", n=3, size=32)
    p = subprocess.Popen([sys.executable, "-m", "hopgen", "stats", str(root), "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    p.stdout.close()  # the reader is gone before the first byte (`| head -c0`)
    err = p.stderr.read().decode()
    assert p.wait() == 1 and err == ""
    r = subprocess.run(f"{sys.executable} -m hopgen stats {root} --json | head -n 2", shell=True,
                       capture_output=True, text=True, env=ENV)
    assert r.stdout.splitlines()[0] == "{" and r.stderr == ""


def test_train_print_config_shows_the_resolved_config_and_does_nothing(tmp_path, capsys):
    import pytest

    from hopgen.cli import main
    run = tmp_path / "run"
    assert main(["train", "--config", "configs/train/tiny_ours_posenet.yaml", "--set", "optim.lrs=[0.003]",
                 "--print-config", "--out", str(run)]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["optim"]["lrs"] == [0.003] and cfg["data"]["crop"] > 0 and "train" in cfg
    assert not run.exists()
    assert main(["train", "--print-config"]) == 0  # the defaults
    assert yaml.safe_load(capsys.readouterr().out)["model"]["kind"] == "ours"
    with pytest.raises(SystemExit) as e:
        main(["train", "--config", "configs/train/tiny_ours_posenet.yaml"])
    assert e.value.code == 2 and "--data" in capsys.readouterr().err


def test_progress_bar_counts_rate_and_eta():
    out = io.StringIO()
    p = Progress(10, label="export", stream=out, enabled=True, interval=0.0)
    for _ in range(3):
        p.update()
    p.update("skipped")
    line = out.getvalue().split("\r")[-1]
    assert "export [" in line and "4/10" in line and "1 skipped" in line and "samples/s" in line and "ETA" in line
    p.close()
    assert out.getvalue().endswith("\n")
    quiet = io.StringIO()
    assert list(progress_iter(range(5), 5, "eval", stream=quiet, enabled=False)) == list(range(5))
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    list(progress_iter(range(5), 5, "eval", unit="batches", stream=shown, enabled=True, interval=0.0))
    assert "5/5" in shown.getvalue() and "batches/s" in shown.getvalue()
