"""Shader node materials: skin, nail, cloth, procedural patterns, and the annotation (label) override.

Builders take plain parameters (dataclasses or dicts, colours as linear RGB in 0..1) so a pure
planner can draw them from an rng; nothing here is random.
"""

from dataclasses import dataclass, fields

import bpy

from hopgen.blender import compat
from hopgen.blender.shading import camera_rays_only_bump

LABEL_ATTRIBUTE = "hop_label"          # INT FACE attribute written by scene.add_mesh_object
GROUP_ATTRIBUTE = "hop_group_weight"   # object custom property read by the x-ray label material
PATTERNS = ("solid", "stripes", "checks", "knit", "fabric", "noise", "wood", "tiles", "grain", "brushed")


class MaterialError(ValueError):
    """Bad material parameters (names the field and the problem)."""


def _params(cls, params):
    """A `cls` dataclass from None, an instance or a dict (unknown keys are an error)."""
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    known = {f.name for f in fields(cls)}
    bad = sorted(set(params) - known)
    if bad:
        raise MaterialError(f"{cls.__name__}: unknown field(s) {bad}; known: {sorted(known)}")
    return cls(**params)


def _rgb(name, value):
    c = tuple(float(x) for x in value)
    if len(c) != 3 or not all(0.0 <= x <= 1.0 for x in c):
        raise MaterialError(f"{name}: expected 3 floats in 0..1, got {value!r}")
    return c


def _new_material(name):
    mat = bpy.data.materials.new(name)
    tree = compat.node_tree(mat)
    tree.nodes.clear()
    out = tree.nodes.new("ShaderNodeOutputMaterial")
    return mat, tree, out


def _principled(tree, out):
    bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
    tree.links.new(bsdf.outputs[0], out.inputs["Surface"])
    return bsdf


def _link_base_colour(tree, bsdf, colour_socket):
    """Base colour (and, on 3.x, the separate subsurface colour) from one socket."""
    tree.links.new(colour_socket, bsdf.inputs["Base Color"])
    sss = compat.find_input(bsdf, "subsurface_color")
    if sss is not None:
        tree.links.new(colour_socket, sss)


def _object_coords(tree, scale=1.0):
    """Object-space coordinates times `scale` (textures follow the object when it moves)."""
    coords = tree.nodes.new("ShaderNodeTexCoord")
    mapping = tree.nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (scale, scale, scale)
    tree.links.new(coords.outputs["Object"], mapping.inputs["Vector"])
    return mapping.outputs["Vector"]


def _ramp(tree, fac, stops, interpolation="LINEAR"):
    """ColorRamp over `stops` [(position, rgb), ...]; returns its colour output."""
    ramp = tree.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.interpolation = interpolation
    elems = ramp.color_ramp.elements
    while len(elems) < len(stops):
        elems.new(0.5)
    for el, (pos, rgb) in zip(elems, stops):
        el.position = pos
        el.color = tuple(rgb) + (1.0,)
    tree.links.new(fac, ramp.inputs["Fac"])
    return ramp.outputs["Color"]


def _bump(tree, height, strength, distance, normal=None):
    bump = tree.nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = float(strength)
    bump.inputs["Distance"].default_value = float(distance)
    tree.links.new(height, bump.inputs["Height"])
    if normal is not None:
        tree.links.new(normal, bump.inputs["Normal"])
    return bump.outputs["Normal"]


def noise_fac(tree, vector, scale, detail=2.0):
    """Fac output of a Noise Texture node of this scale and detail over ``vector`` (a socket)."""
    node = tree.nodes.new("ShaderNodeTexNoise")
    node.inputs["Scale"].default_value = float(scale)
    node.inputs["Detail"].default_value = float(detail)
    tree.links.new(vector, node.inputs["Vector"])
    return node.outputs["Fac"]


def _math(tree, op, a, b):
    node = tree.nodes.new("ShaderNodeMath")
    node.operation = op
    for sock, v in zip(node.inputs, (a, b)):
        if isinstance(v, (int, float)):
            sock.default_value = float(v)
        else:
            tree.links.new(v, sock)
    return node.outputs[0]


