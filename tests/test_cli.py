import json
import subprocess
import sys

from hopfixtures import make_toy_hop
from hopgen.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "hopgen.cli", *args], capture_output=True, text=True)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for cmd in "render plan index validate stats preview export assets train eval predict tables bench".split():
        assert cmd in r.stdout


def test_dataset_commands(tmp_path, capsys):
    root = make_toy_hop(tmp_path / "d", n=8, size=64)
    assert main(["index", str(root)]) == 0
    assert main(["validate", str(root)]) == 0
    assert "OK: 8 samples" in capsys.readouterr().out
    assert main(["stats", str(root), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["samples"] == 8 and sum(stats["category"].values()) == 8
    assert main(["preview", str(root), "--out", str(tmp_path / "p.png"), "--num", "3", "--tile", "64"]) == 0
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert main(["export", str(root), "--split", "train", "--out", str(tmp_path / "rhd")]) == 0
    assert (tmp_path / "rhd" / "training" / "anno_training.pickle").exists()


def test_validate_fails_with_exit_1(tmp_path, capsys):
    root = make_toy_hop(tmp_path / "d", n=2, size=32)
    (root / "rgb" / "00000001.png").write_bytes(b"junk")
    assert main(["validate", str(root)]) == 1
    assert "INVALID" in capsys.readouterr().out


def test_bad_config_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "c.yaml"
    bad.write_text("dataset: {num_samples: -3}\n")
    assert main(["plan", "--config", str(bad), "--manifest", str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert "c.yaml" in err and "num_samples" in err
