"""PNG encode/decode in numpy + zlib (no Pillow needed, so it also runs inside Blender's Python).

Writes 8-bit gray/RGB/RGBA and 16-bit gray. Reads every non-interlaced PNG of those kinds
(all five row filters), which covers what hopgen writes and what common tools write.
"""

import os
import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6, 2: 4}  # channels -> PNG colour type
_CHANNELS = {0: 1, 2: 3, 6: 4, 4: 2}


class PNGError(ValueError):
    pass


def _chunk(tag, payload):
    return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF)


def encode_png(array, compress_level=6):
    """Encode an (H,W) / (H,W,C) uint8 or (H,W) uint16 array as PNG bytes."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOUR_TYPES:
        raise PNGError(f"cannot encode array of shape {array.shape} as PNG")
    if a.dtype == np.uint8:
        depth = 8
    elif a.dtype == np.uint16 and a.shape[2] == 1:
        depth = 16
        a = a.astype(">u2")
    else:
        raise PNGError(f"cannot encode dtype {a.dtype} with {a.shape[2]} channels as PNG")
    h, w, c = a.shape
    rows = np.ascontiguousarray(a).reshape(h, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", w, h, depth, _COLOUR_TYPES[c], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), compress_level)) + _chunk(b"IEND", b""))


def _unfilter(data, h, stride, bpp):
    out = np.zeros((h, stride), np.uint8)
    rows = np.frombuffer(data, np.uint8)
    if rows.size != h * (stride + 1):
        raise PNGError("PNG data length does not match its header")
    rows = rows.reshape(h, stride + 1)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        ftype, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 1:  # Sub: cumulative sum per byte lane
            cur = line.copy()
            for lane in range(bpp):
                cur[lane::bpp] = np.cumsum(line[lane::bpp]) & 0xFF
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype in (3, 4):
            cur = line.copy()
            for x in range(stride):
                left = cur[x - bpp] if x >= bpp else 0
                up = prev[x]
                if ftype == 3:
                    pred = (left + up) >> 1
                else:
                    ul = prev[x - bpp] if x >= bpp else 0
                    p = left + up - ul
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                    pred = left if (pa <= pb and pa <= pc) else (up if pb <= pc else ul)
                cur[x] = (cur[x] + pred) & 0xFF
        else:
            raise PNGError(f"unknown PNG filter type {ftype}")
        out[y] = cur
        prev = cur
    return out


def _read_chunks(data, strict):
    """Walk PNG bytes -> (IHDR fields, IDAT payloads). strict: every chunk's CRC must match and an IEND
    must be present (check_png); the decoder reads what it can (decode_png)."""
    if data[:8] != _SIGNATURE:
        raise PNGError("not a PNG file (bad signature)")
    pos, idat, header, ended = 8, [], None, False
    while pos < len(data):
        if pos + (12 if strict else 8) > len(data):
            raise PNGError("truncated PNG chunk")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        if len(payload) != length:
            raise PNGError("truncated PNG chunk")
        if strict:
            crc = data[pos + 8 + length:pos + 12 + length]
            if len(crc) != 4:
                raise PNGError("truncated PNG chunk")
            if struct.unpack(">I", crc)[0] != zlib.crc32(tag + payload) & 0xFFFFFFFF:
                raise PNGError(f"CRC mismatch in a {tag.decode('latin-1')} chunk")
        if tag == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif tag == b"IDAT":
            idat.append(payload)
        elif tag == b"IEND":
            ended = True
            break
        pos += 12 + length
    if header is None or not idat:
        raise PNGError("PNG lacks IHDR or IDAT")
    if strict and not ended:
        raise PNGError("truncated PNG (no IEND chunk)")
    w, h, depth, ctype, _comp, _filt, interlace = header
    if ctype not in _CHANNELS or depth not in (8, 16) or interlace:
        raise PNGError(f"unsupported PNG (colour type {ctype}, depth {depth}, interlace {interlace})")
    return (w, h, depth, ctype), idat


def decode_png(data):
    """Decode PNG bytes to (H,W) or (H,W,C) uint8/uint16. Palette and interlaced files are rejected."""
    (w, h, depth, ctype), idat = _read_chunks(data, strict=False)
    c = _CHANNELS[ctype]
    bpp = c * depth // 8
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise PNGError(f"corrupt PNG data: {e}") from None
    pixels = _unfilter(raw, h, w * bpp, bpp)
    if depth == 16:
        arr = pixels.view(">u2").astype(np.uint16).reshape(h, w, c)
    else:
        arr = pixels.reshape(h, w, c)
    return arr[:, :, 0] if c == 1 else arr


def check_png(data, width=None, height=None, channels=None):
    """Check that PNG bytes are complete and intact without unfiltering them: every chunk present
    with a matching CRC, an IEND, IDAT that inflates to exactly the size the header promises, and
    (when given) the expected width, height and channel count. Returns (width, height, channels);
    raises PNGError saying what is wrong (a truncated file, e.g. from a full disk, fails here)."""
    (w, h, depth, ctype), idat = _read_chunks(data, strict=True)
    c = _CHANNELS[ctype]
    try:
        raw = zlib.decompressobj()
        n = len(raw.decompress(b"".join(idat)))
        if not raw.eof:
            raise PNGError("truncated PNG data (deflate stream does not end)")
    except zlib.error as e:
        raise PNGError(f"corrupt PNG data: {e}") from None
    if n != h * (w * c * depth // 8 + 1):
        raise PNGError("PNG data length does not match its header")
    if (width is not None and w != width) or (height is not None and h != height):
        raise PNGError(f"PNG is {w}x{h}, expected {width}x{height}")
    if channels is not None and c != channels:
        raise PNGError(f"PNG has {c} channels, expected {channels}")
    return w, h, c


def png_looks_complete(path):
    """Cheap check of a PNG file: the signature, the header and an IEND chunk at its end (a
    truncated file fails). Returns (width, height) or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
            f.seek(0, os.SEEK_END)
            if f.tell() < 45:
                return None
            f.seek(-12, os.SEEK_END)
            tail = f.read(12)
    except OSError:
        return None
    if head[:8] != _SIGNATURE or head[12:16] != b"IHDR" or tail != _chunk(b"IEND", b""):
        return None
    return struct.unpack(">II", head[16:24])


def read_png(path):
    with open(path, "rb") as f:
        return decode_png(f.read())
