"""Camera effects (pure numpy): what a real camera does to the picture, drawn per sample and applied
to the beauty image only, so labels, masks and depth stay those of the sharp exact geometry.

Depth of field is optical (Cycles, from CameraEffects.fstop, focused on the hand); the rest is a
post-process of the 8-bit sRGB render, in the order a camera pipeline applies them:
exposure error and white-balance error (linear light), vignetting, lateral chromatic aberration,
Poisson-Gaussian sensor noise (mostly luminance, as a camera's pipeline leaves it), then JPEG-like 8x8 DCT quantisation of YCbCr with 4:2:0 chroma.
Motion blur is optical too (Cycles, over the grasp animation's motion during CameraEffects.exposure_s;
hopgen.episode.motion); a share of the samples (camera.motion_blur_probability) gets an exposure.
"""

import numpy as np

from hopgen.episode.spec import CameraEffects

EFFECTS_STREAM = 7  # default_rng([dataset seed, EFFECTS_STREAM, index]) for the noise
# A camera's pipeline (demosaicing, chroma noise reduction) leaves mostly luminance noise: one field
# shared by the three channels plus a weak independent colour part (total variance ~1).
LUMA_NOISE, CHROMA_NOISE = 0.95, 0.3
MOTION_STREAM = 8   # default_rng([dataset seed, MOTION_STREAM, index]): motion blur (the plan's draws stay as they were)


def sample_exposure(dataset_seed, index, probability, exposure_range):
    """Shutter time for motion blur, seconds: log-uniform in `exposure_range` for a share
    `probability` of the samples, else 0.0 (no motion blur)."""
    rng = np.random.default_rng([int(dataset_seed), MOTION_STREAM, int(index)])
    blurred = rng.random() < probability
    e = float(np.exp(rng.uniform(np.log(exposure_range[0]), np.log(exposure_range[1]))))
    return e if blurred else 0.0


def sample_effects(rng, dataset_seed, index, motion_blur_probability=0.0, exposure_s=(0.004, 0.04)):
    """CameraEffects drawn from `rng` (the sample's plan generator); the exposure for motion blur from
    its own stream (sample_exposure)."""
    fstop = float(np.exp(rng.uniform(np.log(2.0), np.log(11.0))))
    ev = float(rng.normal(0.0, 0.25))
    tint = rng.normal(0.0, 0.04, 2)  # warm/cool and magenta/green error
    wb = [float(np.exp(tint[0])), 1.0, float(np.exp(-tint[0] + tint[1]))]
    return CameraEffects(
        fstop=fstop, exposure_ev=ev, white_balance=wb,
        vignette=float(rng.uniform(0.0, 0.35)), chromatic_px=float(rng.uniform(0.0, 0.8)),
        noise_read=float(rng.uniform(0.001, 0.008)), noise_shot=float(rng.uniform(0.0002, 0.0015)),
        jpeg_quality=int(rng.integers(70, 96)), seed=[int(dataset_seed), EFFECTS_STREAM, int(index)],
        exposure_s=sample_exposure(dataset_seed, index, motion_blur_probability, exposure_s))


def _to_linear(srgb):
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(lin):
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def _radial(h, w):
    """(H,W) distance from the image centre, 1 at the corners."""
    y, x = np.mgrid[:h, :w].astype(np.float64)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    return np.hypot((x - cx), (y - cy)) / np.hypot(cx, cy), x - cx, y - cy


def _bilinear(channel, xs, ys):
    h, w = channel.shape
    xs, ys = np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = xs - x0, ys - y0
    return ((channel[y0, x0] * (1 - fx) + channel[y0, x1] * fx) * (1 - fy)
            + (channel[y1, x0] * (1 - fx) + channel[y1, x1] * fx) * fy)


_Q_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
                    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], float).reshape(8, 8)
_Q_CHROMA = np.full((8, 8), 99.0)
_Q_CHROMA[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]


def _dct_matrix():
    k = np.arange(8)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16.0) * np.sqrt(2 / 8.0)
    m[0] /= np.sqrt(2.0)
    return m


_DCT = _dct_matrix()


def _quantise(plane, table):
    """JPEG's lossy step on one plane (values 0..255): 8x8 DCT, divide by the table, round, back."""
    h, w = plane.shape
    H, W = -(-h // 8) * 8, -(-w // 8) * 8
    p = np.pad(plane - 128.0, ((0, H - h), (0, W - w)), mode="edge")
    blocks = p.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
    coef = _DCT @ blocks @ _DCT.T
    coef = np.round(coef / table) * table
    back = (_DCT.T @ coef @ _DCT).transpose(0, 2, 1, 3).reshape(H, W)
    return back[:h, :w] + 128.0


def jpeg_like(rgb, quality):
    """(H,W,3) float 0..255 after JPEG-style compression at `quality` (libjpeg's table scaling)."""
    q = int(np.clip(quality, 1, 100))
    scale = 5000.0 / q if q < 50 else 200.0 - 2 * q
    tl = np.clip(np.floor((_Q_LUMA * scale + 50) / 100), 1, 255)
    tc = np.clip(np.floor((_Q_CHROMA * scale + 50) / 100), 1, 255)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape
    y = _quantise(y, tl)
    chroma = []
    for c in (cb, cr):  # 4:2:0: average 2x2, quantise, repeat back
        ph, pw = h + h % 2, w + w % 2
        c2 = np.pad(c, ((0, ph - h), (0, pw - w)), mode="edge").reshape(ph // 2, 2, pw // 2, 2).mean((1, 3))
        c2 = _quantise(c2, tc)
        chroma.append(np.repeat(np.repeat(c2, 2, 0), 2, 1)[:h, :w])
    cb, cr = chroma
    out = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                    y + 1.772 * (cb - 128)], -1)
    return out


def apply_effects(rgb, fx):
    """(H,W,3) uint8 sRGB beauty image -> the same after the post-process effects of `fx`
    (CameraEffects). Deterministic: the noise comes from default_rng(fx.seed)."""
    img = np.asarray(rgb, np.float64)[..., :3] / 255.0
    h, w = img.shape[:2]
    lin = _to_linear(img)
    lin = lin * (2.0 ** fx.exposure_ev) * np.asarray(fx.white_balance, np.float64)
    r, dx, dy = _radial(h, w)
    lin = lin * (1.0 - fx.vignette * r[..., None] ** 2)
    if fx.chromatic_px > 0:
        rad = np.maximum(np.hypot(dx, dy), 1e-9)
        ux, uy = dx / rad, dy / rad
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        for ch, sign in ((0, 1.0), (2, -1.0)):  # red magnified, blue shrunk
            shift = sign * fx.chromatic_px * r
            lin[..., ch] = _bilinear(lin[..., ch], cx + dx - shift * ux, cy + dy - shift * uy)
    rng = np.random.default_rng(fx.seed)
    var = fx.noise_read ** 2 + fx.noise_shot * np.clip(lin, 0.0, None)
    noise = LUMA_NOISE * rng.standard_normal(lin.shape[:2])[..., None] + CHROMA_NOISE * rng.standard_normal(lin.shape)
    lin = lin + noise * np.sqrt(var)
    out = _to_srgb(lin) * 255.0
    out = jpeg_like(out, fx.jpeg_quality)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
