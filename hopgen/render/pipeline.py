"""`hopgen render`: plan, then render episodes in Blender worker processes, with progress and a
failure list; resumable (finished samples are skipped) and safe to kill at any moment."""

import os
import subprocess
import sys

from hopgen import FORMAT, __version__
from hopgen.config import config_digest
from hopgen.core.atomic import TMP_PREFIX
from hopgen.dataset.hopformat import (IMAGE_KINDS, HopFormatError, HopWriter, is_sample_name, read_json_file,
                                      sample_id)
from hopgen.episode.plan import episode_samples, holdout_objects, shard_episodes
from hopgen.core.skeleton import BONES, CATEGORIES, JOINT_NAMES
from hopgen.core.progress import Progress
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


# What hopgen itself puts in a dataset folder.
# logs/: the Slurm tasks' logs (slurm_render.sh, `hopgen farm slurm`), made before the first task renders;
# pack/: the trainer's decoded cache (trainer.pack);
# meshcache/: triangles extracted from .fbx/.blend objects (hopgen.assets.object_files).
HOPGEN_NAMES = {"dataset.json", "index.jsonl", "render.log", "logs", "meshcache", "anno", "splits", "pack", *IMAGE_KINDS}


def check_output_folder(cfg, manifest, out, force=False):
    """Refuse, before anything is written, an output folder this render must not write into:
    a file; a dataset of another config or manifest; annotations without a dataset.json (their
    config cannot be told, so they would be adopted blindly); or a non-empty folder that is not a
    HOP dataset (unless `force`: hopgen then writes beside the files there and touches none of them).
    Returns "new" or "resume"."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise RenderError(f"--out {out}: exists and is not a folder")
    if not os.path.isdir(out):
        return "new"
    meta_path = os.path.join(out, "dataset.json")
    if os.path.exists(meta_path):
        try:
            old = read_json_file(meta_path, "dataset.json")
        except HopFormatError as e:
            raise RenderError(f"{e}; use a new --out") from None
        if not isinstance(old, dict) or "config_digest" not in old:
            raise RenderError(f"{meta_path}: not a hopgen dataset.json (no config_digest); use a new --out")
        meta = dataset_meta(cfg, manifest)
        for key in ("config_digest", "manifest_digest"):
            if old.get(key) != meta[key]:
                raise RenderError(f"{out} holds a dataset made with another {key.split('_')[0]} "
                                  f"({old.get(key)} != {meta[key]}); use a new --out or the same settings to resume")
        return "resume"
    anno = os.path.join(out, "anno")
    if os.path.isdir(anno) and any(is_sample_name(n) for n in os.listdir(anno)):
        raise RenderError(f"{out}: holds annotations (anno/) but no dataset.json, so the config that made "
                          "them is unknown and they cannot be resumed; use a new --out")
    # Only hopgen's own names (e.g. a shard that has just started, or a run killed before its
    # dataset.json): nothing of anyone else's to protect.
    foreign = [n for n in os.listdir(out) if n not in HOPGEN_NAMES and not n.startswith(TMP_PREFIX)]
    if foreign and not force:
        raise RenderError(f"--out {out}: a non-empty folder that is not a HOP dataset (holds {foreign[0]!r}); use a new or empty "
                          "folder (or --force to write beside its files)")
    return "new"


def prepare_output(cfg, manifest, out, exclusive=True, force=False):
    """Open `out` for writing after `check_output_folder`; writes dataset.json.

    exclusive: this process is the only writer, so hopgen's leftovers of killed runs
    ('.tmp-hopgen-*' in the dataset's own folders) are removed; otherwise (several workers or
    shards at once) they may be writes in flight and are left alone."""
    check_output_folder(cfg, manifest, out, force=force)
    meta = dataset_meta(cfg, manifest)
    os.makedirs(out, exist_ok=True)
    # dataset.json first: a shard starting at the same moment then finds a dataset, never a bare folder
    HopWriter.write_dataset_json_into(out, meta)
    return HopWriter(out, cleanup=exclusive)


def todo_samples(writer, spec):
    return {s.index for s in spec.samples if not writer.is_done(sample_id(s.index))}


def _stop(procs):
    """Kill the workers that still run (the parent is leaving: no writer may outlive it)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _follow(procs, progress, failures, log, fatal):
    """Read the workers' HOPGEN_* lines until every worker closed its stdout (HOPGEN_FATAL messages into `fatal`)."""
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
            elif line.startswith("HOPGEN_FATAL"):
                fatal.append(line.split(" ", 1)[1].strip())
            elif line.startswith("HOPGEN_FAIL"):
                progress.update("failed")
                failures.append(line.split(" ", 3)[1:])
            else:
                log.write(line)


