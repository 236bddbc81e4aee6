"""Object libraries: `hopgen assets add FOLDER` (every model of a folder into a manifest, each with
its sha256) and the per-object rows of `hopgen assets list` (size, triangles, textures, whether a
quick grasp synthesis finds a grasp).

The manifest is rewritten atomically, and only after the result loads and checks as a whole, so a
bad model never leaves a half-written or broken manifest behind. A YAML manifest is rewritten by
yaml.safe_dump: its comments are not kept (a JSON manifest stays JSON).
"""

import os

from hopgen.assets.object_entries import model_files, model_name, sha256_file

GRASP_ATTEMPTS = 8   # `assets list`: placements tried per object before "no grasp found"


class LibraryError(ValueError):
    """`assets add` cannot add the folder (names the file and the problem)."""


def folder_entries(manifest_path, folder, category, units=None, license=None):
    """Manifest entries for every model file under ``folder``: name from its path below the folder,
    file relative to the manifest's folder (absolute when outside it), sha256 of its content."""
    base = os.path.dirname(os.path.abspath(manifest_path))
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        raise LibraryError(f"{folder}: not a folder")
    files = model_files(folder)
    if not files:
        from hopgen.assets.mesh_checks import MESH_FILE_TYPES
        raise LibraryError(f"{folder}: no object files ({' '.join(MESH_FILE_TYPES)})")
    out = []
    for path in files:
        inside = os.path.commonpath([path, base]) == base
        entry = {"name": model_name(folder, path), "category": category,
                 "file": os.path.relpath(path, base) if inside else path, "sha256": sha256_file(path)}
        if units:
            entry["units"] = units
        if license:
            entry["license"] = license
        out.append(entry)
    return out


def add_folder(manifest_path, folder, category, units=None, license=None):
    """Append ``folder``'s models to the manifest at ``manifest_path`` (created when missing, with
    only an objects section: avatars and backgrounds stay the built-in sets); returns the entries.
    Raises LibraryError or the manifest's ManifestError (naming the entry) before writing."""
    import json
    from hopgen.core.skeleton import CATEGORIES
    if folder is None:
        raise LibraryError("assets add: give the FOLDER of models")
    if not manifest_path:
        raise LibraryError("assets add: give the manifest to add to with --manifest (it is created when missing)")
    if category not in CATEGORIES:
        raise LibraryError(f"assets add: --category {category!r} is not one of {', '.join(CATEGORIES)}")
    from hopgen.assets.manifest import load_manifest
    from hopgen.core.atomic import atomic_write_text, temporary_name
    from hopgen.core.structured import load_structured_file
    raw = load_structured_file(manifest_path) if os.path.exists(manifest_path) else {}
    if not isinstance(raw, dict):
        raise LibraryError(f"{manifest_path}: expected a mapping with avatars/objects/backgrounds")
    new = folder_entries(manifest_path, folder, category, units, license)
    objects = raw.get("objects")
    if objects is None:
        objects = [{"builtin": True}] if "objects" not in raw and os.path.exists(manifest_path) else []
    taken = {e.get("name") for e in objects if isinstance(e, dict)}
    clash = [e["name"] for e in new if e["name"] in taken]
    if clash:
        raise LibraryError(f"{manifest_path}: already has objects named {', '.join(clash[:5])}")
    raw = dict(raw, objects=list(objects) + new)
    if manifest_path.lower().endswith(".json"):
        text = json.dumps(raw, indent=1) + "\n"
    else:
        import yaml
        text = yaml.safe_dump(raw, sort_keys=False, default_flow_style=None, width=120)
    folder_of = os.path.dirname(os.path.abspath(manifest_path))
    trial = temporary_name(folder_of, "manifest") + os.path.splitext(manifest_path)[1]
    try:  # check the whole result where it will live (relative paths), then move it in place
        with open(trial, "w", encoding="utf-8") as fh:
            fh.write(text)
        load_manifest(trial)
    finally:
        if os.path.exists(trial):
            os.remove(trial)
    atomic_write_text(manifest_path, text)
    return new


def texture_status(entry):
    """How the entry's object will look: procedural, its file's materials, how many images."""
    if entry.source == "procedural":
        return "procedural generator"
    if entry.material == "procedural":
        return "procedural material"
    if entry.needs_blender_geometry and entry.extracted is None:
        return "file materials (textures checked at render)"
    return f"file materials, {len(entry.images)} image{'s' if len(entry.images) != 1 else ''} found" \
        if entry.images else "file materials, no external images"


def object_row(entry, seed=0, attempts=GRASP_ATTEMPTS):
    """{name, category, size_mm, triangles, textures, grasp} of one manifest object; ``grasp`` is the
    grasp type found by one synthesis with ``attempts`` placements, "none in N attempts", "not
    tried" (attempts 0) or why the geometry is not available yet."""
    import numpy as np
    from hopgen.assets.object_geometry import load_object_geometry
    row = {"name": entry.name, "category": entry.category, "textures": texture_status(entry)}
    if entry.needs_blender_geometry and entry.extracted is None:
        return dict(row, size_mm=None, triangles=None, grasp="geometry extracted by Blender at render")
    geom = load_object_geometry(entry, seed)
    v = np.asarray(geom.vertices)
    row.update(size_mm=[round(float(x) * 1000, 1) for x in np.ptp(v, axis=0)], triangles=int(len(geom.faces)))
    if attempts <= 0:
        return dict(row, grasp="not tried")
    from hopgen.grasp import synthesize_grasp
    from hopgen.grasp.synthesis import GraspFailedError
    from hopgen.hand.subjects import BUILTIN_SUBJECTS
    try:
        g = synthesize_grasp(BUILTIN_SUBJECTS[0].id, "right", geom, np.random.default_rng(seed), max_attempts=attempts)
        kind = g.to_dict().get("type") if hasattr(g, "to_dict") else dict(g).get("type")
        row["grasp"] = f"{kind} found"
    except GraspFailedError:
        row["grasp"] = f"none in {attempts} attempts"
    return row


def object_rows(manifest, seed=0, attempts=GRASP_ATTEMPTS):
    """object_row of every manifest object."""
    if attempts < 0:
        raise LibraryError(f"--grasp-attempts {attempts}: must be >= 0")
    return [object_row(o, seed=seed, attempts=attempts) for o in manifest.objects]


def list_lines(manifest, rows, seed=0, attempts=GRASP_ATTEMPTS):
    """The text of `hopgen assets list`: avatars, one line per object (object_rows), backgrounds."""
    from hopgen.hand.subjects import BUILTIN_SUBJECTS
    s = manifest.summary()
    lines = [f"manifest: {s['path'] or '(built-in)'}  digest {s['digest']}",
             f"avatars ({len(s['avatars'])}): " + ", ".join(f"{a['name']} [{a['kind']}, {a['sex']}]" for a in s["avatars"]),
             f"objects ({len(rows)}; grasp: one synthesis of {attempts} attempts, subject {BUILTIN_SUBJECTS[0].id}, "
             f"right hand, seed {seed}):"]
    for r in rows:
        size = "x".join(f"{x:.0f}" for x in r["size_mm"]) + " mm" if r["size_mm"] else "size at render"
        tris = f"{r['triangles']} triangles" if r["triangles"] is not None else "triangles at render"
        lines.append(f"  {r['name']} [{r['category']}]: {size}, {tris}, {r['textures']}; grasp: {r['grasp']}")
    lines.append("backgrounds: " + ", ".join(f"{b['name']} [{b['kind']}]" for b in s["backgrounds"]))
    return lines
