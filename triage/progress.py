"""Progress reporting seam: the library reports, the CLI decides how to show it (rich bars).

Library code calls :func:`track`; by default nothing is shown (scheduled runs, tests). The CLI
installs a reporter with :func:`set_reporter`. A module-level reporter (not a context variable) so
that work running in Prefect's worker threads reports too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Reporter", "Tracker", "set_reporter", "track"]


class Reporter(Protocol):
    def start(self, description: str, total: int | None) -> int: ...
    def advance(self, handle: int, n: int) -> None: ...
    def stop(self, handle: int) -> None: ...


class _Null:
    def start(self, description: str, total: int | None) -> int:
        return 0

    def advance(self, handle: int, n: int) -> None:
        return None

    def stop(self, handle: int) -> None:
        return None


_lock = threading.Lock()
_reporter: Reporter = _Null()


def set_reporter(reporter: Reporter | None) -> None:
    """Install ``reporter`` (None restores the silent default)."""
    global _reporter
    with _lock:
        _reporter = reporter if reporter is not None else _Null()


class Tracker:
    def __init__(self, reporter: Reporter, handle: int) -> None:
        self._reporter = reporter
        self._handle = handle

    def advance(self, n: int = 1) -> None:
        self._reporter.advance(self._handle, n)


@contextmanager
def track(description: str, total: int | None = None) -> Iterator[Tracker]:
    """Report progress of one piece of long work: ``with track("Parsing", n) as t: ... t.advance()``."""
    reporter = _reporter
    handle = reporter.start(description, total)
    try:
        yield Tracker(reporter, handle)
    finally:
        reporter.stop(handle)
