"""What an object file brings besides its triangles (pure): its materials and the image files they
use, read from the file itself (OBJ: its MTL libraries; glTF/GLB: its images; PLY: vertex colours)
or, for .fbx/.blend, from what Blender reported when it extracted the triangles (the `.json` beside
the extracted PLY in the mesh cache). Image paths resolve against the file's folder as Blender's
importers resolve them, and must stay inside the manifest folder (realpath) and exist: problems are
reported by object and image name before any rendering.

The mesh cache (``<out>/meshcache/<sha256>.ply`` + ``.json``) lives inside the output folder: it is
the one place every worker and shard of a render (also on a farm, over a shared folder) sees, it is
written by the render itself (so no job depends on a pre-step), its files are keyed by content, and
the dataset keeps the exact triangles its grasps were made from.
"""

import json
import os

MESH_CACHE = "meshcache"            # sub-folder of the output folder
MTL_MAPS = ("map_kd", "map_ka", "map_ks", "map_ns", "map_d", "map_bump", "bump", "disp", "decal", "norm",
            "map_pr", "map_pm", "map_ke", "refl")


def cache_paths(cache_dir, sha256):
    """(PLY of the triangles, JSON report) of the extracted file with content hash ``sha256``."""
    return os.path.join(cache_dir, f"{sha256}.ply"), os.path.join(cache_dir, f"{sha256}.json")


def _obj_materials(path):
    folder = os.path.dirname(os.path.abspath(path))
    libs, names = [], 0
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.startswith(b"mtllib"):
                libs.append(raw[6:].decode("utf-8", "replace").strip())
    images = []
    for lib in libs:
        full = os.path.join(folder, lib)
        if not os.path.isfile(full):
            images.append(full)  # reported as missing like an image: the importer cannot read it either
            continue
        mtl_folder = os.path.dirname(full)
        with open(full, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if not parts:
                    continue
                if parts[0] == "newmtl":
                    names += 1
                elif parts[0].lower() in MTL_MAPS and len(parts) > 1:
                    images.append(os.path.join(mtl_folder, parts[-1].replace("\\", "/")))  # options come first
    return names, images


def _ply_colours(path):
    with open(path, "rb") as fh:
        header = fh.read(4096).split(b"end_header")[0].decode("ascii", "replace")
    props = [ln.split()[-1] for ln in header.splitlines() if ln.startswith("property")]
    return int(any(p in props for p in ("red", "r", "diffuse_red"))), []


def file_materials(path, report=None):
    """(number of materials in the file, [image path]) of an object file; for .fbx/.blend ``report``
    is the extraction JSON (None: not extracted yet -> (None, []))."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".obj":
        return _obj_materials(path)
    if ext in (".gltf", ".glb"):
        from hopgen.core.gltf import gltf_images
        n, refs = gltf_images(path)
        return n, [r for r in refs if r is not None]
    if ext == ".ply":
        return _ply_colours(path)
    if ext in (".fbx", ".blend"):
        if report is None:
            return None, []
        return report["materials"], list(report["images"])
    return 0, []


def read_report(path):
    """The extraction JSON of a cache entry (None when absent)."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def image_problems(images, base):
    """One-line problems of the image files ``images`` for a manifest in folder ``base``:
    missing, or (realpath) outside the manifest folder."""
    out = []
    real_base = os.path.realpath(base)
    for img in images:
        real = os.path.realpath(img)
        if os.path.commonpath([real, real_base]) != real_base:
            out.append(f"texture {os.path.basename(img)!r} ({img}) leaves the manifest folder {base}")
        elif not os.path.isfile(real):
            out.append(f"texture {os.path.basename(img)!r} not found: {img}")
    return out


def default_material(n_materials):
    """`material:` when the entry does not say: the file's own when it has any, else procedural."""
    return "file" if n_materials else "procedural"
