"""Triangle-mesh files: .obj / .stl (ASCII and binary) / .ply (ASCII and binary little endian) /
.gltf and .glb (hopgen.core.gltf) read into vertices (V, 3) float64 metres and faces (F, 3) int64.
.fbx and .blend need Blender to read: their triangles are extracted once into a binary PLY named
by the file's sha256 (hopgen.blender.mesh_extract writes it) and read from there.

Pure module: numpy + standard library only.
"""

import os
import struct

import numpy as np

UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}


class MeshFileError(ValueError):
    """A mesh file cannot be read; the message names the file and the problem."""



# ----------------------------------------------------------------------------- loading


PURE_TYPES = (".obj", ".stl", ".ply", ".gltf", ".glb")   # read here, numpy only
BLENDER_TYPES = (".fbx", ".blend")                       # read through an extracted PLY


def load_mesh(path, units="m", scale=1.0, extracted=None):
    """Read a mesh file -> (vertices (V, 3) float64 metres, faces (F, 3) int64).

    `units` is one of UNIT_SCALES (the file's length unit); `scale` multiplies on top.
    Polygons are fan-triangulated. An .fbx/.blend is read from `extracted`, the PLY of its
    triangles (hopgen.blender.mesh_extract). Raises MeshFileError naming the file on bad input.
    """
    if units not in UNIT_SCALES:
        raise MeshFileError(f"{path}: unknown units {units!r} (expected one of {sorted(UNIT_SCALES)})")
    if not np.isfinite(scale) or scale <= 0:
        raise MeshFileError(f"{path}: scale must be a positive number, got {scale!r}")
    ext = os.path.splitext(str(path))[1].lower()
    readers = {".obj": _read_obj, ".stl": _read_stl, ".ply": _read_ply}
    if ext in BLENDER_TYPES:
        if not extracted or not os.path.isfile(extracted):
            raise MeshFileError(f"{path}: a {ext} file is read by Blender; its triangles are extracted when "
                                "rendering starts (hopgen render, or a farm worker) and not yet here")
        return load_mesh(extracted, scale=UNIT_SCALES[units] * float(scale))
    if ext not in readers and ext not in (".gltf", ".glb"):
        raise MeshFileError(f"{path}: unsupported mesh format {ext!r} "
                            f"(expected {' '.join(PURE_TYPES + BLENDER_TYPES)})")
    try:
        if ext in (".gltf", ".glb"):
            from hopgen.core.gltf import read_gltf
            verts, faces = read_gltf(path)
        else:
            with open(path, "rb") as fh:
                data = fh.read()
            verts, faces = readers[ext](data)
    except OSError as exc:
        raise MeshFileError(f"{path}: cannot read ({exc})") from exc
    except MeshFileError as exc:
        raise MeshFileError(f"{path}: {exc}") from None
    except (ValueError, IndexError, KeyError, TypeError, struct.error, UnicodeDecodeError) as exc:
        raise MeshFileError(f"{path}: malformed {ext[1:].upper()} file ({exc})") from exc
    verts = np.asarray(verts, dtype=np.float64).reshape(-1, 3) * (UNIT_SCALES[units] * float(scale))
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(verts)):
        raise MeshFileError(f"{path}: face index out of range (file has {len(verts)} vertices)")
    return verts, faces


def _fan(poly):
    """Fan-triangulate one polygon given as a list of vertex indices."""
    return [(poly[0], poly[k], poly[k + 1]) for k in range(1, len(poly) - 1)]


def _read_obj(data):
    verts, faces = [], []
    for line in data.decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            idx = []
            for tok in parts[1:]:
                i = int(tok.split("/")[0])
                idx.append(i - 1 if i > 0 else len(verts) + i)  # OBJ: 1-based, negative = relative
            faces.extend(_fan(idx))
    return np.array(verts, dtype=np.float64).reshape(-1, 3), np.array(faces, dtype=np.int64).reshape(-1, 3)


