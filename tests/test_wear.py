"""What the arm wears (hopgen.episode.wear, wear_geometry; issue 15 item 1): config errors, draws
that depend only on the seed, accessories and folded sleeves that wrap the skin without cutting
into it, deterministic builds, the annotation record; and (bpy) a real tiny render in which a watch
over the wrist is surroundings: not in the visible hand, inside the amodal hand mask, wrist code 4."""
import dataclasses
import hashlib
import json

import numpy as np
import pytest

from hopgen.config import ConfigError, WearConfig, load_generation_config
from hopgen.episode import wear as W
from hopgen.episode import wear_geometry as G

TINY = "configs/hop_tiny.yaml"


@pytest.fixture(scope="module")
def meshes():
    from hopgen.hand import handmesh as H, subjects as S
    from hopgen.episode.procedural import FOREARM_LENGTH_M
    return {side: H.build_hand_mesh(S.get_subject("f04"), side, forearm_length_m=FOREARM_LENGTH_M)
            for side in ("left", "right")}


def _always(**kw):
    return dataclasses.replace(WearConfig(), accessory_probability=1.0, **kw)


def test_wear_config_rejects_unknown_keys_and_kinds():
    assert load_generation_config(data={"dataset": {"seed": 1}}).wear.accessory_probability == 0.35
    with pytest.raises(ConfigError, match="wear.colour"):
        load_generation_config(data={"wear": {"colour": 1}})
    with pytest.raises(ConfigError, match="wear.accessory_kinds: unknown choice 'ring'"):
        load_generation_config(data={"wear": {"accessory_kinds": {"ring": 1.0}}})
    with pytest.raises(ConfigError, match="wear.sleeve_fabrics"):
        load_generation_config(data={"wear": {"sleeve_fabrics": {"knit": 0.5}}})
    with pytest.raises(ConfigError, match="wear.accessory_probability"):
        load_generation_config(data={"wear": {"accessory_probability": 1.5}})


def test_draws_depend_only_on_the_seed_and_follow_the_config():
    cfg = _always()
    a, b = W.draw_wear(cfg, 123, "left", True), W.draw_wear(cfg, 123, "left", True)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    assert json.dumps(a.to_dict()) != json.dumps(W.draw_wear(cfg, 124, "left", True).to_dict())
    many = [W.draw_wear(cfg, s, "right", True) for s in range(80)]
    kinds = {w.accessories[0].kind for w in many}
    styles = {w.accessories[0].style for w in many if w.accessories[0].kind == "bracelet"}
    assert kinds == set(W.ACCESSORY_KINDS) and styles == set(W.BRACELET_STYLES)
    assert {w.sleeve.fabric for w in many} == set(W.SLEEVE_FABRICS)
    for w in many:  # an accessory never reaches under the sleeve's cuff
        acc = w.accessories[0]
        assert acc.position_m + 0.5 * acc.width_m <= w.sleeve.cuff_m - W.ACCESSORY_SLEEVE_CLEARANCE_M + 1e-9
    assert all(not w.accessories for w in (W.draw_wear(WearConfig(accessory_probability=0.0), s, "left", False)
                                          for s in range(20)))
    only = _always(accessory_kinds={"watch": 1.0}, sleeve_fabrics={"denim": 1.0}, sleeve_folds=False)
    w = W.draw_wear(only, 5, "left", True)
    assert w.accessories[0].kind == "watch" and w.sleeve.fabric == "denim" and w.sleeve.folds == []
    assert W.draw_wear(only, 5, "left", False).sleeve is None


def _closed(faces):
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


@pytest.mark.parametrize("side", ["left", "right"])
def test_accessories_are_closed_and_sit_outside_the_skin(meshes, side):
    m = meshes[side]
    frame = G.procedural_arm_frame()
    seen = set()
    for seed in range(40):
        acc = W.draw_wear(_always(), seed, side, False).accessories[0]
        key = (acc.kind, acc.style)
        if key in seen:
            continue
        seen.add(key)
        piece = G.accessory_mesh(frame, m.rest_vertices, acc, "hop_accessory0")
        assert _closed(piece.faces), key
        gap = G.skin_clearance(piece.vertices, m.rest_vertices, m.normals)
        assert 0.0 < gap < 0.012, (key, gap)
        if acc.style == "bangle":  # it rests on the wrist (hangs off-centre), not concentric 4-9 mm off
            assert gap < 0.002 < acc.gap_m, (gap, acc.gap_m)
        assert set(np.unique(piece.face_slot)) == set(range(len(piece.slots)))
        along = frame.local(piece.vertices)[:, 2]
        assert along.min() < acc.position_m < along.max()
    assert len(seen) == 4  # watch + three bracelet styles


