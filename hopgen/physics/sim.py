"""The MuJoCo hold test of one grasp (needs the `physics` extra: pip install 'hopgen[physics]').

Scene (object frame = world frame, metres, kg, s):
- the object: a free body with the mass, centre of mass and inertia of its closed mesh at its
  density (hopgen.physics.model), collided as convex pieces (hopgen.physics.decompose), each
  with the skin friction of the material most of its surface has;
- the hand: a kinematic (mocap) body at the synthesised grasp carrying the posed hand mesh,
  split into pads (one convex piece per phalanx, the palm a 3 x 3 patchwork; decompose.follow_skin
  halves a piece near the object until its hull reaches at most 0.5 mm deeper than its skin).
  A hand is not a position-controlled rigid body: every pad within SPRUNG_WITHIN_M of the object
  is a dynamic body sprung to its synthesised pose along all three axes, so pads yield and share
  the load; farther pads are rigid. A pad's stiffness follows the skin it presses on (an elastic
  foundation, PAD_STIFFNESS_MODEL): SKIN_STIFFNESS (skin, pulp and finger, 2 N/mm) for a median
  fingertip's footprint, more for a phalanx or a palm patch lying flat on a face. The grip:
  the pads touching the object (within TOUCH_M) press on along their contact normal, their
  springs' targets moved inward: the grip force is regulated to the load as people do
  (Johansson & Westling 1984: GRIP_SAFETY x m g / mu, at least GRIP_MIN_N), shared over the
  pads to balance (grip_shares), and no target lies deeper than GRIP_DEPTH_M inside the
  surface counting the skin's own squeeze at the pose (the synthesis' 2 mm penetration bound):
  at most K x 1.9 mm per pad (3.8 N for a median fingertip).

Test: the grip builds up over SQUEEZE_S without gravity (the targets move in linearly); the
squeeze is quasi-static: a viscous drag (time constant SQUEEZE_DRAG_S) acts on the object during
the squeeze only, standing in for the slow closing and the viscoelastic pulp, so the object
settles where the compliant pads balance instead of being launched by the spring energy of the
synthesis penetrations (which happened without it: 0.01 J sent a can off at 0.2 m/s); no drag
afterwards. That phase is the same for every direction, so it is simulated once and each of the
6 directions +-x, +-y, +-z of the hand frame starts from its end state: gravity (9.81 m/s^2) is
ramped up along it over RAMP_S, held for HOLD_S, then the hand shakes (up to SHAKE_AMP_M at
SHAKE_HZ along all three axes under a smooth sin^2 envelope, peak acceleration about 0.15 g) for
SHAKE_S and rests SETTLE_S (0.65 s of simulated time per direction after the 0.1 s squeeze,
timestep 1 ms). The grasp holds when, in
every direction, the object (relative to the hand) never moves its centre of mass more than
MAX_DISPLACEMENT_M nor any surface point more than MAX_SURFACE_DISPLACEMENT_M (a rotation of a
long object moves its ends: a pencil rolling about its own axis barely moves its surface, a
bottle tipping 5 degrees moves its top 13 mm), counted from the synthesised pose (the squeeze
included); the largest rotation is reported too. Contacts within 1 mm are listed (margin) but
push only when they penetrate (gap = margin).
"""

import time
from dataclasses import asdict, dataclass, field

import numpy as np

try:
    import mujoco
except ImportError as e:  # pragma: no cover - exercised where the extra is missing
    raise ImportError("hopgen.physics.sim needs MuJoCo: pip install 'hopgen[physics]' (mujoco>=3.2); "
                      f"import failed: {e}") from None

from hopgen.core.skeleton import SEG_PALM
from hopgen.physics import decompose, epsilon, model

