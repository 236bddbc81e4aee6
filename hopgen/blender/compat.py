"""Every Blender-version branch of hopgen lives here (supported: 3.4 .. 5.0).

Known differences handled here:
- Principled BSDF socket names changed in 4.0 ("Subsurface" -> "Subsurface Weight", "Specular" ->
  "Specular IOR Level", "Emission" -> "Emission Color", "Clearcoat" -> "Coat Weight", ...); 3.4 has
  "Subsurface Color" and no "Subsurface Scale" (its radius is absolute, in scene units).
- Materials/worlds: `use_nodes` must be switched on before 5.0 (node_tree is None until then) and is
  deprecated in 5.0 (always on).
- The "Filmic" view transform was replaced by "AgX" in 4.0.
- Debian's 3.4.1 is built without OpenImageDenoise; `_cycles.with_openimagedenoise` tells.
  `cycles.denoising_quality` (OIDN quality) exists from 4.1.
- Emissive-mesh light sampling: `Material.cycles.sample_as_light` (<= 3.4) became
  `Material.cycles.emission_sampling` (3.5+).
- ShaderNodeMixRGB is legacy since 3.4 (the oldest supported version): ShaderNodeMix (data_type RGBA)
  is used everywhere. Its factor socket was renamed "Fac" -> "Factor" (FACTOR lists both).
- Auto smooth was removed in 4.1: `Mesh.set_sharp_from_angle` replaces `use_auto_smooth`.
- Blender 3.x's glTF importer uses `np.bool`, which numpy 1.24+ lacks (Debian's 3.4 runs numpy 1.24).

A test (tests/test_compat_only.py) fails when a version check appears in any other module.
- Motion blur's shutter position is `RenderSettings.motion_blur_position` from 3.5 (3.4:
  `scene.cycles.motion_blur_position`).
- Cycles device listing: `refresh_devices()` (3.0+) and `get_devices()`.
- OpenImageDenoise on the GPU: `cycles.denoising_use_gpu` and `has_oidn_gpu_devices()` from 4.1;
  before, OIDN runs on the CPU whatever the render device.
"""

import contextlib

import bpy
import numpy as np

# Principled BSDF input names, newest first; `set_input` takes the first one the node has.
PRINCIPLED = {
    "subsurface": ("Subsurface Weight", "Subsurface"),
    "subsurface_radius": ("Subsurface Radius",),
    "subsurface_scale": ("Subsurface Scale",),       # 4.0+ only
    "subsurface_color": ("Subsurface Color",),       # 3.x only
    "specular": ("Specular IOR Level", "Specular"),
    "transmission": ("Transmission Weight", "Transmission"),
    "emission": ("Emission Color", "Emission"),
    "emission_strength": ("Emission Strength",),
    "coat": ("Coat Weight", "Clearcoat"),
    "coat_roughness": ("Coat Roughness", "Clearcoat Roughness"),
    "sheen": ("Sheen Weight", "Sheen"),
    "sheen_tint": ("Sheen Tint",),
    "anisotropic": ("Anisotropic",),
    "base_color": ("Base Color",),
    "roughness": ("Roughness",),
    "metallic": ("Metallic",),
    "normal": ("Normal",),
    "ior": ("IOR",),
}


def blender_version():
    """(major, minor, patch) of the running Blender."""
    return tuple(bpy.app.version)


FACTOR = ("Factor", "Fac")  # colour/math factor sockets, newest name first


def find_socket(sockets, names, kind=None):
    """First socket of ``sockets`` named one of ``names`` (in order) and, if given, of type ``kind``
    ('RGBA', 'VALUE', 'VECTOR'); enabled sockets are preferred (nodes keep disabled twins of the
    same name for other data types). None if there is none."""
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        cands = [s for s in sockets if s.name == name and (kind is None or s.type == kind)]
        cands.sort(key=lambda s: not getattr(s, "enabled", True))
        if cands:
            return cands[0]
    return None