def test_sleeve_folds_are_geometry_and_the_build_is_deterministic(meshes):
    m = meshes["right"]
    frame = G.procedural_arm_frame()
    look = W.draw_wear(_always(), 9, "right", True).sleeve
    assert look.folds
    digests = set()
    for _ in range(2):
        piece = G.sleeve_mesh(frame, m.rest_vertices, look)
        digests.add(hashlib.sha256(piece.vertices.tobytes() + piece.faces.tobytes() + piece.uv.tobytes()).hexdigest())
    assert len(digests) == 1
    assert G.skin_clearance(piece.vertices[::3], m.rest_vertices, m.normals) > 0.0
    flat = G.sleeve_mesh(frame, m.rest_vertices, dataclasses.replace(look, folds=[]))
    assert flat.vertices.shape == piece.vertices.shape
    dist = np.linalg.norm(piece.vertices - flat.vertices, axis=1)
    along = frame.local(flat.vertices)[:, 2] - look.cuff_m
    near = (along > 0) & (along < look.folds[-1].position_m + 0.005)
    # The folds move the cloth outwards near the cuff by up to their amplitude, and not elsewhere.
    assert dist[near].max() > 0.8 * max(f.amplitude_m for f in look.folds)
    assert dist[along > 0.16].max() < 1e-4
    assert piece.uv.shape == (len(piece.faces), 3, 2)
    assert np.ptp(piece.uv[..., 0], axis=1).max() < 0.02  # the seam wraps, no face spans the arm


def test_rigid_fit_recovers_a_motion():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(50, 3))
    from hopgen.core import camera as cam
    T = np.eye(4)
    T[:3, :3] = cam.rotation_matrix([0.3, 1.0, -0.2], 0.7)
    T[:3, 3] = [0.1, -0.2, 0.3]
    np.testing.assert_allclose(G.rigid_fit(p, cam.transform(T, p)), T, atol=1e-9)


def test_the_annotation_records_the_accessory_and_the_sleeve():
    from hopgen.assets.manifest import load_manifest
    from hopgen.episode.build import build_episode
    from hopgen.episode.plan import plan_episode
    from hopgen.episode.scene import annotation_core
    cfg = load_generation_config(TINY, overrides=["wear.accessory_probability=1.0", "avatar.sleeve_probability=1.0",
                                                  "dataset.num_samples=1"])
    manifest = load_manifest()
    spec = plan_episode(cfg, manifest, 0)
    scene = build_episode(cfg, manifest, spec)
    s = spec.samples[0]
    state = scene.frame_state(s.frame)
    K, w2c = scene.place_camera(cfg, s, state, 96, 96)
    anno = annotation_core(cfg, scene, s, state, K, w2c, 96, 96)
    (acc,) = anno["scene"]["accessories"]
    assert acc["kind"] in W.ACCESSORY_KINDS and acc["side"] == spec.side
    assert acc["material"] in W.STRAP_MATERIALS and len(acc["colour"]) == 3
    assert anno["scene"]["sleeve_look"]["fabric"] in W.SLEEVE_FABRICS
    assert [p.name for p in scene.wear_meshes] == ["hop_accessory0", "hop_sleeve"]
    json.dumps(anno)
    # Same seed, same accessory: the draw is the episode's own stream.
    again = W.draw_wear(cfg.wear, spec.appearance_seed, spec.side, True)
    assert again.accessories[0].record() == acc


