"""The per-AM digest over a real SMTP server on loopback (aiosmtpd): plain, STARTTLS + AUTH, implicit TLS."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.score_seed import STORY_AS_OF, seed_story
from tests.support.smtp import SmtpServer
from triage.db import Database
from triage.errors import ConfigError, OutputError
from triage.publish import publish, send_digest
from triage.score import build_call_list
from triage.settings import Settings

pytestmark = [
    pytest.mark.slow,
    # implicit TLS: the connection is encrypted, but aiosmtpd only knows about STARTTLS
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]
AS_OF = STORY_AS_OF
DANA, LUIS = "dana@northwind.example", "luis@northwind.example"


@pytest.fixture
def story(db: Database, make_settings: Callable[..., Settings]) -> Database:
    seed_story(db)
    build_call_list(make_settings(""), db, AS_OF, "run-1")
    return db


def _config(srv: SmtpServer, extra: str = "", **digest: object) -> str:
    values = {
        "enabled": "true",
        "smtp_host": '"127.0.0.1"',
        "smtp_port": str(srv.port),
        "security": f'"{srv.security}"',
        "from_addr": '"triage@northwind.example"',
        "timeout_seconds": "10",
        **{k: str(v) for k, v in digest.items()},
    }
    if srv.security == "plain":
        values.setdefault("allow_plaintext", "true")
    if srv.ca_file:
        values["ca_file"] = f'"{srv.ca_file}"'
    body = "\n".join(f"{k} = {v}" for k, v in values.items())
    head = '[org]\nname = "Northwind Analytics"\n[output]\nhtml_path = "out/today.html"\n'
    return f"{head}{extra}\n[digest]\n{body}\n"


def _accounts_in(html: str) -> list[str]:
    return [a for a in ("acme", "blueriver", "cedar", "fjord", "harbor") if f'data-account="{a}"' in html]


def test_each_am_gets_one_mail_with_only_their_accounts(
    story: Database, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with SmtpServer() as srv:
        settings = make_settings(_config(srv))
        report = publish(settings, story, AS_OF)
        assert report.digests_sent == 2 and sorted(report.digest_recipients) == [DANA, LUIS]
        assert report.html_path and Path(report.html_path).is_file()
        assert len(srv.messages) == 2
        for am, mine in ((DANA, ["acme", "cedar"]), (LUIS, ["blueriver", "fjord", "harbor"])):
            (got,) = srv.to(am)
            msg = got.message
            assert got.rcpt_tos == (am,) and got.mail_from == "triage@northwind.example"
            assert msg.get_content_type() == "multipart/alternative"
            assert msg["Subject"] == f"[triage] {len(mine)} accounts to call today - Fri 20 Nov"
            assert msg["X-Triage-As-Of"] == "2026-11-20" and msg["Auto-Submitted"] == "auto-generated"
            plain = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
            assert plain is not None and html is not None
            text, page = plain.get_content(), html.get_content()
            assert _accounts_in(page) == mine
            others = {
                "acme": "Acme Logistics",
                "blueriver": "BlueRiver Health",
                "cedar": "Cedar & Pine Retail",
                "fjord": "Fjord Media",
                "harbor": "Harbor Point Shipping",
            }
            for acc, name in others.items():
                assert (name in text) == (acc in mine)
            assert "Acknowledge:" in text and "Why:" in text
            assert "unknown-senders" not in page  # the unknown senders are on the page, not in digests
        dana_text = srv.to(DANA)[0].message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert dana_text.startswith("Good morning Dana,")
        assert dana_text.index("Acme Logistics") < dana_text.index("Cedar & Pine Retail")

        # a re-run of the same day does not mail anyone twice; --force does
        assert publish(settings, story, AS_OF).digests_sent == 0
        assert len(srv.messages) == 2
        again = send_digest(settings, story, AS_OF, force=True)
        assert sorted(again.sent) == [DANA, LUIS] and len(srv.messages) == 4
    with story.read() as con:
        assert con.execute("SELECT count(*) FROM digest_log WHERE as_of = ?", [AS_OF]).fetchone() == (2,)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login_with_the_password_from_the_environment(
    security: str,
    story: Database,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "correct-horse-battery-staple"
    monkeypatch.setenv("TRIAGE_SMTP_PASSWORD", secret)
    caplog.set_level(logging.DEBUG)
    with SmtpServer(security=security, users={"triage-bot": secret}, cert_dir=tmp_path / "certs") as srv:  # type: ignore[arg-type]
        settings = make_settings(_config(srv, username='"triage-bot"'))
        result = send_digest(settings, story, AS_OF)
        assert sorted(result.sent) == [DANA, LUIS]
        assert all(m.tls and m.login == "triage-bot" for m in srv.messages)
    assert secret not in caplog.text


def test_a_wrong_password_is_an_output_error_without_the_secret(
    story: Database,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TRIAGE_SMTP_PASSWORD", "not-the-password-123")
    caplog.set_level(logging.DEBUG)
    with SmtpServer(security="starttls", users={"triage-bot": "s3cret-pw"}, cert_dir=tmp_path / "c") as srv:
        settings = make_settings(_config(srv, username='"triage-bot"'))
        with pytest.raises(OutputError) as err:
            send_digest(settings, story, AS_OF)
        assert srv.auth_attempts and set(srv.auth_attempts) == {("triage-bot", b"not-the-password-123")}
        assert srv.messages == []
    assert "refused the login of user 'triage-bot'" in str(err.value)
    assert "TRIAGE_SMTP_PASSWORD" in str(err.value)
    assert "not-the-password-123" not in str(err.value) and "not-the-password-123" not in caplog.text
    with story.read() as con:
        assert con.execute("SELECT count(*) FROM digest_log").fetchone() == (0,)


def test_a_missing_password_variable_is_a_config_error(
    story: Database, make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_SMTP_PASSWORD", raising=False)
    with SmtpServer(security="starttls", users={"u": "p"}, cert_dir=tmp_path / "c") as srv:
        settings = make_settings(_config(srv, username='"u"'))
        with pytest.raises(ConfigError, match="TRIAGE_SMTP_PASSWORD is not set"):
            send_digest(settings, story, AS_OF)


def test_server_problems_are_output_errors(
    story: Database, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # nothing listening
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings = make_settings(_config(SmtpServer(port=closed)))
    with pytest.raises(OutputError, match=r"cannot talk to SMTP server 127\.0\.0\.1"):
        send_digest(settings, story, AS_OF)
    # a certificate we do not trust
    with SmtpServer(security="tls", cert_dir=tmp_path / "c") as srv:
        srv.ca_file = None
        with pytest.raises(OutputError, match="TLS with SMTP server"):
            send_digest(make_settings(_config(srv)), story, AS_OF)
    # the server insists on STARTTLS, we were told to send in clear
    with SmtpServer(security="starttls", cert_dir=tmp_path / "d") as srv:
        plain = _config(srv, security='"plain"', allow_plaintext="true").replace(
            f'ca_file = "{srv.ca_file}"', ""
        )
        with pytest.raises(OutputError, match="rejected the digest"):
            send_digest(make_settings(plain), story, AS_OF)
        assert srv.messages == []


def test_a_refused_recipient_does_not_stop_the_others(
    story: Database, make_settings: Callable[..., Settings]
) -> None:
    with SmtpServer(refuse={LUIS}) as srv:
        settings = make_settings(_config(srv))
        with pytest.raises(OutputError, match=r"not sent to 1 of 2 AMs: luis@northwind.example: .*550"):
            send_digest(settings, story, AS_OF)
        assert [m.rcpt_tos for m in srv.messages] == [(DANA,)]
        srv.refuse.clear()
        retry = send_digest(settings, story, AS_OF)  # only the one that failed is sent now
        assert retry.sent == [LUIS] and retry.already_sent == [DANA]
        assert len(srv.messages) == 2


def test_empty_digests_only_when_asked(story: Database, make_settings: Callable[..., Settings]) -> None:
    with SmtpServer() as srv:
        build_call_list(make_settings("[scoring]\nmax_accounts = 1\n"), story, AS_OF, "run-2")  # only acme
        send_digest(make_settings(_config(srv)), story, AS_OF)
        assert [m.rcpt_tos for m in srv.messages] == [(DANA,)]
        send_digest(make_settings(_config(srv, send_empty="true")), story, AS_OF)
        (luis,) = srv.to(LUIS)
        body = luis.message.get_body(preferencelist=("plain",))
        assert body is not None and "No account of yours needs a call today" in body.get_content()
        assert luis.message["Subject"].startswith("[triage] 0 accounts to call today")


def test_dry_run_builds_without_sending(story: Database, make_settings: Callable[..., Settings]) -> None:
    with SmtpServer() as srv:
        result = send_digest(make_settings(_config(srv)), story, AS_OF, dry_run=True)
        assert [m.recipient for m in result.mails] == [DANA, LUIS] and result.sent == []
        assert srv.messages == []
