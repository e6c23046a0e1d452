"""Meeting transcript formats -> (speaker, start_s, end_s, text) utterances. Pure, over bytes.

* ``.vtt`` WebVTT: Zoom cues (``Name: text``), Teams cues (``<v Name>text</v>``), NOTE blocks
  (``NOTE date: 2026-11-18`` / ``NOTE title: ...`` are read as metadata), STYLE/REGION skipped;
* ``.srt`` SubRip: numbered cues with ``00:00:01,000 --> 00:00:04,000`` and ``Name: text`` lines;
* ``.txt`` Otter-style: ``Speaker Name  0:12`` (or ``00:01:12``) header lines followed by text
  lines; plain ``Name: text`` lines are accepted too;
* ``.json``: QMSum ``{"meeting_transcripts": [{"speaker", "content"}]}``, or a list (or
  ``{"utterances"|"turns"|"segments": [...]}``) of ``{"speaker", "text", "start", "end"}``.

Consecutive cues of the same named speaker are merged into one utterance (captions cut sentences
at arbitrary points). A broken file raises :class:`TranscriptError` with a reason code: ``empty``,
``binary``, ``undecodable`` (no charset fits: neither a BOM, UTF-8 nor one charset-normalizer
detects), ``invalid_json``, ``too_deep`` (JSON), ``bad_structure``, ``bad_timestamp``, ``no_turns``,
``unsupported_format``; a :class:`~triage.parse.budget.Budget` deadline raises ``parse_timeout``
(a :class:`~triage.errors.ParseError`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from triage.errors import TranscriptError
from triage.parse.budget import Budget
from triage.parse.charsets import decode_text

__all__ = ["FORMATS", "TranscriptDoc", "Utterance", "parse_timestamp", "parse_transcript"]

FORMATS = {".vtt": "vtt", ".srt": "srt", ".txt": "otter", ".json": "json"}
_MERGE_MAX_CHARS = 2000
_MERGE_MAX_GAP_S = 3.0

_TS = re.compile(r"^(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")
_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)(?:\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>(.*?)(?:</v>|$)", re.S)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}(?::\d{2})?(?:\.\d{1,3})?>")
_SPEAKER_PREFIX = re.compile(r"^\s*(?:>>\s*)?([^\s:][^:]{0,60}?)\s*:\s+(\S.*)$", re.S)
_OTTER_HEADER = re.compile(r"^(\S.{0,80}?)\s{1,}(\d{1,2}:\d{2}(?::\d{2})?)\s*$")
_META = re.compile(r"^\s*(?:NOTE\s+)?(date|title|meeting|topic)\s*:\s*(.+?)\s*$", re.I)
_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_META_WORDS = {
    "date",
    "title",
    "meeting",
    "topic",
    "attendees",
    "participants",
    "subject",
    "location",
    "time",
    "agenda",
    "note",
    "notes",
    "kind",
    "language",
    "duration",
    "recorded",
    "transcript",
    "http",
    "https",
}
_NAME_PARTICLES = {"de", "van", "von", "der", "den", "da", "di", "la", "le", "du", "al", "bin", "y", "&"}
_NAME_OK = re.compile(r"^[^\d\W][\w .,'’()&@/-]{0,59}$")


@dataclass(frozen=True)
class Utterance:
    speaker: str | None
    start_s: float | None
    end_s: float | None
    text: str


@dataclass
class TranscriptDoc:
    format: str
    utterances: list[Utterance]
    title: str | None = None
    meeting_date: date | None = None
    notes: list[str] = field(default_factory=list)


def parse_timestamp(value: str) -> float:
    """Seconds from ``hh:mm:ss.mmm``, ``mm:ss.mmm``, ``hh:mm:ss,mmm`` (SRT); raise ValueError."""
    m = _TS.match(value.strip())
    if not m:
        raise ValueError(f"not a timestamp: {value!r}")
    h, mnt, s, frac = m.groups()
    if int(s) >= 60 or (h is not None and int(mnt) >= 60):
        raise ValueError(f"not a timestamp: {value!r}")
    return int(h or 0) * 3600 + int(mnt) * 60 + int(s) + (int(frac.ljust(3, "0")) / 1000 if frac else 0.0)


def _decode(data: bytes) -> str:
    """Text of a transcript file: BOM (UTF-16, UTF-8), else UTF-8, else the charset that
    charset-normalizer detects (Latin-1, Shift-JIS... exports); ``undecodable`` when none fits."""
    if not data.strip():
        raise TranscriptError("empty", "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise TranscriptError("binary", f"invalid UTF-16: {e}") from e
    else:
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        if b"\x00" in body[:8192]:
            raise TranscriptError("binary", "the file contains NUL bytes (not a text transcript)")
        decoded, _ = decode_text(body, "utf-8" if body is not data else None)
        if decoded is None:
            raise TranscriptError("undecodable", "the bytes are not UTF-8 nor any charset that could be detected")
        text = decoded
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > max(8, len(text[:8192]) // 50):
        raise TranscriptError("binary", "the file is mostly control characters (not a text transcript)")
    if not text.strip():
        raise TranscriptError("empty", "the file has no text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _clean(text: str) -> str:
    text = _TAG.sub("", text).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
    return re.sub(r"\s+", " ", text).strip()


def _speaker_name(candidate: str) -> str | None:
    """``candidate`` if it looks like a speaker label (capitalised words, "Speaker 2"), else None."""
    name = candidate.strip()
    if not name or not _NAME_OK.match(name) or name.casefold() in _META_WORDS:
        return None
    words = name.split()
    if len(words) > 6 or not all(w[0].isupper() or w[0].isdigit() or w in _NAME_PARTICLES for w in words):
        return None
    return name


def _split_speaker(text: str) -> tuple[str | None, str]:
    m = _SPEAKER_PREFIX.match(text)
    if m:
        name = _speaker_name(m.group(1))
        if name:
            return name, m.group(2).strip()
    return None, text


def _merge(utts: list[Utterance]) -> list[Utterance]:
    out: list[Utterance] = []
    for u in utts:
        if not u.text:
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and u.speaker
            and prev.speaker == u.speaker
            and len(prev.text) + len(u.text) < _MERGE_MAX_CHARS
            and (prev.end_s is None or u.start_s is None or u.start_s - prev.end_s <= _MERGE_MAX_GAP_S)
        ):
            out[-1] = Utterance(
                prev.speaker,
                prev.start_s,
                u.end_s if u.end_s is not None else prev.end_s,
                f"{prev.text} {u.text}",
            )
        else:
            out.append(u)
    return out


def _meta(doc: TranscriptDoc, key: str, value: str) -> None:
    key = key.lower()
    if key == "date" and doc.meeting_date is None:
        m = _DATE.search(value)
        if m:
            try:
                doc.meeting_date = date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                doc.notes.append(f"bad date {value!r}")
    elif key in ("title", "meeting", "topic") and not doc.title:
        doc.title = value[:300]


def _cues(text: str, fmt: str, budget: Budget) -> TranscriptDoc:
    doc = TranscriptDoc(format=fmt, utterances=[])
    blocks = re.split(r"\n[ \t]*\n", text.strip("\n"))
    if fmt == "vtt":
        head = blocks[0].lstrip("\ufeff")
        if not head.startswith("WEBVTT"):
            raise TranscriptError("bad_header", "a WebVTT file must start with 'WEBVTT'")
        for line in head.split("\n")[1:]:
            m = _META.match(line)
            if m:
                _meta(doc, m.group(1), m.group(2))
        blocks = blocks[1:]
    utts: list[Utterance] = []
    for n, block in enumerate(blocks):
        if n % 256 == 0:
            budget.check("reading the cues")
            budget.turns(len(utts))
        lines = [x for x in block.split("\n") if x.strip() != ""]
        if not lines:
            continue
        first = lines[0].strip()
        if fmt == "vtt" and first.startswith(("NOTE", "STYLE", "REGION")):
            if first.startswith("NOTE"):
                for line in [first[4:], *lines[1:]]:
                    m = _META.match(line)
                    if m:
                        _meta(doc, m.group(1), m.group(2))
            continue
        idx = next((i for i, x in enumerate(lines[:3]) if "-->" in x), None)
        if idx is None:
            m = _META.match(first)
            if m and len(lines) == 1:
                _meta(doc, m.group(1), m.group(2))
                continue
            raise TranscriptError("bad_timestamp", f"cue without a timing line: {first[:80]!r}")
        timing = _TIMING.match(lines[idx])
        if not timing:
            raise TranscriptError("bad_timestamp", f"bad timing line {lines[idx][:80]!r}")
        try:
            start, end = parse_timestamp(timing.group(1)), parse_timestamp(timing.group(2))
        except ValueError as e:
            raise TranscriptError("bad_timestamp", f"{e} in {lines[idx][:80]!r}") from None
        if end < start:
            raise TranscriptError("bad_timestamp", f"cue ends before it starts: {lines[idx][:80]!r}")
        payload = "\n".join(lines[idx + 1 :])
        voices = _VOICE.findall(payload)
        if voices:
            for name, said in voices:
                utts.append(Utterance(_speaker_name(name.strip()) or name.strip()[:60], start, end, _clean(said)))
            continue
        speaker, said = _split_speaker(_TAG.sub("", payload).strip())
        utts.append(Utterance(speaker, start, end, _clean(said)))
    doc.utterances = _merge(utts)
    return doc


def _otter(text: str, budget: Budget) -> TranscriptDoc:
    doc = TranscriptDoc(format="otter", utterances=[])
    lines = text.split("\n")
    turns: list[tuple[str, float, list[str]]] = []
    prefixed: list[Utterance] = []
    preamble = True
    for n, line in enumerate(lines):
        if n % 1024 == 0:
            budget.check("reading the turns")
            budget.turns(len(turns) + len(prefixed))
        s = line.strip()
        if not s:
            continue
        m = _META.match(s)
        if m and preamble and not turns:
            _meta(doc, m.group(1), m.group(2))
            continue
        h = _OTTER_HEADER.match(s)
        if h and _speaker_name(h.group(1)):
            try:
                start = parse_timestamp(h.group(2))
            except ValueError as e:
                raise TranscriptError("bad_timestamp", f"{e} in {s[:80]!r}") from None
            turns.append((h.group(1).strip(), start, []))
            preamble = False
            continue
        if turns:
            turns[-1][2].append(s)
            continue
        speaker, said = _split_speaker(s)
        if speaker:
            prefixed.append(Utterance(speaker, None, None, _clean(said)))
            preamble = False
        elif prefixed:
            prev = prefixed[-1]
            prefixed[-1] = Utterance(prev.speaker, None, None, f"{prev.text} {_clean(s)}")
        elif not preamble:
            prefixed.append(Utterance(None, None, None, _clean(s)))
        else:
            doc.notes.append(f"ignored line before the first turn: {s[:60]!r}")
    if turns:
        utts = []
        for i, (name, start, body) in enumerate(turns):
            end = turns[i + 1][1] if i + 1 < len(turns) else None
            if end is not None and end < start:
                raise TranscriptError("bad_timestamp", f"turn of {name!r} at {start:g}s comes after the next one")
            utts.append(Utterance(name, start, end, _clean(" ".join(body))))
        doc.utterances = [u for u in utts if u.text]
    else:
        doc.utterances = _merge(prefixed)
    return doc


def _detok(text: str) -> str:
    """QMSum text is tokenised ("Can I close this ?") and has {vocalsound}-style markers."""
    text = re.sub(r"\{[a-z_]+\}", " ", text)
    text = re.sub(r"\s+([,.?!;:%)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+(n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _number(value: object, what: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TranscriptError("bad_timestamp", f"{what} is a boolean")
    if isinstance(value, int | float):
        if value != value or value < 0 or value > 10_000_000:
            raise TranscriptError("bad_timestamp", f"{what} out of range: {value!r}")
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if re.fullmatch(r"\d+(?:\.\d+)?", value.strip()) else parse_timestamp(value)
        except ValueError:
            raise TranscriptError("bad_timestamp", f"{what} is not a time: {value[:40]!r}") from None
    raise TranscriptError("bad_timestamp", f"{what} is not a time: {type(value).__name__}")


def _json(text: str, budget: Budget) -> TranscriptDoc:
    try:
        data = json.loads(text)
    except RecursionError:
        raise TranscriptError("too_deep", "JSON nested too deep to read") from None
    except json.JSONDecodeError as e:
        raise TranscriptError("invalid_json", str(e)[:200]) from None
    budget.check("reading the JSON")
    doc = TranscriptDoc(format="json", utterances=[])
    turns: object
    qmsum = False
    if isinstance(data, dict):
        for k in ("title", "topic", "meeting"):
            if isinstance(data.get(k), str):
                _meta(doc, "title", data[k])
                break
        for k in ("date", "meeting_date", "start_time"):
            if isinstance(data.get(k), str):
                _meta(doc, "date", data[k])
                break
        if "meeting_transcripts" in data:
            turns, qmsum = data["meeting_transcripts"], True
        else:
            turns = next((data[k] for k in ("utterances", "turns", "segments", "transcript") if k in data), None)
    else:
        turns = data
    if not isinstance(turns, list):
        raise TranscriptError("bad_structure", "want a list of turns or {'meeting_transcripts': [...]}")
    utts = []
    for i, t in enumerate(turns):
        if i % 1024 == 0:
            budget.check("reading the turns")
            budget.turns(i)
        if not isinstance(t, dict):
            raise TranscriptError("bad_structure", f"turn #{i + 1} is not an object")
        said = t.get("content", t.get("text"))
        if said is None:
            raise TranscriptError("bad_structure", f"turn #{i + 1} has no 'text' or 'content'")
        if not isinstance(said, str):
            raise TranscriptError("bad_structure", f"turn #{i + 1}: text is not a string")
        spk = t.get("speaker", t.get("name"))
        if spk is not None and not isinstance(spk, str | int):
            raise TranscriptError("bad_structure", f"turn #{i + 1}: speaker is not a string")
        start = _number(t.get("start", t.get("start_s")), f"turn #{i + 1} start")
        end = _number(t.get("end", t.get("end_s")), f"turn #{i + 1} end")
        if start is not None and end is not None and end < start:
            raise TranscriptError("bad_timestamp", f"turn #{i + 1} ends before it starts")
        clean = _detok(said) if qmsum else _clean(said)
        if clean:
            utts.append(Utterance(str(spk).strip()[:100] if spk not in (None, "") else None, start, end, clean))
    doc.utterances = utts
    return doc


def parse_transcript(data: bytes, suffix: str, budget: Budget | None = None) -> TranscriptDoc:
    """Parse transcript bytes by file extension; raise TranscriptError with a reason when broken.

    ``budget`` (default: the default :class:`~triage.parse.budget.ParseLimits`) bounds the time;
    past it the file is refused with ``parse_timeout``.
    """
    budget = budget or Budget()
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        raise TranscriptError("unsupported_format", f"{suffix or '(no extension)'} is not .vtt, .srt, .txt or .json")
    text = _decode(data)
    budget.check("decoding the file")
    if fmt == "json":
        doc = _json(text, budget)
    elif fmt == "otter":
        doc = _otter(text, budget)
    else:
        doc = _cues(text, fmt, budget)
    if not doc.utterances:
        raise TranscriptError("no_turns", "no speaker turns or cues with text")
    budget.turns(len(doc.utterances))
    return doc
