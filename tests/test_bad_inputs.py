"""Catalogue of bad inputs (issue 16): one case per reported defect and per error class README's
"When something goes wrong" promises. Each case runs the real `hopgen` command and asserts

  * a non-zero exit code,
  * one message on stderr that names the file / entry / field at fault,
  * no traceback,
  * nothing under --out (or the dataset / run folder given) was created or changed.

Most cases run `hopgen.cli.main` in this process (fast); a few run the CLI as a subprocess where
what matters is the process itself (workers, kills, pickles executing code).
"""

import hashlib
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hopfixtures import make_toy_hop
from hopgen.cli import main
from hopgen.core.pngio import encode_png

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")
TRAIN_CFG = str(REPO / "configs" / "train" / "tiny_ours_posenet.yaml")
CUBE_CM = "v 0 0 0\nv 6 0 0\nv 0 6 0\nv 0 0 6\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"  # 6 cm tetrahedron


# ----------------------------------------------------------------------------- helpers

def snapshot(root):
    """Everything under `root` (paths, sizes, contents, modes); None when it does not exist."""
    root = Path(root)
    if not root.exists():
        return None
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_mode, None if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def run(capsys, *argv):
    """(exit code, stdout, stderr) of `hopgen ARGV` in this process."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_refused(code, err, *names):
    assert code != 0, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("hopgen "), err
    for name in names:
        assert str(name) in err, f"{name!r} not named in: {err}"


def refused(capsys, argv, names, watch):
    """Run the command, check the refusal and that `watch` (a folder) is untouched."""
    before = snapshot(watch)
    code, _out, err = run(capsys, *argv)
    assert_refused(code, err, *names)
    assert snapshot(watch) == before, f"{watch} changed"
    return err


def write_yaml(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return Path(make_toy_hop(tmp_path_factory.mktemp("bad") / "toy", n=4, size=48))


@pytest.fixture
def ds(toy, tmp_path):
    """A private copy of the toy HOP dataset to break."""
    root = tmp_path / "ds"
    shutil.copytree(toy, root)
    return root


# ----------------------------------------------------------------------------- items 6, 7: config values

CONFIG_CASES = [
    # (override, field named in the message)                              issue 16 item
    ("background.distractors=[3,0]", "background.distractors"),          # 6
    ("lighting.lamp_distance_m=[2,-1]", "lighting.lamp_distance_m"),     # 6
    ("dataset.holdout_objects_per_category=-1", "dataset.holdout_objects_per_category"),  # 6
    ("avatar.left_probability=7", "avatar.left_probability"),            # 7
    ("lighting.hdri_probability=-1", "lighting.hdri_probability"),       # 7
    ("render.max_bounces=-3", "render.max_bounces"),                     # 7
    ("render.threads=-2", "render.threads"),                             # 7
    ("camera.sensor_width_mm=0", "camera.sensor_width_mm"),              # 7
    ("camera.crop_jitter=5", "camera.crop_jitter"),                      # 7
    ("grasp.phases=[approach,squeeze]", "grasp.phases"),                 # 7
    ("dataset.width=1000000", "dataset.width"),                          # 7
    ("background.distractors=[-2,-1]", "background.distractors"),        # 7
    ("camera.rigs={third_person: 0.5, egocentric: 0.7}", "camera.rigs"),  # 7: no silent renormalising
    ("grasp.type_probabilities={cubical: {tripod: 0.5}}", "grasp.type_probabilities.cubical"),  # 7
    ("dataset.num_samples=1000000000", "dataset.num_samples"),           # 7: plan would spin
    ("dataset.colour=red", "dataset.colour"),                            # README: unknown key
    ("render.samples=lots", "render.samples"),                           # README: wrong type
    ("avatar.subjects=[nobody]", "avatar.subjects"),                     # README: config vs manifest
]


@pytest.mark.parametrize("override,field", CONFIG_CASES, ids=[c[0].split("=")[0] + "=" + c[0].split("=")[1][:12]
                                                              for c in CONFIG_CASES])
@pytest.mark.parametrize("command", ["render", "plan"])
def test_bad_config_value_is_refused_before_any_output(capsys, tmp_path, command, override, field):
    out = tmp_path / "out"
    err = refused(capsys, [command, "--config", TINY, "--set", override, "--out", out / "x.json" if command == "plan"
                           else out], [field], out)
    assert snapshot(out) is None


def test_empty_config_file_is_refused(capsys, tmp_path):
    cfg = write_yaml(tmp_path / "empty.yaml", "# nothing\n")
    refused(capsys, ["render", "--config", cfg, "--out", tmp_path / "out"], [cfg, "empty"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_yaml_names_the_file(capsys, tmp_path):
    cfg = write_yaml(tmp_path / "broken.yaml", "dataset: {num_samples: [\n")
    refused(capsys, ["render", "--config", cfg, "--out", tmp_path / "out"], [cfg, "invalid YAML"], tmp_path / "out")


# ----------------------------------------------------------------------------- items 6, 12: manifest assets

def _stl_junk():
    return b"this is not an STL file at all" * 3


MESH_CASES = {
    # name: (file name, bytes, units, words in the message)                issue 16 item 6
    "empty": ("empty.obj", b"", "cm", ["not a closed mesh (0 vertices"]),
    "not_a_mesh": ("notes.obj", b"hello\nthis is a shopping list\n", "cm", ["not a closed mesh (0 vertices"]),
    "nan": ("nan.obj", CUBE_CM.replace("v 6 0 0", "v nan 0 0").encode(), "cm", ["NaN"]),
    "three_vertices": ("tri.obj", b"v 0 0 0\nv 6 0 0\nv 0 6 0\nf 1 2 3\n", "cm", ["not a closed mesh"]),
    "ten_metres": ("big.obj", CUBE_CM.replace("6", "1000").encode(), "cm", ["too large"]),
    "one_millimetre": ("small.obj", CUBE_CM.replace("6", "0.1").encode(), "cm", ["too small"]),
    "face_out_of_range": ("oor.obj", (CUBE_CM + "f 1 2 9\n").encode(), "cm", ["face index out of range"]),
    "junk_stl": ("junk.stl", _stl_junk(), "cm", ["neither a binary STL"]),
    "blend_object": ("cup.blend", b"solid cup\n" + b"\0" * 64, "cm", ["not a Blender file"]),
    "gltf_junk": ("cup.glb", b"glTF" + b"\0" * 8, "cm", ["malformed"]),
}


@pytest.mark.parametrize("case", sorted(MESH_CASES))
@pytest.mark.parametrize("command", ["assets", "plan", "render"])
def test_bad_mesh_is_refused_when_the_manifest_loads(capsys, tmp_path, case, command):
    fname, data, units, words = MESH_CASES[case]
    (tmp_path / "objs").mkdir()
    (tmp_path / "objs" / fname).write_bytes(data)
    m = write_yaml(tmp_path / "m.yaml", f"""
        objects:
          - {{name: thing, category: cubical, file: objs/{fname}, units: {units}}}
        """)
    out = tmp_path / "out"
    argv = {"assets": ["assets", "list", "--manifest", m],
            "plan": ["plan", "--config", TINY, "--manifest", m, "--out", out / "plan.json"],
            "render": ["render", "--config", TINY, "--manifest", m, "--out", out]}[command]
    refused(capsys, argv, [m, "objects[0] (thing).file", fname] + words, out)
    assert not out.exists()


def test_good_mesh_passes_the_manifest_check(capsys, tmp_path):
    (tmp_path / "objs").mkdir()
    (tmp_path / "objs" / "cup.obj").write_text(CUBE_CM)
    m = write_yaml(tmp_path / "m.yaml", "objects:\n  - {name: cup, category: cubical, file: objs/cup.obj, units: cm}\n")
    code, out, err = run(capsys, "assets", "list", "--manifest", m)
    assert code == 0 and "cup" in out, err


def test_symlink_leaving_the_manifest_folder_is_refused(capsys, tmp_path):
    """Item 12: the containment check resolves symlinks (realpath), not just '..'."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "cup.obj").write_text(CUBE_CM)
    man = tmp_path / "assets"
    (man / "objs").mkdir(parents=True)
    os.symlink(outside / "cup.obj", man / "objs" / "cup.obj")
    m = write_yaml(man / "m.yaml", "objects:\n  - {name: cup, category: cubical, file: objs/cup.obj, units: cm}\n")
    refused(capsys, ["assets", "list", "--manifest", m], [m, "objects[0] (cup).file", "leaves the manifest folder"],
            man)


