"""The doctor: find out what each port of a mail host really speaks, and which settings will work.

    report = examine("smtp.example.com", user="me@example.com", password=os.environ["SMTP_PASSWORD"])
    print(report.text())             # every port, the warnings, the recommendation and code to paste
    report.recommendation            # None when no working submission setting was found
    report.to_json()                 # the same for tools

    python -m helpers.doctor smtp.example.com [--port 465 ...] [--timeout S] [--json]
                             [--user U --password-env VAR [--from ADDR]] [--ca-file PATH]

Ports 25, 465, 587 and 2525 are probed at once, each in its own thread, in two phases of at most one
timeout each: recognising what the port speaks, then talking to it. A port that keeps silent costs one
timeout, so the whole run takes about one timeout.

Recognising. The doctor connects and waits GREETING_SHARE of the timeout for the server's first bytes,
which it peeks at (leaving them unread, for smtplib to read as the greeting):

    refused        the connection is refused: nothing listens there
    no answer      the connection attempt times out: a firewall drops it (many networks block outbound 25)
    smtp           a plaintext SMTP greeting (220) comes first
    not-smtp       plaintext that is not an SMTP reply: an HTTP server, binary junk
    smtp-broken    an SMTP reply that is no greeting (421, 554), a greeting cut off, endless or never
                   finished; later, an EHLO refused or a connection that closes after the greeting

If nothing comes, or the server hangs up without a word (as a TLS port does to a plaintext client), it
may be waiting for a TLS ClientHello, so the doctor tries a handshake, on a new connection, with the
rest of the timeout:

    implicit-tls   the handshake works (or fails only on the certificate), then a 220 greeting comes
    tls-not-smtp   the handshake works, then no SMTP greeting
    silent         no greeting, and no TLS either

Talking, with smtplib only: EHLO; STARTTLS when offered, then EHLO again; with credentials, AUTH over
verified TLS only, and with a sender, MAIL FROM then RCPT TO that same address, then RSET: no message is
ever sent. Then QUIT. Every reply is read under the phase's deadline and no more than MAX_REPLY_BYTES of
replies are kept, so a server that trickles, floods or sends junk costs one timeout and little memory.

Certificates are verified against the system's trust store, or the CA file given. When verification
fails, a second handshake that does not verify is made, only to inspect the certificate for the report;
no password and no mail ever go over it, and the code the doctor recommends always verifies.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import math
import os
import re
import smtplib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509

from helpers.client import EHLO_NAME
from helpers.snippets import EXAMPLE_USER, go_code, python_code
from helpers.snippets import PASSWORD_VARIABLE as PASSWORD_VARIABLE  # where the recommended code reads it
from helpers.terms import Security

__all__ = ["DEFAULT_PORTS", "DEFAULT_TIMEOUT", "BadUsage", "Certificate", "PortResult", "Recommendation", "Report",
           "examine", "main"]

DEFAULT_PORTS = (25, 465, 587, 2525)
DEFAULT_TIMEOUT = 5.0  # seconds for each phase of each port's probe
GREETING_SHARE = 0.5  # of the timeout: how long a port may keep silent before the doctor tries TLS on it
MAX_REPLY_BYTES = 64 * 1024  # replies kept per connection; a real EHLO reply is well under 1 KiB
PEEK_BYTES = 512  # of the first bytes, enough to tell what a port speaks and to quote it
QUOTED_CHARS = 60  # of something that is not SMTP, shown in the report
EXPIRY_WARNING_DAYS = 14  # a certificate expiring sooner is a danger sign
DAYS_LEFT_SHOWN_BELOW = 30  # "N days left" is shown only then: the report stays the same from day to day
SUBMISSION_PORTS = (465, 587, 2525)  # in order of preference (RFC 8314 section 3: implicit TLS first)
STARTTLS_PORTS = (587, 2525)  # submission ports that must offer STARTTLS

# What a port speaks (see the module docstring).
REFUSED, NO_ANSWER, SILENT = "refused", "no answer", "silent"
SMTP, IMPLICIT_TLS, SMTP_BROKEN = "smtp", "implicit-tls", "smtp-broken"
NOT_SMTP, TLS_NOT_SMTP = "not-smtp", "tls-not-smtp"
IMPLICIT, STARTTLS = "implicit", "starttls"  # how TLS started
_TLS_WORDS = {IMPLICIT: "implicit TLS", STARTTLS: "STARTTLS"}


class BadUsage(ValueError):
    """The doctor cannot do what it was asked: a host that does not resolve, a port out of range..."""


@dataclass(frozen=True)
class Certificate:
    """The server's certificate, as the doctor read it. Dates are days (YYYY-MM-DD), in UTC."""

    subject: str
    names: list[str]  # subject alternative names: DNS names and IP addresses
    issuer: str
    not_before: str
    not_after: str
    days_left: int  # negative once expired
    not_yet_valid: bool
    name_matches: bool  # the host name the doctor was given is among the names


