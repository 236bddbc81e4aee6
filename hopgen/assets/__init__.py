"""The asset manifest (avatars, objects, backgrounds) and the pure part of the asset/grasp preview sheets."""
