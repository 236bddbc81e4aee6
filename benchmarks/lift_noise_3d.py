"""How much 2D error a GT-heatmap lifter tolerates (dev-only ablation for issue 13's Table IV, paper_cpu_3d.sh).

    python -m benchmarks.lift_noise_3d DATA OUT.json RUN3D... [--split test] [--noise 0,2.5,10,20,40,80]

For each Table III run (a lifter trained on GT heatmaps) and each uv noise level (lift.uv_noise, std in px on a
256 crop, as in training), the GT heatmaps of the split are drawn from the GT uv plus that Gaussian noise (no crop
jitter), lifted, and scored with the hand3d protocol (AUC 0-50 mm on visible joints). The 2D error the noisy maps
encode is measured the way `hopgen eval` measures a 2D stage (arg-max read-out of the maps, full-image px, EPE
median over keypoints), so a Table IV row can be placed on the curve by its 2D EPE. No training; eval mode.
"""

import argparse
import os
import sys

import numpy as np
import torch

from hopgen.core.atomic import atomic_write_json
from hopgen.core.skeleton import VIS_VISIBLE
from trainer.config import lift_cfg
from trainer.data import apply_affine, make_dataset_3d
from trainer.engine import load_model
from trainer.evaluate import heatmaps_to_uv
from trainer.metrics import keypoint_measures
from trainer.models3d import camera_roll, hand_side_onehot, lifting_targets


@torch.no_grad()
def score(model, cfg, roots, split, noise):
    """{auc, epe_median (mm), epe_median_2d_px} of a GT-heatmap lifter on maps drawn with uv noise `noise`."""
    lift = lift_cfg(cfg)
    lift.uv_noise = float(noise)
    cfg.data.centre_jitter, cfg.data.scale_jitter, cfg.data.rotation_deg, cfg.data.flip_prob = 0.0, 0.0, 0.0, 0.0
    ds = make_dataset_3d(cfg, roots, split, True)   # train=True: the uv noise of training, nothing else
    ds.lift.heatmap_dropout = 0.0
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=False, num_workers=0)
    pred, gt, vis, uv_p, uv_g = [], [], [], [], []
    model.eval()
    for b in loader:
        side = hand_side_onehot(b["side"])
        out = model(side, heatmaps=b["heatmaps"])
        xyz = b["xyz"] @ camera_roll(b["A"]).transpose(1, 2)
        tgt = lifting_targets(xyz, b["side"], lift.root)
        pred.append((out["relative"] * tgt["scale"][:, None, None] * 1000.0).numpy())
        gt.append(((xyz - tgt["root"][:, None]) * 1000.0).numpy())
        vis.append(b["vis"].numpy() == VIS_VISIBLE)
        uv_c = heatmaps_to_uv(b["heatmaps"], cfg.data.crop).numpy()
        A = b["A"].double().numpy()
        uv_p.append(np.stack([apply_affine(np.linalg.inv(A[i]), uv_c[i]) for i in range(len(A))]))
        uv_g.append(b["uv"].numpy())
    pred, gt, vis = np.concatenate(pred), np.concatenate(gt), np.concatenate(vis)
    m3 = keypoint_measures(gt, pred, vis, lift.auc_lo_mm, lift.auc_hi_mm)
    m2 = keypoint_measures(np.concatenate(uv_g), np.concatenate(uv_p), vis, 0.0, 20.0)
    return {"uv_noise": float(noise), "auc": m3["auc"], "epe_median": m3["epe_median"],
            "epe_median_2d_px": m2["epe_median"], "auc_2d": m2["auc"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("runs", nargs="+")
    p.add_argument("--split", default="test")
    p.add_argument("--noise", default="0,2.5,10,20,40,80")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    res = {}
    for run in a.runs:
        cfg, _, model = load_model(run)
        label = os.path.basename(os.path.normpath(run))
        res[label] = [score(model, cfg, [a.data], a.split, float(n)) for n in a.noise.split(",")]
        for r in res[label]:
            print(f"{label:18s} uv_noise {r['uv_noise']:5.1f}: 2D EPE median {r['epe_median_2d_px']:5.1f} px -> "
                  f"AUC {r['auc']:.3f}, EPE median {r['epe_median']:.1f} mm", flush=True)
    atomic_write_json(a.out, {"data": a.data, "split": a.split, "runs": res}, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