def pattern(tree, kind, colour_a, colour_b, scale=20.0, colour_c=(0.05, 0.05, 0.05)):
    """Procedural pattern in object space: returns (colour socket, height socket).

    kind: one of PATTERNS. scale: repeats per metre. colour_c: mortar colour of "tiles".
    """
    if kind not in PATTERNS:
        raise MaterialError(f"pattern: kind must be one of {PATTERNS}, got {kind!r}")
    a, b = _rgb("pattern colour_a", colour_a), _rgb("pattern colour_b", colour_b)
    vec = _object_coords(tree)
    nodes, links = tree.nodes, tree.links

    def tex(node_type, **props):
        node = nodes.new(node_type)
        for k, v in props.items():
            setattr(node, k, v)
        links.new(vec, node.inputs["Vector"])
        return node

    # Fine noise every pattern uses for a little non-uniformity.
    grain = tex("ShaderNodeTexNoise")
    grain.inputs["Scale"].default_value = scale * 4.0
    if kind == "solid":
        return _ramp(tree, grain.outputs["Fac"], [(0.3, a), (0.7, tuple(0.85 * x + 0.15 * y for x, y in zip(a, b)))]), \
            grain.outputs["Fac"]
    if kind == "stripes":
        wave = tex("ShaderNodeTexWave", wave_type="BANDS", bands_direction="Z", wave_profile="SIN")
        wave.inputs["Scale"].default_value = scale
        return _ramp(tree, wave.outputs["Fac"], [(0.0, a), (0.5, b)], "CONSTANT"), wave.outputs["Fac"]
    if kind == "checks":
        chk = tex("ShaderNodeTexChecker")
        chk.inputs["Color1"].default_value = a + (1.0,)
        chk.inputs["Color2"].default_value = b + (1.0,)
        chk.inputs["Scale"].default_value = scale
        return chk.outputs["Color"], chk.outputs["Fac"]
    if kind in ("knit", "fabric"):
        # Two crossing fine sine bands: a weave; "knit" adds the noise wobble of loops.
        warp = tex("ShaderNodeTexWave", wave_type="BANDS", bands_direction="X", wave_profile="SIN")
        weft = tex("ShaderNodeTexWave", wave_type="BANDS", bands_direction="Y", wave_profile="SIN")
        for w in (warp, weft):
            w.inputs["Scale"].default_value = scale * 8.0
            w.inputs["Distortion"].default_value = 3.0 if kind == "knit" else 0.5
        height = _math(tree, "MULTIPLY", warp.outputs["Fac"], weft.outputs["Fac"])
        mix = compat.new_mix_rgb(tree, "MIX")
        links.new(grain.outputs["Fac"], mix.fac)
        mix.a.default_value = a + (1.0,)
        mix.b.default_value = b + (1.0,)
        shade = compat.new_mix_rgb(tree, "MULTIPLY")
        shade.fac.default_value = 0.35
        links.new(mix.result, shade.a)
        links.new(_ramp(tree, height, [(0.0, (0.4, 0.4, 0.4)), (1.0, (1.0, 1.0, 1.0))]), shade.b)
        return shade.result, height
    if kind == "noise":
        noise = tex("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = scale
        noise.inputs["Detail"].default_value = 6.0
        return _ramp(tree, noise.outputs["Fac"], [(0.35, a), (0.65, b)]), noise.outputs["Fac"]
    if kind == "wood":
        wave = tex("ShaderNodeTexWave", wave_type="RINGS", rings_direction="Z", wave_profile="SAW")
        wave.inputs["Scale"].default_value = scale
        wave.inputs["Distortion"].default_value = 6.0
        wave.inputs["Detail"].default_value = 4.0
        return _ramp(tree, wave.outputs["Fac"], [(0.0, a), (0.8, b), (1.0, a)]), wave.outputs["Fac"]
    if kind in ("grain", "brushed"):
        # Planks / brushed metal: noise stretched 12x along x gives long fibres (grain) or fine
        # streaks (brushed); the height drives the bump.
        stretch = nodes.new("ShaderNodeMapping")
        links.new(vec, stretch.inputs["Vector"])
        stretch.inputs["Scale"].default_value = (1.0 / 12.0, 1.0, 1.0) if kind == "grain" else (1.0 / 40.0, 1.0, 1.0)
        fib = nodes.new("ShaderNodeTexNoise")
        links.new(stretch.outputs[0], fib.inputs["Vector"])
        fib.inputs["Scale"].default_value = scale * (1.0 if kind == "grain" else 6.0)
        fib.inputs["Detail"].default_value = 8.0
        if kind == "grain":
            fib.inputs["Distortion"].default_value = 1.5
            return _ramp(tree, fib.outputs["Fac"], [(0.3, a), (0.5, b), (0.7, a)]), fib.outputs["Fac"]
        return _ramp(tree, fib.outputs["Fac"], [(0.35, a), (0.65, b)]), fib.outputs["Fac"]
    brick = tex("ShaderNodeTexBrick")  # tiles
    brick.inputs["Color1"].default_value = a + (1.0,)
    brick.inputs["Color2"].default_value = b + (1.0,)
    brick.inputs["Mortar"].default_value = _rgb("pattern colour_c", colour_c) + (1.0,)
    brick.inputs["Scale"].default_value = scale
    return brick.outputs["Color"], _math(tree, "SUBTRACT", 1.0, brick.outputs["Fac"])


@dataclass
class SkinParams:
    """Physically based skin. Defaults: a generic adult hand at metre scale."""
    roughness: float = 0.45
    specular: float = 0.5            # Principled specular level (0.5 = F0 of IOR 1.5)
    sheen: float = 0.1               # faint velvet of vellus hair
    subsurface: float = 1.0
    # Per-channel mean free path, red travels furthest (Jensen et al. 2001, skin1, mm).
    subsurface_radius_mm: tuple = (3.67, 1.37, 0.68)
    subsurface_scale: float = 0.5    # multiplies the radius (a hand is thin: keep it translucent, not waxy)
    albedo_variation: float = 0.08   # +- fraction of the skin colour from blotchy noise
    variation_scale: float = 120.0   # blotches per metre
    redness: float = 0.15            # strength of reddish patches (knuckles, palm)
    pore_scale: float = 2500.0       # micro bump noise per metre
    bump_strength: float = 0.06
    crease_strength: float = 0.35
    crease_scale: float = 60.0       # procedural crease bands per metre when there is no attribute


def _point_attribute(tree, name):
    """Fac socket of a float geometry attribute."""
    node = tree.nodes.new("ShaderNodeAttribute")
    node.attribute_type = "GEOMETRY"
    node.attribute_name = name
    return node.outputs["Fac"]


def skin_material(name, skin_rgb, params=None, crease_attribute=None, palmar_attribute=None, flush_attribute=None):
    """Principled skin with random-walk SSS, noise-driven albedo variation, pores and creases.

    skin_rgb: linear RGB of the average skin tone. crease_attribute: name of a float mesh
    attribute (0 flat .. 1 deep crease) if the mesh has one, else creases are procedural bands.
    palmar_attribute / flush_attribute: float point attributes (hopgen.episode.appearance
    hand_skin_maps): the palm side is lighter (less melanin) and rougher than the back of the hand,
    knuckles and fingertips redder.
    """
    p = _params(SkinParams, params)
    rgb = _rgb(f"skin_material {name}: skin_rgb", skin_rgb)
    mat, tree, out = _new_material(name)
    links = tree.links
    bsdf = _principled(tree, out)
    vec = _object_coords(tree)

    blotch = tree.nodes.new("ShaderNodeTexNoise")
    blotch.inputs["Scale"].default_value = p.variation_scale
    blotch.inputs["Detail"].default_value = 4.0
    links.new(vec, blotch.inputs["Vector"])
    v = p.albedo_variation
    dark = tuple(c * (1.0 - v) for c in rgb)
    light = tuple(min(1.0, c * (1.0 + v)) for c in rgb)
    toned = _ramp(tree, blotch.outputs["Fac"], [(0.3, dark), (0.7, light)])
    red = compat.new_mix_rgb(tree, "MIX")
    patches = tree.nodes.new("ShaderNodeTexNoise")
    patches.inputs["Scale"].default_value = p.variation_scale * 0.3
    links.new(vec, patches.inputs["Vector"])
    links.new(_math(tree, "MULTIPLY", patches.outputs["Fac"], p.redness), red.fac)
    links.new(toned, red.a)
    red.b.default_value = (min(1.0, rgb[0] * 1.15), rgb[1] * 0.7, rgb[2] * 0.7, 1.0)
    colour = red.result
    if palmar_attribute:
        palmar = _point_attribute(tree, palmar_attribute)
        palm = compat.new_mix_rgb(tree, "MIX")
        links.new(_math(tree, "MULTIPLY", palmar, 0.55), palm.fac)
        links.new(colour, palm.a)
        # Palms: far less melanin; towards a light pinkish beige, but never more than twice as light
        # as the back of the hand (a dark hand's palm stays brown).
        palm.b.default_value = tuple(min(1.0, 0.5 * c + 0.5 * t, 2.0 * c) for c, t in zip(rgb, (0.62, 0.40, 0.33))) + (1.0,)
        colour = palm.result
        rough = tree.nodes.new("ShaderNodeMapRange")
        links.new(palmar, rough.inputs["Value"])
        rough.inputs["To Min"].default_value = p.roughness
        rough.inputs["To Max"].default_value = min(1.0, p.roughness + 0.15)
        links.new(rough.outputs["Result"], compat.find_input(bsdf, "roughness"))
    if flush_attribute:
        flush = compat.new_mix_rgb(tree, "MIX")
        links.new(_math(tree, "MULTIPLY", _point_attribute(tree, flush_attribute), 0.35), flush.fac)
        links.new(colour, flush.a)
        flush.b.default_value = (min(1.0, rgb[0] * 1.1), rgb[1] * 0.55, rgb[2] * 0.55, 1.0)
        colour = flush.result
    _link_base_colour(tree, bsdf, colour)

    compat.set_subsurface(bsdf, p.subsurface, [r * 1e-3 * p.subsurface_scale for r in p.subsurface_radius_mm])
    if not palmar_attribute:
        compat.set_input(bsdf, "roughness", p.roughness)
    compat.set_input(bsdf, "specular", p.specular)
    compat.set_input(bsdf, "sheen", p.sheen)

    pores = tree.nodes.new("ShaderNodeTexNoise")
    pores.inputs["Scale"].default_value = p.pore_scale
    pores.inputs["Detail"].default_value = 2.0
    links.new(vec, pores.inputs["Vector"])
    if crease_attribute:
        attr = tree.nodes.new("ShaderNodeAttribute")
        attr.attribute_type = "GEOMETRY"
        attr.attribute_name = crease_attribute
        crease = attr.outputs["Fac"]
    else:
        wave = tree.nodes.new("ShaderNodeTexWave")
        wave.wave_type, wave.bands_direction = "BANDS", "Z"
        wave.inputs["Scale"].default_value = p.crease_scale
        wave.inputs["Distortion"].default_value = 8.0
        links.new(vec, wave.inputs["Vector"])
        # Only the troughs of the bands become creases: max(0, 0.8 - fac) stays 0 most of the time.
        crease = _math(tree, "MAXIMUM", _math(tree, "SUBTRACT", 0.2, wave.outputs["Fac"]), 0.0)
    height = _math(tree, "SUBTRACT", pores.outputs["Fac"], _math(tree, "MULTIPLY", crease, p.crease_strength / 0.2))
    links.new(_bump(tree, height, p.bump_strength, 0.0003), bsdf.inputs["Normal"])
    return mat


def nail_material(name, skin_rgb, gloss=0.6):
    """Fingernail: pinkish-white keratin over the skin tone, glossy coat, a little SSS."""
    rgb = _rgb(f"nail_material {name}: skin_rgb", skin_rgb)
    mat, tree, out = _new_material(name)
    bsdf = _principled(tree, out)
    # The nail plate shows the nail bed: lighter and pinker than the skin, never chalk white on dark skin.
    base = tuple(0.6 * c + 0.4 * n for c, n in zip(rgb, (0.62, 0.44, 0.40)))
    compat.set_input(bsdf, "base_color", base)
    compat.set_input(bsdf, "subsurface_color", base)
    compat.set_subsurface(bsdf, 0.3, (0.0015, 0.0006, 0.0003))
    compat.set_input(bsdf, "roughness", 0.25)
    compat.set_input(bsdf, "coat", float(gloss))
    compat.set_input(bsdf, "coat_roughness", 0.1)
    return mat


@dataclass
class ClothParams:
    """Sleeve fabric: a pattern (see PATTERNS) in two colours."""
    pattern: str = "solid"
    colour_a: tuple = (0.2, 0.25, 0.5)
    colour_b: tuple = (0.8, 0.8, 0.75)
    scale: float = 40.0          # pattern repeats per metre
    roughness: float = 0.85
    sheen: float = 0.6
    bump_strength: float = 0.2


def cloth_material(name, params=None):
    """Diffuse fabric with sheen and a weave bump, coloured by `pattern`."""
    p = _params(ClothParams, params)
    mat, tree, out = _new_material(name)
    bsdf = _principled(tree, out)
    colour, height = pattern(tree, p.pattern, p.colour_a, p.colour_b, p.scale)
    tree.links.new(colour, bsdf.inputs["Base Color"])
    compat.set_input(bsdf, "roughness", p.roughness)
    compat.set_input(bsdf, "sheen", p.sheen)
    compat.set_input(bsdf, "specular", 0.3)
    tree.links.new(_bump(tree, height, p.bump_strength, 0.001), bsdf.inputs["Normal"])
    return mat


@dataclass
class SurfaceParams:
    """Generic patterned surface (tables, backdrops, distractors)."""
    pattern: str = "noise"
    colour_a: tuple = (0.5, 0.5, 0.5)
    colour_b: tuple = (0.3, 0.3, 0.3)
    colour_c: tuple = (0.05, 0.05, 0.05)
    scale: float = 10.0
    roughness: float = 0.6
    metallic: float = 0.0
    bump_strength: float = 0.05


def surface_material(name, params=None):
    """Principled surface coloured by a procedural pattern (wood, tiles, checks, ...)."""
    p = _params(SurfaceParams, params)
    mat, tree, out = _new_material(name)
    bsdf = _principled(tree, out)
    colour, height = pattern(tree, p.pattern, p.colour_a, p.colour_b, p.scale, p.colour_c)
    tree.links.new(colour, bsdf.inputs["Base Color"])
    compat.set_input(bsdf, "roughness", p.roughness)
    compat.set_input(bsdf, "metallic", p.metallic)
    tree.links.new(_bump(tree, height, p.bump_strength, 0.002), bsdf.inputs["Normal"])
    camera_rays_only_bump(tree, bsdf)
    return mat


def emission_material(name, colour=(1.0, 1.0, 1.0), strength=1.0, image=None):
    """Flat emission (markers, photo backplates). image: a bpy image mapped by the mesh UVs."""
    mat, tree, out = _new_material(name)
    emit = tree.nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = float(strength)
    if image is not None:
        tex = tree.nodes.new("ShaderNodeTexImage")
        tex.image = image
        tex.extension = "EXTEND"
        tree.links.new(tex.outputs["Color"], emit.inputs["Color"])
    else:
        emit.inputs["Color"].default_value = _rgb(f"emission_material {name}: colour", colour) + (1.0,)
    tree.links.new(emit.outputs[0], out.inputs["Surface"])
    return mat


def label_material(xray=False):
    """The annotation override material (cached in bpy.data), an emission whose colour is
    R = "hop_label" face attribute on the first surface along the camera ray (else 0),
    G = OpenCV z ("View Z Depth") of that surface (else 0),
    B = the object's "hop_group_weight" custom property (0 if unset).
    With xray=True it is emission + transparent: the ray crosses every surface and B sums the
    weights of all of them (amodal masks); R and G still come from the first surface only
    (Light Path "Transparent Depth" == 0).
    """
    name = "hop_label_xray" if xray else "hop_label"
    mat = bpy.data.materials.get(name)
    if mat is not None:
        return mat
    mat, tree, out = _new_material(name)
    nodes, links = tree.nodes, tree.links
    label = nodes.new("ShaderNodeAttribute")
    label.attribute_type = "GEOMETRY"
    label.attribute_name = LABEL_ATTRIBUTE
    camdata = nodes.new("ShaderNodeCameraData")
    path = nodes.new("ShaderNodeLightPath")
    first = _math(tree, "LESS_THAN", path.outputs["Transparent Depth"], 0.5)
    group = nodes.new("ShaderNodeAttribute")
    group.attribute_type = "OBJECT"
    group.attribute_name = GROUP_ATTRIBUTE
    rgb = nodes.new("ShaderNodeCombineXYZ")
    links.new(_math(tree, "MULTIPLY", label.outputs["Fac"], first), rgb.inputs[0])
    links.new(_math(tree, "MULTIPLY", camdata.outputs["View Z Depth"], first), rgb.inputs[1])
    links.new(group.outputs["Fac"], rgb.inputs[2])
    emit = nodes.new("ShaderNodeEmission")
    links.new(rgb.outputs[0], emit.inputs["Color"])
    emit.inputs["Strength"].default_value = 1.0
    out.target = "CYCLES"
    if xray:
        add = nodes.new("ShaderNodeAddShader")
        links.new(emit.outputs[0], add.inputs[0])
        links.new(nodes.new("ShaderNodeBsdfTransparent").outputs[0], add.inputs[1])
        links.new(add.outputs[0], out.inputs["Surface"])
    else:
        links.new(emit.outputs[0], out.inputs["Surface"])
    compat.set_emission_sampling(mat, False)  # never a light: no light-tree build over the meshes
    return mat
