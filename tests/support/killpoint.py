"""Run the ``triage`` CLI in this process and SIGKILL it the moment a chosen function is entered.

    python -m tests.support.killpoint triage.db.encrypt:_scrub 1 -- --config c.toml forget a@b.example

The code under test runs unmodified up to that point: the wrapper only replaces the named attribute (in
its module and in every module already holding it by name, so every call counts) with one that kills the
process (no clean-up, no ``finally``, no atexit: like ``kill -9`` or a power cut) on its N-th call.
Used by the privacy tests to stop an erasure or a purge at each of its steps.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from typing import Any


def arm(target: str, nth: int) -> None:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    original = getattr(module, attr)
    calls = 0

    @functools.wraps(original)
    def killer(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls >= nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)

    setattr(module, attr, killer)
    # modules that imported the function by name before this point (``from m import f``) call it too
    for other in list(sys.modules.values()):
        if other is not module and getattr(other, attr, None) is original:
            setattr(other, attr, killer)


def main(argv: list[str]) -> int:
    target, nth, sep, *rest = argv
    if sep != "--":
        raise SystemExit("usage: killpoint MODULE:FUNCTION N -- TRIAGE-ARGS...")
    from triage.cli import main as triage_main

    arm(target, int(nth))
    return triage_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
