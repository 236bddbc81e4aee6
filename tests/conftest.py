import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def _have_bpy():
    try:
        import bpy  # noqa: F401
        return True
    except Exception:
        return False


HAVE_BPY = _have_bpy()
BLENDER_BIN = os.environ.get("HOPGEN_BLENDER") or shutil.which("blender")


def pytest_collection_modifyitems(config, items):
    """Skip bpy / blender_binary tests on a developer machine without that Blender.

    CI (CI=true) installs both Blenders, so there nothing is skipped: a missing Blender fails loudly.
    """
    if os.environ.get("CI") == "true":
        return
    for item in items:
        if "bpy" in item.keywords and not HAVE_BPY:
            item.add_marker(pytest.mark.skip(reason="the bpy module is not installed (pip install bpy==5.0.1)"))
        if "blender_binary" in item.keywords and not BLENDER_BIN:
            item.add_marker(pytest.mark.skip(reason="no blender executable on PATH (apt-get install blender)"))


# ---- trainer fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a test module (`pytestmark = pytest.mark.usefixtures(...)`): on a
    shared 2-core machine OpenMP spin-waiting makes 2 threads ~10x slower."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def toy_hop(tmp_path_factory):
    """A toy HOP v1 dataset (16 samples of 96x96, 4 categories; hopfixtures.make_toy_hop), shared by the
    data and 2D-training tests. Tests must not write into it (copy it first)."""
    from hopfixtures import make_toy_hop
    return make_toy_hop(str(tmp_path_factory.mktemp("hop") / "toy"), n=16, size=96)
