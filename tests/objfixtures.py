"""Object files as users have them, built by the tests themselves: a box (6 x 6 x 8 cm) whose every
face shows a two-colour texture (left half red, right half blue), as a textured OBJ (+MTL +PNG, in
cm), a GLB (pure writer below, embedded PNG, metres, Y-up), and, through Blender (bpy module in a
subprocess), an FBX and a .blend that also holds a Python text block registered to run on load
(it would write MARKER next to the file: it must never run)."""

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from hopgen.core.pngio import encode_png


def write_png(path, img):
    Path(path).write_bytes(encode_png(img))

RED, BLUE = (220, 20, 20), (20, 40, 220)
HALF = np.array([0.03, 0.03, 0.04])  # metres
MARKER = "SCRIPT_RAN"
REPO = Path(__file__).resolve().parents[1]


def texture(size=16):
    img = np.zeros((size, size, 3), np.uint8)
    img[:, :size // 2] = RED
    img[:, size // 2:] = BLUE
    return img


def box(half=HALF):
    """(vertices (24, 3), uvs (24, 2), faces (12, 3)): a box with one full UV square per side."""
    verts, uvs, faces = [], [], []
    for axis in range(3):
        for sign in (1.0, -1.0):
            u_ax, v_ax = [a for a in range(3) if a != axis]
            corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
            base = len(verts)
            for cu, cv in corners:
                p = np.zeros(3)
                p[axis], p[u_ax], p[v_ax] = sign, cu, cv
                verts.append(p * half)
                uvs.append(((cu + 1) / 2, (cv + 1) / 2))
            quad = [(0, 1, 2), (0, 2, 3)]
            # outward winding: (u x v) . axis-normal has the sign of `sign` for the natural order
            flip = (np.cross(np.eye(3)[u_ax], np.eye(3)[v_ax])[axis] * sign) < 0
            for t in quad:
                faces.append([base + k for k in (t[::-1] if flip else t)])
    return np.array(verts), np.array(uvs), np.array(faces)


def write_textured_obj(folder, name="can", unit=0.01):
    """name.obj (in cm, or metres with unit=1) + name.mtl + name_label.png in ``folder``; returns the OBJ path."""
    folder = Path(folder)
    v, uv, f = box()
    write_png(folder / f"{name}_label.png", texture())
    (folder / f"{name}.mtl").write_text(f"newmtl label\nKd 1 1 1\nmap_Kd {name}_label.png\n")
    lines = [f"mtllib {name}.mtl", "o can"] + [f"v {x / unit:.4f} {y / unit:.4f} {z / unit:.4f}" for x, y, z in v]
    lines += [f"vt {a:.4f} {b:.4f}" for a, b in uv] + ["usemtl label"]
    lines += [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in f]
    path = folder / f"{name}.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_vertex_colour_ply(folder, name="paint"):
    """name.ply (ASCII, metres): the box with red vertices on one side of every face, blue on the other."""
    v, uv, f = box()
    colours = np.where(uv[:, :1] < 0.5, RED, BLUE)
    lines = ["ply", "format ascii 1.0", f"element vertex {len(v)}", "property float x", "property float y",
             "property float z", "property uchar red", "property uchar green", "property uchar blue",
             f"element face {len(f)}", "property list uchar int vertex_indices", "end_header"]
    lines += [f"{a:.5f} {b:.5f} {c:.5f} {r} {g} {bl}" for (a, b, c), (r, g, bl) in zip(v, colours)]
    lines += [f"3 {a} {b} {c}" for a, b, c in f]
    path = Path(folder) / f"{name}.ply"
    path.write_text("\n".join(lines) + "\n")
    return path


def glb_bytes(vertices, uvs, faces, png, split=None):
    """A GLB of one textured mesh (vertices Z-up metres, written Y-up as glTF wants). With ``split``
    (a face count) the faces after it become a second mesh in a second node that is lifted by 1 cm
    (its vertices lowered by as much), so the file has two parts and a node transform to apply."""
    pos = np.asarray(vertices, "<f4")[:, [0, 2, 1]] * np.array([1, 1, -1], "<f4")  # (x, z, -y)
    tex = np.asarray(uvs, "<f4") * np.array([1, -1], "<f4") + np.array([0, 1], "<f4")  # glTF: v down
    idx = np.asarray(faces, "<u2").reshape(-1)
    parts = [(pos, tex, idx)]
    if split:
        used = np.unique(np.asarray(faces)[split:])
        remap = np.full(len(pos), -1)
        remap[used] = np.arange(len(used))
        lowered = pos[used] - np.array([0, 0.01, 0], "<f4")
        parts = [(pos, tex, np.asarray(faces, "<u2")[:split].reshape(-1)),
                 (lowered, tex[used], remap[np.asarray(faces)[split:]].astype("<u2").reshape(-1))]
    chunks, views, offset = [], [], 0
    blobs = [b for p, t, i in parts for b in (p.tobytes(), t.tobytes(), i.tobytes())] + [png]
    for data in blobs:
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(data)})
        pad = data + b"\0" * (-len(data) % 4)
        chunks.append(pad)
        offset += len(pad)
    binary = b"".join(chunks)
    accessors = []
    for k, (p, t, i) in enumerate(parts):
        accessors += [{"bufferView": 3 * k, "componentType": 5126, "count": len(p), "type": "VEC3",
                       "min": p.min(0).tolist(), "max": p.max(0).tolist()},
                      {"bufferView": 3 * k + 1, "componentType": 5126, "count": len(t), "type": "VEC2"},
                      {"bufferView": 3 * k + 2, "componentType": 5123, "count": len(i), "type": "SCALAR"}]
    meshes = [{"primitives": [{"attributes": {"POSITION": 3 * k, "TEXCOORD_0": 3 * k + 1}, "indices": 3 * k + 2,
                               "material": 0}]} for k in range(len(parts))]
    nodes = [{"mesh": 0, "name": "box"}] + [{"mesh": 1, "name": "lid", "translation": [0, 0.01, 0]}] * (len(parts) - 1)
    doc = {"asset": {"version": "2.0", "generator": "hopgen tests"}, "scene": 0,
           "scenes": [{"nodes": list(range(len(nodes)))}], "nodes": nodes, "meshes": meshes,
           "materials": [{"name": "label", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                                                  "metallicFactor": 0.0, "roughnessFactor": 0.6}}],
           "textures": [{"source": 0}], "images": [{"bufferView": len(blobs) - 1, "mimeType": "image/png"}],
           "buffers": [{"byteLength": len(binary)}], "bufferViews": views, "accessors": accessors}
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def write_glb(folder, name="box", split=None):
    v, uv, f = box()
    png = encode_png(texture())
    path = Path(folder) / f"{name}.glb"
    path.write_bytes(glb_bytes(v, uv, f, png, split=split))
    return path


