"""The budget of one input item: nesting depth, number of MIME parts, and time.

A hostile or broken item must cost a bounded amount of work, whatever its shape: a message with
``message/rfc822`` nested 50 levels deep, 100,000 MIME parts or a huge HTML body is quarantined with
a reason (``too_deep``, ``too_many_parts``, ``parse_timeout``) and the run goes on.

The time limit is a *cooperative* deadline: the parsers call :meth:`Budget.check` while they walk the
MIME tree, between HTML nodes, between quote-stripping steps and between transcript cues.
``signal.alarm`` cannot be used: it only works in the main thread, and Prefect runs tasks in worker
threads. A single library call between two checks (the stdlib MIME parser, BeautifulSoup's
tokenizer) is bounded by the input size caps instead (``max_message_bytes``, the HTML cut in
:mod:`triage.parse.mimewalk`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from triage.errors import ParseError

__all__ = ["Budget", "ParseLimits"]


@dataclass(frozen=True)
class ParseLimits:
    """Limits per message or transcript (settings ``[parse]``)."""

    #: MIME containers (multipart, message/rfc822) nested deeper than this: ``too_deep``
    max_depth: int = 32
    #: more MIME parts than this in one message (all levels): ``too_many_parts``
    max_parts: int = 2000
    #: wall time for parsing one item: ``parse_timeout``
    timeout_seconds: float = 10.0
    #: speaker turns (cues) in one transcript: ``too_many_turns``
    max_turns: int = 10_000


class Budget:
    """What one item may still spend; raises :class:`ParseError` with the reason when it is spent."""

    def __init__(self, limits: ParseLimits | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or ParseLimits()
        self._clock = clock
        self._started = clock()
        self._deadline = self._started + self.limits.timeout_seconds
        #: MIME parts counted so far
        self.parts = 0

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def check(self, doing: str = "") -> None:
        """Raise ``parse_timeout`` when the deadline has passed."""
        if self._clock() > self._deadline:
            where = f" while {doing}" if doing else ""
            raise ParseError(
                "parse_timeout",
                f"gave up after {self.elapsed:.1f} s{where} (limit parse.timeout_seconds = "
                f"{self.limits.timeout_seconds:g} s)",
            )

    def part(self, depth: int) -> None:
        """Count one MIME part found at nesting ``depth`` (0 = the message itself)."""
        if depth > self.limits.max_depth:
            raise ParseError(
                "too_deep",
                f"MIME parts nested more than {self.limits.max_depth} levels deep (limit parse.max_depth)",
            )
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise ParseError(
                "too_many_parts",
                f"more than {self.limits.max_parts} MIME parts (limit parse.max_parts)",
            )
        if self.parts % 64 == 0:
            self.check("reading the MIME parts")

    def turns(self, count: int) -> None:
        """Raise ``too_many_turns`` when a transcript has more speaker turns (or cues) than allowed."""
        if count > self.limits.max_turns:
            raise ParseError(
                "too_many_turns",
                f"more than {self.limits.max_turns:,} speaker turns or cues (limit parse.max_turns)",
            )

    def checker(self, doing: str) -> Callable[[], None]:
        """A no-argument callback for code that only knows how to call a function now and then."""
        return lambda: self.check(doing)
