"""Send one message the safe way, over the standard library's smtplib, and get back what happened.

    result = send(message, lab["submissions"], user="alice@example.com", password=..., ca_file=lab.ca_file)
    result.ok, result.accepted, result.refused   # what the server said about each recipient
    result.transcript                            # the conversation (a sequence diagram in a notebook)
    explain(result)                              # when it failed: the matching failure-catalog entries

Safe by default, where smtplib alone is not:
- TLS certificates are verified (smtplib's starttls() and SMTP_SSL without `context=` do not verify);
- `security="starttls"` requires STARTTLS: a server that does not offer it is an error, never a silent
  fall back to plaintext;
- a password is never sent over an unencrypted connection unless you pass `allow_plaintext_auth=True`,
  and never shown: not in the transcript, the result or its error, even when the server quotes it back;
- `timeout` bounds the whole conversation, not each read: a server that trickles bytes cannot hold it.

Network, TLS and SMTP failures come back in the result (`check=True` raises them instead). Mistakes that
can be seen before connecting raise ValueError at once; anything else (a bug, ours or the caller's)
propagates as it is.
"""

from __future__ import annotations

import email.errors
import email.headerregistry
import email.message
import email.policy
import functools
import html
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from helpers.deadline import LinesWithin, time_left
from helpers.preflight import check_address, check_timeout, resolve
from helpers.terms import Phase, Security, security_for_port
from helpers.transcript import NON_ASCII_LOGIN, RecordingSMTP, RecordingSMTP_SSL, Transcript, describe_error

SECURITY_MODES = tuple(Security)
DEFAULT_TIMEOUT = 10.0  # seconds for the whole conversation, from connecting to QUIT
EHLO_NAME = "client.example.com"  # what we introduce ourselves as; smtplib would use this machine's name
WRITE_CHUNK = 16 * 1024  # bytes written under one timeout: one TLS record's worth

_HEADER_LINE_BREAK = re.compile(r"\r|\n(?![ \t])")  # a line break that does not start a folded line
_ADDRESS_HEADERS = ("from", "sender", "reply-to", "to", "cc", "bcc")
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>")
_PORT = re.compile(r"[0-9]{1,5}")


@runtime_checkable
class Endpoint(Protocol):
    """Where send() connects, as a lab endpoint (`lab["submissions"]`) describes it. `acts_as` is the
    real port it behaves like, which picks the "auto" security; `label` names it in results."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def acts_as(self) -> int: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Target:
    """Where to connect, and which real port that place acts as (it decides the "auto" security)."""

    host: str
    port: int
    acts_as: int
    label: str


@dataclass
class SendResult:
    """What happened to one message. `explain(result)` or `diagnose(result)` (helpers.diagnose) says
    why it failed."""

    target: Target
    security: Security
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    error: smtplib.SMTPException | OSError | None = None
    transcript: Transcript = field(default_factory=Transcript)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def phase(self) -> Phase | None:
        """Where the conversation stopped when it failed (None when it worked)."""
        return None if self.ok else self.transcript.phase

    @property
    def port(self) -> int:
        return self.target.acts_as

    def check(self) -> SendResult:
        """Raise the original exception if sending failed; return self otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def __str__(self) -> str:
        where = self.target.label
        if self.error is None:
            tls = f" over {self.transcript.tls_version}" if self.transcript.tls else " without TLS"
            refused = f"; refused {', '.join(self.refused)}" if self.refused else ""
            return f"sent via {where}{tls}: accepted {', '.join(self.accepted)}{refused}"
        return f"failed at {self.phase.label} on {where}: {describe_error(self.error)}"

    __repr__ = __str__  # the default would show the OS-chosen port, which changes from run to run

    def _repr_html_(self) -> str:
        colour = "#1e7b34" if self.ok else "#a61b1b"
        summary = f'<p style="color:{colour};font-weight:bold;margin:2px 0">{html.escape(str(self))}</p>'
        return summary + self.transcript.html()


