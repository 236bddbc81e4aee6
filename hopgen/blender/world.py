"""Lighting and surroundings: studio HDRIs, plain worlds, backdrops/tables, photo backplates, distractors.

Each builder takes plain parameters (dicts/floats, colours linear RGB 0..1) that a pure planner
draws; nothing here is random. Surroundings carry label SEG_SURROUNDINGS in the label pass (written
as 0 in seg PNGs; visibility code 4 where they hide a joint); photo
backplates are hidden from annotation passes altogether (depth 0 there).
"""

import os

import numpy as np

import bpy
from mathutils import Euler

from hopgen.core import camera as cam
from hopgen.core.shapes import SHAPES, ShapeError, grid_faces as _grid_faces, primitive_mesh
from hopgen.core.skeleton import SEG_SURROUNDINGS
from hopgen.blender import compat, materials, scene as hscene
from hopgen.blender.passes import PASS_HIDDEN



class WorldError(ValueError):
    """Bad surroundings parameters (names the field and the problem)."""


# ---------------------------------------------------------------------------- environment

def list_studio_hdris():
    """Sorted paths of Blender's bundled CC0 studio-light HDRIs (8 .exr files in 3.4..5.0)."""
    folder = bpy.utils.system_resource("DATAFILES", path=os.path.join("studiolights", "world"))
    if not folder or not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".exr"))


def blackbody_rgb(kelvin):
    """Linear RGB (brightest channel 1) of a lamp of colour temperature `kelvin` (1000..40000 K).

    Tanner Helland's fit of the black-body sRGB colour, converted to linear: 6500 K is near white,
    3200 K (tungsten) orange-white. Lamp power stays the planned watts.
    """
    t = float(kelvin) / 100.0
    if not 10.0 <= t <= 400.0:
        raise WorldError(f"lamp colour temperature {kelvin} K outside 1000..40000 K")
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * np.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307)
    srgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return tuple(float(x) for x in lin / lin.max())


def _new_world(name):
    world = bpy.data.worlds.new(name)
    tree = compat.node_tree(world)
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputWorld")
    bg = tree.nodes.new("ShaderNodeBackground")
    tree.links.new(bg.outputs[0], out.inputs["Surface"])
    return world, tree, bg


def set_hdri_world(path, rotation_z=0.0, strength=1.0, scene=None):
    """Light the scene with an equirectangular HDRI rotated by `rotation_z` radians about world +Z."""
    if not os.path.isfile(path):
        raise WorldError(f"hdri: file not found: {path}")
    scene = scene or bpy.context.scene
    world, tree, bg = _new_world("hop_hdri")
    env = tree.nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(path, check_existing=True)
    coords = tree.nodes.new("ShaderNodeTexCoord")
    mapping = tree.nodes.new("ShaderNodeMapping")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(rotation_z))
    tree.links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
    tree.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    tree.links.new(env.outputs["Color"], bg.inputs["Color"])
    bg.inputs["Strength"].default_value = float(strength)
    scene.world = world
    return world


def set_colour_world(colour=(0.05, 0.05, 0.05), strength=1.0, scene=None):
    """A uniform-colour world (ambient light and background)."""
    scene = scene or bpy.context.scene
    world, _, bg = _new_world("hop_colour_world")
    bg.inputs["Color"].default_value = tuple(float(c) for c in colour) + (1.0,)
    bg.inputs["Strength"].default_value = float(strength)
    scene.world = world
    return world


# ---------------------------------------------------------------------------- meshes

def _place(obj, location=(0, 0, 0), rotation=(0, 0, 0), scale=1.0):
    obj.location = tuple(float(x) for x in location)
    obj.rotation_euler = Euler(tuple(float(x) for x in rotation), "XYZ")
    obj.scale = (float(scale),) * 3 if np.isscalar(scale) else tuple(float(s) for s in scale)
    return obj


# ---------------------------------------------------------------------------- backdrops and props

def backdrop_mesh(width=3.0, depth=2.0, height=1.5, bend_radius=0.4, curved=True, steps=12):
    """A table top (curved=False: a width x depth plane) or a studio sweep: a floor that bends
    up into a wall at the back (+y). Floor at z = 0, centred on x, front edge at y = -depth/2."""
    y0 = -0.5 * depth
    profile = [(y0, 0.0), (0.5 * depth, 0.0)]
    if curved:
        t = np.linspace(0, 0.5 * np.pi, steps)[1:]
        arc = [(0.5 * depth + bend_radius * np.sin(a), bend_radius * (1 - np.cos(a))) for a in t]
        profile += arc + [(0.5 * depth + bend_radius, height)]
    prof = np.array(profile)
    xs = np.array([-0.5 * width, 0.5 * width])
    v = np.array([[x, y, z] for x in xs for (y, z) in prof])
    return v, _grid_faces(2, len(prof), wrap_u=False, wrap_v=False, swap=True)  # normals up / forward


