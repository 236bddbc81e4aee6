"""`hopgen stats`: counts per category/grasp/subject/side/phase, visibility and occlusion histograms."""

from collections import Counter

import numpy as np

from hopgen.dataset.hopformat import HopDataset
from hopgen.core.skeleton import HAND_LABELS, JOINT_NAMES


def dataset_stats(root, images=True):
    ds = HopDataset(root)
    counts = {k: Counter() for k in ("category", "grasp", "subject", "side", "phase", "object")}
    vis_codes = Counter()
    per_joint_visible = np.zeros(len(JOINT_NAMES))
    hand_visible_fraction, object_visible_fraction = [], []
    for sid in ds.ids:
        with ds.reading(sid):  # a missing/malformed field names the sample's file
            a = ds.annotation(sid)
            counts["category"][a["object"]["category"]] += 1
            counts["object"][a["object"]["name"]] += 1
            counts["grasp"][a["grasp"]["type"]] += 1
            counts["subject"][a["subject"]["id"]] += 1
            counts["side"][a["hand"]["side"]] += 1
            counts["phase"][a["grasp"]["phase"]] += 1
            vis = np.asarray(a["hand"]["visibility"])
            vis_codes.update(int(v) for v in vis)
            per_joint_visible += vis == 0
            object_visible_fraction.append(float(a["object"]["visible_fraction"]))
            if images:
                amodal = ds.image("hand_mask", sid).sum()
                seen = np.isin(ds.image("seg", sid), HAND_LABELS).sum()
                hand_visible_fraction.append(float(seen / amodal) if amodal else 0.0)
    n = max(len(ds.ids), 1)
    bins = np.linspace(0, 1, 11)

    def hist(values):
        return {"bins": bins.round(2).tolist(), "counts": np.histogram(values, bins=bins)[0].tolist()} if values else None

    names = {0: "visible", 1: "hidden_by_object", 2: "hidden_by_hand_or_body", 3: "outside_image",
             4: "hidden_by_surroundings"}
    return {
        "samples": len(ds.ids),
        **{k: dict(sorted(v.items())) for k, v in counts.items()},
        "visibility": {names[c]: vis_codes.get(c, 0) for c in names},
        "joint_visible_fraction": {j: round(float(f / n), 4) for j, f in zip(JOINT_NAMES, per_joint_visible)},
        "hand_visible_fraction_hist": hist(hand_visible_fraction),
        "object_visible_fraction_hist": hist(object_visible_fraction),
    }


def format_stats(s):
    lines = [f"samples: {s['samples']}"]
    for key in ("category", "side", "grasp", "phase", "subject", "object"):
        lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in s[key].items()))
    lines.append("joint visibility: " + ", ".join(f"{k} {v}" for k, v in s["visibility"].items()))
    for key in ("hand_visible_fraction_hist", "object_visible_fraction_hist"):
        h = s[key]
        if h:
            lines.append(f"{key.replace('_hist', '')} (0..1 in 10 bins): {h['counts']}")
    return "\n".join(lines)