def send(
    message: email.message.Message | bytes,
    endpoint: Endpoint | tuple[str, int] | str,
    *,
    security: Security | str = Security.AUTO,
    user: str | None = None,
    password: str | None = None,
    ca_file: str | Path | None = None,
    context: ssl.SSLContext | None = None,
    host: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_plaintext_auth: bool = False,
    mail_from: str | None = None,
    rcpt_to: Sequence[str] | None = None,
    local_hostname: str = EHLO_NAME,
    check: bool = False,
) -> SendResult:
    """Send `message` (an EmailMessage, or raw bytes with `mail_from` and `rcpt_to`) to `endpoint` (a lab
    Endpoint, `(host, port)`, or `"host:port"`) and return what happened.

    `security`: "auto" (465 -> implicit, else starttls), "starttls", "implicit" or "none". TLS is
    verified against `context`, else `ca_file` (read afresh on every call), else the system's trust
    store. `host` overrides the endpoint's host (to connect by a certificate's name). `timeout` is the
    time the whole conversation may take, in seconds.

    Raises ValueError, before connecting, for what can be seen then: an unknown security mode, a bad
    port or timeout, a host that does not resolve, a malformed address or address header, a header
    with a line break in it, credentials that are missing, outside ASCII or about to go unencrypted,
    an unreadable CA file; TypeError for an endpoint of another kind. Network, TLS and SMTP errors
    (OSError, ssl.SSLError, smtplib.SMTPException) come back in the result, or are raised with
    `check=True`. Any other exception propagates."""
    target = _target(endpoint, host)
    mode = _security_for(security, target.acts_as)
    timeout = check_timeout(timeout)
    _check_credentials(user, password, mode, allow_plaintext_auth)
    _check_headers(message)
    sender, recipients = _envelope(message, mail_from, rcpt_to)
    resolve(target.host)
    tls = context or _verifying_context(ca_file)

    result = SendResult(target, mode)
    options = dict(local_hostname=local_hostname, timeout=timeout, transcript=result.transcript,
                   names={target.port: target.label}, deadline=time.monotonic() + timeout)
    smtp: smtplib.SMTP | None = None
    try:
        # The transcript is ours, so it keeps what happened even when the constructor's connect fails.
        if mode == Security.IMPLICIT:
            smtp = _ImplicitTLS(target.host, target.port, context=tls, **options)
        else:
            smtp = _Plaintext(target.host, target.port, **options)
        smtp.ehlo()
        if mode == Security.STARTTLS:
            smtp.starttls(context=tls)  # raises SMTPNotSupportedError when STARTTLS is not offered
            smtp.ehlo()
        if user is not None:
            smtp.login(user, password)
        result.refused = _deliver(smtp, message, sender, recipients)
        result.accepted = [r for r in recipients if r not in result.refused]
        smtp.quit()
    except (smtplib.SMTPException, OSError) as error:  # ssl.SSLError and TimeoutError are OSErrors
        _hide_secrets(error, result.transcript)
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            result.refused = _decoded(error.recipients)
        result.error = error
        result.transcript.error(error)
        if check:
            raise
    finally:
        if smtp is not None:
            smtp.close()
    return result


def _deliver(smtp: smtplib.SMTP, message: email.message.Message | bytes, sender: str,
             recipients: list[str]) -> dict[str, tuple[int, str]]:
    if isinstance(message, bytes):
        international = not all(address.isascii() for address in [sender, *recipients])
        refused = smtp.sendmail(sender, recipients, message, mail_options=["SMTPUTF8"] if international else [])
    else:
        refused = smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    return _decoded(refused)


def _decoded(refused: dict[str, tuple[int, bytes]]) -> dict[str, tuple[int, str]]:
    return {address: (code, text.decode("utf-8", "replace")) for address, (code, text) in refused.items()}


