"""Procedural Cycles materials for the built-in objects, from spec dicts (hopgen.objects.materials).

Works in Blender 3.4 .. 5.0: sockets are looked up by any of their historical names through
hopgen.blender.compat (Principled "Transmission" -> "Transmission Weight", "Fac" -> "Factor", ...).
Textures use Object coordinates (metres), so patterns keep their physical scale whatever the
object size. The random offsets of printed labels come with the spec (``label_numbers``, drawn in
hopgen.objects.materials); nothing here is random.
"""

import bpy
import numpy as np

from hopgen.blender import compat
from hopgen.objects.materials import label_numbers
from hopgen.blender.compat import FACTOR as FAC, find_socket, set_input

def _sock(node, names, out=True, kind=None):
    sock = find_socket(node.outputs if out else node.inputs, names, kind)
    if sock is None:
        raise KeyError(f"{node.bl_idname} has no {'output' if out else 'input'} named {names}")
    return sock


class Graph:
    """Small wrapper around a material node tree: node creation and linking."""

    def __init__(self, mat):
        self.tree = mat.node_tree
        self.nodes, self.links = self.tree.nodes, self.tree.links

    def node(self, kind, **props):
        n = self.nodes.new(kind)
        for k, v in props.items():
            setattr(n, k, v)
        return n

    def feed(self, sock, value):
        """Link a socket or set a constant into input socket `sock`."""
        if isinstance(value, bpy.types.NodeSocket):
            self.links.new(value, sock)
        else:
            if sock.type == "RGBA" and len(value) == 3:
                value = (*value, 1.0)
            sock.default_value = value

    def coords(self, normalized=False, scale=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)):
        """Object-space coordinates (metres; unit direction if normalized), scaled and offset."""
        tc = self.node("ShaderNodeTexCoord")
        vec = _sock(tc, "Object")
        if normalized:
            vec = self.vmath("NORMALIZE", vec)
        if tuple(scale) != (1.0, 1.0, 1.0) or tuple(offset) != (0.0, 0.0, 0.0):
            mp = self.node("ShaderNodeMapping")
            self.feed(_sock(mp, "Vector", out=False), vec)
            set_input(mp, "Location", offset)
            set_input(mp, "Scale", scale)
            vec = _sock(mp, "Vector")
        return vec

    def vmath(self, op, a, b=None):
        n = self.node("ShaderNodeVectorMath", operation=op)
        self.feed(n.inputs[0], a)
        if b is not None:
            self.feed(n.inputs[1], b)
        return _sock(n, "Vector") if op not in ("LENGTH", "DOT_PRODUCT", "DISTANCE") else _sock(n, "Value")

    def math(self, op, a, b=0.0, clamp=False):
        n = self.node("ShaderNodeMath", operation=op, use_clamp=clamp)
        self.feed(n.inputs[0], a)
        self.feed(n.inputs[1], b)
        return n.outputs[0]

    def xyz(self, vec):
        n = self.node("ShaderNodeSeparateXYZ")
        self.feed(n.inputs[0], vec)
        return n.outputs[0], n.outputs[1], n.outputs[2]

    def mix(self, fac, a, b):
        """Colour mix (a where fac = 0, b where fac = 1)."""
        m = compat.new_mix_rgb(self.tree)
        for sock, v in zip((m.fac, m.a, m.b), (fac, a, b)):
            self.feed(sock, v)
        return m.result

    def noise(self, vec, scale, detail=2.0, roughness=0.5):
        n = self.node("ShaderNodeTexNoise")
        self.feed(_sock(n, "Vector", False), vec)
        set_input(n, "Scale", scale)
        set_input(n, "Detail", detail)
        set_input(n, "Roughness", roughness)
        return _sock(n, FAC)

    def voronoi(self, vec, scale, feature="F1", output="Distance"):
        n = self.node("ShaderNodeTexVoronoi", feature=feature)
        self.feed(_sock(n, "Vector", False), vec)
        set_input(n, "Scale", scale)
        return _sock(n, output)

    def wave(self, vec, scale, kind="BANDS", direction="Z", distortion=0.0):
        n = self.node("ShaderNodeTexWave", wave_type=kind)
        if kind == "BANDS":
            n.bands_direction = direction
        else:
            n.rings_direction = direction
        self.feed(_sock(n, "Vector", False), vec)
        set_input(n, "Scale", scale)
        set_input(n, "Distortion", distortion)
        return _sock(n, FAC)

    def bump(self, height, strength, distance=0.001, normal=None):
        n = self.node("ShaderNodeBump")
        self.feed(_sock(n, "Height", False), height)
        set_input(n, "Strength", strength)
        set_input(n, "Distance", distance)
        if normal is not None:
            self.feed(_sock(n, "Normal", False), normal)
        return _sock(n, "Normal")

    def band(self, value, lo, hi):
        """1 where lo < value < hi, else 0."""
        return self.math("MULTIPLY", self.math("GREATER_THAN", value, lo), self.math("LESS_THAN", value, hi))