def find_input(node, names):
    """First input socket of `node` whose name is in `names` (a PRINCIPLED key, one name or a
    sequence of names), or None."""
    if isinstance(names, str):
        names = PRINCIPLED.get(names, (names,))
    return find_socket(node.inputs, names)


def set_input(node, names, value):
    """Set the default value of the first existing input among `names`; returns the socket or None.

    `names` is a key of PRINCIPLED (e.g. "subsurface"), one socket name, or a list of names.
    Colours given as RGB are padded to RGBA when the socket wants four values.
    """
    sock = find_input(node, names)
    if sock is None:
        return None
    if isinstance(value, (tuple, list)) and len(value) == 3 and len(sock.default_value) == 4:
        value = tuple(value) + (1.0,)
    sock.default_value = value
    return sock


def node_tree(idblock):
    """The node tree of a material/world/light, switching nodes on where the version needs it."""
    if blender_version() < (5, 0, 0):
        idblock.use_nodes = True
    elif idblock.node_tree is None:  # 5.0 creates the tree lazily in a few cases
        idblock.use_nodes = True
    return idblock.node_tree


class MixSockets:
    """A colour-mix node and its (fac, a, b, result) sockets, the same on every version."""

    def __init__(self, node, fac, a, b, result):
        self.node, self.fac, self.a, self.b, self.result = node, fac, a, b, result


def new_mix_rgb(tree, blend="MIX"):
    """A colour Mix node (`blend`: MIX, MULTIPLY, OVERLAY, ...) as MixSockets."""
    node = tree.nodes.new("ShaderNodeMix")  # 3.4+ (every supported version)
    node.data_type = "RGBA"
    node.blend_type = blend
    ins = {s.identifier: s for s in node.inputs}
    outs = {s.identifier: s for s in node.outputs}
    return MixSockets(node, ins["Factor_Float"], ins["A_Color"], ins["B_Color"], outs["Result_Color"])


def shade_smooth_by_angle(mesh, angle):
    """Smooth shading with edges sharper than ``angle`` (radians) kept sharp."""
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    if hasattr(mesh, "set_sharp_from_angle"):  # 4.1+: auto smooth was removed
        mesh.set_sharp_from_angle(angle=angle)
    else:
        mesh.use_auto_smooth = True
        mesh.auto_smooth_angle = angle


@contextlib.contextmanager
def gltf_importer_numpy():
    """Lend numpy the ``np.bool`` alias that Blender 3.x's glTF importer uses (numpy 1.24-1.26 lack
    it) for the duration of an import; newer numpy and Blender need nothing."""
    lend = np.__dict__.get("bool") is None  # (hasattr would warn on numpy 1.24-1.26)
    if lend:
        np.bool = np.bool_
    try:
        yield
    finally:
        if lend:
            del np.bool


def set_view_transform(scene, name):
    """Set the colour view transform. 'Filmic' and 'AgX' map to whichever of the two exists.

    Returns the name actually set ('Standard' and 'Raw' exist in every supported version).
    """
    candidates = {"Filmic": ("Filmic", "AgX"), "AgX": ("AgX", "Filmic")}.get(name, (name,))
    for cand in candidates:
        try:
            scene.view_settings.view_transform = cand
            scene.view_settings.look = "None"
            return cand
        except (TypeError, ValueError):
            continue
    raise ValueError(f"view transform {name!r} is not available in Blender {bpy.app.version_string}")


def has_oidn():
    """True if this Cycles build has OpenImageDenoise (Debian's 3.4.1 does not)."""
    try:
        import _cycles
        return bool(getattr(_cycles, "with_openimagedenoise", False))
    except ImportError:
        return False


