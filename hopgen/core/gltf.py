"""glTF 2.0 files (.gltf with its buffers, or binary .glb) read into triangles, numpy only.

Every mesh of the default scene's node tree is read with its node transforms (matrix or TRS) and
merged into one triangle list. glTF is Y-up in metres; the result is turned Z-up the way Blender's
glTF importer turns it ((x, y, z) -> (x, -z, y)), so the pure triangles and the imported object
agree. Also lists the file's materials and the images they use (for texture checks before
rendering). Compressed geometry (Draco, meshopt) and sparse accessors are refused by name.

Pure module: numpy + standard library only.
"""

import base64
import json
import os
import struct

import numpy as np

GLB_MAGIC = b"glTF"
CHUNK_JSON, CHUNK_BIN = 0x4E4F534A, 0x004E4942
COMPONENTS = {5120: "i1", 5121: "u1", 5122: "i2", 5123: "u2", 5125: "u4", 5126: "f4"}
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
TRIANGLES, TRIANGLE_STRIP, TRIANGLE_FAN = 4, 5, 6


class GltfError(ValueError):
    """A glTF file that cannot be read (the caller adds the file name)."""


def split_glb(data):
    """(json dict, binary chunk bytes or None) of a .glb file's bytes."""
    if data[:4] != GLB_MAGIC:
        raise GltfError("not a GLB file (no 'glTF' magic)")
    _, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2:
        raise GltfError(f"GLB version {version} (only glTF 2.0 is read)")
    pos, doc, binary = 12, None, None
    while pos + 8 <= min(length, len(data)):
        size, kind = struct.unpack_from("<II", data, pos)
        chunk = data[pos + 8:pos + 8 + size]
        if kind == CHUNK_JSON:
            doc = json.loads(chunk.decode("utf-8"))
        elif kind == CHUNK_BIN and binary is None:
            binary = bytes(chunk)
        pos += 8 + size + (-size % 4)
    if doc is None:
        raise GltfError("GLB file without a JSON chunk")
    return doc, binary


def read_document(path):
    """(json dict, binary chunk or None) of a .gltf or .glb file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] == GLB_MAGIC:
        return split_glb(data)
    try:
        return json.loads(data.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GltfError(f"neither a GLB nor a glTF JSON file ({e})") from None


def _buffers(doc, binary, folder):
    out = []
    for i, buf in enumerate(doc.get("buffers", [])):
        uri = buf.get("uri")
        if uri is None:
            if binary is None:
                raise GltfError(f"buffers[{i}] has no uri and the file has no binary chunk")
            out.append(binary)
        elif uri.startswith("data:"):
            out.append(base64.b64decode(uri.split(",", 1)[1]))
        else:
            full = os.path.join(folder, _unquote(uri))
            if not os.path.isfile(full):
                raise GltfError(f"buffers[{i}]: buffer file not found: {full}")
            with open(full, "rb") as fh:
                out.append(fh.read())
    return out


def _unquote(uri):
    from urllib.parse import unquote
    return unquote(uri)


def _accessor(doc, buffers, index):
    """(count, width) array of accessor ``index`` (normalised integers are left as integers)."""
    acc = doc["accessors"][index]
    if "sparse" in acc:
        raise GltfError(f"accessors[{index}] is sparse (not supported; export without sparse accessors)")
    dtype = np.dtype("<" + COMPONENTS[acc["componentType"]])
    width, count = WIDTHS[acc["type"]], acc["count"]
    if "bufferView" not in acc:
        return np.zeros((count, width), dtype)
    view = doc["bufferViews"][acc["bufferView"]]
    data = buffers[view["buffer"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    stride = view.get("byteStride") or dtype.itemsize * width
    if stride == dtype.itemsize * width:
        arr = np.frombuffer(data, dtype, count * width, start)
    else:
        rows = np.lib.stride_tricks.as_strided(np.frombuffer(data, np.uint8, offset=start),
                                               (count, dtype.itemsize * width), (stride, 1))
        arr = np.ascontiguousarray(rows).view(dtype)
    return arr.reshape(count, width)


def _node_matrix(node):
    if "matrix" in node:
        return np.array(node["matrix"], np.float64).reshape(4, 4).T  # column-major in the file
    x, y, z, w = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    m = np.eye(4)
    m[:3, :3] = r * np.asarray(node.get("scale", (1.0, 1.0, 1.0)), np.float64)[None, :]
    m[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return m


def _triangles(mode, idx):
    if mode == TRIANGLES:
        return idx[:len(idx) // 3 * 3].reshape(-1, 3)
    if mode == TRIANGLE_STRIP:
        t = np.stack([idx[:-2], idx[1:-1], idx[2:]], 1)
        t[1::2] = t[1::2][:, [1, 0, 2]]  # every other strip triangle is wound the other way
        return t
    if mode == TRIANGLE_FAN:
        return np.stack([np.full(len(idx) - 2, idx[0]), idx[1:-1], idx[2:]], 1)
    return np.zeros((0, 3), np.int64)  # points and lines enclose nothing


def read_gltf(path):
    """(vertices (V, 3) float64 in the file's metres, Z-up; faces (F, 3) int64) of every mesh
    instance of the file's default scene, merged. Raises GltfError."""
    doc, binary = read_document(path)
    required = set(doc.get("extensionsRequired", [])) & {"KHR_draco_mesh_compression", "EXT_meshopt_compression"}
    if required:
        raise GltfError(f"compressed geometry ({', '.join(sorted(required))}) is not read; "
                        "export the file without mesh compression")
    buffers = _buffers(doc, binary, os.path.dirname(os.path.abspath(path)))
    nodes = doc.get("nodes", [])
    scenes = doc.get("scenes", [])
    roots = scenes[doc.get("scene", 0)]["nodes"] if scenes else range(len(nodes))
    verts, faces, count = [], [], 0
    stack = [(int(n), Y_UP_TO_Z_UP) for n in roots]
    while stack:
        n, parent = stack.pop()
        node = nodes[n]
        m = parent @ _node_matrix(node)
        stack.extend((int(c), m) for c in node.get("children", []))
        if "mesh" not in node:
            continue
        for prim in doc["meshes"][node["mesh"]]["primitives"]:
            if "POSITION" not in prim.get("attributes", {}):
                continue
            pos = _accessor(doc, buffers, prim["attributes"]["POSITION"]).astype(np.float64)
            idx = (_accessor(doc, buffers, prim["indices"]).reshape(-1).astype(np.int64)
                   if "indices" in prim else np.arange(len(pos)))
            tri = _triangles(prim.get("mode", TRIANGLES), idx)
            if len(tri) and (tri.min() < 0 or tri.max() >= len(pos)):
                raise GltfError(f"mesh {node['mesh']}: index out of range ({len(pos)} vertices)")
            if np.linalg.det(m[:3, :3]) < 0:
                tri = tri[:, [0, 2, 1]]  # a mirroring node keeps the faces outward
            verts.append(pos @ m[:3, :3].T + m[:3, 3])
            faces.append(tri + count)
            count += len(pos)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.concatenate(verts), np.concatenate(faces)


def gltf_images(path):
    """(number of materials, [image reference]) of a glTF file; a reference is the external file
    path (resolved against the file's folder, as written) or None for an embedded image."""
    doc, _ = read_document(path)
    folder = os.path.dirname(os.path.abspath(path))
    refs = []
    for img in doc.get("images", []):
        uri = img.get("uri")
        refs.append(None if uri is None or uri.startswith("data:") else os.path.join(folder, _unquote(uri)))
    return len(doc.get("materials", [])), refs
