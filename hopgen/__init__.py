"""hopgen: hand-object grasp datasets with Blender, and the variational object-aware 3D hand pose trainer.

Layers of the generator, lowest first; a module imports only from its own sub-package or from a
lower layer, at module level and inside functions alike (tests/test_layers.py checks the graph,
and that it has no import circles):

0. ``hopgen`` itself: ``__version__`` and ``FORMAT`` only.
1. ``core``: skeleton and labels, camera maths, structured config loading, atomic writes, PNG io,
   drawing, mesh files, mesh distance queries, grasp frames, surface nets.
2. ``hand`` (kinematics, hand mesh, subjects, canonical frame), ``objects`` (procedural objects and
   their material specs), ``dataset`` (HOP reader/writer, validate, index, stats, preview, export,
   visibility; over core only).
3. ``grasp`` (grasp synthesis over hand + object geometry), ``avatars`` (rigs, MakeHuman bodies,
   avatar entries -> rigs and the rigged-file reader registry).
4. ``assets`` (the asset manifest and asset sheets), ``config`` (the generation config dataclasses;
   it checks grasp types and phases against ``grasp``), ``physics`` (the grasp hold test: pure
   mass/friction model, convex pieces, epsilon and grasp-library reader; ``physics.sim`` imports
   MuJoCo, the `physics` extra, lazily).
5. ``episode``: planning, appearance draws, the shared episode scene, the procedural and body builders.
6. ``blender``: the only bpy code (scenes, materials, passes, the episode renderer); its
   ``compat`` module holds every Blender-version branch, and nothing in it draws random numbers.
7. ``render``: the render pipeline, the worker, the Blender entry script and the grasp-library builder.
8. ``bench``: the benchmark runner.
9. ``cli``: the ``hopgen`` command (``__main__``: ``python -m hopgen`` on top of it).

Pure layers (everything but ``blender`` and the worker inside ``render``) import numpy and the
standard library only, so they also run inside Blender's Python. ``trainer/`` sits beside hopgen and
uses its pure layers.
"""

__version__ = "0.1.0"
FORMAT = "hop/1"
