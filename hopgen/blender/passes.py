"""Render passes to numpy (no Pillow): the beauty RGB PNG and exact annotation passes.

Annotation passes (labels, depth, amodal masks) come from ONE extra Cycles render with every
material overridden by an emission shader whose colour is
    R = "hop_label" face attribute of the first surface hit,
    G = OpenCV z of that surface (Camera Data "View Z Depth"),
    B = sum over every surface along the ray of the object's amodal-group weight (256**k),
rendered with 1 sample, a 0.01 px box filter (the sample sits at the pixel centre), no bounces,
no denoising, a black world, and written as float32 OpenEXR, so every value is exact: no
anti-aliasing mixes labels at edges. "First surface" uses the Light Path node's Transparent Depth:
with amodal groups the override is emission + transparent, so a ray crosses every surface and
counts each group it passes through; without groups it is opaque and stops at the first hit.

The annotation render runs in its own scene ("hop_passes" / "hop_passes_xray") that links the same
mesh objects and camera (no copies) and holds the exact settings permanently. The beauty scene is
never switched to label materials and back, so with persistent data its Cycles session keeps its
shaders, lights and world (switching cost ~1 CPU-s per 320x320 sample, more than the passes).
"""

import atexit
import os
import shutil
import tempfile

import numpy as np

import bpy

from hopgen.blender import compat, materials
from hopgen.blender.materials import GROUP_ATTRIBUTE

PASS_HIDDEN = "hop_pass_hidden"        # object custom property: hide in annotation passes (backplates)
PASS_SCENE = "hop_passes"              # name of the annotation scene(s)
_GROUP_BASE = 256
_MAX_GROUPS = 3                        # 256**3 < 2**24: sums stay exact in float32
_XRAY_BOUNCES = 200                    # < 255 crossings per group, so counts never carry


class PassError(RuntimeError):
    """An annotation pass came back inconsistent (not exact integers, wrong size)."""


class _Stash:
    """Sets attributes and remembers the old values; restore() puts them back in reverse order."""

    def __init__(self):
        self._undo = []

    def set(self, owner, attr, value):
        old = getattr(owner, attr)
        if old != value:
            self._undo.append((owner, attr, old))
            setattr(owner, attr, value)

    def call(self, undo):
        self._undo.append((None, undo, None))

    def restore(self):
        while self._undo:
            owner, attr, old = self._undo.pop()
            if owner is None:
                attr()
            else:
                setattr(owner, attr, old)


def _image_format(stash, scene, file_format, color_mode, color_depth, **extra):
    """Switch the output image format; the undo restores the format before its dependent enums."""
    ims = scene.render.image_settings
    keys = ("color_depth", "color_mode") + tuple(extra)
    old_format, old = ims.file_format, {k: getattr(ims, k) for k in keys}

    def undo():
        ims.file_format = old_format
        for k, v in old.items():
            try:
                setattr(ims, k, v)
            except (TypeError, ValueError):  # e.g. exr_codec while the restored format is PNG
                pass
    stash.call(undo)
    ims.file_format = file_format
    ims.color_mode = color_mode
    ims.color_depth = color_depth
    for k, v in extra.items():
        setattr(ims, k, v)


def _render_still(scene, path):
    stash = _Stash()
    stash.set(scene.render, "filepath", path)
    stash.set(scene.render, "use_file_extension", False)
    try:
        bpy.ops.render.render(write_still=True, scene=scene.name)
    finally:
        stash.restore()
    if not os.path.isfile(path):
        raise PassError(f"Blender did not write {path}")


def render_rgb(scene, path):
    """Render the beauty pass with the scene's settings and write an 8-bit sRGB RGB PNG to `path`.

    Blender's own writer is used (exact `path`, no extension added); the caller renames it into place.
    """
    stash = _Stash()
    _image_format(stash, scene, "PNG", "RGB", "8", compression=15)
    stash.set(scene.render, "film_transparent", False)
    try:
        _render_still(scene, path)
    finally:
        stash.restore()
    return path