@dataclass
class PortResult:
    """What one port speaks and offers. `port` is where the doctor connected, `acts_as` the port named in
    the report and the code (they differ when a mapping names an OS-chosen port, as the lab's are)."""

    port: int
    acts_as: int
    speaks: str = ""
    detail: str = ""  # why it was classified so, or what went wrong, in words
    address: str | None = None  # the IP address that answered
    banner: str | None = None
    capabilities: dict[str, str] | None = None  # EHLO keywords before TLS (upper case) and their parameters
    tls: str | None = None  # "implicit" or "starttls" once a handshake got as far as the certificate
    verified: bool | None = None  # chain and host name, against the system's trust store or the CA file
    verify_error: str | None = None  # OpenSSL's reason when not verified
    tls_version: str | None = None
    cipher: str | None = None
    tls_error: str | None = None  # STARTTLS offered but failing, or a certificate that could not be inspected
    certificate: Certificate | None = None
    capabilities_after_tls: dict[str, str] | None = None
    auth: str | None = None  # with credentials: "ok", or why not ("failed: 535 ...", "not tried: ...")
    sender: str | None = None  # with a sender: "accepted", or "refused at RCPT TO: 553 ..."
    warnings: list[str] = field(default_factory=list)  # danger signs
    problem: str | None = None  # why this port is no use for submission; None when it works

    @property
    def works(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """One line: the port, what it speaks, and whether it will do for sending mail."""
        line = f"port {self.acts_as}: {self.speaks}"
        if self.speaks in (SMTP, IMPLICIT_TLS):
            return f"{line} - {'works for submission' if self.works else self.problem}"
        return f"{line} - {self.detail}" if self.detail else line


@dataclass(frozen=True)
class Recommendation:
    """The settings to use: the port (as the report names it) and how TLS starts, with code to paste."""

    port: int
    security: str  # "implicit" or "starttls"
    reason: str
    alternatives: list[str]
    python: str
    go: str


@dataclass
class Report:
    """Everything the doctor found on one host."""

    host: str
    ports: list[PortResult]
    recommendation: Recommendation | None
    credentials_tested: bool
    ca_file: str | None

    @property
    def warnings(self) -> list[str]:
        return [f"port {result.acts_as}: {sign}" for result in self.ports for sign in result.warnings]

    def text(self) -> str:
        """The report for people; the same text for the same server (no timings, dates or OS-chosen ports)."""
        trust = "the given CA file" if self.ca_file else "the system's trust store"
        listed = ", ".join(str(result.acts_as) for result in self.ports)
        lines = [f"SMTP doctor for {self.host} (ports {listed})", ""]
        for result in self.ports:
            lines += [*_port_lines(result, trust), ""]
        if self.warnings:
            lines += ["Warnings", *(f"  ! {warning}" for warning in self.warnings), ""]
        lines += _recommendation_lines(self)
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "warnings": self.warnings}, indent=2)

    __str__ = __repr__ = text  # a notebook shows the report itself, not a dataclass repr


def examine(
    host: str,
    *,
    ports: Iterable[int] | Mapping[int, int] = DEFAULT_PORTS,
    timeout: float = DEFAULT_TIMEOUT,
    user: str | None = None,
    password: str | None = None,
    mail_from: str | None = None,
    ca_file: str | Path | None = None,
    on_port_done: Callable[[PortResult], None] | None = None,
) -> Report:
    """Probe `ports` of `host` at once and recommend settings. `ports` is a list of port numbers, or a
    mapping {port to connect to: the port it acts as}. With `user` and `password`, AUTH is tried on each
    port that offers it over verified TLS; with `mail_from` too, whether that sender is accepted (no
    mail is sent). `on_port_done` is called with each port's result as it finishes, from its thread.
    Raises BadUsage (a ValueError) for what can be seen before connecting."""
    named = _named_ports(ports)
    run = _prepare(host, timeout, user, password, mail_from, ca_file)

    def probe(port: int) -> PortResult:
        result = _probe(run, port, named[port])
        if on_port_done is not None:
            on_port_done(result)
        return result

    with ThreadPoolExecutor(max_workers=len(named), thread_name_prefix="smtp-doctor") as pool:
        results = list(pool.map(probe, named))
    return Report(run.host, results, _recommend(run, results), user is not None, str(ca_file) if ca_file else None)


