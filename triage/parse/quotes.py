"""What a message newly says: strip quoted replies, forwarded history, signatures and disclaimers.

:func:`new_text` works on the plain text of a body (HTML bodies are converted first by
:func:`triage.parse.text.html_to_text`, which marks HTML quotes the same way). In order:

1. cut at the first history boundary: ``-----Original Message-----``, Enron/Lotus
   ``---- Forwarded by ... ----``, ``Begin forwarded message:``, an Outlook ``____`` separator or
   ``From:/Sent:/To:/Subject:`` header block, a Lotus Notes ``Name <addr> on 01/26/2001 10:13 AM``
   + ``To:/cc:/Subject:`` block, or an ``On ... wrote:`` line that is not followed by ``>`` lines;
2. drop every ``>``-quoted line and ``On ... wrote:`` attributions (inline answers stay), then cut
   at the first non-English reply header that mail-parser-reply recognises (12 languages);
3. drop attachment placeholders (``<< File: x.xls >>``, ``[IMAGE]``);
4. cut a legal disclaimer paragraph and everything after it;
5. cut the signature: ``-- `` delimiter, ``Sent from my ...``, a closing (``Thanks,``, ``Regards``)
   followed only by a short name/title/phone block, or a trailing name/contact block;
6. join hard-wrapped lines (a line starting in lower case continues the previous one).

Measured against mail-parser-reply and quotequail on hand-checked Enron mail: see docs/parsing.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from triage.parse.replyheaders import library_cut
from triage.parse.text import normalise_text

__all__ = ["before_sign_off", "new_text"]

_BOUNDARY = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|forwarded by\b|message transf[ée]r[ée]|"
    r"urspr[üu]ngliche nachricht|mensaje original)"
    r"|(?:begin forwarded message|forwarded message|anfang der weitergeleiteten)\s*:?\s*$)",
    re.I,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_KEY = re.compile(r"(?:^\s*\*?|\s{2,})(from|sent|date|to|cc|subject)\*?\s*:(?:\s|$)", re.I)
_WROTE = re.compile(
    r"(?:\bwrote|\bwrites|\bschrieb|a [ée]crit|escribi[óo]|написал\(а\)|skrev|escreveu|schreef)\s*:\s*$", re.I
)
_ON = re.compile(r"^\s*(?:on|am|le|el|den|em|op|in a message dated)\s", re.I)
_DATETIME = re.compile(
    r"\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}:\d{2}|\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s|\b\d{4}-\d{2}-\d{2}\b",
    re.I,
)
_ATTACHMENT = re.compile(r"<<\s*(?:file|ole object|image)?[^<>\n]{0,200}>>|\[(?:image|cid:[^\]]*)\]", re.I)
#: Enron/Lotus attachment listing lines (`` - daily.pdf``) and ``(See attached file: x.jpg)``
_ATTACHMENT_LINE = re.compile(
    r"^\s*-\s+\S[^\n]{0,120}\.(?:pdf|docx?|xlsx?|pptx?|vcf|jpe?g|gif|png|txt|zip|csv|rtf|htm|html|msg|eml|wav)\s*$"
    r"|^\s*\(see attached file:[^)]*\)\s*$",
    re.I,
)
_DISCLAIMER = re.compile(
    r"(?:this\s+(?:e-?mail|message|communication|transmission)(?:\s+\(?including[^)]{0,40}\)?)?"
    r"(?:\s+and\s+(?:any|all)\s+(?:attachments?|files?|documents?)[^.]{0,60})?\s+"
    r"(?:is|are|may\s+be|may|contains?|and\s+any)\b[^.]{0,80}\b(?:confidential|privileged|property\s+of)"
    r"|(?:confidentiality|legal|privilege[d]?|important)\s+(?:notice|disclaimer|notification|statement)"
    r"|^\s*\**\s*disclaimer\b"
    r"|the\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication|transmission)"
    r"[^.]{0,60}\b(?:confidential|privileged|intended)"
    r"|this\s+(?:e-?mail|message)\s+(?:is|was)\s+intended\s+(?:only|solely)\s+for"
    r"|if\s+you\s+(?:are\s+not|have\s+received\s+this)[^.]{0,60}(?:intended\s+recipient|in\s+error)"
    r"|^\s*\**\s*(?:important\s+|legal\s+)?notice\s+regarding\b|privacy\s+and\s+confidentiality\s+notice)",
    re.I | re.M,
)
#: cheap pre-filter: a line that can start or hold part of a disclaimer match
_DISCLAIMER_HINT = re.compile(
    r"this|information|notice|disclaimer|if\s+you|intended|confidential|privileged|recipient|privacy", re.I
)
_SIG_DELIM = re.compile(r"^\s*(?:--|—|__)\s*$")
_MOBILE = re.compile(
    r"^\s*(?:sent from my\b|sent from (?:outlook|mail|yahoo|gmail)\b|get outlook for\b|sent via\b)", re.I
)
_CLOSING = re.compile(
    r"^\s*[-–]?\s*(?:thanks(?:\s+(?:again|so\s+much|a\s+lot|in\s+advance))?|thank\s+you(?:\s+(?:again|very\s+much))?"
    r"|many\s+thanks|thx|cheers|(?:best|kind|warm|warmest|with\s+kind)?\s*regards|best(?:\s+wishes)?|sincerely"
    r"|yours(?:\s+(?:truly|sincerely))?|respectfully|all\s+the\s+best|talk\s+soon|take\s+care|rgds|br|tia"
    r"|ciao|cordially|warmly|love|later|cya|thanx|thnx|tks"
    r"|(?:viele|liebe|beste|freundliche)\s+gr(?:ü|ue)(?:ß|ss)e|mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|gr(?:ü|ue)(?:ß|ss)e"
    r"|gru(?:ß|ss)|lg|mfg|cordialement|bien\s+(?:à|a)\s+vous|bonne\s+journ[ée]e|(?:un\s+)?saludos?|atentamente"
    r"|cordiali\s+saluti|saluti|met\s+vriendelijke\s+groet(?:en)?|groeten|med\s+v[äa]nliga\s+h[äa]lsningar"
    r"|h[äa]lsningar|mvh|pozdrawiam|s\s+pozdravem)"
    r"\s*[,.!:;-]*\s*(?:[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2})?\s*[,.!]?\s*$",
    re.I,
)
_NAME_LINE = re.compile(
    r"^\s*[-–~]?\s*(?:[A-Z][a-zA-Z'’.-]*|[A-Z]{1,3}(?::-?\))?)(?:\s+(?:[A-Z][a-zA-Z'’.-]*|[A-Z]\.?|van|de|von|der))"
    r"{0,3}\s*(?::-?\)|;-?\))?\s*$"
)
_NOT_NAMES = {
    "approved",
    "agreed",
    "done",
    "yes",
    "no",
    "ok",
    "okay",
    "sure",
    "great",
    "perfect",
    "fine",
    "correct",
    "confirmed",
    "urgent",
    "please",
    "help",
    "hello",
    "hi",
    "sorry",
    "thanks",
    "fyi",
    "noted",
    "attached",
    "nice",
    "good",
    "excellent",
    "congratulations",
    "congrats",
    "welcome",
    "absolutely",
    "understood",
    "declined",
    "rejected",
    "cancelled",
    "canceled",
    "asap",
    "today",
    "tomorrow",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "why",
    "what",
    "when",
    "how",
    "where",
    "who",
}
_PHONE = re.compile(r"(?:\+?\d[\d\s().\-/]{6,}\d)|^\s*(?:x|ext\.?)\s?\d[\d-]{2,}\s*$", re.I)
_TITLE_WORD = re.compile(r"^(?:[A-Z][\w.'’/&-]*|&|and|of|for|the|de|in|at|to|on|\||-|–|,)$")
_CONTACTISH = re.compile(
    r"@|https?://|www\.|\b(?:tel|phone|mobile|cell|fax|office|direct|pager|ext)\b\.?|^\s*[mtpfew]\s*[:.]\s"
    r"|\b(?:president|director|manager|vp|svp|evp|ceo|cto|cfo|coo|head\s+of|engineer|analyst|associate"
    r"|consultant|specialist|coordinator|assistant|officer|partner|lead|executive|representative|trader"
    r"|inc|llc|ltd|corp|corporation|gmbh|plc|group|suite|floor|street|avenue|ave|blvd|road|houston|tx)\b",
    re.I,
)


def _header_block_at(lines: list[str], start: int, *, whole: bool = False) -> int | None:
    """Index of the first line of a forwarded/replied header block at or after ``start``, else None."""
    n = len(lines)
    for i in range(start, n if whole else min(n, start + 1)):
        m = _HEADER_KEY.search(lines[i])
        if not m:
            continue
        keys = {m.group(1).lower()}
        for j in range(i + 1, min(n, i + 8)):
            mj = _HEADER_KEY.search(lines[j])
            if mj:
                keys.add(mj.group(1).lower())
        if (
            len(keys) >= 2
            and keys & {"from", "to"}
            and keys & {"sent", "date", "subject", "cc", "to"} - {m.group(1).lower()}
        ):
            return i
    return None


def _lead_in(lines: list[str], i: int) -> int:
    """Move a header-block start up over its lead-in (``Name <addr> on 01/26/2001 10:13 AM``,
    ``Sent by: ...``): up to 4 short non-sentence lines above it, one with a date, time or address."""
    j = i - 1
    blanks = 0
    while j >= 0 and not lines[j].strip() and blanks < 2:
        blanks += 1
        j -= 1
    block: list[int] = []
    while j >= 0 and lines[j].strip() and len(block) < 4:
        line = lines[j].strip()
        if len(line) > 100 or (re.search(r"[.?!]\s*$", line) and not _DATETIME.search(line)):
            break
        block.append(j)
        j -= 1
    if block and any(_DATETIME.search(lines[k]) or "@" in lines[k] or re.search(r"\bon\s*$", lines[k]) for k in block):
        return min(block)
    return i


def _find_cut(lines: list[str]) -> tuple[int, set[int]]:
    """(index where history starts, indices of attribution lines to drop before it)."""
    drop: set[int] = set()
    n = len(lines)
    for i, line in enumerate(lines):
        if _BOUNDARY.match(line):
            return i, drop
        if _UNDERSCORES.match(line):
            nxt = [x for x in lines[i + 1 : i + 4] if x.strip()]
            if nxt and _HEADER_KEY.search(nxt[0]):
                return i, drop
        quoted = line.lstrip().startswith(">")
        if not quoted and _HEADER_KEY.search(line) and _header_block_at(lines, i) is not None:
            return _lead_in(lines, i), drop
        if _WROTE.search(line) and not line.lstrip().startswith(">"):
            j = i
            while j > 0 and i - j < 2 and lines[j - 1].strip() and not _ON.match(lines[j]):
                j -= 1
            if not _ON.match(lines[j]) and j == i and len(line) > 200:
                continue
            k = next((k for k in range(i + 1, n) if lines[k].strip()), n)
            following = lines[k] if k < n else ""
            if following.lstrip().startswith(">"):
                drop.update(range(j, i + 1))
                continue
            if following.lstrip().startswith("<<"):  # AOL: << quoted text >>
                end = next((e for e in range(k, min(n, k + 200)) if lines[e].rstrip().endswith(">>")), None)
                if end is not None:
                    drop.update(range(j, end + 1))
                    continue
            return j, drop
    return n, drop


def _cut_disclaimer(lines: list[str]) -> list[str]:
    para_start = 0
    para_has_disclaimer = False
    for i, line in enumerate(lines):
        if not line.strip():
            para_start, para_has_disclaimer = i + 1, False
            continue
        if para_has_disclaimer or not _DISCLAIMER_HINT.search(line):
            continue
        if _DISCLAIMER.search(" ".join(lines[i : i + 3])):
            start = para_start
            while start > 0 and re.fullmatch(r"\s*[*=_~#-]{3,}\s*", lines[start - 1]):  # separators above
                start -= 1
            return lines[:start]
        para_has_disclaimer = False
    return lines


def _is_name_line(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 40 or not _NAME_LINE.match(s):
        return False
    words = [w.strip("-–~.:;()'’").lower() for w in s.split()]
    return not any(w in _NOT_NAMES for w in words if w)


def _signature_like(line: str) -> bool:
    s = line.strip()
    if not s:
        return True
    if len(s) > 70 or s.endswith("?"):
        return False
    if _is_name_line(s) or _CONTACTISH.search(s):
        return True
    words = s.rstrip(",").split()
    if len(words) <= 8 and not re.search(r"[.!?]$", s) and all(_TITLE_WORD.match(w.strip(",")) for w in words):
        return True  # a title or department line: "IT Sourcing and Procurement"
    return bool(_PHONE.search(s)) and len(s.split()) <= 6


def _cut_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIG_DELIM.match(line) or _MOBILE.match(line):
            lines = lines[:i]  # and go on: "Best,\nLuis" often sits above the "-- " block
            break
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in nonblank[-9:]:  # the tail after a closing is at most 8 lines
        if _CLOSING.match(lines[i]):
            tail = [x for x in lines[i + 1 :] if x.strip()]
            if len(tail) <= 8 and all(_signature_like(x) for x in tail):
                return lines[:i]
    # a trailing name / contact block without a closing line
    for _ in range(2):
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        if len(nonblank) < 2:
            break
        last = nonblank[-1]
        start = last
        while start > 0 and lines[start - 1].strip():
            start -= 1
        block = lines[start : last + 1]
        if start == nonblank[0] or len(block) > 6:
            # no blank line before it: only a single name line after a finished sentence counts
            if len(block) >= 2 and _is_name_line(block[-1]) and re.search(r"[.!?:)]\s*$", block[-2]):
                lines = lines[:last]
                continue
            break
        if _is_name_line(block[0]) and all(_signature_like(x) for x in block):
            lines = lines[:start]
            continue
        if (
            len(block) <= 5
            and all(_signature_like(x) for x in block)
            and any(_PHONE.search(x) or "@" in x for x in block)
        ):
            lines = lines[:start]
            continue
        break
    return lines


_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s")


def _unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines: a line continues the previous one when it starts in lower case
    (mail clients wrap at ~72-78 columns; sentences should not carry line breaks)."""
    out: list[str] = []
    for line in lines:
        s = line.strip()
        prev = out[-1] if out else ""
        if (
            s
            and prev.strip()
            and (s[0].islower() or s[0] in "(&")
            and not _LIST_ITEM.match(line)
            and not prev.rstrip().endswith(":")
        ):
            out[-1] = f"{prev.rstrip()} {s}"
        else:
            out.append(line)
    return out


