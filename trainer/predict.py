"""`hopgen predict`: 2D + 3D hand pose and the grasped object's category from RGB images.

    hopgen predict photo.jpg --run runs/full_cluster --out predictions/
    hopgen predict a.png b.png --run runs/ours_cluster_gt --run2d runs/ours_posenet --K 600,600,160,160 --side right

RUN is a 3D run: a whole-pipeline run (lift.source pred2d) holds both stages; a run trained on GT
heatmaps needs the 2D stage from --run2d (or its lift.run2d). For every image:
  1. the 2D stage segments the whole image (padded square, resized to data.crop); the box of the
     predicted hand mask, scaled by the 2D run's eval.box_scale, is the hand crop (the whole image
     when nothing is segmented);
  2. heatmaps of the crop -> 2D joints (argmax of the upsampled maps) in full-image pixels;
  3. the lifter -> root-relative 3D joints (camera orientation; metres = the bone-normalised pose x the
     mean training bone length, since one image fixes no absolute size; shifted so the root is 0);
  4. hand side: --side, or both are tried and the one whose 3D pose best explains the 2D joints is kept
     (weighted least-squares fit: perspective with --K, else weak perspective; residual normalised by
     the 2D hand size);
  5. with --K, the root is placed in the camera frame by solving the translation t of the metric pose
     (42 linear projection equations, least squares, weighted by the heatmap peaks); the scale stays
     the training bone length (depth follows from it);
  6. object category: softmax over negative latent distances to the class means (triplet/ours) or to
     the cluster centres mapped to categories by the training cluster x category counts (cluster).
Writes OUT/<stem>.json and OUT/<stem>.png (skeleton overlay + a small 3D view).
"""

import argparse
import json
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch

from hopgen.core.atomic import atomic_write_json
from hopgen.core.skeleton import BONES, CATEGORIES, FINGER_COLOURS, JOINT_NAMES, finger_of_joint

DEFAULT_BONE_M = 0.04  # middle MCP-PIP length used when a run kept no training statistic


class PredictError(ValueError):
    """Bad input to `hopgen predict` (names the file or option)."""


@dataclass
class Pipeline:
    cfg: object       # the 3D Config
    model: object     # stage3d.LiftModel (eval mode)
    cfg2d: object     # the 2D Config
    net2d: object     # the 2D network (eval mode)
    device: torch.device


def load_pipeline(run, run2d=None, device="cpu", checkpoint="last.pt"):
    """Both stages of a 3D run (the 2D one from the run itself, --run2d or lift.run2d)."""
    from trainer.engine import load_model
    from trainer.config import config_2d, lift_cfg
    device = torch.device(device)
    if not os.path.isfile(os.path.join(run, "ckpt", checkpoint)):
        raise PredictError(f"--run {run}: no checkpoint ckpt/{checkpoint}")
    cfg, _, model = load_model(run, device, checkpoint)
    if cfg.stage != "3d":
        raise PredictError(f"--run {run}: a {cfg.stage!r} run; predict needs a 3D run (and the 2D one via --run2d)")
    if model.net2d is not None:
        return Pipeline(cfg, model, config_2d(cfg), model.net2d.eval(), device)
    run2d = run2d or lift_cfg(cfg).run2d
    if not run2d:
        raise PredictError(f"--run {run} was trained on GT heatmaps: give the 2D stage with --run2d RUN2D")
    if not os.path.isfile(os.path.join(run2d, "ckpt", "last.pt")):
        raise PredictError(f"--run2d {run2d}: no checkpoint ckpt/last.pt")
    cfg2d, _, net2d = load_model(run2d, device)
    if cfg2d.stage != "2d":
        raise PredictError(f"--run2d {run2d}: a {cfg2d.stage!r} run, not a 2D run")
    # maps of another size are resampled to the lifter's grid (LiftModel.lifter_input), as in training
    return Pipeline(cfg, model, cfg2d, net2d, device)


