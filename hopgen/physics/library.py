"""Held grasps for render jobs: the `grasp.require_physics` option and the grasp library.

A farm's Blender has no MuJoCo, so held grasps are computed once outside Blender:

    hopgen grasps build --config C --out LIB.json      # every planned episode's grasp, hold-tested

writes {"format": "hopgen-grasp-library-1", "config_digest", "grasps": {key: Grasp.to_dict()}}
keyed by library_key(object, object seed, avatar, side, grasp seed) of each episode plan; a
render with grasp.require_physics: true and grasp.library: LIB.json reads its grasps from
there (pure JSON: any Python, Blender's included). Without a library the render synthesises
with the hold test in the loop where MuJoCo imports, and otherwise fails before rendering.
Pure module (numpy + stdlib); the library is built by hopgen.render.grasp_library (needs MuJoCo).
"""

import json
import os

import numpy as np

LIBRARY_FORMAT = "hopgen-grasp-library-1"
_LIBRARIES = {}


class GraspLibraryError(ValueError):
    """A grasp library file is missing, malformed or lacks an episode's grasp."""


def library_key(object_name, object_seed, avatar, side, grasp_seed):
    """The library key of one episode's grasp."""
    return f"{object_name}|{int(object_seed)}|{avatar}|{side}|{int(grasp_seed)}"


def _field(spec, name):
    return spec[name] if isinstance(spec, dict) else getattr(spec, name)


def spec_key(spec):
    """library_key of an episode plan (EpisodeSpec, or its dict form)."""
    return library_key(*(_field(spec, k) for k in ("object", "object_seed", "avatar", "side", "grasp_seed")))


def grasp_from_dict(d):
    """The synthesis.Grasp of a Grasp.to_dict() dict."""
    from hopgen.grasp.synthesis import Grasp
    from hopgen.hand import kinematics as kin
    arr = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    return Grasp(d["type"], d["subject"], d["side"], d["object"], d["category"],
                 arr([d["joint_angles"][n] for n in kin.DOF_NAMES]), arr([d["preshape"][n] for n in kin.DOF_NAMES]),
                 arr(d["hand_to_object"]), arr(d["approach_direction"]),
                 [{**c, "point": list(c["point"])} for c in d["contacts"]], list(d["fingers_in_contact"]),
                 bool(d["palm_contact"]), float(d["max_penetration_mm"]), float(d["thumb_opposition"]),
                 bool(d["held"]), float(d["score"]), int(d["attempts"]), dict(d.get("failures", {})),
                 d.get("physics"))


def load_library(path):
    """{key: grasp dict} of a library file (cached per path and modification time)."""
    try:
        stamp = os.path.getmtime(path)
    except OSError:
        raise GraspLibraryError(f"grasp.library: {path}: no such file") from None
    hit = _LIBRARIES.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise GraspLibraryError(f"grasp.library: {path}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict) or data.get("format") != LIBRARY_FORMAT or not isinstance(data.get("grasps"), dict):
        raise GraspLibraryError(f"grasp.library: {path}: not a grasp library (format {LIBRARY_FORMAT!r} expected)")
    _LIBRARIES[path] = (stamp, data["grasps"])
    return data["grasps"]


def check_physics_ready(cfg, blender_binary=False):
    """Raise (before any rendering) when grasp.require_physics cannot be met: no library and no
    MuJoCo here, or render workers in a Blender binary (whose own Python has no MuJoCo)."""
    if not cfg.grasp.require_physics:
        return
    if cfg.grasp.library:
        load_library(cfg.grasp.library)
        return
    from hopgen import physics
    try:
        if blender_binary:
            raise physics.PhysicsUnavailableError("render workers run in a Blender binary, whose Python has "
                                                  "no MuJoCo")
        physics.simulator()
    except physics.PhysicsUnavailableError as e:
        raise physics.PhysicsUnavailableError(
            "grasp.require_physics is set but there is no grasp.library and the simulator is missing "
            f"({e}); build a library outside Blender with `hopgen grasps build --config C --out LIB.json` "
            "and set grasp.library: LIB.json") from None


def planned_grasp(cfg, spec, subject, geom, type_probs=None):
    """The grasp of episode plan `spec`: synthesised as usual, or (grasp.require_physics) read from
    the library / synthesised with the hold test in the loop."""
    from hopgen.grasp import synthesize_grasp
    side, seed = _field(spec, "side"), _field(spec, "grasp_seed")
    rng = np.random.default_rng(seed)
    if not cfg.grasp.require_physics:
        return synthesize_grasp(subject, side, geom, rng, type_probs=type_probs, max_attempts=cfg.grasp.max_attempts)
    if cfg.grasp.library:
        lib = load_library(cfg.grasp.library)
        key = spec_key(spec)
        if key not in lib:
            raise GraspLibraryError(f"grasp.library: {cfg.grasp.library}: no grasp for episode "
                                    f"{_field(spec, 'episode')} ({key}); rebuild it with `hopgen grasps build` "
                                    "for this config")
        return grasp_from_dict(lib[key])
    check_physics_ready(cfg)
    from hopgen import physics
    return synthesize_grasp(subject, side, geom, rng, type_probs=type_probs, max_attempts=cfg.grasp.max_attempts,
                            physics=physics.hold_test(geom))
