"""Rigged avatars in pure numpy: skinned rigs posed for a grasp, MakeHuman bodies from a data folder,
and the reader registry for rigged files (.glb/.fbx/.blend; the reader itself lives in hopgen.blender)."""