def set_denoise(scene, enable, prefilter="FAST", quality="HIGH"):
    """Switch Cycles denoising; returns the denoiser used ('OPENIMAGEDENOISE') or None.

    Asking for denoising where OIDN is missing turns it off rather than failing the render.
    prefilter: 'FAST' (albedo/normal guides used as rendered: one OIDN pass), 'ACCURATE' (the guides
    are denoised first: three passes) or 'NONE'; quality ('HIGH', 'BALANCED', 'FAST') exists from 4.1
    and is skipped before.
    """
    use = bool(enable) and has_oidn()
    c = scene.cycles
    c.use_denoising = use
    if use:
        c.denoiser = "OPENIMAGEDENOISE"
        c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        c.denoising_prefilter = prefilter
        if hasattr(c, "denoising_quality"):
            c.denoising_quality = quality
    return "OPENIMAGEDENOISE" if use else None


def set_emission_sampling(material, enable):
    """Whether Cycles treats a material's emissive faces as lights (off for passes: saves the light build)."""
    mc = material.cycles
    if hasattr(mc, "emission_sampling"):
        mc.emission_sampling = "AUTO" if enable else "NONE"
    else:
        mc.sample_as_light = bool(enable)


def set_face_int_attribute(mesh, name, values):
    """Store (F,) integers in an INT attribute on the FACE domain (replacing one of the same name)."""
    import numpy as np
    old = mesh.attributes.get(name)
    if old is not None:
        mesh.attributes.remove(old)
    attr = mesh.attributes.new(name, "INT", "FACE")
    vals = np.broadcast_to(np.asarray(values, dtype=np.int32), (len(mesh.polygons),))
    attr.data.foreach_set("value", np.ascontiguousarray(vals))
    return attr


def set_motion_blur(scene, enable, shutter_frames=1.0):
    """Cycles motion blur on/off; the shutter (in frames) is centred on the current frame."""
    r = scene.render
    r.use_motion_blur = bool(enable)
    if enable:
        r.motion_blur_shutter = float(shutter_frames)
        owner = r if hasattr(r, "motion_blur_position") else scene.cycles
        owner.motion_blur_position = "CENTER"


def set_point_radius(light, radius):
    """Soft-shadow radius of a point/spot light (same property name in 3.4..5.0)."""
    light.shadow_soft_size = radius


def hide_from_camera(obj, hidden=True):
    """Object ray visibility for camera rays (3.0+ API)."""
    obj.visible_camera = not hidden


class NoGpuError(RuntimeError):
    """A GPU render was asked for (render.device: GPU) and Cycles finds no OptiX/CUDA device."""


def cycles_preferences():
    """The Cycles add-on preferences (compute device type, device list), or None without the add-on."""
    try:
        return bpy.context.preferences.addons["cycles"].preferences
    except (KeyError, AttributeError):
        return None


def find_gpu(prefer=("OPTIX", "CUDA"), prefs=None):
    """(backend, device names) of the first backend in `prefer` with a GPU, or (None, what was seen).

    Selection rule: backends are tried in the order given (OptiX first: RTX cores, then CUDA); a
    backend this build lacks (setting compute_device_type raises) or that lists no device of its
    type is skipped and said why. The chosen backend's GPUs are switched on and every other
    device (the CPU entry included) off, so Cycles renders on the GPUs only. With none found,
    compute_device_type is reset to NONE. prefs: the Cycles preferences (default: the add-on's).
    Device listing: `refresh_devices()` (3.0+), else `get_devices()`."""
    if isinstance(prefer, str):
        prefer = (prefer,)
    prefs = prefs if prefs is not None else cycles_preferences()
    if prefs is None:
        return None, ["the cycles add-on is not loaded"]
    seen = []
    for backend in prefer:
        try:
            prefs.compute_device_type = backend
        except (TypeError, ValueError):  # backend not compiled in
            seen.append(f"{backend}: not in this build")
            continue
        if hasattr(prefs, "refresh_devices"):
            prefs.refresh_devices()
        else:
            prefs.get_devices()
        gpus = [d for d in prefs.devices if d.type == backend]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == backend
            return backend, [d.name for d in gpus]
        seen.append(f"{backend}: no device")
    prefs.compute_device_type = "NONE"
    return None, seen


