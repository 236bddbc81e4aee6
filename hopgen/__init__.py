"""hopgen: hand-object grasp datasets with Blender, and the variational object-aware 3D hand pose trainer."""

__version__ = "0.1.0"
FORMAT = "hop/1"
