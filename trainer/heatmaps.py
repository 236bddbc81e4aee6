"""Ground-truth keypoint score maps (hand3d convention), shared by the 2D and 3D stages.

A map is exp(-d^2 / sigma^2) (not 2 sigma^2, as in hand3d), d the distance to the keypoint in
crop pixels, and zero for keypoints that are not visible. Maps may be rendered at a lower
resolution than the crop (32x32 for a 256 crop): each map pixel is evaluated at its centre
expressed in crop pixels, which equals point-sampling the full-resolution map. Pixel (0, 0) is
the centre of the top-left pixel (the HOP convention), so map pixel i has its centre at crop
coordinate (i + 0.5) * crop_size / size - 0.5.
"""

import numpy as np
import torch


def render_heatmaps(uv, vis, size, sigma=25.0, crop_size=None):
    """Render (N, 21, size, size) score maps.

    uv: (N, J, 2) keypoints (u = column, v = row) in crop pixels; numpy or torch.
    vis: (N, J) bool (True = draw the keypoint) or float weights in [0, 1] that scale each map.
         Not the HOP visibility codes (there 0 means visible): pass `codes == VIS_VISIBLE`.
    size: map side in pixels. sigma: in crop pixels (25 on a 256 crop in hand3d).
    crop_size: side of the crop the uv refer to; default `size` (uv already in map pixels).
    Returns float32 of the input's kind (numpy in -> numpy out, torch in -> torch out, same device).
    """
    is_numpy = not isinstance(uv, torch.Tensor)
    uv_t = torch.as_tensor(np.asarray(uv) if is_numpy else uv)
    vis_t = torch.as_tensor(np.asarray(vis) if not isinstance(vis, torch.Tensor) else vis)
    if uv_t.dim() != 3 or uv_t.shape[-1] != 2:
        raise ValueError(f"render_heatmaps: uv must have shape (N, J, 2), got {tuple(uv_t.shape)}")
    if tuple(vis_t.shape) != tuple(uv_t.shape[:2]):
        raise ValueError(f"render_heatmaps: vis must have shape {tuple(uv_t.shape[:2])}, got {tuple(vis_t.shape)}")
    if not (vis_t.dtype == torch.bool or vis_t.is_floating_point()):
        raise ValueError("render_heatmaps: vis must be bool or float weights; for HOP visibility codes "
                         "pass `visibility == VIS_VISIBLE` (code 0 means visible)")
    if int(size) < 1 or not float(sigma) > 0:
        raise ValueError(f"render_heatmaps: need size >= 1 and sigma > 0, got size={size} sigma={sigma}")
    size = int(size)
    crop_size = float(size if crop_size is None else crop_size)
    uv_t = uv_t.to(torch.float32)
    step = crop_size / size
    centres = (torch.arange(size, dtype=torch.float32, device=uv_t.device) + 0.5) * step - 0.5  # (S,)
    du = centres[None, None, None, :] - uv_t[..., 0, None, None]  # (N, J, 1, S) columns
    dv = centres[None, None, :, None] - uv_t[..., 1, None, None]  # (N, J, S, 1) rows
    maps = torch.exp(-(du ** 2 + dv ** 2) / float(sigma) ** 2)     # (N, J, S, S)
    maps = maps * vis_t.to(device=uv_t.device, dtype=torch.float32)[..., None, None]
    return maps.numpy() if is_numpy else maps
