"""Grasp-synthesis benchmark: success rate, penetration, contacts and time per grasp.

    python -m benchmarks.bench_grasp --out benchmarks/results/grasp.json
    python -m benchmarks.bench_grasp --out /tmp/g.json --subjects f01 m03 --objects can book --seeds 0 1

Every (object type, seed) builds one procedural object; every subject and side then grasps
it with rng = default_rng([seed, subject index, side index, object index]). Reports per
category and overall: success rate, median / max penetration (mm), fingers in contact (mean and
histogram), wall and CPU time per grasp (median, mean, p95, max), grasp types, failure reasons
(final and per attempt), the machine (cpu count, load average at start and end, numpy) and a
sha256 over all grasps (equal digests: identical grasps, e.g. across numpy builds).

With physics=True (`hopgen bench grasp --set physics=true`, i.e. the bench's extra KEY=VALUE
option; needs the `physics` extra, MuJoCo): every case is first synthesised as before and
that grasp's hold test recorded (open loop, `physics_open_loop_hold_rate`), then synthesised
with the hold test in the loop (hopgen.grasp.synthesis: squeeze, type feedback) and that
result is the case's physics figures: physics_hold_rate (a case whose synthesis found no held
grasp within max_attempts counts as not holding), displacement, contacts, epsilon and the time
per grasp, overall and per category, object and grasp type.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict

# One BLAS thread: grasps are timed as a generator worker runs them (tiny matrices, where
# thread start-up only adds contention).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hopgen.core import meshgeom  # noqa: E402
from hopgen.grasp import GraspFailedError, hand_model, synthesize_grasp  # noqa: E402
from hopgen.objects import build_object, list_object_types, sample_object_params  # noqa: E402
from hopgen.core.atomic import atomic_write_json  # noqa: E402
from hopgen.hand.subjects import BUILTIN_SUBJECTS  # noqa: E402

SIDES = ("left", "right")


def _times(values):
    t = np.array(values) if values else np.zeros(1)
    return {"median": float(np.median(t)), "mean": float(np.mean(t)), "p95": float(np.percentile(t, 95)),
            "max": float(t.max())}


def _physics_summary(rows):
    rows = [r for r in rows if "physics_holds" in r]
    if not rows:
        return {}
    held = [r for r in rows if r["physics_holds"]]
    ok = [r for r in rows if r.get("physics")]
    med = lambda k: float(np.median([r["physics"][k] for r in ok])) if ok else None  # noqa: E731
    open_loop = [r["physics_open_loop_holds"] for r in rows if r.get("physics_open_loop_holds") is not None]
    return {
        "physics_hold_rate": len(held) / len(rows),
        "physics_open_loop_hold_rate": float(np.mean(open_loop)) if open_loop else None,
        "physics_median_displacement_mm": med("displacement_mm"),
        "physics_median_surface_displacement_mm": med("surface_displacement_mm"),
        "physics_median_rotation_deg": med("rotation_deg"),
        "physics_median_contacts": med("contacts"),
        "physics_median_epsilon": med("epsilon"),
        "physics_force_closure_rate": float(np.mean([r["physics"]["epsilon"] > 0 for r in ok])) if ok else None,
        "physics_time_per_grasp_s": _times([r["physics_time_s"] for r in rows]),
        **({"physics_cpu_time_per_grasp_s": _times([r["physics_cpu_s"] for r in rows]),
            "physics_open_loop_cpu_time_per_test_s": _times([r["physics_open_loop_cpu_s"] for r in rows])}
           if all("physics_cpu_s" in r for r in rows) else {}),
        "physics_failures": dict(Counter(r["physics_failure"] for r in rows if not r["physics_holds"])),
        "physics_held_types": dict(Counter(r["physics_type"] for r in held)),
        "physics_hold_rate_by_plain_type": {t: float(np.mean([r["physics_holds"] for r in rows if r.get("type") == t]))
                                            for t in sorted({r["type"] for r in rows if r.get("type")})},
    }


def _summary(rows):
    ok = [r for r in rows if r["success"]]
    pen = np.array([r["max_penetration_mm"] for r in ok]) if ok else np.zeros(0)
    fingers = [r["fingers_in_contact"] for r in ok]
    return {
        "grasps": len(rows),
        "success_rate": len(ok) / len(rows) if rows else 0.0,
        "median_penetration_mm": float(np.median(pen)) if len(pen) else None,
        "max_penetration_mm": float(pen.max()) if len(pen) else None,
        "mean_fingers_in_contact": float(np.mean(fingers)) if ok else None,
        "fingers_in_contact_histogram": {str(k): fingers.count(k) for k in range(6) if k in fingers},
        "mean_attempts": float(np.mean([r["attempts"] for r in ok])) if ok else None,
        "thumb_contact_rate": float(np.mean([r["thumb_contact"] for r in ok])) if ok else None,
        # Wall time depends on what else the machine runs (see machine.loadavg); CPU time less so.
        "time_per_grasp_s": _times([r["time_s"] for r in rows]),
        "cpu_time_per_grasp_s": _times([r["cpu_s"] for r in rows]),
        "types": dict(Counter(r["type"] for r in ok)),
        "failures": dict(Counter(r["failure"] for r in rows if not r["success"])),
        "attempt_failures": dict(sum((Counter(r["attempt_failures"]) for r in rows), Counter())),
        **_physics_summary(rows),
    }


QUICK_OBJECTS = ("can", "pencil", "phone", "orange")  # one per category


def _machine():
    """Where and under what load the benchmark ran."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu_count": os.cpu_count(), "loadavg_1_5_15": list(load) if load else None,
            "platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS")}