BLENDER_SCRIPT = textwrap.dedent("""
    import sys, bpy
    obj_path, fbx_path, blend_path, marker = sys.argv[-4:]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.obj_import(filepath=obj_path, forward_axis="Y", up_axis="Z")
    ob = [o for o in bpy.data.objects if o.type == "MESH"][0]
    ob.data.transform(__import__("mathutils").Matrix.Scale(0.01, 4))  # cm -> m
    bpy.ops.export_scene.fbx(filepath=fbx_path, use_selection=False, path_mode="COPY", embed_textures=True,
                             axis_forward="-Z", axis_up="Y")
    for img in bpy.data.images:
        if img.source == "FILE":
            img.pack()
    text = bpy.data.texts.new("autorun.py")
    text.write("open(%r, 'w').write('ran')\\n" % marker)
    text.use_module = True   # registered: Blender would run it on load if scripts were allowed
    bpy.ops.wm.save_as_mainfile(filepath=blend_path)
""")


def write_blender_files(folder, obj_path, blender_bin=None):
    """(fbx path, blend path, marker path) made from the textured OBJ: the FBX by the bpy module
    (5.0), the .blend by ``blender_bin`` when given (Debian's 3.4: a 5.0 .blend is a newer file
    format that 3.4 cannot read, while 5.0 reads 3.4's), else by the bpy module too."""
    folder = Path(folder)
    fbx, blend, marker = folder / "crate.fbx", folder / "crate.blend", folder / MARKER
    r = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT, str(obj_path), str(fbx), str(blend), str(marker)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    if blender_bin:
        script = folder / "make_blend.py"
        script.write_text(BLENDER_SCRIPT)
        r = subprocess.run([blender_bin, "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(script), "--",
                            str(obj_path), str(folder / "unused.fbx"), str(blend), str(marker)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        script.unlink()
        (folder / "unused.fbx").unlink()
    assert not marker.exists()
    return fbx, blend, marker
