"""The per-AM e-mail digest: each AM gets their part of the day's list (plain text + HTML alternative).

Sent over SMTP (``digest.security``: ``tls`` = implicit TLS, ``starttls``, or ``plain`` with
``allow_plaintext``); the password is read from the environment (``digest.password_env``) only when
a ``username`` is set. Every sent digest is recorded in ``digest_log`` so a re-run of the same day
does not mail anyone twice (``force=True`` re-sends). smtplib/socket/TLS errors become OutputError;
the secret never appears in a message or a log line.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from types import TracebackType

from triage.db import Database
from triage.errors import OutputError
from triage.log import get_logger
from triage.publish.html import render_page, safe_href
from triage.publish.model import CallListEntry
from triage.settings import DigestSettings

__all__ = ["DigestMail", "DigestResult", "SmtpSender", "build_digests", "render_text", "send_digests"]

log = get_logger("publish.digest")


@dataclass(frozen=True)
class DigestMail:
    recipient: str
    am_name: str | None
    entries: tuple[CallListEntry, ...]
    message: EmailMessage
    content_sha256: str


@dataclass
class DigestResult:
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    #: accounts on the list whose AM has no e-mail address
    unassigned: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    mails: list[DigestMail] = field(default_factory=list)


def render_text(
    entries: list[CallListEntry], *, as_of: date, am_name: str | None, top_reasons: int = 3,
    link: Callable[[str | None], str] | None = None,
) -> str:
    """The plain-text part of a digest (``link``: page -> a sign-in URL of the web app)."""
    first = (am_name or "").split(" ")[0]
    lines = [f"Good morning{' ' + first if first else ''},", ""]
    if not entries:
        lines += [f"No account of yours needs a call today ({as_of:%A %d %B %Y}).", ""]
    else:
        n = len(entries)
        lines += [f"{n} account{'s' if n != 1 else ''} to call today ({as_of:%A %d %B %Y}):", ""]
    if link is not None:
        lines += ["Act on the list (called, not a problem, answered, snooze: one click each):", f"  {link(None)}", ""]
    for e in entries:
        asks = f"{len(e.open_asks)} open asks, {e.overdue_count} overdue" if e.open_asks else "no open asks"
        lines.append(f"{e.rank}. {e.name} ({e.tier or 'no tier'}) - score {e.score:.1f} - {asks}")
        lines.append("   Why:")
        for r in e.top_reasons(top_reasons):
            lines.append(f"   - {r.text}")
            if r.evidence:
                lines.append(f'     "{r.evidence}"')
            href = safe_href(r.link)
            if href:
                lines.append(f"     {href}")
        lines.append("   Brief:")
        lines += [f"   {line}" for line in e.brief_lines()]
        if link is not None:
            lines.append(f"   Open: {link(f'/accounts/{e.account_id}')}")
        lines.append("")
    tail = ("the links sign you in to your list; they work for a day." if link is not None
            else "mark an account handled with `triage done ACCOUNT`.")
    lines += ["-- ", f"triage: {tail}"]
    return "\n".join(lines) + "\n"


def build_digests(
    entries: list[CallListEntry],
    *,
    as_of: date,
    org_name: str,
    cfg: DigestSettings,
    top_reasons: int = 3,
    all_ams: dict[str, str | None] | None = None,
    link_for: Callable[[str, str | None], str] | None = None,
) -> tuple[list[DigestMail], list[str]]:
    """One mail per AM e-mail address with only that AM's accounts; and the accounts without an AM address.

    ``all_ams`` (address -> name) adds empty digests for AMs with nothing listed when ``cfg.send_empty``.
    """
    by_am: dict[str, list[CallListEntry]] = defaultdict(list)
    names: dict[str, str | None] = {}
    unassigned: list[str] = []
    for e in entries:
        if not e.am_email:
            unassigned.append(e.account_id)
            continue
        key = e.am_email.strip().lower()
        by_am[key].append(e)
        names.setdefault(key, e.owner_am)
    if cfg.send_empty:
        for addr, name in (all_ams or {}).items():
            by_am.setdefault(addr.strip().lower(), [])
            names.setdefault(addr.strip().lower(), name)
    domain = cfg.from_addr.rsplit("@", 1)[-1] if "@" in cfg.from_addr else "localhost"
    mails = []
    for addr in sorted(by_am):
        mine = by_am[addr]
        link = (lambda page, who=addr: link_for(who, page)) if link_for is not None else None
        plain = render_text(mine, as_of=as_of, am_name=names.get(addr), top_reasons=top_reasons)
        text = render_text(mine, as_of=as_of, am_name=names.get(addr), top_reasons=top_reasons, link=link)
        html = render_page(
            mine,
            as_of=as_of,
            org_name=org_name,
            heading="Your accounts to call today",
            show_unknown=False,
            signin=link,
        )
        msg = EmailMessage()
        n = len(mine)
        msg["Subject"] = (
            f"{cfg.subject_prefix} {n} account{'s' if n != 1 else ''} to call today - {as_of:%a %d %b}"
        ).strip()
        msg["From"] = cfg.from_addr
        msg["To"] = formataddr((names.get(addr) or "", addr))
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid(idstring=f"triage.{as_of.isoformat()}", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Triage-As-Of"] = as_of.isoformat()
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()  # the same list: the same hash, links aside
        mails.append(DigestMail(addr, names.get(addr), tuple(mine), msg, digest))
    return mails, unassigned


class SmtpSender:
    """One SMTP session (the I/O seam): connect, secure, log in, send, quit; errors as OutputError."""

    def __init__(self, cfg: DigestSettings) -> None:
        self.cfg = cfg
        self._smtp: smtplib.SMTP | None = None

    @property
    def _where(self) -> str:
        return f"SMTP server {self.cfg.smtp_host}:{self.cfg.smtp_port}"

    def __enter__(self) -> SmtpSender:
        cfg = self.cfg
        if cfg.security == "plain" and not cfg.allow_plaintext:
            raise OutputError("digest: security = 'plain' needs allow_plaintext = true")
        ctx = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        try:
            if cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds, context=ctx
                )
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds)
            self._smtp = smtp
            smtp.ehlo()
            if cfg.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise OutputError(f"{self._where} does not offer STARTTLS (digest.security = 'starttls')")
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if cfg.username:
                secret = cfg.password()
                assert secret is not None
                smtp.login(cfg.username, secret.get_secret_value())
        except OutputError:
            self._close()
            raise
        except smtplib.SMTPAuthenticationError as e:
            self._close()
            raise OutputError(
                f"{self._where} refused the login of user {cfg.username!r} (code {e.smtp_code}); "
                f"check the password in ${cfg.password_env}"
            ) from None
        except smtplib.SMTPNotSupportedError as e:
            self._close()
            raise OutputError(f"{self._where}: {e}") from None
        except ssl.SSLError as e:
            self._close()
            raise OutputError(f"TLS with {self._where} failed: {e.reason or e}") from e
        except (smtplib.SMTPException, OSError) as e:
            self._close()
            raise OutputError(f"cannot talk to {self._where}: {e}") from e
        except BaseException:
            self._close()
            raise
        return self

    def send(self, msg: EmailMessage) -> None:
        """Send one mail or raise OutputError (a refused recipient leaves the session usable)."""
        assert self._smtp is not None
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            codes = ", ".join(f"{addr}: {code}" for addr, (code, _) in e.recipients.items())
            raise OutputError(f"{self._where} refused the recipient ({codes})") from None
        except smtplib.SMTPResponseException as e:
            raise OutputError(f"{self._where} rejected the digest (code {e.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as e:
            raise OutputError(f"sending the digest via {self._where} failed: {e}") from e

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (TimeoutError, smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()


def send_digests(
    cfg: DigestSettings,
    db: Database,
    entries: list[CallListEntry],
    *,
    as_of: date,
    org_name: str,
    top_reasons: int = 3,
    force: bool = False,
    dry_run: bool = False,
    link_for: Callable[[str, str | None], str] | None = None,
) -> DigestResult:
    """Send each AM their digest for ``as_of`` once (``force`` re-sends; ``dry_run`` only builds them).

    Raises OutputError when the server cannot be used, or after trying everyone when some failed.
    """
    with db.read() as con:
        done = {
            r[0] for r in con.execute("SELECT recipient FROM digest_log WHERE as_of = ?", [as_of]).fetchall()
        }
        ams = {
            str(r[0]).strip().lower(): r[1]
            for r in con.execute(
                "SELECT DISTINCT am_email, owner_am FROM accounts WHERE am_email IS NOT NULL"
            ).fetchall()
        }
    mails, unassigned = build_digests(
        entries, as_of=as_of, org_name=org_name, cfg=cfg, top_reasons=top_reasons, all_ams=ams, link_for=link_for
    )
    result = DigestResult(unassigned=unassigned, mails=mails)
    if unassigned:
        log.warning("no AM e-mail address for %s: not in any digest", ", ".join(unassigned))
    todo = [m for m in mails if force or m.recipient not in done]
    result.already_sent = [m.recipient for m in mails if m not in todo]
    if dry_run or not todo:
        return result
    with SmtpSender(cfg) as smtp:
        for m in todo:
            try:
                smtp.send(m.message)
            except OutputError as e:
                result.failed[m.recipient] = str(e)
                log.error("digest to %s not sent: %s", m.recipient, e)
                continue
            with db.write() as con:
                con.execute(
                    "INSERT OR REPLACE INTO digest_log VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        as_of,
                        m.recipient,
                        m.content_sha256,
                        len(m.entries),
                        str(m.message["Message-ID"]),
                        datetime.now(UTC),
                    ],
                )
            result.sent.append(m.recipient)
            log.info("digest for %s sent to %s (%d accounts)", as_of, m.recipient, len(m.entries))
    if result.failed:
        raise OutputError(
            f"digest not sent to {len(result.failed)} of {len(todo)} AMs: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(result.failed.items()))
        )
    return result
