"""Atomic file writers: write to a temporary name in the same folder, fsync, then rename into place.

A reader (or a resumed run) therefore sees either the old file or the complete new one, never a
partial write. Temporary names start with '.tmp-' so `cleanup_temporaries` can remove leftovers of a
killed run.
"""

import json
import os
import tempfile

TMP_PREFIX = ".tmp-"


def atomic_write_bytes(path, data):
    """Write `data` (bytes) to `path` atomically; creates the parent folder."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, indent=None):
    atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def cleanup_temporaries(folder):
    """Remove '.tmp-*' leftovers of interrupted writes below `folder`; returns how many were removed."""
    removed = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(TMP_PREFIX):
                os.unlink(os.path.join(root, name))
                removed += 1
    return removed