# ----------------------------------------------------------------------------- items 3, 5, 9: output folder, render args

def test_foreign_folder_is_refused_and_user_temporaries_survive(capsys, tmp_path):
    """Item 3: a non-empty folder that is not a HOP dataset is refused; the user's '.tmp-*' files
    (top level and in a subfolder) are never deleted."""
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / ".tmp-draft").write_text("my draft")
    (out / "sub" / ".tmp-notes").write_text("my notes")
    refused(capsys, ["render", "--config", TINY, "--out", out], [out, "not a HOP dataset", "--force"], out)


def test_force_writes_beside_foreign_files_and_cleans_only_its_own(tmp_path):
    """Item 3 with --force: hopgen's own leftovers ('.tmp-hopgen-*' in its folders) are removed, the
    user's files anywhere are kept."""
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.render.pipeline import prepare_output
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "anno").mkdir()
    (out / ".tmp-draft").write_text("my draft")
    (out / "sub" / ".tmp-notes").write_text("my notes")
    (out / "sub" / ".tmp-hopgen-1-x").write_text("not in a hopgen folder: left alone")
    (out / "anno" / ".tmp-hopgen-123-abcd").write_text("a killed hopgen write")
    prepare_output(load_generation_config(TINY), load_manifest(), str(out), force=True)
    assert (out / ".tmp-draft").read_text() == "my draft"
    assert (out / "sub" / ".tmp-notes").read_text() == "my notes"
    assert (out / "sub" / ".tmp-hopgen-1-x").exists()
    assert not (out / "anno" / ".tmp-hopgen-123-abcd").exists()
    assert (out / "dataset.json").exists()


