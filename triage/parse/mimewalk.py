"""One walk over a parsed MIME tree, under a :class:`~triage.parse.budget.Budget`.

:func:`walk` visits every part exactly once (``Message.walk()`` would descend into forwarded
``message/rfc822`` parts again for every enclosing message, which made the old parser's time grow
with a high power of the nesting depth) and returns one :class:`Level` per message: the message
itself and every forwarded message inside it, nested as they are in the mail. Depth and part count
are checked as parts are found, so a 50-deep message stops at ``max_depth`` after a few hundred
microseconds of walking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from triage.parse.budget import Budget

__all__ = ["Level", "is_attachment", "walk"]


@dataclass
class Level:
    """A message (the mail, or a forwarded message inside it) and what the walk found in it."""

    msg: Message
    #: text parts that are not attachments, in walk order, this message and its forwards included
    #: (the body fallback when ``get_body`` finds nothing)
    texts: list[Message] = field(default_factory=list)
    #: forwarded messages (``message/rfc822`` parts) directly inside this one, in order
    forwards: list[Level] = field(default_factory=list)
    #: parts that are attachments or not text, this message and its forwards included
    attachments: list[Message] = field(default_factory=list)
    #: every part of this level (containers included), for the defects list
    parts: list[Message] = field(default_factory=list)


def is_attachment(part: Message) -> bool:
    disp = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    return disp == "attachment" or (disp != "inline" and part.get_filename() is not None)


def walk(msg: Message, budget: Budget) -> Level:
    """The tree of messages in ``msg``; raises ParseError (too_deep, too_many_parts, parse_timeout)."""
    top = Level(msg)
    # explicit stack: (part, depth, the levels it belongs to, innermost last)
    stack: list[tuple[Message, int, list[Level]]] = [(msg, 0, [top])]
    while stack:
        part, depth, owners = stack.pop()
        budget.part(depth)
        level = owners[-1]
        level.parts.append(part)
        maintype = part.get_content_maintype()
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                nested = Level(inner_msg)
                level.forwards.append(nested)
                stack.append((inner_msg, depth + 1, [*owners, nested]))
            continue
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                # reversed onto the stack, so that parts are visited in document order
                stack.extend((c, depth + 1, owners) for c in reversed(children) if isinstance(c, Message))
            continue
        if maintype == "message" and part is not level.msg:
            continue  # message/delivery-status and the like: headers only, nothing to read
        if maintype == "text" and not is_attachment(part):
            for owner in owners:
                owner.texts.append(part)
        elif part is not msg:
            for owner in owners:
                owner.attachments.append(part)
    return top
