"""Skin of a subject (pure): per-subject detail parameters and per-vertex skin maps.

``skin_detail`` draws one subject's skin (how visible its veins are, pore, micro-relief, knuckle
wrinkle and crease depths, albedo variation, redness, roughness, noise offsets) from
``default_rng([dataset seed, SKIN_STREAM, crc32(subject id)])``: the same person looks the same in
every episode of a dataset, different people differ, and the draw is recorded in the annotation
(``subject.skin``). ``skin_maps`` turns a rest mesh and its 21 rest joints into the point
attributes the Blender skin shader reads (hopgen.blender.skin): palm side, knuckle/fingertip
redness, where veins show (back of the hand, wrist, forearm), where fine wrinkles are (back of the
knuckles, palm), and the rest coordinates in the hand frame, so the procedural textures stick to
the skin when the hand moves and veins run along the arm. Nothing here imports bpy.
"""
import zlib

import numpy as np

from hopgen.core.meshgeom import vertex_normals

SKIN_STREAM = 15  # default_rng([dataset seed, SKIN_STREAM, crc32(subject id)])

PALMAR_ATTRIBUTE = "hop_palmar"    # POINT FLOAT 0 back of the hand .. 1 palm side
FLUSH_ATTRIBUTE = "hop_flush"      # POINT FLOAT 0..1 redness at the knuckles and fingertips
VEIN_ATTRIBUTE = "hop_vein"        # POINT FLOAT 0..1 where superficial veins show
WRINKLE_ATTRIBUTE = "hop_wrinkle"  # POINT FLOAT 0..1 fine wrinkles (back of the knuckles, palm)
COORD_ATTRIBUTE = "hop_skin_co"    # POINT FLOAT_VECTOR rest position in the hand frame (m)
FLOAT_MAPS = (PALMAR_ATTRIBUTE, FLUSH_ATTRIBUTE, VEIN_ATTRIBUTE, WRINKLE_ATTRIBUTE)

FOREARM_REACH_M = 0.30  # maps fade out this far up the forearm from the wrist (MakeHuman bodies)