def test_annotations_without_dataset_json_are_not_adopted(capsys, ds):
    """Item 5: a folder whose dataset.json was removed is not resumed with another config."""
    (ds / "dataset.json").unlink()
    refused(capsys, ["render", "--config", TINY, "--out", ds, "--force"], [ds, "no dataset.json"], ds)


def test_dataset_of_another_config_is_refused(capsys, tmp_path):
    """Item 9: config/manifest mismatch on resume is a message, not a traceback."""
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.render.pipeline import prepare_output
    out = tmp_path / "o"
    prepare_output(load_generation_config(TINY), load_manifest(), str(out))
    refused(capsys, ["render", "--config", TINY, "--out", out, "--set", "dataset.seed=99"], [out, "another config"], out)


def test_unreadable_dataset_json_is_refused(capsys, ds):
    (ds / "dataset.json").write_text("{not json")
    refused(capsys, ["render", "--config", TINY, "--out", ds], ["dataset.json"], ds)


def test_out_that_is_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    refused(capsys, ["render", "--config", TINY, "--out", f], [f, "not a folder"], tmp_path)


@pytest.mark.parametrize("argv,names", [
    (["--workers", "0"], ["--workers 0"]),
    (["--blender", "/nonexistent/blender"], ["--blender /nonexistent/blender", "no such executable"]),
    (["--shard", "3/2"], ["--shard '3/2'"]),
])
def test_bad_render_arguments(capsys, tmp_path, argv, names):
    out = tmp_path / "out"
    refused(capsys, ["render", "--config", TINY, "--out", out, *argv], names, out)
    assert not out.exists()


def _fake_workers(monkeypatch, script):
    """Replace the Blender worker by a tiny Python script (the pipeline around it is real)."""
    import hopgen.render.pipeline as pipeline
    monkeypatch.setattr(pipeline, "worker_command", lambda args, blender: [sys.executable, "-c", script, *args])


def test_worker_exit_is_a_message(capsys, tmp_path, monkeypatch):
    """Item 9: a worker that dies (RenderError) is reported in one line naming the log."""
    _fake_workers(monkeypatch, "import sys; sys.exit(3)")
    code, _out, err = run(capsys, "render", "--config", TINY, "--out", tmp_path / "o", "--set", "dataset.num_samples=2")
    assert_refused(code, err, "exited with code 3", "render.log")


def test_failed_samples_are_listed_by_id_and_seed(capsys, tmp_path, monkeypatch):
    _fake_workers(monkeypatch, "print('HOPGEN_DONE 0'); print('HOPGEN_FAIL 1 1,1 GraspFailedError: no grasp'); "
                               "import sys; sys.exit(1)")
    code, _out, err = run(capsys, "render", "--config", TINY, "--out", tmp_path / "o", "--set", "dataset.num_samples=2")
    assert code == 1 and "Traceback" not in err
    assert "sample 00000001 seed [1,1]: GraspFailedError: no grasp" in err


