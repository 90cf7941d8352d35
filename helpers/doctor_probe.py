"""The doctor's probe: what one port of a mail host speaks, found out over real sockets and smtplib.

    run = Run(host, addresses, timeout, ...)         # what every port's probe needs (helpers.doctor makes it)
    probe(run, 10465, acts_as=465)                   # a PortResult: what it speaks, offers and lacks

Each probe has two phases of at most one timeout each: recognising what the port speaks, then talking
to it (helpers.doctor's docstring tells the story); a port that speaks TLS gets a third, trying each TLS
version. Everything here is about one connection at a time; helpers.doctor probes the ports at once,
recommends settings and prints the report.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import re
import smtplib
import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from helpers.client import EHLO_NAME
from helpers.deadline import LinesWithin, time_left
from helpers.terms import Phase, TlsMode
from helpers.transcript import NON_ASCII_LOGIN, Recorder, Transcript

GREETING_SHARE = 0.5  # of the timeout: how long a port may keep silent before the doctor tries TLS on it
MAX_REPLY_BYTES = 64 * 1024  # replies kept per connection; a real EHLO reply is well under 1 KiB
PEEK_BYTES = 512  # of the first bytes, enough to tell what a port speaks and to quote it
QUOTED_CHARS = 60  # of something that is not SMTP, shown in the report
EXPIRY_WARNING_DAYS = 14  # a certificate expiring sooner is a danger sign
STARTTLS_PORTS = (587, 2525)  # submission ports that must offer STARTTLS
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")  # tried one by one, as ssl.SSLSocket.version() names them
VERSION_NAMES = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
CURRENT_TLS = ("TLSv1.2", "TLSv1.3")  # what today's clients speak (RFC 8996 deprecated 1.0 and 1.1 in 2021)
# OpenSSL's verification errors (X509_V_ERR_..., in x509_vfy.h) that the report words
UNABLE_TO_GET_ISSUER = 20  # the last certificate's issuer is neither sent nor trusted
SELF_SIGNED = 18  # the server's own certificate signed by itself (DEPTH_ZERO_SELF_SIGNED_CERT)
SELF_SIGNED_IN_CHAIN = 19  # the chain ends in a root that is not trusted
CHECKED_AFTER_THE_CHAIN = frozenset({9, 10, 62, 64})  # not yet valid, expired; host name, IP address mismatch
# OpenSSL's reasons when a handshake finds no TLS version in common (helpers.catalog: tls-version-mismatch)
_NO_COMMON_VERSION = {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE",
                      "VERSION_TOO_LOW", "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED"}


def _no_common_version(error: OSError) -> bool:
    """Whether a handshake failed for want of a TLS version (or, at TLS 1.0, a signature) both sides speak.
    Pythons older than their OpenSSL 3 name some reasons only in the text: 3.11.2 with OpenSSL 3.0 says
    "[SSL] legacy sigalg disallowed or unsupported" with no reason code."""
    if not isinstance(error, ssl.SSLError):
        return False
    return error.reason in _NO_COMMON_VERSION or "legacy sigalg" in str(error)


class Speaks(StrEnum):
    """What a port speaks (helpers.doctor's docstring says how each is told apart)."""

    REFUSED = "refused"
    NO_ANSWER = "no answer"
    SILENT = "silent"
    SMTP = "smtp"
    IMPLICIT_TLS = "implicit-tls"
    SMTP_BROKEN = "smtp-broken"
    NOT_SMTP = "not-smtp"
    TLS_NOT_SMTP = "tls-not-smtp"


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
    sent: int = 1  # certificates the server sent: its own, then the CAs' it chains through
    issuer_url: str | None = None  # where the last one's issuer publishes its certificate (Authority Info Access)


@dataclass
class PortResult:
    """What one port speaks and offers. `port` is where the doctor connected, `acts_as` the port named in
    the report and the code (they differ when a mapping names an OS-chosen port, as the lab's are)."""

    port: int
    acts_as: int
    speaks: Speaks | None = None
    detail: str = ""  # why it was classified so, or what went wrong, in words
    address: str | None = None  # the IP address that answered
    banner: str | None = None
    capabilities: dict[str, str] | None = None  # EHLO keywords before TLS (upper case) and their parameters
    tls: TlsMode | None = None  # how TLS started, once a handshake got as far as the certificate
    verified: bool | None = None  # chain and host name, against the system's trust store or the CA file
    verify_error: str | None = None  # OpenSSL's reason when not verified
    verify_code: int | None = None  # and its number (X509_V_ERR_...), which says how far verification got
    tls_version: str | None = None
    cipher: str | None = None
    tls_error: str | None = None  # STARTTLS offered but failing, or a certificate that could not be inspected
    starttls_reply: str | None = None  # the reply that refused STARTTLS itself (454 ...): no handshake happened
    certificate: Certificate | None = None
    chain_complete: bool | None = None  # the server sends every CA certificate up to a trusted one; None: unknown
    tls_versions: dict[str, str] | None = None  # each TLS version: "accepted", "refused", or the refusal after it
    capabilities_after_tls: dict[str, str] | None = None
    auth: str | None = None  # with credentials: "ok", or why not ("failed: 535 ...", "not tried: ...")
    sender: str | None = None  # with a sender: "accepted", or "refused at RCPT TO: 553 ..."
    warnings: list[str] = field(default_factory=list)  # danger signs
    problem: str | None = None  # why this port is no use for submission; None when it works
    # AUTH: everything worked up to the login, which the server refused with a reply (535 ...); MAIL: it took
    # the login and refused only the sender (at MAIL FROM or RCPT TO). The port and its TLS are right then.
    refused_at: Phase | None = None

    @property
    def works(self) -> bool:
        return self.problem is None

    @property
    def label(self) -> str:
        return port_label(self.port, self.acts_as)

    def summary(self) -> str:
        """One line: the port, what it speaks, and whether it will do for sending mail."""
        line = f"{self.label}: {self.speaks}"
        if self.speaks in (Speaks.SMTP, Speaks.IMPLICIT_TLS):
            return f"{line} - {'works for submission' if self.works else self.problem}"
        return f"{line} - {self.detail}" if self.detail else line


def port_label(port: int, acts_as: int) -> str:
    """'port 465', or 'port 10465 (as 465)' for a port connected to in the place of another: the report
    always names the port it connected to."""
    return f"port {port}" if port == acts_as else f"port {port} (as {acts_as})"


def _inspecting_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Never a fix, and never offered as one: the doctor uses it only for its report, to look at a certificate that
    # failed verification (_inspect, _inspect_after_starttls) and to learn which TLS versions a port speaks
    # (_version_contexts). Nothing is sent over it but EHLO, STARTTLS and QUIT: never a login, never mail.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _version_contexts() -> dict[str, ssl.SSLContext]:
    """One context per TLS version, to inspect which versions a port speaks: over a connection made with
    one, nothing is sent but EHLO, STARTTLS and QUIT (see _tls_versions). Made once, before the probes'
    threads start: Python warns when a context is set to TLS 1.0 or 1.1, and warnings filters are global."""
    contexts = {}
    for name in TLS_VERSIONS:
        context = _inspecting_context()
        version = ssl.TLSVersion[name.replace(".", "_")]
        if name not in CURRENT_TLS:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 offers TLS 1.0 and 1.1 at level 0 only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version
        contexts[name] = context
    return contexts


@dataclass(frozen=True)
class Run:
    """What every port's probe needs to know: the host, its addresses, the limits and the credentials,
    checked already (helpers.doctor.examine does that)."""

    host: str
    addresses: list[tuple[int, tuple]]  # (family, socket address), in getaddrinfo's order
    timeout: float
    user: str | None
    password: str | None = field(repr=False)
    mail_from: str | None
    ca_file: str | None
    verifying: ssl.SSLContext
    inspecting: ssl.SSLContext = field(default_factory=_inspecting_context, repr=False)
    versions: dict[str, ssl.SSLContext] = field(default_factory=_version_contexts, repr=False)


# --------------------------------------------------------------------------------------------------
# Probing one port


class _Conversation(Recorder, smtplib.SMTP):
    """smtplib over a connection the doctor made (and perhaps put TLS on) itself, reading through a
    LinesWithin. Construction reads the greeting, as smtplib.SMTP(host, port) does; `greeting` keeps it.
    It is recorded, as send()'s conversations are, so that what AUTH sent is known and kept out of the
    report when a server quotes it back."""

    def __init__(self, reader: LinesWithin, host: str, port: int) -> None:
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
                self.reader = _reader(self.sock, self.reader.deadline)
            self.file = self.reader
        return super().getreply()


def _reader(sock: socket.socket, deadline: float) -> LinesWithin:
    """Replies read under the doctor's deadline, and no more than MAX_REPLY_BYTES in all, so a server that
    trickles bytes or floods lines can hold the doctor neither beyond its timeout nor fill its memory."""
    return LinesWithin(sock, deadline, chunk=PEEK_BYTES, max_bytes=MAX_REPLY_BYTES)


def _verdict(result: PortResult, speaks: Speaks, detail: str) -> None:
    """What the port speaks, and why it was found so: the probe ends there (returning None)."""
    result.speaks, result.detail = speaks, detail




def probe(run: Run, port: int, acts_as: int) -> PortResult:
    """Find out what `port` speaks and offers, within two timeouts; `acts_as` is the port it is named as."""
    result = PortResult(port, acts_as)
    smtp = _recognise(run, result, time.monotonic() + run.timeout)
    if smtp is not None:
        smtp.reader.deadline = time.monotonic() + run.timeout
        _converse(run, result, smtp)
    if result.tls is not None or ("STARTTLS" in (result.capabilities or {}) and result.starttls_reply is None):
        result.tls_versions = _tls_versions(run, result, time.monotonic() + run.timeout)
    result.chain_complete = _chain_complete(result)
    result.warnings = _danger_signs(result)
    result.problem = _problem(run, result)
    if result.problem is None:
        result.refused_at, result.problem = _refusal(run, result)
    return result


def _connect(run: Run, port: int, deadline: float) -> socket.socket:
    """Connect to the first of the host's addresses that accepts, all within the deadline."""
    errors: list[OSError] = []
    for family, address in run.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(time_left(deadline))
            sock.connect((address[0], port, *address[2:]))
            return sock
        except OSError as error:
            sock.close()
            errors.append(error)
    # A timeout says more than a refusal from another address (a filtered port, not a closed one).
    timeouts = [error for error in errors if isinstance(error, TimeoutError)]
    raise (timeouts or errors)[0]


def _recognise(run: Run, result: PortResult, deadline: float) -> _Conversation | None:
    """Find out what the port speaks; return smtplib connected and greeted, or None when done."""
    try:
        sock = _connect(run, result.port, deadline)
    except TimeoutError:
        return _verdict(result, Speaks.NO_ANSWER, f"no answer to the connection attempt within {run.timeout:g} s")
    except ConnectionRefusedError:
        return _verdict(result, Speaks.REFUSED, "connection refused: nothing listens there")
    except OSError as error:
        return _verdict(result, Speaks.NO_ANSWER, f"cannot connect: {error.strerror or error}")
    try:
        result.address = sock.getpeername()[0]
        # Peeked, not read: smtplib reads the greeting itself once the bytes show it is one.
        sock.settimeout(min(run.timeout * GREETING_SHARE, time_left(deadline)))
        first = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
    except OSError:  # a timeout, or a reset: nothing was said
        first = b""
    if not first:  # silent, or it hung up without a word: TLS ports do either to a plaintext client
        sock.close()
        return _implicit_tls(run, result, deadline)
    if not _looks_like_reply(first):
        sock.close()
        return _verdict(result, Speaks.NOT_SMTP, f"it answered {_quote(first)}{_http_hint(first)}")
    return _greet(result, _reader(sock, deadline), run.host)


def _implicit_tls(run: Run, result: PortResult, deadline: float) -> _Conversation | None:
    """No greeting came: perhaps the port waits for a TLS ClientHello, as 465 does. The handshake goes on a
    new connection: on the silent one, the server's own wait for a ClientHello may be running out."""
    try:
        sock = _connect(run, result.port, deadline)
    except OSError as error:
        return _verdict(result, Speaks.SILENT, f"no greeting, and connecting again failed: {_reason(error)}")
    silent_for = f"{run.timeout * GREETING_SHARE:g} s"
    try:
        sock.settimeout(time_left(deadline))
        secure = run.verifying.wrap_socket(sock, server_hostname=run.host)
    except ssl.SSLCertVerificationError as error:
        # The port speaks TLS; only its certificate fails. Look at it over a connection of its own.
        result.tls, result.verified = TlsMode.IMPLICIT, False
        result.verify_error, result.verify_code = error.verify_message, error.verify_code
        return _inspect(run, result, deadline)
    except TimeoutError:
        return _verdict(result, Speaks.SILENT, f"no greeting within {silent_for}, and no TLS handshake either")
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError):
        return _verdict(result, Speaks.SILENT, f"no greeting within {silent_for}; it hangs up on a TLS handshake")
    except OSError as error:
        if _no_common_version(error):
            # It speaks TLS, only no version a current client offers; _tls_versions finds which it does.
            result.speaks, result.tls = Speaks.IMPLICIT_TLS, TlsMode.IMPLICIT
            result.tls_error = f"no TLS version in common with a current client ({_reason(error)})"
            return None
        answer = _answer_to_a_handshake(run, result.port, deadline) if isinstance(error, ssl.SSLError) else b""
        if answer and not _looks_like_tls(answer):
            # A server that waits for its client, as a web server does, answers the ClientHello in its own
            # protocol: HTTP/1.0 400 Bad Request. Not silent: it speaks something else.
            return _verdict(result, Speaks.NOT_SMTP, f"no greeting within {silent_for}; to a TLS handshake it "
                                                     f"answered {_quote(answer)}{_http_hint(answer)}")
        return _verdict(result, Speaks.SILENT, f"no greeting within {silent_for}, and no TLS either ({_reason(error)})")
    finally:
        sock.close()  # wrap_socket moved the connection into an SSLSocket, or failed: this one is spent
    result.tls, result.verified = TlsMode.IMPLICIT, True
    _record_tls(run, result, secure)
    return _greet(result, _reader(secure, deadline), run.host)