def add_backdrop(params):
    """Table top or curved backdrop with a procedural surface. params (dict): curved (bool),
    width, depth, height, bend_radius, location (3,), rotation_z, surface (SurfaceParams dict:
    pattern wood/fabric/noise/checks/tiles/..., colours, scale, roughness)."""
    p = dict(params)
    shape = {k: p.pop(k) for k in ("width", "depth", "height", "bend_radius", "curved") if k in p}
    location = p.pop("location", (0.0, 0.0, 0.0))
    rot = p.pop("rotation_z", 0.0)
    surface = p.pop("surface", {})
    p.pop("material", None)  # the support material's name (recorded in the annotation)
    if p:
        raise WorldError(f"backdrop: unknown field(s) {sorted(p)}")
    v, f = backdrop_mesh(**shape)
    mat = materials.surface_material("hop_backdrop", surface)
    obj = hscene.add_mesh_object("hop_backdrop", v, f, SEG_SURROUNDINGS, materials=[mat], smooth=True)
    return _place(obj, location, (0.0, 0.0, rot))


def add_distractor(params, name="hop_distractor"):
    """A simple shape with a random-looking (planner-chosen) material. params (dict): shape (SHAPES),
    size (m), location (3,), rotation (3, XYZ Euler), surface (SurfaceParams dict)."""
    p = dict(params)
    shape = p.pop("shape", "box")
    size = p.pop("size", 0.1)
    location = p.pop("location", (0.0, 0.0, 0.0))
    rotation = p.pop("rotation", (0.0, 0.0, 0.0))
    surface = p.pop("surface", {})
    p.pop("radius", None)  # bounding radius used by the pure placement rules
    if p:
        raise WorldError(f"distractor {name}: unknown field(s) {sorted(p)}")
    if shape not in SHAPES:
        raise WorldError(f"distractor {name}: shape must be one of {SHAPES}, got {shape!r}")
    v, f = primitive_mesh(shape, size)
    mat = materials.surface_material(name, surface)
    obj = hscene.add_mesh_object(name, v, f, SEG_SURROUNDINGS, materials=[mat], smooth=shape != "box")
    return _place(obj, location, rotation)


def add_backplate(image_path, K, width, height, world_to_camera, distance=5.0, strength=1.0, margin=0.02):
    """A photo behind the subject: a camera-facing emissive plane at `distance` (metres along the
    optical axis) that fills the frame (image scaled to cover it, centred crop). It lights nothing,
    casts no shadow, and is hidden from annotation passes. Returns the object."""
    if not os.path.isfile(image_path):
        raise WorldError(f"backplate: image not found: {image_path}")
    img = bpy.data.images.load(image_path, check_existing=True)
    iw, ih = img.size
    if iw == 0 or ih == 0:
        raise WorldError(f"backplate: cannot read image {image_path}")
    K = np.asarray(K, dtype=np.float64)
    # Frame corners (pixel edges) at z = distance in the camera frame, grown by `margin`.
    lo, hi = -0.5 - margin * width, width - 0.5 + margin * width
    lo_y, hi_y = -0.5 - margin * height, height - 0.5 + margin * height
    px = np.array([[lo, lo_y], [hi, lo_y], [hi, hi_y], [lo, hi_y]])
    rays = np.c_[(px[:, 0] - K[0, 2]) / K[0, 0], (px[:, 1] - K[1, 2]) / K[1, 1], np.ones(4)]
    corners = cam.transform(cam.invert_rigid(world_to_camera), rays * distance)
    # Cover: crop the photo to the frame's aspect about its centre.
    frame_aspect, photo_aspect = (hi - lo) / (hi_y - lo_y), iw / ih
    su, sv = (frame_aspect / photo_aspect, 1.0) if frame_aspect < photo_aspect else (1.0, photo_aspect / frame_aspect)
    u0, v0 = 0.5 - 0.5 * su, 0.5 - 0.5 * sv
    uv = np.array([[u0, v0 + sv], [u0 + su, v0 + sv], [u0 + su, v0], [u0, v0]])  # image rows go down
    mat = materials.emission_material("hop_backplate", strength=strength, image=img)
    obj = hscene.add_mesh_object("hop_backplate", corners, [[0, 2, 1], [0, 3, 2]], 0, materials=[mat], smooth=False)
    uv_layer = obj.data.uv_layers.new(name="UVMap")
    loop_vert = np.empty(len(obj.data.loops), dtype=np.int32)
    obj.data.loops.foreach_get("vertex_index", loop_vert)
    uv_layer.data.foreach_set("uv", uv[loop_vert].astype(np.float32).ravel())
    obj[PASS_HIDDEN] = True
    for ray in ("visible_diffuse", "visible_glossy", "visible_transmission", "visible_shadow",
                "visible_volume_scatter"):
        setattr(obj, ray, False)
    return obj


def add_marker(location, radius, colour=(1.0, 1.0, 1.0), strength=1.0, label=1, name="hop_marker"):
    """A small flat-emission sphere (calibration marker; also used by the reprojection tests)."""
    v, f = primitive_mesh("sphere", 2.0 * radius, segments=32)
    mat = materials.emission_material(name, colour, strength)
    obj = hscene.add_mesh_object(name, v, f, label, materials=[mat], smooth=True)
    return _place(obj, location)