# ----------------------------------------------------------------------------- item 8: workers die with their parent

LIFELINE_CHILD = r"""
import sys, time
from hopgen.render.lifeline import die_with_parent
die_with_parent(int(sys.argv[1]), poll_seconds=0.1)
open(sys.argv[2], "a").write("x")
print("ready", flush=True)
while True:
    open(sys.argv[2], "a").write("x")  # keeps writing, like a render worker
    time.sleep(0.05)
"""
LIFELINE_PARENT = r"""
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2]], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(child.pid, flush=True)
import time; time.sleep(600)
"""


def _gone(pid, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:  # a zombie (not yet reaped by init) is dead too
                if f.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_worker_dies_with_its_killed_parent(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    mark = tmp_path / "writes"
    parent = subprocess.Popen([sys.executable, "-c", LIFELINE_PARENT, LIFELINE_CHILD, str(mark)], stdout=subprocess.PIPE,
                              text=True, env=env)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _gone(child, 5), "the worker outlived its killed parent"
    size = mark.stat().st_size
    time.sleep(0.3)
    assert mark.stat().st_size == size, "the worker still writes"


def test_pipeline_kills_its_workers_when_interrupted(tmp_path, monkeypatch):
    """Ctrl-C (or any error) in `hopgen render` ends its workers before it returns."""
    pidfile = tmp_path / "pid"
    _fake_workers(monkeypatch, f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); "
                               "print('HOPGEN_DONE 0', flush=True); time.sleep(600)")
    import hopgen.render.pipeline as pipeline

    def interrupt(self, kind):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline.Progress, "update", interrupt)
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    with pytest.raises(KeyboardInterrupt):
        pipeline.render_dataset(load_generation_config(TINY), load_manifest(), str(tmp_path / "o"), config_path=TINY)
    assert _gone(int(pidfile.read_text()), 5)


# ----------------------------------------------------------------------------- item 1: disk full

def _sample_arrays(size=16):
    z = np.zeros((size, size), np.uint8)
    return np.zeros((size, size, 3), np.uint8), z, z, z


def test_truncated_rendered_rgb_is_not_a_sample(tmp_path):
    """Item 1: the writer checks the PNG Blender wrote (its save reports no ENOSPC): a truncated
    file fails the sample, no annotation is written, and nothing is moved into rgb/."""
    from hopgen.dataset.hopformat import HopFormatError, HopWriter
    w = HopWriter(tmp_path / "d")
    rgb, m, o, s = _sample_arrays()
    tmp = tmp_path / "d" / ".tmp-hopgen-1-rgb.png"
    tmp.write_bytes(encode_png(rgb)[:-20])
    with pytest.raises(HopFormatError, match=r"sample 00000000: the rendered RGB image .* is incomplete"):
        w.write_sample("00000000", {"id": "00000000"}, str(tmp), m, o, s)
    assert not w.is_done("00000000") and not (tmp_path / "d" / "rgb" / "00000000.png").exists()
    tmp.write_bytes(encode_png(np.zeros((8, 16, 3), np.uint8)))  # complete, but not the sample's size
    with pytest.raises(HopFormatError, match="expected 16x16"):
        w.write_sample("00000000", {"id": "00000000"}, str(tmp), m, o, s)


def test_resume_redoes_a_sample_with_a_truncated_image(ds):
    """Item 1: a sample whose annotation exists but whose image is truncated is not done."""
    from hopgen.dataset.hopformat import HopWriter
    w = HopWriter(ds)
    assert w.is_done("00000001")
    p = ds / "rgb" / "00000001.png"
    p.write_bytes(p.read_bytes()[:-30])
    assert not w.is_done("00000001") and w.is_done("00000000")


