"""Built-in procedural objects: 35 types in the 4 HOP categories (pure: numpy + stdlib).

API (infinigen style, rng -> params -> geometry)::

    OBJECT_TYPES                                  {name: ObjectType}
    list_object_types() -> [(name, category)]
    sample_object_params(name, rng, ranges=None) -> ObjectParams   (.to_dict() / .from_dict())
    build_object(params) -> ObjectGeometry   vertices (V,3) m, faces (F,3) int32, face_material (F,),
                                             materials [spec dict], sdf or None, extents, principal_axes()

Object frame: origin at the bounding-box centre; cylindrical and slender objects have their long
axis along +z; cubical objects rest with z up and x along the longer side; spherical ones have
the stem on +z. "SDF" = analytic signed distance available (exact on the surface).

=============  ============  =========================================================  ===
name           category      shape                                                       SDF
=============  ============  =========================================================  ===
bottle         cylindrical   PET bottle: shoulders, neck, cap, label band                yes
wine_bottle    cylindrical   glass bottle with punt, foil capsule, label                 yes
can            cylindrical   beverage can: tapered ends, rim, recessed lid               yes
mug            cylindrical   hollow ceramic mug + half-torus handle                      yes
glass          cylindrical   hollow tapered tumbler                                      yes
jar            cylindrical   filled jar, metal lid, label                                yes
thermos        cylindrical   steel flask, cup lid, rubber grip band                      yes
spray_can      cylindrical   aerosol can, domed top, nozzle                              yes
paper_cup      cylindrical   tapered paper cup, rolled rim, recessed bottom              yes
candle         cylindrical   pillar candle with wick                                     yes
pencil         slender       hexagonal body, sharpened cone, graphite, ferrule, eraser   yes
pen            slender       ballpoint pen, grip zone, clip                              yes
marker         slender       capped marker with clip                                     yes
chopstick      slender       one tapered round stick                                     yes
fork           slender       flat fork with 3-4 tines                                    yes
knife          slender       blade with rounded tip + slab handle                        yes
spoon          slender       concave bowl, bent handle (lofted)                          no
screwdriver    slender       handle with grip band, shaft, flat tip                      yes
toothbrush     slender       lofted handle + bristle block                               no
book           cubical       two boards, spine, inset pages                              yes
phone          cubical       rounded slab, screen, camera bump                           yes
remote         cubical       rounded slab + rubber button grid                           yes
cutting_board  cubical       rounded board (wood or plastic)                             yes
box            cubical       printed cardboard box                                       yes
wallet         cubical       leather wallet                                              yes
soap_bar       cubical       pillow-shaped bar                                           yes
milk_carton    cubical       gable-top carton with fin                                   yes
orange         spherical     oblate, pored peel, stem button                             approx
lemon          spherical     prolate, pointed ends                                       approx
apple          spherical     dimples, lobes, stem                                        approx
tomato         spherical     lobed, oblate, star calyx, stem                             approx
tennis_ball    spherical     sphere, felt + seam                                         yes
baseball       spherical     sphere, leather + stitches                                  yes
golf_ball      spherical     sphere, dimples (bump)                                      yes
rubber_ball    spherical     sphere, stripes                                             yes
=============  ============  =========================================================  ===
"""

from hopgen.objects import cubical, cylindrical, slender, spherical  # noqa: F401  (register the types)
from hopgen.objects.materials import MATERIAL_KINDS
from hopgen.objects.registry import (OBJECT_TYPES, ObjectGeometry, ObjectParams, ObjectSpecError, ObjectType,
                                     build_object, get_object_type, list_object_types, sample_object_params)

__all__ = ["OBJECT_TYPES", "MATERIAL_KINDS", "ObjectGeometry", "ObjectParams", "ObjectSpecError", "ObjectType",
           "build_object", "get_object_type", "list_object_types", "sample_object_params"]