def _read_stl(data):
    n = struct.unpack("<I", data[80:84])[0] if len(data) >= 84 else -1
    if n >= 0 and len(data) == 84 + 50 * n:  # binary: size is exact (ASCII files may also start with "solid")
        rec = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]),
                            count=n, offset=84)
        tri = rec["v"].astype(np.float64)
    else:
        text = data.decode("utf-8", errors="replace")
        if not text.lstrip().startswith("solid"):
            raise MeshFileError("neither a binary STL (size mismatch) nor an ASCII STL (no 'solid')")
        vals = [ln.split()[1:4] for ln in text.splitlines() if ln.strip().startswith("vertex")]
        tri = np.array(vals, dtype=np.float64).reshape(-1, 3, 3)
    return weld(tri.reshape(-1, 3), np.arange(len(tri) * 3).reshape(-1, 3))


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def _read_ply(data):
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise MeshFileError("not a PLY file (missing 'ply' magic or 'end_header')")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    body = data[data.index(b"\n", end) + 1:]
    fmt, elements = None, []  # elements: [name, count, [(prop, type) or (prop, (count_type, item_type))]]
    for line in header:
        p = line.split()
        if not p:
            continue
        if p[0] == "format":
            fmt = p[1]
        elif p[0] == "element":
            elements.append([p[1], int(p[2]), []])
        elif p[0] == "property":
            if p[1] == "list":
                elements[-1][2].append((p[4], (_PLY_TYPES[p[2]], _PLY_TYPES[p[3]])))
            else:
                elements[-1][2].append((p[2], _PLY_TYPES[p[1]]))
    if fmt not in ("ascii", "binary_little_endian"):
        raise MeshFileError(f"unsupported PLY format {fmt!r} (ascii and binary_little_endian are supported)")
    verts = np.zeros((0, 3))
    faces = []
    if fmt == "ascii":
        tokens = body.decode("ascii", errors="replace").split()
        pos = 0
        for name, count, props in elements:
            rows = []
            for _ in range(count):
                row = {}
                for pname, ptype in props:
                    if isinstance(ptype, tuple):
                        k = int(tokens[pos])
                        row[pname] = [int(float(t)) for t in tokens[pos + 1:pos + 1 + k]]
                        pos += 1 + k
                    else:
                        row[pname] = float(tokens[pos])
                        pos += 1
                rows.append(row)
            if name == "vertex":
                verts = np.array([[r["x"], r["y"], r["z"]] for r in rows], dtype=np.float64).reshape(-1, 3)
            elif name == "face":
                key = _ply_face_key(props)
                for r in rows:
                    faces.extend(_fan(r[key]))
    else:
        pos = 0
        for name, count, props in elements:
            if not any(isinstance(t, tuple) for _, t in props):
                dt = np.dtype([(pn, "<" + pt) for pn, pt in props])
                arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
                pos += dt.itemsize * count
                if name == "vertex":
                    verts = np.stack([arr["x"], arr["y"], arr["z"]], axis=1).astype(np.float64)
                continue
            pos, rows = _ply_binary_lists(body, pos, count, props)
            if name == "face":
                key = _ply_face_key(props)
                for r in rows:
                    faces.extend(_fan(r[key]))
    return verts, np.array(faces, dtype=np.int64).reshape(-1, 3)


def _ply_face_key(props):
    for key in ("vertex_indices", "vertex_index"):
        if any(p == key for p, _ in props):
            return key
    raise MeshFileError("PLY face element has no 'vertex_indices' list")


def _ply_binary_lists(body, pos, count, props):
    """Parse a binary element with list properties; fast path when every list has 3 items."""
    simple = len(props) == 1 and isinstance(props[0][1], tuple)
    if simple and count:
        ct, it = props[0][1]
        dt = np.dtype([("n", "<" + ct), ("i", "<" + it, 3)])
        if pos + dt.itemsize * count <= len(body):
            arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
            if np.all(arr["n"] == 3):
                return pos + dt.itemsize * count, [{props[0][0]: list(map(int, r))} for r in arr["i"]]
    rows = []
    for _ in range(count):
        row = {}
        for pname, ptype in props:
            if isinstance(ptype, tuple):
                ct, it = (np.dtype("<" + t) for t in ptype)
                k = int(np.frombuffer(body, dtype=ct, count=1, offset=pos)[0])
                pos += ct.itemsize
                row[pname] = [int(x) for x in np.frombuffer(body, dtype=it, count=k, offset=pos)]
                pos += it.itemsize * k
            else:
                dt = np.dtype("<" + ptype)
                row[pname] = float(np.frombuffer(body, dtype=dt, count=1, offset=pos)[0])
                pos += dt.itemsize
        rows.append(row)
    return pos, rows


def weld(vertices, faces, tol=0.0):
    """Merge vertices closer than `tol` (exact duplicates when 0); returns (vertices, faces)."""
    v = np.asarray(vertices, dtype=np.float64)
    key = np.round(v / tol) if tol > 0 else v
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return v[first], inverse.reshape(-1)[np.asarray(faces)]


def ply_bytes(vertices, faces):
    """A binary little-endian PLY of triangles (float32 vertices, int32 indices): what
    load_mesh reads back, e.g. for the triangles extracted from an .fbx/.blend file."""
    v = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(v)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n").encode("ascii")
    rows = np.zeros(len(f), np.dtype([("n", "u1"), ("i", "<i4", 3)]))
    rows["n"], rows["i"] = 3, f
    return header + v.tobytes() + rows.tobytes()
