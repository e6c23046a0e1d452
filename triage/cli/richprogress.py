"""A rich progress-bar reporter for :mod:`triage.progress` (stderr, only on a terminal)."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["RichReporter"]


class RichReporter:
    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._lock = threading.Lock()
        self._open = 0

    def start(self, description: str, total: int | None) -> int:
        with self._lock:
            if self._open == 0:
                self._progress.start()
            self._open += 1
            return int(self._progress.add_task(description, total=total))

    def advance(self, handle: int, n: int) -> None:
        self._progress.advance(TaskID(handle), n)

    def stop(self, handle: int) -> None:
        with self._lock:
            task_id = TaskID(handle)
            task = next(t for t in self._progress.tasks if t.id == task_id)
            if task.total is None:
                self._progress.update(task_id, total=task.completed)
            self._open -= 1
            if self._open == 0:
                self._progress.stop()