def _to_input(img):
    """(C, C, 3) float 0..255 -> (1, 3, C, C) network input (x / 255 - 0.5, as trainer.data)."""
    return torch.from_numpy(np.ascontiguousarray((img / 255.0 - 0.5).transpose(2, 0, 1), dtype=np.float32))[None]


@torch.no_grad()
def hand_crop(pipe, rgb):
    """(x0, y0, x1, y1) full-image box of the hand from the 2D stage's mask, and whether a hand was found."""
    from trainer.data import apply_affine, crop_affine, warp
    from trainer.crops import object_box, view_link_radius
    h, w = rgb.shape[:2]
    crop = pipe.cfg2d.data.crop
    A = crop_affine([(w - 1) / 2.0, (h - 1) / 2.0], max(w, h), crop)
    logits = pipe.net2d.segment(_to_input(warp(rgb, A, crop)).to(pipe.device))[0, 0].float().cpu().numpy()
    box = object_box(logits, view_link_radius(pipe.cfg2d.eval.link_px, crop))  # hand3d's rule, as evaluate_2d
    if box is None or (logits > 0).sum() < 4:
        return np.array([0.0, 0.0, w - 1.0, h - 1.0]), False
    corners = apply_affine(np.linalg.inv(A), box.reshape(2, 2))
    lo = np.clip(corners.min(0), 0.0, [w - 1.0, h - 1.0])   # the padding of the square view is no hand
    hi = np.clip(corners.max(0), 0.0, [w - 1.0, h - 1.0])
    if np.any(hi <= lo):
        return np.array([0.0, 0.0, w - 1.0, h - 1.0]), False
    return np.concatenate([lo, hi]), True


@torch.no_grad()
def keypoints_2d(pipe, rgb, box):
    """Heatmaps (1, 21, S, S), joints (21, 2) full px and peak values (21,) of the crop around `box`."""
    from trainer.data import apply_affine, crop_affine, warp
    from trainer.evaluate import heatmaps_to_uv
    c2 = pipe.cfg2d
    x0, y0, x1, y1 = box
    side = max(c2.eval.box_scale * max(x1 - x0, y1 - y0), c2.data.crop_min)
    A = crop_affine([(x0 + x1) / 2.0, (y0 + y1) / 2.0], side, c2.data.crop)
    out = pipe.net2d(_to_input(warp(rgb, A, c2.data.crop)).to(pipe.device))
    maps = out["heatmaps"][-1].float()
    uv_crop = heatmaps_to_uv(maps, c2.data.crop)[0].cpu().numpy()
    return maps, apply_affine(np.linalg.inv(A), uv_crop), maps.amax((2, 3))[0].cpu().numpy()


def _root_point(P, root):
    """The canonical root of a (21, 3) pose: the wrist, or the palm centre (wrist + middle MCP) / 2."""
    from hopgen.hand.canonical import MIDDLE_MCP, WRIST
    return P[WRIST] if root == "wrist" else 0.5 * (P[WRIST] + P[MIDDLE_MCP])