TIMESTEP = 0.001
GRAVITY = 9.81
SQUEEZE_S, RAMP_S, HOLD_S, SHAKE_S, SETTLE_S = 0.1, 0.1, 0.15, 0.25, 0.05
SHAKE_AMP_M, SHAKE_HZ = 0.002, 4.0
MAX_DISPLACEMENT_M = 0.01
MAX_SURFACE_DISPLACEMENT_M = 0.015
MAX_SURFACE_SAMPLES = 6000  # object surface samples the convex decomposition works on
MAX_GRID_SAMPLES = 40000  # the same with SAMPLE_SPACING's grid (a cutting board has ~30000)
# m: grid samples on large triangles (decompose.surface_samples; None: vertices and face centres
# only, the session-5 check, whose pieces of coarse meshes left holes: book 81%, carton 30%, can
# 43% of the surface > 2 mm uncovered; with the grid 4%, 0.1%, 1.0%; docs/physics.md, session 6).
SAMPLE_SPACING = 0.0025
SURFACE_POINTS = 256  # object vertices watched for the surface displacement
SKIN_STIFFNESS = 2000.0  # N/m: a fingertip pad's spring along each axis (skin, pulp and finger: 2 N per mm)
# How a pad's stiffness follows its contact (session 7). "area": an elastic foundation (Winkler
# bed of springs, the soft-finger model of Ciocarlie, Lackner & Allen 2007 in GraspIt!): soft
# tissue over bone pushes back in proportion to the skin area it is pressed over, so a pad's
# stiffness is SKIN_STIFFNESS x its footprint (pad_footprints) / REF_PAD_FOOTPRINT_M2, the
# median footprint of a whole fingertip pad (measured: docs/physics.md, session 7); a palm
# patch flat on a book cover is stiffer than a fingertip, and the halves follow_skin cuts a
# piece into share its stiffness instead of each getting a fingertip's. "per_pad": every
# pad SKIN_STIFFNESS whatever its size (sessions 5-6).
PAD_STIFFNESS_MODEL = "area"
REF_PAD_FOOTPRINT_M2 = 5.07e-5  # m^2: median whole-fingertip footprint, 1174 contacts of 280 grasps (session 7)
PAD_STIFFNESS_MAX = 4 * SKIN_STIFFNESS  # N/m: explicit springs stay stable at the 1 ms step (omega dt < 1)
GRIP_SAFETY = 2.0  # grip force = this x the least that friction needs to carry the weight
GRIP_PAD_MAX_N = 10.0  # N: at most this per pressing pad (GRIP_DEPTH_M caps it at 3.8 N first)
GRIP_DEPTH_M = 0.0019  # a pressing pad's spring target lies at most this deep inside the surface (2 mm rule)
GRIP_EVEN = 1.0  # weight of equal shares against the least net wrench when the grip is shared out
GRIP_MIN_N = 2.0  # the lightest objects are still held with 2 N in all
TOUCH_M = 0.001  # pads within this of the surface at the pose are pressed by their finger
SPRUNG_WITHIN_M = 0.005  # pads nearer the object than this are compliant; farther ones are rigid
PAD_MASS = 0.01  # kg per pad (only sets how fast a pad follows; gravity-compensated)
PAD_DAMPING_RATIO = 1.0
SQUEEZE_DRAG_S = 0.005  # s: time constant of the viscous drag on the object during the squeeze only
CONTACT_SOLREF = "0.004 1"  # stiff object-pad contact (time constant 4 ms): the pads are the compliance
CONTACT_MARGIN = 0.001  # m: contacts within 1 mm are listed (for epsilon), only penetrating ones push
TORSION = 0.004  # m: torsional friction = mu x a 4 mm contact patch radius
FLAT_PIECE_M = 0.001
HAND_FRICTION = 0.01  # the object's (priority) friction is used for every hand-object pair


@dataclass
class PhysicsResult:
    """The outcome of one hold test (JSON-friendly through to_dict)."""

    holds: bool
    displacement_mm: float  # worst (over directions) largest COM displacement relative to the hand
    surface_displacement_mm: float  # worst largest displacement of an object surface point
    rotation_deg: float  # worst largest rotation relative to the hand
    contacts: int  # hand-object contacts (within 1 mm) at the synthesised pose
    epsilon: float  # Ferrari-Canny quality of those contacts (0: no force closure)
    mass_kg: float
    failed_directions: list = field(default_factory=list)  # hand-frame gravity directions that lost it
    per_direction: dict = field(default_factory=dict)  # direction -> [com mm, surface mm, rotation deg]
    time_s: float = 0.0
    squeeze_displacement_mm: float = 0.0  # COM displacement when the grip has built up (no gravity yet)

    def to_dict(self):
        d = asdict(self)
        for k in ("displacement_mm", "surface_displacement_mm", "rotation_deg", "epsilon", "mass_kg", "time_s",
                  "squeeze_displacement_mm"):
            d[k] = float(round(d[k], 6))
        d["per_direction"] = {k: [float(round(x, 4)) for x in v] for k, v in self.per_direction.items()}
        return d