def _physics_case(row, s, side, geom, seed, si, di, oi, max_attempts, plain):
    """Add the hold-test figures of one case to its row (see the module docstring)."""
    from hopgen import physics
    t0, c0 = time.perf_counter(), time.process_time()
    row["physics_open_loop_holds"] = bool(physics.check_grasp(plain, geom).holds) if plain is not None else None
    t1, c1 = time.perf_counter(), time.process_time()
    try:
        g = synthesize_grasp(s, side, geom, np.random.default_rng([seed, si, di, oi]), max_attempts=max_attempts,
                             physics=physics.hold_test(geom))
        row.update(physics_holds=True, physics=g.physics, physics_type=g.type, physics_attempts=g.attempts)
    except GraspFailedError as e:
        why = max(e.reasons, key=e.reasons.get) if e.reasons else "no_acceptable_grasp"
        row.update(physics_holds=False, physics_failure=why, physics_attempt_failures=e.reasons)
    except meshgeom.UngraspableObjectError as e:
        row.update(physics_holds=False, physics_failure="ungraspable: " + e.reason)
    row["physics_time_s"] = time.perf_counter() - t1
    row["physics_cpu_s"] = time.process_time() - c1
    row["physics_open_loop_time_s"] = t1 - t0
    row["physics_open_loop_cpu_s"] = c1 - c0