@pytest.mark.bpy
def test_full_disk_during_a_real_render_leaves_no_sample(tmp_path):
    """Item 1, real Blender: a file-size limit (RLIMIT_FSIZE, the same short writes as a full disk)
    makes Blender save truncated PNGs and report success; no sample may exist with such a file."""
    out = tmp_path / "o"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (12000, 12000))
    r = subprocess.run([sys.executable, "-m", "hopgen.render.worker", "--config", TINY, "--out", str(out),
                        "--set", "dataset.num_samples=3"], preexec_fn=limit, capture_output=True, text=True,
                       cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 1
    assert "is incomplete or wrong" in r.stdout, r.stdout[-2000:]
    assert not list((out / "anno").glob("*.json"))
    assert not [p for p in out.rglob(".tmp-hopgen-*")]


# ----------------------------------------------------------------------------- item 2: pickles are parsed, not run

class _Payload:
    def __init__(self, mark):
        self.mark = mark

    def __reduce__(self):
        return (os.system, (f"touch {self.mark}",))


def test_rhd_pickle_cannot_run_code(tmp_path):
    """Item 2: `hopgen train --data FOLDER` with a malicious anno_*.pickle: refused, nothing runs."""
    rhd = tmp_path / "rhd"
    (rhd / "color").mkdir(parents=True)
    mark = tmp_path / "pwned"
    with open(rhd / "anno_training.pickle", "wb") as f:
        pickle.dump({0: {"uv_vis": _Payload(mark)}}, f)
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", "train", "--config", TRAIN_CFG, "--data", str(rhd),
                        "--out", str(out)], capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "anno_training.pickle" in r.stderr and ("posix.system" in r.stderr or "os.system" in r.stderr), r.stderr
    assert not mark.exists(), "the pickle ran code"
    assert not out.exists()


def test_safe_unpickler_reads_plain_data_and_arrays(tmp_path):
    from hopgen.core.safepickle import SafePickleError, loads
    data = {0: {"uv_vis": np.ones((42, 3), np.float32), "K": np.eye(3), "n": np.int64(3), "name": "a", "t": (1, 2.0)}}
    for protocol in (2, 4, 5):
        back = loads(pickle.dumps(data, protocol=protocol))
        np.testing.assert_array_equal(back[0]["uv_vis"], data[0]["uv_vis"])
        assert back[0]["n"] == 3 and back[0]["t"] == (1, 2.0)
    with pytest.raises(SafePickleError, match="refuses to load"):
        loads(pickle.dumps(_Payload(tmp_path / "x")))
    with pytest.raises(SafePickleError, match="not a readable pickle"):
        loads(pickle.dumps(data)[:-5])


# ----------------------------------------------------------------------------- item 4: runs are not overwritten

def _fake_run(root):
    (root / "ckpt").mkdir(parents=True)
    (root / "ckpt" / "last.pt").write_bytes(b"weights of a week of training")
    (root / "log.jsonl").write_text('{"step": 1}\n')
    (root / "config.yaml").write_text("stage: 2d\n")
    return root


def test_train_into_an_existing_run_is_refused(capsys, tmp_path, toy):
    run_dir = _fake_run(tmp_path / "run")
    refused(capsys, ["train", "--config", TRAIN_CFG, "--data", toy, "--out", run_dir],
            [run_dir, "--resume", "--force"], run_dir)


def test_train_resume_without_checkpoint_is_refused(capsys, tmp_path, toy):
    out = tmp_path / "nothing"
    refused(capsys, ["train", "--config", TRAIN_CFG, "--data", toy, "--out", out, "--resume"], ["no checkpoint"], out)
    assert not out.exists()


# ----------------------------------------------------------------------------- item 9: trainer on bad data / checkpoints

def test_train_on_a_folder_that_is_no_dataset(capsys, tmp_path):
    (tmp_path / "junk").mkdir()
    out = tmp_path / "run"
    refused(capsys, ["train", "--config", TRAIN_CFG, "--data", tmp_path / "junk", "--out", out], ["junk"], out)
    assert not out.exists()


def test_train_on_a_bad_annotation_names_the_file(capsys, tmp_path, ds):
    (ds / "anno" / "00000000.json").write_text("[]")
    code, _out, err = run(capsys, "train", "--config", TRAIN_CFG, "--data", ds, "--out", tmp_path / "run",
                          "--no-progress", "--set", "data.batch_size=1")
    assert_refused(code, err, "00000000.json")


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_unloadable_checkpoint_names_the_file(capsys, tmp_path, toy, command):
    run_dir = _fake_run(tmp_path / "run")
    out = tmp_path / "report"
    img = tmp_path / "photo.png"
    img.write_bytes(encode_png(np.zeros((32, 32, 3), np.uint8)))
    argv = (["eval", "--run", run_dir, "--data", toy, "--out", out] if command == "eval"
            else ["predict", img, "--run", run_dir, "--out", out])
    refused(capsys, argv, [os.path.join(str(run_dir), "ckpt", "last.pt"), "cannot load checkpoint"], run_dir)
    assert not out.exists()


