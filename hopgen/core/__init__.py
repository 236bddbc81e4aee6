"""Core maths and io shared by every layer (pure numpy + stdlib): the 21-joint skeleton, camera maths,
typed config loading, atomic writes, PNG io, raster drawing, triangle-mesh loading and queries."""