def _no_check() -> None:
    return None


def new_text(text: str, *, use_library: bool = True, check: Callable[[], None] = _no_check) -> str:
    """Only what this message newly says (see the module docstring for the rules).

    ``check`` is called between the steps (a deadline: it raises to stop the work).
    """
    lines = normalise_text(text).split("\n")
    check()
    cut, drop = _find_cut(lines)
    check()
    kept = [line for i, line in enumerate(lines[:cut]) if i not in drop and not line.lstrip().startswith(">")]
    if use_library and kept:
        kept = library_cut("\n".join(kept)).split("\n")
        check()
    kept = [_ATTACHMENT.sub("", line).rstrip() for line in kept if not _ATTACHMENT_LINE.match(line)]
    kept = _cut_disclaimer(kept)
    check()
    kept = _cut_signature(kept)
    check()
    out = "\n".join(_unwrap(kept))
    out = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", out)
    return out.strip()


#: a line that is only a sign-off, in any language identified (triage.parse.language), maybe with a name
_SIGN_OFF = re.compile(
    r"^\s*(?:mit freundlichen grü(?:ß|ss)en|mit freundlichem gru(?:ß|ss)|(?:freundliche|viele|beste|liebe|herzliche|"
    r"schöne) grü(?:ß|ss)e|(?:danke und )?gru(?:ß|ss)|grü(?:ß|ss)e|mfg|lg|vg|(?:bien )?cordialement|bien à vous|"
    r"(?:meilleures |sincères )?salutations|(?:un )?(?:cordial )?saludos?(?: cordiales)?|atentamente|"
    r"(?:cordiali|distinti) saluti|saluti|un saluto|(?:met )?vriendelijke groet(?:en)?|groet(?:en)?|mvg|"
    r"atenciosamente|cumprimentos|abraços?|pozdrawiam|z poważaniem|pozdrowienia|"
    r"(?:best|kind|warm|warmest) regards|regards|best wishes|best|cheers|thanks|thank you|many thanks|sincerely)"
    r"\b[\s,.!]*(?:[^\W\d_][\w.\-]*\s*){0,3}$",
    re.I,
)
#: a line that opens a confidentiality notice ("Diese E-Mail enthält vertrauliche ...", "Ce message ... confidentiel")
_NOTICE = re.compile(
    r"^\W*(?:diese|this|ce|cet|este|esta|questo|questa|dit|deze|ta|niniejsza)\s+(?:e-?mail|nachricht|message|"
    r"courriel|mensaje|correo|messaggio|bericht|wiadomość|mail)\b.{0,200}?(?:vertraulich|confidential|confidentiel|"
    r"confidencial|riservat|vertrouwelijk|poufn|privileged)",
    re.I,
)


def before_sign_off(text: str) -> str:
    """``text`` before its first sign-off line (``Mit freundlichen Grüßen``, ``Cordialement``, ``Best regards``
    ...) or confidentiality notice, from the second line on; all of it when there is none.

    What the language of a message is decided on (:mod:`triage.parse.language`): :func:`new_text` keeps
    a long signature block or a notice in another language under a short English reply, which must not
    decide its language. It does not change what the detectors read.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i and (_SIGN_OFF.match(line) or _NOTICE.match(line)):
            return "\n".join(lines[:i]).strip()
    return text
