"""Object models as users have them (issue 19): textured OBJ (+MTL +PNG), GLB, FBX and .blend.

Pure part: the glTF reader, manifest checks of materials and textures, open meshes, folders of
models, `assets add` / `assets list`. Blender part: every format rendered through both entry points
(bpy module `hopgen render`, Debian's Blender binary via `--blender`), the object's own two-colour
texture seen on its seg==object pixels, a grasp synthesised for each, the .blend's script never run.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import objfixtures as fx
from conftest import BLENDER_BIN
from hopgen.assets.manifest import ManifestError, load_manifest
from hopgen.core.gltf import read_gltf

REPO = Path(__file__).resolve().parents[1]


def hopgen(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "hopgen.cli", *args], capture_output=True, text=True, cwd=REPO)
    if check and r.returncode != 0:
        raise AssertionError(f"hopgen {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def manifest(folder, *entries):
    path = Path(folder) / "manifest.yaml"
    path.write_text("objects:\n" + "".join(f"  - {e}\n" for e in entries))
    return path


# ------------------------------------------------------------------------------------------ pure


def test_glb_reader_gives_the_written_box_z_up(tmp_path):
    v, faces = read_gltf(fx.write_glb(tmp_path))
    want, _, want_f = fx.box()
    assert np.allclose(v, want, atol=1e-6) and np.array_equal(faces, want_f)


def test_gltf_node_transforms_and_compression_refusal(tmp_path):
    v, uv, f = fx.box()
    data = bytearray(fx.glb_bytes(v, uv, f, b""))
    doc_len = int.from_bytes(data[12:16], "little")
    doc = json.loads(bytes(data[20:20 + doc_len]))
    doc["nodes"] = [{"children": [1], "translation": [0.0, 0.5, 0.0]}, {"mesh": 0, "scale": [2.0, 2.0, 2.0]}]
    doc["scenes"] = [{"nodes": [0]}]

    def write(d, name):
        js = json.dumps(d).encode()
        js += b" " * (-len(js) % 4)
        body = len(js).to_bytes(4, "little") + (0x4E4F534A).to_bytes(4, "little") + js + bytes(data[20 + doc_len:])
        p = tmp_path / name
        p.write_bytes(b"glTF" + (2).to_bytes(4, "little") + (12 + len(body)).to_bytes(4, "little") + body)
        return p

    got, _ = read_gltf(write(doc, "moved.glb"))
    assert np.allclose(got, 2 * v + [0, 0, 0.5], atol=1e-6)  # glTF +Y (up) is Blender's +Z
    doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    with pytest.raises(ManifestError, match="compressed geometry"):
        load_manifest(manifest(tmp_path, "{name: d, category: cubical, file: " + write(doc, "draco.glb").name + "}"))


def test_textured_obj_uses_its_materials_and_reports_missing_textures(tmp_path):
    fx.write_textured_obj(tmp_path)
    entry = load_manifest(manifest(tmp_path, "{name: can, category: cubical, file: can.obj, units: cm}")).objects[0]
    assert entry.material == "file" and [os.path.basename(p) for p in entry.images] == ["can_label.png"]
    os.remove(tmp_path / "can_label.png")
    with pytest.raises(ManifestError, match=r"objects\[0\] \(can\)\.file: .*texture 'can_label.png' not found"):
        load_manifest(manifest(tmp_path, "{name: can, category: cubical, file: can.obj, units: cm}"))
    # procedural on request: no texture needed
    e = load_manifest(manifest(tmp_path, "{name: can, category: cubical, file: can.obj, units: cm, material: procedural}"))
    assert e.objects[0].material == "procedural"


def test_textures_may_not_leave_the_manifest_folder(tmp_path):
    inner = tmp_path / "lib"
    inner.mkdir()
    fx.write_textured_obj(inner)
    (inner / "can.mtl").write_text("newmtl label\nmap_Kd ../secret.png\n")
    fx.write_png(tmp_path / "secret.png", fx.texture())
    with pytest.raises(ManifestError, match="leaves the manifest folder"):
        load_manifest(manifest(inner, "{name: can, category: cubical, file: can.obj, units: cm}"))
    (inner / "can.mtl").write_text("newmtl label\nmap_Kd link.png\n")
    os.symlink(tmp_path / "secret.png", inner / "link.png")  # realpath: a link out leaves too
    with pytest.raises(ManifestError, match="leaves the manifest folder"):
        load_manifest(manifest(inner, "{name: can, category: cubical, file: can.obj, units: cm}"))


def test_material_default_and_file_materials_required(tmp_path):
    v, _, f = fx.box()
    (tmp_path / "plain.obj").write_text("".join(f"v {a} {b} {c}\n" for a, b, c in v)
                                        + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f))
    assert load_manifest(manifest(tmp_path, "{name: p, category: cubical, file: plain.obj}")).objects[0].material == "procedural"
    with pytest.raises(ManifestError, match=r"\(p\)\.material: .* has no materials of its own"):
        load_manifest(manifest(tmp_path, "{name: p, category: cubical, file: plain.obj, material: file}"))


def test_open_meshes_are_signed_by_winding_number_or_refused(tmp_path):
    from hopgen.episode.scene import load_object_geometry
    from hopgen.core.meshgeom import object_distance_fn
    v, _, f = fx.box()

    def write(name, faces):
        (tmp_path / name).write_text("".join(f"v {a} {b} {c}\n" for a, b, c in v)
                                     + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in faces))
    write("open.obj", f[2:])                  # a box with its +x side missing: an open crate
    entry = load_manifest(manifest(tmp_path, "{name: crate, category: cubical, file: open.obj}")).objects[0]
    assert entry.closed is False
    geom = load_object_geometry(entry, 0)
    assert geom.sign_method == "winding"
    sdf = object_distance_fn(geom)(np.array([[0.0, 0, 0], [-0.02, 0, 0], [0.0, 0, 0.06], [-0.05, 0, 0]]))
    assert sdf[0] < 0 and sdf[1] < 0 and sdf[2] > 0 and sdf[3] > 0
    write("tube.obj", f[:8])                  # open at both ends: around it, inside cannot be told
    with pytest.raises(ManifestError, match=r"\(tube\)\.file: .*open mesh \(\d+ boundary edges\).*decisive at 8\d%"):
        load_manifest(manifest(tmp_path, "{name: tube, category: cubical, file: tube.obj}"))


def test_extracted_fbx_triangles_are_checked_and_keep_the_digest(tmp_path):
    """The consumer side of the mesh cache (Blender writes it in the render tests): before extraction
    an .fbx is checked by its magic only; with the cache its triangles and reported images are
    checked like any file, and the manifest digest is the same either way."""
    from hopgen.assets.object_entries import sha256_file
    from hopgen.assets.object_files import cache_paths
    from hopgen.core.meshfiles import ply_bytes
    fbx = tmp_path / "crate.fbx"
    fbx.write_bytes(b"Kaydara FBX Binary  \0" + b"\0" * 64)
    fx.write_png(tmp_path / "wood.png", fx.texture())
    cache = tmp_path / "meshcache"
    cache.mkdir()
    ply, report = cache_paths(str(cache), sha256_file(fbx))
    v, _, f = fx.box()
    Path(ply).write_bytes(ply_bytes(v, f))
    Path(report).write_text(json.dumps({"materials": 1, "images": [str(tmp_path / "wood.png")]}))
    man = manifest(tmp_path, "{name: crate, category: cubical, file: crate.fbx}")
    before, after = load_manifest(man), load_manifest(man, mesh_cache=str(cache))
    assert before.objects[0].extracted is None and before.objects[0].closed is None
    o = after.objects[0]
    assert o.extracted == ply and o.closed is True and o.material == "file" and o.images == [str(tmp_path / "wood.png")]
    assert before.digest == after.digest
    os.remove(tmp_path / "wood.png")
    with pytest.raises(ManifestError, match=r"\(crate\)\.file: .*texture 'wood.png' not found"):
        load_manifest(man, mesh_cache=str(cache))
    (tmp_path / "junk.fbx").write_bytes(b"PK\3\4 not an fbx")
    with pytest.raises(ManifestError, match=r"\(junk\)\.file: .*not a FBX file"):
        load_manifest(manifest(tmp_path, "{name: junk, category: cubical, file: junk.fbx}"))


def test_folder_entry_and_assets_add_list(tmp_path):
    lib = tmp_path / "models"
    (lib / "cans").mkdir(parents=True)
    fx.write_textured_obj(lib / "cans", unit=1.0)
    fx.write_glb(lib)
    m = load_manifest(manifest(tmp_path, "{folder: models, category: cubical, name: lib}"))
    assert [o.name for o in m.objects] == ["lib_box", "lib_cans_can"]  # sorted by path, named after it
    # assets add: entries with sha256 into a new manifest, loadable; a second add clashes, file untouched
    man = tmp_path / "lib.yaml"
    r = hopgen("assets", "add", str(lib), "--category", "cubical", "--license", "CC0", "--manifest", str(man))
    assert "added 2 objects" in r.stdout
    text = man.read_text()
    loaded = load_manifest(man)
    assert {o.name for o in loaded.objects} == {"box", "cans_can"} and all(len(o.sha256) == 64 for o in loaded.objects)
    r = hopgen("assets", "add", str(lib), "--category", "cubical", "--manifest", str(man), check=False)
    assert r.returncode != 0 and "already has objects named box" in r.stderr and man.read_text() == text
    # a bad model in the folder: refused by name, the manifest stays as it was
    (lib / "huge.obj").write_text("v 0 0 0\nv 5 0 0\nv 0 5 0\nv 0 0 5\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    r = hopgen("assets", "add", str(lib), "--category", "spherical", "--manifest", str(tmp_path / "new.yaml"), check=False)
    assert r.returncode != 0 and "too large" in r.stderr and not (tmp_path / "new.yaml").exists()
    r = hopgen("assets", "list", "--manifest", str(man), "--grasp-attempts", "8")
    line = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("cans_can")][0]
    assert "60x60x80 mm" in line and "12 triangles" in line and "1 image found" in line and " found" in line.split("grasp:")[1]
    assert "one synthesis of 8 attempts" in r.stdout


# --------------------------------------------------------------------------------------- Blender

TINY = """dataset: {name: objects_tiny, num_samples: 12, seed: SEED, width: 64, height: 64, frames_per_episode: 1,
          views_per_frame: 2, test_fraction: 0.0, val_fraction: 0.0, holdout_objects_per_category: 0}
