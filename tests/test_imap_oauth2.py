"""XOAUTH2 login of the IMAP source against a real Dovecot whose oauth2 passdb asks a real
token-introspection endpoint (HTTP on loopback) about every token; into a real DuckDB file."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from tests.support.dovecot import (  # noqa: F401  (fixtures)
    DovecotServer,
    ImapUser,
    TokenIntrospection,
    enron_dev_files,
    imap_user_fixture,
    is_enron_sent,
    oauth2_dovecot_fixture,
    token_introspection_fixture,
)
from triage import ingest
from triage.db import Database
from triage.errors import AuthenticationError, ConfigError, ConnectionLostError
from triage.ingest.keys import identify
from triage.settings import Settings

pytestmark = pytest.mark.slow

MakeSettings = Callable[..., Settings]
SEEN = b"\\Seen"
TOKEN_ENV = "TRIAGE_TEST_IMAP_OAUTH2_TOKEN"


@pytest.fixture(name="dovecot")
def _oauth2_server(oauth2_dovecot: DovecotServer) -> DovecotServer:
    """``imap_user`` hands out users of the OAuth2-enabled server in this module."""
    if not oauth2_dovecot.is_running():
        oauth2_dovecot.start()
    return oauth2_dovecot


@pytest.fixture
def oauth2_settings(
    make_settings: MakeSettings, dovecot: DovecotServer, imap_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Settings]:
    """Settings for ``imap_user`` logging in with the token in ``TOKEN_ENV`` (no password in the env)."""
    monkeypatch.delenv(imap_user.password_env)  # a password login would now be a ConfigError

    def _make(**extra: Any) -> Settings:
        extra.setdefault("oauth2_token_env", TOKEN_ENV)
        return make_settings(dovecot.source_toml(imap_user, **extra))

    return _make


@pytest.fixture(scope="module")
def enron(shared_data: Path) -> dict[str, list[bytes]]:
    """A slice of the dev Enron mail: 30 for INBOX, 10 for Sent."""
    out: dict[str, list[bytes]] = {"INBOX": [], "Sent": []}
    for _custodian, folder, path in enron_dev_files(shared_data):
        out["Sent" if is_enron_sent(folder) else "INBOX"].append(path.read_bytes())
    return {"INBOX": out["INBOX"][:30], "Sent": out["Sent"][:10]}


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql).fetchall()


def crlf(raw: bytes) -> bytes:
    """The message as the server keeps it (the Enron files have bare LF line ends)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def pre_login_capabilities(dovecot: DovecotServer) -> tuple[bytes, ...]:
    ctx = ssl.create_default_context(cafile=str(dovecot.ca_file))
    c = IMAPClient("127.0.0.1", dovecot.imaps_port, ssl=True, ssl_context=ctx, timeout=30)
    try:
        return tuple(c.capabilities())
    finally:
        c.shutdown()


def sasl_forms(user: ImapUser, token: str) -> list[str]:
    """The token and the XOAUTH2 initial response carrying it (as sent on the wire, base64)."""
    sasl = f"user={user.name}\1auth=Bearer {token}\1\1".encode()
    return [token, base64.b64encode(sasl).decode()]