def parse_K(text):
    """'fx,fy,cx,cy' -> 3x3 K."""
    try:
        fx, fy, cx, cy = (float(v) for v in text.split(","))
    except ValueError:
        raise PredictError(f"--K {text!r}: expected four numbers fx,fy,cx,cy") from None
    if not (fx > 0 and fy > 0):
        raise PredictError(f"--K {text!r}: focal lengths must be positive")
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def place_root(P, uv, K, weights):
    """Translation t (3,) with K (P + t) projecting onto uv: weighted linear least squares on
    fx (X + tx) + (cx - u)(Z + tz) = 0 and fy (Y + ty) + (cy - v)(Z + tz) = 0. P (J, 3) metres."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    du, dv = cx - uv[:, 0], cy - uv[:, 1]
    zero = np.zeros_like(du)
    rows = np.concatenate([np.stack([np.full_like(du, fx), zero, du], 1), np.stack([zero, np.full_like(dv, fy), dv], 1)])
    rhs = np.concatenate([-fx * P[:, 0] - du * P[:, 2], -fy * P[:, 1] - dv * P[:, 2]])
    sw = np.sqrt(np.concatenate([weights, weights]))[:, None]
    return np.linalg.lstsq(rows * sw, rhs * sw[:, 0], rcond=None)[0]


def fit_residual(P, uv, weights, K=None):
    """Weighted RMS 2D error (px) of the best placement of P (J, 3) over uv, divided by the 2D hand size.

    With K: the perspective placement of place_root; without: weak perspective uv ~ a P_xy + b.
    Returns (normalised residual, t (3,) or None)."""
    w = weights / max(weights.sum(), 1e-9)
    if K is not None:
        t = place_root(P, uv, K, weights)
        Q = (P + t) @ K.T
        proj = Q[:, :2] / np.where(np.abs(Q[:, 2:]) < 1e-9, 1e-9, Q[:, 2:])
    else:
        t = None
        M = np.zeros((2 * len(P), 3))
        M[0::2, 0], M[0::2, 1] = P[:, 0], 1.0
        M[1::2, 0], M[1::2, 2] = P[:, 1], 1.0
        sw = np.sqrt(np.repeat(w, 2))[:, None]
        a, bu, bv = np.linalg.lstsq(M * sw, uv.reshape(-1) * sw[:, 0], rcond=None)[0]
        proj = a * P[:, :2] + [bu, bv]
    rms = float(np.sqrt((w * ((proj - uv) ** 2).sum(1)).sum()))
    size = float(np.max(uv.max(0) - uv.min(0)))
    return rms / max(size, 1.0), t


@torch.no_grad()
def predict_image(pipe, rgb, K=None, side=None):
    """Prediction dict (JSON-ready) for one (H, W, 3) uint8 image."""
    from trainer.models3d import hand_side_onehot
    rgb = np.asarray(rgb)[..., :3]
    box, found = hand_crop(pipe, rgb)
    maps, uv, peak = keypoints_2d(pipe, rgb, box)
    model = pipe.model
    root = pipe.cfg.section("lift").root
    bone = float(model.bone_length) if float(model.bone_length) > 0 else DEFAULT_BONE_M
    weights = np.clip(peak, 1e-3, None)
    tries = {}
    for s in ([side] if side else ["left", "right"]):
        out = model.lifter(model.lifter_input(maps), hand_side_onehot([s]).to(pipe.device))
        P = out["relative"][0].float().cpu().numpy() * bone                    # (21, 3) metres
        P = P - _root_point(P, root)          # exactly root-relative (the network's root is only near 0)
        resid, t = fit_residual(P, uv, weights, K)
        tries[s] = dict(P=P, resid=resid, t=t, mu=model.latent(out))
    best = min(tries, key=lambda s: tries[s]["resid"])
    b = tries[best]
    probs, cluster = model.category_probs(b["mu"])
    res = {"image_size": [int(rgb.shape[1]), int(rgb.shape[0])], "hand_found": bool(found),
           "box": [float(v) for v in box], "joint_names": list(JOINT_NAMES),
           "uv": uv.tolist(), "uv_confidence": peak.tolist(),
           "side": best, "side_given": side is not None,
           "side_fit_residual": {s: v["resid"] for s, v in tries.items()},
           "xyz_relative_m": b["P"].tolist(), "bone_length_m": bone,
           "root": root,
           "xyz_camera_m": None, "root_camera_m": None,
           "category": None, "category_id": None, "category_probability": None, "category_probabilities": None,
           "cluster": None}
    if K is not None:
        res["root_camera_m"] = b["t"].tolist()
        res["xyz_camera_m"] = (b["P"] + b["t"]).tolist()
    if probs is not None:
        p = probs[0].cpu().numpy()
        k = int(p.argmax())
        res.update(category=CATEGORIES[k], category_id=k, category_probability=float(p[k]),
                   category_probabilities={c: float(v) for c, v in zip(CATEGORIES, p)})
    if cluster is not None:
        res["cluster"] = int(cluster[0])
    return res


def render_png(rgb, res, path):
    """Image with the 2D skeleton and crop box, next to a 3D view of the root-relative joints."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hopgen.core.draw import draw_line, draw_skeleton
    img = np.array(rgb[..., :3], dtype=np.uint8)
    x0, y0, x1, y1 = res["box"]
    width = max(1.0, max(img.shape[:2]) / 200.0)
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        draw_line(img, a, b, (255, 255, 255), width)
    draw_skeleton(img, np.asarray(res["uv"]))
    P = np.asarray(res["xyz_relative_m"]) * 1000.0
    fig = plt.figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot(1, 2, 1)
    ax.imshow(img)
    ax.set_axis_off()
    cat = f", {res['category']} ({res['category_probability']:.2f})" if res["category"] else ""
    ax.set_title(f"{res['side']} hand{cat}", fontsize=9)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    # camera frame (x right, y down, z forward) shown with up = -y
    for a, b in BONES:
        c = np.array(FINGER_COLOURS[finger_of_joint(b)]) / 255.0
        ax3.plot([P[a, 0], P[b, 0]], [P[a, 2], P[b, 2]], [-P[a, 1], -P[b, 1]], color=c, linewidth=2)
    ax3.scatter(P[:, 0], P[:, 2], -P[:, 1], s=6, c="k")
    lim = max(float(np.abs(P).max()), 1.0)
    ax3.set_xlim(-lim, lim)
    ax3.set_ylim(-lim, lim)
    ax3.set_zlim(-lim, lim)
    ax3.set_xlabel("x (mm)", fontsize=7)
    ax3.set_ylabel("z (mm)", fontsize=7)
    ax3.set_zlabel("-y (mm)", fontsize=7)
    ax3.tick_params(labelsize=6)
    ax3.set_title("3D (root-relative, camera axes)", fontsize=9)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def load_rgb(path):
    from PIL import Image
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        raise PredictError(f"{path}: cannot read the image ({e})") from None