background: {distractors: [0, 0]}
camera: {effects: false}      # colours straight from the materials (no white balance, fringes, noise)
render: {samples: 2, denoise: false, max_bounces: 2}
"""
TEXTURED = ("can", "box", "crate_fbx", "crate_blend", "paint_ply")   # each shows red and blue
CONTROL = "can_plain"          # the OBJ with `material: procedural`: the two colours must not both show


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Every format in one manifest (the GLB in two parts, one moved by its node), and a config
    whose 6 episodes show each object once (found by pure planning), from two viewpoints each (the
    hand may hide most of the object in one of them)."""
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import plan_episode
    d = tmp_path_factory.mktemp("objects")
    obj = fx.write_textured_obj(d)
    fx.write_glb(d, split=4)
    fx.write_vertex_colour_ply(d)
    _, _, marker = fx.write_blender_files(d, obj, BLENDER_BIN)
    man = manifest(d, "{name: can, category: cubical, file: can.obj, units: cm}",
                   "{name: box, category: cubical, file: box.glb}", "{name: crate_fbx, category: cubical, file: crate.fbx}",
                   "{name: crate_blend, category: cubical, file: crate.blend}", "{name: paint_ply, category: cubical, file: paint.ply}",
                   "{name: can_plain, category: cubical, file: can.obj, units: cm, material: procedural}")
    m = load_manifest(man)
    cfg_path = d / "tiny.yaml"
    for seed in range(2000):
        cfg_path.write_text(TINY.replace("SEED", str(seed)))
        cfg = load_generation_config(str(cfg_path))
        if {plan_episode(cfg, m, e).object for e in range(6)} == {*TEXTURED, CONTROL}:
            break
    else:
        raise AssertionError("no seed plans every object once")
    return d, man, cfg_path, marker