def test_valid_token_syncs_real_mail_and_leaves_flags_untouched(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    token_introspection: TokenIntrospection,
    oauth2_settings: Callable[..., Settings],
    enron: dict[str, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox, sent = enron["INBOX"], enron["Sent"]
    dovecot.append(imap_user, "INBOX", inbox[:10], flags=[SEEN])  # read ones...
    dovecot.append(imap_user, "INBOX", inbox[10:])  # ...and unread ones
    dovecot.append(imap_user, "Sent", sent, flags=[SEEN])
    flags_before = {f: dovecot.flags(imap_user, f) for f in ("INBOX", "Sent")}
    token = token_introspection.issue(imap_user)
    monkeypatch.setenv(TOKEN_ENV, token)
    caplog.set_level(logging.DEBUG)

    report = ingest.sync_source(oauth2_settings(batch_size=7), "imap", db, "r1")

    assert token in token_introspection.asked  # Dovecot really validated this token at the endpoint
    total = len(inbox) + len(sent)
    assert (report.fetched, report.already_known, report.quarantined, report.folders) == (total, 0, 0, 2)
    stored = rows(db, "SELECT message_key, raw, is_sent_folder FROM raw_messages")
    assert {r[0] for r in stored} == {identify(m).message_key for m in inbox + sent}
    assert {bytes(r[1]) for r in stored if not r[2]} == {crlf(m) for m in inbox}  # the mail as APPENDed
    assert {bytes(r[1]) for r in stored if r[2]} == {crlf(m) for m in sent}
    # nothing was marked seen (or changed in any way) on the server
    assert {f: dovecot.flags(imap_user, f) for f in ("INBOX", "Sent")} == flags_before
    assert sum(SEEN not in fl for fl in flags_before["INBOX"].values()) == len(inbox) - 10
    assert caplog.records  # imapclient logged the conversation at DEBUG...
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert all(secret not in logged for secret in sasl_forms(imap_user, token))  # ...without the token

    again = ingest.sync_source(oauth2_settings(), "imap", db, "r2")  # incremental, same token
    assert (again.fetched, again.quarantined) == (0, 0)
    assert len(rows(db, "SELECT 1 FROM raw_messages")) == total


@pytest.mark.parametrize("kind", ["unknown", "expired", "other_users"])
def test_invalid_token_is_refused_without_leaking_it(
    kind: str,
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    token_introspection: TokenIntrospection,
    oauth2_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dovecot.append(imap_user, "INBOX", [b"Message-ID: <a@x>\r\nSubject: s\r\n\r\nbody\r\n"])
    if kind == "unknown":
        token = "ya29.never-issued-" + imap_user.password[-12:]
    elif kind == "expired":
        token = token_introspection.issue(imap_user)
        token_introspection.revoke(token)  # the endpoint now answers {"active": false}
    else:  # active, but issued to somebody else: Dovecot must not log imap_user in with it
        token = token_introspection.issue(dovecot.add_user())
    monkeypatch.setenv(TOKEN_ENV, token)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(AuthenticationError) as err:
        ingest.sync_source(oauth2_settings(), "imap", db, "r1")

    text = str(err.value)
    assert "refused the XOAUTH2 token" in text and imap_user.name in text and "127.0.0.1" in text
    assert not isinstance(err.value, ConnectionLostError)  # retrying would not help
    assert token in token_introspection.asked  # refused by the endpoint's answer, not for another reason
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records
    for secret in sasl_forms(imap_user, token):
        assert secret not in text and secret not in logged
    assert rows(db, "SELECT count(*) FROM raw_messages") == [(0,)]


def test_token_comes_from_the_variable_named_by_oauth2_token_env(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    token_introspection: TokenIntrospection,
    oauth2_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(imap_user, "INBOX", [b"Message-ID: <b@x>\r\nSubject: s\r\n\r\nbody\r\n"])
    dovecot.create_folder(imap_user, "Sent")
    valid = token_introspection.issue(imap_user)
    monkeypatch.setenv("TRIAGE_TEST_OTHER_TOKEN", valid)
    monkeypatch.setenv(TOKEN_ENV, "ya29.not-this-one-" + imap_user.password[-12:])

    # a named variable that is not set: a config error before any connection
    monkeypatch.delenv("TRIAGE_TEST_UNSET_TOKEN", raising=False)
    asked = len(token_introspection.asked)
    with pytest.raises(ConfigError, match="TRIAGE_TEST_UNSET_TOKEN"):
        ingest.sync_source(oauth2_settings(oauth2_token_env="TRIAGE_TEST_UNSET_TOKEN"), "imap", db, "r1")
    assert len(token_introspection.asked) == asked

    # the token in the named variable is the one used (the default-named one would be refused)
    report = ingest.sync_source(oauth2_settings(oauth2_token_env="TRIAGE_TEST_OTHER_TOKEN"), "imap", db, "r1")
    assert report.fetched == 1
    assert token_introspection.asked[asked:] == [valid]


def test_password_login_still_works_and_a_token_is_no_password(
    dovecot: DovecotServer, imap_user: ImapUser, token_introspection: TokenIntrospection
) -> None:
    offered = pre_login_capabilities(dovecot)
    assert {b"AUTH=PLAIN", b"AUTH=LOGIN", b"AUTH=XOAUTH2", b"AUTH=OAUTHBEARER"} <= set(offered)
    with dovecot.client(imap_user) as c:  # LOGIN with the password: the passwd-file passdb
        assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    token = token_introspection.issue(imap_user)
    # LOGIN with the token as password: the oauth2 passdb serves only XOAUTH2 / OAUTHBEARER
    with pytest.raises(IMAPClient.Error), dovecot.client(ImapUser(imap_user.name, token, "")):
        pass
    assert token not in token_introspection.asked
