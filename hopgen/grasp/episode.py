"""Episodes: approach -> grasp -> hold frames of one synthesised grasp (the only animator).

approach: the hand in its open pre-shape slides in along the grasp's approach direction and
          ends where the fingers start closing;
grasp:    the joint angles interpolate from the pre-shape to the closed grasp;
hold:     hand and object move together rigidly (lifted and turned about the grasp centre),
          the hand pose relative to the object fixed.

Frames are spread evenly over the phases and end-aligned: the last frame is the end of the
last phase (with one frame and all phases: the object held and lifted), never the empty
start of the approach.
"""

from dataclasses import dataclass

import numpy as np

PHASES = ("approach", "grasp", "hold")
# How long each phase lasts in a real grasp, seconds (a reach ends slowly; lift and turn ~1 s).
PHASE_SECONDS = {"approach": 0.6, "grasp": 0.4, "hold": 0.8}
_RATE_STEP = 1e-4  # central difference step in phase progress t


@dataclass
class EpisodeFrame:
    """One animation frame; world +z is up, units metres."""

    frame: int
    phase: str
    t: float  # progress inside the phase, in (0, 1]
    angles: np.ndarray  # (NUM_DOF,) joint angles
    hand_to_world: np.ndarray  # (4, 4)
    object_to_world: np.ndarray  # (4, 4)
    hand_rate: np.ndarray = None    # (4, 4) d hand_to_world / dt, per second (rigid motion only)
    object_rate: np.ndarray = None  # (4, 4) d object_to_world / dt, per second

    def to_dict(self):
        """JSON-friendly copy (floats rounded to 1e-9)."""
        r = lambda a: (np.round(np.asarray(a, dtype=np.float64), 9) + 0.0).tolist()  # noqa: E731 (+0: no -0.0)
        return {"frame": self.frame, "phase": self.phase, "t": self.t, "angles": r(self.angles),
                "hand_to_world": r(self.hand_to_world), "object_to_world": r(self.object_to_world)}


def _rotation(axis, angle):
    """Rodrigues rotation (3, 3) about `axis` (3,, any length) by `angle` radians."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _rigid(rot, trans):
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot, trans
    return m


def frame_timing(num_frames, phases=PHASES):
    """(phase, t) of each frame: frame k sits at (k + 1) / num_frames of the whole episode,
    each phase taking an equal share; t in (0, 1] inside its phase (exact integer arithmetic,
    so a frame on a phase boundary ends the earlier phase)."""
    n, p = int(num_frames), len(phases)
    out = []
    for k in range(n):
        num = (k + 1) * p  # position along the episode, in units of 1/n phases
        seg = (num - 1) // n
        out.append((phases[seg], (num - seg * n) / n))
    return out


def grasp_episode(grasp, rng, num_frames, phases=PHASES, object_to_world=None,
                  approach_distance=(0.06, 0.14), lift=(0.03, 0.12), turn=(0.15, 0.6)):
    """Frames of an episode -> list of EpisodeFrame.

    grasp: a synthesis.Grasp (angles, preshape, hand_to_object, approach_direction,
    contact_centre()); rng: numpy Generator (draws, in this order, the object's rest yaw when
    object_to_world is None, the approach distance, the lift height and the hold rotation);
    object_to_world (4, 4): the object's resting pose (default: at the world origin, turned
    by a random yaw about +z); phases: a non-empty subsequence of PHASES.
    """
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        raise ValueError(f"grasp.phases: must be a non-empty subset of {list(PHASES)}, got {list(phases)}")
    if int(num_frames) < 1:
        raise ValueError(f"grasp episode: num_frames must be >= 1, got {num_frames}")
    if object_to_world is None:
        obj0 = _rigid(_rotation([0.0, 0.0, 1.0], rng.uniform(-np.pi, np.pi)), np.zeros(3))
    else:
        obj0 = np.asarray(object_to_world, dtype=np.float64)
    dist = rng.uniform(*approach_distance)
    height = rng.uniform(*lift)
    turn_axis = rng.normal(size=3)
    turn_angle = rng.uniform(*turn)
    h2o = np.asarray(grasp.hand_to_object, dtype=np.float64)
    direction = np.asarray(grasp.approach_direction, dtype=np.float64)
    pre, closed = np.asarray(grasp.preshape, np.float64), np.asarray(grasp.angles, np.float64)
    # Hold pivot: the grasp centre, so the object turns in the hand rather than swinging on the wrist.
    centre = obj0[:3, :3] @ np.asarray(grasp.contact_centre(), np.float64) + obj0[:3, 3]

    def poses(phase, t):
        obj, pose = obj0, h2o
        if phase == "approach":
            pose = _rigid(h2o[:3, :3], h2o[:3, 3] - (1.0 - t) * dist * direction)
        elif phase == "hold":
            r = _rotation(turn_axis, t * turn_angle)
            obj = _rigid(r, centre - r @ centre + np.array([0.0, 0.0, t * height])) @ obj0
        return obj @ pose, obj

    frames = []
    for k, (phase, t) in enumerate(frame_timing(num_frames, phases)):
        angles = {"approach": pre, "hold": closed}.get(phase, (1.0 - t) * pre + t * closed).copy()
        hand, obj = poses(phase, t)
        (h1, o1), (h0, o0) = poses(phase, t + _RATE_STEP), poses(phase, t - _RATE_STEP)
        per_s = 1.0 / (2 * _RATE_STEP * PHASE_SECONDS[phase])
        frames.append(EpisodeFrame(k, phase, float(t), angles, hand, obj.copy(), (h1 - h0) * per_s, (o1 - o0) * per_s))
    return frames
