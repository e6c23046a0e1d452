"""Mail a machine sent: mailing lists, bulk and marketing mail, auto-replies, delivery reports.

Such mail is stored and threaded like any other, but it is not evidence of how a client feels or
what they ask for: :func:`machine_sent` names why (``list``, ``bulk``, ``auto_reply``,
``delivery_report``, ``no_reply_sender``) and the detectors skip the message. Only standard header
fields (RFC 2369 List-*, RFC 3834 Auto-Submitted, the de-facto Precedence and X-Auto-Response-
Suppress) and unmistakable sender/subject forms are used, so a person's mail is never skipped
because of what it says.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["machine_sent"]

_NO_REPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster|bounces?|notifications?|alerts?"
    r"|newsletters?|marketing|mailer)(?:[-_.+][^@]*)?@", re.I)
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|abwesenheitsnotiz"
    r"|r[ée]ponse automatique|respuesta autom[áa]tica|undeliverable|delivery status notification"
    r"|mail delivery (?:failed|failure|system)|returned mail|delivery failure)\b", re.I)


def machine_sent(header: Callable[[str], str | None], from_addr: str | None, subject: str | None,
                 content_type: str | None = None) -> str | None:
    """Why this message was sent by a machine (see the module docstring), or None for a person's mail.

    ``header(name)`` returns a header's value (or None); names are case-insensitive.
    """
    if (content_type or "").lower().startswith("multipart/report"):
        return "delivery_report"
    auto = (header("auto-submitted") or "").strip().lower()
    if auto and auto != "no":
        return "auto_reply"
    if header("x-autoreply") or header("x-autorespond") or header("x-auto-response-suppress") in ("OOF", "oof"):
        return "auto_reply"
    if subject and _AUTO_SUBJECT.match(subject):
        return "auto_reply"
    precedence = (header("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk"):
        return "bulk"
    if precedence == "list" or header("list-id") or header("list-unsubscribe") or header("list-post"):
        return "list"
    if from_addr and _NO_REPLY.match(from_addr):
        return "no_reply_sender"
    return None