def colours(ds, sid):
    """(red, blue, total) counts of the object's pixels (seg == object) in sample ``sid``."""
    px = ds.image("rgb", sid)[ds.image("seg", sid) == 1].astype(float)  # (N, 3)
    red = np.sum((px[:, 0] > 1.5 * px[:, 1]) & (px[:, 0] > 1.5 * px[:, 2]))
    blue = np.sum((px[:, 2] > 1.5 * px[:, 0]) & (px[:, 2] > 1.2 * px[:, 1]))
    return int(red), int(blue), len(px)


def check_render(out, marker, blender):
    from hopgen.dataset.hopformat import HopDataset
    from hopgen.dataset.validate import validate_dataset
    assert validate_dataset(out) == []
    ds = HopDataset(out)
    seen = {}  # object -> (material, grasp type, red, blue, object pixels) over its samples
    for sid in ds.ids:
        a = ds.annotation(sid)
        assert a["render"]["blender_version"].startswith(blender)
        old = seen.get(a["object"]["name"], (None, None, 0, 0, 0))
        counts = [x + y for x, y in zip(old[2:], colours(ds, sid))]
        seen[a["object"]["name"]] = (a["object"]["material"], a["grasp"]["type"], *counts)
    assert set(seen) == {*TEXTURED, CONTROL}, seen
    for name, (material, grasp, red, blue, n) in seen.items():
        assert grasp, f"{name}: no grasp"
        if name == CONTROL:
            # No red-and-blue texture: one of the two colours is (nearly) absent; a few pixels of
            # a procedural material's tint or a lamp's colour do not count (9 red, 5 blue of 286).
            assert material == "procedural" and n > 20 and min(red, blue) < max(5, 0.05 * n), (name, seen)
        else:
            assert material == "file" and red >= 5 and blue >= 5, \
                f"{name}: texture colours on the object: red {red}, blue {blue} of {n} px (all: {seen})"
    assert not marker.exists(), "the .blend's script ran"
    cache = out / "meshcache"
    reports = [json.loads((cache / n).read_text()) for n in sorted(os.listdir(cache)) if n.endswith(".json")]
    assert sorted(r["file"] for r in reports) == ["crate.blend", "crate.fbx"]
    assert all(r["blender"].startswith(blender) and r["triangles"] == 12 for r in reports)


