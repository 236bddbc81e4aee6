"""The `objects` section of the asset manifest: one entry per object, or a folder of models.

    - {name: my_mug, category: cylindrical, file: objects/mug.obj, units: cm, material: file,
       license: CC-BY-4.0, sha256: 3f2a...}
    - {folder: scans/, category: spherical, units: mm}    # every model file under scans/ (sorted,
                                                          # sub-folders too), named after its file
    - {name: tall_bottle, category: cylindrical, procedural: {generator: bottle, ranges: {...}}}

Object files: .obj (with its MTL and images) .stl .ply (vertex colours) .gltf .glb .fbx .blend.
`material: file` renders the file's own materials (UVs, images, PBR), `procedural` gives it a
hopgen material; the default is `file` when the file has materials, else `procedural`. Images
must exist inside the manifest folder. Errors name the entry and the field (the caller's ctx).
"""

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hopgen.core.skeleton import CATEGORIES

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "dm": 0.1, "in": 0.0254}
MATERIAL_SOURCES = ("file", "procedural")
OBJECT_KEYS = {"name", "category", "file", "procedural", "units", "scale", "license", "sha256", "material"}
FOLDER_KEYS = {"folder", "name", "category", "units", "scale", "license", "material"}


@dataclass
class ObjectEntry:
    name: str
    category: str
    source: str                     # "procedural" | "file"
    generator: Optional[str] = None
    ranges: Dict[str, Any] = field(default_factory=dict)
    file: Optional[str] = None      # absolute path after resolution
    scale: float = 1.0
    license: str = ""
    sha256: Optional[str] = None
    builtin: bool = False
    material: str = "procedural"    # "file": the file's own materials | "procedural"
    images: List[str] = field(default_factory=list)   # image files the file's materials use
    closed: Optional[bool] = None   # no boundary edges (None: triangles not extracted yet)
    extracted: Optional[str] = None  # .fbx/.blend: the PLY of its triangles in the mesh cache

    @property
    def category_id(self):
        return CATEGORIES.index(self.category)

    @property
    def needs_blender_geometry(self):
        """An .fbx/.blend file: its triangles come from Blender (hopgen.blender.mesh_extract)."""
        from hopgen.core.meshfiles import BLENDER_TYPES
        return self.source == "file" and self.file.lower().endswith(BLENDER_TYPES)


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _scale(ctx, i, name, e):
    if "units" in e and "scale" in e:
        raise ctx.err("objects", i, name, "scale", "give `units` or `scale`, not both")
    if "units" in e:
        if e["units"] not in UNITS:
            raise ctx.err("objects", i, name, "units", f"{e['units']!r} is not one of {', '.join(UNITS)}")
        return UNITS[e["units"]]
    if "scale" in e:
        if not isinstance(e["scale"], (int, float)) or isinstance(e["scale"], bool) or e["scale"] <= 0:
            raise ctx.err("objects", i, name, "scale", f"expected a positive number, got {e['scale']!r}")
        return float(e["scale"])
    return 1.0