# --------------------------------------------------------------------------------------------------
# Checks made before connecting


@dataclass(frozen=True)
class _Run:
    """What every port's probe needs to know."""

    host: str
    addresses: list[tuple[int, tuple]]  # (family, socket address), in getaddrinfo's order
    timeout: float
    user: str | None
    password: str | None = field(repr=False)
    mail_from: str | None
    ca_file: str | None
    verifying: ssl.SSLContext
    inspecting: ssl.SSLContext


def _prepare(host: str, timeout: float, user: str | None, password: str | None, mail_from: str | None,
             ca_file: str | Path | None) -> _Run:
    if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise BadUsage(f"timeout {timeout!r} should be a number of seconds above 0")
    if (user is None) != (password is None):
        raise BadUsage("give both a user and a password, or neither")
    if mail_from is not None:
        if user is None:
            raise BadUsage("a sender to check needs a user and password: it is checked after AUTH")
        if mail_from.count("@") != 1 or any(c in mail_from for c in " <>\r\n\t,"):
            raise BadUsage(f"{mail_from!r} is not an email address (like alice@example.com)")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # [::1] as in a URL
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else "not a valid host name"
        raise BadUsage(f"cannot resolve host {host!r} ({reason}); check the spelling") from None
    addresses = list(dict.fromkeys((family, address) for family, _, _, _, address in found))
    ca_file = str(ca_file) if ca_file else None
    try:
        verifying = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise BadUsage(f"cannot use the CA file {ca_file}: {error.strerror or error}") from None
    return _Run(host, addresses, float(timeout), user, password, mail_from, ca_file, verifying, _inspecting_context())


def _inspecting_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Only to inspect a certificate that failed verification, for the report: nothing is sent over a
    # connection made with this context but EHLO and QUIT (see _inspect and _inspect_after_starttls).
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _named_ports(ports: Iterable[int] | Mapping[int, int]) -> dict[int, int]:
    named = dict(ports) if isinstance(ports, Mapping) else {port: port for port in ports}
    if not named:
        raise BadUsage("no ports to probe")
    for port in [*named, *named.values()]:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BadUsage(f"port {port!r} is out of range: use 1-65535")
    return named


# --------------------------------------------------------------------------------------------------
# Probing one port


class _Reader:
    """What smtplib reads replies from, instead of sock.makefile(): lines read under a deadline, and no
    more than MAX_REPLY_BYTES in all, so a server that trickles bytes or floods lines cannot hold the
    doctor beyond its timeout or fill its memory. Keeps the first bytes, to quote what is not SMTP."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline
        self.buffer = self.head = b""
        self.received = 0

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit):
            if self.received > MAX_REPLY_BYTES:
                raise OSError(f"more than {MAX_REPLY_BYTES} bytes of replies")
            self.sock.settimeout(_remaining(self.deadline))
            chunk = self.sock.recv(PEEK_BYTES)
            if not chunk:
                break
            self.received += len(chunk)
            self.buffer += chunk
            self.head = self.head or chunk
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        """Nothing to release: smtplib closes the socket itself."""


class _SMTP(smtplib.SMTP):
    """smtplib over a connection the doctor made (and perhaps put TLS on) itself, reading through a
    _Reader. Construction reads the greeting, as smtplib.SMTP(host, port) does; `greeting` keeps it."""

    def __init__(self, reader: _Reader, host: str, port: int) -> None:
        self.reader = reader
        self.greeting: tuple[int, bytes] | None = None
        super().__init__(host, port, local_hostname=EHLO_NAME)

    def _get_socket(self, host, port, timeout):
        return self.reader.sock

    def connect(self, host="localhost", port=0, source_address=None):
        self.greeting = super().connect(host, port, source_address)
        return self.greeting

    def getreply(self):
        if self.file is None:  # the first reply, or the first after STARTTLS put TLS on a new socket
            if self.reader.sock is not self.sock:
                self.reader = _Reader(self.sock, self.reader.deadline)
            self.file = self.reader
        return super().getreply()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _probe(run: _Run, port: int, acts_as: int) -> PortResult:
    result = PortResult(port, acts_as)
    smtp = _recognise(run, result, time.monotonic() + run.timeout)
    if smtp is not None:
        smtp.reader.deadline = time.monotonic() + run.timeout
        _converse(run, result, smtp)
    result.warnings = _danger_signs(result)
    result.problem = _problem(run, result)
    return result


def _connect(run: _Run, port: int, deadline: float) -> socket.socket:
    """Connect to the first of the host's addresses that accepts, all within the deadline."""
    errors: list[OSError] = []
    for family, address in run.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect((address[0], port, *address[2:]))
            return sock
        except OSError as error:
            sock.close()
            errors.append(error)
    # A timeout says more than a refusal from another address (a filtered port, not a closed one).
    timeouts = [error for error in errors if isinstance(error, TimeoutError)]
    raise (timeouts or errors)[0]