@pytest.mark.bpy
@pytest.mark.slow
def test_every_format_renders_with_its_texture_bpy(library, tmp_path):
    """`hopgen render` (bpy module): it extracts the FBX/.blend triangles before planning."""
    d, man, cfg, marker = library
    hopgen("render", "--config", str(cfg), "--manifest", str(man), "--out", str(tmp_path / "out"))
    check_render(tmp_path / "out", marker, "5.0")


@pytest.mark.blender_binary
@pytest.mark.bpy
@pytest.mark.slow
def test_every_format_renders_with_its_texture_farm_entry(library, tmp_path):
    """Debian's Blender 3.4 through the farm entry (blender -P render_hop.py) on a fresh folder: no
    `hopgen render` ran before it, so the worker extracts the FBX/.blend triangles itself."""
    d, man, cfg, marker = library
    out = tmp_path / "farm"
    cmd = [BLENDER_BIN, "-b", "--factory-startup", "--python-exit-code", "1", "-P", str(REPO / "blender_scripts" / "render_hop.py"),
           "--", "--config", str(cfg), "--manifest", str(man), "--out", str(out), "--shard", "0/1"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    check_render(out, marker, "3.4")


@pytest.mark.bpy
def test_a_blend_that_blender_cannot_read_stops_the_render_first(tmp_path):
    """A .blend that looks like one but does not load: `hopgen render` names it, writes nothing."""
    (tmp_path / "bad.blend").write_bytes(b"BLENDER-v304" + b"\0" * 200)
    man = manifest(tmp_path, "{name: bad, category: cubical, file: bad.blend}")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY.replace("SEED", "0"))
    r = hopgen("render", "--config", str(cfg), "--manifest", str(man), "--out", str(tmp_path / "out"), check=False)
    assert r.returncode != 0 and "object bad:" in r.stderr and "bad.blend" in r.stderr, r.stderr
    assert not (tmp_path / "out" / "dataset.json").exists()


@pytest.mark.bpy
@pytest.mark.slow
def test_asset_sheet_shows_the_files_own_materials(library, tmp_path):
    """`hopgen assets preview` renders each object with its own texture (the FBX through its extracted
    triangles): the sheet holds both texture colours."""
    from hopgen.core.pngio import read_png
    d, man, cfg, marker = library
    sheet = manifest(tmp_path, f"{{name: crate_fbx, category: cubical, file: {d / 'crate.fbx'}}}")
    out = tmp_path / "sheet.png"
    hopgen("assets", "preview", "--manifest", str(sheet), "--what", "objects", "--size", "48", "--samples", "2",
           "--no-denoise", "--out", str(out))
    px = read_png(str(out))[..., :3].reshape(-1, 3).astype(float)
    red = np.sum((px[:, 0] > 1.5 * px[:, 1]) & (px[:, 0] > 1.5 * px[:, 2]) & (px[:, 0] > 40))
    blue = np.sum((px[:, 2] > 1.5 * px[:, 0]) & (px[:, 2] > 1.2 * px[:, 1]) & (px[:, 2] > 40))
    assert red >= 20 and blue >= 20, (red, blue)
