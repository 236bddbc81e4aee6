"""Scene building blocks: a clean Cycles scene, labelled meshes, the OpenCV-defined camera, lamps.

Every mesh made here carries the INT FACE attribute "hop_label" (seg labels of hopgen.core.skeleton)
that the label pass (hopgen.blender.passes) renders exactly. Objects without it render as 0.
"""

import numpy as np

import bpy
from mathutils import Matrix

from hopgen.core import camera as cam
from hopgen.blender import compat
from hopgen.blender.materials import LABEL_ATTRIBUTE

CAMERA_NAME = "hop_camera"


class SceneError(ValueError):
    """Bad input to a scene builder (names the argument and the problem)."""


def reset_scene():
    """Factory-clean, empty scene rendered by Cycles; returns it.

    Loads factory settings (no user preferences, no add-ons beyond Cycles, autoexec off) with no
    default cube/light/camera.
    """
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.render.use_motion_blur = False
    scene.render.film_transparent = False
    compat.set_denoise(scene, False)  # 3.x factory scenes have it on, which fails without OIDN
    return scene


def _as_array(name, value, shape_tail, dtype):
    a = np.asarray(value, dtype=dtype)
    if a.ndim != 1 + len(shape_tail) or a.shape[1:] != tuple(shape_tail):
        raise SceneError(f"{name}: expected shape (N, {', '.join(map(str, shape_tail))}), got {a.shape}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise SceneError(f"{name}: contains NaN or infinite values")
    return a


def add_mesh_object(name, vertices, faces, face_labels=0, materials=None, face_material=None, smooth=True,
                    collection=None):
    """Create a triangle-mesh object at the origin (world coordinates = vertex coordinates).

    vertices: (V,3) metres; faces: (F,3) vertex indices; face_labels: (F,) uint8 or one int stored as
    the INT FACE attribute "hop_label"; materials: list of bpy materials; face_material: (F,)
    indices into `materials` (default all 0). Returns the object, linked to `collection` (default
    the scene collection).
    """
    v = _as_array(f"{name}: vertices", vertices, (3,), np.float64)
    f = _as_array(f"{name}: faces", faces, (3,), np.int64)
    if f.size and (f.min() < 0 or f.max() >= len(v)):
        raise SceneError(f"{name}: faces index vertices outside 0..{len(v) - 1}")
    labels = np.asarray(face_labels)
    if labels.ndim not in (0, 1) or (labels.ndim == 1 and len(labels) != len(f)):
        raise SceneError(f"{name}: face_labels must be a scalar or have one entry per face ({len(f)}), "
                         f"got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise SceneError(f"{name}: face_labels must be in 0..255")
    mesh = bpy.data.meshes.new(name)
    compat.fill_mesh(mesh, v, f)
    compat.set_face_int_attribute(mesh, LABEL_ATTRIBUTE, labels)
    for mat in materials or ():
        mesh.materials.append(mat)
    if face_material is not None:
        idx = np.broadcast_to(np.asarray(face_material, dtype=np.int32), (len(f),))
        if materials is None or idx.max(initial=0) >= len(materials):
            raise SceneError(f"{name}: face_material indexes past the {len(materials or ())} materials given")
        mesh.polygons.foreach_set("material_index", np.ascontiguousarray(idx))
    compat.set_smooth(mesh, smooth)
    obj = bpy.data.objects.new(name, mesh)
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def update_vertices(obj, vertices):
    """Move the vertices of a mesh object made by add_mesh_object (same count), e.g. per frame."""
    mesh = obj.data
    v = _as_array(f"{obj.name}: vertices", vertices, (3,), np.float32)
    if len(v) != len(mesh.vertices):
        raise SceneError(f"{obj.name}: {len(v)} vertices given, mesh has {len(mesh.vertices)}")
    mesh.vertices.foreach_set("co", np.ascontiguousarray(v).ravel())
    mesh.update()


def key_rigid_motion(obj, poses, frame):
    """Animate `obj` linearly through the world poses `poses` ((4,4) each) at frames frame, frame+1, ...
    (Cycles motion blur reads them); clear_rigid_motion undoes it."""
    prefs = bpy.context.preferences.edit
    old, prefs.keyframe_new_interpolation_type = prefs.keyframe_new_interpolation_type, "LINEAR"
    try:
        obj.animation_data_clear()
        obj.rotation_mode = "QUATERNION"
        ref = None
        for k, pose in enumerate(poses):
            loc, rot, scale = Matrix(np.asarray(pose, np.float64).tolist()).decompose()
            if ref is not None:
                rot.make_compatible(ref)  # the same hemisphere: the quaternions interpolate the short way
            ref = rot
            obj.location, obj.rotation_quaternion, obj.scale = loc, rot, scale
            for path in ("location", "rotation_quaternion", "scale"):
                obj.keyframe_insert(data_path=path, frame=frame + k)
    finally:
        prefs.keyframe_new_interpolation_type = old


def clear_rigid_motion(obj, pose):
    """Remove what key_rigid_motion added and put `obj` at the world pose `pose` (4,4)."""
    obj.animation_data_clear()
    obj.matrix_world = Matrix(np.asarray(pose, np.float64).tolist())


def set_camera(K, width, height, world_to_camera, clip=(0.01, 100.0), scene=None, dof=None):
    """Create or update the scene camera so it realises OpenCV intrinsics K and extrinsics.

    K: 3x3 (fx == fy, no skew); world_to_camera: 4x4 rigid (OpenCV frame). Sets the render
    resolution to width x height. dof: (focus distance m, f-stop) for depth of field (the lens is
    the full-frame equivalent of K, 36 mm sensor), None: a pinhole. Returns the camera object.
    """
    scene = scene or bpy.context.scene
    if int(width) <= 0 or int(height) <= 0:
        raise SceneError(f"camera: bad image size {width}x{height}")
    if not cam.is_rigid(world_to_camera):
        raise SceneError("camera: world_to_camera is not a 4x4 rigid transform")
    params = cam.blender_camera_params(K, int(width), int(height))
    obj = bpy.data.objects.get(CAMERA_NAME)
    if obj is None:
        obj = bpy.data.objects.new(CAMERA_NAME, bpy.data.cameras.new(CAMERA_NAME))
        scene.collection.objects.link(obj)
    data = obj.data
    data.type = "PERSP"
    data.sensor_fit = params["sensor_fit"]
    data.sensor_width = params["sensor_width"]
    data.lens_unit = "MILLIMETERS"
    data.lens = params["lens"]
    data.shift_x = params["shift_x"]
    data.shift_y = params["shift_y"]
    data.clip_start, data.clip_end = clip
    data.dof.use_dof = dof is not None
    if dof is not None:
        data.dof.focus_distance = float(dof[0])
        data.dof.aperture_fstop = float(dof[1])
    # A Matrix, not nested lists: bpy reads a plain nested sequence column-major (transposed).
    obj.matrix_world = Matrix(cam.blender_matrix_world(world_to_camera).tolist())
    scene.camera = obj
    scene.render.resolution_x = int(width)
    scene.render.resolution_y = int(height)
    scene.render.resolution_percentage = 100
    return obj


def configure_cycles(scene, samples=32, adaptive_threshold=0.02, denoise=False, max_bounces=6,
                     diffuse_bounces=3, glossy_bounces=3, transmission_bounces=4, transparent_bounces=8,
                     threads=0, device="CPU", seed=0, pixel_filter_width=1.5, clamp_indirect=10.0,
                     view_transform="Filmic", denoise_prefilter="FAST", denoise_quality="HIGH"):
    """Cycles settings of the beauty (RGB) render; returns what was actually used (for annotations).

    adaptive_threshold: None/0 switches adaptive sampling off. denoise falls back to off when the
    build has no OpenImageDenoise; denoise_prefilter/denoise_quality: OIDN settings (compat.set_denoise;
    FAST prefilter costs ~0.2 CPU-s at 320x320 where ACCURATE costs ~1.2 CPU-s, with no visible
    difference on HOP scenes). threads: 0 = all cores. device: 'CPU', 'GPU' (any of
    OptiX/CUDA), 'OPTIX' or 'CUDA'; a GPU device without a GPU raises compat.NoGpuError (no silent
    CPU fallback). On a GPU, OpenImageDenoise runs there too (4.1+).
    view_transform: 'Filmic' (AgX on 4.0+), 'AgX', 'Standard' or 'Raw'.
    """
    if int(samples) < 1:
        raise SceneError(f"cycles: samples must be >= 1, got {samples}")
    c = scene.cycles
    scene.render.engine = "CYCLES"
    c.samples = int(samples)
    c.use_adaptive_sampling = bool(adaptive_threshold)
    if adaptive_threshold:
        c.adaptive_threshold = float(adaptive_threshold)
    denoiser = compat.set_denoise(scene, denoise, prefilter=denoise_prefilter, quality=denoise_quality)
    c.max_bounces = int(max_bounces)
    c.diffuse_bounces = int(diffuse_bounces)
    c.glossy_bounces = int(glossy_bounces)
    c.transmission_bounces = int(transmission_bounces)
    c.transparent_max_bounces = int(transparent_bounces)
    c.volume_bounces = 0
    c.sample_clamp_direct = 0.0
    c.sample_clamp_indirect = float(clamp_indirect)
    c.caustics_reflective = c.caustics_refractive = False
    c.seed = int(seed)
    c.use_animated_seed = False
    c.pixel_filter_type = "BLACKMAN_HARRIS"
    c.filter_width = float(pixel_filter_width)
    view = compat.set_view_transform(scene, view_transform)
    scene.render.threads_mode = "FIXED" if threads else "AUTO"
    if threads:
        scene.render.threads = int(threads)
    # Keeps the BVH and shaders between the beauty and the annotation renders of one frame.
    scene.render.use_persistent_data = True
    want = {"CPU": None, "GPU": ("OPTIX", "CUDA"), "OPTIX": ("OPTIX",), "CUDA": ("CUDA",)}
    if str(device).upper() not in want:
        raise SceneError(f"cycles: device must be CPU, GPU, OPTIX or CUDA, got {device!r}")
    used = compat.use_gpu(scene, want[str(device).upper()], required=want[str(device).upper()] is not None)
    info = {}
    if used != "CPU" and denoiser:  # only GPU renders record it: CPU annotations stay as they were
        info["denoise_device"] = compat.set_denoise_device(scene, True)
    return {**info, "engine": "CYCLES", "device": used, "samples": int(samples),
            "adaptive_threshold": float(adaptive_threshold or 0.0), "denoise": denoiser is not None,
            "denoise_prefilter": denoise_prefilter if denoiser else None,
            "view_transform": view,
            "blender_version": ".".join(map(str, compat.blender_version()))}


def add_point_lamp(location, power_w=50.0, radius=0.05, colour=(1.0, 1.0, 1.0), name="hop_lamp"):
    """A point light (power in watts, soft radius in metres) that the camera never sees directly."""
    light = bpy.data.lights.new(name, "POINT")
    light.energy = float(power_w)
    light.color = tuple(float(x) for x in colour)
    compat.set_point_radius(light, float(radius))
    obj = bpy.data.objects.new(name, light)
    obj.location = tuple(float(x) for x in location)
    compat.hide_from_camera(obj)
    bpy.context.scene.collection.objects.link(obj)
    return obj