def _recognise(run: _Run, result: PortResult, deadline: float) -> _SMTP | None:
    """Find out what the port speaks; return smtplib connected and greeted, or None when done."""
    try:
        sock = _connect(run, result.port, deadline)
    except TimeoutError:
        result.speaks, result.detail = NO_ANSWER, f"no answer to the connection attempt within {run.timeout:g} s"
        return None
    except ConnectionRefusedError:
        result.speaks, result.detail = REFUSED, "connection refused: nothing listens there"
        return None
    except OSError as error:
        result.speaks, result.detail = NO_ANSWER, f"cannot connect: {error.strerror or error}"
        return None
    try:
        result.address = sock.getpeername()[0]
        # Peeked, not read: smtplib reads the greeting itself once the bytes show it is one.
        sock.settimeout(min(run.timeout * GREETING_SHARE, _remaining(deadline)))
        first = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
    except OSError:  # a timeout, or a reset: nothing was said
        first = b""
    if not first:  # silent, or it hung up without a word: TLS ports do either to a plaintext client
        sock.close()
        return _implicit_tls(run, result, deadline)
    if not _looks_like_reply(first):
        sock.close()
        result.speaks, result.detail = NOT_SMTP, f"it answered {_quote(first)}{_http_hint(first)}"
        return None
    return _greet(result, _Reader(sock, deadline), run.host)


def _implicit_tls(run: _Run, result: PortResult, deadline: float) -> _SMTP | None:
    """No greeting came: perhaps the port waits for a TLS ClientHello, as 465 does. The handshake goes on a
    new connection: on the silent one, the server's own wait for a ClientHello may be running out."""
    try:
        sock = _connect(run, result.port, deadline)
    except OSError as error:
        result.speaks, result.detail = SILENT, f"no greeting, and connecting again failed: {_reason(error)}"
        return None
    silent_for = f"{run.timeout * GREETING_SHARE:g} s"
    try:
        sock.settimeout(_remaining(deadline))
        secure = run.verifying.wrap_socket(sock, server_hostname=run.host)
    except ssl.SSLCertVerificationError as error:
        # The port speaks TLS; only its certificate fails. Look at it over a connection of its own.
        result.tls, result.verified, result.verify_error = IMPLICIT, False, error.verify_message
        return _inspect(run, result, deadline)
    except TimeoutError:
        result.speaks, result.detail = SILENT, f"no greeting within {silent_for}, and no TLS handshake either"
        return None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError):
        result.speaks, result.detail = SILENT, f"no greeting within {silent_for}; it hangs up on a TLS handshake"
        return None
    except OSError as error:
        result.speaks, result.detail = SILENT, f"no greeting within {silent_for}, and no TLS either ({_reason(error)})"
        return None
    finally:
        sock.close()  # wrap_socket moved the connection into an SSLSocket, or failed: this one is spent
    result.tls, result.verified = IMPLICIT, True
    _record_tls(run, result, secure)
    return _greet(result, _Reader(secure, deadline), run.host)


def _inspect(run: _Run, result: PortResult, deadline: float) -> _SMTP | None:
    """An implicit-TLS port whose certificate fails verification: connect again without verifying, only
    to inspect the certificate and what the server says; _converse sends no password over it."""
    try:
        secure = run.inspecting.wrap_socket(_connect(run, result.port, deadline), server_hostname=run.host)
    except OSError as error:
        result.speaks, result.tls_error = IMPLICIT_TLS, f"the certificate could not be inspected: {_reason(error)}"
        return None
    _record_tls(run, result, secure)
    return _greet(result, _Reader(secure, deadline), run.host)


