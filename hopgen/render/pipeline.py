"""`hopgen render`: plan, then render episodes in Blender worker processes, with progress and a
failure list; resumable (finished samples are skipped) and safe to kill at any moment."""

import json
import os
import subprocess
import sys
import time

from hopgen import FORMAT, __version__
from hopgen.config import config_digest
from hopgen.dataset.hopformat import HopWriter, sample_id
from hopgen.episode.plan import episode_samples, holdout_objects, shard_episodes
from hopgen.core.skeleton import BONES, CATEGORIES, JOINT_NAMES
from hopgen.core.structured import to_dict

# The folder that holds the hopgen package (a checkout or site-packages): workers import hopgen from it.
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENDER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blender_entry.py")


class RenderError(RuntimeError):
    pass


def dataset_meta(cfg, manifest):
    """dataset.json: identical for every shard of a run, so shards may write it concurrently."""
    return {"format": FORMAT, "generator_version": __version__, "config": to_dict(cfg),
            "config_digest": config_digest(cfg), "manifest_digest": manifest.digest,
            "manifest": manifest.summary(), "joint_names": list(JOINT_NAMES), "bones": [list(b) for b in BONES],
            "categories": list(CATEGORIES), "image_size": [cfg.dataset.width, cfg.dataset.height],
            "num_samples": cfg.dataset.num_samples, "holdout_objects": holdout_objects(cfg, manifest)}


class SharedHopWriter(HopWriter):
    """A HopWriter for one of several processes writing into one folder (workers, farm shards): it
    leaves '.tmp-*' files alone, since they may be another process's writes in flight."""

    def __init__(self, root):  # HopWriter.__init__ minus cleanup_temporaries
        self.root = os.fspath(root)
        os.makedirs(os.path.join(self.root, "anno"), exist_ok=True)


def prepare_output(cfg, manifest, out, exclusive=True):
    """Open `out` for writing; refuses a folder holding a dataset of another config or manifest.

    exclusive: this process is the only writer, so leftovers of killed runs ('.tmp-*') are removed;
    otherwise (several workers or shards at once) they are left alone."""
    meta_path = os.path.join(out, "dataset.json")
    meta = dataset_meta(cfg, manifest)
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        for key in ("config_digest", "manifest_digest"):
            if old.get(key) != meta[key]:
                raise RenderError(f"{out} holds a dataset made with another {key.split('_')[0]} "
                                  f"({old.get(key)} != {meta[key]}); use a new --out or the same settings to resume")
    writer = HopWriter(out) if exclusive else SharedHopWriter(out)
    writer.write_dataset_json(meta)
    return writer


def todo_samples(writer, spec):
    return {s["index"] for s in spec["samples"] if not writer.is_done(sample_id(s["index"]))}


class Progress:
    """A one-line progress bar with rate and ETA on stderr."""

    def __init__(self, total, label="render"):
        self.total, self.label, self.done, self.skipped, self.failed = total, label, 0, 0, 0
        self.start = time.time()
        self.last = 0.0

    def update(self, kind):
        setattr(self, kind, getattr(self, kind) + 1)
        now = time.time()
        if now - self.last > 0.5 or self.done + self.skipped + self.failed >= self.total:
            self.last = now
            n = self.done + self.skipped + self.failed
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - n) / rate if rate > 0 else float("nan")
            width = 30
            bar = "#" * int(width * n / max(self.total, 1))
            sys.stderr.write(f"\r{self.label} [{bar:<{width}}] {n}/{self.total} "
                             f"({self.skipped} skipped, {self.failed} failed) {rate:.2f} samples/s ETA {eta:.0f}s ")
            sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")


def worker_command(args, blender):
    if blender:
        return [blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P", RENDER_SCRIPT, "--", *args]
    return [sys.executable, "-m", "hopgen.render.worker", *args]


def render_dataset(cfg, manifest, out, shard=(0, 1), workers=1, blender=None, config_path=None,
                   overrides=(), manifest_path=None):
    """Render one shard into `out` with `workers` Blender processes. Returns the exit code."""
    if workers < 1:
        raise RenderError("--workers must be >= 1")
    if blender and not os.path.isfile(blender) and not any(
            os.path.isfile(os.path.join(p, blender)) for p in os.environ.get("PATH", "").split(os.pathsep)):
        raise RenderError(f"--blender {blender}: no such executable")
    if config_path is None:
        raise RenderError("render needs a config file (--config)")
    from hopgen.physics.library import check_physics_ready
    check_physics_ready(cfg, blender_binary=bool(blender))  # require_physics that cannot be met: fail now
    # Fails before any work on a mismatching folder; cleans leftovers unless other shards may be running.
    prepare_output(cfg, manifest, out, exclusive=shard[1] == 1)
    total = sum(len(episode_samples(cfg, e)) for e in shard_episodes(cfg, shard))
    # Threads split among the workers (render.threads in the config overrides the split).
    cores = os.cpu_count() or 1
    threads = cfg.render.threads or max(1, cores // workers)
    base = ["--config", os.path.abspath(config_path), "--out", os.path.abspath(out), "--shard", f"{shard[0]}/{shard[1]}",
            "--threads", str(threads)]
    if manifest_path:
        base += ["--manifest", os.path.abspath(manifest_path)]
    for o in overrides:
        base += ["--set", o]
    log_path = os.path.join(out, "render.log")
    progress = Progress(total)
    failures = []
    procs = []
    with open(log_path, "a") as log:
        for k in range(workers):
            cmd = worker_command(base + ["--worker", f"{k}/{workers}"], blender)
            env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env))
        import selectors
        sel = selectors.DefaultSelector()
        for p in procs:
            sel.register(p.stdout, selectors.EVENT_READ, p)
        open_streams = len(procs)
        while open_streams:
            for key, _ in sel.select():
                line = key.fileobj.readline()
                if not line:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if line.startswith("HOPGEN_DONE"):
                    progress.update("done")
                elif line.startswith("HOPGEN_SKIP"):
                    progress.update("skipped")
                elif line.startswith("HOPGEN_FAIL"):
                    progress.update("failed")
                    failures.append(line.split(" ", 3)[1:])
                else:
                    log.write(line)
        codes = [p.wait() for p in procs]
    progress.close()
    if failures:
        print(f"{len(failures)} samples failed (details in {log_path}):", file=sys.stderr)
        for index, seed, msg in failures[:50]:
            print(f"  sample {sample_id(int(index))} seed [{seed}]: {msg.strip()}", file=sys.stderr)
        return 1
    if any(codes):
        raise RenderError(f"a render worker exited with {codes}; see {log_path}")
    print(f"rendered {progress.done} samples ({progress.skipped} already there) into {out}")
    return 0
