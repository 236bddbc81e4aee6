"""`hopgen render`: the pipeline that plans and runs Blender worker processes, and the worker entry."""
