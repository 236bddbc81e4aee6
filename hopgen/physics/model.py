"""Mass and friction model of the physics check (pure: numpy + stdlib, runs inside Blender too).

Mass = the closed mesh's volume x a density: the object type's own density where the type is
known to differ from its category (hollow balls, empty boxes, ceramic walls), else the
category's. Friction = skin against the material kind of the surface the hand touches.
Both tables are plausible textbook values, not measurements of the rendered objects:

Density (kg/m^3) per category: cylindrical 1000 (drinks, jars, candles: water-like contents),
slender 800 (wooden pencils/chopsticks, plastic pens), cubical 700 (books, phones, remotes,
boards: solid but part-hollow), spherical 900 (fruit ~850-1000). Per-type overrides below:
the mesh volume of a hollow mug/glass/paper cup is its wall volume, so those take the wall
material's density.

Static friction of dry skin (finger pad) on a material, after the ranges in Derler & Gerhardt,
"Tribology of skin" (Tribol. Lett. 2012): skin-on-X coefficients mostly 0.4-1.0, rubber above
1; the table takes the lower middle of each range (conservative: a grasp that holds here holds
with a moister, grippier finger too).
"""

import numpy as np

CATEGORY_DENSITY = {"cylindrical": 1000.0, "slender": 800.0, "cubical": 700.0, "spherical": 900.0}

TYPE_DENSITY = {
    "mug": 2300.0,           # ceramic walls (the mesh is the wall)
    "glass": 2500.0,         # glass walls
    "paper_cup": 700.0,      # paperboard walls
    "wine_bottle": 1200.0,   # glass + wine, averaged over the closed outline
    "thermos": 600.0,        # double steel wall around air/coffee
    "spray_can": 900.0,
    "candle": 900.0,         # paraffin
    "tennis_ball": 380.0,    # 58 g in a 6.7 cm hollow rubber ball
    "rubber_ball": 500.0,
    "golf_ball": 1130.0,     # 46 g in 4.27 cm
    "baseball": 750.0,       # 145 g in 7.4 cm
    "box": 150.0,            # empty printed cardboard box
    "milk_carton": 1000.0,   # full carton
    "phone": 2000.0,         # glass + battery + aluminium
    "wallet": 600.0,
    "soap_bar": 1050.0,
    "cutting_board": 700.0,
    "book": 800.0,
    "remote": 800.0,
    "pencil": 700.0, "chopstick": 700.0,
    "knife": 2500.0, "fork": 7800.0, "spoon": 7800.0,   # steel cutlery: the meshes are thin
    "screwdriver": 1500.0,
    "toothbrush": 1000.0,
}

SKIN_FRICTION = {
    "plastic": 0.5, "rubber": 1.0, "metal": 0.45, "glass": 0.55, "paper": 0.45, "cardboard": 0.5,
    "wood": 0.5, "ceramic": 0.5, "citrus_skin": 0.6, "glossy_skin": 0.5, "felt": 0.6, "leather": 0.6,
    "wax": 0.4, "graphite": 0.3,
}
DEFAULT_FRICTION = 0.5  # an unknown material kind (manifest files: plastic)


def density_for(object_type, category):
    """Density (kg/m^3) of an object type in a category (per-type override, else the category's)."""
    if object_type in TYPE_DENSITY:
        return TYPE_DENSITY[object_type]
    if category not in CATEGORY_DENSITY:
        raise ValueError(f"no density for category {category!r} (known: {', '.join(CATEGORY_DENSITY)})")
    return CATEGORY_DENSITY[category]


def friction_for(kind):
    """Skin-on-material static friction coefficient of a material kind (see SKIN_FRICTION)."""
    return SKIN_FRICTION.get(kind, DEFAULT_FRICTION)


def mass_properties(vertices, faces, density=1.0):
    """(mass, centre of mass (3,), inertia (3, 3) about the COM) of a closed outward mesh.

    Sums signed tetrahedra (origin, triangle) (divergence theorem), so overlapping closed
    components add up: a union's volume is slightly over-counted where parts interpenetrate.
    """
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]  # (F, 3, 3)
    a, b, c = v[:, 0], v[:, 1], v[:, 2]
    vol6 = np.einsum("ij,ij->i", a, np.cross(b, c))  # (F,) 6 x signed tetra volume
    volume = vol6.sum() / 6.0
    if not volume > 0:
        raise ValueError(f"mesh encloses no positive volume ({volume:.3g} m^3): not closed or inward")
    com = (vol6[:, None] * (a + b + c)).sum(0) / (4.0 * vol6.sum())
    # Second moments of each tetra (origin, a, b, c): sum over its vertices of x_i x_j products.
    s = a + b + c
    second = (np.einsum("fi,fj->fij", a, a) + np.einsum("fi,fj->fij", b, b) + np.einsum("fi,fj->fij", c, c)
              + np.einsum("fi,fj->fij", s, s))  # (F, 3, 3)
    cov = (vol6[:, None, None] / 6.0 * second / 20.0).sum(0) * density  # integral of x x^T dm
    mass = density * volume
    cov = cov - mass * np.outer(com, com)
    inertia = np.trace(cov) * np.eye(3) - cov
    return float(mass), com, inertia


def object_mass_properties(geom):
    """(mass kg, COM (3,), inertia (3, 3), density) of an ObjectGeometry-like object."""
    d = density_for(getattr(geom, "name", None), getattr(geom, "category", None))
    m, com, inertia = mass_properties(geom.vertices, geom.faces, d)
    return m, com, inertia, d


def face_friction(geom):
    """(F,) skin friction of every face of an object (from its face_material kinds)."""
    mats = getattr(geom, "materials", None) or [{}]
    per_mat = np.array([friction_for(m.get("kind")) for m in mats])
    fm = getattr(geom, "face_material", None)
    if fm is None or len(fm) != len(geom.faces):
        return np.full(len(geom.faces), per_mat[0])
    return per_mat[np.asarray(fm)]