def run(out_path, subjects=None, sides=SIDES, objects=None, seeds=(0,), max_attempts=24, progress=True,
        quick=False, physics=False):
    """Run the benchmark, write JSON atomically to out_path (if given) and return the report.

    quick: 4 objects (one per category) x 2 subjects x the sides, for a smoke test;
    physics: add the MuJoCo hold test (module docstring)."""
    if physics:
        from hopgen import physics as phys
        phys.simulator()  # PhysicsUnavailableError naming the extra, before any work
    if quick:
        objects = objects or QUICK_OBJECTS
        subjects = subjects or [s.id for s in BUILTIN_SUBJECTS[:2]]
    subj = [s for s in BUILTIN_SUBJECTS if not subjects or s.id in subjects]
    if subjects and len(subj) != len(set(subjects)):
        raise ValueError(f"unknown subject ids in {subjects}")
    types = dict(list_object_types())
    names = list(objects) if objects else sorted(types)
    bad = [n for n in names if n not in types]
    if bad:
        raise ValueError(f"unknown object types {bad}")
    for s in subj:  # build the hand models outside the timing
        for side in sides:
            hand_model(s, side)
    rows = []
    digest = hashlib.sha256()  # of every grasp's JSON: equal digests = identical grasps
    machine_start = _machine()
    t_all = time.perf_counter()
    total = len(names) * len(seeds) * len(subj) * len(sides)
    order = sorted(types)
    for name in names:
        oi = order.index(name)  # the index among all types: a subset run draws what the full run draws
        for seed in seeds:
            geom = build_object(sample_object_params(name, np.random.default_rng([seed, oi])))
            for si, s in enumerate(subj):
                for di, side in enumerate(sides):
                    rng = np.random.default_rng([seed, si, di, oi])
                    t0, c0 = time.perf_counter(), time.process_time()
                    row = {"object": name, "category": types[name], "seed": seed, "subject": s.id, "side": side}
                    g = None
                    try:
                        g = synthesize_grasp(s, side, geom, rng, max_attempts=max_attempts)
                        digest.update(json.dumps(g.to_dict(), sort_keys=True).encode())
                        row.update(success=True, type=g.type, max_penetration_mm=g.max_penetration_mm,
                                   fingers_in_contact=len(g.fingers_in_contact), attempts=g.attempts,
                                   thumb_contact="thumb" in g.fingers_in_contact, attempt_failures=g.failures)
                    except GraspFailedError as e:
                        row.update(success=False, failure="no_acceptable_grasp", attempt_failures=e.reasons)
                    except meshgeom.UngraspableObjectError as e:
                        row.update(success=False, failure="ungraspable: " + e.reason, attempt_failures={})
                    row["time_s"] = time.perf_counter() - t0
                    row["cpu_s"] = time.process_time() - c0
                    if physics:
                        _physics_case(row, s, side, geom, seed, si, di, oi, max_attempts, g)
                    digest.update(json.dumps(row.get("failure", "")).encode())
                    rows.append(row)
                    if progress:
                        done = len(rows)
                        el = time.perf_counter() - t_all
                        sys.stderr.write(f"\r{done}/{total} grasps, {el:.0f}s elapsed, "
                                         f"ETA {el / done * (total - done):.0f}s   ")
    if progress:
        sys.stderr.write("\n")
    report = summarise(rows, {"subjects": [s.id for s in subj], "sides": list(sides), "objects": names,
                              "seeds": list(seeds), "max_attempts": max_attempts, "physics": bool(physics)},
                       physics, digest.hexdigest(), time.perf_counter() - t_all,
                       {"start": machine_start, "end": _machine()})
    if out_path:
        atomic_write_json(out_path, report, indent=1)
    return report


def summarise(rows, config, physics, sha256, wall_time_s, machine):
    """The report of benchmark rows (physics: add the hold-test figures and keep the rows)."""
    by_cat = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r)
    by_obj = defaultdict(list)
    for r in rows:
        by_obj[r["object"]].append(r)
    report = {
        "benchmark": "grasp",
        "config": config,
        "overall": _summary(rows),
        "per_category": {c: _summary(v) for c, v in sorted(by_cat.items())},
        "per_object": {o: {"success_rate": _summary(v)["success_rate"],
                           "max_penetration_mm": _summary(v)["max_penetration_mm"],
                           **{k: x for k, x in _physics_summary(v).items()
                              if k in ("physics_hold_rate", "physics_open_loop_hold_rate",
                                       "physics_median_displacement_mm", "physics_median_epsilon")}}
                       for o, v in sorted(by_obj.items())},
        **({"per_grasp_type": {t: _physics_summary([r for r in rows if r.get("physics_type") == t])
                               for t in sorted({r["physics_type"] for r in rows if r.get("physics_type")})},
            "cases": rows} if physics else {}),
        "wall_time_s": wall_time_s,
        "grasps_sha256": sha256,
        "machine": machine,
    }
    return report