# ----------------------------------------------------------------------------- principled setup


def set_principled(node, **values):
    """Set Principled BSDF inputs by version-independent keys (compat.PRINCIPLED) or socket names."""
    for key, value in values.items():
        set_input(node, key, value)


# ----------------------------------------------------------------------------- patterns


def _label_color(g, spec):
    """Printed label: colour bands along the object's z plus rows of 'text' blocks."""
    cols = spec.get("label_colors") or [spec["color"]] * 3
    u = label_numbers(spec["label_seed"])
    vec = g.coords(offset=(u[0], u[1], u[2]))
    _, _, z = g.xyz(vec)
    band = g.math("GREATER_THAN", g.math("SINE", g.math("MULTIPLY", z, 40 + 60 * u[3])), 0.3 + 0.5 * u[4])
    color = g.mix(band, cols[0], cols[1 % len(cols)])
    brick = g.node("ShaderNodeTexBrick")
    g.feed(_sock(brick, "Vector", False), vec)
    set_input(brick, "Scale", 80 + 80 * u[5])
    set_input(brick, "Mortar Size", 0.15)
    set_input(brick, "Row Height", 0.3)
    text = g.math("MULTIPLY", g.math("SUBTRACT", 1.0, _sock(brick, FAC)),
                  g.math("GREATER_THAN", g.noise(vec, 120.0, 0.0), 0.5))
    return g.mix(text, color, cols[2 % len(cols)])


def _seam_value(g):
    """f = z - 0.75 (x^2 - y^2) / (x^2 + y^2) on the unit direction: zero on the tennis seam."""
    x, y, z = g.xyz(g.coords(normalized=True))
    x2, y2 = g.math("MULTIPLY", x, x), g.math("MULTIPLY", y, y)
    ratio = g.math("DIVIDE", g.math("SUBTRACT", x2, y2), g.math("ADD", g.math("ADD", x2, y2), 1e-4))
    return g.math("SUBTRACT", z, g.math("MULTIPLY", ratio, 0.75)), x, y


def _pattern(g, spec, color):
    """Apply spec['pattern']: returns (color, bump height or None)."""
    pat, pc = spec.get("pattern"), spec.get("pattern_color", [1.0, 1.0, 1.0])
    if pat == "seam":
        f, _, _ = _seam_value(g)
        line = g.math("LESS_THAN", g.math("ABSOLUTE", f), 0.035)
        return g.mix(line, color, pc), g.math("MULTIPLY", line, -1.0)
    if pat == "stitches":
        f, x, y = _seam_value(g)
        phi = g.math("ARCTAN2", y, x)
        ticks = g.math("LESS_THAN", g.math("FRACT", g.math("MULTIPLY", phi, 108 / (2 * np.pi))), 0.45)
        rows = g.math("LESS_THAN", g.math("ABSOLUTE", g.math("SUBTRACT", g.math("ABSOLUTE", f), 0.06)), 0.025)
        st = g.math("MULTIPLY", ticks, rows)
        return g.mix(st, color, pc), st
    if pat == "dimples":
        d = g.voronoi(g.coords(), 300.0)
        return color, g.math("POWER", g.math("MINIMUM", d, 1.0), 0.5)
    if pat == "stripes":
        _, _, z = g.xyz(g.coords(normalized=True))
        s = g.math("GREATER_THAN", g.math("SINE", g.math("MULTIPLY", z, 9.0)), 0.0)
        return g.mix(s, color, pc), None
    if pat == "screen":
        _, y, _ = g.xyz(g.coords())
        return g.mix(g.math("MULTIPLY", y, 4.0, True), color, [0.02, 0.03, 0.06]), None
    return color, None


# ----------------------------------------------------------------------------- materials


def build_material(spec, name):
    """New bpy Material built from a material spec dict (see hopgen.objects.materials)."""
    kind = spec.get("kind")
    if kind not in KIND_SETUP:
        raise ValueError(f"material {name!r}: unknown kind {kind!r}; known: {', '.join(sorted(KIND_SETUP))}")
    mat = bpy.data.materials.new(name)
    compat.node_tree(mat)
    g = Graph(mat)
    bsdf = next(n for n in g.nodes if n.type == "BSDF_PRINCIPLED")
    color = tuple(spec["color"])
    if "label_seed" in spec:
        color = _label_color(g, spec)
    color, height = _pattern(g, spec, color)
    color, extra_height = KIND_SETUP[kind](g, bsdf, spec, color)
    g.feed(_sock(bsdf, "Base Color", False), color)
    set_input(bsdf, "Roughness", float(spec.get("roughness", 0.5)))
    if kind == "wax":
        set_input(bsdf, ("Subsurface Color",), tuple(spec["color"]))  # 3.x only
    heights = [h for h in (height, extra_height) if h is not None]
    if heights:
        h = heights[0] if len(heights) == 1 else g.math("ADD", heights[0], heights[1])
        g.feed(_sock(bsdf, "Normal", False), g.bump(h, 0.3 * float(spec.get("bump", 0.5)) + 0.05))
    mat["hop_material"] = kind
    return mat