def _greet(result: PortResult, reader: _Reader, host: str) -> _SMTP | None:
    """Hand the connection to smtplib, which reads the greeting."""
    tls = isinstance(reader.sock, ssl.SSLSocket)
    try:
        smtp = _SMTP(reader, host, result.port)
    except (smtplib.SMTPException, OSError) as error:
        reader.sock.close()
        if isinstance(error, smtplib.SMTPConnectError) and error.smtp_code >= 0:
            result.banner = _banner(error.smtp_code, error.smtp_error)
            result.speaks, result.detail = SMTP_BROKEN, f"it greets with {error.smtp_code}: it takes no mail now"
        elif _looks_like_reply(reader.head):
            result.speaks, result.detail = SMTP_BROKEN, f"its greeting went wrong: {_reason(error)}"
        elif reader.head:
            result.speaks = TLS_NOT_SMTP if tls else NOT_SMTP
            result.detail = f"{'after TLS ' if tls else ''}it answered {_quote(reader.head)}{_http_hint(reader.head)}"
        else:
            result.speaks, result.detail = TLS_NOT_SMTP, f"no greeting after the TLS handshake ({_reason(error)})"
        return None
    result.speaks = IMPLICIT_TLS if tls else SMTP
    result.banner = _banner(*smtp.greeting)
    return smtp


def _converse(run: _Run, result: PortResult, smtp: _SMTP) -> None:
    """EHLO, STARTTLS, EHLO again, AUTH and the sender check, as far as each is possible; then QUIT."""
    step = "EHLO"
    try:
        if not _ehlo(result, smtp):
            return
        if result.tls == IMPLICIT:
            result.capabilities_after_tls = _capabilities(smtp)
        else:
            result.capabilities = _capabilities(smtp)
            step = "STARTTLS"
            if "STARTTLS" in result.capabilities and _starttls(run, result, smtp):
                step = "EHLO after STARTTLS"
                if not _ehlo(result, smtp):
                    return
                result.capabilities_after_tls = _capabilities(smtp)
        if run.user is not None:
            step = "AUTH"
            _authenticate(run, result, smtp)
    except (smtplib.SMTPException, OSError) as error:
        result.speaks, result.detail = SMTP_BROKEN, f"the connection failed at {step}: {_reason(error)}"
    finally:
        _quit(smtp)


def _ehlo(result: PortResult, smtp: smtplib.SMTP) -> bool:
    code, reply = smtp.ehlo()
    if code != 250:
        result.speaks, result.detail = SMTP_BROKEN, f"EHLO refused: {code} {_text(reply)}"
    return code == 250


def _starttls(run: _Run, result: PortResult, smtp: _SMTP) -> bool:
    """STARTTLS with verification; True when the conversation goes on over verified TLS."""
    try:
        smtp.starttls(context=run.verifying)
    except ssl.SSLCertVerificationError as error:
        result.tls, result.verified, result.verify_error = STARTTLS, False, error.verify_message
        _inspect_after_starttls(run, result, smtp.reader.deadline)
        return False
    except smtplib.SMTPResponseException as error:
        result.tls_error = f"STARTTLS is offered but answered {error.smtp_code} {_text(error.smtp_error)}"
        return False
    except OSError as error:
        result.tls_error = f"STARTTLS is offered but the TLS handshake fails: {_reason(error)}"
        return False
    result.tls, result.verified = STARTTLS, True
    _record_tls(run, result, smtp.sock)
    return True


def _inspect_after_starttls(run: _Run, result: PortResult, deadline: float) -> None:
    """The certificate presented after STARTTLS fails verification: connect again and STARTTLS without
    verifying, only to inspect it and see what the server offers then. Nothing but EHLO goes over it."""
    try:
        smtp = _SMTP(_Reader(_connect(run, result.port, deadline), deadline), run.host, result.port)
    except (smtplib.SMTPException, OSError) as error:
        result.tls_error = f"the certificate could not be inspected: {_reason(error)}"
        return
    try:
        smtp.ehlo()
        smtp.starttls(context=run.inspecting)
        _record_tls(run, result, smtp.sock)
        smtp.ehlo()
        result.capabilities_after_tls = _capabilities(smtp)
    except (smtplib.SMTPException, OSError) as error:
        result.tls_error = f"the certificate could not be inspected: {_reason(error)}"
    finally:
        _quit(smtp)


def _authenticate(run: _Run, result: PortResult, smtp: smtplib.SMTP) -> None:
    """AUTH, only over TLS whose certificate verified; then the sender check. Never a password in plaintext."""
    if result.tls is None:
        result.auth = "not tried: no TLS, and a password is never sent unencrypted"
    elif not result.verified:
        result.auth = "not tried: the certificate does not verify"
    elif "AUTH" not in (result.capabilities_after_tls or {}):
        result.auth = "not offered"
    else:
        result.auth = _login(smtp, run.user, run.password)
        if result.auth == "ok" and run.mail_from is not None:
            result.sender = _check_sender(smtp, run.mail_from)


