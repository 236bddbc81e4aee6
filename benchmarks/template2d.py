"""The no-image reference of Table I: a fixed joint template placed in the ground-truth hand crop.

    python -m benchmarks.template2d DATA [--config configs/train/cpu_hs_posenet.yaml]

The template is the mean over the train split of each joint's position in its GT crop (hand3d's crop rule,
trainer.data.gt_crop_box), normalised by the crop side, per hand side. Predicting it for every val/test
sample scores what a 2D network reaches by learning only where joints usually lie in a hand crop: a 2D
row at or below it has learned little from the pixels. Prints the AUC 0-20 px and EPE median per split.
"""

import argparse

import numpy as np

from hopgen.core.skeleton import VIS_VISIBLE
from trainer.config import load_config
from trainer.data import gt_crop_box, make_dataset
from trainer.metrics import keypoint_measures


def crop_frames(cfg, data, split):
    """[(uv normalised to the GT crop (21, 2), centre (2,), side, right hand, uv (21, 2), visible (21,))]."""
    ds = make_dataset(cfg, [data], split, False)
    out = []
    for i in range(len(ds)):
        r = ds.record(i)
        h, w = r["rgb"].shape[:2]
        c, s = gt_crop_box(r["uv"], r["vis"], w, h, cfg.data)
        out.append(((r["uv"] - c) / s, c, s, r["side"] == "right", r["uv"], r["vis"] == VIS_VISIBLE))
    return out


def template_scores(cfg, data, splits=("val", "test")):
    """{split: keypoint_measures of the train template in the GT crop}."""
    train = crop_frames(cfg, data, "train")
    tmpl = {side: np.mean([f[0] for f in train if f[3] == side], 0) for side in (False, True)
            if any(f[3] == side for f in train)}
    res = {}
    for split in splits:
        frames = crop_frames(cfg, data, split)
        pred = np.stack([f[1] + f[2] * tmpl.get(f[3], next(iter(tmpl.values()))) for f in frames])
        res[split] = keypoint_measures(np.stack([f[4] for f in frames]), pred, np.stack([f[5] for f in frames]),
                                       cfg.eval.lo, cfg.eval.hi)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--config", default="configs/train/cpu_hs_posenet.yaml")
    a = ap.parse_args(argv)
    for split, m in template_scores(load_config(a.config), a.data).items():
        print(f"{split}: template in the GT crop: AUC {m['auc']:.4f}, EPE median {m['epe_median']:.2f} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
