import hashlib
from pathlib import Path

import pytest

from hopgen.assets.manifest import ManifestError, load_manifest

OBJ = "v 0 0 0\nv 6 0 0\nv 0 6 0\nv 0 0 6\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"  # a 6 cm tetrahedron (in cm)


def write(tmp_path, text, files=("objs/cup.obj", "objs/hand.glb")):
    for f in files:
        p = tmp_path / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(OBJ)
    (tmp_path / "photos").mkdir(exist_ok=True)
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    m = tmp_path / "m.yaml"
    m.write_text(text)
    return m


from hopgen.core.skeleton import JOINT_NAMES

BONE_MAP = "{" + ", ".join(f"{j}: b_{j}" for j in JOINT_NAMES) + "}"
BASE = ("""
avatars:
  - {name: hand, kind: rigged, file: objs/hand.glb, bone_map: """ + BONE_MAP + """}
backgrounds:
  - {name: photos, kind: photos, folder: photos}
objects:
%s
""")
GOOD_OBJ = "  - {name: cup, category: cylindrical, file: objs/cup.obj, units: cm, license: CC0}"


def test_file_object_entry(tmp_path):
    m = write(tmp_path, BASE % GOOD_OBJ)
    man = load_manifest(m)
    o = man.object("cup")
    assert o.source == "file" and o.scale == 0.01 and o.category_id == 0
    assert Path(o.file).is_file() and man.photo_files()[0].endswith("a.jpg")
    assert len(man.digest) == 16


@pytest.mark.parametrize("entry,match", [
    ("  - {name: cup, category: round, file: objs/cup.obj}", r"objects\[0\] \(cup\)\.category: 'round' is not one of"),
    ("  - {name: cup, category: cylindrical, file: objs/missing.obj}", r"objects\[0\] \(cup\)\.file: file not found"),
    ("  - {name: cup, category: cylindrical, file: ../outside.obj}", r"\.file: path '../outside.obj' leaves the manifest folder"),
    ("  - {name: cup, category: cylindrical, file: objs/cup.obj, colour: red}", r"objects\[0\] \(cup\)\.colour: unknown key"),
    ("  - {name: cup, category: cylindrical, file: objs/cup.obj, units: furlong}", r"\.units: 'furlong' is not one of"),
    ("  - {name: cup, category: cylindrical, file: objs/cup.obj, sha256: '%s'}" % ("0" * 64), r"\.sha256: checksum mismatch"),
    (GOOD_OBJ + "\n" + GOOD_OBJ, r"objects\[1\] \(cup\)\.name: duplicate name"),
    ("  - {category: cylindrical, file: objs/cup.obj}", r"objects\[0\]\.name: missing"),
    ("  - {name: cup, category: cylindrical}", r"give exactly one of `file`, `procedural` or `folder`"),
    ("  - {name: cup, category: cylindrical, file: objs/cup.txt}", r"file not found|unsupported type"),
])
def test_bad_object_entries(tmp_path, entry, match):
    m = write(tmp_path, BASE % entry)
    with pytest.raises(ManifestError, match=match):
        load_manifest(m)


def test_checksum_ok_and_unknown_section(tmp_path):
    digest = hashlib.sha256(OBJ.encode()).hexdigest()
    m = write(tmp_path, BASE % f"  - {{name: cup, category: cylindrical, file: objs/cup.obj, units: cm, sha256: '{digest}'}}")
    assert load_manifest(m).object("cup").sha256 == digest
    m.write_text(m.read_text().replace("b_pinky_tip", "b_x").replace("pinky_tip: ", "pinky_top: "))
    with pytest.raises(ManifestError, match=r"avatars\[0\] \(hand\)\.bone_map\.pinky_top: unknown joint"):
        load_manifest(m)
    m.write_text("lamps: []\n")
    with pytest.raises(ManifestError, match="unknown top-level section 'lamps'"):
        load_manifest(m)


def test_avatar_errors(tmp_path):
    m = write(tmp_path, """
avatars:
  - {name: mh, kind: makehuman, path: nowhere}
objects:
%s
backgrounds:
  - {name: photos, kind: photos, folder: photos}
""" % GOOD_OBJ)
    with pytest.raises(ManifestError, match=r"avatars\[0\] \(mh\)\.path: folder not found"):
        load_manifest(m)
    m.write_text(m.read_text().replace("kind: makehuman", "kind: robot"))
    with pytest.raises(ManifestError, match=r"avatars\[0\] \(mh\)\.kind: 'robot'"):
        load_manifest(m)


def test_builtin_entry_must_be_alone(tmp_path):
    m = write(tmp_path, BASE % "  - {builtin: true, name: x}")
    with pytest.raises(ManifestError, match=r"objects\[0\]\.builtin"):
        load_manifest(m)
