"""WebDataset export: POSIX tar shards that the `webdataset` library (and any tar reader) streams.

    OUT/<split>/shard-000000.tar, shard-000001.tar, ...   (shard_size samples each)

Each sample is one key (its HOP id) with the files <ID>.rgb.png, <ID>.hand_mask.png,
<ID>.object_mask.png, <ID>.seg.png, <ID>.depth.png (when present) and <ID>.json (the HOP
annotation; camera.K, width, height and hand.uv follow --size). The PNGs are the HOP files
themselves when the size is unchanged. Members are written in a fixed order with fixed metadata
(mtime 0, mode 0644), so the same dataset gives byte-identical shards.
"""

import io
import json
import tarfile

import numpy as np

from hopgen.dataset.export.samples import encode_png_bytes, finite
from hopgen.dataset.hopformat import sample_path


def entries(split):
    return [split]


def _member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def _files(sample, ds):
    where = f"sample {sample.sid}"
    finite(sample.K, f"{where}: camera.K"), finite(sample.uv, f"{where}: hand.uv"), finite(sample.xyz, f"{where}: hand.xyz")
    kinds = ["rgb", "hand_mask", "object_mask", "seg"] + (["depth"] if sample.depth is not None else [])
    out = []
    for kind in kinds:
        if sample.resized:
            img = getattr(sample, kind)
            if kind in ("hand_mask", "object_mask"):
                img = np.asarray(img, np.uint8) * 255
            data = encode_png_bytes(img)
        else:
            with open(sample_path(ds.root, kind, sample.sid), "rb") as f:
                data = f.read()
        out.append((f"{sample.sid}.{kind}.png", data))
    out.append((f"{sample.sid}.json", json.dumps(sample.anno, allow_nan=False).encode()))
    return out


def write(stage, split, samples, ds, shard_size=1000, **_):
    if shard_size < 1:
        raise ValueError(f"--shard-size {shard_size}: expected >= 1 samples per shard")
    n, shards, tar = 0, [], None
    try:
        for sample in samples:
            if n % shard_size == 0:
                if tar:
                    tar.close()
                name = f"shard-{len(shards):06d}.tar"
                shards.append(name)
                tar = tarfile.open(stage.file(split, name), "w", format=tarfile.USTAR_FORMAT)
            for member, data in _files(sample, ds):
                _member(tar, member, data)
            n += 1
    finally:
        if tar:
            tar.close()
    return {"samples": n, "skipped": [], "shards": shards}
