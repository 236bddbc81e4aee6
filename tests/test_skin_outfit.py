"""Issue 15 items 5 and 6: per-subject skin detail (drawn, recorded, deterministic), skin maps of
procedural hands and MakeHuman bodies, and what MakeHuman people wear (garments from palettes that
stand off the skin, sleeves with a clean cuff, hair and eyebrow regions), built from the real
MakeHuman files in shared/assets/makehuman (which hold no clothes, hair or eyebrow assets)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hopgen.episode import outfit, skin as SK

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")
MH_DIR = Path(os.environ.get("HOPGEN_MAKEHUMAN_DIR") or REPO.parent / "shared/assets/makehuman")
HAS_MH = (MH_DIR / "data" / "3dobjs" / "base.obj").is_file()
needs_mh = pytest.mark.skipif(not HAS_MH, reason=f"MakeHuman data folder not found at {MH_DIR} (set HOPGEN_MAKEHUMAN_DIR)")


def test_skin_detail_is_per_subject_deterministic_and_tone_aware():
    light, dark = (0.8, 0.56, 0.45), (0.08, 0.034, 0.019)
    a = SK.skin_detail(2019, "f01", light)
    assert a == SK.skin_detail(2019, "f01", light)                      # same subject, same skin
    assert a != SK.skin_detail(2019, "f02", light)                      # another person differs
    assert a != SK.skin_detail(7, "f01", light)                         # another dataset seed differs
    json.dumps(a)                                                       # recorded in the annotation as is
    ids = [f"s{i}" for i in range(40)]
    veins_light = np.mean([SK.skin_detail(1, i, light)["vein_strength"] for i in ids])
    veins_dark = np.mean([SK.skin_detail(1, i, dark)["vein_strength"] for i in ids])
    assert veins_dark < 0.4 * veins_light                               # veins hardly show through dark skin
    for i in ids:
        d = SK.skin_detail(3, i, light)
        assert 0 < d["pore_depth_mm"] < d["wrinkle_depth_mm"] < d["crease_depth_mm"] < d["vein_raise_mm"] < 0.5
        assert 0.3 < d["roughness"] < 0.55 and len(d["offset"]) == 3


def test_procedural_hand_maps_veins_on_the_back_wrinkles_at_the_knuckles():
    from hopgen.hand import handmesh as H
    from hopgen.hand import subjects as S
    sub = S.get_subject("m02")
    for side in ("left", "right"):
        mesh = H.build_hand_mesh(sub, side)
        maps = SK.hand_skin_maps(mesh, S.subject_shape(sub))
        v, j = np.asarray(mesh.rest_vertices), np.asarray(mesh.rest_joints)
        co = maps[SK.COORD_ATTRIBUTE]
        assert co.shape == (len(v), 3)
        np.testing.assert_allclose(np.linalg.norm(co, axis=1), np.linalg.norm(v - j[0], axis=1), atol=1e-5)  # rigid
        vein, wrinkle, palmar = maps[SK.VEIN_ATTRIBUTE], maps[SK.WRINKLE_ATTRIBUTE], maps[SK.PALMAR_ATTRIBUTE]
        tips = np.linalg.norm(v[:, None] - j[None, [4, 8, 12, 16, 20]], axis=2).min(1) < 0.008
        back = (co[:, 1] > 0.02) & (co[:, 1] < 0.05) & (palmar < 0.05)  # back of the hand, wrist to knuckles
        assert vein[back].mean() > 0.8 and vein[tips].max() == 0.0
        pip = np.linalg.norm(v[:, None] - j[None, [6, 10, 14, 18]], axis=2).min(1) < 0.010
        assert wrinkle[pip & (palmar < 0.2)].mean() > 0.3 > wrinkle[back].mean()  # knuckles, not the back of the hand
        arm = co[:, 1] < -0.03
        assert palmar[arm].max() <= 0.3 + 1e-6 < palmar[~arm].max()    # the forearm gets only a hint of the palm


@needs_mh
def test_makehuman_body_maps_only_on_hands_and_forearms():
    from hopgen.avatars import makehuman as mh
    from hopgen.avatars import rig as rg
    r = mh.makehuman_rig(mh.load_makehuman(MH_DIR), mh.DEFAULT_MAKEHUMAN_SUBJECTS[2])
    maps = SK.body_skin_maps(r.vertices, r.triangles, {s: rg.hand_joints(r, r.rest, s) for s in ("left", "right")})
    wrists = [rg.hand_joints(r, r.rest, s)[0] for s in ("left", "right")]
    far = np.min([np.linalg.norm(r.vertices - w, axis=1) for w in wrists], axis=0) > 0.4  # torso, legs, head
    for name in SK.FLOAT_MAPS:
        assert maps[name][far].max() == 0.0, name
        assert maps[name][~far].max() > 0.5, name
    assert maps[SK.COORD_ATTRIBUTE].shape == (len(r.vertices), 3)


def test_garments_come_from_palettes():
    rng = np.random.default_rng(0)
    tops = [outfit.garment_params(rng, "top") for _ in range(60)]
    names = {t["name"] for t in tops}
    assert len(names) >= 8 and names <= {t[0] for t in outfit.TOPS}
    jeans = [outfit.garment_params(rng, "bottom") for _ in range(40)]
    assert sum(j["name"] == "blue denim" for j in jeans) >= 10
    for g in tops + jeans:
        assert all(0 <= c <= 1 for c in g["colour_a"]) and g["roughness"] >= 0.8
    hair = {outfit.hair_params(1, f"s{i}", 6)["name"] for i in range(30)}
    assert hair <= {"black", "dark brown", "brown", "grey"}            # dark skin: dark hair mostly


@needs_mh
@pytest.mark.parametrize("long_sleeve", [True, False])
def test_makehuman_outfit_from_the_real_files(long_sleeve):
    from types import SimpleNamespace
    from hopgen.avatars import makehuman as mh
    from hopgen.avatars import rig as rg
    from hopgen.core.skeleton import SEG_ARM
    data = mh.load_makehuman(MH_DIR)
    subject = mh.DEFAULT_MAKEHUMAN_SUBJECTS[6]
    r = mh.makehuman_rig(data, subject)
    names = list(r.bone_names)
    c = r.vertices[r.triangles].mean(1)
    eyes = r.rest[[names.index("eye.L"), names.index("eye.R")], :3, 3]
    hair, brows = r.region == rg.REGION_HAIR, r.region == rg.REGION_BROWS
    assert hair.sum() > 300 and 10 < brows.sum() < 200
    top = c[:, 2].max()
    assert np.all(c[hair, 2] > eyes[:, 2].mean() - 0.08)
    assert np.mean(c[hair, 2] > top - 0.04) > 0.3                      # the crown is covered
    front_face = (c[:, 1] < eyes[:, 1].mean() + 0.01) & (np.abs(c[:, 2] - eyes[:, 2].mean()) < 0.03)
    assert not np.any(hair & front_face)                                # no hair over the eyes and cheeks
    assert np.all(c[brows, 2] > eyes[:, 2].mean() + 0.01) and np.all(c[brows, 2] < eyes[:, 2].mean() + 0.03)
    labels = rg.triangle_labels(r, "right", r.dominant)
    spec = SimpleNamespace(sleeve=long_sleeve, appearance_seed=5)
    cfg = SimpleNamespace(dataset=SimpleNamespace(seed=2019))
    region, offset, hair_p = outfit.dress(cfg, spec, r, labels, dict(subject), SimpleNamespace(id=subject["id"]))
    assert hair_p is not None and hair_p["name"] in {h[0] for h in outfit.HAIR}
    # Sleeves: cut along the arm; a long one covers the upper forearm, never the hand or the wrist.
    wrist = rg.hand_joints(r, r.rest, "right")[0]
    elbow = r.rest[r.arms["right"].fore[0], :3, 3]
    fore = np.isin(r.dominant, list(r.arms["right"].fore)) & (labels == SEG_ARM)
    t = (c - elbow) @ (wrist - elbow) / np.sum((wrist - elbow) ** 2)
    upper_fore, near_wrist = fore & (t > 0.05) & (t < 0.25), fore & (t > 0.9)
    assert np.all(region[labels != SEG_ARM] == rg.REGION_SKIN) and np.all(region[near_wrist] == rg.REGION_SKIN)
    assert np.all(region[upper_fore] == rg.REGION_TOP) == long_sleeve
    # Garments stand off the skin (folds: not a constant), skin and the hand do not move.
    verts_of = lambda mask: np.unique(r.triangles[mask])  # noqa: E731
    assert np.all(offset[verts_of(labels != SEG_ARM)] == 0.0)            # the hand never moves
    eyes_band = front_face & (np.abs(c[:, 2] - eyes[:, 2].mean()) < 0.012)
    assert np.all(offset[verts_of(eyes_band)] == 0.0)                    # nor the face
    chest = verts_of(np.isin(r.dominant, [names.index(b) for b in ("spine03", "spine02")]))
    lo, amp = outfit.FIT["top"]
    assert np.all((offset[chest] >= lo - 1e-9) & (offset[chest] <= lo + amp + 1e-9))
    assert offset[chest].std() > 0.001                                   # folds, not a constant
    tri_off = offset[r.triangles]
    assert np.abs(tri_off.max(1) - tri_off.min(1)).max() < lo             # no spikes: no edge jumps a full stand-off
    again = outfit.dress(cfg, spec, r, labels, dict(subject), SimpleNamespace(id=subject["id"]))
    np.testing.assert_array_equal(again[0], region)
    np.testing.assert_array_equal(again[1], offset)


@pytest.mark.bpy
@pytest.mark.slow
def test_skin_detail_renders_deterministically_and_is_recorded(tmp_path):
    from hopgen.dataset.hopformat import HopDataset
    from hopgen.dataset.validate import validate_dataset
    outs = {}
    for tag, on in (("a", True), ("b", True), ("off", False)):
        out = tmp_path / tag
        subprocess.run([sys.executable, "-m", "hopgen.cli", "render", "--config", TINY, "--out", str(out),
                        "--set", "dataset.num_samples=1", "--set", f"render.skin_detail={'true' if on else 'false'}"],
                       check=True, capture_output=True)
        assert validate_dataset(out) == []
        outs[tag] = HopDataset(out)
    sid = outs["a"].ids[0]
    a, off = outs["a"].annotation(sid), outs["off"].annotation(sid)
    assert off["subject"]["skin"] is None
    assert a["subject"]["skin"] == SK.skin_detail(a["seed"][0], a["subject"]["id"], _subject_rgb(a["subject"]["id"]))
    np.testing.assert_array_equal(outs["a"].image("rgb", sid), outs["b"].image("rgb", sid))  # deterministic
    for kind in ("seg", "hand_mask"):
        np.testing.assert_array_equal(outs["a"].image(kind, sid), outs["off"].image(kind, sid))
    hand = outs["a"].image("hand_mask", sid) > 0
    diff = np.abs(outs["a"].image("rgb", sid).astype(int) - outs["off"].image("rgb", sid)).sum(-1)
    assert diff[hand].mean() > 2 * max(diff[~hand].mean(), 0.05)       # the detail is on the skin


def _subject_rgb(subject_id):
    from hopgen.hand import subjects as S
    return S.get_subject(subject_id).skin_rgb


@needs_mh
@pytest.mark.bpy
def test_makehuman_scene_is_dressed(tmp_path):
    """The Blender scene of a MakeHuman episode: hair and garment materials on their regions, the
    detailed skin with the skin maps, clothes standing off the posed skin, the hand exactly posed."""
    import bpy
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import plan_episode
    from hopgen.blender.render_episode import EpisodeRenderer
    m = load_manifest(data={"avatars": [{"name": "kofi", "kind": "makehuman", "path": str(MH_DIR),
                                         "subject": "makehuman_06"}],
                            "objects": [{"name": "ball", "category": "spherical", "procedural": {"generator": "tennis_ball"}}]})
    cfg = load_generation_config(TINY, ["dataset.num_samples=1", "dataset.frames_per_episode=1"])
    writer = type("W", (), {"root": str(tmp_path)})()
    R = EpisodeRenderer(cfg, m, writer)
    ep = plan_episode(cfg, m, 0)
    sd = R.build_scene(ep)
    state, _, _ = R.prepare_sample(ep, sd, ep.samples[0])
    body, hand = bpy.data.objects["hop_body"], bpy.data.objects["hop_hand"]
    slots = [s.material.name for s in body.material_slots]
    assert slots[:4] == ["hop_skin", "hop_top", "hop_bottom", "hop_shoes"] and slots[4].startswith("hop_hair")
    idx = np.zeros(len(body.data.polygons), np.int64)
    body.data.polygons.foreach_get("material_index", idx)
    assert (idx == 4).sum() > 300 and (idx == 1).sum() > 1000
    assert bpy.data.materials["hop_skin"].get("hop_skin_detail") == 1
    for name in SK.FLOAT_MAPS + (SK.COORD_ATTRIBUTE,):
        assert hand.data.attributes.get(name) is not None and body.data.attributes.get(name) is not None
    co = np.zeros(len(body.data.vertices) * 3, np.float32)
    body.data.vertices.foreach_get("co", co)
    moved = np.linalg.norm(co.reshape(-1, 3) - state.vertices, axis=1)
    assert np.allclose(moved, sd.garment_offset, atol=2e-5) and moved.max() > 0.005
    hco = np.zeros(len(hand.data.vertices) * 3, np.float32)
    hand.data.vertices.foreach_get("co", hco)
    np.testing.assert_allclose(hco.reshape(-1, 3), state.vertices, atol=1e-6)
