"""Object type registry, parameter sampling and building (infinigen style: rng -> params -> build).

Pure module (numpy + stdlib). See hopgen/objects/__init__.py for the list of types.
"""

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from hopgen.objects.materials import check_spec
from hopgen.objects.primitives import merge_parts
from hopgen.core.skeleton import CATEGORIES


class ObjectSpecError(ValueError):
    """Bad object name, parameter, range or params dict."""


@dataclass
class ObjectParams:
    """Sampled parameters of one object instance.

    name: object type; category: one of skeleton.CATEGORIES; shape: {param: float|int} in
    metres (or ratios/counts, see the type's ranges); materials: list of material spec dicts
    (see hopgen.objects.materials), indexed by ObjectGeometry.face_material.
    """

    name: str
    category: str
    shape: dict
    materials: list

    def to_dict(self):
        """JSON-serialisable dict (round-trips through :meth:`from_dict`)."""
        return {"name": self.name, "category": self.category,
                "shape": {k: self.shape[k] for k in sorted(self.shape)},
                "materials": copy.deepcopy(self.materials)}

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`; checks the type name and the shape keys."""
        if not isinstance(d, dict):
            raise ObjectSpecError(f"object params must be a dict, got {type(d).__name__}")
        for key in ("name", "shape", "materials"):
            if key not in d:
                raise ObjectSpecError(f"object params: missing field {key!r}")
        otype = get_object_type(d["name"])
        keys = set(d["shape"])
        if keys != set(otype.ranges):
            raise ObjectSpecError(f"object params for {otype.name!r}: shape keys {sorted(keys ^ set(otype.ranges))} "
                                  f"do not match the type's parameters {sorted(otype.ranges)}")
        if d.get("category", otype.category) != otype.category:
            raise ObjectSpecError(f"object params for {otype.name!r}: category {d['category']!r} "
                                  f"!= {otype.category!r}")
        shape = {k: (int(v) if k in otype.ints else float(v)) for k, v in d["shape"].items()}
        for i, spec in enumerate(d["materials"]):
            check_spec(spec, f"object {otype.name!r} materials[{i}]")
        return cls(otype.name, otype.category, shape, copy.deepcopy(list(d["materials"])))


@dataclass
class ObjectGeometry:
    """Triangle mesh of one object in its object frame (metres).

    Origin at the centre of the bounding box. Cylindrical and slender objects have their long
    (symmetry) axis along +z; cubical objects lie in their resting pose with z up and x along
    the longer side; spherical objects have z up (stem/navel on +z).

    vertices (V, 3) float64; faces (F, 3) int32 outward; face_material (F,) int32 index into
    materials; vertex_part (V,) int32 closed component of each vertex; part_sdfs: per
    component SDF (or None); sdf: union SDF (N, 3) -> (N,), negative inside, or None when a
    component has none (use a mesh distance then).
    """

    name: str
    category: str
    vertices: np.ndarray
    faces: np.ndarray
    face_material: np.ndarray
    materials: list
    vertex_part: np.ndarray
    part_sdfs: list = field(default_factory=list)
    sdf: object = None

    @property
    def extents(self):
        """(3,) size of the axis-aligned bounding box."""
        return self.vertices.max(0) - self.vertices.min(0)

    @property
    def num_parts(self):
        return int(self.vertex_part.max()) + 1 if len(self.vertex_part) else 0

    def face_areas(self):
        """(F,) triangle areas."""
        v = self.vertices[self.faces]
        return 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)

    def principal_axes(self):
        """(axes (3, 3), spread (3,)): rows are the principal axes of the surface
        (area-weighted PCA about the area centroid), sorted by decreasing spread (std, m);
        each axis is signed to point along the positive frame axis it is closest to."""
        v = self.vertices[self.faces]
        cen = v.mean(1)
        w = self.face_areas()
        mu = (cen * w[:, None]).sum(0) / w.sum()
        d = cen - mu
        cov = (d[:, :, None] * d[:, None, :] * w[:, None, None]).sum(0) / w.sum()
        val, vec = np.linalg.eigh(cov)
        order = np.argsort(val)[::-1]
        axes = vec[:, order].T
        axes *= np.where(axes[np.arange(3), np.abs(axes).argmax(1)] < 0, -1.0, 1.0)[:, None]
        return axes, np.sqrt(np.maximum(val[order], 0))


@dataclass
class ObjectType:
    """A procedural object generator.

    ranges: {param: (lo, hi)} sampled uniformly (integers when the name is in ints);
    build(shape dict) -> list of primitives.Part (face_material indexes the materials);
    sample_materials(rng, shape dict) -> list of material spec dicts.
    """

    name: str
    category: str
    ranges: dict
    build: object
    sample_materials: object
    ints: frozenset = frozenset()
    description: str = ""


OBJECT_TYPES = {}


def register(otype):
    """Add an ObjectType to OBJECT_TYPES (names are unique)."""
    if otype.category not in CATEGORIES:
        raise ObjectSpecError(f"object type {otype.name!r}: unknown category {otype.category!r}")
    if otype.name in OBJECT_TYPES:
        raise ObjectSpecError(f"object type {otype.name!r} registered twice")
    OBJECT_TYPES[otype.name] = otype
    return otype


def get_object_type(name):
    """The ObjectType called `name` (ObjectSpecError listing the known names otherwise)."""
    if name not in OBJECT_TYPES:
        raise ObjectSpecError(f"unknown object type {name!r}; known: {', '.join(sorted(OBJECT_TYPES))}")
    return OBJECT_TYPES[name]


def list_object_types():
    """[(name, category)] of every registered type, sorted by category then name."""
    return sorted(((t.name, t.category) for t in OBJECT_TYPES.values()),
                  key=lambda nc: (CATEGORIES.index(nc[1]), nc[0]))


def _checked_ranges(otype, ranges):
    out = dict(otype.ranges)
    for key, rng_ in (ranges or {}).items():
        if key not in otype.ranges:
            raise ObjectSpecError(f"object {otype.name!r}: unknown range key {key!r}; "
                                  f"known: {', '.join(sorted(otype.ranges))}")
        try:
            lo, hi = (float(x) for x in rng_)
        except (TypeError, ValueError):
            raise ObjectSpecError(f"object {otype.name!r}: range {key!r} must be [lo, hi], got {rng_!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ObjectSpecError(f"object {otype.name!r}: range {key!r} needs finite lo <= hi, got {rng_!r}")
        out[key] = (lo, hi)
    return out


def sample_object_params(name, rng, ranges=None):
    """Draw ObjectParams for type `name` from rng (numpy Generator).

    ranges optionally overrides {param: (lo, hi)} of the type (e.g. from the manifest); an
    unknown key raises ObjectSpecError (a ValueError) naming it.
    """
    otype = get_object_type(name)
    rr = _checked_ranges(otype, ranges)
    shape = {}
    for key in sorted(rr):  # fixed order -> deterministic draws
        lo, hi = rr[key]
        if key in otype.ints:
            shape[key] = int(rng.integers(int(round(lo)), int(round(hi)) + 1))
        else:
            shape[key] = round(float(rng.uniform(lo, hi)), 6)
    return ObjectParams(otype.name, otype.category, shape, otype.sample_materials(rng, shape))


def build_object(params):
    """Build the ObjectGeometry of ObjectParams (or of its dict form)."""
    if isinstance(params, dict):
        params = ObjectParams.from_dict(params)
    otype = get_object_type(params.name)
    parts = otype.build(params.shape)
    verts, faces, fmat, vpart = merge_parts(parts)
    if fmat.size and (fmat.min() < 0 or fmat.max() >= len(params.materials)):
        raise ObjectSpecError(f"object {params.name!r}: face material index {int(fmat.max())} "
                              f"but only {len(params.materials)} materials")
    centre = 0.5 * (verts.min(0) + verts.max(0))
    parts = [p.transformed(None, -centre) for p in parts]
    part_sdfs = [p.sdf for p in parts]
    sdf = None
    if all(s is not None for s in part_sdfs):
        def sdf(p, fns=tuple(part_sdfs)):
            p = np.asarray(p, dtype=np.float64).reshape(-1, 3)
            return np.min(np.stack([f(p) for f in fns]), axis=0)
    return ObjectGeometry(params.name, otype.category, verts - centre, faces.astype(np.int32),
                          fmat.astype(np.int32), copy.deepcopy(params.materials), vpart.astype(np.int32),
                          part_sdfs, sdf)
