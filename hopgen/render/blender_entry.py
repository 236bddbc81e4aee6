"""Blender-side entry of a render worker, shipped inside the package so an installed hopgen finds it.

    blender -b --factory-startup --python-exit-code 1 -P <this file> -- --config C --out O --shard I/N ...

`hopgen render --blender PATH` runs this file; the farm entry blender_scripts/render_hop.py calls main().
Exit code 0 only when every sample of the shard exists.
"""

import os
import sys


def main(argv=None):
    from hopgen.render.worker import worker_main
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    code = worker_main(argv)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    # Run by Blender as a script: make the folder that holds the hopgen package importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    main()
