"""scripts/paper_tables.sh, the one command for the paper-scale Tables I-IV: its plan (DRY_RUN=1) trains every
paper config for every seed, Table IV on the 2D run of the same seed after all phase-1 runs, resumes and skips
runs, evaluates and aggregates; every planned config resolves. No training here (paper size needs a GPU)."""

import os
import shlex
import subprocess

from trainer.config import lift_cfg, load_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "paper_tables.sh")
PHASE1 = ["ours_posenet", "hs_posenet", "ours_hourglass", "hs_hourglass", "ours_novar_posenet",
          "poseprior_gt", "ours_triplet_gt", "ours_cluster_gt", "ours_novar_gt"]
RUN2D = {"full_zb": "hs_posenet", "full_ours_novar": "ours_novar_posenet", "full_ours_cluster": "ours_posenet",
         "full_ours_triplet": "ours_posenet"}


def _plan(tmp_path, **env):
    out = str(tmp_path / "paper")
    p = subprocess.run(["bash", SCRIPT, str(tmp_path / "data"), out], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DRY_RUN": "1", "GPUS": "2", "SEEDS": "0 1", **env}, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    return out, p.stdout.splitlines()


def _train_lines(lines):
    res = []
    for i, line in enumerate(lines):
        if " hopgen train " in line:
            a = shlex.split(line)
            gpu = a[0].split("=")[1]
            run = a[a.index("--out") + 1]
            sets = [a[j + 1] for j, x in enumerate(a) if x == "--set"]
            cfg = a[a.index("--config") + 1] if "--config" in a else None
            res.append((i, gpu, os.path.basename(run), cfg, sets, "--resume" in a))
    return res


def test_plan_trains_every_paper_config_per_seed_then_table4_then_tables(tmp_path):
    out, lines = _plan(tmp_path)
    trains = _train_lines(lines)
    names = [t[2] for t in trains]
    want1 = {f"{c}_s{s}" for c in PHASE1 for s in (0, 1)}
    want4 = {f"{c}_s{s}" for c in RUN2D for s in (0, 1)}
    assert len(names) == len(set(names)) and set(names) == want1 | want4
    last1 = max(i for i, _, n, *_ in trains if n in want1)
    assert all(i > last1 for i, _, n, *_ in trains if n in want4)  # Table IV only after every 2D / 3D run
    assert {t[1] for t in trains} == {"0", "1"}
    for _, _, name, cfg, sets, _ in trains:
        seed = int(name.rsplit("_s", 1)[1])
        assert f"train.seed={seed}" in sets and cfg == f"configs/train/{name.rsplit('_s', 1)[0]}.yaml"
        c = load_config(os.path.join(REPO, cfg), sets)  # the planned config and overrides resolve
        assert c.train.iterations >= 30000 and "cpu" not in cfg and "tiny" not in cfg  # the paper's schedules
        if name in want4:
            run2d = [s.split("=", 1)[1] for s in sets if s.startswith("lift.run2d=")]
            assert run2d == [os.path.join(out, "runs", f"{RUN2D[name.rsplit('_s', 1)[0]]}_s{seed}")]
            assert lift_cfg(c).source == "pred2d" and lift_cfg(c).finetune_2d
    tail = [line for line in lines if line.startswith("hopgen ")]
    assert [t.split()[1] for t in tail] == ["eval"] * 4 + ["tables"] and "--crop gt" in tail[1]
    assert "--scale paper" in tail[-1] and tail[-1].count("--reports") == 4
    assert lines.index(tail[0]) > max(t[0] for t in trains)


def test_plan_skips_finished_runs_and_resumes_interrupted_ones(tmp_path):
    runs = tmp_path / "paper" / "runs"
    (runs / "hs_posenet_s1").mkdir(parents=True)
    (runs / "hs_posenet_s1" / "DONE").touch()
    (runs / "ours_posenet_s0" / "ckpt").mkdir(parents=True)
    (runs / "ours_posenet_s0" / "ckpt" / "last.pt").touch()
    _, lines = _plan(tmp_path)
    trains = {t[2]: t for t in _train_lines(lines)}
    assert "hs_posenet_s1" not in trains and any(line == f"done already: {runs / 'hs_posenet_s1'}" for line in lines)
    assert trains["ours_posenet_s0"][5] and trains["ours_posenet_s0"][3] is None  # --resume, config from the run
    assert not trains["ours_posenet_s1"][5]


def test_without_a_dataset_it_stops_before_any_work(tmp_path):
    p = subprocess.run(["bash", SCRIPT, str(tmp_path / "nothing"), str(tmp_path / "out")], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "GPUS": "1"})
    assert p.returncode == 2 and "no dataset.json" in p.stderr and not (tmp_path / "out").exists()
