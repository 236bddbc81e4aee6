"""Camera rules around the hand (pure): the planned viewpoint is turned about the hand until it

- sees the forearm leave the frame (a bodiless forearm whose far end is inside the image is a
  floating tube; rule "arm_end_in_frame"),
- sits above the support surface and in front of a sweep's wall, outside every distractor, with no
  distractor between the lens and the hand unless the sample drew the foreground-occluder case
  (hopgen.episode.surroundings.camera_problems).

Tries: azimuth turns TURNS_DEG, each with elevation raised by RAISES_DEG (a camera under the table
top comes up). The first try that breaks no rule is taken; when none is clean the one breaking the
fewest rules is, and the record names what it breaks. Only when no try can be placed at all (the
27 cm forearm reaches the lens from every direction at a short planned distance) the planned
distance is scaled up by DISTANCE_SCALES, in order, and the tries are repeated. The record goes into
the annotation (camera.placement).
"""

import math
from dataclasses import replace

import numpy as np

from hopgen.core import camera as cam
from hopgen.episode import surroundings

TURNS_DEG = (0, 35, -35, 70, -70, 105, -105, 140, -140, 180)
RAISES_DEG = (0, 20, 40)
DISTANCE_SCALES = (1.0, 1.3, 1.7, 2.2)


def arm_end_in_frame(K, w2c, state, width, height):
    """True when the far end of a bodiless forearm projects inside the image."""
    if state.arm_end is None:
        return False
    p = cam.transform(w2c, np.asarray(state.arm_end, np.float64)[None])[0]
    if p[2] <= 0:
        return False
    u, v = cam.project(K, p[None])[0]
    return bool(-0.5 <= u <= width - 0.5 and -0.5 <= v <= height - 0.5)


def camera_tries(c):
    """CameraChoices to try, the planned one first."""
    out = []
    for raise_deg in RAISES_DEG:
        for turn in TURNS_DEG:
            el = min(c.elevation + math.radians(raise_deg), math.radians(85.0))
            out.append((turn, raise_deg, replace(c, azimuth=c.azimuth + math.radians(turn), elevation=el)))
    return out


def view_problems(K, w2c, state, looks, choice, width, height):
    """Names of the rules the camera (K, w2c) breaks for this frame and these surroundings."""
    eye = cam.invert_rigid(w2c)[:3, 3]
    problems = []
    if arm_end_in_frame(K, w2c, state, width, height):
        problems.append("arm_end_in_frame")
    if looks is not None:
        pts = state.hand_points if state.hand_points is not None else state.vertices
        problems += surroundings.camera_problems(eye, pts, looks.backdrop, looks.distractors,
                                                 allow_foreground=choice.foreground_occluder)
    return problems


def place_in_scene(cfg, sample, state, width, height, looks, base):
    """(K, w2c, record) of one sample: the first camera try that breaks no rule (see module doc).

    base: the single-view placement, base(cfg, sample, state, width, height) -> (K, w2c)
    (hopgen.episode.scene.place_camera)."""
    best = None
    for scale in DISTANCE_SCALES:
        planned = replace(sample.camera, distance=sample.camera.distance * scale)
        for turn, raise_deg, choice in camera_tries(planned):
            try:
                K, w2c = base(cfg, replace(sample, camera=choice), state, width, height)
            except ValueError:
                continue
            problems = view_problems(K, w2c, state, looks, choice, width, height)
            if best is None or len(problems) < len(best[2]):
                best = (K, w2c, problems, turn, raise_deg, scale)
            if not problems:
                break
        if best is not None:
            break
    if best is None:
        raise ValueError(f"no camera around the hand: the forearm reaches the lens from every try, even at "
                         f"{DISTANCE_SCALES[-1]} x the planned distance {sample.camera.distance:.3f} m")
    K, w2c, problems, turn, raise_deg, scale = best
    record = {"turn_deg": turn, "raise_deg": raise_deg, "distance_scale": scale, "breaks": problems,
              "hand_share": sample.camera.hand_share,
              "foreground_occluder": bool(looks is not None and surroundings.occluding_distractors(
                  cam.invert_rigid(w2c)[:3, 3], state.hand_points if state.hand_points is not None else state.vertices,
                  looks.distractors))}
    return K, w2c, record
