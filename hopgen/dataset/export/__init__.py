"""`hopgen export`: one split of a HOP dataset in a layout other tools read.

    export_dataset("out/demo", "out/demo_rhd", "rhd", split="test")          # -> out/demo_rhd/evaluation/
    export_dataset("out/demo", "out/coco", "coco", split="train", size=(256, 256))

Formats (docs/format.md, "Exports"): rhd (Rendered Hand Pose / hand3d), coco (COCO keypoints JSON),
freihand (FreiHAND *_xyz.json / *_K.json), webdataset (tar shards). Every export
1. refuses an entry that already exists (unless force, and only one hopgen wrote),
2. validates every sample of the split (`hopgen validate`'s rules: corrupt, NaN or wrong-size
   samples are refused by id before anything is written),
3. writes into a staging folder inside OUT and moves the split's entries into place at the end
   (hopgen.dataset.export.staging): a failed export leaves no partial output.
"""

import os

from hopgen.core.progress import Progress
from hopgen.dataset.export.samples import ExportError, load_sample, parse_size, resample
from hopgen.dataset.export.staging import Staging
from hopgen.dataset.hopformat import HopDataset

__all__ = ["ExportError", "FORMATS", "export_dataset", "parse_size"]


def _formats():
    from hopgen.dataset.export import coco, freihand, rhd, wds
    return {"rhd": rhd, "coco": coco, "freihand": freihand, "webdataset": wds}


FORMATS = ("rhd", "coco", "freihand", "webdataset")


def _check_split(root, split, ids, progress):
    from hopgen.dataset.validate import validate_dataset
    bar = Progress(len(ids), label=f"validate {split}", enabled=progress)
    problems = validate_dataset(root, ids=ids, images=True, progress=bar.update)
    bar.close()
    if problems:
        bad = sorted({p.sample for p in problems})
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ExportError(f"{root}: {len(bad)} of {len(ids)} {split} samples fail validation, nothing exported: "
                          f"{shown}{more}; see `hopgen validate {root}`")


def export_dataset(root, out, fmt, split="train", size=None, force=False, progress=None, shard_size=1000):
    """Export split `split` of HOP dataset `root` into folder `out` in format `fmt`.

    size: (W, H) to resample to (K adjusted), or None for the format's default (RHD: 320x320,
    others: unchanged). Returns a summary dict {format, split, samples, skipped, entries, ...}."""
    formats = _formats()
    if fmt not in formats:
        raise ExportError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    writer = formats[fmt]
    ds = HopDataset(root)
    ids = ds.split(split)
    if not ids:
        raise ExportError(f"{root}: split {split!r} has no samples (splits/{split}.txt); nothing exported")
    size = size if size is not None else getattr(writer, "DEFAULT_SIZE", None)
    entries = writer.entries(split)
    info = {"format": fmt, "split": split, "source": os.path.abspath(ds.root),
            "size": list(size) if size else None, "samples": len(ids)}
    stage = Staging(out, entries, force=force, info=info, source=ds.root)  # refuses before any work
    _check_split(ds.root, split, ids, progress)
    bar = Progress(len(ids), label=f"export {fmt}", enabled=progress)

    def samples():
        for sid in ids:
            yield resample(load_sample(ds, sid), size)
            bar.update()

    with stage:
        summary = writer.write(stage, split, samples(), ds, shard_size=shard_size)
        stage.info.update(samples=summary["samples"], skipped=summary.get("skipped", []))
    bar.close()
    return dict(summary, format=fmt, split=split, out=os.fspath(out), entries=entries,
                size=list(size) if size else None)
