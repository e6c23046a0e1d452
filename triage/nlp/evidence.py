"""What counts as evidence: the writer's own words, not what they pasted or what a machine sent.

The parser already cuts quoted replies, forwarded history, signatures and disclaimers
(:mod:`triage.parse.quotes`). What is left can still hold text nobody on the account wrote to us:

* a **pasted article or newsletter** ("FYI, from today's Post: ..." followed by the article): cut
  from the paragraph where it starts (a byline, a dateline with a news source, a copyright line, a
  "N words" clipping-service header, a web page's navigation bar, an "unsubscribe" footer), together
  with the title-like lines just above it. The writer's own lines before it stay.
* **automated text** (auto-replies, "do not reply to this e-mail", delivery notices) and **legal or
  compliance boilerplate** ("you must certify ...", "pursuant to section ..."): single sentences,
  marked by rules (:data:`triage.nlp.patterns.PHRASES` ``boilerplate:*``) and never scored.

Whole messages that a machine sent (mailing lists, bulk mail, auto-replies) are recognised from their
headers when the message is parsed and never reach the detectors (:mod:`triage.parse.bulk`).

Pure functions over text; the pipeline applies :func:`own_words` before splitting sentences, so the
nightly run and ``triage score-text`` decide on exactly the same text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["EVIDENCE_VERSION", "OwnWords", "own_words"]

_NEWS_SOURCES = (
    r"associated press|reuters|dow jones|newswires?|bloomberg|news service|wall street journal|new york times"
    r"|washington post|los angeles times|l\.a\. times|financial times|chronicle|mercury news|daily news"
    r"|sun-sentinel|tribune|herald|gazette|the times|the post|the economist|business wire|pr newswire"
)
_DATE = r"\d{1,2}/\d{1,2}/\d{2,4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|\d{4}"
#: lines that start pasted third-party content (each on a line of its own)
_MARKERS = [
    # bylines: "By Peter Behr", "By REBECCA SMITH and JOHN J. FIALKA", "BY MARK GOLDEN"
    re.compile(r"^\s*(?:By|BY) [A-Z][A-Za-z'.-]+(?: [A-Z][A-Za-z'.-]*){0,3}"
               r"(?:,? (?:and|AND) [A-Z][A-Za-z'.-]+(?: [A-Z][A-Za-z'.-]*){0,3})?\s*,?\s*$"),
    re.compile(r"(?i)^.{0,60}\bstaff (?:writer|reporter)s?\b"),
    re.compile(r"(?i)\bcopyright\b.{0,40}\d{4}|^\W{0,4}(?:\(c\)|©)\s*\d{4}|\ball rights reserved\b"),
    re.compile(r"(?i)\b\d{2,5} words,?\s*$"),
    re.compile(rf"(?i)^.{{0,80}}\b(?:{_NEWS_SOURCES})\b.{{0,40}}(?:{_DATE})"),
    re.compile(rf"(?i)^\W*(?:{_NEWS_SOURCES})\W*$"),
    re.compile(r"(?i)this article (?:from|on) \S+ (?:has been|was) sent to you"),
    re.compile(r"(?i)-{3,}\s*advertisement\s*-{3,}"),
    re.compile(r"(?i)(?:\b(?:subscribe|register|site\s+map|archives|advertise|home)\b\s*\|\s*){2,}"),
    re.compile(r"(?i)\bunsubscribe\b|to be removed from (?:this|our|the) (?:mailing |distribution )?list"
               r"|you are receiving this (?:e-?mail|message|newsletter)|view (?:this|it) (?:e-?mail )?(?:in|on) "
               r"(?:your|a) (?:web )?browser"),
]
_TITLE_LINE = re.compile(r"^[^.!?]{1,100}$")
#: hash of the markers above; part of the pipeline version (a change re-scores everything)
EVIDENCE_VERSION = hashlib.sha256("\x1e".join(p.pattern for p in _MARKERS).encode("utf-8")).hexdigest()[:12]
_PARAGRAPH = re.compile(r"\n[ \t\u00a0?]*\n")


@dataclass(frozen=True)
class OwnWords:
    """The text that counts, and what was cut (reason, characters) for logs and ``--explain``."""

    text: str
    cut_reason: str | None = None
    cut_chars: int = 0


def _paragraph_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _PARAGRAPH.finditer(text))]


def _is_title_paragraph(par: str) -> bool:
    lines = [ln for ln in par.strip().splitlines() if ln.strip()]
    return 0 < len(lines) <= 4 and all(_TITLE_LINE.match(ln.strip()) for ln in lines)


def own_words(text: str) -> OwnWords:
    """``text`` without pasted articles/newsletters (see the module docstring)."""
    first: int | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        if any(p.search(line) for p in _MARKERS):
            first = offset
            break
        offset += len(line)
    if first is None:
        return OwnWords(text)
    starts = _paragraph_starts(text)
    # the paragraph holding the marker, plus up to two title-like paragraphs just above it
    k = max(i for i, s in enumerate(starts) if s <= first)
    for _ in range(2):
        if k == 0:
            break
        if not _is_title_paragraph(text[starts[k - 1] : starts[k]]):
            break
        k -= 1
    cut = starts[k]
    kept = text[:cut].rstrip()
    return OwnWords(kept, "pasted_content", len(text) - len(kept))
