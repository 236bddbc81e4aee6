"""Why the object category read from the latent stays below the majority rate (dev-only diagnostic for issue 13).

    python -m benchmarks.category_readout_3d DATA OUT.json [REPORT...]

Writes, from the dataset alone (splits/*.txt + anno/*.json, no training):
  mix      per split: samples, episodes, objects per category, category shares, the split's majority rate, and the
           rate of answering the TRAINING majority category (what a read-out that learned only the prior would get);
  oracles  read-outs fitted on the training split and scored on val and test, from ground truth a lifter can only
           approximate: the grasp type (its most frequent training category), the GT canonical pose (hand3d's
           frame, hopgen.hand.canonical; nearest class mean, as the triplet read-out does on the latent, and
           k-nearest neighbours, k = 10) and the GT joint angles (the same two read-outs);
and for every run of each `hopgen eval` REPORT given: the category accuracy recomputed from its predictions npz,
the split's majority rate, the share of each predicted category and the confusion matrix (rows GT, columns
predicted, CATEGORIES order) and pose_knn10, the oracle's kNN read-out applied to the run's predicted 3D pose.
Nothing here is used to choose a configuration.
"""

import json
import os
import sys
from collections import Counter, defaultdict

import numpy as np

from hopgen.core.atomic import atomic_write_json
from hopgen.core.skeleton import CATEGORIES
from hopgen.hand.canonical import canonicalize

K_NEIGHBOURS = 10


def load(root):
    """{split: dict of arrays: ids, category (N,), grasp (N,) str, episode, object, side, pose (N, 63), angles (N, A)}
    from splits/*.txt and anno/*.json (A = 0 when the annotations carry no joint angles)."""
    out = {}
    for split in ("train", "val", "test"):
        with open(os.path.join(root, "splits", f"{split}.txt")) as f:
            ids = [line.strip() for line in f if line.strip()]
        cols = defaultdict(list)
        for sid in ids:
            with open(os.path.join(root, "anno", f"{sid}.json")) as f:
                a = json.load(f)
            hand = a["hand"]
            cols["category"].append(CATEGORIES.index(a["object"]["category"]))
            cols["object"].append(a["object"]["name"])
            cols["grasp"].append(a["grasp"]["type"])
            cols["episode"].append(a.get("episode", sid))
            cols["side"].append(hand["side"])
            cols["pose"].append(canonicalize(np.asarray(hand["xyz"], np.float64), hand["side"])[0].reshape(-1))
            ja = hand.get("joint_angles") or {}
            cols["angles"].append(np.asarray(list(ja.values()) if isinstance(ja, dict) else ja, np.float64).reshape(-1))
        out[split] = {"ids": ids, **{k: np.array(v) for k, v in cols.items() if k not in ("pose", "angles")},
                      "pose": np.stack(cols["pose"]), "angles": np.stack(cols["angles"])}
    return out


def mix(splits):
    train_major = int(np.bincount(splits["train"]["category"], minlength=len(CATEGORIES)).argmax())
    res = {}
    for name, s in splits.items():
        cats = s["category"]
        counts = np.bincount(cats, minlength=len(CATEGORIES))
        objects = defaultdict(set)
        for c, o in zip(cats, s["object"]):
            objects[CATEGORIES[c]].add(str(o))
        res[name] = {"samples": int(len(cats)), "episodes": int(len(set(s["episode"].tolist()))),
                     "share": {CATEGORIES[k]: round(float(counts[k] / len(cats)), 4) for k in range(len(CATEGORIES))},
                     "objects": {k: sorted(v) for k, v in sorted(objects.items())},
                     "majority_rate": float(counts.max() / len(cats)),
                     "train_majority_rate": float(np.mean(cats == train_major))}
    res["train_majority_category"] = CATEGORIES[train_major]
    seen = {str(o) for o in splits["train"]["object"]}
    for name in ("val", "test"):
        res[name]["objects_seen_in_train"] = bool(set(map(str, splits[name]["object"])) <= seen)
    return res


