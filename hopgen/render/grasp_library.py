"""`hopgen grasps build`: the hold-tested grasp of every planned episode, written as a grasp library
(hopgen.physics.library reads it; docs/physics.md). Runs outside Blender: needs the physics extra."""


def episode_subject(manifest, spec):
    """The hand subject of episode plan `spec`: a built-in subject, or a body avatar's proxy."""
    avatar = manifest.avatar(spec.avatar)
    if avatar.kind == "procedural":
        from hopgen.hand.subjects import get_subject
        return get_subject(avatar.name)
    from hopgen.episode.body import body_subject
    return body_subject(avatar, spec.side)[2]


def build_library(cfg, manifest, out, progress=None):
    """Synthesise (hold test in the loop) the grasp of every planned episode and write the library
    atomically to `out`. Returns {"grasps": n, "failed": [...]}; an episode with no held grasp
    is listed, not written (its render then fails with a message naming it)."""
    from hopgen import physics
    from hopgen.config import config_digest
    from hopgen.physics.library import LIBRARY_FORMAT, planned_grasp, spec_key
    from hopgen.core.atomic import atomic_write_json
    from hopgen.episode.scene import load_object_geometry
    from hopgen.episode.plan import num_episodes, plan_episode
    from hopgen.grasp import GraspFailedError
    physics.simulator()
    grasps, failed = {}, []
    n = num_episodes(cfg)
    for e in range(n):
        spec = plan_episode(cfg, manifest, e)
        key = spec_key(spec)
        if key not in grasps:
            geom = load_object_geometry(manifest.object(spec.object), spec.object_seed)
            type_probs = cfg.grasp.type_probabilities.get(spec.category) if cfg.grasp.type_probabilities else None
            try:
                grasps[key] = planned_grasp(cfg, spec, episode_subject(manifest, spec), geom, type_probs).to_dict()
            except GraspFailedError as err:
                failed.append({"episode": e, "key": key, "error": str(err)})
        if progress:
            progress(e + 1, n)
    atomic_write_json(out, {"format": LIBRARY_FORMAT, "config_digest": config_digest(cfg), "grasps": grasps},
                      indent=None)
    return {"grasps": len(grasps), "failed": failed}
