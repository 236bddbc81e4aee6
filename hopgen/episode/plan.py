"""Sample planning: (config, manifest, root seed, sample id) -> a typed episode spec
(hopgen.episode.spec; JSON through to_dict / from_dict).

Samples are grouped in episodes (same subject, side, object, grasp; `frames_per_episode` frames
along approach -> grasp -> hold, each seen from `views_per_frame` cameras) so a scene is built once
and rendered many times. Episode-level choices come from `default_rng([seed, 1, episode])`,
sample-level ones (camera, crop jitter) from `default_rng([seed, 2, sample])`, so a sample never
depends on sharding, worker count, resume or rendering order. Shards are sets of whole episodes.

Held-out objects (`dataset.holdout_objects_per_category` per category, chosen from the seed) are
used only by test episodes, which make up `dataset.test_fraction` of the episodes: test objects are
unseen in training, as the default split requires.
"""

import math

import numpy as np

from hopgen.core.skeleton import CATEGORIES
from hopgen.episode.effects import sample_effects
from hopgen.episode.spec import BackgroundChoice, CameraChoice, EpisodeSpec, HdriChoice, Lamp, SampleSpec

EPISODE_STREAM = 1
SAMPLE_STREAM = 2
SPLIT_STREAM = 3


class ShardError(ValueError):
    pass


def parse_shard(text):
    """'I/N' -> (I, N) with 0 <= I < N."""
    try:
        i, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. 0/8") from None
    if n < 1 or not 0 <= i < n:
        raise ShardError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def samples_per_episode(cfg):
    return cfg.dataset.frames_per_episode * cfg.dataset.views_per_frame


def num_episodes(cfg):
    return math.ceil(cfg.dataset.num_samples / samples_per_episode(cfg))


def episode_samples(cfg, episode):
    """Sample indices of `episode` (the last episode may be partial)."""
    k = samples_per_episode(cfg)
    return list(range(episode * k, min((episode + 1) * k, cfg.dataset.num_samples)))


def shard_episodes(cfg, shard=(0, 1)):
    i, n = shard
    return [e for e in range(num_episodes(cfg)) if e % n == i]


def holdout_objects(cfg, manifest):
    """Object names held out for the test split: per category, chosen from the root seed."""
    rng = np.random.default_rng([cfg.dataset.seed, SPLIT_STREAM])
    chosen = []
    for cat in CATEGORIES:
        names = sorted(o.name for o in manifest.objects if o.category == cat)
        k = min(cfg.dataset.holdout_objects_per_category, max(len(names) - 1, 0))
        if k:
            chosen += [names[j] for j in sorted(rng.choice(len(names), size=k, replace=False))]
    return chosen


def _uniform(rng, r):
    return float(rng.uniform(r[0], r[1]))


