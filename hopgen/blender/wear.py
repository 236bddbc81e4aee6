"""What the arm wears, in Blender: the WearMesh pieces of hopgen.episode.wear_geometry (wrist
accessories, the folded sleeve) as labelled mesh objects with their materials, moved each frame by
the rigid fit of the skin under them. Nothing here draws random numbers.

Labels: accessories carry SEG_SURROUNDINGS (seg PNG 0; visibility 4 where they cover a joint), the
sleeve SEG_ARM. Materials: fabric (knit, cotton, denim: procedural yarn structure in the sleeve's
metre UVs, with bump), metal, leather, plastic, strap fabric, and a watch dial under a glossy coat.
"""

import numpy as np

from mathutils import Matrix

from hopgen.core.skeleton import SEG_ARM, SEG_SURROUNDINGS
from hopgen.episode.wear_geometry import rigid_fit
from hopgen.blender import compat, materials, scene as hscene
from hopgen.blender.shading import camera_rays_only_bump
from hopgen.blender.materials import _bump, _math, _new_material, _object_coords, _principled, _ramp


def _xy(tree, vector, sx, sy):
    """(x * sx, y * sy) sockets of a vector socket."""
    sep = tree.nodes.new("ShaderNodeSeparateXYZ")
    tree.links.new(vector, sep.inputs[0])
    return _math(tree, "MULTIPLY", sep.outputs[0], sx), _math(tree, "MULTIPLY", sep.outputs[1], sy)


def _sine(tree, x):
    """0..1 sine of one period per unit of ``x``."""
    wave = _math(tree, "SINE", _math(tree, "MULTIPLY", x, 2 * np.pi), 0.0)
    return _math(tree, "ADD", _math(tree, "MULTIPLY", wave, 0.5), 0.5)


def _mix(tree, fac, a, b):
    mix = compat.new_mix_rgb(tree, "MIX")
    if isinstance(fac, (int, float)):
        mix.fac.default_value = float(fac)
    else:
        tree.links.new(fac, mix.fac)
    for sock, c in ((mix.a, a), (mix.b, b)):
        if isinstance(c, tuple):
            sock.default_value = tuple(c) + (1.0,)
        else:
            tree.links.new(c, sock)
    return mix.result


def fabric_material(name, look):
    """Sleeve cloth of a wear.SleeveLook: knit (V-shaped stitches in columns along the arm, yarn
    fuzz), cotton (a fine plain weave with heather) or denim (indigo warp over a white weft in a
    diagonal twill, slubs along the threads). Texture space: the mesh's UVs in metres."""
    mat, tree, out = _new_material(name)
    bsdf = _principled(tree, out)
    uv = tree.nodes.new("ShaderNodeTexCoord").outputs["UV"]
    k = look.thread_scale
    a, b = tuple(look.colour_a), tuple(look.colour_b)
    if look.fabric == "knit":
        x, y = _xy(tree, uv, k, 1.4 * k)
        v_shape = _math(tree, "ABSOLUTE", _math(tree, "SUBTRACT", _math(tree, "FRACT", x, 0.0), 0.5), 0.0)
        loops = _sine(tree, _math(tree, "ADD", y, _math(tree, "MULTIPLY", v_shape, 1.2)))
        column = _math(tree, "SINE", _math(tree, "MULTIPLY", x, np.pi), 0.0)
        height = _math(tree, "MULTIPLY", loops, _math(tree, "ABSOLUTE", column, 0.0))
        fuzz = materials.noise_fac(tree, uv, 40 * k, 3.0)
        height = _math(tree, "ADD", height, _math(tree, "MULTIPLY", fuzz, 0.25))
        colour = _mix(tree, _math(tree, "MULTIPLY", height, 0.8), b, a)
        bump_distance = 0.0015
    elif look.fabric == "cotton":
        x, y = _xy(tree, uv, k, k)
        height = _math(tree, "MULTIPLY", _sine(tree, x), _sine(tree, y))
        heather = materials.noise_fac(tree, uv, 0.15 * k, 4.0)
        colour = _mix(tree, _math(tree, "MULTIPLY", heather, 0.5), a, b)
        colour = _mix(tree, _math(tree, "MULTIPLY", height, 0.15), colour, b)
        bump_distance = 0.0003
    elif look.fabric == "denim":
        x, y = _xy(tree, uv, k, k)
        twill = _sine(tree, _math(tree, "ADD", x, y))
        weft = _math(tree, "POWER", twill, 3.0)
        # Slubs: noise stretched along the warp (the arm's axis) lightens threads unevenly.
        stretch = tree.nodes.new("ShaderNodeMapping")
        stretch.inputs["Scale"].default_value = (0.5 * k, 0.02 * k, 1.0)
        tree.links.new(uv, stretch.inputs["Vector"])
        slub = materials.noise_fac(tree, stretch.outputs[0], 1.0, 3.0)
        indigo = _mix(tree, _math(tree, "MULTIPLY", slub, 0.35), a, tuple(min(1.0, 1.8 * c) for c in a))
        colour = _mix(tree, _math(tree, "MULTIPLY", weft, 0.45), indigo, b)
        height = _math(tree, "ADD", twill, _math(tree, "MULTIPLY", slub, 0.3))
        bump_distance = 0.0005
    else:
        raise materials.MaterialError(f"fabric_material {name}: unknown fabric {look.fabric!r}")
    tree.links.new(colour, bsdf.inputs["Base Color"])
    compat.set_input(bsdf, "roughness", look.roughness)
    compat.set_input(bsdf, "sheen", 0.5 if look.fabric != "denim" else 0.2)
    compat.set_input(bsdf, "specular", 0.3)
    tree.links.new(_bump(tree, height, look.bump_strength, bump_distance), bsdf.inputs["Normal"])
    camera_rays_only_bump(tree, bsdf)
    return mat


