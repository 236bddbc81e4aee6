"""Is a Table IV (pred2d) run's error the 2D stage's or the lifter's? (issue 13)

    python -m benchmarks.pred2d_check RUN4 RUN2D [--data DATA] [--split test]

Evaluates the whole-pipeline run RUN4 twice on the same pipeline crops: with its jointly fine-tuned 2D
weights, then with the 2D weights of its initial 2D run RUN2D swapped in. Prints the 2D EPE median (px,
visible joints), the 3D EPE median (mm, visible joints) and the spread of the predicted root-relative poses
against the GT's (mean per-coordinate std over samples, mm): a spread far below the GT's means the lifter
predicts about one pose whatever the heatmaps (the mean-pose plateau), not a read-out bug."""

import argparse

import numpy as np
import torch

from hopgen.core.skeleton import VIS_VISIBLE
from trainer.engine import load_checkpoint, load_model
from trainer.evaluate import predict_dataset
from trainer.metrics import keypoint_measures


def _score(model, cfg, roots, split):
    _, r = predict_dataset(model, cfg, roots, split, "cpu")
    vis = r["vis"] == VIS_VISIBLE
    pred = r["rel"] * r["scale"][:, None, None] * 1000.0  # (N, 21, 3) mm
    gt = r["xyz"] * 1000.0
    epe = np.linalg.norm(pred - gt, axis=-1)
    return (keypoint_measures(r["uv"], r["uv_pred"], vis, 0.0, 20.0)["epe_median"],
            float(np.median(epe[vis])), float(pred.std(0).mean()), float(gt.std(0).mean()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run4")
    ap.add_argument("run2d")
    ap.add_argument("--data", default="/work/data/hop_cpu")
    ap.add_argument("--split", default="test")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg, _, model = load_model(a.run4)
    fmt = "{}: 2D EPE median {:.2f} px, 3D EPE median {:.1f} mm, pose spread {:.1f} mm (GT {:.1f} mm)"
    print(fmt.format("fine-tuned 2D", *_score(model, cfg, [a.data], a.split)), flush=True)
    model.net2d.load_state_dict(load_checkpoint(f"{a.run2d}/ckpt/last.pt")["model"])
    print(fmt.format("2D run's weights", *_score(model, cfg, [a.data], a.split)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
