"""The beauty PNG is read back (for the camera effects) by Blender's image reader: exactly the bytes the
pure decoder reads, and a truncated file is refused first, naming it."""

import zlib

import numpy as np
import pytest


def _render_noisy(path, size=32):
    """A 1-sample render of a lit sphere: noisy rows, so Blender's PNG writer uses every row filter."""
    import bpy
    from hopgen.blender import scene as hs
    from hopgen.blender.passes import render_rgb
    sc = hs.reset_scene()
    hs.configure_cycles(sc, samples=1, adaptive_threshold=None, threads=1)
    bpy.ops.mesh.primitive_uv_sphere_add(location=(0.0, 0.0, 1.5), radius=0.4)
    hs.add_point_lamp((0.5, -0.5, 0.5), power_w=40)
    f = size * 1.2
    hs.set_camera(np.array([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1]]), size, size, np.eye(4), scene=sc)
    render_rgb(sc, str(path))
    return path


@pytest.mark.bpy
def test_blender_readback_is_byte_exact_and_checks_the_file(tmp_path):
    from hopgen.blender.render_episode import read_beauty
    from hopgen.core.pngio import read_png
    from hopgen.dataset.hopformat import HopFormatError
    path = _render_noisy(tmp_path / "beauty.png")
    data = path.read_bytes()
    rows = zlib.decompress(data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8])
    assert {rows[y * (32 * 3 + 1)] for y in range(32)} - {0}  # rows Blender filtered (not just "None")
    expect = read_png(str(path))
    assert expect.shape == (32, 32, 3) and expect.std() > 1  # an image, not a flat colour
    got = read_beauty("00000007", str(path), 32, 32)
    assert got.dtype == np.uint8 and np.array_equal(got, expect)
    with pytest.raises(HopFormatError, match=r"sample 00000007: the rendered RGB image .*beauty.png .*expected 16x32"):
        read_beauty("00000007", str(path), 16, 32)
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[:len(data) // 2])  # a full disk: Blender reports nothing
    with pytest.raises(HopFormatError, match=r"cut.png is incomplete or wrong .*is the disk full"):
        read_beauty("00000007", str(cut), 32, 32)
