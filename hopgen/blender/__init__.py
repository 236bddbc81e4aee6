"""The only package that imports bpy. Everything here runs inside Blender (module or binary)."""