def use_gpu(scene, prefer=("OPTIX", "CUDA"), required=False, prefs=None):
    """Render on a CUDA/OptiX GPU when one is asked for and present, else on the CPU.

    `prefer`: backends in order of preference, or a falsy value for CPU. Returns 'OPTIX', 'CUDA'
    or 'CPU', the device actually used. required: raise NoGpuError instead of falling back
    (render.device: GPU is always required: a farm job that asked for a GPU must not crawl on CPU).
    """
    scene.cycles.device = "CPU"
    if not prefer:
        return "CPU"
    backend, seen = find_gpu(prefer, prefs)
    if backend is None:
        if required:
            raise NoGpuError(f"render.device is GPU but Cycles finds no GPU ({'; '.join(seen)}); "
                             "set render.device: CPU or run on a node with an NVIDIA GPU and driver")
        return "CPU"
    scene.cycles.device = "GPU"
    return backend


def set_denoise_device(scene, gpu, prefs=None):
    """OpenImageDenoise on the GPU when asked, where it can run there; returns 'GPU' or 'CPU'.

    `cycles.denoising_use_gpu` exists from 4.1 (before, OIDN runs on the CPU); the GPU must also
    support OIDN (`has_oidn_gpu_devices()` of the Cycles preferences, 4.1+: e.g. CUDA/OptiX on
    Turing or newer), otherwise Cycles would fall back silently and the record would lie."""
    c = scene.cycles
    if not hasattr(c, "denoising_use_gpu"):
        return "CPU"
    prefs = prefs if prefs is not None else cycles_preferences()
    able = prefs is not None and (not hasattr(prefs, "has_oidn_gpu_devices") or bool(prefs.has_oidn_gpu_devices()))
    on = bool(gpu) and able
    c.denoising_use_gpu = on
    return "GPU" if on else "CPU"


def fill_mesh(mesh, vertices, faces):
    """Fill an empty mesh with (V,3) vertices and (F,3) triangles through foreach_set (fast).

    3.x needs each polygon's `loop_total`; 4.0+ derives it from `loop_start` (read-only there).
    """
    import numpy as np
    v = np.ascontiguousarray(vertices, dtype=np.float32).reshape(-1, 3)
    f = np.ascontiguousarray(faces, dtype=np.int32).reshape(-1, 3)
    mesh.vertices.add(len(v))
    mesh.vertices.foreach_set("co", v.ravel())
    mesh.loops.add(f.size)
    mesh.loops.foreach_set("vertex_index", f.ravel())
    mesh.polygons.add(len(f))
    mesh.polygons.foreach_set("loop_start", np.arange(0, f.size, 3, dtype=np.int32))
    if blender_version() < (4, 0, 0):
        mesh.polygons.foreach_set("loop_total", np.full(len(f), 3, dtype=np.int32))
    mesh.update()
    if mesh.validate(verbose=False):
        raise ValueError(f"mesh {mesh.name!r}: invalid topology (faces index missing vertices or repeat one)")


def set_smooth(mesh, smooth):
    """Smooth or flat shading for all faces."""
    import numpy as np
    mesh.polygons.foreach_set("use_smooth", np.full(len(mesh.polygons), bool(smooth)))


def set_subsurface(bsdf, weight, radius_m, colour=None):
    """Principled subsurface scattering with per-channel mean free path `radius_m` (metres, RGB).

    4.0+: radius is multiplied by "Subsurface Scale" and the SSS colour is the base colour; 3.x:
    radius is absolute and the SSS colour is its own socket ("Subsurface Color").
    """
    set_input(bsdf, "subsurface", float(weight))
    scale = find_input(bsdf, "subsurface_scale")
    if scale is not None:  # 4.0+: keep the radius vector around 1 and the metres in the scale
        s = max(float(max(radius_m)), 1e-9)
        scale.default_value = s
        set_input(bsdf, "subsurface_radius", tuple(float(r) / s for r in radius_m))
    else:
        set_input(bsdf, "subsurface_radius", tuple(float(r) for r in radius_m))
    if colour is not None:
        set_input(bsdf, "subsurface_color", tuple(colour))
    set_subsurface_method(bsdf, "random_walk")