def merge(paths, out_path):
    """One report from several physics runs over disjoint cases (their `cases` rows)."""
    reps = [json.load(open(p)) for p in paths]
    rows = [r for rep in reps for r in rep["cases"]]
    cfg = dict(reps[0]["config"], objects=[o for rep in reps for o in rep["config"]["objects"]],
               merged_from=[os.path.basename(p) for p in paths])
    digest = hashlib.sha256("".join(rep["grasps_sha256"] for rep in reps).encode()).hexdigest()
    report = summarise(rows, cfg, True, digest, max(rep["wall_time_s"] for rep in reps),
                       [rep["machine"] for rep in reps])
    atomic_write_json(out_path, report, indent=1)
    return report


def _read_report(path):
    """A benchmark report (dict) from JSON, or ValueError naming the file and what is wrong."""
    try:
        with open(path) as f:
            rep = json.load(f)
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(rep, dict) or rep.get("benchmark") != "grasp":
        raise ValueError(f"{path}: not a grasp benchmark report")
    return rep


def attach(physics_path, out_path, note):
    """Copy a physics run's summary (overall, per category/type/object) into the geometric
    report at out_path as its `physics` entry (README reads both from grasp.json)."""
    phys, report = _read_report(physics_path), _read_report(out_path)
    if not phys.get("config", {}).get("physics"):
        raise ValueError(f"{physics_path}: not a physics run (config.physics is not true)")
    report["physics"] = {"note": note, "source": os.path.basename(physics_path), "config": phys["config"],
                         **{k: phys[k] for k in ("overall", "per_category", "per_grasp_type", "per_object")}}
    atomic_write_json(out_path, report, indent=1)
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSON report path (written atomically)")
    ap.add_argument("--subjects", nargs="*", help="subject ids (default: all 10 built-in)")
    ap.add_argument("--sides", nargs="*", default=list(SIDES), choices=SIDES)
    ap.add_argument("--objects", nargs="*", help="object type names (default: all built-in types)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--max-attempts", type=int, default=24)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--quick", action="store_true", help="4 objects x 2 subjects (smoke test)")
    ap.add_argument("--physics", action="store_true", help="add the MuJoCo hold test (needs the physics extra)")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="merge physics reports of disjoint runs into --out")
    ap.add_argument("--attach", metavar="JSON", help="put this physics report's summary into the report --out")
    ap.add_argument("--note", default="", help="with --attach: how the physics run was made")
    a = ap.parse_args(argv)
    if a.attach:
        try:
            rep = attach(a.attach, a.out, a.note)
        except ValueError as e:
            ap.exit(2, f"bench_grasp --attach: {e}\n")
        print(json.dumps({k: rep["physics"]["overall"].get(k) for k in ("grasps", "physics_hold_rate")}))
        return 0
    if a.merge:
        rep = merge(a.merge, a.out)
        print(json.dumps({k: rep["overall"].get(k) for k in ("grasps", "physics_hold_rate")}))
        return 0
    rep = run(a.out, a.subjects, tuple(a.sides), a.objects, tuple(a.seeds), a.max_attempts, not a.quiet, a.quick,
              a.physics)
    o = rep["overall"]
    print(f"success {o['success_rate']:.3f} over {o['grasps']} grasps; penetration median "
          f"{o['median_penetration_mm']} max {o['max_penetration_mm']} mm; time median "
          f"{o['time_per_grasp_s']['median']:.3f}s mean {o['time_per_grasp_s']['mean']:.3f}s "
          f"(cpu median {o['cpu_time_per_grasp_s']['median']:.3f}s); load {rep['machine']['start']['loadavg_1_5_15']}")
    for c, s in rep["per_category"].items():
        print(f"  {c:12s} success {s['success_rate']:.3f} maxpen {s['max_penetration_mm']} "
              f"fingers {s['mean_fingers_in_contact']} failures {s['failures']}"
              + (f" hold {s['physics_hold_rate']:.3f} (open loop {s['physics_open_loop_hold_rate']})"
                 if "physics_hold_rate" in s else ""))
    if "physics_hold_rate" in o:
        print(f"physics hold rate {o['physics_hold_rate']:.3f} (open loop {o['physics_open_loop_hold_rate']}), "
              f"time per grasp median {o['physics_time_per_grasp_s']['median']:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
