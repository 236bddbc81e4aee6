"""Build an episode from its plan (pure): avatar, object geometry, synthesised grasp, animated
frames, and the camera of each sample. Blender only turns the result into pixels.

``build_episode`` only dispatches on the avatar kind: procedural hands (hopgen.episode.procedural)
or rigged avatars, MakeHuman bodies and rigged files (hopgen.episode.body); what both share lives
in hopgen.episode.scene. Everything is drawn from the generators seeded in the plan, so an episode
(and every sample in it) depends only on (config, manifest, seed, id).
"""

from hopgen.episode.body import build_body_episode
from hopgen.episode.procedural import build_hand_episode


def build_episode(cfg, manifest, spec):
    """The EpisodeScene of plan ``spec``: synthesised grasp and the animated frames its samples show."""
    avatar = manifest.avatar(spec.avatar)
    if avatar.kind == "procedural":
        return build_hand_episode(cfg, manifest, spec, avatar)
    return build_body_episode(cfg, manifest, spec, avatar)
