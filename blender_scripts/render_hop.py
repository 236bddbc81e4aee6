"""Farm entry point: render HOP samples with whatever Blender (3.4 - 5.0) the farm has.

    blender -b --factory-startup --python-exit-code 1 -P blender_scripts/render_hop.py -- \
        --config configs/hop.yaml --out /data/hop --shard 3/64 [--manifest M] [--set key=value]

Only needs numpy in Blender's Python (pyyaml for YAML configs; JSON configs work without it).
Exit code 0 only when every sample of the shard exists.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hopgen.render.blender_entry import main  # noqa: E402

main()
