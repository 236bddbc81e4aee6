"""MakeHuman avatars end to end: manifest entries, the 10 default subjects posed by the grasp
pipeline (pure), one episode (pure), and `hopgen render` of both hands, validated."""
import json
import os
from pathlib import Path
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from hopgen.avatars import entries
from hopgen.episode import body as av
from hopgen.core import camera as cam
from hopgen.hand import kinematics as kin
from hopgen.avatars import makehuman as mh
from hopgen.avatars import rig as rg
from hopgen.core import skeleton as sk
from hopgen.assets.manifest import ManifestError, load_manifest
from hopfixtures import render_two_sided, render_with_blender_binary

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "configs" / "hop_tiny.yaml")
MH_DIR = Path(os.environ.get("HOPGEN_MAKEHUMAN_DIR") or REPO.parent / "shared/assets/makehuman")
if not (MH_DIR / "data" / "3dobjs" / "base.obj").is_file() and not (MH_DIR / "3dobjs" / "base.obj").is_file():
    pytest.skip(f"MakeHuman data folder not found at {MH_DIR} (set HOPGEN_MAKEHUMAN_DIR)", allow_module_level=True)

OBJECTS = [{"name": "ball", "category": "spherical", "procedural": {"generator": "tennis_ball"}},
           {"name": "can", "category": "cylindrical", "procedural": {"generator": "can"}}]


def _write(folder, avatars, objects=OBJECTS):
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps({"avatars": avatars, "objects": objects}))
    return path


def test_manifest_entries(tmp_path):
    m = load_manifest(_write(tmp_path, [{"kind": "makehuman", "path": str(MH_DIR), "subjects": "default"}]))
    assert [a.name for a in m.avatars] == [s["id"] for s in mh.DEFAULT_MAKEHUMAN_SUBJECTS]
    assert [a.sex for a in m.avatars] == ["female"] * 5 + ["male"] * 5
    m = load_manifest(_write(tmp_path, [
        {"name": "crew", "kind": "makehuman", "path": str(MH_DIR), "subjects": "default"},
        {"name": "anna", "kind": "makehuman", "path": str(MH_DIR), "subject": "makehuman_03"},
        {"name": "own", "kind": "makehuman", "path": str(MH_DIR), "sex": "male",
         "targets": {"macrodetails/african-male-young": 0.6, "macrodetails/asian-male-young.target": 0.4},
         "options": {"skin_tone": 5, "hand": {"hand-scale": 0.3}}}]))
    names = [a.name for a in m.avatars]
    assert names[:2] == ["crew_00", "crew_01"] and names[-2:] == ["anna", "own"]
    anna = entries.avatar_subject(m.avatar("anna"))
    assert anna["id"] == "anna" and anna["ethnicity"] == mh.DEFAULT_MAKEHUMAN_SUBJECTS[3]["ethnicity"]
    own = entries.avatar_subject(m.avatar("own"))
    assert own["skin_tone"] == 5 and own["sex"] == "male"
    data = mh.load_makehuman(MH_DIR)
    weights = {str(p.relative_to(data.data_dir / "targets")): w for p, w in mh.subject_targets(data, own).items()}
    # own macro targets replace the sex/ethnicity ones; hand targets stay
    assert weights["macrodetails/african-male-young.target"] == 0.6
    assert "macrodetails/caucasian-male-young.target" not in weights
    assert weights["armslegs/r-hand-scale-incr.target"] == 0.3


@pytest.mark.parametrize("entry, match", [
    ({"subject": "makehuman_10"}, r"\.subject: 'makehuman_10' is not one of makehuman_00"),
    ({"subjects": "all"}, r"\.subjects: 'all': only `subjects: default`"),
    ({"options": {"skin_tone": 7}}, r"\.options\.skin_tone: 7 is not a Fitzpatrick type"),
    ({"options": {"hand": {"hand-size": 0.2}}}, r"\.options\.hand: expected weights"),
    ({"options": {"ethnicity": {"asian": 0.5}}}, r"\.options\.ethnicity: expected shares"),
    ({"options": {"bone_map": {}}}, r"\.options\.bone_map: unknown option"),
    ({"targets": {"macrodetails/martian.target": 1.0}},
     r"targets\.macrodetails/martian\.target: target file not found"),
])
def test_manifest_errors(tmp_path, entry, match):
    e = dict({"name": "x", "kind": "makehuman", "path": str(MH_DIR)}, **entry)
    if "subjects" in entry:
        e.pop("name")
    with pytest.raises(ManifestError, match=match):
        load_manifest(_write(tmp_path, [e]))


