"""One progress bar for every long command (render, validate, index, export, eval).

    progress = Progress(total, label="export")
    for item in items:
        ...
        progress.update()            # or update("skipped") / update("failed")
    progress.close()

    for batch in progress_iter(loader, len(loader), "eval", unit="batches"): ...

A single line on stderr, redrawn at most twice a second: a bar, done/total, the skipped and failed
counts (when any), the rate of the work actually done and the ETA. `enabled=None` shows it only
when stderr is a terminal, so logs and captured output stay clean. Pure module (stdlib only).
"""

import sys
import time

_KINDS = ("done", "skipped", "failed")


class Progress:
    """A one-line progress bar with rate and ETA (see the module docstring)."""

    def __init__(self, total, label="progress", unit="samples", stream=None, enabled=None, interval=0.5):
        self.total, self.label, self.unit = int(total), label, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else bool(enabled)
        self.done = self.skipped = self.failed = 0
        self.start = time.monotonic()
        self.interval = interval
        self._last = -1e9
        self._drawn = False

    @property
    def count(self):
        return self.done + self.skipped + self.failed

    def update(self, kind="done", n=1):
        """Count `n` items of `kind` (done | skipped | failed) and redraw when due."""
        if kind not in _KINDS:
            raise ValueError(f"progress kind {kind!r}; expected one of {_KINDS}")
        setattr(self, kind, getattr(self, kind) + n)
        now = time.monotonic()
        if self.enabled and (now - self._last >= self.interval or self.count >= self.total):
            self._last = now
            self.stream.write("\r" + self.line(now) + " ")
            self.stream.flush()
            self._drawn = True

    def line(self, now=None):
        """The bar as text (without the carriage return)."""
        now = time.monotonic() if now is None else now
        n, width = self.count, 30
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed  # skipped items cost nothing: they do not speed up the ETA
        eta = (self.total - n) / rate if rate > 0 else None
        bar = "#" * int(width * min(n, self.total) / max(self.total, 1))
        extra = ", ".join(f"{getattr(self, k)} {k}" for k in ("skipped", "failed") if getattr(self, k))
        return (f"{self.label} [{bar:<{width}}] {n}/{self.total}" + (f" ({extra})" if extra else "")
                + f" {rate:.2f} {self.unit}/s ETA {_duration(eta)}")

    def close(self):
        """End the line (only if a bar was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def progress_iter(iterable, total, label, unit="items", **kwargs):
    """Yield from `iterable`, counting each item on a Progress bar; closes the bar at the end."""
    progress = Progress(total, label=label, unit=unit, **kwargs)
    try:
        for item in iterable:
            yield item
            progress.update()
    finally:
        progress.close()


def _duration(seconds):
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
