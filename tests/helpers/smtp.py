"""A real SMTP server on loopback for the outbox tests (aiosmtpd): plain,
STARTTLS or implicit TLS, with AUTH, answering each message as told
(250, or 451/550 to test retries), and keeping exactly what it received.
The certificate is a throwaway self-signed one made with `openssl`."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "servicedesk@helse.example.no", "hemmelig-passord-æøå-42"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost, valid two days; the
    certificate is its own CA (the tests' mail.smtp.ca_file)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Handler:
    """Answers DATA with the next of ``answers`` (the last one repeats)."""

    answers: list[str] = field(default_factory=lambda: ["250 2.0.0 OK"])
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer.startswith("250"):
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
        return answer

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            if auth_data.login == USER.encode() and auth_data.password == \
                    PASSWORD.encode("utf-8"):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@contextlib.contextmanager
def server(security: str, cert: tuple[Path, Path], answers: list[str] | None = None,
           auth: bool = True, smtputf8: bool = True) -> Iterator[tuple[Handler, int]]:
    """A server on 127.0.0.1 at a free port: ``security`` starttls (TLS
    required before AUTH and MAIL) or tls (implicit). Yields the handler
    (what it received) and the port."""
    handler = Handler(answers=list(answers or ["250 2.0.0 OK"]))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    port = free_port()
    options: dict[str, Any] = {"authenticator": handler.authenticate if auth else None,
                               "enable_SMTPUTF8": smtputf8}
    if security == "tls":
        # The whole connection is TLS, which aiosmtpd's auth_require_tls
        # does not see (it watches for STARTTLS): AUTH is offered as is.
        options["auth_require_tls"] = False
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                server_hostname="localhost", **options)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                tls_context=context, require_starttls=True, **options)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