def build_parser():
    p = argparse.ArgumentParser(prog="hopgen predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="RGB image files")
    p.add_argument("--run", required=True, help="3D run folder (whole-pipeline run, or GT-heatmap run + --run2d)")
    p.add_argument("--run2d", help="2D run folder (for a 3D run trained on GT heatmaps)")
    p.add_argument("--out", default="predictions", help="output folder (default predictions/)")
    p.add_argument("--K", help="camera intrinsics fx,fy,cx,cy in px: also place the hand in the camera frame")
    p.add_argument("--side", choices=["left", "right"], help="hand side (default: try both, keep the better fit)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (default cpu)")
    p.add_argument("--checkpoint", default="last.pt", help="file in RUN/ckpt (default last.pt)")
    return p


def main(argv=None):
    """Entry point; returns the exit code (0 on success)."""
    args = build_parser().parse_args(argv)
    try:
        K = parse_K(args.K) if args.K else None
        pipe = load_pipeline(args.run, args.run2d, args.device, args.checkpoint)
        missing = [p for p in args.images if not os.path.isfile(p)]
        if missing:
            raise PredictError(f"{missing[0]}: no such image")
        os.makedirs(args.out, exist_ok=True)
        for path in args.images:
            rgb = load_rgb(path)
            res = predict_image(pipe, rgb, K, args.side)
            res["image"] = os.path.abspath(path)
            stem = os.path.splitext(os.path.basename(path))[0]
            atomic_write_json(os.path.join(args.out, f"{stem}.json"), res, indent=2)
            render_png(rgb, res, os.path.join(args.out, f"{stem}.png"))
            print(json.dumps({"image": path, "side": res["side"], "category": res["category"],
                              "category_probability": res["category_probability"]}))
    except PredictError as e:
        print(f"hopgen predict: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
