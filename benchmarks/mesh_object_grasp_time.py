"""Time of a held grasp of a manifest-style mesh object (issue 18, item 4).

    python -m benchmarks.mesh_object_grasp_time --out /tmp/mesh_time.json can mug rubber_ball

Each named built-in object is built as the benchmark builds it (seed 0) and its analytic SDF is
dropped, so distances come from the triangle mesh as for a manifest .obj/.ply. Reports, per
object, the CPU seconds of the convex decomposition (once per object) and of synthesize_grasp
with the hold test in the loop (f01, right hand, the default budget), and whether and at which
attempt a grasp held.
"""

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hopgen import physics  # noqa: E402
from hopgen.core.atomic import atomic_write_json  # noqa: E402
from hopgen.grasp import synthesis  # noqa: E402
from hopgen.objects import build_object, list_object_types, sample_object_params  # noqa: E402


def run(names, subject="f01", side="right"):
    from hopgen.physics import sim
    order = sorted(dict(list_object_types()))
    out = {}
    for name in names:
        oi = order.index(name)
        geom = build_object(sample_object_params(name, np.random.default_rng([0, oi])))
        geom = dataclasses.replace(geom, sdf=None, part_sdfs=[])
        c0 = time.process_time()
        sim.object_pieces(geom)
        c1 = time.process_time()
        try:
            g = synthesis.synthesize_grasp(subject, side, geom, np.random.default_rng([0, 0, 1, oi]),
                                           physics=physics.hold_test(geom))
            res = {"held": True, "type": g.type, "attempt": g.attempts}
        except synthesis.GraspFailedError as e:
            res = {"held": False, "attempts": e.attempts}
        res.update(decomposition_cpu_s=round(c1 - c0, 2), synthesis_cpu_s=round(time.process_time() - c1, 2))
        out[name] = res
        print(name, json.dumps(res), flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("objects", nargs="+")
    a = ap.parse_args(argv)
    unknown = sorted(set(a.objects) - set(dict(list_object_types())))
    if unknown:
        ap.exit(2, f"mesh_object_grasp_time: unknown object types {unknown} (see hopgen assets list)\n")
    atomic_write_json(a.out, {"benchmark": "mesh_object_grasp_time", "objects": run(a.objects)}, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
