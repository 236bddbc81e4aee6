import json

import pytest

from hopgen.config import load_generation_config
from hopgen.assets.manifest import AvatarEntry, BackgroundEntry, Manifest, ObjectEntry
from hopgen.episode.plan import ShardError, holdout_objects, num_episodes, parse_shard, plan, plan_episode
from hopgen.core.skeleton import CATEGORIES


def toy_manifest():
    objects = [ObjectEntry(name=f"{c}_{k}", category=c, source="procedural", generator="x")
               for c in CATEGORIES for k in range(4)]
    avatars = [AvatarEntry(name=f"s{k}", kind="procedural", sex="female" if k % 2 else "male") for k in range(4)]
    return Manifest(path=None, avatars=avatars, objects=objects,
                    backgrounds=[BackgroundEntry(name="b", kind="hdri")], digest="x")


def cfg(**kw):
    return load_generation_config(overrides=[f"{k}={v}" for k, v in kw.items()])


def by_index(episodes):
    episodes = [e.to_dict() for e in episodes]
    return {s["index"]: (json.dumps({k: v for k, v in e.items() if k != "samples"}, sort_keys=True), json.dumps(s, sort_keys=True))
            for e in episodes for s in e["samples"]}


@pytest.mark.parametrize("layout", [1, 2, 3, 7])
def test_same_specs_for_any_shard_layout(layout):
    c, m = cfg(**{"dataset.num_samples": 50, "dataset.frames_per_episode": 3, "dataset.views_per_frame": 2}), toy_manifest()
    whole = by_index(plan(c, m))
    parts = {}
    for i in range(layout):
        parts.update(by_index(plan(c, m, (i, layout))))
    assert parts == whole and sorted(whole) == list(range(50))


def test_seed_changes_plan_and_episodes_group_samples():
    m = toy_manifest()
    a = plan_episode(cfg(**{"dataset.seed": 1}), m, 3)
    b = plan_episode(cfg(**{"dataset.seed": 2}), m, 3)
    assert a != b
    assert [s.frame for s in a.samples] == [0, 1, 2, 3]
    assert num_episodes(cfg(**{"dataset.num_samples": 9})) == 3  # 4 frames x 1 view: last one partial


def test_test_split_holds_out_whole_objects():
    c, m = cfg(**{"dataset.num_samples": 800, "dataset.test_fraction": 0.25}), toy_manifest()
    held = set(holdout_objects(c, m))
    assert len(held) == 4 and {o.split("_")[0] for o in held} == set(CATEGORIES)
    eps = plan(c, m)
    for e in eps:
        assert (e.object in held) == (e.split == "test")
    frac = sum(e.split == "test" for e in eps) / len(eps)
    assert 0.15 < frac < 0.35


def test_parse_shard_errors():
    assert parse_shard("2/5") == (2, 5)
    for bad in ("5/5", "x", "1/0", "-1/3"):
        with pytest.raises(ShardError, match="--shard"):
            parse_shard(bad)


def test_hdri_backgrounds_are_lit_by_their_hdri():
    """Environment lighting is drawn by chance, except that an HDRI background always uses its HDRI."""
    c, m = cfg(**{"dataset.num_samples": 400, "lighting.hdri_probability": 0.3}), toy_manifest()
    episodes = plan(c, m)
    kinds = {e.background.kind for e in episodes}
    assert {"hdri", "backdrop"} <= kinds
    assert all(e.hdri.use for e in episodes if e.background.kind == "hdri")
    others = [e.hdri.use for e in episodes if e.background.kind != "hdri"]
    assert 0 < sum(others) < len(others)  # still random elsewhere


def test_spec_round_trips_through_json_and_names_bad_fields():
    from hopgen.episode.spec import EpisodeSpec, SpecError
    spec = plan_episode(cfg(**{"dataset.seed": 5}), toy_manifest(), 1)
    data = json.loads(json.dumps(spec.to_dict()))
    assert list(data) == ["episode", "split", "avatar", "avatar_kind", "side", "object", "category", "object_seed",
                          "grasp_seed", "appearance_seed", "sleeve", "lights", "hdri", "background", "distractors",
                          "samples"]
    back = EpisodeSpec.from_dict(data)
    assert back == spec and back.samples[0].camera.rig == spec.samples[0].camera.rig
    bad = json.loads(json.dumps(data))
    bad["samples"][0]["camera"]["zoom"] = 2
    with pytest.raises(SpecError, match=r"EpisodeSpec.samples\[0\].camera: unknown field 'zoom'"):
        EpisodeSpec.from_dict(bad)
    del data["grasp_seed"]
    with pytest.raises(SpecError, match="missing field 'grasp_seed'"):
        EpisodeSpec.from_dict(data)
    data["grasp_seed"] = "7"
    with pytest.raises(SpecError, match=r"EpisodeSpec.grasp_seed: expected int, got str"):
        EpisodeSpec.from_dict(data)
