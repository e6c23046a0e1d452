"""Same-day escalations: mail the account's AM at once about a new churn threat, escalation or strong
frustration, instead of waiting for tomorrow's list.

What alerts (``[alerts]``): a client's frustration signal that still counts (not dismissed) with a
subtype in ``alerts.subtypes`` (churn threat, escalation) at any account, or with an intensity of at
least ``alerts.strong_intensity`` at an account whose tier is in ``alerts.tiers`` (strategic,
enterprise); at most ``alerts.max_age_hours`` old. Each signal is mailed **once, ever**: it is
recorded in ``alert_log`` (also when its account has no AM address, so it is not retried every hour).
One mail per AM and run lists all of that AM's new alerts. In quiet hours nothing is sent and
nothing is recorded: the held alerts go out at the first run after (if still fresh enough).

Mail goes through the ``[digest]`` SMTP settings and :class:`triage.publish.digest.SmtpSender`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from zoneinfo import ZoneInfo

from triage.db import Database
from triage.errors import OutputError
from triage.log import get_logger
from triage.publish.digest import SmtpSender
from triage.publish.html import link_label, safe_href
from triage.settings import AlertSettings, Settings

__all__ = [
    "Alert", "AlertMail", "AlertResult", "LinkFor", "build_alert_mails", "find_new_alerts", "in_quiet_hours",
    "send_alerts",
]

log = get_logger("publish.alerts")


@dataclass(frozen=True)
class Alert:
    signal_id: str
    account_id: str
    account_name: str
    tier: str | None
    owner_am: str | None
    am_email: str | None
    subtype: str | None
    intensity: float
    sentence: str
    speaker: str | None
    occurred_at: datetime
    link: str | None
    source_type: str

    @property
    def why(self) -> str:
        if self.subtype in ("churn_threat", "escalation"):
            return self.subtype.replace("_", " ")
        return f"strong frustration ({self.intensity:.2f})"


@dataclass(frozen=True)
class AlertMail:
    recipient: str
    alerts: tuple[Alert, ...]
    message: EmailMessage


@dataclass
class AlertResult:
    #: recipient -> the signal ids mailed to them
    sent: dict[str, list[str]] = field(default_factory=dict)
    #: new alerts not sent because of quiet hours (they go out at the next run after)
    held: list[str] = field(default_factory=list)
    #: new alerts at accounts without an AM address (recorded, never mailed)
    unassigned: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    mails: list[AlertMail] = field(default_factory=list)

    @property
    def mailed(self) -> int:
        return sum(len(v) for v in self.sent.values())


def _hhmm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def in_quiet_hours(cfg: AlertSettings, now: datetime) -> bool:
    """Whether ``now`` (aware) falls between quiet_start and quiet_end in ``cfg.timezone`` (may span midnight)."""
    start, end = _hhmm(cfg.quiet_start), _hhmm(cfg.quiet_end)
    if start == end:
        return False
    local = now.astimezone(ZoneInfo(cfg.timezone)).time().replace(tzinfo=None)
    return start <= local < end if start < end else (local >= start or local < end)


def find_new_alerts(db: Database, cfg: AlertSettings, now: datetime) -> list[Alert]:
    """Signals that should alert and were never mailed (nor recorded), oldest first."""
    since = now - timedelta(hours=cfg.max_age_hours)
    with db.read() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            """SELECT s.signal_id, s.account_id, a.name, a.tier, a.owner_am, a.am_email, s.subtype,
                      coalesce(s.intensity, s.score), s.sentence, s.speaker, s.occurred_at, s.link, s.source_type
               FROM v_account_signals s JOIN accounts a USING (account_id)
               WHERE s.kind = 'frustration' AND s.party = 'client'
                 AND s.occurred_at >= ? AND s.occurred_at <= ?
                 AND (s.subtype IN (SELECT unnest(?))
                      OR (lower(coalesce(a.tier, '')) IN (SELECT unnest(?))
                          AND coalesce(s.intensity, s.score) >= ?))
                 AND s.signal_id NOT IN (SELECT signal_id FROM alert_log)
               ORDER BY s.occurred_at, s.signal_id""",
            [since, now, cfg.subtypes or [""], [t.lower() for t in cfg.tiers] or [""], cfg.strong_intensity],
        ).fetchall()
    return [
        Alert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], float(r[7]), r[8], r[9],
              r[10].astimezone(UTC), r[11], r[12])
        for r in rows
    ]


#: (AM's e-mail, page after signing in) -> a sign-in URL of the web app (:func:`triage.app.links.link_maker`)
LinkFor = Callable[[str, str | None], str]


def _text(alerts: list[Alert], am_name: str | None, link: Callable[[str | None], str] | None = None) -> str:
    first = (am_name or "").split(" ")[0]
    lines = [f"Hi{' ' + first if first else ''},", ""]
    n = len(alerts)
    lines.append(f"{'A client needs' if n == 1 else f'{n} signals need'} a call today, before tomorrow's list:")
    lines.append("")
    for a in alerts:
        lines.append(f"- {a.account_name} ({a.tier or 'no tier'}): {a.why}, {a.occurred_at:%a %d %b %H:%M} UTC")
        lines.append(f'  "{a.sentence}"' + (f" ({a.speaker})" if a.speaker else ""))
        href = safe_href(a.link)
        if href:
            lines.append(f"  {link_label(a.link, a.source_type)}: {href}")
        if link is not None:
            lines.append(f"  act on it (called, not a problem, snooze): {link(f'/accounts/{a.account_id}')}")
        else:
            lines.append(f"  signal {a.signal_id} (wrong? triage dismiss {a.signal_id} --reason ...)")
        lines.append("")
    lines += ["-- ", "triage same-day alerts: one mail per signal, never repeated."]
    return "\n".join(lines) + "\n"


def build_alert_mails(
    alerts: list[Alert], settings: Settings, now: datetime, link_for: LinkFor | None = None
) -> tuple[list[AlertMail], list[Alert]]:
    """One mail per AM address with that AM's alerts; and the alerts of accounts without an AM address."""
    by_am: dict[str, list[Alert]] = defaultdict(list)
    unassigned = []
    for a in alerts:
        if a.am_email and a.am_email.strip():
            by_am[a.am_email.strip().lower()].append(a)
        else:
            unassigned.append(a)
    cfg, digest = settings.alerts, settings.digest
    domain = digest.from_addr.rsplit("@", 1)[-1] if "@" in digest.from_addr else "localhost"
    mails = []
    for addr in sorted(by_am):
        mine = by_am[addr]
        accounts = list(dict.fromkeys(a.account_name for a in mine))
        whys = list(dict.fromkeys(a.why.split(" (")[0] for a in mine))
        msg = EmailMessage()
        msg["Subject"] = f"{cfg.subject_prefix} {', '.join(accounts)}: {', '.join(whys)}".strip()
        msg["From"] = digest.from_addr
        msg["To"] = formataddr((mine[0].owner_am or "", addr))
        msg["Date"] = format_datetime(now.astimezone(UTC))
        msg["Message-ID"] = make_msgid(idstring="triage.alert", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Triage-Signals"] = " ".join(a.signal_id for a in mine)
        link = (lambda page, who=addr: link_for(who, page)) if link_for is not None else None
        msg.set_content(_text(mine, mine[0].owner_am, link))
        mails.append(AlertMail(addr, tuple(mine), msg))
    return mails, unassigned


def _record(db: Database, alerts: tuple[Alert, ...] | list[Alert], recipient: str | None, message_id: str | None,
            now: datetime) -> None:
    with db.write() as con:
        for a in alerts:
            con.execute(
                "INSERT OR IGNORE INTO alert_log VALUES (?, ?, ?, ?, ?, ?)",
                [a.signal_id, a.account_id, recipient, a.why, message_id, now],
            )


def send_alerts(settings: Settings, db: Database, *, now: datetime | None = None, dry_run: bool = False,
                link_for: LinkFor | None = None) -> AlertResult:
    """Mail every new alert to its AM (once per signal, ever); nothing in quiet hours.

    Raises OutputError when the SMTP server cannot be used, or after trying every AM when some failed
    (their alerts are not recorded, so the next run tries again).
    """
    at = (now or datetime.now(UTC)).astimezone(UTC)
    alerts = find_new_alerts(db, settings.alerts, at)
    result = AlertResult()
    if not alerts:
        return result
    if in_quiet_hours(settings.alerts, at):
        result.held = [a.signal_id for a in alerts]
        log.info("quiet hours: %d alert(s) held until %s", len(alerts), settings.alerts.quiet_end)
        return result
    mails, unassigned = build_alert_mails(alerts, settings, at, link_for)
    result.mails, result.unassigned = mails, [a.signal_id for a in unassigned]
    if dry_run:
        return result
    if unassigned:
        who = ", ".join(sorted({a.account_id for a in unassigned}))
        log.warning("no AM e-mail address for %s: alert not mailed", who)
        _record(db, unassigned, None, None, at)
    if not mails:
        return result
    with SmtpSender(settings.digest) as smtp:
        for m in mails:
            try:
                smtp.send(m.message)
            except OutputError as e:
                result.failed[m.recipient] = str(e)
                log.error("alert to %s not sent: %s", m.recipient, e)
                continue
            _record(db, m.alerts, m.recipient, str(m.message["Message-ID"]), at)
            result.sent[m.recipient] = [a.signal_id for a in m.alerts]
            log.info("alert sent to %s: %s", m.recipient, ", ".join(f"{a.account_id} {a.why}" for a in m.alerts))
    if result.failed:
        raise OutputError(
            f"alerts not sent to {len(result.failed)} of {len(mails)} AMs: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items()))
        )
    return result
