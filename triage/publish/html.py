"""The self-contained HTML page: one file, inline CSS, no scripts, no external assets, escaped text.

A Content-Security-Policy of ``default-src 'none'`` makes the browser refuse any network load the
page might otherwise make; evidence links are plain ``<a href>`` navigations with an allow-listed scheme.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from triage.errors import OutputError
from triage.publish.model import CallListEntry, RunInfo, UnknownSender
from triage.publish.trend import Trend, trend_svg

__all__ = ["environment", "link_label", "render_page", "safe_href", "write_page"]

_SCHEMES = frozenset({"http", "https", "file", "imap", "imaps", "mailto", "message"})


def safe_href(link: str | None) -> str | None:
    """``link`` when its scheme is one a reader can open (never ``javascript:``/``data:``), else None."""
    if not link:
        return None
    try:
        scheme = urlsplit(link).scheme.lower()
    except ValueError:
        return None
    return link if scheme in _SCHEMES else None


def link_label(link: str | None, source_type: str | None) -> str:
    """'open message', or 'open transcript at 12:05' for a transcript moment (``#t=725``)."""
    if source_type == "meeting" or (link and "#t=" in link):
        at = ""
        if link and "#t=" in link:
            try:
                secs = int(float(link.rsplit("#t=", 1)[1]))
                at = (
                    f" at {secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
                    if secs >= 3600
                    else f" at {secs // 60}:{secs % 60:02d}"
                )
            except ValueError:
                at = ""
        return f"open transcript{at}"
    return "open message"


def environment(extra: jinja2.BaseLoader | None = None) -> jinja2.Environment:
    """The page's Jinja environment (``extra``: another loader searched first, e.g. the web app's)."""
    loader: jinja2.BaseLoader = jinja2.PackageLoader("triage.publish", "templates")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([extra, loader]) if extra is not None else loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["href"] = safe_href
    env.globals["link_label"] = link_label
    return env


def render_page(
    entries: list[CallListEntry],
    *,
    as_of: date,
    org_name: str,
    run: RunInfo | None = None,
    unknown: list[UnknownSender] | None = None,
    generated_at: datetime | None = None,
    heading: str = "Accounts to call today",
    show_unknown: bool = True,
    trends: Mapping[str, Trend] | None = None,
    web: Any = None,
    env: jinja2.Environment | None = None,
    signin: Any = None,
) -> str:
    """The page as a string (pure). ``trends``: per account, its weekly signals chart (none: no chart);
    ``web``: the web app's context (who is signed in, the CSRF token, what was done): forms on every
    account, evidence line and open ask (None: the static page)."""
    template = (env or environment()).get_template("page.html.j2")
    return template.render(
        title=f"{org_name} — accounts to call, {as_of.isoformat()}",
        heading=heading,
        entries=entries,
        as_of=as_of,
        org_name=org_name,
        run=run,
        unknown=unknown or [],
        show_unknown=show_unknown,
        open_asks=sum(len(e.open_asks) for e in entries),
        overdue_asks=sum(e.overdue_count for e in entries),
        generated_at=generated_at or datetime.now(UTC),
        charts={acc: trend_svg(t) for acc, t in (trends or {}).items()},
        web=web,
        signin=signin,
    )


def write_page(path: Path, html: str) -> Path:
    """Write atomically (temp file + rename) so a reader never sees half a page."""
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(html)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise OutputError(f"cannot write the HTML page to {path}: {e.strerror or e}") from e
    return path