def _hide_secrets(error: smtplib.SMTPException | OSError, transcript: Transcript) -> None:
    # A server may quote the AUTH line back in its reply (hostile-clients D13); smtplib keeps the reply
    # in the exception, which str(result), a check=True traceback and the notebook all show.
    error.args = tuple(transcript.scrubbed(a) if isinstance(a, str | bytes) else a for a in error.args)
    if isinstance(error, smtplib.SMTPResponseException):
        error.smtp_error = transcript.scrubbed(error.smtp_error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        error.recipients = {address: (code, transcript.scrubbed(text))
                            for address, (code, text) in error.recipients.items()}
        error.args = (error.recipients,)


def _verifying_context(ca_file: str | Path | None) -> ssl.SSLContext:
    if ca_file is None:
        return _system_trust()
    try:
        # Read afresh each time (a fraction of a millisecond): a lab restarted with a new CA may have
        # written it to the same path, and trust must follow the file, not what it once held.
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise ValueError(f"cannot use the CA file {ca_file}: {error.strerror or error}") from None


@functools.cache
def _system_trust() -> ssl.SSLContext:
    return ssl.create_default_context()  # reading the system's trust store takes tens of ms: once


# --------------------------------------------------------------------------------------------------
# smtplib held to one deadline


class _Deadline:
    """Mixin for the recording smtplib classes: the whole conversation within one deadline.

    smtplib's `timeout` bounds each socket operation, so a server that sends a byte every second never
    lets a read time out (hostile-clients D9). Here each operation gets only the time left: the connect,
    every TLS handshake (through _HandshakeWithin), every write (in WRITE_CHUNK pieces) and every
    read (through deadline.LinesWithin)."""

    def __init__(self, *args, deadline: float, context: ssl.SSLContext | None = None, **kwargs) -> None:
        self.deadline = deadline
        if context is not None:  # SMTP_SSL's; starttls() is given its own below
            kwargs["context"] = _HandshakeWithin(context, deadline)
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(host, port, time_left(self.deadline))

    def send(self, s) -> None:
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        for start in range(0, len(data), WRITE_CHUNK):
            if self.sock is not None:
                self.sock.settimeout(time_left(self.deadline))
            super().send(data[start:start + WRITE_CHUNK])

    def getreply(self):
        if self.file is None and self.sock is not None:
            self.file = LinesWithin(self.sock, self.deadline, chunk=WRITE_CHUNK)
        return super().getreply()

    def starttls(self, *, context: ssl.SSLContext):
        return super().starttls(context=_HandshakeWithin(context, self.deadline))


class _Plaintext(_Deadline, RecordingSMTP):
    pass


class _ImplicitTLS(_Deadline, RecordingSMTP_SSL):
    pass


class _HandshakeWithin:
    """What smtplib calls to start TLS (context.wrap_socket), with the handshake given only the time
    left: smtplib would otherwise give it the whole timeout again after connecting."""

    def __init__(self, context: ssl.SSLContext, deadline: float) -> None:
        self.context, self.deadline = context, deadline

    def wrap_socket(self, sock: socket.socket, **options) -> ssl.SSLSocket:
        try:
            sock.settimeout(time_left(self.deadline))
            return self.context.wrap_socket(sock, **options)
        except BaseException:
            sock.close()  # SMTP_SSL would drop it unclosed (an SSLSocket that failed has closed it already)
            raise




# --------------------------------------------------------------------------------------------------
# Checks made before anything is sent


def _target(endpoint: Endpoint | tuple[str, int] | str, host: str | None) -> Target:
    if isinstance(endpoint, str):
        name, colon, port_text = endpoint.rpartition(":")
        if not colon or not _PORT.fullmatch(port_text):
            raise ValueError(f"endpoint {endpoint!r} should look like 'host:port', e.g. 'smtp.example.com:587'")
        target_host, port = name.strip("[]"), int(port_text)
    elif isinstance(endpoint, tuple):
        target_host, port, *_ = endpoint  # a socket address from getsockname() will do, IPv6 included
    elif isinstance(endpoint, Endpoint):
        return Target(host or endpoint.host, _checked_port(endpoint.port), endpoint.acts_as, endpoint.label)
    else:
        raise TypeError(f"cannot send to a {type(endpoint).__name__}: give a lab endpoint (lab['submission']), "
                        "(host, port) or 'host:port'")
    if not isinstance(target_host, str) or not target_host:
        raise ValueError(f"host {target_host!r} should be a host name or an IP address")
    port = _checked_port(port)
    return Target(host or target_host, port, port, f"{target_host}:{port}")


def _checked_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port {port!r} is out of range: use 1-65535 (465 or 587 for submission)")
    return port


def _security_for(security: Security | str, acts_as: int) -> Security:
    try:
        security = Security(security)
    except ValueError:
        raise ValueError(f"unknown security mode {security!r}; choose one of: {', '.join(Security)}") from None
    return security_for_port(acts_as) if security == Security.AUTO else security


def _check_credentials(user: str | None, password: str | None, mode: Security, allow_plaintext_auth: bool) -> None:
    if (user is None) != (password is None):
        raise ValueError("give both user and password, or neither")
    if user is None:
        return
    if not (user.isascii() and password.isascii()):
        # Before connecting: smtplib's own UnicodeEncodeError would quote the whole AUTH string.
        raise ValueError(
            f"{NON_ASCII_LOGIN}: smtplib cannot log in with it. SMTP itself can (AUTH carries base64 of "
            "any bytes, RFC 4954 section 4, and PLAIN's are UTF-8, RFC 4616 section 2), so another "
            "client may; with smtplib, use an ASCII password, or an app password if your provider has them"
        )
    if mode == Security.NONE and not allow_plaintext_auth:
        raise ValueError(
            "refusing to send a password over an unencrypted connection; use security='starttls' or "
            "'implicit', or pass allow_plaintext_auth=True if you really mean it"
        )


def _envelope(message: email.message.Message | bytes, mail_from: str | None,
              rcpt_to: Sequence[str] | None) -> tuple[str, list[str]]:
    if isinstance(message, bytes) and (mail_from is None or not rcpt_to):
        raise ValueError("a message given as bytes needs mail_from= and rcpt_to=")
    if mail_from is None:
        senders = _header_addresses(message, "Sender") or _header_addresses(message, "From")
        if not senders:
            raise ValueError("the message has no From: header and no mail_from= was given")
        mail_from = senders[0]
    recipients = list(rcpt_to) if rcpt_to else _header_addresses(message, "To", "Cc", "Bcc")
    if not recipients:
        raise ValueError("no recipients: add To:/Cc:/Bcc: headers or pass rcpt_to=")
    for address in [mail_from, *recipients]:
        check_address(address)
    return mail_from, recipients


def _parsed(name: str, value: object) -> email.headerregistry.AddressHeader:
    """An address header as email.headerregistry reads it: EmailMessage has done so already; the older
    email.message.Message keeps a plain string, parsed here the same way on every Python (getaddresses()
    became strict in 3.13, and in security releases of 3.11 and 3.12, and reads a malformed header as
    having no address at all)."""
    if isinstance(value, email.headerregistry.AddressHeader):
        return value
    return email.policy.default.header_factory(name, str(value))


def _header_addresses(message: email.message.Message, *names: str) -> list[str]:
    return [address.addr_spec for name in names for value in message.get_all(name) or []
            for address in _parsed(name, value).addresses]


def _check_headers(message: email.message.Message | bytes) -> None:
    if isinstance(message, str):
        raise ValueError("pass an email.message.EmailMessage (or bytes), not a str: build messages with EmailMessage")
    if isinstance(message, bytes):
        return
    if not isinstance(message, email.message.Message):
        raise ValueError(f"cannot send a {type(message).__name__}; build the message with email.message.EmailMessage")
    for name, value in message.items():
        # EmailMessage refuses such a value when it is set; the older email.message.Message does not.
        if _HEADER_LINE_BREAK.search(str(value)):
            raise ValueError(
                f"the {name}: header contains a line break; that would let its value add headers of its "
                "own (header injection). Remove CR and LF from header values."
            )
        if name.lower() in _ADDRESS_HEADERS:
            _check_address_header(name, value)


def _check_address_header(name: str, value: object) -> None:
    header = _parsed(name, value)
    problems = _address_problems(address.addr_spec for address in header.addresses)
    defects = [str(d) for d in header.defects if isinstance(d, email.errors.InvalidHeaderDefect)]
    if defects:
        # Where the parser only says "invalid address in address-list", what stands between angle
        # brackets, where the address belongs, often tells more: <smtp.example.com> is a host name.
        problems += [*_address_problems(_ANGLE_ADDRESS.findall(str(value))), *defects]
    if problems:
        raise ValueError(
            f"the {name}: header is not a list of addresses ({problems[0]}); build it with "
            "email.headerregistry.Address or email.utils.formataddr((name, address))"
        )


def _address_problems(addresses: Iterable[str]) -> list[str]:
    problems = []
    for address in addresses:
        try:
            check_address(address)
        except ValueError as error:
            problems.append(str(error))
    return problems
