"""A real SMTP server on loopback for digest tests (aiosmtpd), optionally with STARTTLS or TLS and AUTH.

with SmtpServer(security="starttls", users={"triage": "s3cret"}, cert_dir=tmp_path) as srv:
    ... send to 127.0.0.1:srv.port, trust srv.ca_file ...
    srv.messages   # every accepted message: (envelope sender, recipients, parsed EmailMessage)
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

__all__ = ["Received", "SmtpServer", "make_self_signed_cert"]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    tls: bool
    login: str | None


def make_self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throw-away key and certificate for ``host`` (IP SAN), valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, srv: SMTPServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.server.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, srv: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        tls = srv.transport is not None and srv.transport.get_extra_info("ssl_object") is not None
        with self.server.lock:
            self.server.messages.append(
                Received(
                    str(envelope.mail_from),
                    tuple(envelope.rcpt_tos),
                    msg,
                    raw,
                    tls,
                    login,
                )
            )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    security: Literal["plain", "starttls", "tls"] = "plain"
    users: dict[str, str] = field(default_factory=dict)
    cert_dir: Path | None = None
    refuse: set[str] = field(default_factory=set)
    host: str = "127.0.0.1"
    port: int = 0
    ca_file: Path | None = None
    messages: list[Received] = field(default_factory=list)
    auth_attempts: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def _authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password
        with self.lock:
            self.auth_attempts.append((user, password))
        ok = self.users.get(user) is not None and self.users[user].encode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def __enter__(self) -> SmtpServer:
        self.port = self.port or _free_port()
        kwargs: dict[str, Any] = {"hostname": self.host, "port": self.port, "ready_timeout": 10}
        ctx = None
        if self.security != "plain":
            if self.cert_dir is None:
                raise ValueError("a TLS server needs cert_dir")
            cert, key = make_self_signed_cert(self.cert_dir, self.host)
            self.ca_file = cert
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
        if self.security == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        elif self.security == "tls":
            kwargs.update(ssl_context=ctx)
        if self.users:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.security == "starttls",
            )
        self._controller = Controller(_Handler(self), **kwargs)
        self._controller.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        """Messages delivered to ``address``."""
        with self.lock:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]
