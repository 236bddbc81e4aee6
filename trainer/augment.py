"""The image half of a training crop in torch: affine warp, colour jitter, heatmaps, batched.

data.HandCrops draws every random number of a sample on the CPU (numpy, default_rng([seed,
epoch, index])) and turns it into plain parameters: the 3x3 affine raw_A (stored-image px -> crop px, the
horizontal flip folded in), three colour factors and a jitter flag. `crop_images` applies them to a batch, so the
same function finishes a sample inside a DataLoader worker (batch of one, CPU) or a whole batch on
the GPU after the copy (`finish_batch`, used by engine.train when training on CUDA: the workers
then only slice the uint8 memory map). Either way a sample depends only on (seed, epoch, index).

The warp is bilinear with zeros outside the image and pixel (0, 0) at the centre of the top-left
pixel (grid_sample with align_corners=True), the same sampling as the numpy data.warp.
"""

import torch
import torch.nn.functional as F

from trainer.heatmaps import render_heatmaps

RAW_KEYS = ("raw_rgb", "raw_mask", "raw_A", "colour", "jitter")


def _theta(A, h, w, size):
    """(B, 2, 3) affine_grid matrices (normalised crop -> normalised image coords) for crop maps A (B, 3, 3)."""
    A = A.to(torch.float64)
    Ai = torch.linalg.inv(A)
    half = (size - 1) / 2.0
    n_out_inv = torch.tensor([[half, 0, half], [0, half, half], [0, 0, 1.0]], dtype=torch.float64, device=A.device)
    n_in = torch.tensor([[2.0 / max(w - 1, 1), 0, -1], [0, 2.0 / max(h - 1, 1), -1], [0, 0, 1.0]],
                        dtype=torch.float64, device=A.device)
    return (n_in @ Ai @ n_out_inv)[:, :2].to(torch.float32)


def warp_batch(img, A, size):
    """Bilinear crops: img (B, H, W, C) any dtype, A (B, 3, 3) full px -> crop px; returns (B, C, size, size) float32."""
    b, h, w, c = img.shape
    x = img.permute(0, 3, 1, 2).to(torch.float32)  # (B, C, H, W)
    grid = F.affine_grid(_theta(A, h, w, size), (b, c, size, size), align_corners=True)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def colour_jitter_batch(img, factors):
    """As data.colour_jitter per image: img (B, 3, S, S) in 0..255, factors (B, 3) brightness/contrast/saturation."""
    f = factors.to(img.dtype)[:, :, None, None, None]  # (B, 3, 1, 1, 1)
    img = img * f[:, 0]
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = (img - mean) * f[:, 1] + mean
    grey = img.mean(dim=1, keepdim=True)
    return ((img - grey) * f[:, 2] + grey).clamp(0, 255)


def crop_images(rgb, mask, A, size, colour=None, jitter=None):
    """image (B, 3, S, S) = crop / 255 - 0.5 and mask (B, 1, S, S) in {0, 1} from uint8 rgb (B, H, W, 3) and
    mask (B, H, W); colour (B, 3) factors applied where jitter (B,) is true."""
    both = torch.cat([rgb, mask[..., None].to(rgb.dtype)], dim=-1)  # (B, H, W, 4): one warp for both
    out = warp_batch(both, A, size)
    img, m = out[:, :3], (out[:, 3:] > 0.5).to(torch.float32)
    if colour is not None and jitter is not None and bool(jitter.any()):
        jit = colour_jitter_batch(img, colour)
        img = torch.where(jitter.to(torch.bool)[:, None, None, None], jit, img)
    return img / 255.0 - 0.5, m


def crop_heatmaps(uv_crop, weight, data_cfg):
    """(B, 21, S/stride, S/stride) GT maps of crop keypoints (B, 21, 2) drawn where weight > 0."""
    size = data_cfg.crop
    return render_heatmaps(uv_crop, weight > 0, size // data_cfg.heatmap_stride, data_cfg.sigma * size / 256.0,
                           crop_size=size)


def finish_batch(batch, data_cfg, channels_last=False):
    """Replace the raw fields of a deferred HandCrops batch (already on its device) by image, mask, heatmaps."""
    if "raw_rgb" not in batch:
        return batch
    out = {k: v for k, v in batch.items() if k not in RAW_KEYS}
    img, mask = crop_images(batch["raw_rgb"], batch["raw_mask"], batch["raw_A"], data_cfg.crop,
                            batch["colour"], batch["jitter"])
    if channels_last:
        img = img.contiguous(memory_format=torch.channels_last)
    out.update(image=img, mask=mask, heatmaps=crop_heatmaps(batch["uv_crop"], batch["weight"], data_cfg))
    return out