@pytest.mark.bpy
def test_real_render_watch_over_the_wrist_is_surroundings():
    import bpy

    from hopgen.blender import hand, passes, scene
    from hopgen.blender.wear import WornPieces
    from hopgen.core import camera as cam
    from hopgen.core.skeleton import HAND_LABELS, SEG_SURROUNDINGS, VIS_SURROUNDINGS
    from hopgen.dataset.visibility import compute_visibility, seg_for_file
    from hopgen.hand import handmesh as H, kinematics as K, subjects as S

    bpy.ops.wm.read_factory_settings(use_empty=True)
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=2, adaptive_threshold=None)
    sub = S.get_subject("f04")
    mesh = H.build_hand_mesh(sub, "right", forearm_length_m=0.27)
    shape = S.subject_shape(sub)
    hand_faces = np.nonzero(np.asarray(mesh.face_labels) != 2)[0]
    hobj = hand.build_hand_object(mesh, "hop_hand", subject=sub, faces=hand_faces)
    # A watch centred on the wrist joint, seen from the back of the hand (the case faces the lens).
    acc = dataclasses.replace(W.draw_watch(np.random.default_rng(1), "right"), position_m=0.0)
    wear = W.Wear([acc], None)
    piece = G.accessory_mesh(G.procedural_arm_frame(), mesh.rest_vertices, acc, "hop_accessory0")
    worn = WornPieces(wear, [piece], mesh.rest_vertices)
    posed = H.pose_vertices(mesh, shape, K.neutral_angles(), "right")
    hand.set_hand_pose(hobj, posed)
    worn.pose(posed)
    joints, _ = K.forward_kinematics(shape, K.neutral_angles(), "right")
    w2c = cam.look_at([0.0, 0.03, -0.35], [0.0, 0.03, 0.0], up=(0.0, 1.0, 0.0))
    Kmat = cam.intrinsics(110.0, 110.0, 31.5, 31.5)
    scene.set_camera(Kmat, 64, 64, w2c)
    out = passes.render_annotations(s, groups={"hand": [hobj]})
    labels, amodal = out["labels"], out["masks"]["hand"]
    watch = labels == SEG_SURROUNDINGS
    assert watch.sum() > 30
    on_file = seg_for_file(labels)
    assert not np.isin(on_file[watch], HAND_LABELS).any() and (on_file[watch] == 0).all()
    assert (watch & amodal).sum() > 10  # the strap covers palm skin: inside the amodal hand mask
    uv = cam.project(Kmat, cam.transform(w2c, joints))
    vis = compute_visibility(uv, labels)
    assert vis[0] == VIS_SURROUNDINGS and (vis[5:] == 0).sum() > 5
    rgb = passes.render_rgb(s, str(bpy.app.tempdir or "/tmp") + "/hop_wear_test.png")
    from hopgen.core.pngio import read_png
    img = read_png(rgb)
    assert img.shape == (64, 64, 3) and img[watch].std() > 0  # the watch renders (not a flat hole)


def test_makehuman_wrist_wears_the_accessory():
    import os
    from pathlib import Path
    from hopgen.assets.manifest import load_manifest
    from hopgen.avatars import rig as rg
    from hopgen.episode.build import build_episode
    from hopgen.episode.plan import plan_episode
    mh_dir = Path(os.environ.get("HOPGEN_MAKEHUMAN_DIR") or Path(__file__).resolve().parents[2] / "shared/assets/makehuman")
    if not (mh_dir / "data" / "3dobjs" / "base.obj").is_file() and not (mh_dir / "3dobjs" / "base.obj").is_file():
        pytest.skip(f"MakeHuman data folder not found at {mh_dir} (set HOPGEN_MAKEHUMAN_DIR)")
    m = load_manifest(data={"avatars": [{"name": "anna", "kind": "makehuman", "path": str(mh_dir),
                                         "subject": "makehuman_03"}],
                            "objects": [{"name": "can", "category": "cylindrical", "procedural": {"generator": "can"}}]})
    cfg = load_generation_config(TINY, ["dataset.num_samples=2", "dataset.frames_per_episode=2",
                                        "wear.accessory_probability=1.0", "wear.accessory_kinds={watch: 1.0}"])
    spec = plan_episode(cfg, m, 0)
    sc = build_episode(cfg, m, spec)
    (piece,) = sc.wear_meshes
    assert sc.wear.sleeve is None and sc.wear.accessories[0].kind == "watch"
    r = sc.rig
    wrist = rg.hand_joints(r, r.rest, spec.side)[0]
    strap = np.unique(piece.faces[piece.face_slot == 0])
    assert np.linalg.norm(piece.vertices[strap].mean(0) - wrist) < 0.04
    for f in sc.frames:  # the skin under the watch moves (nearly) rigidly: the watch goes with it
        T = G.rigid_fit(r.vertices[piece.anchor_ids], f.vertices[piece.anchor_ids])
        res = np.linalg.norm(r.vertices[piece.anchor_ids] @ T[:3, :3].T + T[:3, 3] - f.vertices[piece.anchor_ids], axis=1)
        assert res.max() < 0.006