def _links(tree, vec, count):
    """0..1 grooves between ``count`` links around the arm's axis (object y; the rest hand frame)."""
    sep = tree.nodes.new("ShaderNodeSeparateXYZ")
    tree.links.new(vec, sep.inputs[0])
    angle = _math(tree, "ARCTAN2", sep.outputs[2], sep.outputs[0])
    return _math(tree, "POWER", _sine(tree, _math(tree, "MULTIPLY", angle, count / (2 * np.pi))), 0.3)


def finish_material(name, finish, links=0):
    """Material of a wear.Finish: metal (brushed; ``links`` > 0: a link bracelet's grooves around
    the arm), leather (grain bump), plastic, fabric (weave), dial (glossy coat: the watch glass)."""
    mat, tree, out = _new_material(name)
    bsdf = _principled(tree, out)
    colour = tuple(finish.colour)
    vec = _object_coords(tree)
    compat.set_input(bsdf, "base_color", colour)
    compat.set_input(bsdf, "roughness", finish.roughness)
    kind = finish.kind
    if kind == "metal":
        compat.set_input(bsdf, "metallic", 1.0)
        stretch = tree.nodes.new("ShaderNodeMapping")
        stretch.inputs["Scale"].default_value = (1.0, 1.0, 0.03)
        tree.links.new(vec, stretch.inputs["Vector"])
        height, strength, dist = materials.noise_fac(tree, stretch.outputs[0], 3000.0, 2.0), 0.05, 0.0002
        if links:
            height, strength, dist = _math(tree, "ADD", _links(tree, vec, links), _math(tree, "MULTIPLY", height, 0.1)), \
                0.6, 0.0006
    elif kind == "leather":
        cells = tree.nodes.new("ShaderNodeTexVoronoi")
        cells.inputs["Scale"].default_value = 1800.0
        tree.links.new(vec, cells.inputs["Vector"])
        height, strength, dist = cells.outputs["Distance"], 0.25, 0.0003
        tone = materials.noise_fac(tree, vec, 300.0, 3.0)
        tree.links.new(_ramp(tree, tone, [(0.3, tuple(0.8 * c for c in colour)), (0.7, colour)]), bsdf.inputs["Base Color"])
        compat.set_input(bsdf, "specular", 0.4)
    elif kind == "fabric":
        c2 = tuple(0.7 * c for c in colour)
        col, height = materials.pattern(tree, "fabric", colour, c2, scale=160.0)
        tree.links.new(col, bsdf.inputs["Base Color"])
        strength, dist = 0.3, 0.0004
        compat.set_input(bsdf, "sheen", 0.5)
    elif kind in ("plastic", "dial", "hands"):
        height, strength, dist = materials.noise_fac(tree, vec, 2500.0, 2.0), 0.03, 0.0002
        compat.set_input(bsdf, "specular", 0.5)
        if kind == "dial":
            compat.set_input(bsdf, "coat", 1.0)
            compat.set_input(bsdf, "coat_roughness", 0.03)
    else:
        raise materials.MaterialError(f"finish_material {name}: unknown kind {kind!r}")
    tree.links.new(_bump(tree, height, strength, dist), bsdf.inputs["Normal"])
    camera_rays_only_bump(tree, bsdf)
    return mat


def _set_corner_uvs(obj, uv):
    """UV layer from per-corner UVs (F,3,2) (compat.fill_mesh writes loops in face-corner order)."""
    layer = obj.data.uv_layers.new(name="UVMap")
    layer.data.foreach_set("uv", np.ascontiguousarray(uv, dtype=np.float32).ravel())


class WornPieces:
    """The Blender objects of an episode's WearMesh pieces; ``pose(vertices)`` places them on the
    posed skin ((V,3) world: the skin whose rest vertices the pieces were built on)."""

    def __init__(self, wear, pieces, rest_vertices):
        self.rest = np.asarray(rest_vertices, np.float64)
        self.items = []
        accessories = {f"hop_accessory{k}": a for k, a in enumerate(wear.accessories)}
        for piece in pieces:
            if piece.name == "hop_sleeve":
                mats, label = [fabric_material("hop_sleeve_fabric", wear.sleeve)], SEG_ARM
            else:
                acc = accessories[piece.name]
                parts = {"strap": acc.strap, "case": acc.case, "dial": acc.dial, "hands": acc.hands}
                links = 28 if acc.kind == "watch" and acc.strap.kind == "metal" else 0  # ~6 mm links
                mats = [finish_material(f"{piece.name}_{slot}", parts[slot], links if slot == "strap" else 0)
                        for slot in piece.slots]
                label = SEG_SURROUNDINGS  # an accessory is part of the surroundings (docs/format.md)
            obj = hscene.add_mesh_object(piece.name, piece.vertices, piece.faces, label, materials=mats,
                                         face_material=piece.face_slot, smooth=True)
            if piece.uv is not None:
                _set_corner_uvs(obj, piece.uv)
            self.items.append((obj, piece))

    def pose(self, vertices):
        for obj, piece in self.items:
            ids = piece.anchor_ids
            obj.matrix_world = Matrix(rigid_fit(self.rest[ids], np.asarray(vertices)[ids]).tolist())