def _answer_to_a_handshake(run: Run, port: int, deadline: float) -> bytes:
    """The first bytes a port sends back to a TLS ClientHello, as they came (the handshake that failed has
    swallowed them): a ClientHello made in memory, sent on a connection of its own."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    handshake = run.verifying.wrap_bio(incoming, outgoing, server_hostname=run.host)
    with contextlib.suppress(ssl.SSLWantReadError):  # it wants the server's answer: the ClientHello is ready
        handshake.do_handshake()
    try:
        with _connect(run, port, deadline) as sock:
            sock.sendall(outgoing.read())
            sock.settimeout(time_left(deadline))
            return sock.recv(PEEK_BYTES)
    except OSError:
        return b""


def _looks_like_tls(data: bytes) -> bool:
    """True when the bytes begin a TLS record: a handshake or an alert (RFC 8446 section 5.1), version 3.x."""
    return data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03"


def _inspect(run: Run, result: PortResult, deadline: float) -> _Conversation | None:
    """An implicit-TLS port whose certificate fails verification: connect again without verifying, only
    to inspect the certificate and what the server says; _converse sends no password over it."""
    try:
        secure = run.inspecting.wrap_socket(_connect(run, result.port, deadline), server_hostname=run.host)
    except OSError as error:
        result.speaks = Speaks.IMPLICIT_TLS
        result.tls_error = f"the certificate could not be inspected: {_reason(error)}"
        return None
    _record_tls(run, result, secure)
    return _greet(result, _reader(secure, deadline), run.host)


def _greet(result: PortResult, reader: LinesWithin, host: str) -> _Conversation | None:
    """Hand the connection to smtplib, which reads the greeting."""
    tls = isinstance(reader.sock, ssl.SSLSocket)
    try:
        smtp = _Conversation(reader, host, result.port)
    except (smtplib.SMTPException, OSError) as error:
        reader.sock.close()
        if isinstance(error, smtplib.SMTPConnectError) and error.smtp_code >= 0:
            result.banner = _banner(error.smtp_code, error.smtp_error)
            return _verdict(result, Speaks.SMTP_BROKEN, f"it greets with {error.smtp_code}: it takes no mail now")
        if _looks_like_reply(reader.head):
            return _verdict(result, Speaks.SMTP_BROKEN, f"its greeting went wrong: {_reason(error)}")
        if reader.head:
            answered = f"it answered {_quote(reader.head)}{_http_hint(reader.head)}"
            if tls:
                return _verdict(result, Speaks.TLS_NOT_SMTP, f"after TLS {answered}")
            return _verdict(result, Speaks.NOT_SMTP, answered)
        return _verdict(result, Speaks.TLS_NOT_SMTP, f"no greeting after the TLS handshake ({_reason(error)})")
    result.speaks = Speaks.IMPLICIT_TLS if tls else Speaks.SMTP
    result.banner = _banner(*smtp.greeting)
    return smtp


def _converse(run: Run, result: PortResult, smtp: _Conversation) -> None:
    """EHLO, STARTTLS, EHLO again, AUTH and the sender check, as far as each is possible; then QUIT."""
    step = "EHLO"
    try:
        if not _ehlo(result, smtp):
            return
        if result.tls == TlsMode.IMPLICIT:
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
        result.speaks, result.detail = Speaks.SMTP_BROKEN, f"the connection failed at {step}: {_reason(error)}"
    finally:
        _quit(smtp)
        _hide_credentials(result, smtp.transcript)


def _hide_credentials(result: PortResult, transcript: Transcript) -> None:
    """What the server said after AUTH may quote what the client sent in it (hostile-clients D13)."""
    if result.auth:
        result.auth = transcript.scrubbed(result.auth)
    if result.sender:
        result.sender = transcript.scrubbed(result.sender)
    result.detail = transcript.scrubbed(result.detail)


def _ehlo(result: PortResult, smtp: smtplib.SMTP) -> bool:
    code, reply = smtp.ehlo()
    if code != 250:
        result.speaks, result.detail = Speaks.SMTP_BROKEN, f"EHLO refused: {code} {_text(reply)}"
    return code == 250


def _starttls(run: Run, result: PortResult, smtp: _Conversation) -> bool:
    """STARTTLS with verification; True when the conversation goes on over verified TLS."""
    try:
        smtp.starttls(context=run.verifying)
    except ssl.SSLCertVerificationError as error:
        result.tls, result.verified = TlsMode.STARTTLS, False
        result.verify_error, result.verify_code = error.verify_message, error.verify_code
        _inspect_after_starttls(run, result, smtp.reader.deadline)
        return False
    except smtplib.SMTPResponseException as error:
        result.starttls_reply = f"{error.smtp_code} {_text(error.smtp_error)}"
        result.tls_error = f"STARTTLS is offered but answered {result.starttls_reply}"
        return False
    except OSError as error:
        result.tls_error = f"STARTTLS is offered but the TLS handshake fails: {_reason(error)}"
        return False
    result.tls, result.verified = TlsMode.STARTTLS, True
    _record_tls(run, result, smtp.sock)
    return True


def _inspect_after_starttls(run: Run, result: PortResult, deadline: float) -> None:
    """The certificate presented after STARTTLS fails verification: connect again and STARTTLS without
    verifying, only to inspect it and see what the server offers then. Nothing but EHLO goes over it."""
    try:
        smtp = _Conversation(_reader(_connect(run, result.port, deadline), deadline), run.host, result.port)
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


def _authenticate(run: Run, result: PortResult, smtp: smtplib.SMTP) -> None:
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
    except UnicodeEncodeError:  # its text would name a character of the password, and where it is
        return f"failed: {NON_ASCII_LOGIN}"
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


def _tls_versions(run: Run, result: PortResult, deadline: float) -> dict[str, str]:
    """Each TLS version, tried alone on a connection of its own: "refused" when the handshake fails; when it
    works, "accepted" if EHLO over it gets 250, else what the server said after it (Microsoft 365's 421
    4.7.66). A port that speaks no SMTP after TLS is judged by the handshake alone: what it says after it (an
    HTTP error) is the same at every version, and refuses none. Nothing but EHLO, STARTTLS and QUIT goes over
    these connections."""
    found = {}
    for name, context in run.versions.items():
        try:
            sock = _connect(run, result.port, deadline)
        except OSError:
            break  # out of time, or the port went away: what is known is reported
        if result.tls == TlsMode.IMPLICIT:
            try:
                sock.settimeout(time_left(deadline))
                sock = context.wrap_socket(sock, server_hostname=run.host)
            except OSError:
                sock.close()
                found[name] = "refused"
                continue
            if result.speaks == Speaks.TLS_NOT_SMTP:
                sock.close()
                found[name] = "accepted"
                continue
        try:
            smtp = _Conversation(_reader(sock, deadline), run.host, result.port)
        except (smtplib.SMTPException, OSError) as error:
            sock.close()
            if result.tls == TlsMode.IMPLICIT:  # after the handshake: the greeting refused, or none in time
                found[name] = _reason(error)
            continue  # before STARTTLS: no handshake, so nothing known of the version
        try:
            if result.tls != TlsMode.IMPLICIT:
                smtp.ehlo()
                try:
                    smtp.starttls(context=context)
                except smtplib.SMTPResponseException:
                    continue  # STARTTLS itself refused, this time: no handshake, so nothing known of the version
            code, reply = smtp.ehlo()
            found[name] = "accepted" if code == 250 else f"{code} {_text(reply)}"
        except (smtplib.SMTPException, OSError) as error:
            found[name] = "refused" if isinstance(error, ssl.SSLError) else _reason(error)
        finally:
            _quit(smtp)
    return found


def _chain_complete(result: PortResult) -> bool | None:
    """Does the server send every CA certificate between its own and one the client trusts? Verified: yes;
    so too when verification failed only on the host name or the dates, which OpenSSL checks once it has
    built the chain up to a trusted CA (openssl-verification-options(1), "Certification Path Validation").
    Its own certificate sent alone, whose issuer is neither trusted nor sent, while the certificate names
    where that issuer's certificate is published: no, an intermediate is missing (public CAs issue server
    certificates from intermediates, never from their roots: CA/Browser Forum Baseline Requirements
    section 6.1.7). Otherwise the doctor cannot tell (helpers.doctor says why, case by case)."""
    cert = result.certificate
    if result.verified or result.verify_code in CHECKED_AFTER_THE_CHAIN:
        return True
    if cert is None or result.verify_code != UNABLE_TO_GET_ISSUER:
        return None
    return False if cert.sent == 1 and cert.issuer_url else None


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
    # An HTTP reply; or, from a server that took the bytes for an HTTP/0.9 request (http.server does, for
    # a TLS ClientHello), the bare HTML of its error page.
    web = data.startswith(b"HTTP/") or data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    return " (a web server)" if web else ""


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


def _record_tls(run: Run, result: PortResult, sock: ssl.SSLSocket) -> None:
    result.tls_version, result.cipher = sock.version(), sock.cipher()[0]
    chain = _sent_chain(sock)
    result.certificate = _certificate(chain[0], run.host, chain) if chain else None


def _sent_chain(sock: ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent (DER), its own first. Public from Python 3.13
    (SSLSocket.get_unverified_chain); 3.11 and 3.12 have it on the socket's C object only."""
    if hasattr(sock, "get_unverified_chain"):
        return list(sock.get_unverified_chain() or [])
    sent = sock._sslobj.get_unverified_chain() or []
    return [certificate.public_bytes(ssl._ssl.ENCODING_DER) for certificate in sent]


