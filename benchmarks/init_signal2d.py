"""How much of the 2D networks' output depends on the image at initialisation (default vs He init).

    python -m benchmarks.init_signal2d DATA [--batches 2]

For each CPU-scale 2D config and each model.init, builds the untrained network (seed 0), runs training
crops through it (eval mode: z_h = mu) and prints, per output, the input-dependent share of its variance:
var over the batch / mean square (0 = the same output for every image, i.e. only the biases speak), and the
root-mean-square gradient per weight that the mask loss sends to the first conv of q_h / HandSegNet and the heatmap
loss to the first conv of p_j / PoseNet, beside Adam's eps (1e-8): a gradient far below eps moves a weight by
about lr * grad / eps, i.e. not at all. Cheap (forward + two backwards, a few CPU-seconds): the evidence for the
training plateau in benchmarks/results/paper_cpu_2d.md.
"""

import argparse

import torch

from trainer.config import load_config
from trainer.data import make_dataset
from trainer.losses2d import heatmap_loss, mask_loss
from trainer.models2d import build_model_2d

CONFIGS = ("cpu_hs_posenet", "cpu_ours_novar_posenet", "cpu_ours_posenet")


def share(x):
    """Input-dependent share of x's variance: mean over units of var over the batch / mean square."""
    x = x.detach().float().flatten(1)
    return float(x.var(0).mean() / x.pow(2).mean().clamp_min(1e-30))


def batch_of(cfg, data, n, seed=0):
    ds = make_dataset(cfg, [data], "train", True)
    g = torch.Generator().manual_seed(seed)
    items = [ds[int(i)] for i in torch.randperm(len(ds), generator=g)[:n]]
    return {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in ("image", "mask", "heatmaps", "weight")}


def measure(name, init, data, n):
    cfg = load_config(f"configs/train/{name}.yaml", [f"model.init={init}"])
    torch.manual_seed(0)
    model = build_model_2d(cfg).eval()
    b = batch_of(cfg, data, n)
    out = model(b["image"].float())
    row = {"heatmaps": share(out["heatmaps"][-1]), "mask_logits": share(out["mask_logits"])}
    if "mu" in out:
        row["mu"] = share(out["mu"])
    seg_first = model.seg.trunk[0] if hasattr(model, "seg") else model.enc.trunk[0]
    pose_first = model.pose.encoder[0]
    losses = {"mask": mask_loss(out["mask_logits"], b["mask"].float()),
              "heatmap": heatmap_loss(out["heatmaps"], b["heatmaps"].float(), b["weight"].float())}
    for (loss, conv), key in zip(((losses["mask"], seg_first), (losses["heatmap"], pose_first)), ("seg", "pose")):
        model.zero_grad()
        loss.backward(retain_graph=True)
        row[f"grad_rms_{key}_first_conv"] = float(conv.weight.grad.pow(2).mean().sqrt())
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--samples", type=int, default=32)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    for name in CONFIGS:
        for init in ("default", "kaiming"):
            r = measure(name, init, a.data, a.samples)
            print(f"{name:24s} {init:8s} " + "  ".join(f"{k} {v:.3g}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
