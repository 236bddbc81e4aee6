"""The `hopgen` argument parser: one argparse tree, each subcommand with its flags, help and examples."""

import argparse
import textwrap

from hopgen.cli.commands import (cmd_assets, cmd_bench, cmd_eval, cmd_export, cmd_farm, cmd_grasps, cmd_index, cmd_pack, cmd_plan, cmd_predict, cmd_preview, cmd_render, cmd_stats, cmd_tables, cmd_train, cmd_validate)


DESCRIPTION = "The `hopgen` command: generate HOP datasets with Blender, inspect them, train and evaluate models."


def _parser(sub, name, help_text, examples):
    return sub.add_parser(name, help=help_text, description=help_text,
                          epilog="examples:\n" + textwrap.indent(examples.strip(), "  "),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_generation_args(p, out_required=True):
    p.add_argument("--config", default="configs/hop_demo.yaml", help="generation config (YAML or JSON)")
    p.add_argument("--manifest", default=None, help="asset manifest (default: the built-in assets)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set dataset.num_samples=100 (repeatable)")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="render only shard I of N (whole episodes)")


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen", description=DESCRIPTION,
                                epilog="Run `hopgen COMMAND --help` for the options and examples of each command.")
    from hopgen import __version__
    p.add_argument("--version", action="version", version=f"hopgen {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = _parser(sub, "render", "render a HOP dataset with Blender (bpy module, or a Blender binary with --blender)", """
hopgen render --config configs/hop_demo.yaml --out out/demo
hopgen render --config configs/hop.yaml --out /data/hop --shard 3/64 --workers 2
hopgen render --config configs/hop_tiny.yaml --out out/tiny --blender /usr/bin/blender --set render.samples=8""")
    _add_generation_args(r)
    r.add_argument("--out", required=True, help="output dataset folder (resumes if it exists)")
    r.add_argument("--workers", type=int, default=1, help="Blender worker processes (threads are split among them)")
    r.add_argument("--blender", default=None, help="render with this Blender executable instead of the bpy module")
    r.add_argument("--force", action="store_true",
                   help="write into a non-empty folder that is not a HOP dataset (its files are left alone)")
    r.set_defaults(func=cmd_render)

    pl = _parser(sub, "plan", "print or write the sample plan (episodes and per-sample choices) without rendering", """
hopgen plan --config configs/hop_demo.yaml --shard 0/4 --out plan.json""")
    _add_generation_args(pl)
    pl.add_argument("--out", default=None, help="write JSON here instead of stdout")
    pl.set_defaults(func=cmd_plan)

    gl = _parser(sub, "grasps", "grasps build: the hold-tested grasp of every planned episode, as a library a "
                 "render reads (grasp.require_physics + grasp.library; needs the physics extra)", """
hopgen grasps build --config configs/hop_demo.yaml --out grasps.json""")
    gl.add_argument("action", choices=["build"])
    _add_generation_args(gl)
    gl.add_argument("--out", required=True, help="library JSON (written atomically)")
    gl.set_defaults(func=cmd_grasps)

    ix = _parser(sub, "index", "write index.jsonl and train/val/test splits (unseen test objects)", "hopgen index out/demo")
    ix.add_argument("dataset")
    ix.set_defaults(func=cmd_index)

    v = _parser(sub, "validate", "check every HOP v1 contract rule; exit 1 on any problem", "hopgen validate out/demo")
    v.add_argument("dataset")
    v.add_argument("--no-images", action="store_true", help="check annotations only")
    v.add_argument("--max-problems", type=int, default=50)
    v.add_argument("--json", action="store_true", help="print {dataset, valid, samples, problems: [...]} as JSON")
    v.set_defaults(func=cmd_validate)

    s = _parser(sub, "stats", "counts and visibility/occlusion histograms", "hopgen stats out/demo --json")
    s.add_argument("dataset")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-images", action="store_true", help="skip image-based statistics")
    s.set_defaults(func=cmd_stats)

    pv = _parser(sub, "preview", "contact sheet: image, skeleton overlay per finger, masks, seg", "hopgen preview out/demo --out out/demo_preview.png")
    pv.add_argument("dataset", nargs="+", help="dataset folder (several with --realism)")
    pv.add_argument("--out", required=True)
    pv.add_argument("--num", type=int, default=16, help="samples per dataset")
    pv.add_argument("--tile", type=int, default=192)
    pv.add_argument("--realism", action="store_true",
                    help="realism sheet: beauty images only, 8 a row, and the realism measurements "
                         "(arm ends in frame, floating distractors, cameras behind occluders)")
    pv.add_argument("--measure", help="--realism: write the measurements to this JSON file")
    pv.add_argument("--levels", type=int, default=256, help="--realism: grey levels per channel in the "
                                                             "sheet PNG (fewer: a smaller file)")
    pv.set_defaults(func=cmd_preview)

    ex = _parser(sub, "export", "export one split to another layout: rhd (RHD / hand3d), coco (COCO keypoints), "
                 "freihand (FreiHAND json lists), webdataset (tar shards)", """
hopgen export out/demo --format rhd --split train --out out/demo_rhd        # out/demo_rhd/training/
hopgen export out/demo --format rhd --split test --out out/demo_rhd         # out/demo_rhd/evaluation/
hopgen export out/demo --format coco --split test --out out/demo_coco
hopgen export out/demo --format freihand --split train --size 224 --out out/demo_fh
hopgen export out/demo --format webdataset --split train --shard-size 500 --out out/demo_wds""")
    ex.add_argument("dataset")
    ex.add_argument("--format", choices=["rhd", "coco", "freihand", "webdataset"], default="rhd")
    ex.add_argument("--split", default="train", choices=["train", "val", "test"])
    ex.add_argument("--out", required=True, help="output folder; each split's files are added to it")
    ex.add_argument("--size", default=None, metavar="N|WxH",
                    help="resample images to this size, K and uv adjusted (default: 320 for rhd, unchanged otherwise)")
    ex.add_argument("--force", action="store_true", help="replace this split's files from an earlier hopgen export")
    ex.add_argument("--shard-size", type=int, default=1000, help="webdataset: samples per tar shard")
    ex.set_defaults(func=cmd_export)

    a = _parser(sub, "assets", "list the manifest's avatars/objects/backgrounds, or render a preview sheet", """
hopgen assets list --json
hopgen assets list --manifest my_manifest.yaml
hopgen assets add models/mugs --category cylindrical --units cm --license CC-BY-4.0 --manifest my_manifest.yaml
hopgen assets preview --out out/assets.png
hopgen assets preview --what grasps --out out/grasps.png
hopgen assets preview --what objects --limit 3 --size 96 --samples 8 --out out/quick.png""")
    a.add_argument("action", choices=["list", "add", "preview"])
    a.add_argument("folder", nargs="?", default=None, help="add: the folder of models (sub-folders too)")
    a.add_argument("--manifest", default=None)
    a.add_argument("--category", default=None, help="add: the objects' category")
    a.add_argument("--units", default=None, help="add: the files' length unit (m, cm, mm, dm, in)")
    a.add_argument("--license", default=None, help="add: the files' license")
    a.add_argument("--grasp-attempts", type=int, default=8,
                   help="list: placements tried by the quick grasp synthesis per object (0: skip it)")
    a.add_argument("--json", action="store_true", help="list: print JSON")
    a.add_argument("--out", default=None,
                   help="preview: PNG path (default out/assets_preview.png, or out/grasps_preview.png for grasps)")
    a.add_argument("--what", default="objects,hands",
                   help="preview: comma-separated sections: objects (turntable), hands (open, fist), grasps")
    a.add_argument("--size", "--tile", dest="size", type=int, default=160,
                   help="preview: tile edge in pixels (grasp close-ups are 1.5x)")
    a.add_argument("--samples", type=int, default=24, help="preview: Cycles samples per tile")
    a.add_argument("--no-denoise", action="store_true", help="preview: no OpenImageDenoise")
    a.add_argument("--limit", type=int, default=None,
                   help="preview: at most N objects, N subjects and N grasps per category")
    a.add_argument("--seed", type=int, default=0, help="list, preview: object-shape and grasp seed")
    a.add_argument("--threads", type=int, default=0, help="preview: Cycles CPU threads (0: all)")
    a.set_defaults(func=cmd_assets)

    for name, fn, help_text, ex_text in (
            ("train", cmd_train, "train a model (2D or 3D stage) on HOP data",
             "hopgen train --config configs/train/cpu_ours_posenet.yaml --data out/demo --out runs/ours\n"
             "torchrun --nproc_per_node 8 -m hopgen.cli train --config configs/train/ours_posenet.yaml --data /data/hop --out runs/ours"),
            ("eval", cmd_eval, "evaluate a run: metrics.json, paper-style tables, PCK plots, overlays",
             "hopgen eval --run runs/ours --data out/demo --out runs/ours/report"),
            ("predict", cmd_predict, "predict 2D/3D hand pose and object category from RGB images",
             "hopgen predict photo.jpg --run runs/full --out predictions/"),
            ("tables", cmd_tables, "the paper's Tables I-IV over seeds (bootstrap intervals) from eval reports",
             "hopgen tables --reports reports/table1 --data DATA --out benchmarks/results/paper_tables.json"),
            ("pack", cmd_pack, "decode a HOP folder once into DATASET/pack (uint8 memory maps the trainer reads)",
             "hopgen pack /data/hop")):
        t = _parser(sub, name, help_text + " (options: hopgen " + name + " --help)", ex_text)
        t.set_defaults(func=fn, passthrough=True)

    f = _parser(sub, "farm", "render on a Slurm farm: print (or --submit) an array job of shards and a final "
                "index+validate job (extra sbatch flags after --)", """
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 -- --cpus-per-task=8 --mem=8G --time=04:00:00
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 --submit -- --partition=render --cpus-per-task=8
hopgen farm slurm configs/hop.yaml /data/hop --shards 64 --indices 5,17 --submit   # re-run failed tasks""")
    f.add_argument("scheduler", choices=["slurm"])
    f.add_argument("config", help="generation config (YAML or JSON)")
    f.add_argument("out", help="output dataset folder (shared file system; resumes if it exists)")
    f.add_argument("--shards", type=int, required=True, help="number of shards = array tasks")
    f.add_argument("--indices", default=None, metavar="LIST",
                   help="run only these array indices, e.g. 5,17 or 8-11 (re-running failed tasks)")
    f.add_argument("--blender", default=None, help="Blender executable on the compute nodes (default: blender)")
    f.add_argument("--manifest", default=None, help="asset manifest (default: the built-in assets)")
    f.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    f.add_argument("--submit", action="store_true", help="run sbatch instead of printing the lines")
    f.set_defaults(func=cmd_farm, sbatch_flags=[])

    b = _parser(sub, "bench", "run a benchmark and write its JSON (grasp | render | train)", """
hopgen bench grasp --out benchmarks/results/grasp.json
hopgen bench render --out benchmarks/results/render.json
hopgen bench train --out benchmarks/results/train.json""")
    b.add_argument("what", choices=["grasp", "render", "train"])
    b.add_argument("--out", default=None)
    b.add_argument("--quick", action="store_true", help="a small version (seconds to minutes)")
    b.add_argument("--physics", action="store_true",
                   help="grasp: add the MuJoCo hold test (needs the physics extra; same as physics=true)")
    b.add_argument("extra", nargs="*", help="extra KEY=VALUE options for the benchmark")
    b.set_defaults(func=cmd_bench)
    return p