def _login(smtp: smtplib.SMTP, user: str, password: str) -> str:
    try:
        smtp.login(user, password)
    except smtplib.SMTPAuthenticationError as error:
        return f"failed: {error.smtp_code} {_text(error.smtp_error)}"
    except UnicodeEncodeError:
        return "failed: smtplib sends only ASCII user names and passwords"
    except smtplib.SMTPException as error:  # a mechanism smtplib lacks (it has CRAM-MD5, PLAIN, LOGIN), a hang-up
        return f"failed: {_reason(error)}"
    return "ok"


def _check_sender(smtp: smtplib.SMTP, address: str) -> str:
    """MAIL FROM the address, then RCPT TO it, then RSET: providers check the sender against the login at
    either (Postfix at RCPT). Without DATA no message exists, so none is sent."""
    options = []
    if not address.isascii():
        if not smtp.has_extn("smtputf8"):
            return "refused: the address is not ASCII and the server does not offer SMTPUTF8"
        options = ["SMTPUTF8"]
    code, reply = smtp.mail(address, options)
    outcome = "accepted"
    if code != 250:
        outcome = f"refused at MAIL FROM: {code} {_text(reply)}"
    else:
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            outcome = f"refused at RCPT TO: {code} {_text(reply)}"
    smtp.rset()
    return outcome


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        if smtp.sock is not None:
            smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # the server is gone already; there is nothing left to say to it
    finally:
        smtp.close()


# --------------------------------------------------------------------------------------------------
# What was seen, in words


def _looks_like_reply(data: bytes) -> bool:
    """True when the bytes could begin an SMTP reply: up to three digits first."""
    return re.fullmatch(rb"\d{1,3}", data[:3]) is not None


def _text(data: bytes | str) -> str:
    """Server text made safe to print: anything unprintable (escape codes, junk) shown as an escape."""
    text = data.decode("utf-8", "backslashreplace") if isinstance(data, bytes) else data
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _quote(data: bytes) -> str:
    first_line = data.split(b"\n", 1)[0].rstrip(b"\r")
    text = _text(first_line[:QUOTED_CHARS])
    return f"'{text}{'...' if len(first_line) > QUOTED_CHARS else ''}'"


def _http_hint(data: bytes) -> str:
    return " (a web server)" if data.startswith(b"HTTP/") else ""


def _banner(code: int, reply: bytes) -> str:
    return "\n".join(f"{code} {_text(line)}" for line in reply.split(b"\n"))


def _reason(error: BaseException) -> str:
    """An error in a few words. A server hanging up reads the same however the socket learnt of it."""
    hung_up = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib says "Connection unexpectedly closed" for whatever stopped its reading; say what it was.
        cause = error.__context__
        if isinstance(cause, TimeoutError):
            return "no complete reply in time"
        if isinstance(cause, OSError) and not isinstance(cause, hung_up):
            return _reason(cause)
        return "the connection closed"
    if isinstance(error, hung_up):
        return "the connection closed"
    if isinstance(error, smtplib.SMTPResponseException):
        if error.smtp_error == "Line too long.":  # smtplib's own words, not the server's
            return "a line longer than smtplib reads (8192 bytes)"
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason
    return _text(str(error)) or type(error).__name__


def _capabilities(smtp: smtplib.SMTP) -> dict[str, str]:
    return {_text(keyword.upper()): _text(value.strip()) for keyword, value in smtp.esmtp_features.items()}


def _record_tls(run: _Run, result: PortResult, sock: ssl.SSLSocket) -> None:
    result.tls_version, result.cipher = sock.version(), sock.cipher()[0]
    der = sock.getpeercert(binary_form=True)
    result.certificate = _certificate(der, run.host) if der else None


def _certificate(der: bytes, host: str) -> Certificate | None:
    try:
        cert = x509.load_der_x509_certificate(der)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
        ip_names = [str(address) for address in names.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns_names, ip_names = [], []
    except ValueError:  # a certificate cryptography cannot parse: report the port without it
        return None
    now = datetime.datetime.now(datetime.UTC)
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        names=[*dns_names, *ip_names],
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.date().isoformat(),
        not_after=cert.not_valid_after_utc.date().isoformat(),
        days_left=(cert.not_valid_after_utc - now).days,
        not_yet_valid=cert.not_valid_before_utc > now,
        name_matches=_name_matches(host, dns_names, ip_names),
    )


def _name_matches(host: str, dns_names: list[str], ip_names: list[str]) -> bool:
    """Does the certificate name the host (RFC 6125: subject alternative names, a wildcard for one label)?"""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        wanted = host.lower().rstrip(".")
        return any(
            name.lower() == wanted or (name.startswith("*.") and wanted.partition(".")[2] == name[2:].lower())
            for name in dns_names
        )
    return any(address == ipaddress.ip_address(name) for name in ip_names)