def _choice(rng, probs):
    keys = sorted(probs)
    p = np.array([probs[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def is_test_episode(cfg, episode):
    """Test episodes are a fixed, seed-determined fraction of all episodes."""
    u = np.random.default_rng([cfg.dataset.seed, SPLIT_STREAM, episode]).random()
    return bool(u < cfg.dataset.test_fraction)


def plan_episode(cfg, manifest, episode):
    """Everything an episode shares: avatar, side, object, grasp seed, lights, background, sleeve."""
    rng = np.random.default_rng([cfg.dataset.seed, EPISODE_STREAM, episode])
    avatars = [a for a in manifest.avatars if not cfg.avatar.subjects or a.name in cfg.avatar.subjects]
    if not avatars:
        raise ValueError(f"avatar.subjects {cfg.avatar.subjects} matches no avatar in the manifest")
    held = set(holdout_objects(cfg, manifest))
    test = is_test_episode(cfg, episode)
    pool = [o for o in manifest.objects if (o.name in held) == test] or list(manifest.objects)
    # Balance categories (the paper's 4 categories) before picking an object within one.
    cats = sorted({o.category for o in pool}, key=CATEGORIES.index)
    cat = cats[int(rng.integers(len(cats)))]
    objects = [o for o in pool if o.category == cat]
    obj = objects[int(rng.integers(len(objects)))]
    avatar = avatars[int(rng.integers(len(avatars)))]
    side = "left" if rng.random() < cfg.avatar.left_probability else "right"
    lights = []
    for _ in range(cfg.lighting.point_lamps):
        lights.append(Lamp(azimuth=float(rng.uniform(0, 2 * np.pi)), elevation=float(rng.uniform(0.1, 1.3)),
                           distance=_uniform(rng, cfg.lighting.lamp_distance_m),
                           power_w=_uniform(rng, cfg.lighting.lamp_power_w),
                           colour_temperature_k=float(rng.uniform(3200, 6500))))
    background = _choice(rng, cfg.background.kinds)
    fallback = None
    if background == "photo" and not manifest.photo_files():
        # No photo folder in the manifest: an HDRI seen behind the scene is the photographic
        # fallback (not a plain backdrop); recorded in the spec.
        background, fallback = "hdri", "photo"
    photos = manifest.photo_files()
    # The draws below happen in this order (keyword arguments are evaluated left to right).
    spec = EpisodeSpec(
        episode=episode,
        split="test" if test else "trainval",
        avatar=avatar.name, avatar_kind=avatar.kind, side=side,
        object=obj.name, category=obj.category, object_seed=int(rng.integers(2 ** 31)),
        grasp_seed=int(rng.integers(2 ** 31)),
        appearance_seed=int(rng.integers(2 ** 31)),
        sleeve=bool(rng.random() < cfg.avatar.sleeve_probability),
        lights=lights,
        # An HDRI background is always lit by its HDRI; other backgrounds use it as lighting by chance.
        hdri=HdriChoice(use=bool(rng.random() < cfg.lighting.hdri_probability) or background == "hdri",
                        index=int(rng.integers(1 << 16)),
                        rotation=float(rng.uniform(0, 2 * np.pi)), strength=_uniform(rng, cfg.lighting.hdri_strength)),
        background=BackgroundChoice(kind=background, seed=int(rng.integers(2 ** 31)),
                                    photo=photos[int(rng.integers(len(photos)))] if background == "photo" else None,
                                    fallback_from=fallback),
        distractors=int(rng.integers(cfg.background.distractors[0], cfg.background.distractors[1] + 1)),
    )
    nviews = cfg.dataset.views_per_frame
    for i in episode_samples(cfg, episode):
        spec.samples.append(plan_sample(cfg, i, (i % samples_per_episode(cfg)) // nviews))
    return spec


def plan_sample(cfg, index, frame):
    """Per-sample camera choices (SampleSpec); the camera is placed around the hand at build time from these."""
    rng = np.random.default_rng([cfg.dataset.seed, SAMPLE_STREAM, index])
    cam = cfg.camera
    choice = CameraChoice(
        rig=_choice(rng, cam.rigs),
        distance=_uniform(rng, cam.distance_m),
        azimuth=float(rng.uniform(-np.pi, np.pi)),
        elevation=math.radians(_uniform(rng, cam.elevation_deg)),
        roll=math.radians(_uniform(rng, cam.roll_deg)),
        focal_mm=_uniform(rng, cam.focal_mm),
        jitter=[float(x) for x in rng.uniform(-cam.crop_jitter, cam.crop_jitter, size=2)],
    )
    # Drawn after the choices above, so adding them left every earlier draw as it was.
    choice.hand_share = _uniform(rng, cam.hand_share)
    choice.foreground_occluder = bool(rng.random() < cam.foreground_occluder_probability)
    fx = sample_effects(rng, cfg.dataset.seed, index, cam.motion_blur_probability, cam.exposure_s) if cam.effects else None
    return SampleSpec(index=index, frame=frame, seed=[cfg.dataset.seed, index], camera=choice, effects=fx)


def plan(cfg, manifest, shard=(0, 1)):
    """EpisodeSpecs of one shard, in episode order."""
    return [plan_episode(cfg, manifest, e) for e in shard_episodes(cfg, shard)]
