"""IMAP connection: TLS / STARTTLS / explicitly allowed plaintext, login, and error mapping.

Every socket, TLS and IMAP error is mapped here to our own: bad credentials -> AuthenticationError
(the message names user and host, never the secret), a dropped or timed-out connection ->
ConnectionLostError (retryable), a certificate that does not verify or a TLS handshake that fails
on connect -> IngestError with a hint (retrying would not help).
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from triage.errors import AuthenticationError, ConnectionLostError, IngestError
from triage.log import get_logger, redact
from triage.settings import ImapSourceSettings

__all__ = ["IMAP_ERRORS", "ClientFactory", "connect", "map_error", "session", "where"]

log = get_logger("ingest.imap")

#: what a socket / TLS / IMAP failure can raise (mapped with :func:`map_error`)
IMAP_ERRORS = (OSError, EOFError, imaplib.IMAP4.error)

ClientFactory = Callable[[ImapSourceSettings], IMAPClient]


def where(src: ImapSourceSettings) -> str:
    return f"{src.host}:{src.effective_port}"


def map_error(e: BaseException, src: ImapSourceSettings, doing: str) -> IngestError:
    """Our error for a socket / TLS / IMAP failure (the message never carries a secret)."""
    at = where(src)
    if isinstance(e, ssl.SSLCertVerificationError):
        return IngestError(
            f"TLS certificate of IMAP server {at} (source {src.name!r}) could not be verified: "
            f"{e.verify_message or e.reason}. If the server uses a private CA or a self-signed certificate, "
            "set ca_file in this source to its PEM file"
        )
    handshake = doing in ("connecting", "starting TLS")
    if (
        handshake
        and isinstance(e, ssl.SSLError)
        and not isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError)
    ):
        return IngestError(
            f"TLS handshake with IMAP server {at} (source {src.name!r}) failed: {e.reason or e}. "
            f"Check security = {src.security!r} against the port: implicit TLS ('tls') is usually 993, "
            "'starttls' usually 143"
        )
    if isinstance(e, TimeoutError | socket.timeout):
        return ConnectionLostError(
            f"IMAP server {at} (source {src.name!r}) did not answer within {src.timeout_seconds:g} s "
            f"while {doing}"
        )
    if isinstance(e, OSError | EOFError | imaplib.IMAP4.abort):
        return ConnectionLostError(
            f"connection to IMAP server {at} (source {src.name!r}) lost while {doing}: {redact(str(e))}"
        )
    return IngestError(f"IMAP server {at} (source {src.name!r}) failed while {doing}: {redact(str(e))}")


def _ssl_context(src: ImapSourceSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(src.ca_file) if src.ca_file else None)
    except (OSError, ssl.SSLError) as e:
        raise IngestError(f"cannot load ca_file {src.ca_file} of source {src.name!r}: {e}") from e


def connect(src: ImapSourceSettings) -> IMAPClient:
    """Connect (TLS / STARTTLS / allowed plaintext) and authenticate; return a logged-in client."""
    if src.security == "plain" and not src.allow_plaintext:
        raise IngestError(
            f"source {src.name!r}: refusing plaintext IMAP to {where(src)} (set allow_plaintext = true)"
        )
    # read the secret before connecting: a missing variable is a config error, not a network one
    token = src.oauth2_token()
    password = None if token is not None else src.password()
    ctx = _ssl_context(src) if src.security != "plain" else None
    try:
        client = IMAPClient(
            src.host,
            src.effective_port,
            ssl=src.security == "tls",
            ssl_context=ctx,
            timeout=src.timeout_seconds,
        )
    except IMAP_ERRORS as e:
        raise map_error(e, src, "connecting") from e
    try:
        if src.security == "starttls":
            try:
                client.starttls(ctx)
            except CapabilityError as e:
                raise IngestError(
                    f"IMAP server {where(src)} does not offer STARTTLS; refusing to log in over an "
                    "unencrypted connection (use security = 'tls', or security = 'plain' with "
                    "allow_plaintext = true)"
                ) from e
            except IMAP_ERRORS as e:
                raise map_error(e, src, "starting TLS") from e
        _login(
            client,
            src,
            password.get_secret_value() if password else None,
            token.get_secret_value() if token else None,
        )
        client.normalise_times = False
    except BaseException:
        _close(client)
        raise
    return client


def _login(client: IMAPClient, src: ImapSourceSettings, password: str | None, token: str | None) -> None:
    try:
        if token is not None:
            client.oauth2_login(src.username, token)
        else:
            assert password is not None
            client.login(src.username, password)
    except LoginError as e:
        cause = e.__context__
        if isinstance(cause, OSError | EOFError | imaplib.IMAP4.abort):
            raise map_error(cause, src, "logging in") from None
        how = "XOAUTH2 token" if token is not None else "password"
        raise AuthenticationError(
            f"IMAP server {where(src)} refused the {how} of user {src.username!r} (source {src.name!r}): "
            f"{redact(_server_text(e))}"
        ) from None
    except IMAP_ERRORS as e:
        raise map_error(e, src, "logging in") from None


def _server_text(e: BaseException) -> str:
    text = str(e)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except IMAP_ERRORS as e:
        log.debug("IMAP logout failed (%s); closing the socket", e)
        try:
            client.shutdown()
        except IMAP_ERRORS as e2:
            log.debug("IMAP shutdown failed too: %s", e2)


@contextmanager
def session(src: ImapSourceSettings, factory: ClientFactory) -> Iterator[IMAPClient]:
    client = factory(src)
    try:
        yield client
    finally:
        _close(client)