def read_rgb_png(path, width, height):
    """(H,W,3) uint8 of an 8-bit RGB PNG (the beauty pass render_rgb wrote), top row first, decoded
    by Blender's own image reader: pure-Python unfiltering of Blender's adaptively filtered rows
    (hopgen.core.pngio) costs ~0.5 CPU-s per 320x320 image, this ~10 ms. The bytes are exact: the
    8-bit buffer is read as data (no colour transform), as byte / 255 in float32, and rounded back.
    Check the file first (hopgen.dataset.hopformat.check_rendered_rgb): a truncated PNG may load
    without an error here."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        img.colorspace_settings.is_data = True  # the stored bytes, no view or colour transform
        if tuple(img.size) != (width, height) or img.is_float:
            raise PassError(f"{path}: expected an 8-bit {width}x{height} image, Blender read "
                            f"{tuple(img.size)}{' float' if img.is_float else ''}")
        channels = img.channels
        buf = np.empty(width * height * channels, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    rgb = buf.reshape(height, width, channels)[::-1, :, :3]
    return np.rint(rgb * 255.0).astype(np.uint8)


def _black_world():
    world = bpy.data.worlds.get("hop_black")
    if world is None:
        world = bpy.data.worlds.new("hop_black")
        tree = compat.node_tree(world)
        bg = tree.nodes.get("Background") or tree.nodes.new("ShaderNodeBackground")
        bg.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        bg.inputs["Strength"].default_value = 0.0
    return world


def _exact_settings(stash, scene, xray):
    """Settings that make a 1-sample render exact; all undone by stash.restore()."""
    c, r = scene.cycles, scene.render
    for attr, value in (("samples", 1), ("use_adaptive_sampling", False), ("use_denoising", False),
                        ("pixel_filter_type", "BOX"), ("filter_width", 0.01), ("max_bounces", 0),
                        ("diffuse_bounces", 0), ("glossy_bounces", 0), ("transmission_bounces", 0),
                        ("volume_bounces", 0), ("transparent_max_bounces", _XRAY_BOUNCES if xray else 0),
                        ("sample_clamp_direct", 0.0), ("sample_clamp_indirect", 0.0),
                        ("film_exposure", 1.0), ("use_animated_seed", False)):
        stash.set(c, attr, value)
    stash.set(r, "film_transparent", False)
    stash.set(r, "use_compositing", False)
    stash.set(r, "use_sequencer", False)
    stash.set(r, "use_motion_blur", False)
    vs = scene.view_settings
    old_vt, old_look = vs.view_transform, vs.look
    stash.call(lambda: (setattr(vs, "view_transform", old_vt), setattr(vs, "look", old_look)))
    compat.set_view_transform(scene, "Standard")
    stash.set(vs, "exposure", 0.0)
    stash.set(vs, "gamma", 1.0)
    stash.set(scene, "world", _black_world())
    for layer in scene.view_layers:
        stash.set(layer, "material_override", materials.label_material(xray))


def _read_exr(path, width, height):
    """(H,W,3) float32 from a float EXR, top row first."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        img.colorspace_settings.is_data = True  # raw values, no colour transform
        if tuple(img.size) != (width, height):
            raise PassError(f"{path}: expected {width}x{height}, Blender wrote {tuple(img.size)}")
        buf = np.empty(width * height * 4, dtype=np.float32)
        img.pixels.foreach_get(buf)
    finally:
        bpy.data.images.remove(img)
    return buf.reshape(height, width, 4)[::-1, :, :3]