DIRECTIONS = {"+x": (0, 1.0), "-x": (0, -1.0), "+y": (1, 1.0), "-y": (1, -1.0), "+z": (2, 1.0), "-z": (2, -1.0)}


def _fmt(a):
    return " ".join(f"{x:.7g}" for x in np.asarray(a, dtype=np.float64).reshape(-1))


def object_pieces(geom):
    """[(points (n, 3), friction)] convex pieces of an object (cached on the geometry)."""
    cached = getattr(geom, "_hopgen_physics_pieces", None)
    if cached is not None:
        return cached
    from hopgen.core import meshgeom
    sdf = meshgeom.object_distance_fn(geom, max_dist=0.01)
    pts, fr = decompose.surface_samples(geom.vertices, geom.faces, model.face_friction(geom),
                                        spacing=SAMPLE_SPACING)
    cap = MAX_GRID_SAMPLES if SAMPLE_SPACING else MAX_SURFACE_SAMPLES
    if len(pts) > cap:  # dense meshes: hulls of every 1-2 mm of surface are as close
        keep = np.linspace(0, len(pts) - 1, cap).round().astype(int)
        pts, fr = pts[keep], fr[keep]
    pieces = []
    from hopgen.grasp.score import sdf_normals
    overlap = decompose.OBJECT_OVERLAP if SAMPLE_SPACING else decompose.OVERLAP
    for idx in decompose.convex_pieces(pts, sdf, overlap=overlap):
        vals, counts = np.unique(np.round(fr[idx], 4), return_counts=True)
        p = pts[idx]
        # Every piece gets a back layer FLAT_PIECE_M inside the surface: a flat piece (a lid, a
        # face) has no hull otherwise, and the layer lies inside the object (the hull grows inward).
        p = np.concatenate([p, p - FLAT_PIECE_M * sdf_normals(sdf, p)])
        _, sv, vt = np.linalg.svd(p - p.mean(0), full_matrices=False)
        if sv[-1] < FLAT_PIECE_M:  # still flat (a ring of rim points, normals in its plane): thicken
            thin = vt[-1] if sdf((p.mean(0) + FLAT_PIECE_M * vt[-1])[None])[0] < 0 else -vt[-1]
            p = np.concatenate([p, p + FLAT_PIECE_M * thin])
        pieces.append((p, float(vals[np.argmax(counts)])))
    try:
        geom._hopgen_physics_pieces = pieces
    except (AttributeError, TypeError):
        pass
    return pieces


def _hand_points(grasp, hand):
    """(points (P, 3) object frame, the same in the hand frame, labels (P,), skin area (P,) m^2 or None)."""
    if hand is None:
        from hopgen.grasp.synthesis import hand_model
        hand = hand_model(grasp.subject, grasp.side)
    pts, labels = hand.verify_points(grasp.angles, grasp.hand_to_object)
    local, _ = hand.verify_points(grasp.angles, np.eye(4))
    return pts, local, labels, getattr(hand, "vertex_area", None)


def pad_footprints(dist, pieces, area):
    """(n,) m^2: the skin area each pad would press on if pushed GRIP_DEPTH_M into the object.

    dist: per piece, the signed distances (m) of its points at the pose; pieces: index arrays
    into the hand's points (P,); area (P,): skin area per point. A point counts by how deep it
    would be (1 at the pad's deepest point, 0 GRIP_DEPTH_M farther out): the force of an
    elastic foundation pressed in that far, over its stiffness per area. Points shared by
    overlapping pieces are shared out between them."""
    mult = np.zeros(len(area))
    for idx in pieces:
        mult[idx] += 1.0
    out = []
    for idx, d in zip(pieces, dist):
        w = np.clip(1.0 - (d - d.min()) / GRIP_DEPTH_M, 0.0, 1.0)
        out.append(float(np.sum(area[idx] / mult[idx] * w)))
    return np.array(out)


def pad_stiffness(dist, pieces, area):
    """(n,) N/m: each pad's spring stiffness under PAD_STIFFNESS_MODEL (area None: per pad)."""
    if PAD_STIFFNESS_MODEL == "per_pad" or area is None:
        return np.full(len(pieces), SKIN_STIFFNESS)
    if PAD_STIFFNESS_MODEL != "area":
        raise ValueError(f"sim.PAD_STIFFNESS_MODEL must be 'area' or 'per_pad', not {PAD_STIFFNESS_MODEL!r}")
    k = SKIN_STIFFNESS * pad_footprints(dist, pieces, np.asarray(area, float)) / REF_PAD_FOOTPRINT_M2
    return np.minimum(k, PAD_STIFFNESS_MAX)


