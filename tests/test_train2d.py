"""Training engine, CLI entry points and config on the toy HOP dataset with tiny real networks."""

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
import yaml

from trainer import config as C
from trainer.config import ConfigError, load_config, save_resolved
from trainer.data import make_dataset
from trainer.engine import get_stage, load_checkpoint, load_model, train
from trainer.evaluate import main as eval_main
from trainer.train import main as train_main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = "configs/train/tiny_ours_posenet.yaml"


def _log(run):
    with open(os.path.join(run, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def _fixed_batch_loss(model, cfg, toy_hop):
    ds = make_dataset(cfg, toy_hop, "train", train=False)
    batch = torch.utils.data.default_collate([ds[i] for i in range(8)])
    model.eval()
    with torch.no_grad():
        return float(get_stage("2d").loss(model, batch, cfg)[0])


@pytest.mark.parametrize("kind", ["ours", "hs_posenet"])
def test_a_few_steps_reduce_the_loss(toy_hop, tmp_path, kind):
    cfg = load_config(TINY, [f"model.kind={kind}", "train.iterations=25", "train.ckpt_every=25", "data.augment=false",
                             "data.full_view_prob=0"])
    torch.manual_seed(0)
    before = _fixed_batch_loss(get_stage("2d").build_model(cfg), cfg, toy_hop)  # same init as train() (seed 0)
    summary = train(cfg, [toy_hop], str(tmp_path / "run"), progress=False)
    assert summary["step"] == 25 and summary["nan_steps"] == 0
    _, _, model = load_model(str(tmp_path / "run"))
    after = _fixed_batch_loss(model, cfg, toy_hop)
    assert after < 0.8 * before, (before, after)


def test_resume_reproduces_the_uninterrupted_run(toy_hop, tmp_path):
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    base = ["--config", TINY, "--data", toy_hop, "--no-progress"]
    assert train_main(base + ["--out", full]) == 0
    assert train_main(base + ["--out", part, "--set", "train.iterations=3"]) == 0
    assert train_main(["--data", toy_hop, "--out", part, "--resume", "--no-progress", "--set", "train.iterations=6"]) == 0
    a, b = _log(full), _log(part)
    assert [r["step"] for r in b] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in a] == [r["loss"] for r in b]  # bit-identical, including after the resume
    assert len({r["loss"] for r in a}) == 6
    ck = load_checkpoint(os.path.join(full, "ckpt", "last.pt"))  # weights_only load works
    assert ck["step"] == 6 and "rng" in ck and "optimizer" in ck and "scheduler" in ck
    ck2 = load_checkpoint(os.path.join(part, "ckpt", "last.pt"))
    assert all(torch.equal(ck["model"][k], ck2["model"][k]) for k in ck["model"])
    saved = yaml.safe_load(open(os.path.join(full, "config.yaml")))
    assert saved["model"]["kind"] == "ours" and saved["data"]["crop"] == 64


def test_nan_guard_skips_then_aborts(toy_hop, tmp_path):
    cfg = load_config(TINY, ["loss.heatmap=.nan", "train.max_nan_steps=2", "train.iterations=10"])
    with pytest.raises(RuntimeError, match="non-finite"):
        train(cfg, [toy_hop], str(tmp_path / "nan"), progress=False)
    log = _log(str(tmp_path / "nan"))
    assert log[-1]["nan_steps"] == 2 and "loss" not in log[-1]  # skipped steps are counted, not averaged


def test_lr_schedule_is_piecewise_constant(toy_hop, tmp_path):
    cfg = load_config(TINY, ["optim.lrs=[0.01, 0.001, 0.0001]", "optim.milestones=[2, 4]", "train.iterations=5",
                             "model.kind=hs_posenet"])
    train(cfg, [toy_hop], str(tmp_path / "lr"), progress=False)
    assert [r["lr"] for r in _log(str(tmp_path / "lr"))] == pytest.approx([0.01, 0.001, 0.001, 0.0001, 0.0001])


def test_eval_writes_tables_curves_and_overlays(toy_hop, tmp_path):
    runs = []
    for kind in ("ours", "hs_posenet"):
        run = str(tmp_path / kind)
        assert train_main(["--config", TINY, "--data", toy_hop, "--out", run, "--no-progress",
                           "--set", f"model.kind={kind}", "--set", "train.iterations=2"]) == 0
        runs += ["--run", run]
    out = str(tmp_path / "report")
    assert eval_main(runs + ["--data", toy_hop, "--out", out]) == 0
    m = json.load(open(os.path.join(out, "metrics.json")))
    assert set(m) == {"ours", "hs_posenet"}
    r = m["ours"]
    assert r["method"] == "Ours-PoseNet" and m["hs_posenet"]["method"] == "HS-PoseNet"
    assert 0 <= r["auc"] <= 1 and r["samples"] == 4 and len(r["pck"]) == 20 and r["thresholds"][-1] == 20
    assert set(r["per_category"]) == {"cylindrical", "slender", "cubical", "spherical"}
    report = open(os.path.join(out, "report.md")).read()
    assert "Table I" in report and "Table II" in report and "HS-PoseNet" in report
    for f in ("pck.png", "overlays_ours.png", "overlays_hs_posenet.png"):
        assert os.path.getsize(os.path.join(out, f)) > 500
    assert eval_main(["--run", runs[1], "--data", toy_hop, "--out", out, "--crop", "gt"]) == 0
    assert eval_main(["--run", str(tmp_path / "missing"), "--data", toy_hop, "--out", out]) == 2


# ---- config ----------------------------------------------------------------------------------------

def test_config_unknown_key_and_wrong_type(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key model.widht"):
        load_config(TINY, ["model.widht=0.5"])
    with pytest.raises(ConfigError, match="data.batch_size: expected an integer"):
        load_config(TINY, ["data.batch_size=4.5"])
    with pytest.raises(ConfigError, match="train.compile: expected true/false"):
        load_config(TINY, ["train.compile=3"])
    with pytest.raises(ConfigError, match="optim.lrs\\[1\\]: expected a number"):
        load_config(TINY, ["optim.lrs=[0.1, abc]"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: 2d\nmodle: {kind: ours}\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown config key modle"):
        load_config(str(bad))
    assert train_main(["--config", str(bad), "--data", "x", "--out", str(tmp_path / "r")]) == 2


def test_config_overrides_typed_and_resolved_roundtrip(tmp_path):
    cfg = load_config(TINY, ["optim.lrs=[1e-4, 1e-5]", "data.sigma=10", "model.fc=[8, 8]", "train.amp=off"])
    assert cfg.optim.lrs == [1e-4, 1e-5] and isinstance(cfg.data.sigma, float) and cfg.model.fc == [8, 8]
    assert cfg.name == "tiny_ours_posenet"
    path = str(tmp_path / "resolved.yaml")
    save_resolved(cfg, path)
    again = load_config(path)
    assert dataclasses.asdict(again) == dataclasses.asdict(cfg)
    defaults = load_config()
    assert defaults.data.crop == 256 and defaults.optim.lrs == [1e-4, 1e-5, 1e-6]


def test_stage_sections_are_declared_statically(tmp_path):
    """The 3D stage's `lift` section loads, round-trips and rejects unknown keys without importing a
    stage module; a 2D config may not carry it."""
    p = tmp_path / "c.yaml"
    p.write_text("stage: 3d\nmodel: {kind: ours_cluster}\nlift: {clusters: 7}\n")
    cfg = load_config(str(p), ["lift.loss.kl=0.5"])
    assert cfg.section("lift") == C.LiftCfg(clusters=7, loss=C.Loss3DConfig(kl=0.5))
    save_resolved(cfg, str(tmp_path / "r.yaml"))
    assert load_config(str(tmp_path / "r.yaml")).section("lift") == cfg.section("lift")
    with pytest.raises(ConfigError, match="unknown config key lift.clusterz"):
        load_config(str(p), ["lift.clusterz=1"])
    with pytest.raises(ConfigError, match="unknown config section"):
        cfg.section("nope")
    p.write_text("stage: 2d\nlift: {clusters: 7}\n")
    with pytest.raises(ConfigError, match="a section of stage '3d'"):
        load_config(str(p))
    p.write_text("stage: 4d\n")
    with pytest.raises(ConfigError, match="unknown stage"):
        load_config(str(p))