def test_manifest_rejects_folders_that_are_not_makehuman(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match=r"avatars\[0\] \(x\)\.path: not a MakeHuman data folder: .* lacks 3dobjs"):
        load_manifest(_write(tmp_path, [{"name": "x", "kind": "makehuman", "path": str(tmp_path / "empty")}]))
    with pytest.raises(ManifestError, match=r"avatars\[0\]\.path: not a MakeHuman data folder"):
        load_manifest(_write(tmp_path, [{"kind": "makehuman", "path": str(tmp_path / "empty"), "subjects": "default"}]))


def _hand_state(rng, side, where):
    """A kinematic frame: random grasp-like angles, the hand at ``where`` palm down, fingers forward."""
    angles = kin.clamp_angles(kin.random_angles(rng, spread=0.5) * 0.6)
    angles[kin.DOF_INDEX["thumb_cmc_roll"]] = np.radians(40)  # opposition: the thumb pronates
    hand = np.eye(4)
    hand[:3, :3] = cam.rotation_matrix([0, 0, 1], rng.uniform(-0.5, 0.5)) @ np.array(
        [[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]).T @ cam.rotation_matrix([0, 1, 0], np.pi)
    hand[:3, 3] = where
    return SimpleNamespace(angles=angles, hand_to_world=hand)


@pytest.mark.parametrize("k", range(10))
def test_default_subjects_pose_for_a_grasp(k):
    """Every default subject: the rig's hand takes the kinematic hand frame, fingertips reach the
    kinematic tips, the arm reaches the wrist with a plausible elbow, and the annotation joints lie
    inside the hand's skin."""
    subject = mh.DEFAULT_MAKEHUMAN_SUBJECTS[k]
    side = ("left", "right")[k % 2]
    r = mh.makehuman_rig(mh.load_makehuman(MH_DIR), subject)
    proxy = entries.proxy_subject(subject, rg.hand_joints(r, r.rest, side), side)
    assert 150 < proxy.hand_length_mm < 225 and proxy.id == subject["id"]
    shape = kin.shape_from_measurements(proxy.hand_length_mm, proxy.hand_breadth_mm)
    rng = np.random.default_rng(k)
    state = _hand_state(rng, side, [0.0, 0.0, 0.0])
    tgt = av.frame_targets(r, side, shape, state)
    geom = SimpleNamespace(vertices=np.array([[-0.01, -0.01, -0.01], [0.01, 0.01, 0.01]]) + [0, 0, -0.05])
    root = av.choose_body_placement(r, side, [tgt], [np.eye(4)], geom, rng)
    np.testing.assert_allclose(root[2, :3], [0, 0, 1], atol=1e-12)  # upright
    pulp_locals = av.thumb_pulp_locals(r, side, shape)
    local, root_k, sol = av.pose_frame(r, side, tgt, root, pulp_locals=pulp_locals)
    posed = rg.pose(r, local, root_k)
    hand = rg.hand_joints(r, posed, side)
    # the thumb's pulp faces like the kinematic thumb's (its roll), seen across each link
    links = rg.finger_bones(r, side)
    for k in av.THUMB_LINKS:
        b, a, c = links[k]
        axis = rg._unit(hand[c] - hand[a])
        have, want = posed[b, :3, :3] @ pulp_locals[k], tgt.pulps[k]
        have, want = rg._unit(have - have @ axis * axis), rg._unit(want - want @ axis * axis)
        assert np.degrees(np.arccos(np.clip(have @ want, -1, 1))) < 10, k
    assert sol.wrist_error_m < 1e-3
    assert np.radians(35) < sol.elbow_rad < np.radians(178)
    kin_joints = cam.transform(state.hand_to_world, kin.forward_kinematics(shape, state.angles, side)[0])
    frame, want = rg.hand_frame(hand, side), rg.hand_frame(kin_joints, side)
    assert np.degrees(np.arccos(np.clip((np.trace(frame[:3, :3].T @ want[:3, :3]) - 1) / 2, -1, 1))) < 0.5
    # fingertips reach the kinematic tips as far as the rig's finger lengths and knuckles allow
    for f in range(5):
        chain = [1 + 4 * f + k for k in range(4)]
        length = lambda j: np.linalg.norm(np.diff(j[chain], axis=0), axis=1).sum()  # noqa: E731
        slack = abs(length(hand) - length(kin_joints)) + np.linalg.norm(hand[chain[0]] - kin_joints[chain[0]])
        assert np.linalg.norm(hand[chain[-1]] - kin_joints[chain[-1]]) < slack + 0.002, f
    # annotation joints inside the hand: nearest skin vertex is a hand vertex of the right part
    verts = rg.skin(r, posed)
    labels = rg.triangle_labels(r, side, r.dominant)
    vlab = np.zeros(len(verts), np.uint8)
    np.maximum.at(vlab, r.triangles.reshape(-1), np.repeat(labels, 3))
    near = np.linalg.norm(verts[None] - hand[:, None], axis=2).argmin(1)
    assert np.all(np.isin(vlab[near], sk.HAND_LABELS))


@pytest.fixture(scope="module")
def episode():
    from hopgen.config import load_generation_config
    from hopgen.episode.build import build_episode
    from hopgen.episode.plan import plan_episode
    m = load_manifest(data={"avatars": [{"name": "anna", "kind": "makehuman", "path": str(MH_DIR),
                                         "subject": "makehuman_03"}], "objects": OBJECTS})
    cfg = load_generation_config(TINY, ["dataset.num_samples=2", "dataset.frames_per_episode=2"])
    spec = plan_episode(cfg, m, 0)
    return cfg, m, spec, build_episode(cfg, m, spec)


def test_episode_is_posed_consistently(episode):
    from hopgen.core import meshgeom
    from hopgen.episode.build import build_episode
    cfg, m, spec, sc = episode
    assert sc.subject.id == "anna" and sc.rig is not None
    sdf = meshgeom.object_distance_fn(sc.object_geom, max_dist=0.05)
    for f in sc.frames:
        inv = np.linalg.inv(f.object_to_world)
        assert f.vertices.shape == (len(sc.rig.vertices), 3)
        assert f.wrist_error_m < 1e-3
        assert sdf(cam.transform(inv, f.hand_points)).min() > -0.005  # hand skin at most 5 mm in
        assert sdf(cam.transform(inv, f.body_points)).min() > 0.0  # no body part inside the object
        np.testing.assert_allclose(rg.hand_frame(f.joints, spec.side), f.hand_to_world, atol=1e-12)
    again = build_episode(cfg, m, spec)
    for a, b in zip(sc.frames, again.frames):
        np.testing.assert_array_equal(a.joints, b.joints)
        np.testing.assert_array_equal(a.vertices, b.vertices)


def test_camera_keeps_the_body_out_of_the_lens(episode):
    cfg, m, spec, sc = episode
    state = sc.frames[-1]
    turned = 0
    for az in np.linspace(-np.pi, np.pi, 12, endpoint=False):
        first = spec.samples[0]
        sample = replace(first, camera=replace(first.camera, azimuth=float(az), rig="third_person", distance=0.5))
        K, w2c = sc.place_camera(cfg, sample, state, 96, 96)
        body = cam.transform(w2c, state.body_points)
        assert np.linalg.norm(body, axis=1).min() >= av.CAMERA_NEAR_M
        eye = np.linalg.inv(w2c)[:3, 3]
        planned = np.array([np.cos(az), np.sin(az)])
        turned += np.dot(planned, (eye - state.hand_points.mean(0))[:2]) < 0.9 * np.linalg.norm(
            (eye - state.hand_points.mean(0))[:2])
    assert 0 < turned < 12  # views through the body are turned away, the others kept


@pytest.mark.bpy
@pytest.mark.slow
def test_render_makehuman_both_hands(tmp_path):
    manifest = _write(tmp_path, [{"kind": "makehuman", "path": str(MH_DIR), "subjects": "default"}])
    ds = render_two_sided(tmp_path, manifest, 80, distinct_avatars=True)
    sides, on_hand = set(), []
    for sid in ds.ids:
        a = ds.annotation(sid)
        sides.add(a["hand"]["side"])
        assert a["subject"]["avatar"] == "makehuman" and a["subject"]["id"].startswith("makehuman_")
        seg, mask = ds.image("seg", sid), ds.image("hand_mask", sid)
        assert np.isin(seg, sk.HAND_LABELS).sum() > 100
        assert (mask > 0).sum() >= np.isin(seg, sk.HAND_LABELS).sum()
        px = np.floor(np.asarray(a["hand"]["uv"]) + 0.5).astype(int)
        for (x, y), v in zip(px, a["hand"]["visibility"]):
            if v == 0:
                on_hand.append(seg[y, x] in sk.HAND_LABELS)
    assert sides == {"left", "right"}
    assert np.mean(on_hand) > 0.8, "visible annotation joints lie on the rendered hand"


@pytest.mark.blender_binary
@pytest.mark.slow
def test_blender_binary_renders_makehuman(tmp_path):
    from conftest import BLENDER_BIN
    manifest = _write(tmp_path, [{"name": "anna", "kind": "makehuman", "path": str(MH_DIR), "subject": "makehuman_03"}])
    render_with_blender_binary(BLENDER_BIN, tmp_path, manifest)


@pytest.mark.parametrize("index", [18, 21])
def test_makehuman_grasp_skin_stays_out_of_the_object(index, monkeypatch):
    """The rendered MakeHuman hand (palm and thumb base included, not just the settled fingers)
    sinks at most 2 mm into the object, like the procedural grasps. Episodes 18 (apple) and 21
    (orange) of configs/hop_makehuman.yaml sank 3.9 and 3.6 mm before the hand was backed out."""
    from hopgen.config import load_generation_config
    from hopgen.core import meshgeom
    from hopgen.episode.build import build_episode
    from hopgen.episode.plan import plan_episode
    from hopgen.episode.scene import annotation_core
    monkeypatch.setenv("HOPGEN_MAKEHUMAN_DIR", str(MH_DIR))  # the shipped manifest names the data folder by it
    m = load_manifest(REPO / "configs" / "makehuman_manifest.yaml")
    cfg = load_generation_config(str(REPO / "configs" / "hop_makehuman.yaml"),
                                 ["dataset.num_samples=120", "dataset.frames_per_episode=4", "dataset.views_per_frame=1"])
    spec = plan_episode(cfg, m, index)
    assert spec.category == "spherical"
    sc = build_episode(cfg, m, spec)
    sdf = meshgeom.object_distance_fn(sc.object_geom, max_dist=0.05)
    held = 0
    for f in sc.frames:
        depth = -sdf(cam.transform(np.linalg.inv(f.object_to_world), f.arm_points)).min()
        assert depth <= 0.002, f"frame {f.frame}: skin {depth * 1000:.2f} mm inside {spec.object}"
        assert f.penetration_m == pytest.approx(max(depth, 0.0), abs=2e-4)
        held += f.phase != "approach" and f.pushed_m > 0  # the push did the work (a test that can fail)
        assert f.wrist_error_m < 1e-3
    assert held >= 1
    f = sc.frames[-1]
    sample = next(s for s in spec.samples if s.frame == f.frame)
    K, w2c = sc.place_camera(cfg, sample, f, 64, 64)
    anno = annotation_core(cfg, sc, sample, f, K, w2c, 64, 64)
    assert anno["grasp"]["avatar_penetration_mm"] == pytest.approx(1000 * f.penetration_m, abs=1e-3)
