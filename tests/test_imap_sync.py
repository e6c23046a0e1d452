"""IMAP source against a real Dovecot on loopback, into a real DuckDB file."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.dovecot import (  # noqa: F401  (fixtures)
    DovecotServer,
    ImapUser,
    dovecot_fixture,
    enron_dev_files,
    free_port,
    imap_user_fixture,
    is_enron_sent,
)
from triage import ingest, progress
from triage.db import Database
from triage.errors import AuthenticationError, ConfigError, ConnectionLostError, IngestError
from triage.ingest.imap import connect
from triage.ingest.keys import identify
from triage.settings import ImapSourceSettings, Settings

pytestmark = pytest.mark.slow

MakeSettings = Callable[..., Settings]
SEEN = b"\\Seen"


def rows(db: Database, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql, params or []).fetchall()


def count(db: Database, sql: str, params: list[Any] | None = None) -> int:
    return int(rows(db, sql, params)[0][0])


def message(n: int, tag: str = "m", body: str = "hello") -> bytes:
    return (
        f"Message-ID: <{tag}-{n}@client.example>\r\nFrom: Client <c@client.example>\r\n"
        f"To: am@us.example\r\nSubject: note {n}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def enron(shared_data: Path) -> dict[str, list[bytes]]:
    """Dev Enron messages split into what goes to INBOX and to Sent."""
    out: dict[str, list[bytes]] = {"INBOX": [], "Sent": []}
    for _custodian, folder, path in enron_dev_files(shared_data):
        out["Sent" if is_enron_sent(folder) else "INBOX"].append(path.read_bytes())
    return out


@pytest.fixture
def imap_settings(
    make_settings: MakeSettings, dovecot: DovecotServer, imap_user: ImapUser
) -> Callable[..., Settings]:
    def _make(**extra: Any) -> Settings:
        security = extra.pop("security", "tls")
        return make_settings(dovecot.source_toml(imap_user, security=security, **extra))

    return _make


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_and_starttls_verify_the_server_certificate(
    security: str,
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    imap_settings: Callable[..., Settings],
) -> None:
    dovecot.append(imap_user, "INBOX", [message(i) for i in range(3)])
    dovecot.create_folder(imap_user, "Sent")
    report = ingest.sync_source(imap_settings(security=security), "imap", db, "r1")
    assert (report.fetched, report.already_known, report.quarantined, report.folders) == (3, 0, 0, 2)
    uidvalidity = dovecot.uidvalidity(imap_user, "INBOX")
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    links = sorted(r[0] for r in rows(db, "SELECT link FROM raw_messages"))
    assert links == [
        f"imap://{imap_user.name}@127.0.0.1:{port}/INBOX;UIDVALIDITY={uidvalidity}/;UID={uid}"
        for uid in (1, 2, 3)
    ]
    assert all(imap_user.password not in link for link in links)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_untrusted_certificate_is_a_clear_error_with_a_hint(
    security: str, db: Database, dovecot: DovecotServer, imap_user: ImapUser, make_settings: MakeSettings
) -> None:
    toml = dovecot.source_toml(imap_user, security=security).replace(f'ca_file = "{dovecot.ca_file}"\n', "")
    with pytest.raises(IngestError, match=r"could not be verified.*set ca_file") as err:
        ingest.sync_source(make_settings(toml), "imap", db, "r1")
    assert not isinstance(err.value, ConnectionLostError)  # retrying would not help


def test_implicit_tls_on_the_starttls_port_says_to_check_the_port(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, make_settings: MakeSettings
) -> None:
    toml = dovecot.source_toml(imap_user).replace(
        f"port = {dovecot.imaps_port}", f"port = {dovecot.imap_port}"
    )
    with pytest.raises(
        IngestError, match=r"TLS handshake .* failed.*Check security = 'tls' against the port"
    ) as err:
        ingest.sync_source(make_settings(toml), "imap", db, "r1")
    assert not isinstance(err.value, ConnectionLostError)


def test_plaintext_is_refused_unless_allowed(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, make_settings: MakeSettings
) -> None:
    with pytest.raises(ConfigError, match="allow_plaintext"):
        make_settings(dovecot.source_toml(imap_user, security="plain"))
    # even a settings object built around validation never reaches the network in clear
    sneaky = ImapSourceSettings.model_construct(
        name="x",
        host="127.0.0.1",
        port=dovecot.imap_port,
        security="plain",
        allow_plaintext=False,
        username=imap_user.name,
        password_env=imap_user.password_env,
    )
    with pytest.raises(IngestError, match="refusing plaintext"):
        connect(sneaky)
    # explicitly allowed (loopback test server): works
    dovecot.append(imap_user, "INBOX", [message(1)])
    dovecot.create_folder(imap_user, "Sent")
    allowed = make_settings(dovecot.source_toml(imap_user, security="plain", allow_plaintext=True))
    assert ingest.sync_source(allowed, "imap", db, "r1").fetched == 1


def test_enron_inbox_and_sent_stored_once_flags_untouched_and_incremental(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    imap_settings: Callable[..., Settings],
    enron: dict[str, list[bytes]],
) -> None:
    inbox, sent = enron["INBOX"], enron["Sent"]
    half = len(inbox) // 2
    dovecot.append(imap_user, "INBOX", inbox[:half], flags=[SEEN])  # read ones...
    dovecot.append(imap_user, "INBOX", inbox[half:])  # ...and unread ones
    dovecot.append(imap_user, "Sent", sent, flags=[SEEN])
    dovecot.append(imap_user, "INBOX", sent[:5])  # cc'd to ourselves: in both folders
    flags_before = {f: dovecot.flags(imap_user, f) for f in ("INBOX", "Sent")}
    settings = imap_settings(batch_size=100)

    first = ingest.sync_source(settings, "imap", db, "r1")
    total = len(inbox) + len(sent)
    assert total == 928
    assert (first.fetched, first.already_known, first.quarantined) == (total, 5, 0)
    assert count(db, "SELECT count(*) FROM raw_messages") == total
    assert count(db, "SELECT count(DISTINCT message_id) FROM raw_messages") == total
    assert count(db, "SELECT count(*) FROM message_locations") == total + 5
    assert count(db, "SELECT count(*) FROM raw_messages WHERE is_sent_folder") == len(sent)
    stored_keys = {r[0] for r in rows(db, "SELECT message_key FROM raw_messages")}
    assert stored_keys == {identify(m).message_key for m in inbox + sent}
    # nothing was marked seen (or changed in any way) on the server
    assert {f: dovecot.flags(imap_user, f) for f in ("INBOX", "Sent")} == flags_before
    unread = sum(1 for fl in flags_before["INBOX"].values() if SEEN not in fl)
    assert unread == len(inbox) - half + 5
    marks = dict(rows(db, "SELECT folder, last_uid FROM sync_state WHERE source = 'imap'"))
    assert marks == {"INBOX": len(inbox) + 5, "Sent": len(sent)}

    second = ingest.sync_source(settings, "imap", db, "r2")
    assert (second.fetched, second.already_known, second.quarantined) == (0, 0, 0)

    dovecot.append(imap_user, "INBOX", [message(i, "new") for i in range(7)])
    dovecot.append(imap_user, "Sent", [message(i, "reply") for i in range(2)])
    third = ingest.sync_source(settings, "imap", db, "r3")
    assert (third.fetched, third.already_known, third.quarantined) == (9, 0, 0)
    assert count(db, "SELECT count(*) FROM raw_messages WHERE run_id = 'r3'") == 9
    assert count(db, "SELECT count(*) FROM raw_messages") == total + 9


def test_uidvalidity_change_resyncs_without_duplicates(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, imap_settings: Callable[..., Settings]
) -> None:
    msgs = [message(i, "acme") for i in range(12)]
    dovecot.append(imap_user, "Clients", msgs)
    dovecot.create_folder(imap_user, "Sent")
    settings = imap_settings(folders=["INBOX", "Clients"], batch_size=5)
    first = ingest.sync_source(settings, "imap", db, "r1")
    assert first.fetched == 12
    old = dovecot.uidvalidity(imap_user, "Clients")

    dovecot.delete_folder(imap_user, "Clients")
    dovecot.append(imap_user, "Clients", [*msgs, message(99, "acme")])
    new = dovecot.uidvalidity(imap_user, "Clients")
    assert new != old
    again = ingest.sync_source(settings, "imap", db, "r2")
    assert (again.fetched, again.already_known) == (1, 12)
    assert count(db, "SELECT count(*) FROM raw_messages") == 13
    epochs = dict(
        rows(db, "SELECT uidvalidity, count(*) FROM message_locations WHERE folder = 'Clients' GROUP BY 1")
    )
    assert epochs == {old: 12, new: 13}
    assert rows(db, "SELECT uidvalidity, last_uid FROM sync_state WHERE folder = 'Clients'") == [(new, 13)]


class _KillServerAfterFirstBatch:
    """A progress reporter that crashes the IMAP server as soon as the first batch is stored."""

    def __init__(self, server: DovecotServer) -> None:
        self.server = server
        self.advanced = 0

    def start(self, description: str, total: int | None) -> int:
        return 1

    def advance(self, handle: int, n: int) -> None:
        self.advanced += n
        if self.server.is_running():
            self.server.kill()

    def stop(self, handle: int) -> None:
        return None


@pytest.fixture
def kill_on_progress(dovecot: DovecotServer) -> Iterator[_KillServerAfterFirstBatch]:
    reporter = _KillServerAfterFirstBatch(dovecot)
    progress.set_reporter(reporter)
    try:
        yield reporter
    finally:
        progress.set_reporter(None)
        if not dovecot.is_running():
            dovecot.start()


def test_server_killed_mid_fetch_then_rerun_loses_nothing(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    imap_settings: Callable[..., Settings],
    enron: dict[str, list[bytes]],
    kill_on_progress: _KillServerAfterFirstBatch,
) -> None:
    msgs = enron["INBOX"]
    dovecot.append(imap_user, "INBOX", msgs)
    dovecot.create_folder(imap_user, "Sent")
    settings = imap_settings(batch_size=50, timeout_seconds=10)

    with pytest.raises(ConnectionLostError, match="lost while fetching folder 'INBOX'"):
        ingest.sync_source(settings, "imap", db, "r1")
    assert kill_on_progress.advanced == 50  # progress is reported only for committed batches
    # whole batches were committed together with their watermark (the batch fetched before the
    # crash may have been committed too); nothing else
    stored = count(db, "SELECT count(*) FROM raw_messages")
    assert stored % 50 == 0 and 50 <= stored < len(msgs)
    assert rows(db, "SELECT last_uid FROM sync_state WHERE folder = 'INBOX'") == [(stored,)]
    assert count(db, "SELECT max(CAST(location AS INTEGER)) FROM message_locations") == stored

    progress.set_reporter(None)
    dovecot.start()
    resumed = ingest.sync_source(settings, "imap", db, "r2")
    assert (resumed.fetched, resumed.already_known) == (len(msgs) - stored, 0)
    assert count(db, "SELECT count(*) FROM raw_messages") == len(msgs)
    assert count(db, "SELECT count(*) FROM message_locations") == len(msgs)
    assert {r[0] for r in rows(db, "SELECT message_key FROM raw_messages")} == {
        identify(m).message_key for m in msgs
    }


def test_unreachable_server_is_a_connection_error(
    db: Database, imap_user: ImapUser, make_settings: MakeSettings, dovecot: DovecotServer
) -> None:
    toml = dovecot.source_toml(imap_user).replace(f"port = {dovecot.imaps_port}", f"port = {free_port()}")
    with pytest.raises(ConnectionLostError, match="while connecting"):
        ingest.sync_source(make_settings(toml), "imap", db, "r1")


def test_silent_server_times_out_as_a_connection_error(
    db: Database, imap_user: ImapUser, make_settings: MakeSettings, dovecot: DovecotServer
) -> None:
    with socket.socket() as silent:  # accepts the connection, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        toml = dovecot.source_toml(imap_user, timeout_seconds=1).replace(
            f"port = {dovecot.imaps_port}", f"port = {port}"
        )
        with pytest.raises(ConnectionLostError, match="did not answer within 1 s"):
            ingest.sync_source(make_settings(toml), "imap", db, "r1")


def test_wrong_password_is_a_clear_error_and_no_secret_is_logged(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    imap_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Wr0ng-Pa55word-" + imap_user.password[-8:]
    monkeypatch.setenv(imap_user.password_env, wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as err:
        ingest.sync_source(imap_settings(), "imap", db, "r1")
    text = str(err.value)
    assert imap_user.name in text and "127.0.0.1" in text and "refused the password" in text
    assert wrong not in text and imap_user.password not in text
    assert caplog.records  # imapclient logged the conversation at DEBUG...
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert wrong not in logged and imap_user.password not in logged  # ...without the secret
    assert not isinstance(err.value, ConnectionLostError)


def test_oauth2_token_is_used_and_never_logged(
    db: Database,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    imap_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "ya29.test-token-" + imap_user.password[-10:]
    monkeypatch.setenv("TRIAGE_TEST_IMAP_TOKEN", token)
    caplog.set_level(logging.DEBUG)
    # this Dovecot has no OAuth2 passdb: XOAUTH2 is attempted and refused
    with pytest.raises(AuthenticationError, match="refused the XOAUTH2 token") as err:
        ingest.sync_source(imap_settings(oauth2_token_env="TRIAGE_TEST_IMAP_TOKEN"), "imap", db, "r1")
    assert token not in str(err.value)
    assert token not in "\n".join(r.getMessage() for r in caplog.records)


def test_missing_password_variable_is_a_config_error(
    db: Database, imap_user: ImapUser, imap_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(imap_user.password_env)
    with pytest.raises(ConfigError, match=imap_user.password_env):
        ingest.sync_source(imap_settings(), "imap", db, "r1")


def test_oversized_and_empty_messages_are_quarantined_and_the_rest_stored(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, imap_settings: Callable[..., Settings]
) -> None:
    big = message(1, "big", body="x" * 60_000)
    # Dovecot refuses to store a zero-byte message: a blank line is as empty as it gets there
    dovecot.append(imap_user, "INBOX", [message(0), big, b"\r\n", message(2)])
    dovecot.append(imap_user, "Sent", [big])  # the same big mail in Sent: one quarantine row
    settings = imap_settings(max_message_bytes=50_000, batch_size=2)
    report = ingest.sync_source(settings, "imap", db, "r1")
    assert (report.fetched, report.quarantined) == (2, 2)
    got = {
        r[0]: r[1:] for r in rows(db, "SELECT reason, item_key, location, size_bytes, stage FROM quarantine")
    }
    assert set(got) == {"too_large", "empty"}
    assert got["too_large"][0] == identify(big).message_key
    assert got["too_large"][1].startswith("INBOX;UIDVALIDITY=") and got["too_large"][1].endswith(";UID=2")
    assert got["too_large"][2] > 50_000 and got["too_large"][3] == "ingest"
    # handled: the watermark is past them and a re-run neither refetches nor re-counts them
    assert dict(rows(db, "SELECT folder, last_uid FROM sync_state")) == {"INBOX": 4, "Sent": 1}
    again = ingest.sync_source(settings, "imap", db, "r2")
    assert (again.fetched, again.quarantined) == (0, 0)


def test_missing_folder_names_it_and_lists_what_exists(
    db: Database, dovecot: DovecotServer, imap_user: ImapUser, imap_settings: Callable[..., Settings]
) -> None:
    dovecot.create_folder(imap_user, "Archive")
    dovecot.create_folder(imap_user, "Sent")
    with pytest.raises(
        IngestError,
        match=r"'Sent Items' not found .*folders there: Archive, INBOX, Sent\. The server marks 'Sent' as",
    ):
        ingest.sync_source(imap_settings(sent_folders=["Sent Items"]), "imap", db, "r1")
    assert count(db, "SELECT count(*) FROM sync_state") == 0  # checked before fetching anything