def _check_keys(ctx, i, name, e, allowed):
    for key in e:
        if key not in allowed:
            raise ctx.err("objects", i, name, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _common(ctx, i, name, e):
    cat = e.get("category")
    if cat not in CATEGORIES:
        raise ctx.err("objects", i, name, "category", f"{cat!r} is not one of {', '.join(CATEGORIES)}")
    lic = e.get("license", "")
    if not isinstance(lic, str):
        raise ctx.err("objects", i, name, "license", "expected text")
    material = e.get("material")
    if material is not None and material not in MATERIAL_SOURCES:
        raise ctx.err("objects", i, name, "material", f"{material!r} is not one of {', '.join(MATERIAL_SOURCES)}")
    return cat, lic, _scale(ctx, i, name, e), material


def parse_object(ctx, i, e, mesh_cache=None):
    """The ObjectEntry list of manifest entry ``e`` (one, or a folder's models)."""
    if "folder" in e:
        return _parse_folder(ctx, i, e, mesh_cache)
    name = e.get("name")
    _check_keys(ctx, i, name, e, OBJECT_KEYS)
    if not isinstance(name, str) or not name:
        raise ctx.err("objects", i, None, "name", "missing or empty")
    cat, lic, scale, material = _common(ctx, i, name, e)
    if ("file" in e) == ("procedural" in e):
        raise ctx.err("objects", i, name, "file", "give exactly one of `file`, `procedural` or `folder`")
    if "procedural" in e:
        if material == "file":
            raise ctx.err("objects", i, name, "material", "a procedural object has no file materials")
        return [_procedural(ctx, i, name, cat, lic, scale, e["procedural"])]
    path = ctx.resolve("objects", i, name, "file", e["file"])
    digest = e.get("sha256")
    if digest is not None:
        if not (isinstance(digest, str) and len(digest) == 64):
            raise ctx.err("objects", i, name, "sha256", "expected 64 hex digits")
        actual = sha256_file(path)
        if actual != digest.lower():
            raise ctx.err("objects", i, name, "sha256", f"checksum mismatch for {path}: file has {actual}")
    return [file_entry(ctx, i, name, cat, path, scale, lic, material, digest, mesh_cache)]


def _procedural(ctx, i, name, cat, lic, scale, proc):
    if not isinstance(proc, dict):
        raise ctx.err("objects", i, name, "procedural", "expected a mapping {generator, ranges}")
    for key in proc:
        if key not in ("generator", "ranges"):
            raise ctx.err("objects", i, name, f"procedural.{key}", "unknown key (allowed: generator, ranges)")
    from hopgen.objects import OBJECT_TYPES
    gen = proc.get("generator")
    if gen not in OBJECT_TYPES:
        raise ctx.err("objects", i, name, "procedural.generator", f"unknown generator {gen!r} (see `hopgen assets list`)")
    ranges = proc.get("ranges", {}) or {}
    if not isinstance(ranges, dict):
        raise ctx.err("objects", i, name, "procedural.ranges", "expected a mapping of parameter -> [lo, hi]")
    try:
        import numpy as np
        from hopgen.objects import sample_object_params
        sample_object_params(gen, np.random.default_rng(0), ranges=ranges)
    except (ValueError, KeyError) as ex:
        raise ctx.err("objects", i, name, "procedural.ranges", str(ex)) from None
    return ObjectEntry(name=name, category=cat, source="procedural", generator=gen, ranges=ranges,
                       scale=scale, license=lic)


def file_entry(ctx, i, name, cat, path, scale, lic, material, digest, mesh_cache):
    """The checked ObjectEntry of one object file: readable, graspable, its images present."""
    from hopgen.assets import object_files
    from hopgen.assets.mesh_checks import check_mesh
    extracted = report = None
    if mesh_cache and path.lower().endswith((".fbx", ".blend")):
        ply, js = object_files.cache_paths(mesh_cache, digest or sha256_file(path))
        report = object_files.read_report(js)
        extracted = ply if report is not None and os.path.isfile(ply) else None
    problem, closed = check_mesh(name, path, scale, extracted)
    if problem:
        raise ctx.err("objects", i, name, "file", problem)
    try:
        n_materials, images = object_files.file_materials(path, report)
    except (OSError, ValueError, KeyError) as ex:
        raise ctx.err("objects", i, name, "file", f"{path}: cannot read its materials ({ex})") from None
    # Images stay inside the manifest folder; a file given by an absolute path outside it keeps its
    # images inside its own folder.
    real_base = os.path.realpath(ctx.base)
    inside = os.path.commonpath([os.path.realpath(path), real_base]) == real_base
    problems = object_files.image_problems(images, ctx.base if inside else os.path.dirname(path))
    if problems and material != "procedural":
        raise ctx.err("objects", i, name, "file", f"{path}: {problems[0]}"
                      + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                      + "; fix the path or set `material: procedural`")
    if material == "file" and n_materials == 0:
        raise ctx.err("objects", i, name, "material", f"{path} has no materials of its own")
    # .fbx/.blend default to their own materials whatever extraction finds, so the entry (and the
    # manifest digest) is the same before and after extraction
    blender_file = path.lower().endswith((".fbx", ".blend"))
    chosen = material or ("file" if blender_file else object_files.default_material(n_materials))
    return ObjectEntry(name=name, category=cat, source="file", file=path, scale=scale, license=lic,
                       sha256=digest, material=chosen, images=images if chosen == "file" else [],
                       closed=closed, extracted=extracted)


def model_files(folder):
    """Object files under ``folder`` (sub-folders too), sorted; hidden names skipped."""
    from hopgen.assets.mesh_checks import MESH_FILE_TYPES
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(MESH_FILE_TYPES)
                and not f.startswith(".")]
    return sorted(out)


def model_name(folder, path, prefix=None):
    """The entry name of a model found in a folder: its path below the folder without extension
    ('/' -> '_'), after ``prefix`` when given."""
    stem = os.path.splitext(os.path.relpath(path, folder))[0].replace(os.sep, "_")
    return f"{prefix}_{stem}" if prefix else stem


def _parse_folder(ctx, i, e, mesh_cache):
    prefix = e.get("name")
    _check_keys(ctx, i, prefix, e, FOLDER_KEYS)
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise ctx.err("objects", i, None, "name", "expected a non-empty name prefix")
    cat, lic, scale, material = _common(ctx, i, prefix, e)
    folder = ctx.resolve("objects", i, prefix, "folder", e["folder"], must="folder")
    files = model_files(folder)
    if not files:
        from hopgen.assets.mesh_checks import MESH_FILE_TYPES
        raise ctx.err("objects", i, prefix, "folder", f"no object files ({' '.join(MESH_FILE_TYPES)}) in {folder}")
    base = os.path.realpath(ctx.base)
    inside = os.path.commonpath([os.path.realpath(folder), base]) == base
    out = []
    for path in files:
        if inside and os.path.commonpath([os.path.realpath(path), base]) != base:
            raise ctx.err("objects", i, prefix, "folder", f"{path} is a link that leaves the manifest folder {ctx.base}")
        out.append(file_entry(ctx, i, model_name(folder, path, prefix), cat, path, scale, lic, material, None,
                              mesh_cache))
    return out
