"""Detailed skin: hopgen.blender.materials.skin_material plus the per-subject detail of
hopgen.episode.skin.skin_detail (veins, pores, skin micro-relief, knuckle wrinkles, creases, all as
bump; vein tint in the albedo), read through the point attributes of hopgen.episode.skin.skin_maps.

Textures are evaluated at the rest coordinates in the hand frame (COORD_ATTRIBUTE), so they stick to
the skin when the hand moves and veins run along the arm. Heights are built in millimetres and
the bump node turns them into metres (distance 0.001), so the detail's depths are physical.

The detail is seen by camera rays only (hopgen.blender.shading): every other ray gets
the same skin without the vein tint and the bump, whose height graph Cycles evaluates three times
per shading point (benchmarks/results/realism_cost.json).
"""
import numpy as np

from hopgen.blender import compat, materials
from hopgen.blender.shading import camera_rays_only_bump
from hopgen.episode.skin import (COORD_ATTRIBUTE, FLUSH_ATTRIBUTE, PALMAR_ATTRIBUTE, VEIN_ATTRIBUTE,
                                 WRINKLE_ATTRIBUTE)

VEIN_TINT = (0.74, 0.82, 0.97)  # multiplies the skin colour over a vein (blue-grey through the dermis)


def set_point_attributes(obj, maps):
    """Write {name: (V,) float or (V, 3) float} as POINT FLOAT / FLOAT_VECTOR attributes of a mesh
    object (replacing attributes of the same name)."""
    me = obj.data
    for key, values in sorted(maps.items()):
        values = np.ascontiguousarray(values, dtype=np.float32)
        if len(values) != len(me.vertices):
            raise ValueError(f"{obj.name}: attribute {key} has {len(values)} values for {len(me.vertices)} vertices")
        old = me.attributes.get(key)
        if old is not None:
            me.attributes.remove(old)
        vector = values.ndim == 2
        attr = me.attributes.new(key, "FLOAT_VECTOR" if vector else "FLOAT", "POINT")
        attr.data.foreach_set("vector" if vector else "value", values.ravel())


def _attribute(tree, name, output="Fac"):
    node = tree.nodes.new("ShaderNodeAttribute")
    node.attribute_type = "GEOMETRY"
    node.attribute_name = name
    return node.outputs[output]


def _voronoi_edges(tree, vec, scale, width, stretch=(1.0, 1.0, 1.0)):
    """1 on the edges of 3D Voronoi cells (``scale`` per metre, ``stretch`` per axis), 0 inside;
    ``width``: line half-width as a fraction of a cell."""
    m = tree.nodes.new("ShaderNodeMapping")
    m.inputs["Scale"].default_value = tuple(scale * s for s in stretch)
    tree.links.new(vec, m.inputs["Vector"])
    vor = tree.nodes.new("ShaderNodeTexVoronoi")
    vor.feature = "DISTANCE_TO_EDGE"
    tree.links.new(m.outputs["Vector"], vor.inputs["Vector"])
    line = tree.nodes.new("ShaderNodeMapRange")
    line.interpolation_type = "SMOOTHSTEP"
    tree.links.new(vor.outputs["Distance"], line.inputs["Value"])
    line.inputs["From Min"].default_value, line.inputs["From Max"].default_value = 0.0, float(width)
    line.inputs["To Min"].default_value, line.inputs["To Max"].default_value = 1.0, 0.0
    return line.outputs["Result"]


def detailed_skin_material(name, skin_rgb, detail, crease_attribute=None):
    """Skin material of a subject: base colour maps (palm, flush) as materials.skin_material, plus
    ``detail`` (hopgen.episode.skin.skin_detail dict) on a mesh with the skin_maps attributes."""
    d = detail
    params = {"roughness": d["roughness"], "albedo_variation": d["albedo_variation"], "redness": d["redness"]}
    mat = materials.skin_material(name, skin_rgb, params, crease_attribute=crease_attribute,
                                  palmar_attribute=PALMAR_ATTRIBUTE, flush_attribute=FLUSH_ATTRIBUTE)
    tree = compat.node_tree(mat)
    links = tree.links
    bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    bump = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBump")
    base = bsdf.inputs["Base Color"].links[0].from_socket
    # Every texture reads the rest coordinates, moved by the subject's offset.
    shift = tree.nodes.new("ShaderNodeMapping")
    shift.inputs["Location"].default_value = tuple(d["offset"])
    links.new(_attribute(tree, COORD_ATTRIBUTE, "Vector"), shift.inputs["Vector"])
    vec = shift.outputs["Vector"]
    math = materials._math

    # Veins: a stretched Voronoi edge network (cells 3x longer along the arm), where the map allows.
    vein = math(tree, "MULTIPLY", _voronoi_edges(tree, vec, d["vein_scale"], d["vein_width"], (1.0, 0.33, 1.0)),
                math(tree, "MULTIPLY", _attribute(tree, VEIN_ATTRIBUTE), d["vein_strength"]))
    tint = compat.new_mix_rgb(tree, "MULTIPLY")
    links.new(vein, tint.fac)
    links.new(base, tint.a)
    tint.b.default_value = tuple(VEIN_TINT) + (1.0,)
    materials._link_base_colour(tree, bsdf, tint.result)

    # Height (mm): raised veins, pores, the micro-relief furrows, knuckle wrinkles, creases.
    height = math(tree, "MULTIPLY", vein, d["vein_raise_mm"])
    pores = math(tree, "MULTIPLY", math(tree, "SUBTRACT", materials.noise_fac(tree, vec, d["pore_scale"]), 0.5), d["pore_depth_mm"])
    height = math(tree, "ADD", height, pores)
    relief = _voronoi_edges(tree, vec, d["relief_scale"], 0.08)
    height = math(tree, "SUBTRACT", height, math(tree, "MULTIPLY", relief, d["relief_depth_mm"]))
    wave = tree.nodes.new("ShaderNodeTexWave")
    wave.wave_type, wave.bands_direction = "BANDS", "Y"  # bands across the fingers (y: along them)
    wave.inputs["Scale"].default_value = float(d["wrinkle_scale"])
    wave.inputs["Distortion"].default_value = 4.0
    links.new(vec, wave.inputs["Vector"])
    # Only the troughs become wrinkles: max(0, 0.3 - fac) / 0.3.
    trough = math(tree, "DIVIDE", math(tree, "MAXIMUM", math(tree, "SUBTRACT", 0.3, wave.outputs["Fac"]), 0.0), 0.3)
    wrinkles = math(tree, "MULTIPLY", trough, math(tree, "MULTIPLY", _attribute(tree, WRINKLE_ATTRIBUTE), d["wrinkle_depth_mm"]))
    height = math(tree, "SUBTRACT", height, wrinkles)
    if crease_attribute:
        creases = math(tree, "MULTIPLY", _attribute(tree, crease_attribute), d["crease_depth_mm"])
        height = math(tree, "SUBTRACT", height, creases)
    links.new(height, bump.inputs["Height"])
    bump.inputs["Strength"].default_value = 1.0
    bump.inputs["Distance"].default_value = 0.001  # height is in mm
    camera_rays_only_bump(tree, bsdf, swap=(tint.result, base))
    mat["hop_skin_detail"] = 1
    return mat