# Blender enum values per hopgen method name, best first (RANDOM_WALK_SKIN exists from 4.0).
SUBSURFACE_METHODS = {"burley": ("BURLEY",), "random_walk": ("RANDOM_WALK_SKIN", "RANDOM_WALK")}


def set_subsurface_method(bsdf, method):
    """Set a Principled BSDF's subsurface method ("burley" | "random_walk"); returns the enum used."""
    for name in SUBSURFACE_METHODS[method]:
        try:
            bsdf.subsurface_method = name
            return name
        except (TypeError, ValueError):
            continue
    return None


def set_subsurface_methods(materials, method):
    """Apply `method` to every Principled BSDF (with some subsurface weight) of `materials`."""
    used = None
    for mat in materials:
        tree = getattr(mat, "node_tree", None)  # None for materials without nodes
        if tree is None:
            continue
        for node in tree.nodes:
            if node.type == "BSDF_PRINCIPLED":
                weight = find_input(node, "subsurface")
                if weight is not None and not weight.is_linked and weight.default_value <= 0.0:
                    continue
                used = set_subsurface_method(node, method) or used
    return used


def _has_op(module, name):
    return name in dir(module)


def import_object_file(path):
    """Import an object file with Blender's own importer, axes as hopgen's pure readers take them:
    OBJ/STL/PLY as written (Z up: no axis change), glTF Y-up turned Z-up (the glTF importer's
    rule), FBX by its own axis and unit settings, a .blend appended (never linked; its scripts do
    not run: autoexec is switched off first). Returns the new objects.

    Version differences: OBJ ``wm.obj_import`` (3.2+; 3.x also has the legacy
    ``import_scene.obj``, gone in 4.0); PLY/STL ``wm.ply_import``/``wm.stl_import`` (3.6/4.1+)
    replace ``import_mesh.ply``/``import_mesh.stl``; the axis enums of the old Python importers
    are ``axis_forward``/``axis_up``."""
    import os
    before = set(bpy.data.objects)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".obj":
        if _has_op(bpy.ops.wm, "obj_import"):
            bpy.ops.wm.obj_import(filepath=path, forward_axis="Y", up_axis="Z")
        else:
            bpy.ops.import_scene.obj(filepath=path, axis_forward="Y", axis_up="Z")
    elif ext == ".ply":
        if _has_op(bpy.ops.wm, "ply_import"):
            bpy.ops.wm.ply_import(filepath=path, forward_axis="Y", up_axis="Z")
        else:
            bpy.ops.import_mesh.ply(filepath=path)
    elif ext == ".stl":
        if _has_op(bpy.ops.wm, "stl_import"):
            bpy.ops.wm.stl_import(filepath=path, forward_axis="Y", up_axis="Z")
        else:
            bpy.ops.import_mesh.stl(filepath=path, axis_forward="Y", axis_up="Z")
    elif ext in (".glb", ".gltf"):
        with gltf_importer_numpy():
            bpy.ops.import_scene.gltf(filepath=path)
    elif ext == ".fbx":
        bpy.ops.import_scene.fbx(filepath=path)
    elif ext == ".blend":
        bpy.context.preferences.filepaths.use_scripts_auto_execute = False
        with bpy.data.libraries.load(path, link=False) as (src, dst):
            dst.objects = list(src.objects)
        for obj in dst.objects:
            if obj is not None:
                bpy.context.scene.collection.objects.link(obj)
    else:
        raise ValueError(f"{path}: Blender import of {ext!r} files is not set up")
    return [o for o in bpy.data.objects if o not in before]


def colour_attribute_names(mesh):
    """Names of the mesh's colour attributes (``color_attributes`` 3.2+, ``vertex_colors`` before)."""
    layers = getattr(mesh, "color_attributes", None)
    if layers is None:
        layers = mesh.vertex_colors
    return [a.name for a in layers]