def test_eval_on_bad_data_writes_nothing(capsys, tmp_path):
    run_dir = _fake_run(tmp_path / "run")
    out = tmp_path / "report"
    refused(capsys, ["eval", "--run", run_dir, "--data", tmp_path / "missing", "--out", out], ["missing"], run_dir)
    assert not out.exists()


# ----------------------------------------------------------------------------- items 9, 10, 13: readers

def _write(path, data):
    Path(path).write_bytes(data if isinstance(data, bytes) else data.encode())


READER_CASES = {
    # name: (what to break, file named in the message)                     issue 16 item
    "anno_is_list": (lambda d: _write(d / "anno" / "00000001.json", "[]"), "anno/00000001.json"),         # 9
    "anno_is_null": (lambda d: _write(d / "anno" / "00000001.json", "null"), "anno/00000001.json"),       # 9
    "anno_without_camera": (lambda d: _edit(d, lambda a: a.pop("camera")), "anno/00000001.json"),      # 9
    "anno_without_object": (lambda d: _edit(d, lambda a: a.pop("object")), "anno/00000001.json"),      # 9
    "dataset_json_is_list": (lambda d: _write(d / "dataset.json", "[1]"), "dataset.json"),              # 9
    "image_of_wrong_size": (lambda d: _write(d / "seg" / "00000001.png", encode_png(np.zeros((20, 30), np.uint8))),
                            "seg/00000001.png"),                                                      # 9
    "truncated_png": (lambda d: _write(d / "seg" / "00000001.png", (d / "seg" / "00000001.png").read_bytes()[:60]),
                      "seg/00000001.png"),                                                            # 10
    "truncated_json": (lambda d: _write(d / "anno" / "00000001.json",
                                        (d / "anno" / "00000001.json").read_text()[:80]), "anno/00000001.json"),  # 10
}


# (reader, case) where the reader does not need the broken part: it must simply work.
NOT_READ = {("index", "image_of_wrong_size"), ("index", "truncated_png"), ("index", "anno_without_camera"),
            ("stats", "anno_without_camera"), ("preview", "anno_without_camera"), ("preview", "anno_without_object")}


def _edit(root, fn, sid="00000001"):
    p = root / "anno" / f"{sid}.json"
    a = json.loads(p.read_text())
    fn(a)
    p.write_text(json.dumps(a))


@pytest.mark.parametrize("case", sorted(READER_CASES))
@pytest.mark.parametrize("command", ["stats", "preview", "validate", "index"])
def test_readers_name_the_broken_file(capsys, ds, tmp_path, case, command):
    breaker, name = READER_CASES[case]
    breaker(ds)
    out = tmp_path / "sheet.png"
    argv = {"stats": ["stats", ds], "preview": ["preview", ds, "--out", out], "validate": ["validate", ds],
            "index": ["index", ds]}[command]
    before = snapshot(ds)
    code, stdout, err = run(capsys, *argv)
    if (command, case) in NOT_READ:
        assert code == 0, stdout + err  # this reader does not use what was broken
        return
    text = stdout + err
    assert code != 0 and "Traceback" not in text, text
    assert name in text, text
    if command != "index":
        assert snapshot(ds) == before
    assert not out.exists()


def test_preview_tile_too_large_is_a_message(capsys, ds, tmp_path):
    """Item 9: `preview --tile 100000` was a MemoryError."""
    out = tmp_path / "sheet.png"
    refused(capsys, ["preview", ds, "--out", out, "--tile", "100000"], ["--tile 100000"], ds)
    assert not out.exists()


def test_stray_annotation_file_does_not_abort_readers(capsys, ds):
    """Item 13: `anno/42.json` is reported by validate, and stats still works."""
    (ds / "anno" / "42.json").write_text("{}")
    code, out, _err = run(capsys, "stats", ds)
    assert code == 0 and "samples: 4" in out
    code, out, err = run(capsys, "validate", ds)
    assert code == 1 and "anno/42.json is not a sample annotation" in out and "Traceback" not in err


