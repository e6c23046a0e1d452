"""The call brief: four short, deterministic sentences written from an account's reasons.

1. **Acknowledge** the problem (or the interest), in the client's words.
2. **Explain** what went wrong (the problems the client reported) / what is on offer, from the reasons.
3. **Resolve** the open asks and our open commitments, overdue and oldest first.
4. **Commit** to next steps with dates, and confirm in writing.

One line per part (``Acknowledge: ...``, ``Explain: ...``, ``Resolve: ...``, ``Commit: ...``).

No language model: the same reasons always give the same text.
"""

from __future__ import annotations

from collections.abc import Callable

from triage.score.asks import Ask
from triage.score.model import AccountScore, Evidence
from triage.types import language_name

__all__ = ["build_brief", "short_quote"]

_SHOWN_ASKS = 3


def short_quote(text: str | None, limit: int = 90) -> str:
    """One line of at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.") + "…"


def _who(e: Evidence | None, name_of: Callable[[str | None], str | None]) -> str:
    name = name_of(e.speaker) if e is not None else None
    return name or "the client"


def _languages(s: AccountScore) -> str:
    names = [language_name(code) for code in s.unread_languages]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _ask_line(a: Ask) -> str:
    state = "overdue" if a.overdue else "open"
    due = f", due {a.due_date:%a %d %b}" if a.due_date else ""
    whose = "our promise: " if a.kind == "our_commitment" else ""
    age = f"{a.age_business_days} business day{'s' if a.age_business_days != 1 else ''}"
    return f'{whose}"{short_quote(a.text, 70)}" ({state}, {age}{due})'


def build_brief(s: AccountScore, name_of: Callable[[str | None], str | None] = lambda x: x) -> str:
    """The brief for one scored account. ``name_of`` maps a speaker (address or name) to a person's name."""
    kinds = {r.kind for r in s.reasons}
    overdue = [a for a in s.open_asks if a.overdue]
    client_asks = [a for a in s.open_asks if a.kind == "client_ask"]
    ours = [a for a in s.open_asks if a.kind == "our_commitment"]
    parts: list[str] = [_acknowledge(s, kinds, name_of)]
    explain = _explain(s, kinds, overdue)
    if explain:
        parts.append("Explain: " + "; ".join(explain))

    # 3. resolve
    if s.open_asks:
        shown = [_ask_line(a) for a in s.open_asks[:_SHOWN_ASKS]]
        more = len(s.open_asks) - len(shown)
        tail = f"; and {more} more" if more > 0 else ""
        parts.append("Resolve: " + "; ".join(shown) + tail)

    # 4. commit
    if ours or client_asks:
        parts.append("Commit: give a date for each open item and confirm it in writing today")
    elif "buying_signal" in kinds:
        parts.append("Commit: agree on a proposal date and the next meeting")
    else:
        parts.append("Commit: agree on next steps and a follow-up date, and confirm in writing")
    return "\n".join(p if p.endswith(('"', ".", "…")) else p + "." for p in parts)


def _acknowledge(s: AccountScore, kinds: set[str], name_of: Callable[[str | None], str | None]) -> str:
    """1. acknowledge: what the client feels or waits for, in their words."""
    frus, buy, comp = s.top_frustration, s.top_buying, s.top_complaint
    if "frustration" in kinds and frus is not None:
        extra = {
            "churn_threat": " and has raised leaving us",
            "escalation": " and is escalating",
        }.get(frus.subtype or "", "")
        return (
            f'Acknowledge: {_who(frus, name_of)} is frustrated{extra}: "{short_quote(frus.sentence)}"'
        )
    if "complaint" in kinds and comp is not None:
        return f'Acknowledge: {_who(comp, name_of)} reported a problem: "{short_quote(comp.sentence)}"'
    if "buying_signal" in kinds and buy is not None:
        return (
            f'Acknowledge: thank {_who(buy, name_of)} for the interest: "{short_quote(buy.sentence)}"'
        )
    if "slow_response" in kinds and s.engagement is not None and s.engagement.waiting is not None:
        return (
            f"Acknowledge: apologise to {name_of(s.engagement.waiting.sender) or 'the client'} for the wait"
        )
    if "engagement_drop" in kinds and s.engagement is not None:
        return "Acknowledge: we have not heard from them in a while: check in on how things are going"
    if "unread_language" in kinds and s.unread_languages:
        return f"Acknowledge: answer what they wrote in {_languages(s)}; triage could not read it"
    if s.open_asks:
        return (
            f"Acknowledge: {len(s.open_asks)} request{'s are' if len(s.open_asks) != 1 else ' is'} "
            "waiting for us"
        )
    return "Acknowledge: check in on the recent conversation"


def _explain(s: AccountScore, kinds: set[str], overdue: list[Ask]) -> list[str]:
    """2. explain: what went wrong, what went unanswered, what changed, what they want."""
    explain: list[str] = []
    if "complaint" in kinds:
        what = ", ".join(t.replace("_", " ") for t in s.complaint_subtypes)
        explain.append(f"what went wrong{f' ({what})' if what else ''}, why, and what is being done about it")
    if overdue:
        oldest = max(a.age_business_days for a in overdue)
        explain.append(
            f"why {len(overdue)} item{'s' if len(overdue) != 1 else ''} went unanswered "
            f"(up to {oldest} business day{'s' if oldest != 1 else ''}) "
            f"and who owns {'them' if len(overdue) != 1 else 'it'} now"
        )
    if "frustration_trend" in kinds:
        explain.append("what changed recently, since this is unusual for them")
    elif "frustration_repetition" in kinds and not overdue:
        explain.append("what is being done about the repeated problem")
    if "buying_signal" in kinds:
        what = ", ".join(t.replace("_", " ") for t in s.buying_subtypes)
        explain.append(f"the options and pricing for what they want{f' ({what})' if what else ''}")
    if "slow_response" in kinds and not overdue:
        explain.append("why our answers took longer than usual, and who answers them now")
    if "engagement_drop" in kinds:
        explain.append("ask what changed on their side (new people, other priorities, another tool)")
    if "unread_language" in kinds and s.unread_languages:
        explain.append(f"read their mail in {_languages(s)} first: it was not analysed (frustration, problems "
                       "or asks in it count nowhere)")
    if not explain and "frustration" in kinds:
        explain.append("what caused the problem and what is being done")
    return explain
