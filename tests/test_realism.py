"""Issue 15 rules in pure code: distractors rest on the support, cameras respect the support, the
distractors and the forearm, camera effects are recorded and touch only the beauty image, the
realism measurements, and an episode's annotation is the same when built twice."""
import json
import math

import numpy as np
import pytest

from hopgen.assets.manifest import load_manifest
from hopgen.config import load_generation_config
from hopgen.core import camera as cam
from hopgen.core.shapes import primitive_mesh
from hopgen.episode import effects, surroundings
from hopgen.episode.plan import plan_episode

TINY = "configs/hop_tiny.yaml"


def _yaw(v, yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    return v @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]).T


def test_distractors_rest_on_the_support_and_keep_clear():
    rng = np.random.default_rng(3)
    keep = rng.normal(0, 0.05, (400, 3)) + [0, 0, 0.3]  # a hand-sized cloud above the table
    support = surroundings.support_params(rng, top_z=0.1, curved=False)
    placed = surroundings.place_distractors(rng, support, 6, keep.mean(0), keep)
    assert len(placed) >= 3
    for k, d in enumerate(placed):
        v, _ = primitive_mesh(d["shape"], d["size"])
        world = _yaw(v, d["rotation"][2]) + d["location"]
        assert d["rotation"][:2] == (0.0, 0.0)
        assert abs(world[:, 2].min() - 0.1) < 1e-9, d  # lowest point exactly on the table top
        gap = np.linalg.norm(world[:, None] - keep[None], axis=2).min()
        assert gap > surroundings.CLEARANCE_M, (d["shape"], gap)  # no interpenetration with the hand
        for e in placed[k + 1:]:
            assert np.linalg.norm(np.subtract(d["location"], e["location"])) > d["radius"] + e["radius"]
    assert surroundings.place_distractors(rng, None, 3, keep.mean(0), keep) == []  # nothing to stand on


def test_support_materials_are_real_materials():
    rng = np.random.default_rng(0)
    seen = {surroundings.support_material(rng)[0] for _ in range(60)}
    assert seen == set(surroundings.SUPPORT_MATERIALS)
    _, metal = surroundings.support_material(rng, "metal")
    assert metal["metallic"] == 1.0 and metal["roughness"] < 0.5
    _, fabric = surroundings.support_material(rng, "fabric")
    assert fabric["roughness"] > 0.8 and fabric["bump_strength"] > 0


def test_camera_rules_below_support_and_distractor_in_front():
    support = {"curved": True, "width": 3.0, "depth": 2.0, "location": (0.0, 0.0, 0.0), "rotation_z": 0.0}
    hand = np.array([[0.0, 0.0, 0.2], [0.02, 0.0, 0.22]])
    box = {"location": (0.0, -0.2, 0.2), "radius": 0.05}
    assert surroundings.camera_problems((0.0, -0.5, -0.1), hand, support, []) == ["below_support"]
    assert "behind_wall" in surroundings.camera_problems((0.0, 1.5, 0.5), hand, support, [])
    assert surroundings.camera_problems((0.0, -0.5, 0.2), hand, support, [box]) == ["foreground_distractor"]
    assert surroundings.camera_problems((0.0, -0.5, 0.2), hand, support, [box], allow_foreground=True) == []
    assert "inside_distractor" in surroundings.camera_problems((0.0, -0.2, 0.2), hand, support, [box], True)
    assert surroundings.camera_problems((0.5, 0.0, 0.2), hand, support, [box]) == []


def test_effects_are_deterministic_and_change_only_the_picture():
    rng = np.random.default_rng(1)
    fx = effects.sample_effects(rng, 5, 17)
    img = (np.random.default_rng(2).random((40, 48, 3)) * 255).astype(np.uint8)
    a, b = effects.apply_effects(img, fx), effects.apply_effects(img, fx)
    assert a.shape == img.shape and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - img).mean() > 1.0
    assert 2.0 <= fx.fstop <= 11.0 and 70 <= fx.jpeg_quality < 96 and fx.exposure_s == 0.0
    flat = np.full((16, 16, 3), 128, np.uint8)  # JPEG-like step alone keeps a flat grey flat
    np.testing.assert_allclose(effects.jpeg_like(flat.astype(float), 80), 128, atol=1)


@pytest.fixture(scope="module")
def built():
    cfg = load_generation_config(TINY, overrides=["background.distractors=[2,2]", "dataset.num_samples=1"])
    manifest = load_manifest()
    from hopgen.episode.build import build_episode
    from hopgen.episode.scene import annotation_core
    out = []
    for _ in range(2):
        spec = plan_episode(cfg, manifest, 0)
        scene = build_episode(cfg, manifest, spec)
        s = spec.samples[0]
        state = scene.frame_state(s.frame)
        K, w2c = scene.place_camera(cfg, s, state, 96, 96)
        out.append((scene, state, K, w2c, annotation_core(cfg, scene, s, state, K, w2c, 96, 96)))
    return out


def test_same_spec_twice_gives_the_same_annotation(built):
    (_, _, _, _, a), (_, _, _, _, b) = built
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["camera"]["effects"]["seed"] == [1, effects.EFFECTS_STREAM, 0]
    assert a["camera"]["placement"]["breaks"] == []


def test_built_episode_respects_the_camera_rules(built):
    from hopgen.dataset.realism import camera_behind_occluder, floating_distractors
    from hopgen.episode.framing import arm_end_in_frame
    scene, state, K, w2c, anno = built[0]
    assert state.arm_end is not None and not arm_end_in_frame(K, w2c, state, 96, 96)
    assert floating_distractors(anno["scene"]) == 0
    assert not camera_behind_occluder(anno, np.zeros((4, 4), np.uint8) + 3, np.ones((4, 4), bool))
    eye = cam.invert_rigid(w2c)[:3, 3]
    if anno["scene"]["support"] is not None:
        assert eye[2] > anno["scene"]["support"]["top_z"]