def test_split_files_are_validated(capsys, ds):
    """Item 13: split lines that are not ids, name missing samples, or repeat across splits."""
    with open(ds / "splits" / "train.txt", "a") as f:
        f.write("garbage\n00000099\n00000003\n")
    code, out, _err = run(capsys, "validate", ds)
    assert code == 1
    for words in ("splits/train.txt: line", "'garbage' is not a sample id", "sample 00000099 does not exist",
                  "also listed in"):
        assert words in out, out


def test_validate_detects_mixed_configs_and_counts(capsys, ds):
    """Item 5: each annotation's config digest is compared with dataset.json, and the count too."""
    meta = json.loads((ds / "dataset.json").read_text())
    meta["config_digest"], meta["num_samples"] = "aaaa", 6
    (ds / "dataset.json").write_text(json.dumps(meta))
    for sid in ("00000000", "00000001", "00000002", "00000003"):
        _edit(ds, lambda a: a.setdefault("render", {}).update(config_digest="aaaa" if sid != "00000002" else "bbbb"),
              sid)
    code, out, _err = run(capsys, "validate", ds, "--no-images")
    assert code == 1
    assert "00000002: [config] anno/00000002.json was made with config bbbb" in out
    assert "4 of the 6 samples dataset.json promises exist" in out
    assert "00000001: [config]" not in out


def test_written_files_are_group_readable(tmp_path):
    """Item 13: atomic writes get 0666 & ~umask, not mkstemp's 0600."""
    from hopgen.core.atomic import atomic_write_bytes
    old = os.umask(0o022)
    try:
        import importlib
        import hopgen.core.atomic as atomic
        importlib.reload(atomic)
        atomic.atomic_write_bytes(tmp_path / "f", b"x")
        assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
        importlib.reload(atomic)
    atomic_write_bytes(tmp_path / "g", b"x")
    assert (tmp_path / "g").stat().st_mode & 0o044, "group/other cannot read"


# ----------------------------------------------------------------------------- the CLI as a process

def test_cli_process_prints_one_line_and_no_traceback(tmp_path):
    """The same promise when `hopgen` runs as a program (the entry point, not main())."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", "render", "--config", TINY, "--out", str(out),
                        "--workers", "0"], capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["hopgen render: error: --workers 0: must be >= 1"]
    assert not out.exists()


def test_photo_symlink_leaving_the_manifest_folder_is_refused(capsys, tmp_path):
    """Item 12, photos: a link in a photo folder inside the manifest folder may not point outside."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.jpg").write_bytes(b"x")
    man = tmp_path / "assets"
    (man / "photos").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere" / "secret.jpg", man / "photos" / "a.jpg")
    m = write_yaml(man / "m.yaml", "backgrounds:\n  - {name: ph, kind: photos, folder: photos}\n")
    refused(capsys, ["assets", "list", "--manifest", m], [m, "backgrounds[0] (ph).folder", "leaves the manifest folder"],
            man)


def test_train_force_and_resume_pass_the_run_folder_check(tmp_path):
    """Item 4: the refusal is lifted only by --resume (with a checkpoint) or --force."""
    from trainer.train import check_run_folder
    run_dir = _fake_run(tmp_path / "run")
    assert "holds a training run" in check_run_folder(str(run_dir), resume=False, force=False)
    assert check_run_folder(str(run_dir), resume=True, force=False) is None
    assert check_run_folder(str(run_dir), resume=False, force=True) is None
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    assert "non-empty folder" in check_run_folder(str(tmp_path / "notes"), resume=False, force=False)
    assert check_run_folder(str(tmp_path / "new"), resume=False, force=False) is None


def test_a_folder_with_only_hopgen_names_is_not_foreign(tmp_path):
    """A shard starting beside another (or a run killed before dataset.json) leaves only hopgen's
    names: the next render opens it without --force."""
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.render.pipeline import prepare_output
    out = tmp_path / "o"
    (out / "anno").mkdir(parents=True)
    (out / "render.log").write_text("")
    (out / ".tmp-hopgen-99-dataset").write_text("")
    prepare_output(load_generation_config(TINY), load_manifest(), str(out))
    assert (out / "dataset.json").exists() and not (out / ".tmp-hopgen-99-dataset").exists()
