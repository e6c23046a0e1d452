"""Reading files under a source root safely: any name, no escape through links, never an exception.

Used by the local mail source (:mod:`triage.ingest.local`) and the transcript folders
(:mod:`triage.parse.meetings`):

* **Names.** A POSIX file name is bytes; Python hands undecodable bytes over as lone surrogates,
  which DuckDB, pyarrow and UTF-8 logs refuse. :func:`escape_name` turns any name into text
  losslessly and reversibly (:func:`unescape_name`): valid UTF-8 stays as it is, a backslash becomes
  ``\\\\`` and every byte that is not UTF-8 becomes ``\\xNN``. The same file gets the same text on
  every run, so a re-run recognises it.
* **Links.** :func:`resolve_inside` follows a path to the file it names and refuses it when that file
  is outside the root (``outside_source``: a link to ``/etc/passwd`` is never read), when the link
  loops or dangles, or when it cannot be reached (``unreadable``, with the OS error).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Refused", "escape_name", "read_inside", "resolve_inside", "unescape_name"]

_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2})")


@dataclass(frozen=True)
class Refused:
    """Why a file is not read: ``unreadable`` or ``outside_source``, with a human detail."""

    reason: str
    detail: str
    size_bytes: int | None = None
    #: too_large: the first bytes of the file, when asked for (a mail's header block)
    head: bytes = b""


def escape_name(name: str | bytes | os.PathLike[str]) -> str:
    """Lossless text of a file name or path (see the module docstring)."""
    raw = os.fsencode(name)
    return raw.replace(b"\\", b"\\\\").decode("utf-8", errors="backslashreplace")


def unescape_name(text: str) -> bytes:
    """The bytes :func:`escape_name` was given."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        token = m.group(1)
        out += b"\\" if token == "\\" else bytes((int(token[1:], 16),))
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def resolve_inside(path: Path, root: Path) -> Path | Refused:
    """The real path of ``path`` when it is a file or directory inside ``root`` (itself resolved)."""
    try:
        real = Path(os.path.realpath(path, strict=True))
    except OSError as e:
        return Refused("unreadable", f"cannot read {escape_name(path)}: {_why(e)}")
    if real != root and not real.is_relative_to(root):
        return Refused(
            "outside_source",
            f"{escape_name(path)} is a link to {escape_name(real)}, outside {escape_name(root)}; not followed",
        )
    return real


def read_inside(
    path: Path, root: Path, max_bytes: int, *, head_bytes: int = 0
) -> tuple[bytes, os.stat_result] | Refused:
    """The bytes of a regular file inside ``root`` (links followed only within it), or why not.

    A file over ``max_bytes`` is refused with reason ``too_large`` (its size in ``size_bytes``, its
    first ``head_bytes`` in ``head``). FIFOs, devices and directories are ``unreadable`` (opening a
    FIFO would wait forever for a writer).
    """
    real = resolve_inside(path, root)
    if isinstance(real, Refused):
        return real
    try:
        st = real.stat()
        if not stat.S_ISREG(st.st_mode):
            return Refused("unreadable", f"cannot read {escape_name(path)}: not a regular file")
        with real.open("rb") as fh:
            if st.st_size > max_bytes:
                head = fh.read(head_bytes) if head_bytes else b""
                detail = f"{st.st_size:,} bytes is over the limit of {max_bytes:,}"
                return Refused("too_large", detail, st.st_size, head)
            return fh.read(), st
    except OSError as e:
        return Refused("unreadable", f"cannot read {escape_name(path)}: {_why(e)}")