def build_model(grasp, geom, hand=None):
    """(MjModel, mass kg, COM (3,), grip (J,) springrefs of the pads' joints): the hand at the
    grasp (compliant pads, see the module docstring) and the object as a free body."""
    mass, com, inertia, _ = model.object_mass_properties(geom)
    hp, hlocal, labels, area = _hand_points(grasp, hand)
    assets, pads, obj_geoms = [], [], []
    from hopgen.core import meshgeom
    from hopgen.grasp.score import sdf_normals
    sdf = meshgeom.object_distance_fn(geom, max_dist=0.01)
    pieces = decompose.hand_pieces(hp, labels, SEG_PALM, hand_frame_points=hlocal)
    pieces = decompose.follow_skin(hp, pieces, sdf, near=SPRUNG_WITHIN_M)
    obj_pieces = object_pieces(geom)
    mu = float(np.mean([m_ for _, m_ in obj_pieces]))
    dist = [sdf(hp[idx]) for idx in pieces]
    stiffness = pad_stiffness(dist, pieces, area)
    touching = [i for i, dd in enumerate(dist) if dd.min() < TOUCH_M]
    normal = {i: -sdf_normals(sdf, hp[pieces[i]][int(np.argmin(dist[i]))][None])[0] for i in touching}
    # The grip: the touching pads press with the load-regulated force, shared to balance (see grip_shares).
    driven = touching  # the palm too: the arm presses it on as the fingers close
    total = max(GRIP_SAFETY * mass * GRAVITY / max(mu, 1e-3), GRIP_MIN_N)
    pts_t = [hp[pieces[i]][int(np.argmin(dist[i]))] for i in driven]
    shares = dict(zip(driven, grip_shares(com, pts_t, [normal[i] for i in driven])))
    grip = []
    for i, idx in enumerate(pieces):
        assets.append(f'<mesh name="h{i}" vertex="{_fmt(hp[idx])}"/>')
        joints = ""
        if dist[i].min() < SPRUNG_WITHIN_M:  # near the object: a compliant pad, sprung to its pose in 3-D
            axes, stiff, ref = np.eye(3), [float(stiffness[i])] * 3, [0.0] * 3
            if i in driven:  # its finger presses it on along the contact normal
                force = min(total * shares[i], GRIP_PAD_MAX_N)
                axes = _basis(normal[i])
                pen = max(0.0, -float(dist[i].min()))  # the skin's squeeze at the pose already presses K x pen
                ref[0] = float(np.clip(force / stiff[0] - pen, 0.0, max(0.0, GRIP_DEPTH_M - pen)))
            for k in range(3):
                joints += (f'<joint type="slide" axis="{_fmt(axes[k])}" stiffness="{stiff[k]}" '
                           f'springref="0" damping="{2.0 * np.sqrt(stiff[k] * PAD_MASS) * PAD_DAMPING_RATIO:.5g}"/>')
                grip.append(ref[k])
        pads.append(f'<body name="pad{i}" gravcomp="1">{joints}<inertial pos="{_fmt(hp[idx].mean(0))}" '
                    f'mass="{PAD_MASS}" diaginertia="1e-7 1e-7 1e-7"/><geom type="mesh" mesh="h{i}" '
                    f'friction="{HAND_FRICTION} 0 0" contype="1" conaffinity="2" margin="{CONTACT_MARGIN}" '
                    f'gap="{CONTACT_MARGIN}"/></body>')
    for i, (p, mu_i) in enumerate(obj_pieces):
        assets.append(f'<mesh name="o{i}" vertex="{_fmt(p)}"/>')
        obj_geoms.append(f'<geom type="mesh" mesh="o{i}" priority="1" condim="4" '
                         f'friction="{mu_i:.4g} {mu_i * TORSION:.4g} 0" solref="{CONTACT_SOLREF}" '
                         f'contype="2" conaffinity="1" margin="{CONTACT_MARGIN}" gap="{CONTACT_MARGIN}"/>')
    ev = np.linalg.eigvalsh(inertia)
    if ev.min() <= 0:
        inertia = inertia + np.eye(3) * (1e-9 - min(0.0, ev.min()))
    full = [inertia[0, 0], inertia[1, 1], inertia[2, 2], inertia[0, 1], inertia[0, 2], inertia[1, 2]]
    xml = f"""<mujoco model="hold">
  <compiler inertiafromgeom="false"/>
  <option timestep="{TIMESTEP}" gravity="0 0 0" cone="elliptic" impratio="10" integrator="implicitfast">
    <flag multiccd="enable"/></option>
  <asset>{''.join(assets)}</asset>
  <worldbody>
    <body name="hand" mocap="true">{''.join(pads)}</body>
    <body name="object"><freejoint/>
      <inertial pos="{_fmt(com)}" mass="{mass:.7g}" fullinertia="{_fmt(full)}"/>
      {''.join(obj_geoms)}
    </body>
  </worldbody>
</mujoco>"""
    return mujoco.MjModel.from_xml_string(xml), mass, com, np.array(grip)