def _certificate(der: bytes, host: str, chain: list[bytes] = ()) -> Certificate | None:
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
    try:
        last = x509.load_der_x509_certificate(chain[-1]) if chain else cert
        access = last.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        issuer_url = next((str(d.access_location.value) for d in access
                           if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS), None)
    except (x509.ExtensionNotFound, ValueError):
        issuer_url = None
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        names=[*dns_names, *ip_names],
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.date().isoformat(),
        not_after=cert.not_valid_after_utc.date().isoformat(),
        days_left=(cert.not_valid_after_utc - now).days,
        not_yet_valid=cert.not_valid_before_utc > now,
        name_matches=_name_matches(host, dns_names, ip_names),
        sent=len(chain) or 1,
        issuer_url=issuer_url,
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
    if result.chain_complete is False:
        cert = result.certificate
        signs.append(f"the chain is incomplete: the server sends its certificate without that of the CA that "
                     f"issued it ({cert.issuer}, published at {cert.issuer_url}); clients that do not fetch it "
                     "fail with 'unable to get local issuer certificate'. The server should send the full chain")
    versions = result.tls_versions or {}
    old = [name for name in TLS_VERSIONS if name not in CURRENT_TLS and versions.get(name) == "accepted"]
    if old and any(versions.get(name) == "accepted" for name in CURRENT_TLS):
        signs.append(f"it still accepts {' and '.join(map(VERSION_NAMES.get, old))}, deprecated since 2021 (RFC 8996)")
    cert = result.certificate
    if cert and 0 <= cert.days_left < EXPIRY_WARNING_DAYS:
        signs.append(f"the certificate expires on {cert.not_after} ({cert.days_left} days left)")
    return signs


