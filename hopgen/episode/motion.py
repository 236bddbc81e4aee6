"""Motion blur from the grasp animation (pure): where the hand and the object are while the shutter
is open. A frame's hand and object poses change at the rates hopgen.grasp.episode records (rigid
motion: the approach slide, the lift and turn of the hold; the fingers closing is not blurred).
Blender renders the beauty image with Cycles motion blur over these poses; the annotation passes
render the frame itself (the centre of the exposure), so labels, masks and depth stay sharp.
"""

import numpy as np

from hopgen.core import camera as cam

MIN_BLUR_PX = 0.05  # below this the hand's streak is invisible: render without motion blur (cheaper)


def pose_at(pose, rate, tau):
    """(4,4) rigid pose `tau` seconds after `pose` (4,4), moving at `rate` (4,4, d pose / dt):
    first order, with the rotation made orthonormal again (nearest rotation, SVD)."""
    m = np.asarray(pose, np.float64) + float(tau) * np.asarray(rate, np.float64)
    u, _, vt = np.linalg.svd(m[:3, :3])
    m[:3, :3] = u @ vt
    m[3] = (0.0, 0.0, 0.0, 1.0)
    return m


def exposure(sample, state):
    """Seconds the shutter is open for motion blur, 0.0 when the sample is not blurred (no camera
    effects, no exposure drawn, or a frame without rates: rigged avatars, whose body would deform)."""
    fx = sample.effects
    if fx is None or not getattr(fx, "exposure_s", 0.0) or state.hand_rate is None:
        return 0.0
    return float(fx.exposure_s)


def blur_px(state, K, w2c, exposure_s):
    """Longest image streak of the hand (px): max over its skin points of the distance between
    where they are when the shutter opens and when it closes."""
    if exposure_s <= 0 or state.hand_rate is None:
        return 0.0
    pts = state.hand_points if state.hand_points is not None else state.vertices
    inv = np.linalg.inv(state.hand_to_world)
    uv = [cam.project(K, cam.transform(w2c @ pose_at(state.hand_to_world, state.hand_rate, tau) @ inv, pts))
          for tau in (-0.5 * exposure_s, 0.5 * exposure_s)]
    return float(np.linalg.norm(uv[1] - uv[0], axis=1).max())


def motion_keys(state, exposure_s):
    """World deltas of the moving parts at the exposure's ends, for a shutter of one frame centred
    on the frame: {"hand": (before, after), "object": (before, after)}, each (4,4) with
    delta @ pose = the pose at -exposure_s / +exposure_s (Blender keys them one frame either side)."""
    out = {}
    for name, pose, rate in (("hand", state.hand_to_world, state.hand_rate),
                             ("object", state.object_to_world, state.object_rate)):
        inv = np.linalg.inv(pose)
        out[name] = tuple(pose_at(pose, rate, tau) @ inv for tau in (-exposure_s, exposure_s))
    return out


def blurred_px(state, K, w2c, exposure_s):
    """blur_px where the sample is rendered with motion blur, 0.0 where it is not (below MIN_BLUR_PX):
    the annotation's camera.effects.motion_blur_px."""
    px = blur_px(state, K, w2c, exposure_s)
    return round(px, 3) if px >= MIN_BLUR_PX else 0.0