def grip_shares(com, points, normals):
    """(n,) shares (sum 1) of the grip over pads at points (n, 3) pressing along normals (n, 3):
    the least net wrench of the squeeze, regularised toward equal shares by GRIP_EVEN."""
    n = len(points)
    if n == 0:
        return []
    p, nr = np.asarray(points, float), np.asarray(normals, float)
    scale = max(float(np.max(np.linalg.norm(p - com, axis=1))), 1e-3)
    a = np.concatenate([nr.T, np.cross(p - com, nr).T / scale])  # (6, n) wrench per unit pad force
    w = np.full(n, 1.0 / n)
    lam = GRIP_EVEN * float(np.linalg.norm(a, 2)) ** 2 / n
    step = 0.5 / (float(np.linalg.norm(a, 2)) ** 2 + lam)
    for _ in range(300):
        w = _project_simplex(w - step * (a.T @ (a @ w) + lam * (w - 1.0 / n)))
    return list(w)


def _basis(n):
    """(3, 3) rows: unit n and two unit tangents."""
    n = np.asarray(n, float) / np.linalg.norm(n)
    t1 = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    t1 /= np.linalg.norm(t1)
    return np.stack([n, t1, np.cross(n, t1)])


def _project_simplex(v):
    """Euclidean projection of v (n,) onto {w >= 0, sum w = 1}."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[k] / (k + 1.0), 0.0)


def _contacts(m, d, obj_body, com):
    """(points (C, 3), inward normals (C, 3), friction (C,)) of hand-object contacts."""
    pts, nrm, mu = [], [], []
    for c in d.contact[:d.ncon]:
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        if obj_body not in (b1, b2) or b1 == b2:
            continue
        n = np.array(c.frame[:3])  # from geom1 to geom2
        pts.append(np.array(c.pos))
        nrm.append(n if b2 == obj_body else -n)  # the push on the object points into it
        mu.append(float(c.friction[0]))
    return np.array(pts).reshape(-1, 3), np.array(nrm).reshape(-1, 3), np.array(mu)


def _rot_deg(q):
    return float(np.degrees(2 * np.arccos(min(1.0, abs(q[0])))))


def check_grasp(grasp, geom, hand=None, directions=tuple(DIRECTIONS), stop_on_failure=False):
    """PhysicsResult of a Grasp (hopgen.grasp.synthesis) of object geometry `geom`.

    hand: the grasp's HandModel (default: the cached one of grasp.subject / grasp.side);
    stop_on_failure: skip the remaining directions once one has lost the object (the result's
    per_direction then lists only those run)."""
    t0 = time.perf_counter()
    m, mass, com, grip = build_model(grasp, geom, hand)
    d = mujoco.MjData(m)
    obj = m.body("object").id
    qa = int(m.jnt_qposadr[m.body_jntadr[obj]])  # the object's free joint in qpos (after the pads')
    mujoco.mj_forward(m, d)
    cp, cn, cmu = _contacts(m, d, obj, com)
    scale = float(np.max(np.linalg.norm(np.asarray(geom.vertices) - com, axis=1)))
    eps = epsilon.epsilon_quality(epsilon.contact_wrenches(cp, cn, cmu, com, scale))
    rot = np.asarray(grasp.hand_to_object)[:3, :3]
    n_sq, n_ramp, n_hold = int(SQUEEZE_S / TIMESTEP), int(RAMP_S / TIMESTEP), int(HOLD_S / TIMESTEP)
    pads = np.nonzero(m.jnt_bodyid != obj)[0]  # the pads' slide joints
    spring_adr = m.jnt_qposadr[pads]
    n_shake, n_settle = int(SHAKE_S / TIMESTEP), int(SETTLE_S / TIMESTEP)
    phase = np.array([0.0, 2.1, 4.2])
    per_dir, failed, worst_d, worst_s, worst_r = {}, [], 0.0, 0.0, 0.0
    v = np.asarray(geom.vertices, dtype=np.float64)
    surf = v[np.linspace(0, len(v) - 1, min(SURFACE_POINTS, len(v))).round().astype(int)]
    def watch(max_d, max_s, max_r):
        # Object pose relative to the hand (the hand only translates).
        pos, quat = d.qpos[qa:qa + 3] - d.mocap_pos[0], d.qpos[qa + 3:qa + 7]
        r_now = _quat_matrix(quat)
        dd = float(np.linalg.norm(pos + r_now @ com - com))
        ds = float(np.max(np.linalg.norm(surf @ (r_now - np.eye(3)).T + pos, axis=1)))
        return max(max_d, dd), max(max_s, ds), max(max_r, _rot_deg(quat))

    # The squeeze (no gravity yet) is the same for every direction: simulated once, and every
    # direction starts from its end state.
    sq = [0.0, 0.0, 0.0]
    dof = int(m.jnt_dofadr[m.body_jntadr[obj]])
    m.dof_damping[dof:dof + 3] = mass / SQUEEZE_DRAG_S  # quasi-static squeeze (see the module docstring)
    m.dof_damping[dof + 3:dof + 6] = float(np.mean(np.linalg.eigvalsh(model.object_mass_properties(geom)[2]))) / SQUEEZE_DRAG_S
    for step in range(n_sq):
        m.qpos_spring[spring_adr] = grip * (step + 1) / n_sq
        mujoco.mj_step(m, d)
        if step % 10 == 9:
            sq = list(watch(*sq))
    m.dof_damping[dof:dof + 6] = 0.0
    d.qvel[dof:dof + 6] = 0.0  # (already ~0: the drag leaves it at rest where the grip balances)
    squeezed = _snapshot(m, d)
    total = n_ramp + n_hold + n_shake + n_settle
    for name in directions:
        if failed and stop_on_failure:
            break
        axis, sign = DIRECTIONS[name]
        g = sign * rot[:, axis] * GRAVITY
        _restore(m, d, squeezed)
        max_d, max_s, max_r = sq
        for step in range(total):
            m.opt.gravity[:] = g * min(1.0, (step + 1) / n_ramp)
            t = (step - n_ramp - n_hold) * TIMESTEP
            if 0.0 <= t < SHAKE_S:
                # Smooth envelope: the hand starts and stops shaking at rest (no velocity jumps).
                env = np.sin(np.pi * t / SHAKE_S) ** 2
                d.mocap_pos[0] = SHAKE_AMP_M * env * np.sin(2 * np.pi * SHAKE_HZ * t + phase)
            else:
                d.mocap_pos[0] = 0.0
            mujoco.mj_step(m, d)
            if step % 10 == 9 or step == total - 1:
                max_d, max_s, max_r = watch(max_d, max_s, max_r)
                if max_d > 3 * MAX_DISPLACEMENT_M or max_s > 3 * MAX_SURFACE_DISPLACEMENT_M:
                    break  # clearly lost: no need to watch it fall
        per_dir[name] = [max_d * 1000.0, max_s * 1000.0, max_r]
        if max_d > MAX_DISPLACEMENT_M or max_s > MAX_SURFACE_DISPLACEMENT_M:
            failed.append(name)
        worst_d, worst_s, worst_r = max(worst_d, max_d), max(worst_s, max_s), max(worst_r, max_r)
    m.opt.gravity[:] = 0.0
    return PhysicsResult(not failed, worst_d * 1000.0, worst_s * 1000.0, worst_r, len(cp), eps, mass, failed,
                         per_dir, time.perf_counter() - t0, sq[0] * 1000.0)


def _snapshot(m, d):
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    out = np.zeros(mujoco.mj_stateSize(m, spec))
    mujoco.mj_getState(m, d, out, spec)
    return out


def _restore(m, d, state):
    mujoco.mj_setState(m, d, state, mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(m, d)


def _quat_matrix(q):
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                  [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                  [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