def _pass_scene(scene, xray, objects):
    """The annotation scene of `scene` (made once per xray mode, exact settings applied then):
    links exactly `objects` and the camera, and follows the resolution, threads and device."""
    name = PASS_SCENE + ("_xray" if xray else "")
    ps = bpy.data.scenes.get(name)
    if ps is None:
        ps = bpy.data.scenes.new(name)
        ps.render.engine = "CYCLES"
        _exact_settings(_Stash(), ps, xray)  # never restored: this scene only renders passes
        _image_format(_Stash(), ps, "OPEN_EXR", "RGB", "32", exr_codec="ZIP")
        ps.render.use_persistent_data = True  # BVH and shaders kept between the frames of an episode
    r, pr = scene.render, ps.render
    for owner, src, attr in ((pr, r, "resolution_x"), (pr, r, "resolution_y"), (pr, r, "resolution_percentage"),
                             (pr, r, "pixel_aspect_x"), (pr, r, "pixel_aspect_y"), (pr, r, "threads_mode"),
                             (pr, r, "threads"), (ps.cycles, scene.cycles, "device")):
        if getattr(owner, attr) != getattr(src, attr):
            setattr(owner, attr, getattr(src, attr))
    want = {o.name: o for o in objects}
    if scene.camera is not None:
        want[scene.camera.name] = scene.camera
    linked = ps.collection.objects
    for obj in list(linked):
        if want.get(obj.name) is not obj:
            linked.unlink(obj)
    for obj in want.values():
        if obj.name not in linked:
            linked.link(obj)
    ps.camera = scene.camera
    if ps.frame_current != scene.frame_current:
        ps.frame_current = scene.frame_current
    return ps


_TMPDIR = None


def _tmp_exr():
    global _TMPDIR
    if _TMPDIR is None:
        _TMPDIR = tempfile.mkdtemp(prefix="hopgen_passes_")
        atexit.register(shutil.rmtree, _TMPDIR, True)
    return os.path.join(_TMPDIR, f"pass_{os.getpid()}.exr")


def render_annotations(scene, groups=None, include=None):
    """Labels, depth and amodal masks from one exact 1-sample render.

    groups: {name: [objects]} (at most 3) whose amodal masks are wanted: a pixel is in the mask when
    its camera ray passes through any of those objects, occluded or not. include: render only these
    objects (all other objects hidden). Objects with the custom property "hop_pass_hidden" (photo
    backplates) are always hidden. Returns {"labels": (H,W) uint8, "depth": (H,W) float32 metres
    along the OpenCV z (0 = no surface), "masks": {name: (H,W) bool}}.
    """
    groups = dict(groups or {})
    if len(groups) > _MAX_GROUPS:
        raise ValueError(f"render_annotations: at most {_MAX_GROUPS} amodal groups, got {len(groups)}")
    width = scene.render.resolution_x * scene.render.resolution_percentage // 100
    height = scene.render.resolution_y * scene.render.resolution_percentage // 100
    keep = None if include is None else {o.name for o in include}
    ps = _pass_scene(scene, xray=bool(groups),
                     objects=[o for o in scene.objects if o.type == "MESH" and not o.hide_render
                              and not o.get(PASS_HIDDEN, False) and (keep is None or o.name in keep)])
    stash = _Stash()
    try:
        for k, objs in enumerate(groups.values()):
            for obj in objs:
                obj[GROUP_ATTRIBUTE] = float(_GROUP_BASE ** k)
                # Python ID-property edits are not seen by the depsgraph; with persistent data
                # Cycles would keep the old value, so tag the object both ways.
                obj.update_tag()
                stash.call(lambda o=obj: (o.pop(GROUP_ATTRIBUTE, None), o.update_tag()))
        path = _tmp_exr()
        _render_still(ps, path)
        data = _read_exr(path, width, height)
        os.remove(path)
    finally:
        stash.restore()
    labels = np.rint(data[..., 0])
    if np.abs(data[..., 0] - labels).max(initial=0.0) > 1e-3 or labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise PassError("label pass is not exact integers in 0..255 (filter or sampling settings ignored?)")
    out = {"labels": labels.astype(np.uint8), "depth": np.ascontiguousarray(data[..., 1]), "masks": {}}
    counts = np.rint(data[..., 2]).astype(np.int64)
    for k, name in enumerate(groups):
        out["masks"][name] = (counts // _GROUP_BASE ** k) % _GROUP_BASE > 0
    return out


def render_labels(scene, include=None):
    """(H,W) uint8 exact "hop_label" of the first surface per pixel, 0 for background.

    include: list of objects rendered alone (others hidden), e.g. for amodal masks.
    """
    return render_annotations(scene, include=include)["labels"]
