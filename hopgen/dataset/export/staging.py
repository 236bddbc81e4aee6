"""All-or-nothing exports: write every entry into a private staging folder, then move it into place.

An export of one split owns a few *entries* of the output folder OUT (e.g. `training/` for RHD,
`images/test/` and `annotations/hand_keypoints_test.json` for COCO). They are written under
`OUT/.tmp-export-<pid>-<random>/` (same file system, so the final moves are renames) and moved into
place only when everything was written, the index file last. A failure or a kill leaves OUT as
it was (a killed run's staging folder is removed by the next export into OUT).

`OUT/.hopgen-export.json` records which entries hopgen wrote: an existing entry is replaced only
with `force=True` and only when that record lists it (hopgen deletes only what it wrote itself).
"""

import json
import os
import secrets
import shutil

from hopgen.core.atomic import atomic_write_json
from hopgen.dataset.export.samples import ExportError

RECORD = ".hopgen-export.json"
STAGE_PREFIX = ".tmp-export-"
STAGE_MARK = ".hopgen-stage"


def _record(out):
    path = os.path.join(out, RECORD)
    if not os.path.isfile(path):
        return {"exports": {}}
    try:
        with open(path) as f:
            rec = json.load(f)
        if not isinstance(rec, dict) or not isinstance(rec.get("exports"), dict):
            raise ValueError("no 'exports' mapping")
        return rec
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: unreadable export record ({e}); remove it to export into {out}") from None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dead_stages(out):
    """Staging folders of killed exports (ours: named and marked by this module, owner process gone)."""
    for name in os.listdir(out):
        path = os.path.join(out, name)
        if not (name.startswith(STAGE_PREFIX) and os.path.isfile(os.path.join(path, STAGE_MARK))):
            continue
        try:
            pid = int(name[len(STAGE_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)


class Staging:
    """Context manager: `with Staging(out, entries, force, info) as stage: write below stage.path`.

    entries: paths relative to OUT, in commit order (the index file last). On a clean exit the
    entries are moved into OUT and recorded; on any exception nothing in OUT changes."""

    def __init__(self, out, entries, force=False, info=None, source=None):
        self.out, self.entries, self.force, self.info = os.fspath(out), list(entries), force, info or {}
        if os.path.exists(self.out) and not os.path.isdir(self.out):
            raise ExportError(f"--out {self.out}: exists and is not a folder")
        if os.path.isfile(os.path.join(self.out, "dataset.json")):
            raise ExportError(f"--out {self.out}: is a HOP dataset; export into another folder")
        if source and os.path.realpath(source) == os.path.realpath(self.out):
            raise ExportError(f"--out {self.out}: is the dataset being exported")
        record = _record(self.out) if os.path.isdir(self.out) else {"exports": {}}
        for entry in self.entries:
            target = os.path.join(self.out, entry)
            if not os.path.lexists(target):
                continue
            if not force:
                raise ExportError(f"{target} exists (an earlier export?); use --force to replace it "
                                  f"or another --out")
            if entry not in record["exports"]:
                raise ExportError(f"{target} exists and was not written by hopgen export; "
                                  f"refusing to replace it (remove it yourself or use another --out)")
        self.path = None

    def __enter__(self):
        self._created = not os.path.exists(self.out)  # removed again if the export fails
        os.makedirs(self.out, exist_ok=True)
        _remove_dead_stages(self.out)
        self.path = os.path.join(self.out, f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
        os.makedirs(self.path)
        open(os.path.join(self.path, STAGE_MARK), "w").close()
        return self

    def file(self, *parts):
        """Path of a file inside the staging folder (parent folders created)."""
        path = os.path.join(self.path, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def write(self, rel, data):
        with open(self.file(rel), "wb") as f:
            f.write(data)

    def __exit__(self, exc_type, exc, tb):
        committed = False
        try:
            if exc_type is None:
                self._commit()
                committed = True
        finally:
            shutil.rmtree(self.path, ignore_errors=True)
            if not committed and self._created:
                try:
                    os.rmdir(self.out)  # only if still empty: nothing else was put there meanwhile
                except OSError:
                    pass
        return False

    def _commit(self):
        for entry in self.entries:
            if not os.path.lexists(os.path.join(self.path, entry)):
                raise ExportError(f"internal: export entry {entry} was not written")
        old = os.path.join(self.path, ".replaced")
        moved, replaced = [], []
        try:
            for entry in self.entries:
                target = os.path.join(self.out, entry)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):  # checked in __init__: ours, and --force given
                    keep = os.path.join(old, entry)
                    os.makedirs(os.path.dirname(keep), exist_ok=True)
                    os.rename(target, keep)
                    replaced.append(entry)
                os.rename(os.path.join(self.path, entry), target)
                moved.append(entry)
        except BaseException:
            for entry in reversed(moved):  # put OUT back as it was
                os.rename(os.path.join(self.out, entry), os.path.join(self.path, entry))
            for entry in replaced:
                os.rename(os.path.join(old, entry), os.path.join(self.out, entry))
            raise
        record = _record(self.out)
        for entry in self.entries:
            record["exports"][entry] = self.info
        atomic_write_json(os.path.join(self.out, RECORD), record, indent=1)
