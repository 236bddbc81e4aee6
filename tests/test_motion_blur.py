"""Motion blur from the grasp animation (issue 15): the animation's pose rates, the sampled exposure
and its record, and a real Cycles render where blur changes the picture where the hand moves but
leaves labels and masks exactly those of the sharp frame."""
import numpy as np
import pytest

from hopgen.episode import effects, motion

TINY = "configs/hop_tiny.yaml"


def test_pose_rates_follow_the_animation():
    from hopgen.grasp.episode import PHASE_SECONDS, grasp_episode
    from hopgen.grasp.synthesis import Grasp  # noqa: F401 (the real type; a stand-in with its fields below)
    g = type("G", (), {"hand_to_object": np.eye(4), "approach_direction": np.array([0.0, 0.0, 1.0]),
                       "preshape": np.zeros(3), "angles": np.ones(3), "contact_centre": lambda self: np.zeros(3)})()
    frames = grasp_episode(g, np.random.default_rng(0), 30)
    a, b = frames[3], frames[4]  # both in the approach (10 frames per phase)
    assert a.phase == b.phase == "approach"
    dt = (b.t - a.t) * PHASE_SECONDS["approach"]
    np.testing.assert_allclose(a.hand_rate, (b.hand_to_world - a.hand_to_world) / dt, atol=1e-6)
    assert np.abs(a.object_rate).max() == 0  # the object waits for the hand
    grasping = frames[15]
    assert grasping.phase == "grasp" and np.abs(grasping.hand_rate).max() == 0  # fingers only: no rigid motion
    held = frames[29]
    m = motion.pose_at(held.hand_to_world, held.hand_rate, 0.02)
    np.testing.assert_allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-12)
    assert np.abs(held.hand_rate).max() > 0.01


def test_exposure_share_and_the_other_draws_unchanged():
    base = effects.sample_effects(np.random.default_rng(4), 1, 9)
    fx = effects.sample_effects(np.random.default_rng(4), 1, 9, 0.3, (0.004, 0.04))
    assert base.exposure_s == 0.0 and {**fx.to_dict(), "exposure_s": 0.0} == base.to_dict()
    e = np.array([effects.sample_exposure(1, i, 0.3, (0.004, 0.04)) for i in range(2000)])
    assert 0.26 < (e > 0).mean() < 0.34 and e[e > 0].min() >= 0.004 and e.max() <= 0.04


def _tiny_renderer(tmp_path, exposure):
    from hopgen.assets.manifest import load_manifest
    from hopgen.config import load_generation_config
    from hopgen.episode.plan import plan_episode
    from hopgen.blender.render_episode import EpisodeRenderer
    cfg = load_generation_config(TINY, ["dataset.num_samples=1", "dataset.frames_per_episode=1",
                                        "camera.motion_blur_probability=1", f"camera.exposure_s=[{exposure}, {exposure}]",
                                        "background.distractors=[0, 0]"])
    manifest = load_manifest()
    R = EpisodeRenderer(cfg, manifest, type("W", (), {"root": str(tmp_path)})(), threads=1)
    ep = plan_episode(cfg, manifest, 0)
    return R, ep, R.build_scene(ep)


@pytest.mark.bpy
def test_cycles_blur_changes_the_moving_hand_only_and_passes_stay_sharp(tmp_path):
    import bpy
    from hopgen.blender.passes import read_rgb_png, render_annotations, render_rgb
    from hopgen.episode.scene import annotation_core
    R, ep, sd = _tiny_renderer(tmp_path, 0.4)
    s, scene = ep.samples[0], bpy.context.scene
    out = {}
    for blurred in (True, False):
        if not blurred:
            s.effects.exposure_s = 0.0
        state, K, w2c = R.prepare_sample(ep, sd, s)
        assert scene.render.use_motion_blur == blurred
        px = annotation_core(R.cfg, sd, s, state, K, w2c, 96, 96)["camera"]["effects"]["motion_blur_px"]
        assert (px > 3.0) if blurred else px == 0.0
        render_rgb(scene, str(tmp_path / "b.png"))
        rgb = read_rgb_png(str(tmp_path / "b.png"), 96, 96).astype(int)
        passes = render_annotations(scene, groups={"hand": [R.hand], "object": [R.obj]})  # while keyed
        out[blurred] = rgb, passes
    (a, pa), (b, pb) = out[True], out[False]
    np.testing.assert_array_equal(pa["labels"], pb["labels"])
    np.testing.assert_allclose(pa["depth"], pb["depth"], atol=1e-5)  # the keyed pose: float32 round-off only
    for name in ("hand", "object"):
        np.testing.assert_array_equal(pa["masks"][name], pb["masks"][name])
    moving = pa["masks"]["hand"] | pa["masks"]["object"] | (pa["labels"] == 2)
    near = moving.copy()
    for _ in range(4):  # the streak reaches a few pixels beyond the sharp silhouette
        near = near | np.roll(near, 1, 0) | np.roll(near, -1, 0) | np.roll(near, 1, 1) | np.roll(near, -1, 1)
    diff = np.abs(a - b).sum(-1)
    assert diff[near].mean() > 3 * max(diff[~near].mean(), 1.0), (diff[near].mean(), diff[~near].mean())
