"""Blender-side checks shared by the bpy-module tests and the Blender-binary tests.

Imported by tests (bpy module, in-process) or run by a Blender executable:
    blender -b --factory-startup --python-exit-code 1 -P tests/blender_probe.py -- '{"out": "r.json",
        "checks": ["reprojection", "passes", "materials", "hdri"], "tmp": "/tmp/x"}'
Each check builds its own tiny scene and returns JSON-able measurements; the tests assert on them,
so the same assertions run against both Blenders.
"""

import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # the Blender binary's Python does not have hopgen installed
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from hopgen.core import camera as cam  # noqa: E402
from hopgen.core.pngio import read_png  # noqa: E402


def _blender():
    import bpy  # noqa: F401  (imported lazily so pytest can import this module without bpy)
    from hopgen.blender import compat, materials, passes, scene, world
    return compat, materials, passes, scene, world


def _srgb_to_linear(c):
    c = np.asarray(c, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# Cameras: different sizes (incl. non-square both ways), focal lengths, off-centre principal
# points, rotations and roll. The marker point lands off-centre in every image.
REPROJECTION_CASES = [
    dict(W=64, H=64, K=[[80.0, 0, 31.5], [0, 80.0, 31.5], [0, 0, 1]], eye=[0.3, -1.0, 0.6],
         target=[0.12, 0.08, -0.05], roll=0.0),
    dict(W=96, H=64, K=[[70.0, 0, 40.2], [0, 70.0, 25.7], [0, 0, 1]], eye=[-0.8, -0.5, 0.9],
         target=[-0.1, 0.05, 0.1], roll=0.4),
    dict(W=64, H=96, K=[[110.0, 0, 35.0], [0, 110.0, 52.3], [0, 0, 1]], eye=[0.2, 0.9, 1.2],
         target=[0.05, -0.1, 0.0], roll=-1.1),
    dict(W=80, H=60, K=[[65.0, 0, 20.3], [0, 65.0, 40.8], [0, 0, 1]], eye=[1.1, 0.3, -0.4],
         target=[0.0, 0.0, 0.1], roll=np.pi / 2),
]
MARKER = [0.05, -0.03, 0.08]
MARKER_RADIUS_PX = 2.5


def check_reprojection(tmp):
    """Render an emissive marker sphere per camera; compare its centroid with camera.project."""
    compat, materials, passes, scene, world = _blender()
    results = []
    for i, case in enumerate(REPROJECTION_CASES):
        s = scene.reset_scene()
        scene.configure_cycles(s, samples=16, adaptive_threshold=None, view_transform="Standard")
        world.set_colour_world((0.0, 0.0, 0.0), 0.0)
        K = np.array(case["K"])
        T = cam.look_at(case["eye"], case["target"], roll=case["roll"])
        scene.set_camera(K, case["W"], case["H"], T)
        xc = cam.transform(T, [MARKER])[0]
        world.add_marker(MARKER, MARKER_RADIUS_PX * xc[2] / K[0, 0], strength=0.8, label=1)
        expected = cam.project(K, [xc])[0]
        labels = passes.render_labels(s)
        rows, cols = np.nonzero(labels == 1)
        label_c = [float(cols.mean()), float(rows.mean())] if len(rows) else [float("nan")] * 2
        path = os.path.join(tmp, f"marker_{i}.png")
        passes.render_rgb(s, path)
        lum = _srgb_to_linear(read_png(path)).mean(axis=2)
        yy, xx = np.mgrid[:lum.shape[0], :lum.shape[1]]
        # Only a window around the marker: 8-bit dithering leaves faint noise on the black background.
        lum = lum * (np.hypot(xx - expected[0], yy - expected[1]) < 3 * MARKER_RADIUS_PX)
        rgb_c = [float((lum * xx).sum() / lum.sum()), float((lum * yy).sum() / lum.sum())]
        results.append({"expected": expected.tolist(), "label_centroid": label_c, "rgb_centroid": rgb_c,
                        "label_pixels": int(len(rows)), "shape": list(labels.shape),
                        "err_label": float(np.hypot(*(np.array(label_c) - expected))),
                        "err_rgb": float(np.hypot(*(np.array(rgb_c) - expected)))})
    return results


def _pass_scene(size=64):
    """Oblique camera over a table (label 2), a box object (label 1) and a hovering box with three
    face labels (5, 6, 7) that hides part of the object."""
    compat, materials, passes, scene, world = _blender()
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=4, adaptive_threshold=None)
    world.set_colour_world((0.3, 0.3, 0.3), 1.0)
    K = cam.intrinsics(60.0, 60.0, (size - 1) / 2 + 2.3, (size - 1) / 2 - 1.7)
    T = cam.look_at([0.0, -1.0, 1.5], [0.0, 0.0, 0.0])
    scene.set_camera(K, size, size, T)
    v, f = world.primitive_mesh("box", 1.0)
    table = scene.add_mesh_object("table", np.array([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0.0]]),
                                  [[0, 1, 2], [0, 2, 3]], 2)
    obj = scene.add_mesh_object("object", v * 0.3 + [0, 0, 0.15], f, 1)
    hand = scene.add_mesh_object("hand", v * [0.4, 0.12, 0.06] + [0.0, -0.12, 0.45], f,
                                 np.arange(len(f)) % 3 + 5)
    return s, K, T, table, obj, hand


