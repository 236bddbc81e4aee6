"""Automatic grasp synthesis (pure numpy): taxonomy, placement, closing, scoring, episodes.

    from hopgen.grasp import synthesize_grasp, grasp_episode
    g = synthesize_grasp("f01", "right", object_geometry, np.random.default_rng([seed, i]))
    frames = grasp_episode(g, rng, num_frames=8)
"""

from hopgen.grasp.taxonomy import (GRASP_TYPES, TAXONOMY, GraspConfigError, GraspType, default_type_probs,  # noqa: F401
                       type_probs_for, validate_type_probs)
from hopgen.grasp.episode import PHASES, EpisodeFrame, frame_timing, grasp_episode  # noqa: F401
from hopgen.grasp.synthesis import Grasp, GraspFailedError, hand_model, synthesize_grasp  # noqa: F401
