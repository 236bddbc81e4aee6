"""Asset and grasp preview sheets rendered with Cycles (bpy module, inside the venv).

One studio scene (studio HDRI light, plain grey backdrop seen by the camera, a soft key light that
follows the camera) is reused for every tile: objects on a turntable, every subject's hand open
(palm, back) and in a fist, and synthesised grasps from two close-up views. Choices, poses,
framing and the grid are pure (hopgen.assets.sheet); captions are drawn with Pillow, so this runs
with the `bpy` module (the venv), not inside a Blender binary.
"""

import math
import os
import sys
import tempfile
import time

import numpy as np

import bpy
from mathutils import Matrix

from hopgen.assets import sheet as sheet
from hopgen.core import camera as cam
from hopgen.core.atomic import atomic_write_bytes
from hopgen.core.pngio import encode_png, read_png
from hopgen.core.skeleton import CATEGORIES, FINGER_NAMES, SEG_ARM
from hopgen.blender import compat, scene as hscene, world
from hopgen.blender.hand import build_hand_object, set_hand_pose
from hopgen.blender.objects import build_object_object
from hopgen.blender.passes import render_rgb
from hopgen.blender.shading import mix_by_camera_ray

BACKDROP_GREY = 0.18          # linear grey the camera sees behind the assets
HDRI_STRENGTH = 0.8
KEY_POWER_W = 4.0            # area key light at KEY_DISTANCE_M, scaled with the framed size
KEY_DISTANCE_M = 0.6
SHEET_BG = 250
GRASP_TILE_SCALE = 1.5        # grasp close-ups are shown larger than object/hand tiles


# ----------------------------------------------------------------------------- studio

def _section(title, cells, columns, px):
    """A sheet section: a header line "<title> (<n>)" over `cells` in `columns` columns."""
    return sheet.Section(text_image([f"{title} ({len(cells)})"], 4000, int(px * 1.6)), cells, columns=columns)


def _studio_world():
    """World: the bundled studio HDRI lights the scene; camera rays see a flat grey backdrop."""
    w = bpy.data.worlds.new("hop_sheet_world")
    tree = compat.node_tree(w)
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputWorld")
    grey = tree.nodes.new("ShaderNodeBackground")
    grey.inputs["Color"].default_value = (BACKDROP_GREY,) * 3 + (1.0,)
    light = tree.nodes.new("ShaderNodeBackground")
    light.inputs["Strength"].default_value = HDRI_STRENGTH
    hdris = [p for p in world.list_studio_hdris() if os.path.basename(p).startswith("studio")]
    if hdris:
        env = tree.nodes.new("ShaderNodeTexEnvironment")
        env.image = bpy.data.images.load(hdris[0], check_existing=True)
        tree.links.new(env.outputs["Color"], light.inputs["Color"])
    else:  # no bundled HDRI: a uniform light grey environment
        light.inputs["Color"].default_value = (0.6, 0.6, 0.6, 1.0)
    mix_by_camera_ray(tree, grey.outputs[0], light.outputs[0], out.inputs["Surface"])
    bpy.context.scene.world = w
    return w


