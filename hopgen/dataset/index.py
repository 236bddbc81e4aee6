"""`hopgen index`: index.jsonl (one line per finished sample) and splits/{train,val,test}.txt.

Default split: whole objects are held out per category for the test split (unseen objects), as the
generator planned them (dataset.json `holdout_objects`); a dataset without that record holds out,
per category, the object whose name hashes lowest. Validation takes whole episodes from the rest.
"""

import hashlib
import json
import os

from hopgen.core.atomic import atomic_write_text
from hopgen.core.progress import progress_iter
from hopgen.dataset.hopformat import HopDataset, SPLITS


def _hash01(text):
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / float(1 << 48)


def index_record(sid, anno):
    return {"id": sid, "side": anno["hand"]["side"], "category": anno["object"]["category"],
            "object": anno["object"]["name"], "subject": anno["subject"]["id"],
            "grasp": anno["grasp"]["type"], "phase": anno["grasp"]["phase"],
            "episode": anno.get("episode"), "visible_joints": sum(v == 0 for v in anno["hand"]["visibility"])}


def build_index(root, val_fraction=None, progress=None):
    """Write index.jsonl and the splits; returns {split: count}. progress: show a bar (None: when
    stderr is a terminal)."""
    ds = HopDataset(root)
    records = []
    for sid in progress_iter(ds.ids, len(ds.ids), "index", unit="samples", enabled=progress):
        with ds.reading(sid):  # a missing/malformed field names the sample's file, before anything is written
            records.append(index_record(sid, ds.annotation(sid)))
    held = ds.meta.get("holdout_objects")
    if held is None:
        by_cat = {}
        for r in records:
            by_cat.setdefault(r["category"], set()).add(r["object"])
        held = [min(objs, key=_hash01) for objs in by_cat.values() if len(objs) > 1]
    held = set(held)
    if val_fraction is None:
        val_fraction = float(ds.meta.get("config", {}).get("dataset", {}).get("val_fraction", 0.05))
    splits = {s: [] for s in SPLITS}
    for r in records:
        if r["object"] in held:
            r["split"] = "test"
        else:
            key = f"episode-{r['episode']}" if r["episode"] is not None else r["id"]
            r["split"] = "val" if _hash01(key) < val_fraction else "train"
        splits[r["split"]].append(r["id"])
    os.makedirs(os.path.join(ds.root, "splits"), exist_ok=True)
    for s, ids in splits.items():
        atomic_write_text(os.path.join(ds.root, "splits", f"{s}.txt"), "".join(i + "\n" for i in ids))
    atomic_write_text(os.path.join(ds.root, "index.jsonl"), "".join(json.dumps(r) + "\n" for r in records))
    return {s: len(v) for s, v in splits.items()}