def _luminance(rgb):
    r, g, b = (float(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def skin_detail(seed, subject_id, skin_rgb):
    """The skin detail of subject ``subject_id`` (a JSON-able dict; hopgen.blender.skin reads it).

    Depths are millimetres of bump height, scales repeats per metre. Veins show through light skin
    more than through dark (vein_strength scaled by the tone's luminance)."""
    rng = np.random.default_rng([int(seed), SKIN_STREAM, zlib.crc32(str(subject_id).encode())])
    show = float(np.clip((_luminance(skin_rgb) - 0.02) / 0.35, 0.15, 1.0))
    u = rng.uniform
    d = {
        "vein_strength": u(0.35, 0.9) * show,
        "vein_scale": u(22.0, 38.0),          # vein network cells per metre (2.5-4.5 cm)
        "vein_width": u(0.045, 0.075),         # vein width as a fraction of a cell
        "vein_raise_mm": u(0.15, 0.4),
        "pore_depth_mm": u(0.008, 0.02),
        "pore_scale": u(1800.0, 3200.0),
        "relief_depth_mm": u(0.006, 0.016),    # the fine rhomboid grid of skin furrows
        "relief_scale": u(450.0, 800.0),
        "wrinkle_depth_mm": u(0.02, 0.05),     # knuckle wrinkles
        "wrinkle_scale": u(550.0, 900.0),
        "crease_depth_mm": u(0.05, 0.12),      # palm and finger flexion creases
        "albedo_variation": u(0.04, 0.1),
        "redness": u(0.08, 0.2),
        "roughness": u(0.38, 0.5),
        "offset": [float(x) for x in u(-50.0, 50.0, 3)],  # moves every noise pattern: no two subjects alike
    }
    return {k: (round(float(v), 6) if not isinstance(v, list) else [round(x, 6) for x in v]) for k, v in d.items()}


def _hand_frame(joints, side):
    from hopgen.avatars.rig import hand_frame
    return hand_frame(joints, side)


def _smoothstep(x, lo, hi):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def skin_maps(vertices, normals, joints, side, region=None):
    """Point attributes {FLOAT_MAPS name: (V,) float32 0..1, COORD_ATTRIBUTE: (V, 3) float32} of a rest
    mesh (``vertices``, unit ``normals``: (V, 3) in one frame, metres) whose hand on ``side`` has the
    21 contract ``joints`` (same frame). Hand frame: hopgen.avatars.rig.hand_frame (y from the wrist
    to the middle MCP, z to the palm side). ``region``: optional (V,) weight 0..1 limiting every map
    (a body's maps exist only on this hand and its forearm); default: within FOREARM_REACH_M of the
    wrist along the arm and 7 cm of its axis."""
    joints = np.asarray(joints, np.float64)
    f = _hand_frame(joints, side)
    local = (np.asarray(vertices, np.float64) - f[:3, 3]) @ f[:3, :3]   # x radial, y distal, z palmar
    n_local = np.asarray(normals, np.float64) @ f[:3, :3]
    y = local[:, 1]
    if region is None:
        off_axis = np.linalg.norm(local[:, [0, 2]], axis=1)
        arm = (y < 0.02) * (1.0 - _smoothstep(-y, FOREARM_REACH_M - 0.04, FOREARM_REACH_M)) \
            * (1.0 - _smoothstep(off_axis, 0.06, 0.07))
        to_joint = np.min(np.linalg.norm(np.asarray(vertices)[:, None, :] - joints[None], axis=2), axis=1)
        region = np.maximum(arm, 1.0 - _smoothstep(to_joint, 0.03, 0.04))
    region = np.clip(np.asarray(region, np.float64), 0.0, 1.0)
    # The palm side; on the forearm only a hint of it (the inner forearm is a little lighter).
    palmar = _smoothstep(n_local[:, 2], -0.2, 0.5) * (0.3 + 0.7 * _smoothstep(y, -0.02, 0.01))

    def near(ids, radius):
        d = np.min(np.linalg.norm(np.asarray(vertices)[:, None, :] - joints[None, ids, :], axis=2), axis=1)
        return np.clip(1.0 - d / radius, 0.0, 1.0)

    dorsal = 1.0 - palmar
    knuckles = near([2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19], 0.014) * dorsal
    tips = near([4, 8, 12, 16, 20], 0.016)
    flush = np.maximum(knuckles, tips)
    y_mcp = float(((joints[[5, 9, 13, 17]] - f[:3, 3]) @ f[:3, :3])[:, 1].mean())
    # Wrinkles: the back of the finger joints (PIP, DIP, thumb MCP/IP), fainter over the MCP knuckles; the palm.
    # (joint centres lie ~8-10 mm under the skin of the back of a finger: full weight out to 10 mm)
    def around(ids, inner, outer):
        d = np.min(np.linalg.norm(np.asarray(vertices)[:, None, :] - joints[None, ids, :], axis=2), axis=1)
        return 1.0 - _smoothstep(d, inner, outer)
    wrinkle = np.maximum(around([2, 3, 6, 7, 10, 11, 14, 15, 18, 19], 0.010, 0.015) * dorsal,
                         0.5 * around([5, 9, 13, 17], 0.012, 0.017) * dorsal)
    in_palm = _smoothstep(y, 0.0, 0.015) * (1.0 - _smoothstep(y, y_mcp - 0.01, y_mcp + 0.005))
    wrinkle = np.maximum(wrinkle, 0.6 * palmar * in_palm)
    # Veins: the dorsal venous network between wrist and knuckles, and the wrist and forearm all round.
    back = dorsal * _smoothstep(y, 0.004, 0.02) * (1.0 - _smoothstep(y, y_mcp - 0.03, y_mcp - 0.01))
    arm = 0.75 * (1.0 - _smoothstep(y, -0.005, 0.01)) * (1.0 - _smoothstep(-y, FOREARM_REACH_M - 0.08, FOREARM_REACH_M - 0.02))
    vein = np.maximum(back, arm)
    out = {PALMAR_ATTRIBUTE: palmar, FLUSH_ATTRIBUTE: flush, VEIN_ATTRIBUTE: vein, WRINKLE_ATTRIBUTE: wrinkle}
    out = {k: (np.clip(v, 0.0, 1.0) * region).astype(np.float32) for k, v in out.items()}
    out[COORD_ATTRIBUTE] = local.astype(np.float32)
    return out


def hand_skin_maps(mesh, shape):
    """skin_maps of a procedural HandMesh at rest (joints from forward kinematics of ``shape``)."""
    from hopgen.hand.kinematics import forward_kinematics, neutral_angles
    j0, _ = forward_kinematics(shape, neutral_angles(), mesh.side)
    return skin_maps(mesh.rest_vertices, mesh.normals, j0, mesh.side, region=np.ones(len(mesh.rest_vertices)))


def body_skin_maps(vertices, triangles, hand_joints_by_side):
    """skin_maps of a body mesh at rest (``vertices`` (V, 3), ``triangles`` (T, 3)) with maps on both
    hands: ``hand_joints_by_side`` {side: (21, 3) rest joints}. Each vertex takes the maps of the
    hand whose wrist is nearer (its coordinates in that hand's frame; the left frame is the mirror of the right)."""
    v = np.asarray(vertices, np.float64)
    n = vertex_normals(v, np.asarray(triangles))
    per, dist = [], []
    for side, joints in sorted(hand_joints_by_side.items()):
        per.append(skin_maps(v, n, joints, side))
        dist.append(np.linalg.norm(v - np.asarray(joints)[0], axis=1))
    pick = np.argmin(np.stack(dist), axis=0)
    return {k: np.choose(pick[:, None] if per[0][k].ndim == 2 else pick, [m[k] for m in per]).astype(np.float32)
            for k in per[0]}


def subject_skin(cfg, scene):
    """skin_detail of an EpisodeScene's subject under ``cfg`` (None when render.skin_detail is off):
    what the renderer builds and the annotation records as ``subject.skin``."""
    if not cfg.render.skin_detail:
        return None
    rgb = getattr(scene, "skin_rgb", None) or scene.subject.skin_rgb
    return skin_detail(cfg.dataset.seed, scene.subject.id, rgb)
