"""Atomic file writers: write to a temporary name in the same folder, fsync, then rename into place.

A reader (or a resumed run) therefore sees either the old file or the complete new one, never a
partial write. Temporary names start with '.tmp-hopgen-' followed by the writer's pid and a random
part, so they never collide with another writer's and `cleanup_temporaries` removes only files
hopgen made (a user's own '.tmp-draft' is left alone). Files get the usual 0666 & ~umask mode (not
mkstemp's 0600), so the rest of a farm's group can read a dataset.
"""

import json
import os
import tempfile

TMP_PREFIX = ".tmp-hopgen-"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


def temporary_name(folder, stem=""):
    """A fresh temporary path in `folder` for this process ('.tmp-hopgen-PID-...'); not created."""
    return os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{stem}{os.urandom(4).hex()}")


def atomic_write_bytes(path, data):
    """Write `data` (bytes) to `path` atomically; creates the parent folder."""
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=folder)
    try:
        os.fchmod(fd, FILE_MODE)
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


def cleanup_temporaries(folder, subfolders=("",)):
    """Remove hopgen's own '.tmp-hopgen-*' leftovers of interrupted writes in `folder` and the given
    `subfolders` of it (not recursively: only where hopgen writes); returns how many were removed."""
    removed = 0
    for sub in subfolders:
        d = os.path.join(folder, sub)
        try:
            names = os.listdir(d)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            p = os.path.join(d, name)
            if name.startswith(TMP_PREFIX) and os.path.isfile(p) and not os.path.islink(p):
                os.unlink(p)
                removed += 1
    return removed