def _plastic(g, bsdf, spec, color):
    set_principled(bsdf, specular=0.5, coat=0.1)
    return color, None


def _rubber(g, bsdf, spec, color):
    set_principled(bsdf, specular=0.3)
    return color, g.math("MULTIPLY", g.noise(g.coords(), 600.0), 0.3)


def _metal(g, bsdf, spec, color):
    set_input(bsdf, "Metallic", 1.0)
    if spec.get("brushed"):
        set_principled(bsdf, anisotropic=0.6)
        streak = g.noise(g.coords(scale=(2000.0, 2000.0, 5.0)), 1.0, 2.0)
        rough = g.math("ADD", g.math("MULTIPLY", streak, 0.2), float(spec.get("roughness", 0.3)) - 0.1, True)
        g.feed(_sock(bsdf, "Roughness", False), rough)
        return color, g.math("MULTIPLY", streak, 0.2)
    return color, None


def _glass(g, bsdf, spec, color):
    set_principled(bsdf, transmission=float(spec.get("transmission", 1.0)))
    set_input(bsdf, "IOR", 1.45)
    return color, None


def _paper(g, bsdf, spec, color):
    set_principled(bsdf, specular=0.3)
    return color, g.math("MULTIPLY", g.noise(g.coords(), 900.0, 3.0), 0.15)


def _cardboard(g, bsdf, spec, color):
    if "label_seed" not in spec:
        color = g.mix(g.noise(g.coords(), 150.0), color, [0.35, 0.22, 0.1])
    return _paper(g, bsdf, spec, color)


def _wood(g, bsdf, spec, color):
    rings = g.wave(g.coords(scale=(30.0, 30.0, 2.0)), 4.0, "RINGS", "Z", distortion=6.0)
    dark = spec.get("color2") or [c * 0.55 for c in spec["color"]]
    return g.mix(g.math("POWER", rings, 3.0), color, dark), g.math("MULTIPLY", rings, 0.1)


def _ceramic(g, bsdf, spec, color):
    set_principled(bsdf, coat=1.0, coat_roughness=0.03, specular=0.5)
    return color, None


def _citrus(g, bsdf, spec, color):
    pores = g.voronoi(g.coords(), 700.0)
    var = g.noise(g.coords(), 60.0, 3.0)
    set_principled(bsdf, coat=0.3, coat_roughness=0.2)
    return g.mix(g.math("MULTIPLY", var, 0.6), color, spec.get("color2", color)), g.math("POWER", pores, 0.5)


def _glossy_skin(g, bsdf, spec, color):
    # meridional streaks: noise stretched along z, plus blotchy colour variation
    streaks = g.noise(g.coords(scale=(1.0, 1.0, 0.1)), 120.0, 2.0)
    var = g.noise(g.coords(), 40.0, 3.0)
    fac = g.math("ADD", g.math("MULTIPLY", streaks, 0.35), g.math("MULTIPLY", var, 0.3), True)
    set_principled(bsdf, coat=0.6, coat_roughness=0.15, subsurface=0.05)
    return g.mix(fac, color, spec.get("color2", color)), g.math("MULTIPLY", var, 0.05)


def _felt(g, bsdf, spec, color):
    set_principled(bsdf, sheen=1.0, specular=0.1)
    return color, g.math("MULTIPLY", g.noise(g.coords(), 2000.0, 4.0), 0.5)


def _leather(g, bsdf, spec, color):
    grain = g.voronoi(g.coords(), 900.0)
    return color, g.math("MULTIPLY", g.math("POWER", grain, 0.5), 0.3)


def _wax(g, bsdf, spec, color):
    set_principled(bsdf, subsurface=0.4, specular=0.3)
    set_input(bsdf, "Subsurface Radius", (0.01, 0.006, 0.004))
    return color, None


def _graphite(g, bsdf, spec, color):
    set_input(bsdf, "Metallic", 0.5)
    return color, None


KIND_SETUP = {"plastic": _plastic, "rubber": _rubber, "metal": _metal, "glass": _glass, "paper": _paper,
              "cardboard": _cardboard, "wood": _wood, "ceramic": _ceramic, "citrus_skin": _citrus,
              "glossy_skin": _glossy_skin, "felt": _felt, "leather": _leather, "wax": _wax, "graphite": _graphite}
