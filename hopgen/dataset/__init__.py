"""The HOP v1 dataset layer: reader/writer, validate, index/splits, stats, preview sheets, exports,
and per-joint visibility."""