def test_realism_measurements():
    from hopgen.dataset.realism import arm_end_in_frame, camera_behind_occluder, floating_distractors
    seg = np.zeros((20, 20), np.uint8)
    seg[5:12, 5:12] = 2
    assert arm_end_in_frame(seg)
    seg[5:12, 0:12] = 2
    assert not arm_end_in_frame(seg)  # the arm leaves the frame
    scene = {"support": {"top_z": 0.1}, "distractor_objects": [
        {"shape": "box", "size_m": 0.1, "location": [0, 0, 0.15]}, {"shape": "sphere", "size_m": 0.1, "location": [0, 0, 0.3]}]}
    assert floating_distractors(scene) == 1
    anno = {"scene": scene, "camera": {"world_to_camera": cam.look_at([0, -0.5, 0.05], [0, 0, 0.3]).tolist()}}
    assert camera_behind_occluder(anno, np.full((4, 4), 3), np.ones((4, 4), bool))  # eye under the table top
    anno["scene"] = {}
    assert camera_behind_occluder(anno, np.zeros((4, 4)), np.ones((4, 4), bool))  # hand in view, none of it seen
    assert not camera_behind_occluder(anno, np.full((4, 4), 3), np.ones((4, 4), bool))


@pytest.mark.bpy
@pytest.mark.slow
def test_real_render_effects_are_recorded_and_leave_labels_alone(tmp_path):
    import subprocess
    import sys

    from hopgen.dataset.hopformat import HopDataset
    from hopgen.dataset.validate import validate_dataset
    outs = {}
    for on in (True, False):
        out = tmp_path / ("fx" if on else "plain")
        subprocess.run([sys.executable, "-m", "hopgen.cli", "render", "--config", TINY, "--out", str(out),
                        "--set", "dataset.num_samples=1", "--set", f"camera.effects={'true' if on else 'false'}"],
                       check=True, capture_output=True)
        assert validate_dataset(out) == []
        outs[on] = HopDataset(out)
    sid = outs[True].ids[0]
    fx, plain = outs[True].annotation(sid), outs[False].annotation(sid)
    assert fx["camera"]["effects"]["jpeg_quality"] >= 70 and plain["camera"]["effects"] is None
    assert fx["hand"]["visibility"] == plain["hand"]["visibility"] and fx["hand"]["uv"] == plain["hand"]["uv"]
    for kind in ("seg", "hand_mask", "object_mask"):
        np.testing.assert_array_equal(outs[True].image(kind, sid), outs[False].image(kind, sid))
    assert np.abs(outs[True].image("rgb", sid).astype(int) - outs[False].image("rgb", sid)).mean() > 1.0


def test_hand_skin_maps_palm_side_and_flushed_tips():
    from hopgen.episode.appearance import FLUSH_ATTRIBUTE, PALMAR_ATTRIBUTE, hand_skin_maps
    from hopgen.hand import handmesh as H
    from hopgen.hand import subjects as S
    sub = S.get_subject("f04")
    for side in ("left", "right"):
        mesh = H.build_hand_mesh(sub, side)
        maps = hand_skin_maps(mesh, S.subject_shape(sub))
        palmar, flush = maps[PALMAR_ATTRIBUTE], maps[FLUSH_ATTRIBUTE]
        assert palmar.shape == flush.shape == (len(mesh.rest_vertices),)
        assert 0.2 < palmar.mean() < 0.8 and palmar.min() == 0.0 and palmar.max() == 1.0
        tips = np.asarray(mesh.rest_joints)[[4, 8, 12, 16, 20]]
        d = np.linalg.norm(mesh.rest_vertices[:, None] - tips[None], axis=2).min(1)
        assert flush[d < 0.005].mean() > 0.5 > flush[d > 0.05].mean() + 0.4


def test_camera_distance_is_raised_only_when_no_view_can_be_placed():
    """A forearm that reaches the lens from every direction at the planned distance (seen in the
    hop_cpu render: 'no camera around the hand') gets the distance scaled up, and the record says so;
    a placeable plan keeps distance_scale 1."""
    from dataclasses import make_dataclass
    from types import SimpleNamespace
    from hopgen.episode import framing
    from hopgen.episode.spec import CameraChoice
    choice = CameraChoice(rig="third_person", distance=0.3, azimuth=0.0, elevation=0.3, roll=0.0,
                          focal_mm=35.0, jitter=[0.0, 0.0])
    sample = make_dataclass("Sample", ["camera"])(choice)
    state = SimpleNamespace(arm_end=None, hand_points=None, vertices=np.zeros((4, 3)))
    K = cam.intrinsics(100.0, 100.0, 48.0, 48.0)

    def base(min_distance):
        def place(cfg, s, st, w, h):
            if s.camera.distance < min_distance:
                raise ValueError("camera inside or behind the hand/arm; planned distance too small")
            return K, cam.look_at([s.camera.distance, 0, 0], [0, 0, 0])
        return place

    _, w2c, record = framing.place_in_scene(None, sample, state, 96, 96, None, base(0.0))
    assert record["distance_scale"] == 1.0 and record["turn_deg"] == 0
    _, w2c, record = framing.place_in_scene(None, sample, state, 96, 96, None, base(0.45))
    assert record["distance_scale"] == 1.7  # 1.3 x 0.3 = 0.39 is still too close
    assert np.isclose(np.linalg.norm(cam.invert_rigid(w2c)[:3, 3]), 0.3 * 1.7)
    with pytest.raises(ValueError, match="even at 2.2 x the planned distance 0.300 m"):
        framing.place_in_scene(None, sample, state, 96, 96, None, base(10.0))