def _danger_signs(result: PortResult) -> list[str]:
    signs = []
    if "AUTH" in (result.capabilities or {}):
        signs.append("AUTH is offered before TLS: a client may send its password unencrypted")
    if result.acts_as in STARTTLS_PORTS and result.capabilities is not None and "STARTTLS" not in result.capabilities:
        signs.append("no STARTTLS on a submission port: passwords and mail would cross the network unencrypted")
    if result.tls_error:
        signs.append(result.tls_error)
    if result.verified is False:
        signs.append(f"the certificate does not verify: {result.verify_error}")
    cert = result.certificate
    if cert and 0 <= cert.days_left < EXPIRY_WARNING_DAYS:
        signs.append(f"the certificate expires on {cert.not_after} ({cert.days_left} days left)")
    return signs


def _problem(run: _Run, result: PortResult) -> str | None:
    """Why the port will not do for submission, or None when it will."""
    if result.speaks not in (SMTP, IMPLICIT_TLS):
        return result.speaks
    if result.tls is None:
        return "no TLS: STARTTLS fails" if result.tls_error else "no TLS: STARTTLS is not offered"
    if not result.verified:
        return "the certificate does not verify"
    if "AUTH" not in (result.capabilities_after_tls or {}):
        return "no AUTH after TLS: not a submission port"
    if run.user is not None and result.auth != "ok":
        return f"AUTH {result.auth}"
    if run.mail_from is not None and result.sender != "accepted":
        return f"sender {run.mail_from} {result.sender}"
    return None


def _port_lines(result: PortResult, trust: str) -> list[str]:
    lines = [result.summary()]

    def add(label: str, value: str) -> None:
        for number, line in enumerate(value.split("\n")):
            lines.append(f"  {label if number == 0 else '':<16}{line}")

    if result.banner:
        add("banner", result.banner)
    if result.capabilities is not None:
        add("EHLO", _listed(result.capabilities))
    if result.tls_version:
        add("TLS", f"{_TLS_WORDS[result.tls]}, {result.tls_version}, {result.cipher}")
    if result.tls_error:
        add("TLS", result.tls_error)
    if result.verified is not None:
        add("verified", f"yes, trusting {trust}" if result.verified else f"no: {result.verify_error}")
    cert = result.certificate
    if cert:
        add("certificate", cert.subject)
        add("  names", ", ".join(cert.names) or "(none)")
        add("  issuer", cert.issuer)
        add("  valid", _validity(cert))
        add("  host name", "matches" if cert.name_matches else "not among its names")
    if result.capabilities_after_tls is not None:
        add("EHLO after TLS", _listed(result.capabilities_after_tls))
    if result.auth:
        add("AUTH", result.auth)
    if result.sender:
        add("sender", result.sender)
    return lines


def _listed(capabilities: dict[str, str]) -> str:
    return ", ".join(f"{keyword} {value}".strip() for keyword, value in capabilities.items()) or "(no extensions)"


def _validity(cert: Certificate) -> str:
    if cert.not_yet_valid:
        return f"from {cert.not_before} to {cert.not_after} (not valid yet)"
    if cert.days_left < 0:
        return f"until {cert.not_after} (expired)"
    if cert.days_left < DAYS_LEFT_SHOWN_BELOW:
        return f"until {cert.not_after} ({cert.days_left} days left)"
    return f"until {cert.not_after}"


# --------------------------------------------------------------------------------------------------
# The recommendation


def _preference(result: PortResult) -> tuple:
    rank = SUBMISSION_PORTS.index(result.acts_as) if result.acts_as in SUBMISSION_PORTS else len(SUBMISSION_PORTS)
    return result.tls != IMPLICIT, rank, result.acts_as


def _setting(result: PortResult) -> str:
    return f"port {result.acts_as} with {_TLS_WORDS[result.tls]}"


def _recommend(run: _Run, results: list[PortResult]) -> Recommendation | None:
    working = sorted((result for result in results if result.works), key=_preference)
    if not working:
        return None
    best = working[0]
    if best.tls == IMPLICIT:
        reason = "TLS from the first byte, as RFC 8314 section 3 recommends for submission"
    else:
        reason = "STARTTLS on a submission port; implicit TLS, which RFC 8314 prefers, works on no port here"
    mechanisms = (best.capabilities_after_tls or {}).get("AUTH", "").split()
    code = dict(host=run.host, security=Security(best.tls), user=run.user or EXAMPLE_USER,
                sender=run.mail_from or run.user, ca_file=run.ca_file)
    return Recommendation(
        port=best.acts_as,
        security=best.tls,
        reason=reason,
        alternatives=[_setting(result) for result in working[1:]],
        python=python_code(best.acts_as, **code),
        go=go_code(best.acts_as, plain_auth="PLAIN" in mechanisms, **code),
    )


