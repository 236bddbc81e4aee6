"""Manifest avatar entries (makehuman, rigged) -> posable rigs and subject dicts, cached per process.

Rigged files (.glb/.gltf/.fbx/.blend) are read with Blender's importers, so their reader lives in
hopgen.blender.rigged; importing that module registers it here (``register_rigged_reader``). Pure
code never imports the Blender side: without a registered reader a rigged avatar is a clear error.
"""
from __future__ import annotations

import json

import numpy as np

from hopgen.avatars import rig as rg

_RIG_CACHE = {}
_RIGGED_READER = None


def register_rigged_reader(fn):
    """Install the reader of rigged avatar files (hopgen.blender.rigged does when imported, inside
    Blender): fn(AvatarEntry) -> rig.Rig."""
    global _RIGGED_READER
    _RIGGED_READER = fn


def avatar_subject(entry):
    """The subject dict of a MakeHuman manifest entry (a default subject or its own targets)."""
    from hopgen.avatars import makehuman as mh
    from hopgen.hand.subjects import fitzpatrick_albedo
    opts = dict(entry.options or {})
    if opts.get("subject"):
        base = {s["id"]: s for s in mh.DEFAULT_MAKEHUMAN_SUBJECTS}[opts["subject"]]
        subject = dict(base)
    else:
        tone = int(opts.get("skin_tone", 3))
        subject = {"sex": entry.sex or "female", "ethnicity": opts.get("ethnicity") or {"caucasian": 1.0},
                   "skin_tone": tone, "skin_rgb": tuple(opts.get("skin_rgb") or fitzpatrick_albedo(tone)),
                   "hand": dict(opts.get("hand") or {})}
    subject["targets"] = dict(entry.targets or {})
    subject["id"] = entry.name
    if entry.sex:
        subject["sex"] = entry.sex
    return subject


def avatar_rig(entry, side=None):
    """(rig.Rig, subject dict) of a makehuman or rigged manifest entry (cached per process).

    A rigged file holds one hand: it is mirrored when ``side`` asks for the other one (its own side
    comes from its geometry, rig.handedness, or ``options: {side: ...}``).
    """
    r, subject = _base_rig(entry)
    if side is not None and side not in r.joint_refs:
        key = ("mirror", id(r))
        if key not in _RIG_CACHE:
            _RIG_CACHE[key] = rg.mirrored(r)
        r = _RIG_CACHE[key]
    return r, subject


def _base_rig(entry):
    key = (entry.kind, entry.name, entry.path, entry.file, json.dumps(entry.options, sort_keys=True, default=str),
           json.dumps(entry.targets, sort_keys=True), json.dumps(entry.bone_map, sort_keys=True))
    if key not in _RIG_CACHE:
        if entry.kind == "makehuman":
            from hopgen.avatars import makehuman as mh
            subject = avatar_subject(entry)
            r = mh.makehuman_rig(mh.load_makehuman(entry.path), subject, name=entry.name)
        elif entry.kind == "rigged":
            if _RIGGED_READER is None:
                raise rg.RigError(f"avatar {entry.name}: reading rigged file {entry.file} needs Blender "
                                  "(render with `hopgen render`; importing hopgen.blender.rigged registers the reader)")
            r = _RIGGED_READER(entry)
            own = (entry.options or {}).get("side")
            if own and own not in r.joint_refs:
                r.joint_refs = {own: r.joint_refs[r.sides()[0]]}
            tone = int((entry.options or {}).get("skin_tone", 3))
            from hopgen.hand.subjects import fitzpatrick_albedo
            subject = {"id": entry.name, "sex": entry.sex or "female", "skin_tone": tone,
                       "skin_rgb": tuple((entry.options or {}).get("skin_rgb") or fitzpatrick_albedo(tone))}
        else:
            raise rg.RigError(f"avatar {entry.name}: kind {entry.kind!r} has no rig")
        for side in r.sides():
            rg.check_hand_refs(r, side)
        _RIG_CACHE[key] = (r, subject)
    return _RIG_CACHE[key]


def proxy_subject(subject, rest_hand, side):
    """A subjects.Subject whose kinematic hand has the avatar's hand length and MCP spread."""
    from hopgen.hand.subjects import Subject
    from hopgen.avatars.makehuman import hand_length
    frame = rg.hand_frame(rest_hand, side)
    x = (rest_hand[5] - rest_hand[17]) @ frame[:3, 0]
    length = float(np.clip(1000 * hand_length(rest_hand) + 2.0, 125.0, 255.0))  # tip joint ~2 mm inside
    breadth = float(np.clip(1000 * abs(x) / 0.71, 58.0, 118.0))  # kinematics: MCP x spread = 0.71 breadth
    tone = int(subject.get("skin_tone", 3))
    rgb = tuple(float(np.clip(c, 0, 1)) for c in subject.get("skin_rgb", (0.6, 0.42, 0.32)))
    return Subject(str(subject["id"]), subject.get("sex", "female"), 30, round(length, 1), round(breadth, 1), 1.0,
                   tone, rgb)