class Studio:
    """The reused scene: Cycles settings, world, a key light; render(K, w2c, size) -> (H,W,3) uint8."""

    def __init__(self, samples, denoise, threads=0):
        self.scene = hscene.reset_scene()
        self.info = hscene.configure_cycles(self.scene, samples=samples, adaptive_threshold=0.02,
                                            denoise=denoise, max_bounces=8, threads=threads)
        _studio_world()
        data = bpy.data.lights.new("hop_sheet_key", "AREA")
        data.size = 0.35
        self.key = bpy.data.objects.new("hop_sheet_key", data)
        self.scene.collection.objects.link(self.key)
        fd, self.tmp = tempfile.mkstemp(suffix=".png", prefix="hop_sheet_")
        os.close(fd)

    def _place_key(self, w2c, target, extent):
        """Key light above-left of the camera, aimed at the target, power scaled to the subject size."""
        r = np.asarray(w2c)[:3, :3]  # rows: camera x (right), y (down), z (forward) in world coords
        eye = -r.T @ np.asarray(w2c)[:3, 3]
        to_cam = eye - target
        to_cam /= np.linalg.norm(to_cam)
        d = to_cam - 0.9 * r[0] - 0.9 * r[1]  # towards image left and image up
        d /= np.linalg.norm(d)
        dist = KEY_DISTANCE_M * max(extent / 0.15, 0.3)
        pos = target + dist * d
        fwd = -d  # the light shines along its local -Z
        x = np.cross([0.0, 0.0, 1.0], -fwd) if abs(fwd[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
        x /= np.linalg.norm(x)
        y = np.cross(-fwd, x)
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, -fwd, pos
        self.key.matrix_world = Matrix(m.tolist())
        self.key.data.size = 0.35 * dist / KEY_DISTANCE_M
        self.key.data.energy = KEY_POWER_W * (dist / KEY_DISTANCE_M) ** 2

    def render(self, K, w2c, width, height, points):
        """Render the current scene through camera (K, w2c); points (N,3): what is framed (for the key)."""
        hscene.set_camera(K, width, height, w2c, clip=(0.005, 50.0))
        p = np.asarray(points)
        centre = 0.5 * (p.min(0) + p.max(0))
        self._place_key(w2c, centre, float(np.linalg.norm(p.max(0) - p.min(0))))
        render_rgb(self.scene, self.tmp)
        return read_png(self.tmp)[:, :, :3]

    def close(self):
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def _remove(obj):
    mesh = obj.data
    bpy.data.objects.remove(obj, do_unlink=True)
    if mesh is not None and mesh.users == 0:
        bpy.data.meshes.remove(mesh)


# ----------------------------------------------------------------------------- captions

def _font(px):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def text_image(lines, width, px, bg=SHEET_BG, fg=(20, 20, 20), bold_first=False):
    """(h, width, 3) uint8 with `lines` of text at `px` pixels (Pillow)."""
    from PIL import Image, ImageDraw
    font = _font(px)
    line_h = int(round(px * 1.25))
    img = Image.new("RGB", (int(width), line_h * len(lines) + max(2, px // 4)), (bg,) * 3)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        colour = fg if i == 0 or not bold_first else (70, 70, 70)
        draw.text((2, 1 + i * line_h), line, fill=colour, font=font)
    return np.asarray(img, dtype=np.uint8)


def _blank_tile(size, message):
    tile = np.full((size, size, 3), 90, np.uint8)
    txt = text_image([message], size, max(9, size // 14), bg=90, fg=(255, 210, 120))
    tile[size // 2 - txt.shape[0] // 2:size // 2 - txt.shape[0] // 2 + txt.shape[0]] = txt[:, :size]
    return tile


class _Progress:
    def __init__(self, total):
        self.total, self.done, self.t0 = total, 0, time.time()

    def step(self, what):
        self.done += 1
        el = time.time() - self.t0
        eta = el / self.done * (self.total - self.done)
        print(f"[{self.done}/{self.total}] {what}  ({el:.0f} s, ETA {eta:.0f} s)", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- sections

def _limit(seq, limit):
    return list(seq) if limit is None else list(seq)[:int(limit)]


def _object_geometry(manifest, entry, opts):
    """Geometry of a manifest object; seeded per object so random colours differ between objects."""
    from hopgen.episode.scene import load_object_geometry
    return load_object_geometry(entry, [int(opts.seed), manifest.objects.index(entry)])


def object_sections(studio, manifest, opts, progress):
    """One section per category: each object at the turntable angles, captioned name / category / size."""
    size, px = opts.size, max(9, opts.size // 12)
    entries = _limit(manifest.objects, opts.limit)
    out = []
    for cat in CATEGORIES:
        cells = []
        for entry in (e for e in entries if e.category == cat):
            geom = _object_geometry(manifest, entry, opts)
            obj = build_object_object(geom, "hop_sheet_object")
            v0 = np.asarray(geom.vertices)
            tiles = []
            for ang in sheet.TURNTABLE_DEG:
                rot = cam.rotation_matrix([0.0, 0.0, 1.0], math.radians(ang))
                m = np.eye(4)
                m[:3, :3] = rot
                obj.matrix_world = Matrix(m.tolist())
                v = v0 @ rot.T
                K, w2c = sheet.frame_points(v, sheet.turntable_direction(0.0), (0.0, 0.0, 1.0), size, size)
                tiles.append(studio.render(K, w2c, size, size, v))
                progress.step(f"object {entry.name} {ang:.0f} deg")
            _remove(obj)
            ext = (v0.max(0) - v0.min(0)) * 1000.0
            cap = text_image([f"{entry.name}  ({entry.category}, {entry.source})",
                              f"{ext[0]:.0f} x {ext[1]:.0f} x {ext[2]:.0f} mm  turntable 0/120/240 deg"],
                             3 * size, px)
            cells.append(sheet.Cell(tiles, cap))
        if cells:
            out.append(_section(f"Objects: {cat}", cells, 4, px))
    return out


def _hand_vertex_ids(mesh):
    faces, labels = np.asarray(mesh.faces), np.asarray(mesh.face_labels)
    return np.unique(faces[labels != SEG_ARM])


def hand_sections(studio, manifest, opts, progress):
    """Every procedural subject's hand: open from the palm and the back, and a fist."""
    from hopgen.hand.handmesh import build_hand_mesh, pose_vertices
    from hopgen.hand.subjects import get_subject, subject_shape
    size, px = opts.size, max(9, opts.size // 12)
    avatars = _limit([a for a in manifest.avatars if a.kind == "procedural"], opts.limit)
    cells = []
    for i, av in enumerate(avatars):
        subj = get_subject(av.name)
        shape = subject_shape(subj)
        side = "left" if i % 2 else "right"
        mesh = build_hand_mesh(subj, side)
        hand = build_hand_object(mesh, "hop_sheet_hand", subject=subj)
        ids = _hand_vertex_ids(mesh)
        views = sheet.hand_view_directions(side)
        tiles = []
        for pose_name, angles, view in (("open", sheet.open_hand_angles(), "palm"),
                                        ("open", sheet.open_hand_angles(), "back"),
                                        ("fist", sheet.fist_angles(), "fist")):
            v = pose_vertices(mesh, shape, angles, side)
            set_hand_pose(hand, v)
            d, up = views[view]
            K, w2c = sheet.frame_points(v[ids], d, up, size, size)
            tiles.append(studio.render(K, w2c, size, size, v[ids]))
            progress.step(f"hand {av.name} {side} {pose_name} ({view})")
        _remove(hand)
        cap = text_image([f"{subj.id}  {subj.sex}, {side} hand, Fitzpatrick {subj.fitzpatrick}",
                          f"length {subj.hand_length_mm:.0f} mm, breadth {subj.hand_breadth_mm:.0f} mm:"
                          f" open palm | back | fist"], 3 * size, px)
        cells.append(sheet.Cell(tiles, cap))
    if not cells:
        return []
    header = text_image([f"Hands: {len(cells)} subjects (open palm, open back, fist)"], 4000, int(px * 1.6))
    return [sheet.Section(header, cells, columns=4)]


def _grasp_cases(manifest, opts):
    from hopgen.grasp.placement import object_frame
    from hopgen.grasp.taxonomy import type_probs_for
    objects = [(o.name, o.category) for o in manifest.objects]
    table, geoms = {}, {}
    for o in manifest.objects:
        geoms[o.name] = _object_geometry(manifest, o, opts)
        frame = object_frame(geoms[o.name])
        table[o.name] = type_probs_for(o.category, frame.extents, section_width=frame.section_width)
    subjects = [a.name for a in manifest.avatars if a.kind == "procedural"]
    per_cat = opts.grasps_per_category if opts.limit is None else min(opts.grasps_per_category, int(opts.limit))
    return sheet.grasp_cases(objects, subjects, table, per_category=per_cat, seed=opts.seed), geoms


def grasp_sections(studio, manifest, opts, progress, report):
    """Per category, synthesised grasps of several types on several objects, two close-up views each.

    Appends one dict per case to `report` (object, type, subject, side, seed, penetration, fingers,
    or the failure)."""
    from hopgen.grasp import synthesize_grasp
    from hopgen.hand.handmesh import build_hand_mesh, pose_vertices
    from hopgen.hand.subjects import get_subject, subject_shape
    size = int(round(opts.size * GRASP_TILE_SCALE))
    px = max(9, opts.size // 12)
    cases, geoms = _grasp_cases(manifest, opts)
    out = []
    for cat in CATEGORIES:
        cells = []
        for case in (c for c in cases if c.category == cat):
            geom = geoms[case.object_name]
            subj = get_subject(case.subject)
            rec = {"category": cat, "object": case.object_name, "type": case.grasp_type, "subject": case.subject,
                   "side": case.side, "seed": list(case.seed)}
            try:
                g = synthesize_grasp(subj, case.side, geom, case.rng(), type_probs={case.grasp_type: 1.0})
            except Exception as e:  # shown on the sheet and in the report: that is the evidence
                rec["error"] = str(e)
                report.append(rec)
                tiles = [_blank_tile(size, "grasp failed")] * 2
                cap = text_image([f"{case.object_name}: {case.grasp_type}  {case.subject} {case.side}",
                                  f"FAILED: {str(e)[:80]}"], 2 * size, px)
                cells.append(sheet.Cell(tiles, cap))
                progress.step(f"grasp {case.object_name} {case.grasp_type} failed")
                progress.step("(skipped view)")
                continue
            rec.update(type=g.type, max_penetration_mm=round(float(g.max_penetration_mm), 3),
                       fingers=list(g.fingers_in_contact), palm=bool(g.palm_contact), held=bool(g.held))
            report.append(rec)
            mesh = build_hand_mesh(subj, case.side)
            shape = subject_shape(subj)
            v = cam.transform(g.hand_to_object, pose_vertices(mesh, shape, g.angles, case.side))
            hand = build_hand_object(mesh, "hop_sheet_hand", subject=subj)
            set_hand_pose(hand, v)
            obj = build_object_object(geom, "hop_sheet_object")
            pts = v[_hand_vertex_ids(mesh)]
            rot = np.asarray(g.hand_to_object)[:3, :3]
            tiles = []
            for k, d_hand in enumerate(sheet.grasp_view_directions(case.side)):
                up = rot @ np.array([0.0, 1.0, 0.0])  # fingers point up in the image
                K, w2c = sheet.frame_points(pts, rot @ d_hand, up, size, size, margin=0.05)
                tiles.append(studio.render(K, w2c, size, size, pts))
                progress.step(f"grasp {case.object_name} {g.type} view {k + 1}")
            _remove(hand)
            _remove(obj)
            short = "".join(f[0].upper() for f in FINGER_NAMES if f in g.fingers_in_contact)
            cap = text_image([f"{case.object_name}: {g.type}  ({case.subject} {case.side}, seed {case.seed})",
                              f"penetration {g.max_penetration_mm:.2f} mm, contact {short or '-'}"
                              f"{' + palm' if g.palm_contact else ''}, held {'yes' if g.held else 'no'}"],
                             2 * size, px)
            cells.append(sheet.Cell(tiles, cap))
        if cells:
            out.append(_section(f"Grasps: {cat}", cells, 3, px))
    return out


def _count_tiles(manifest, opts):
    n = 0
    if "objects" in opts.what:
        n += 3 * len(_limit(manifest.objects, opts.limit))
    if "hands" in opts.what:
        n += 3 * len(_limit([a for a in manifest.avatars if a.kind == "procedural"], opts.limit))
    if "grasps" in opts.what:
        per = opts.grasps_per_category if opts.limit is None else min(opts.grasps_per_category, int(opts.limit))
        n += 2 * per * len({o.category for o in manifest.objects})
    return n


def render_sheet(manifest, out_path, opts, threads=0):
    """Render the sheet of `opts.what` for `manifest` into the PNG `out_path`.

    Returns a dict: path, width, height, boxes (per section, per cell, per tile (y0, x0, y1, x1)),
    grasps (one record per grasp case), render (the Cycles settings used), seconds.
    """
    t0 = time.time()
    studio = Studio(opts.samples, opts.denoise, threads=threads)
    progress = _Progress(_count_tiles(manifest, opts))
    sections, report = [], []
    try:
        if "objects" in opts.what:
            sections += object_sections(studio, manifest, opts, progress)
        if "hands" in opts.what:
            sections += hand_sections(studio, manifest, opts, progress)
        if "grasps" in opts.what:
            sections += grasp_sections(studio, manifest, opts, progress, report)
    finally:
        studio.close()
    img, boxes = sheet.compose(sections, bg=SHEET_BG)
    if os.path.dirname(out_path):
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
    atomic_write_bytes(out_path, encode_png(img))
    return {"path": out_path, "width": int(img.shape[1]), "height": int(img.shape[0]), "boxes": boxes,
            "grasps": report, "render": studio.info, "seconds": time.time() - t0}