def _recommendation_lines(report: Report) -> list[str]:
    chosen = report.recommendation
    if chosen is None:
        why = [f"  {result.summary()}" for result in report.ports]
        return ["No working submission setting found:", *why]
    lines = [f"Recommendation: port {chosen.port} with {_TLS_WORDS[chosen.security]}",
             f"  why: {chosen.reason}"]
    lines += [f"  also works: {alternative}" for alternative in chosen.alternatives]
    if not report.credentials_tested:
        lines.append("  credentials not tested: give a user and password to try AUTH (no mail is ever sent)")
    return [*lines, "", "Python (smtplib):", *_indented(chosen.python), "", "Go (net/smtp):", *_indented(chosen.go)]


def _indented(code: str) -> list[str]:
    return [f"    {line}".rstrip() for line in code.splitlines()]


# --------------------------------------------------------------------------------------------------
# Command line: python -m helpers.doctor


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        if message.startswith("unrecognized arguments"):
            # Not echoed: one of them may be a password, typed where it must never go.
            message = "unrecognized arguments (see --help); a password is read from --password-env VAR, never a flag"
        raise BadUsage(message)  # one line on stderr, like every other usage error, not argparse's two


def _port_option(text: str) -> tuple[int, int]:
    """'465' -> (465, 465); '10465=465' -> (10465, 465): connect to 10465, call it 465."""
    port, equals, acts_as = text.partition("=")
    try:
        return int(port), int(acts_as if equals else port)
    except ValueError:
        raise BadUsage(f"bad --port {text!r}: use a port number (465) or PORT=ACTS_AS (10465=465)") from None


def _password(options: argparse.Namespace) -> str | None:
    if options.user is None and options.password_env is None:
        return None
    if options.user is None or options.password_env is None:
        raise BadUsage("give --user and --password-env VAR together (the password is read from VAR, never a flag)")
    password = os.environ.get(options.password_env)
    if not password:
        # The name is not echoed either: a password passed as the name by mistake must not be printed.
        raise BadUsage("the environment variable named by --password-env is not set; it should hold the password")
    return password


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when a working submission setting was found, 1 when none was, 2 on bad usage."""
    parser = _Parser(
        prog="python -m helpers.doctor",
        allow_abbrev=False,  # or --password SECRET would be taken for --password-env SECRET
        description="Find out what each port of a mail host speaks, and which settings will work. No mail is sent.",
    )
    parser.add_argument("host", help="the mail host (a name, an IPv4 address, or an IPv6 one such as ::1 or [::1])")
    parser.add_argument("--port", action="append", metavar="PORT[=ACTS_AS]",
                        help=f"probe this port (repeat it; default {', '.join(map(str, DEFAULT_PORTS))}); "
                             "PORT=ACTS_AS names it as the port it acts as, e.g. 10465=465")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds for each phase of each port's probe (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (progress goes to stderr)")
    parser.add_argument("--user", help="try AUTH as this user on each port that offers it over verified TLS")
    parser.add_argument("--password-env", metavar="VAR", help="the environment variable holding the password")
    parser.add_argument("--from", dest="mail_from", metavar="ADDR",
                        help="check that this sender is accepted after AUTH (MAIL FROM, RCPT TO, RSET; nothing sent)")
    parser.add_argument("--ca-file", help="trust this CA file (PEM) instead of the system's trust store")
    progress = threading.Lock()
    try:
        options = parser.parse_args(argv)
        out = sys.stderr if options.json else sys.stdout

        def done(result: PortResult) -> None:
            with progress:
                print(result.summary(), file=out, flush=True)

        report = examine(
            options.host,
            ports=dict(map(_port_option, options.port)) if options.port else DEFAULT_PORTS,
            timeout=options.timeout,
            user=options.user,
            password=_password(options),
            mail_from=options.mail_from,
            ca_file=options.ca_file,
            on_port_done=done,
        )
    except BadUsage as error:
        print(f"doctor: error: {error}", file=sys.stderr)
        return 2
    print(report.to_json() if options.json else "\n" + report.text(), end="" if not options.json else "\n")
    return 0 if report.recommendation else 1


if __name__ == "__main__":
    sys.exit(main())
