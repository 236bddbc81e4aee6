"""One HOP sample as the exporters see it: decoded images, annotation arrays, optional resampling.

`load_sample` reads a sample (already validated by the driver); `resample` scales every image to a
new size and adjusts K and uv to match (pixel (0, 0) is the centre of the top-left pixel, so
u' = (u + 0.5) * sx - 0.5 and K' = S K with S = [[sx, 0, sx/2 - 1/2], [0, sy, sy/2 - 1/2], [0, 0, 1]]).
RGB is resampled with Pillow's antialiased bilinear filter, masks, seg and depth with nearest
neighbour (labels and depths are never blended).
"""

import copy
from dataclasses import dataclass, replace

import numpy as np

from hopgen.dataset.hopformat import sample_path


class ExportError(ValueError):
    """An export that cannot be made (names the file, sample or option and what is wrong)."""


@dataclass
class Sample:
    sid: str
    anno: dict            # the HOP annotation (camera/hand updated by resample)
    rgb: np.ndarray       # (H, W, 3) uint8
    hand_mask: np.ndarray  # (H, W) bool, amodal
    object_mask: np.ndarray  # (H, W) bool, amodal
    seg: np.ndarray       # (H, W) uint8 visible labels (hopgen.core.skeleton SEG_*)
    depth: object         # (H, W) uint16 mm (0 = no surface) or None
    rgb_path: str         # the source PNG (copied as is when the size is unchanged)
    resized: bool = False

    @property
    def size(self):
        h, w = self.seg.shape
        return w, h

    @property
    def K(self):
        return np.asarray(self.anno["camera"]["K"], np.float64)

    @property
    def uv(self):
        return np.asarray(self.anno["hand"]["uv"], np.float64)

    @property
    def xyz(self):
        return np.asarray(self.anno["hand"]["xyz"], np.float64)

    @property
    def vis(self):
        return np.asarray(self.anno["hand"]["visibility"], np.int64)

    @property
    def side(self):
        return self.anno["hand"]["side"]


def load_sample(ds, sid):
    """Decode sample `sid` of HopDataset `ds`."""
    rgb = ds.image("rgb", sid)
    return Sample(sid=sid, anno=ds.annotation(sid), rgb=np.ascontiguousarray(rgb[..., :3]),
                  hand_mask=ds.image("hand_mask", sid), object_mask=ds.image("object_mask", sid),
                  seg=ds.image("seg", sid), depth=ds.image("depth", sid) if ds.has("depth", sid) else None,
                  rgb_path=sample_path(ds.root, "rgb", sid))


def parse_size(text):
    """'320' -> (320, 320); '640x480' -> (640, 480); None -> None."""
    if text is None:
        return None
    try:
        parts = [int(p) for p in str(text).lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(8 <= p <= 8192 for p in parts):
        raise ExportError(f"--size {text!r}: expected N or WxH with 8 <= N <= 8192 pixels")
    return tuple(parts)


def scale_matrix(sx, sy):
    """3x3 map from old pixel coordinates to new ones for a resize by (sx, sy) (pixel-centre convention)."""
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _nearest(img, w, h):
    H, W = img.shape[:2]
    cols = np.minimum(((np.arange(w) + 0.5) * W / w).astype(np.int64), W - 1)
    rows = np.minimum(((np.arange(h) + 0.5) * H / h).astype(np.int64), H - 1)
    return img[rows][:, cols]


def resample(sample, size):
    """A copy of `sample` at `size` = (W, H) with K, uv, width and height adjusted; itself if already that size."""
    if size is None or tuple(size) == sample.size:
        return sample
    from PIL import Image

    w, h = size
    W, H = sample.size
    S = scale_matrix(w / W, h / H)
    anno = copy.deepcopy(sample.anno)
    anno["camera"]["K"] = (S @ sample.K).tolist()
    anno["camera"]["width"], anno["camera"]["height"] = w, h
    anno["hand"]["uv"] = (sample.uv * [w / W, h / H] + S[:2, 2]).tolist()
    rgb = np.asarray(Image.fromarray(sample.rgb).resize((w, h), Image.BILINEAR))
    return replace(sample, anno=anno, rgb=rgb, hand_mask=_nearest(sample.hand_mask, w, h),
                   object_mask=_nearest(sample.object_mask, w, h), seg=_nearest(sample.seg, w, h),
                   depth=None if sample.depth is None else _nearest(sample.depth, w, h), resized=True)


def finite(array, where):
    """`array` as float64 after checking it holds no NaN/inf (exports never emit NaN)."""
    a = np.asarray(array, np.float64)
    if not np.all(np.isfinite(a)):
        raise ExportError(f"{where}: non-finite values")
    return a


def encode_png_bytes(array):
    from hopgen.core.pngio import encode_png
    return encode_png(np.ascontiguousarray(array), compress_level=3)


def encode_jpeg_bytes(array, quality=95):
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
