"""The asset manifest (assets_manifest.yaml): avatars, objects and backgrounds.

(The objects section is parsed in assets.object_entries, mesh checks live in assets.mesh_checks.)

Top-level sections `avatars`, `objects`, `backgrounds`. An absent section means the built-in set; a
present one lists exactly what is used, and an entry `builtin: true` adds the built-in set.

    objects:
      - builtin: true
      - name: my_mug            # unique
        category: cylindrical   # cylindrical | slender | cubical | spherical
        file: objects/mug.obj   # relative to the manifest (.obj .stl .ply .gltf .glb .fbx .blend;
                                # checked: parses, hand-sized, closed or sound open, images present)
        units: cm               # m | cm | mm   (or `scale: 0.01`)
        material: file          # file (its own materials; default when it has some) | procedural
        license: CC-BY-4.0
        sha256: 3f2a...         # optional
      - {folder: scans/, category: spherical, units: mm}   # every model under scans/ (named by file)
      - name: tall_bottle
        category: cylindrical
        procedural: {generator: bottle, ranges: {height: [0.26, 0.32]}}
    avatars:
      - builtin: true           # the 10 procedural hand+forearm subjects
      - {kind: makehuman, path: /data/makehuman, subjects: default}   # the 10 default MakeHuman
                                # people (makehuman_00..09; with `name: X`: X_00..X_09)
      - {name: mh_anna, kind: makehuman, path: /data/makehuman, subject: makehuman_03}
      - {name: mh_f01, kind: makehuman, path: /data/makehuman, sex: female,
         targets: {macrodetails/asian-female-young.target: 1.0},       # relative to targets/
         options: {skin_tone: 3, hand: {hand-scale: 0.2}}}   # also ethnicity, skin_rgb (linear)
      - {name: studio_hand, kind: rigged, file: hands/hand.glb, bone_map: {wrist: hand_R, ...}}

A makehuman `path` is a MakeHuman 1.x data folder (3dobjs/base.obj, rigs/default.mhskel,
targets/) or a folder holding one as data/. A rigged `file` (.glb/.gltf/.fbx/.blend) holds one
armature and the meshes skinned to it; `bone_map` names, for each of the 21 joints of
hopgen.core.skeleton, the bone whose HEAD sits at that joint centre (wrist: the hand bone; thumb_cmc,
thumb_mcp, thumb_ip: the thumb's three bones; index_mcp/pip/dip: proximal/middle/distal bones;
*_tip: an end bone at the fingertip). A tip may be written `Bone:tail` to use the TAIL of the
distal bone instead (glTF stores no tails, so importers guess them: prefer end bones there).
    backgrounds:
      - builtin: true           # Blender's bundled HDRIs + procedural backdrops
      - {name: photos, kind: photos, folder: backgrounds/}

Relative paths resolve under the manifest's folder and may not leave it; absolute paths (and
$VARIABLES) are taken as written. Every error names the entry and the field, before any rendering.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hopgen.core.skeleton import CATEGORIES, JOINT_NAMES
from hopgen.core.structured import ConfigError, load_structured_file
from hopgen.assets.object_entries import UNITS, ObjectEntry, parse_object, sha256_file  # noqa: F401 (public names)

RIGGED_FILE_TYPES = (".blend", ".fbx", ".glb", ".gltf")
PHOTO_TYPES = (".png", ".jpg", ".jpeg", ".exr", ".hdr", ".tif", ".tiff", ".webp")


class ManifestError(ConfigError):
    pass


@dataclass
class AvatarEntry:
    name: str
    kind: str                       # "procedural" | "makehuman" | "rigged"
    sex: Optional[str] = None
    path: Optional[str] = None      # makehuman data folder
    file: Optional[str] = None      # rigged file
    targets: Dict[str, float] = field(default_factory=dict)
    bone_map: Dict[str, str] = field(default_factory=dict)
    options: Dict[str, Any] = field(default_factory=dict)
    builtin: bool = False


@dataclass
class BackgroundEntry:
    name: str
    kind: str                       # "hdri" | "procedural" | "photos"
    files: List[str] = field(default_factory=list)
    builtin: bool = False


@dataclass
class Manifest:
    path: Optional[str]
    avatars: List[AvatarEntry]
    objects: List[ObjectEntry]
    backgrounds: List[BackgroundEntry]
    digest: str

    def object(self, name):
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in the manifest")

    def avatar(self, name):
        for a in self.avatars:
            if a.name == name:
                return a
        raise KeyError(f"no avatar {name!r} in the manifest")

    def photo_files(self):
        return [f for b in self.backgrounds if b.kind == "photos" for f in b.files]

    def summary(self):
        return {"path": self.path, "digest": self.digest,
                "avatars": [{"name": a.name, "kind": a.kind, "sex": a.sex} for a in self.avatars],
                "objects": [{"name": o.name, "category": o.category, "source": o.source,
                             "generator": o.generator, "file": o.file, "material": o.material}
                            for o in self.objects],
                "backgrounds": [{"name": b.name, "kind": b.kind, "files": len(b.files)} for b in self.backgrounds]}


def builtin_objects():
    from hopgen.objects import list_object_types
    return [ObjectEntry(name=n, category=c, source="procedural", generator=n, license="CC0 (procedural, hopgen)",
                        builtin=True) for n, c in list_object_types()]


def builtin_avatars():
    from hopgen.hand.subjects import BUILTIN_SUBJECTS
    return [AvatarEntry(name=s.id, kind="procedural", sex=s.sex, builtin=True) for s in BUILTIN_SUBJECTS]


def builtin_backgrounds():
    return [BackgroundEntry(name="blender_hdris", kind="hdri", builtin=True),
            BackgroundEntry(name="procedural_backdrops", kind="procedural", builtin=True)]


class _Ctx:
    def __init__(self, path, mesh_cache=None):
        self.path = path
        self.mesh_cache = mesh_cache
        self.base = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()

    def err(self, section, index, name, fieldname, msg):
        who = f"{section}[{index}]" + (f" ({name})" if name else "")
        where = f"{self.path}: " if self.path else ""
        return ManifestError(f"{where}{who}.{fieldname}: {msg}")

    def resolve(self, section, index, name, fieldname, value, must="file"):
        if not isinstance(value, str) or not value:
            raise self.err(section, index, name, fieldname, "expected a path string")
        expanded = os.path.expanduser(os.path.expandvars(value))
        if "$" in expanded:
            raise self.err(section, index, name, fieldname, f"unset environment variable in {value!r}")
        if os.path.isabs(expanded):
            full = os.path.normpath(expanded)
        else:
            full = os.path.normpath(os.path.join(self.base, expanded))
            # realpath: a symlink inside the manifest folder that points outside it leaves it too
            real, base = os.path.realpath(full), os.path.realpath(self.base)
            if os.path.commonpath([full, self.base]) != self.base or os.path.commonpath([real, base]) != base:
                raise self.err(section, index, name, fieldname,
                               f"path {value!r} leaves the manifest folder {self.base}")
        ok = os.path.isfile(full) if must == "file" else os.path.isdir(full)
        if not ok:
            raise self.err(section, index, name, fieldname, f"{must} not found: {full}")
        return full


def _check_keys(ctx, section, index, name, entry, allowed):
    for key in entry:
        if key not in allowed:
            raise ctx.err(section, index, name, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")


MAKEHUMAN_OPTIONS = {"ethnicity", "hand", "skin_tone", "skin_rgb"}
RIGGED_OPTIONS = {"skin_tone", "skin_rgb", "side"}


def _check_avatar_options(ctx, i, name, kind, options):
    allowed = MAKEHUMAN_OPTIONS if kind == "makehuman" else RIGGED_OPTIONS
    for key, value in options.items():
        where = f"options.{key}"
        if key not in allowed:
            raise ctx.err("avatars", i, name, where, f"unknown option (allowed: {', '.join(sorted(allowed))})")
        if key == "skin_tone" and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 6):
            raise ctx.err("avatars", i, name, where, f"{value!r} is not a Fitzpatrick type 1..6")
        if key == "skin_rgb" and not (isinstance(value, (list, tuple)) and len(value) == 3 and all(
                isinstance(c, (int, float)) and 0 <= c <= 1 for c in value)):
            raise ctx.err("avatars", i, name, where, "expected 3 linear RGB values in [0, 1]")
        if key == "side" and value not in ("left", "right"):
            raise ctx.err("avatars", i, name, where, f"{value!r} is not left or right (the hand the file holds)")
        if key == "ethnicity":
            from hopgen.avatars.makehuman import ETHNICITIES
            if not (isinstance(value, dict) and value and set(value) <= set(ETHNICITIES)
                    and all(isinstance(v, (int, float)) and v >= 0 for v in value.values())
                    and abs(sum(value.values()) - 1) < 1e-6):
                raise ctx.err("avatars", i, name, where, f"expected shares of {', '.join(ETHNICITIES)} summing to 1")
        if key == "hand":
            from hopgen.avatars.makehuman import HAND_TARGETS
            if not isinstance(value, dict) or any(k not in HAND_TARGETS or not isinstance(v, (int, float))
                                                  or not -1 <= v <= 1 for k, v in value.items()):
                raise ctx.err("avatars", i, name, where,
                              f"expected weights in [-1, 1] of {', '.join(sorted(HAND_TARGETS))}")


def _makehuman_defaults(ctx, i, e, name, path):
    """`subjects: default`: the 10 default MakeHuman subjects as entries."""
    from hopgen.avatars.makehuman import DEFAULT_MAKEHUMAN_SUBJECTS
    if e.get("subjects") != "default":
        raise ctx.err("avatars", i, name, "subjects", f"{e.get('subjects')!r}: only `subjects: default` is known")
    for key in ("subject", "sex", "targets", "options"):
        if key in e:
            raise ctx.err("avatars", i, name, key, "not allowed with `subjects: default`")
    return [AvatarEntry(name=f"{name}_{k:02d}" if name else s["id"], kind="makehuman", sex=s["sex"], path=path,
                        options={"subject": s["id"]}) for k, s in enumerate(DEFAULT_MAKEHUMAN_SUBJECTS)]


def _parse_avatar(ctx, i, e):
    name = e.get("name")
    _check_keys(ctx, "avatars", i, name, e, {"name", "kind", "sex", "path", "file", "targets", "bone_map", "options",
                                             "subject", "subjects"})
    if e.get("kind") == "makehuman" and "subjects" in e:
        if name is not None and (not isinstance(name, str) or not name):
            raise ctx.err("avatars", i, None, "name", "expected a non-empty name prefix")
        path = ctx.resolve("avatars", i, name, "path", e.get("path"), must="folder")
        from hopgen.avatars.makehuman import MakeHumanError, resolve_data_dir
        try:
            resolve_data_dir(path)
        except MakeHumanError as ex:
            raise ctx.err("avatars", i, name, "path", str(ex)) from None
        return _makehuman_defaults(ctx, i, e, name, path)
    if not isinstance(name, str) or not name:
        raise ctx.err("avatars", i, None, "name", "missing or empty")
    kind = e.get("kind")
    if kind not in ("makehuman", "rigged"):
        raise ctx.err("avatars", i, name, "kind", f"{kind!r} is not one of makehuman, rigged "
                      "(procedural avatars come from `builtin: true`)")
    sex = e.get("sex")
    if sex not in (None, "female", "male"):
        raise ctx.err("avatars", i, name, "sex", f"{sex!r} is not female or male")
    options = e.get("options", {}) or {}
    if not isinstance(options, dict):
        raise ctx.err("avatars", i, name, "options", "expected a mapping")
    _check_avatar_options(ctx, i, name, kind, options)
    if kind != "makehuman" and ("subject" in e or "subjects" in e):
        raise ctx.err("avatars", i, name, "subject", "only makehuman avatars name MakeHuman subjects")
    if kind == "makehuman":
        path = ctx.resolve("avatars", i, name, "path", e.get("path"), must="folder")
        from hopgen.avatars.makehuman import MakeHumanError, resolve_data_dir
        try:
            data_dir = str(resolve_data_dir(path))
        except MakeHumanError as ex:
            raise ctx.err("avatars", i, name, "path", str(ex)) from None
        if "subject" in e:
            from hopgen.avatars.makehuman import DEFAULT_MAKEHUMAN_SUBJECTS
            ids = [s["id"] for s in DEFAULT_MAKEHUMAN_SUBJECTS]
            if e["subject"] not in ids:
                raise ctx.err("avatars", i, name, "subject", f"{e['subject']!r} is not one of {', '.join(ids)}")
            options = dict(options, subject=e["subject"])
            if sex is None:
                sex = DEFAULT_MAKEHUMAN_SUBJECTS[ids.index(e["subject"])]["sex"]
        targets = e.get("targets", {}) or {}
        if not isinstance(targets, dict):
            raise ctx.err("avatars", i, name, "targets", "expected a mapping of target file -> weight")
        for t, w in targets.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or not -1.0 <= w <= 1.0:
                raise ctx.err("avatars", i, name, f"targets.{t}", f"weight {w!r} must be a number in [-1, 1]")
            full = os.path.join(data_dir, "targets", t if str(t).endswith(".target") else f"{t}.target")
            if not os.path.isfile(full):
                raise ctx.err("avatars", i, name, f"targets.{t}", f"target file not found: {full}")
        return AvatarEntry(name=name, kind=kind, sex=sex, path=path, targets=dict(targets), options=options)
    path = ctx.resolve("avatars", i, name, "file", e.get("file"))
    if not path.lower().endswith(RIGGED_FILE_TYPES):
        raise ctx.err("avatars", i, name, "file", f"unsupported type (supported: {' '.join(RIGGED_FILE_TYPES)})")
    bone_map = e.get("bone_map")
    if not isinstance(bone_map, dict) or not bone_map:
        raise ctx.err("avatars", i, name, "bone_map", "a rigged avatar needs a bone_map from joint names to bones")
    for j in bone_map:
        if j not in JOINT_NAMES:
            raise ctx.err("avatars", i, name, f"bone_map.{j}", f"unknown joint (joints: {', '.join(JOINT_NAMES)})")
    missing = [j for j in JOINT_NAMES if j not in bone_map]
    if missing:
        raise ctx.err("avatars", i, name, "bone_map", f"missing joints: {', '.join(missing)}")
    return AvatarEntry(name=name, kind=kind, sex=sex, file=path, bone_map=dict(bone_map), options=options)


def _parse_background(ctx, i, e):
    name = e.get("name")
    _check_keys(ctx, "backgrounds", i, name, e, {"name", "kind", "folder", "files"})
    if not isinstance(name, str) or not name:
        raise ctx.err("backgrounds", i, None, "name", "missing or empty")
    if e.get("kind") != "photos":
        raise ctx.err("backgrounds", i, name, "kind", f"{e.get('kind')!r} is not 'photos' "
                      "(HDRIs and procedural backdrops come from `builtin: true`)")
    files = []
    if "folder" in e:
        folder = ctx.resolve("backgrounds", i, name, "folder", e["folder"], must="folder")
        listed = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(PHOTO_TYPES))
        base = os.path.realpath(ctx.base)
        if os.path.commonpath([os.path.realpath(folder), base]) == base:  # a folder inside: its photos stay inside
            for f in listed:
                if os.path.commonpath([os.path.realpath(f), base]) != base:
                    raise ctx.err("backgrounds", i, name, "folder",
                                  f"{f} is a link that leaves the manifest folder {ctx.base}")
        files += listed
    for k, f in enumerate(e.get("files", []) or []):
        files.append(ctx.resolve("backgrounds", i, name, f"files[{k}]", f))
    if not files:
        raise ctx.err("backgrounds", i, name, "folder", f"no photos ({' '.join(PHOTO_TYPES)}) found")
    return BackgroundEntry(name=name, kind="photos", files=files)


def _parse_object(ctx, i, e):
    return parse_object(ctx, i, e, ctx.mesh_cache)


_SECTIONS = {"avatars": (_parse_avatar, builtin_avatars), "objects": (_parse_object, builtin_objects),
             "backgrounds": (_parse_background, builtin_backgrounds)}


def load_manifest(path=None, data=None, mesh_cache=None):
    """Load and fully validate a manifest (None: the built-in defaults). Raises ManifestError.

    ``mesh_cache``: the folder of triangles extracted from .fbx/.blend objects
    (hopgen.assets.object_files); without it (or before extraction) those are checked when the
    render extracts them."""
    if path is not None:
        raw = load_structured_file(path)
    else:
        raw = data if data is not None else {}
    ctx = _Ctx(os.fspath(path) if path is not None else None, mesh_cache)
    if not isinstance(raw, dict):
        raise ManifestError(f"{ctx.path}: expected a mapping with avatars/objects/backgrounds")
    for key in raw:
        if key not in _SECTIONS:
            raise ManifestError(f"{ctx.path}: unknown top-level section {key!r} (allowed: {', '.join(_SECTIONS)})")
    result = {}
    for section, (parse, builtin) in _SECTIONS.items():
        entries = raw.get(section)
        if entries is None and section not in raw:
            result[section] = builtin()
            continue
        if not isinstance(entries, list):
            raise ManifestError(f"{ctx.path}: {section} must be a list of entries")
        items, seen = [], {}
        for i, e in enumerate(entries):
            if not isinstance(e, dict):
                raise ctx.err(section, i, None, "entry", "expected a mapping")
            if "builtin" in e:
                if set(e) != {"builtin"} or e["builtin"] is not True:
                    raise ctx.err(section, i, None, "builtin", "write the entry as exactly `builtin: true`")
                new = builtin()
            else:
                parsed = parse(ctx, i, e)
                new = parsed if isinstance(parsed, list) else [parsed]
            for item in new:
                if item.name in seen:
                    raise ctx.err(section, i, item.name, "name", f"duplicate name (also entry {seen[item.name]})")
                seen[item.name] = i
                items.append(item)
        if not items:
            raise ManifestError(f"{ctx.path}: section {section} lists nothing")
        result[section] = items
    # The digest covers names, kinds, parameters and file contents, not where the files live, so a
    # moved checkout keeps its digest while a changed mesh changes it.
    def portable(x):
        d = dict(vars(x))
        for k in ("file", "path"):
            if d.get(k):
                d[k] = os.path.basename(d[k])
        d.pop("files", None)
        for k in ("closed", "extracted"):  # known after extraction only: the digest must not change then
            d.pop(k, None)
        if "images" in d:  # .fbx/.blend images are known after extraction only: left out
            d["images"] = [] if x.needs_blender_geometry else [os.path.basename(f) for f in d["images"]]
        return d
    blob = {s: [portable(x) for x in result[s]] for s in result}
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode())
    for f in sorted({o.file for o in result["objects"] if o.file} | {g for o in result["objects"] if not o.needs_blender_geometry for g in o.images}):
        digest.update(sha256_file(f).encode())
    return Manifest(path=ctx.path, avatars=result["avatars"], objects=result["objects"],
                    backgrounds=result["backgrounds"], digest=digest.hexdigest()[:16])