def check_passes(tmp):
    """Labels, amodal masks, depth and the RGB PNG on the pass scene; also that settings are restored."""
    compat, materials, passes, scene, world = _blender()
    s, K, T, table, obj, hand = _pass_scene()
    before = (s.cycles.samples, s.cycles.pixel_filter_type, s.cycles.filter_width, s.world.name,
              s.view_settings.view_transform, s.render.image_settings.file_format)
    first_png = os.path.join(tmp, "rgb_before.png")
    passes.render_rgb(s, first_png)  # compared with the beauty render after the passes below
    t0 = time.perf_counter()
    ann = passes.render_annotations(s, groups={"hand": [hand], "object": [obj]})
    t_ann = time.perf_counter() - t0
    alone = passes.render_labels(s, include=[obj])
    after = (s.cycles.samples, s.cycles.pixel_filter_type, s.cycles.filter_width, s.world.name,
             s.view_settings.view_transform, s.render.image_settings.file_format)
    restored = before == after and all(l.material_override is None for l in s.view_layers) \
        and all(not o.hide_render for o in s.objects) and "hop_group_weight" not in obj.keys()
    labels, depth = ann["labels"], ann["depth"]
    # Analytic depth of the table plane z = 0 per pixel: ray d = K^-1 (u, v, 1) (so d.z = 1 and the
    # OpenCV depth is the ray parameter t), world ray C + t R^T d hits z = 0 at t = -C.z / (R^T d).z.
    h, w = labels.shape
    vv, uu = np.mgrid[:h, :w]
    d = np.stack([uu, vv, np.ones_like(uu)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
    centre = cam.invert_rigid(T)[:3, 3]
    t = -centre[2] / (d @ T[:3, :3])[:, 2]
    table_px = (labels == 2).reshape(-1)
    depth_err = np.abs(depth.reshape(-1) - t)[table_px]
    png = os.path.join(tmp, "rgb.png")
    t0 = time.perf_counter()
    passes.render_rgb(s, png)
    t_rgb = time.perf_counter() - t0
    rgb = read_png(png)
    return {
        "labels": sorted(int(x) for x in np.unique(labels)),
        "visible_object_px": int((labels == 1).sum()),
        "alone_object_px": int((alone == 1).sum()),
        "alone_labels": sorted(int(x) for x in np.unique(alone)),
        "amodal_object_px": int(ann["masks"]["object"].sum()),
        "amodal_vs_alone_mismatch": int((ann["masks"]["object"] != (alone == 1)).sum()),
        "amodal_hand_px": int(ann["masks"]["hand"].sum()),
        "hand_visible_px": int(np.isin(labels, [5, 6, 7]).sum()),
        "hand_mask_vs_visible_mismatch": int((ann["masks"]["hand"] != np.isin(labels, [5, 6, 7])).sum()),
        "depth_table_max_err": float(depth_err.max()), "depth_table_px": int(table_px.sum()),
        "depth_background_max": float(np.abs(depth[labels == 0]).max(initial=0.0)),
        "depth_min_object": float(depth[labels == 1].min()),
        "rgb_same_before_after": bool(np.array_equal(rgb, read_png(first_png))),
        "rgb_shape": list(rgb.shape), "rgb_dtype": str(rgb.dtype), "rgb_std": float(rgb.std()),
        "restored": bool(restored), "t_annotations_s": t_ann, "t_rgb_s": t_rgb,
    }


def check_materials(tmp):
    """Build every material/surrounding kind and render them once (tiny) to catch node errors."""
    compat, materials, passes, scene, world = _blender()
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=2, adaptive_threshold=None)
    hdris = world.list_studio_hdris()
    world.set_hdri_world(hdris[0], rotation_z=0.7, strength=1.2)
    K = cam.intrinsics(40.0, 40.0, 23.5, 23.5)
    T = cam.look_at([0.0, -1.2, 0.8], [0.0, 0.0, 0.1])
    scene.set_camera(K, 48, 48, T)
    built = []
    world.add_backdrop({"curved": True, "width": 3.0, "depth": 2.0, "height": 1.0,
                        "surface": {"pattern": "wood", "colour_a": (0.4, 0.25, 0.1), "colour_b": (0.2, 0.1, 0.05)}})
    built.append("backdrop")
    v, f = world.primitive_mesh("sphere", 0.2)
    mats = [materials.skin_material("skin", (0.6, 0.4, 0.3)),
            materials.skin_material("skin_crease", (0.3, 0.18, 0.1), {"roughness": 0.5}, crease_attribute="crease"),
            materials.nail_material("nail", (0.6, 0.4, 0.3))]
    mats += [materials.cloth_material(f"cloth_{p}", {"pattern": p, "colour_a": (0.7, 0.1, 0.1)})
             for p in ("solid", "stripes", "checks", "knit")]
    for i, m in enumerate(mats):
        scene.add_mesh_object(m.name, v + [(i % 4) * 0.25 - 0.4, (i // 4) * 0.25, 0.15], f, 3, materials=[m])
        built.append(m.name)
    for i, (shape, pat) in enumerate(zip(world.SHAPES, ("fabric", "noise", "checks", "tiles", "wood"))):
        world.add_distractor({"shape": shape, "size": 0.12, "location": (i * 0.2 - 0.4, 0.6, 0.1),
                              "rotation": (0.3, 0.2, 0.1), "surface": {"pattern": pat}}, name=f"d_{shape}")
        built.append(f"d_{shape}")
    lamp = scene.add_point_lamp((0.5, -0.5, 1.0), 30.0, 0.05)
    png = os.path.join(tmp, "materials.png")
    passes.render_rgb(s, png)
    rgb = read_png(png)
    return {"built": built, "rgb_mean": float(rgb.mean()), "rgb_std": float(rgb.std()),
            "lamp_visible_camera": bool(lamp.visible_camera), "hdris": len(hdris)}


def check_backplate(tmp):
    """A four-colour photo fills a non-square frame the right way up and is absent from the passes."""
    compat, materials, passes, scene, world = _blender()
    from hopgen.core.pngio import encode_png
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[:20, :30] = (255, 0, 0)      # top-left red
    photo[:20, 30:] = (0, 255, 0)      # top-right green
    photo[20:, :30] = (0, 0, 255)      # bottom-left blue
    photo[20:, 30:] = (255, 255, 255)  # bottom-right white
    path = os.path.join(tmp, "photo.png")
    with open(path, "wb") as fh:
        fh.write(encode_png(photo))
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=2, adaptive_threshold=None, view_transform="Standard")
    world.set_colour_world((0.0, 0.0, 0.0), 0.0)
    K = cam.intrinsics(40.0, 40.0, 26.0, 14.0)
    T = cam.look_at([0.3, -1.0, 0.5], [0.0, 0.0, 0.0], roll=0.3)
    scene.set_camera(K, 48, 32, T)
    world.add_backplate(path, K, 48, 32, T, distance=4.0)
    png = os.path.join(tmp, "backplate.png")
    passes.render_rgb(s, png)
    rgb = read_png(png).astype(int)
    ann = passes.render_annotations(s)
    corners = {"tl": rgb[2, 2], "tr": rgb[2, -3], "bl": rgb[-3, 2], "br": rgb[-3, -3]}
    return {"corners": {k: v.tolist() for k, v in corners.items()},
            "labels_max": int(ann["labels"].max()), "depth_max": float(ann["depth"].max())}


def check_hdri(tmp):
    """The bundled studio HDRIs are found and load as float images."""
    compat, materials, passes, scene, world = _blender()
    import bpy
    scene.reset_scene()
    paths = world.list_studio_hdris()
    img = bpy.data.images.load(paths[0])
    return {"count": len(paths), "names": [os.path.basename(p) for p in paths], "size": list(img.size),
            "is_float": bool(img.is_float), "version": list(compat.blender_version()), "oidn": compat.has_oidn()}


def check_timing(tmp, size=320, samples=32, repeats=2):
    """Not a test: beauty vs annotation render times on a hand-like scene (HDRI, SSS skin, backdrop)."""
    compat, materials, passes, scene, world = _blender()
    s = scene.reset_scene()
    scene.configure_cycles(s, samples=samples, adaptive_threshold=0.02, threads=2)
    world.set_hdri_world(world.list_studio_hdris()[5], 1.0, 1.0)
    K = cam.intrinsics(300.0, 300.0, (size - 1) / 2, (size - 1) / 2)
    scene.set_camera(K, size, size, cam.look_at([0.0, -0.5, 0.35], [0.0, 0.0, 0.08]))
    world.add_backdrop({"surface": {"pattern": "wood", "colour_a": (0.4, 0.25, 0.1)}})
    v, f = world.primitive_mesh("sphere", 1.0, segments=128)  # ~16k triangles, like a hand mesh
    hand = scene.add_mesh_object("hand", v * [0.09, 0.03, 0.18] + [0, 0, 0.12], f, np.arange(len(f)) % 16 + 3,
                                 materials=[materials.skin_material("skin", (0.6, 0.4, 0.3))])
    v, f = world.primitive_mesh("cylinder", 1.0, segments=64)
    obj = scene.add_mesh_object("object", v * [0.06, 0.06, 0.2] + [0.05, 0.03, 0.1], f, 1,
                                materials=[materials.surface_material("obj", {"pattern": "stripes"})])
    world.add_distractor({"shape": "torus", "size": 0.1, "location": (-0.2, 0.1, 0.03)})
    scene.add_point_lamp((0.3, -0.4, 0.6), 20.0, 0.05)
    png = os.path.join(tmp, "timing.png")
    out = {"size": size, "samples": samples, "version": list(compat.blender_version())}
    for name, fn in (("beauty", lambda: passes.render_rgb(s, png)),
                     ("annotations_2_groups", lambda: passes.render_annotations(s, {"hand": [hand], "object": [obj]})),
                     ("labels_only", lambda: passes.render_labels(s)),
                     ("labels_include_hand", lambda: passes.render_labels(s, include=[hand]))):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name + "_s"] = [round(t, 4) for t in times]  # first call includes shader compilation
    return out


CHECKS = {"reprojection": check_reprojection, "passes": check_passes, "materials": check_materials,
          "hdri": check_hdri, "backplate": check_backplate, "timing": check_timing}


def main(argv):
    args = json.loads(argv[argv.index("--") + 1])
    tmp = args.get("tmp") or os.path.dirname(os.path.abspath(args["out"]))
    os.makedirs(tmp, exist_ok=True)
    results = {name: CHECKS[name](tmp) for name in args["checks"]}
    with open(args["out"], "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv)
