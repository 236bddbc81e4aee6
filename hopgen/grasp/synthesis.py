"""synthesize_grasp: type -> pre-shape -> placement -> approach -> closing -> score, with retries.

Over 450 lines on purpose: the attempt loop, the squeeze and the hold-test feedback share one
attempt's state (Attempt, _PhysicsFeedback) and are read together."""

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from hopgen.hand import kinematics as kin
from hopgen.core import graspable, meshgeom
from hopgen.core.skeleton import CATEGORIES, SEG_PALM
from hopgen.grasp import closing, flathandle, holdnear, placement, score, taxonomy, thumbwrap

DEFAULT_MAX_ATTEMPTS = 24
SDF_CAP = 0.01  # m: exact distances are needed only near the surface (contacts < 3 mm, gaps)
APPROACH_MARGIN = 0.25  # m beyond the object's bounding radius where the approach starts


class GraspFailedError(RuntimeError):
    """No acceptable grasp within the attempt budget; `reasons` counts why attempts failed."""

    def __init__(self, name, reasons, attempts):
        self.name = name
        self.reasons = dict(reasons)
        self.attempts = attempts
        why = ", ".join(f"{k} x{v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        super().__init__(f"no acceptable grasp of object {name!r} in {attempts} attempts ({why})")


@dataclass
class Grasp:
    """A synthesised grasp. Poses map hand-frame points into the object's own frame.

    angles / preshape (NUM_DOF,) radians (kinematics.DOF_NAMES); hand_to_object (4, 4);
    approach_direction (3,) unit, object frame (the hand moves along it while approaching).
    """

    type: str
    subject: str
    side: str
    object_name: str
    category: str
    angles: np.ndarray
    preshape: np.ndarray
    hand_to_object: np.ndarray
    approach_direction: np.ndarray
    contacts: list
    fingers_in_contact: list
    palm_contact: bool
    max_penetration_mm: float
    thumb_opposition: float
    held: bool
    score: float
    attempts: int
    failures: dict = field(default_factory=dict)
    physics: dict = None  # hopgen.physics hold test (PhysicsResult.to_dict()) when one was run

    def contact_centre(self):
        """(3,) mean of the contact points (object frame); the hold motion turns about it."""
        if not self.contacts:
            return self.hand_to_object[:3, 3].copy()
        return np.mean([c["point"] for c in self.contacts], axis=0)

    def to_dict(self):
        """JSON-friendly dict (floats rounded to 1e-9 so equal grasps serialise equally)."""
        r = lambda a: (np.round(np.asarray(a, dtype=np.float64), 9) + 0.0).tolist()  # noqa: E731 (+0: no -0.0)
        return {
            "type": self.type, "subject": self.subject, "side": self.side,
            "object": self.object_name, "category": self.category,
            "joint_angles": {n: float(v) for n, v in zip(kin.DOF_NAMES, r(self.angles))},
            "preshape": {n: float(v) for n, v in zip(kin.DOF_NAMES, r(self.preshape))},
            "hand_to_object": r(self.hand_to_object),
            "approach_direction": r(self.approach_direction),
            "contacts": [{**c, "point": r(c["point"]), "distance": float(round(c["distance"], 9)) + 0.0}
                         for c in self.contacts],
            "fingers_in_contact": list(self.fingers_in_contact),
            "palm_contact": bool(self.palm_contact),
            "max_penetration_mm": float(round(self.max_penetration_mm, 6)),
            "thumb_opposition": float(round(self.thumb_opposition, 6)),
            "held": bool(self.held), "score": float(round(self.score, 6)),
            "attempts": int(self.attempts), "failures": dict(self.failures),
            **({"physics": dict(self.physics)} if self.physics is not None else {}),
        }


# ------------------------------------------------------------------ hand models

_HANDS = {}


@dataclass
class HandModel:
    """Search skin (subsampled palmar points) and the full skin used to verify a grasp."""

    subject_id: str
    side: str
    shape: object
    skin: closing.HandSkin
    mesh: object = None  # handmesh.HandMesh when available
    vertex_area: object = None  # (V,) m^2 of skin per verification vertex (rest pose), with the mesh

    def verify_points(self, angles, hand_to_obj):
        """Skin points (N, 3, object frame) and their seg labels (N,) at a pose."""
        if self.mesh is None:
            _, tr = kin.forward_kinematics(self.shape, angles, self.side)
            pts = self.skin.pose(tr)
            labels = self.skin.label
        else:
            from hopgen.hand import handmesh
            pts = handmesh.pose_vertices(self.mesh, self.shape, angles, self.side)
            labels = self._vertex_labels
        return pts @ hand_to_obj[:3, :3].T + hand_to_obj[:3, 3], labels


def _subject(subject):
    from hopgen.hand import subjects
    if isinstance(subject, str):
        return subjects.get_subject(subject)
    return subject


def hand_model(subject, side):
    """The cached HandModel of a subject (id or subjects.Subject) and side."""
    subj = _subject(subject)
    key = (subj.id, side, subj.hand_length_mm, subj.hand_breadth_mm, subj.thickness_scale)
    if key in _HANDS:
        return _HANDS[key]
    from hopgen.hand import subjects
    shape = subjects.subject_shape(subj)
    mesh = None
    try:
        from hopgen.hand import handmesh
    except ImportError:
        handmesh = None
    if handmesh is not None:
        full = handmesh.build_hand_mesh(subj, side)
        labels = _mesh_vertex_labels(full)
        skin = closing.skin_from_mesh(shape, side, full.rest_vertices, labels)
        # Verification skins the hand only (palm + fingers): the forearm never holds the object.
        keep = np.nonzero(labels >= SEG_PALM)[0]
        vertex_area = meshgeom.vertex_areas(full.rest_vertices, full.faces)[keep]
        mesh = dataclasses.replace(full, rest_vertices=full.rest_vertices[keep], weights=full.weights[keep],
                                   faces=np.zeros((0, 3), dtype=np.int32), face_labels=np.zeros(0, np.uint8),
                                   face_material=np.zeros(0, np.uint8), crease=full.crease[keep],
                                   normals=full.normals[keep])
        labels = labels[keep]
    else:
        skin = closing.capsule_skin(shape, side)
    model = HandModel(subj.id, side, shape, skin, mesh, vertex_area if mesh is not None else None)
    if mesh is not None:
        model._vertex_labels = labels
    _HANDS[key] = model
    return model


def _mesh_vertex_labels(mesh):
    """Per-vertex seg labels of a hand mesh (from its face labels when it has no vertex labels)."""
    labels = getattr(mesh, "vertex_labels", None)
    if labels is not None:
        return np.asarray(labels)
    faces, fl = np.asarray(mesh.faces), np.asarray(mesh.face_labels)
    out = np.full(len(mesh.rest_vertices), -1)
    out[faces.reshape(-1)] = np.repeat(fl, 3)
    return out


# ------------------------------------------------------------------ synthesis


def _resolve_probs(category, frame, type_probs):
    if type_probs and all(k in taxonomy.TAXONOMY for k in type_probs):
        type_probs = {category: type_probs}
    return taxonomy.type_probs_for(category, frame.extents, type_probs, frame.section_width)


def synthesize_grasp(subject, side, object_geom, rng, type_probs=None, max_attempts=DEFAULT_MAX_ATTEMPTS,
                     physics=None):
    """Synthesise one acceptable grasp of `object_geom` by a subject's hand.

    subject: subjects.Subject or a built-in id; side 'left'|'right'; object_geom: anything
    with vertices, faces, category, name and optional sdf (objects.ObjectGeometry); rng:
    numpy Generator; type_probs: {category: {type: prob}} overrides or {type: prob}.
    physics: optional hold test (hopgen.physics.hold_test(geom): callable (Grasp, HandModel) ->
    result with .holds and .to_dict(), with .mass_kg and .epsilon(points, normals)): then every geometrically acceptable grasp is
    squeezed (see _squeeze) and tested, and a failure feeds back (a deeper squeeze, then fewer
    draws of the failing grasp type; heavy objects start with power grasps); the accepted
    grasp records the test in Grasp.physics. With physics the budget is PHYSICS_RETRY_FACTOR x
    max_attempts squeezed attempts and PHYSICS_GEOMETRIC_FACTOR x max_attempts in all.
    Raises graspable.UngraspableObjectError for objects no hand can hold and
    GraspFailedError when every placement within that budget fails the quality bar.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    name = getattr(object_geom, "name", "object")
    category = getattr(object_geom, "category", None)
    if category not in CATEGORIES:
        raise ValueError(f"object {name!r}: category must be one of {CATEGORIES}, got {category!r}")
    graspable.check_graspable(name, object_geom.vertices, object_geom.faces)
    model = hand_model(subject, side)
    sdf = object_sdf(object_geom)
    frame = placement.object_frame(object_geom)
    probs = _resolve_probs(category, frame, type_probs)
    feedback = _PhysicsFeedback(physics, probs, category, not type_probs, frame) if physics is not None else None
    budget, geometric_budget = max_attempts, max_attempts
    if physics is not None:  # a failed hold test is retried with other approaches (see PHYSICS_RETRY_FACTOR)
        budget, geometric_budget = max_attempts * PHYSICS_RETRY_FACTOR, max_attempts * PHYSICS_GEOMETRIC_FACTOR
    s_start = approach_start(frame)
    reasons = Counter()
    attempt = squeezed = 0
    while squeezed < budget and attempt < geometric_budget:
        attempt += 1
        probs_now = feedback.probs if feedback else probs
        gtype = taxonomy.TAXONOMY[taxonomy.choose_type(rng, probs_now)]
        att = _attempt(model, gtype, frame, category, sdf, rng, s_start, feedback.hold_near if feedback else None)
        if att.reason is not None:
            reasons[att.reason] += 1
            continue
        squeezed += 1
        grasp, why = _accept(model, att, name, category, attempt, reasons, sdf, physics, feedback)
        if grasp is not None:
            return grasp
        reasons[why] += 1
    raise GraspFailedError(name, reasons, attempt)


def object_sdf(object_geom):
    """The signed distance synthesis measures against: exact within SDF_CAP of the surface,
    bounded by the object's box farther out."""
    exact_sdf = meshgeom.object_distance_fn(object_geom, max_dist=SDF_CAP)
    v = np.asarray(object_geom.vertices)
    return meshgeom.box_bounded_sdf(exact_sdf, v.min(axis=0), v.max(axis=0), margin=0.005)


def approach_start(frame):
    """Distance s along the placement line where every approach starts (clear of the object)."""
    return 0.5 * float(np.linalg.norm(frame.extents)) + APPROACH_MARGIN


def _grasp_of(model, att, name, category, attempt, reasons, angles=None, q=None, pose=None):
    q = att.quality if q is None else q
    return Grasp(att.gtype.name, model.subject_id, model.side, name, category,
                 att.angles if angles is None else angles, att.preshape, att.pose if pose is None else pose,
                 att.direction, q.contacts,
                 q.fingers_in_contact, q.palm_contact, q.max_penetration_mm, q.thumb_opposition, q.held, q.score,
                 attempt, dict(reasons))


# ------------------------------------------------------------------ physics feedback

# Squeeze: the grasping fingers close on past first touch until their skin presses this far
# into the surface (the hold test turns the pressing into grip force); always within the
# synthesis bound score.MAX_PENETRATION, measured on the true skin.
SQUEEZE_MM = (0.9, 1.6)
SQUEEZE_HEADROOM_MM = 0.1  # the squeezed skin stays this far inside the penetration bound
SQUEEZE_RETREATS = 2  # times the hand may back off when its palm, not a finger, leaves the bound
SQUEEZE_RETREAT_EXTRA_MM = 0.1  # backed off this much beyond the palm's excess
HEAVY_KG = 0.3  # objects above this start with precision grasps drawn PRECISION_WEIGHT as often
PRECISION_WEIGHT = 0.25
FAILED_TYPE_WEIGHT = 0.4  # a type whose grasp did not hold is drawn this much less often
# With the hold test the attempt budget is this many times max_attempts: a geometric attempt
# costs ~0.05 s CPU, a hold test 0.5-7 s, and most objects that end without a held grasp ran
# out of attempts while other placements or types (power_sphere on a jar) were still untried.
PHYSICS_RETRY_FACTOR = 2
# ... and placements that fail before the squeeze (fingers that miss a thin pencil:
# too_few_fingers_in_contact, ~0.05 s each) may run on to this many times max_attempts in all:
# 28 of a dev pencil's 48 attempts ended so, leaving it 3 hold tests (session 8).
PHYSICS_GEOMETRIC_FACTOR = 6
# Wraps of a heavy long object (a 1.3 kg wine bottle) held far from its centre of mass tip in
# the hand (a 5 degree tilt moves the end of a 33 cm bottle by 14 mm): with the hold test,
# wraps of cylinders place the palm within HOLD_TORQUE_NM / (m g) of the centre of mass along
# the axis (9 mm for 1.34 kg, 22 mm for a 0.55 kg spray can; a can's whole length).
HOLD_TORQUE_NM = 0.12
# Wraps held near the centre of mass (a 0.8 kg carton's wraps: 8/8 dev cases held, 7/8 without).
HOLD_NEAR_CATEGORIES = ("cylindrical", "cubical")


class _PhysicsFeedback:
    """Type probabilities adapted to the object's mass and to the hold tests seen so far."""

    def __init__(self, physics, probs, category, table_is_default=True, frame=None):
        self.physics = physics
        self.probs = dict(probs)
        if (table_is_default and category == "cubical" and physics.mass_kg > HEAVY_KG
                and "large_diameter" in self.probs):
            # A heavy box wrapped like a bottle (taxonomy.BOTTLE_BOX_*: a milk carton): its other types
            # held 2 of 8 dev cartons and drew attempts from the wrap after its slips (docs/physics.md).
            self.probs = {"large_diameter": 1.0}
        com = getattr(physics, "com", None)
        # (Measured on cylinders and on milk cartons; other categories keep their wrap placement.)
        self.hold_near = None if com is None or category not in HOLD_NEAR_CATEGORIES else (np.asarray(com, dtype=np.float64),
                                                   HOLD_TORQUE_NM / (max(physics.mass_kg, 1e-6) * 9.81))
        if (table_is_default and category == "cubical" and physics.mass_kg > HEAVY_KG and frame is not None
                and "prismatic_4_finger" in self.probs and holdnear.heavy_box(frame, self.hold_near)):
            # A heavy box whose centre of mass is far from every edge (a book, a cutting board):
            # only four-finger pinches deep over the edge held it (holdnear.heavy_pinch); wraps,
            # power spheres, palmar grasps, tripods, 2-finger and lateral pinches never did, and
            # drew most attempts (power types are drawn 4x as often for a heavy object; session 8).
            self.probs = {"prismatic_4_finger": 1.0}
        if physics.mass_kg > HEAVY_KG and any(taxonomy.TAXONOMY[k].power for k in self.probs):
            self.probs = {k: p * (1.0 if taxonomy.TAXONOMY[k].power else PRECISION_WEIGHT)
                          for k, p in self.probs.items()}

    def epsilon(self, grasp, sdf):
        """Ferrari-Canny epsilon of a grasp's contacts (object frame), from the hold test's object model."""
        if len(grasp.contacts) < 2:
            return 0.0
        pts = np.array([c["point"] for c in grasp.contacts])
        return self.physics.epsilon(pts, -score.sdf_normals(sdf, pts))

    def failed(self, gtype):
        self.probs[gtype] *= FAILED_TYPE_WEIGHT


def _squeeze(model, att, sdf, depth_mm):
    """(angles, Quality, pose) with the grasping fingers pressed depth_mm into the object, or
    None when that leaves the penetration bound or breaks the grasp's acceptance.

    Closing the fingers further also drags the palm skin near the knuckles (its vertices are
    blended with the proximal phalanges) deeper into the object: a cupped ball or a wrapped
    can ended 1.96-2.13 mm deep at the palm with the fingers at their squeeze depth. When the
    palm is what leaves the bound, the hand is backed off along its approach line by the
    excess and the fingers close again from there (up to SQUEEZE_RETREATS times), as a hand
    settles into a grip instead of pushing its palm through the object.
    """
    gtype = att.gtype
    fingers = list(gtype.fingers)
    bound_mm = score.MAX_PENETRATION * 1000.0 - SQUEEZE_HEADROOM_MM
    pose = att.pose
    for retreat in range(SQUEEZE_RETREATS + 1):
        angles, touched = closing.close_fingers(model.skin, att.angles, pose, sdf, fingers, gap=-depth_mm / 1000.0,
                                                **_chain(gtype))
        for f in fingers:
            if not touched[f]:
                # The finger found no deeper contact: its pad already pressed about this deep
                # and the sweep's coarse step carried it past a thin object (a spoon handle
                # pinched at -0.87 mm swung on to its joint limits). It keeps its grasp pose.
                dofs = list(closing.finger_chain(f, **_chain(gtype))[0])
                angles[dofs] = att.angles[dofs]
        pts, labels = model.verify_points(angles, pose)
        d = sdf(pts)
        q = score.measure(pts, labels, sdf, d)
        excess_mm = q.max_penetration_mm - bound_mm
        if excess_mm <= 0.0:
            break
        if retreat == SQUEEZE_RETREATS or labels[int(np.argmin(d))] != SEG_PALM:
            return None  # a finger itself is too deep (or the palm still is): out of bounds
        pose = pose.copy()
        pose[:3, 3] -= (excess_mm + SQUEEZE_RETREAT_EXTRA_MM) / 1000.0 * att.direction
    if score.rejection_reason(q, gtype, kin.within_limits(angles)) is not None:
        return None
    return angles, q, pose


def _accept(model, att, name, category, attempt, reasons, sdf, physics, feedback):
    """(Grasp, None) for an acceptable attempt, or (None, reason) when every squeeze of it
    failed the hold test."""
    if physics is None:
        return _grasp_of(model, att, name, category, attempt, reasons), None
    why = "physics_squeeze_out_of_bounds"
    for depth in SQUEEZE_MM:
        sq = _squeeze(model, att, sdf, depth)
        if sq is None:
            continue
        grasp = _grasp_of(model, att, name, category, attempt, reasons, *sq)
        if feedback.epsilon(grasp, sdf) <= 0.0:
            # No force closure at the contacts: the squeeze alone would push the object out
            # (seen in the simulator for nearly every such grasp); no need to simulate it.
            why = "physics_no_force_closure"
            continue
        result = physics(grasp, model)
        if result.holds:
            grasp.physics = result.to_dict()
            return grasp, None
        why = "physics_slipped"
    feedback.failed(att.gtype.name)
    return None, why


@dataclass
class Attempt:
    """One synthesis try: `reason` is None when accepted (then quality is set)."""

    reason: object
    gtype: object
    preshape: np.ndarray = None
    angles: np.ndarray = None
    pose: np.ndarray = None
    direction: np.ndarray = None
    quality: object = None


BACK_OFF_ABOVE = 0.001  # m: fingers penetrating deeper than this (true skin) are re-closed
BACK_OFF_ROUNDS = 2


def _back_off(model, pre, angles, pose, sdf, fingers, caps, gtype):
    """Re-close fingers whose true skin penetrates too deep, stopping correspondingly earlier.

    The search skin is rigid per bone while the real skin blends near the joints, so a finger
    can end a little deeper than the search saw; it is closed again from the pre-shape with
    a larger stopping gap. Returns (angles, verification points, labels, their distances).
    """
    gap = {f: closing.TOUCH_GAP for f in fingers}
    for _ in range(BACK_OFF_ROUNDS + 1):
        pts, labels = model.verify_points(angles, pose)
        d = sdf(pts)
        finger = np.where(labels >= 4, (labels - 4) // 3, -1)
        deep = [f for f in fingers if np.any(d[finger == f] < -BACK_OFF_ABOVE)]
        if not deep:
            break
        for f in deep:
            pen = -float(d[finger == f].min())
            gap[f] += pen - 0.5 * BACK_OFF_ABOVE
            a = angles.copy()
            dofs, _ = closing.finger_chain(f, **_chain(gtype))
            a[list(dofs)] = pre[list(dofs)]
            a, _ = closing.close_fingers(model.skin, a, pose, sdf, [f], gap=gap[f],
                                         caps={k: v for k, v in caps.items() if k == f},
                                         **_chain(gtype))
            angles[list(dofs)] = a[list(dofs)]
    if deep:  # the last round re-closed fingers: measure the final pose
        pts, labels = model.verify_points(angles, pose)
        d = sdf(pts)
    return angles, pts, labels, d


def _chain(gtype):
    """How a grasp type's fingers close (closing.close_fingers / finger_chain keywords)."""
    return {"thumb_drive": gtype.thumb_drive, "finger_rates": gtype.finger_rates, "thumb_rates": gtype.thumb_rates}


def _attempt(model, gtype, frame, category, sdf, rng, s_start, hold_near=None):
    """One try at a grasp of type `gtype` -> Attempt (hold_near: see placement.sample_placement)."""
    skin = model.skin
    pre = placement.preshape_angles(gtype, rng, flathandle.preshape_width(gtype, frame, category))
    idle = [f for f in range(1, 5) if f not in gtype.fingers]
    caps = {}
    for f in idle:  # idle fingers start straight and curl only up to the pre-shape's idle curl
        dofs, _ = closing.finger_chain(f)
        caps[f] = float(pre[dofs[0]])
        pre[list(dofs)] = 0.0
    pl = placement.sample_placement(gtype, frame, category, skin, pre, rng, hold_near)
    if gtype.thumb_abduction is not None:
        pose, pre, why = thumbwrap.approach(skin, pre, pl, sdf, s_start, rng, frame)
        if why:
            return Attempt(why, gtype, pre)
    elif gtype.palm_contact:
        s, collided = placement.approach(skin, pre, pl, sdf, s_start)
        if collided and s >= s_start - 1e-9:
            return Attempt("start_in_collision", gtype, pre)
        if not collided:
            return Attempt("no_contact_on_approach", gtype, pre)
        pose = pl.hand_to_object(s + rng.uniform(0.0, 0.0015))
    else:
        s, why = placement.insert(skin, pre, pl, sdf, s_start, rng.uniform(*gtype.standoff) + pl.extra_depth)
        if why:
            return Attempt(why, gtype, pre)
        pose = pl.hand_to_object(s)
    fingers = list(gtype.fingers) + idle
    close = lambda p: _back_off(model, pre, closing.close_fingers(  # noqa: E731 - the fingers closed at pose p
        skin, pre, p, sdf, fingers, caps=caps, **_chain(gtype))[0], p, sdf, fingers, caps, gtype)
    angles, pts, labels, d = close(pose)
    q = score.measure(pts, labels, sdf, d)
    reason = score.rejection_reason(q, gtype, kin.within_limits(angles))
    if reason in flathandle.THUMB_MISS_REASONS and flathandle.flat_pinch(gtype, frame, category):
        angles, pose, q, reason = flathandle.reach_thumb(model, gtype, pre, (angles, pose, q, reason), sdf, close,
                                                         _chain(gtype))
    return Attempt(reason, gtype, pre, angles, pose, pl.direction.copy(), q)