def _problem(run: Run, result: PortResult) -> str | None:
    """Why the port will not do for submission, or None when it will, given credentials that work (_refusal
    judges those)."""
    if result.speaks not in (Speaks.SMTP, Speaks.IMPLICIT_TLS):
        return result.speaks
    if result.starttls_reply:
        # RFC 3207 section 4: 454 for a temporary reason; a 5xx reply refuses STARTTLS for good.
        later = "temporary; retry later" if result.starttls_reply.startswith("4") else "refused for good"
        return f"STARTTLS answered {result.starttls_reply}: {later}, or use 465 if offered"
    if result.tls_versions and not any(result.tls_versions.get(name) == "accepted" for name in CURRENT_TLS):
        spoken = [VERSION_NAMES[name] for name, outcome in result.tls_versions.items() if outcome == "accepted"]
        if not spoken:
            return "no TLS version works on it"
        return f"it speaks only {' and '.join(spoken)}: current clients refuse it"
    if result.tls is None:
        return "no TLS: STARTTLS fails" if result.tls_error else "no TLS: STARTTLS is not offered"
    if not result.verified:
        return "the certificate does not verify"
    if "AUTH" not in (result.capabilities_after_tls or {}):
        return "no AUTH after TLS: not a submission port"
    return None


def _refusal(run: Run, result: PortResult) -> tuple[Phase | None, str | None]:
    """On a port that works for submission, the login or the sender refused: where, and the problem."""
    if run.user is not None and result.auth != "ok":
        refused = re.match(r"failed: [45]\d\d ", result.auth)  # a reply (535 ...), not a hang-up or a local error
        return (Phase.AUTH if refused else None), f"AUTH {result.auth}"
    if run.mail_from is not None and result.sender != "accepted":
        return Phase.MAIL, f"sender {run.mail_from} {result.sender}"
    return None, None