def worker_command(args, blender):
    if blender:
        return [blender, "-b", "--factory-startup", "--python-exit-code", "1", "-P", RENDER_SCRIPT, "--", *args]
    return [sys.executable, "-m", "hopgen.render.worker", *args]


def extract_object_meshes(manifest, out, blender, manifest_path, config_path):
    """Extract the triangles of the manifest's .fbx/.blend objects into OUT/meshcache with the
    Blender that renders (one short worker run), then check them like any object file: a bad file
    stops the render here, before dataset.json, naming the object."""
    from hopgen.assets.manifest import load_manifest
    from hopgen.assets.object_files import MESH_CACHE
    if not any(o.needs_blender_geometry for o in manifest.objects):
        return
    args = ["--config", os.path.abspath(config_path), "--out", os.path.abspath(out), "--extract-meshes"]
    if manifest_path:
        args += ["--manifest", os.path.abspath(manifest_path)]
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run(worker_command(args, blender), capture_output=True, text=True, env=env)
    if r.returncode != 0:
        said = [ln[len("HOPGEN_ERROR "):] for ln in r.stdout.splitlines() if ln.startswith("HOPGEN_ERROR ")]
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise RenderError(said[0] if said else f"extracting object meshes failed (exit {r.returncode}): {' | '.join(tail)}")
    load_manifest(manifest_path, mesh_cache=os.path.join(out, MESH_CACHE))  # ManifestError names the object


def render_dataset(cfg, manifest, out, shard=(0, 1), workers=1, blender=None, config_path=None,
                   overrides=(), manifest_path=None, force=False):
    """Render one shard into `out` with `workers` Blender processes. Returns the exit code.

    Everything is checked before the first byte is written (the config and manifest by their
    loaders, the arguments and the output folder here); workers are killed when this returns or
    raises, and die by themselves when this process is killed (hopgen.render.lifeline)."""
    if workers < 1:
        raise RenderError(f"--workers {workers}: must be >= 1")
    if blender:
        import shutil
        if not (os.path.isfile(blender) and os.access(blender, os.X_OK)) and shutil.which(blender) is None:
            raise RenderError(f"--blender {blender}: no such executable")
    if config_path is None:
        raise RenderError("render needs a config file (--config)")
    check_output_folder(cfg, manifest, out, force=force)  # before anything is written, the cache too
    from hopgen.physics.library import check_physics_ready
    check_physics_ready(cfg, blender_binary=bool(blender))  # require_physics that cannot be met: fail now
    extract_object_meshes(manifest, out, blender, manifest_path, config_path)
    # Fails before any work on a mismatching folder; cleans leftovers unless other shards may be running.
    prepare_output(cfg, manifest, out, exclusive=shard[1] == 1, force=force)
    total = sum(len(episode_samples(cfg, e)) for e in shard_episodes(cfg, shard))
    # Threads split among the workers (render.threads in the config overrides the split).
    cores = os.cpu_count() or 1
    threads = cfg.render.threads or max(1, cores // workers)
    base = ["--config", os.path.abspath(config_path), "--out", os.path.abspath(out), "--shard", f"{shard[0]}/{shard[1]}",
            "--threads", str(threads), "--parent-pid", str(os.getpid())]
    if manifest_path:
        base += ["--manifest", os.path.abspath(manifest_path)]
    for o in overrides:
        base += ["--set", o]
    log_path = os.path.join(out, "render.log")
    progress = Progress(total, label="render", enabled=True)
    failures, fatal = [], []
    procs = []
    with open(log_path, "a") as log:
        try:
            for k in range(workers):
                cmd = worker_command(base + ["--worker", f"{k}/{workers}"], blender)
                env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
                procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env))
            _follow(procs, progress, failures, log, fatal)
            codes = [p.wait() for p in procs]
        finally:  # also on Ctrl-C / SIGTERM: no worker outlives this process
            _stop(procs)
    progress.close()
    if fatal:
        raise RenderError(fatal[0])
    if failures:
        print(f"{len(failures)} samples failed (details in {log_path}):", file=sys.stderr)
        for index, seed, msg in failures[:50]:
            print(f"  sample {sample_id(int(index))} seed [{seed}]: {msg.strip()}", file=sys.stderr)
        return 1
    if any(codes):
        raise RenderError(f"a render worker exited with code {max(codes, key=abs)} (all: {codes}); "
                          f"see {log_path}")
    print(f"rendered {progress.done} samples ({progress.skipped} already there) into {out}")
    return 0