def _nearest_mean(xtr, ytr, x):
    means = np.stack([xtr[ytr == k].mean(0) for k in range(len(CATEGORIES))])
    return np.argmin(((x[:, None] - means[None]) ** 2).sum(-1), axis=1)


def _knn(xtr, ytr, x, k=K_NEIGHBOURS):
    d = ((x[:, None] - xtr[None]) ** 2).sum(-1)                     # (N, M)
    nn = np.argsort(d, axis=1)[:, :k]
    votes = np.stack([np.bincount(ytr[row], minlength=len(CATEGORIES)) for row in nn])
    return votes.argmax(1)


def oracles(splits):
    tr = splits["train"]
    by_grasp = {g: Counter(tr["category"][tr["grasp"] == g].tolist()).most_common(1)[0][0] for g in set(tr["grasp"])}
    res = {}
    for name in ("val", "test"):
        s, y = splits[name], splits[name]["category"]
        grasp = np.array([by_grasp.get(g, -1) for g in s["grasp"]])
        acc = {"grasp_type": float(np.mean(grasp == y))}
        for feat in ("pose", "angles"):
            if tr[feat].shape[1] == 0:
                continue  # no joint angles in these annotations
            mu, sd = tr[feat].mean(0), tr[feat].std(0) + 1e-9      # standardised features
            xtr, x = (tr[feat] - mu) / sd, (s[feat] - mu) / sd
            acc[f"{feat}_nearest_class_mean"] = float(np.mean(_nearest_mean(xtr, tr["category"], x) == y))
            acc[f"{feat}_knn{K_NEIGHBOURS}"] = float(np.mean(_knn(xtr, tr["category"], x) == y))
        res[name] = acc
    return res


def runs_of(report, splits, sides):
    """The read-out of every run of a report (see the module docstring); pose_knn10: the same kNN read-out as the
    oracle, on the run's PREDICTED 3D pose (canonicalised like the GT), i.e. how much category the pose keeps."""
    tr = splits["train"]
    mu, sd = tr["pose"].mean(0), tr["pose"].std(0) + 1e-9
    with open(os.path.join(report, "metrics.json")) as f:
        metrics = json.load(f)
    res = {}
    for label, m in metrics.items():
        with np.load(os.path.join(report, "predictions", f"{label}.npz"), allow_pickle=False) as z:
            if "category_pred" not in z.files:
                continue
            gt, pred = z["category_gt"], z["category_pred"]
            xyz, ids = z["xyz_pred_mm"].astype(np.float64), [str(i) for i in z["ids"]]
        can = canonicalize(xyz, [sides[i] for i in ids])[0].reshape(len(ids), -1)
        pose_knn = float(np.mean(_knn((tr["pose"] - mu) / sd, tr["category"], (can - mu) / sd) == gt))
        if not (pred >= 0).any():
            continue  # a lifter without a latent read-out (PosePrior)
        conf = np.zeros((len(CATEGORIES), len(CATEGORIES)), np.int64)
        np.add.at(conf, (gt, pred), 1)
        res[label] = {"method": m["method"], "split": m.get("split"), "category_accuracy": float(np.mean(pred == gt)),
                      "majority_rate": float(np.bincount(gt).max() / len(gt)),
                      "predicted_share": {CATEGORIES[k]: round(float(np.mean(pred == k)), 4) for k in range(len(CATEGORIES))},
                      "confusion": conf.tolist(), "cluster_occupancy": m.get("cluster_occupancy"),
                      f"pose_knn{K_NEIGHBOURS}": pose_knn}
    return res


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    data, out, reports = argv[0], argv[1], argv[2:]
    splits = load(data)
    res = {"data": os.path.abspath(data), "categories": list(CATEGORIES), "mix": mix(splits), "oracles": oracles(splits),
           "runs": {}}
    sides = {sid: side for s in splits.values() for sid, side in zip(s["ids"], s["side"])}
    for r in reports:
        res["runs"][os.path.abspath(r)] = runs_of(r, splits, sides)
    atomic_write_json(out, res, indent=1)
    print(json.dumps({"mix": {k: v for k, v in res["mix"].items() if k != "train"}, "oracles": res["oracles"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
