"""Non-English reply headers, found with mail-parser-reply's patterns (used by quotes.new_text).

mail-parser-reply knows the reply headers of 12 languages besides English (``Von:/Gesendet:``,
``Le ... a écrit :``, ``El ... escribió:``...). Only its header patterns are used: English headers
and signatures are left to the rules in :mod:`triage.parse.quotes`, which do better on them
(docs/parsing.md). The patterns are run per language, and the costly ``Key: value`` block
patterns only in small windows around two nearby ``Key:`` lines, so this stays fast.
"""

from __future__ import annotations

import functools
import itertools
import re

__all__ = ["library_cut"]

_LIBRARY_MAX_CHARS = 50_000
_MPR_LANGUAGES = ("de", "cs", "da", "es", "fr", "it", "ja", "ko", "nl", "pl", "sv", "zh")


@functools.cache
def _library_regexes() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    """mail-parser-reply's reply-header patterns for our languages, one regex each (faster than one
    big alternation), split into ``... wrote:``-style ones and ``Key: value`` header-block ones."""
    from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR, MAIL_LANGUAGES

    def compiled(key: str) -> list[re.Pattern[str]]:
        out = []
        for lang in _MPR_LANGUAGES:
            pat = MAIL_LANGUAGES.get(lang, {}).get(key)
            if pat:
                out.append(re.compile("|".join(pat) if isinstance(pat, list) else pat, re.M | re.I))
        return out

    wrote = (*compiled("wrote_header"), re.compile(f"({GENERIC_MAIL_SEPARATOR})", re.M | re.I))
    # English header blocks are the rules' job (they know the Lotus/Enron lead-ins); short blocks
    # ("Data: ...\nDo: ..." are Polish keys) would cut ordinary English text: want 3 header lines
    block = tuple(
        re.compile(rx.pattern.replace("){1,}(?:", "){3,}(?:").replace("){2,}(?:", "){3,}(?:"), rx.flags)
        for rx in compiled("from_header")
        if "From|Sent" not in rx.pattern
    )
    return wrote, block


_KEY_LINE = re.compile(r"^[>* ]*[^\W\d_][^\n:：]{0,40}[:：]")


def _first_block(slines: list[str], block: tuple[re.Pattern[str], ...]) -> int | None:
    """Line index of the first ``Key: value`` header block, searched only in windows around two
    nearby ``Key:`` lines (the library's block patterns are slow over whole texts)."""
    keys = [i for i, line in enumerate(slines) if _KEY_LINE.match(line)]
    for a, b in itertools.pairwise(keys):
        if b - a > 3:
            continue
        start = max(0, a - 1)
        window = "\n".join(slines[start : b + 8])
        hits = []
        for rx in block:
            m = rx.search(window)
            if m and m.group(0).strip():
                found = m.group(0)
                hits.append(start + window.count("\n", 0, m.start() + len(found) - len(found.lstrip("\n"))))
        if hits:
            return min(hits)
    return None


def library_cut(text: str) -> str:
    """The text before the first non-English reply header that mail-parser-reply's patterns find
    (``Von:/Gesendet:``, ``Le ... a écrit :``, ``El ... escribió:``...). English headers and
    signatures are left to the rules, which do better on them (docs/parsing.md)."""
    lines = text.split("\n")
    # the library matches on stripped lines; headers come early and huge texts make its regexes slow
    stripped = "\n".join(line.strip() for line in lines)[:_LIBRARY_MAX_CHARS]
    wrote, block = _library_regexes()
    first = len(stripped)
    for rx in wrote:
        for m in rx.finditer(stripped[:first]):
            found = m.group(0)
            if found.strip():
                first = min(first, m.start() + len(found) - len(found.lstrip("\n")))
                break
    cut = stripped.count("\n", 0, first) if first < len(stripped) else None
    slines = stripped.split("\n")
    blk = _first_block(slines[: cut if cut is not None else len(slines)], block)
    if blk is not None:
        cut = blk if cut is None else min(cut, blk)
    return text if cut is None else "\n".join(lines[:cut])
