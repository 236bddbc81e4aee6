"""Episodes: approach -> grasp -> hold frames of one synthesised grasp.

approach: the hand in its open pre-shape slides in along the approach direction and ends
          where the fingers start closing;
grasp:    the joint angles interpolate from the pre-shape to the closed grasp;
hold:     hand and object move together rigidly (lifted and turned), the hand pose relative
          to the object fixed.
"""

import numpy as np

PHASES = ("approach", "grasp", "hold")


def _rotation(axis, angle):
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def split_frames(num_frames, phases):
    """Frames per phase: as even as possible, earlier phases take the remainder."""
    n = len(phases)
    return [num_frames // n + (1 if i < num_frames % n else 0) for i in range(n)]


def grasp_episode(grasp, rng, num_frames, phases=PHASES, object_to_world=None,
                  approach_distance=(0.06, 0.14), lift=(0.04, 0.12), max_turn=0.6):
    """Frames of an episode -> list of dicts (phase, frame, t, angles (NUM_DOF,),
    hand_to_world (4, 4), object_to_world (4, 4)).

    grasp: a synthesis.Grasp; rng: numpy Generator (draws the approach distance, the lift
    height and the hold rotation); object_to_world: the object's resting pose (identity by
    default); world +z is up. `t` runs in (0, 1] inside a phase (approach from 0).
    """
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        raise ValueError(f"grasp_episode: phases must be a non-empty subset of {PHASES}, got {list(phases)}")
    if num_frames < 1:
        raise ValueError(f"grasp_episode: num_frames must be >= 1, got {num_frames}")
    obj0 = np.eye(4) if object_to_world is None else np.asarray(object_to_world, dtype=np.float64)
    dist = rng.uniform(*approach_distance)
    height = rng.uniform(*lift)
    turn_axis = rng.normal(size=3)
    turn = rng.uniform(-max_turn, max_turn)
    h2o = np.asarray(grasp.hand_to_object)
    direction = np.asarray(grasp.approach_direction)
    centre = obj0[:3, :3] @ np.asarray(grasp.contact_centre()) + obj0[:3, 3]
    frames = []
    for phase, count in zip(phases, split_frames(num_frames, phases)):
        for k in range(count):
            t = k / count if phase == "approach" else (k + 1) / count
            obj = obj0.copy()
            angles = np.asarray(grasp.angles, dtype=np.float64).copy()
            pose = h2o.copy()
            if phase == "approach":
                pose[:3, 3] = h2o[:3, 3] - (1.0 - t) * dist * direction
                angles = np.asarray(grasp.preshape, dtype=np.float64).copy()
            elif phase == "grasp":
                angles = (1 - t) * np.asarray(grasp.preshape) + t * np.asarray(grasp.angles)
            else:  # hold: lift and turn hand + object about the grasp centre
                move = np.eye(4)
                r = _rotation(turn_axis, turn * t)
                move[:3, :3] = r
                move[:3, 3] = centre - r @ centre + np.array([0.0, 0.0, height * t])
                obj = move @ obj0
            frames.append({"phase": phase, "frame": len(frames), "t": float(t), "angles": angles,
                           "hand_to_world": obj @ pose, "object_to_world": obj})
    return frames


def frame_to_dict(frame):
    """JSON-friendly copy of an episode frame."""
    return {k: (np.round(v, 9).tolist() if isinstance(v, np.ndarray) else v) for k, v in frame.items()}
