"""Send one message the safe way, over the standard library's smtplib, and get back what happened.

    result = send(message, lab["submissions"], user="alice@example.com", password=..., ca_file=lab.ca_file)
    result.ok, result.accepted, result.refused   # what the server said about each recipient
    result.transcript                            # the conversation (a sequence diagram in a notebook)
    result.diagnosis                             # when it failed: the matching failure-catalog entries

Safe by default, where smtplib alone is not:
- TLS certificates are verified (smtplib's starttls() and SMTP_SSL without `context=` do not verify);
- `security="starttls"` requires STARTTLS: a server that does not offer it is an error, never a silent
  fall back to plaintext;
- a password is never sent over an unencrypted connection unless you pass `allow_plaintext_auth=True`;
- every network step has a timeout.

Failures come back in the result; `check=True` raises the original exception instead. Mistakes that
can be seen before connecting (an unknown security mode, a bad port, a host that does not resolve, a
malformed address, a header with a line break in it) raise ValueError at once.
"""

from __future__ import annotations

import email.errors
import email.message
import email.utils
import functools
import html
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.terms import Security, security_for_port
from helpers.transcript import RecordingSMTP, RecordingSMTP_SSL, Transcript, describe_error

if TYPE_CHECKING:
    from helpers.diagnose import Match

SECURITY_MODES = tuple(Security)
DEFAULT_TIMEOUT = 10.0  # seconds for each network step
EHLO_NAME = "client.example.com"  # what we introduce ourselves as; smtplib would use this machine's name

_HEADER_LINE_BREAK = re.compile(r"\r|\n(?![ \t])")  # a line break that does not start a folded line
_ADDRESS_HEADERS = ("from", "sender", "reply-to", "to", "cc", "bcc")


@dataclass(frozen=True)
class Target:
    """Where to connect, and which real port that place acts as (it decides the "auto" security)."""

    host: str
    port: int
    acts_as: int
    label: str


@dataclass
class SendResult:
    """What happened to one message."""

    target: Target
    security: str
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    error: BaseException | None = None
    transcript: Transcript = field(default_factory=Transcript)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def phase(self) -> str | None:
        """Where the conversation stopped when it failed: connect, tls, greeting, ehlo, starttls, auth,
        mail, rcpt, data or end_of_data."""
        return None if self.ok else self.transcript.phase

    @property
    def port(self) -> int:
        return self.target.acts_as

    @functools.cached_property
    def diagnosis(self) -> list[Match]:
        """The failure-catalog entries that match this failure, best first (empty when it worked)."""
        from helpers.diagnose import diagnose

        return diagnose(self) if self.error else []

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
        return f"failed at {self.phase.upper().replace('_', ' ')} on {where}: {describe_error(self.error)}"

    __repr__ = __str__  # the default would show the OS-chosen port, which changes from run to run

    def _repr_html_(self) -> str:
        colour = "#1e7b34" if self.ok else "#a61b1b"
        summary = f'<p style="color:{colour};font-weight:bold;margin:2px 0">{html.escape(str(self))}</p>'
        return summary + self.transcript.html()


def send(
    message: email.message.Message | bytes,
    endpoint: Any,
    *,
    security: str = "auto",
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
    Endpoint, `(host, port)`, or `"host:port"`). `security`: "auto" (465 -> implicit, else starttls),
    "starttls", "implicit" or "none". TLS is verified against `context`, else `ca_file`, else the
    system's trust store. `host` overrides the endpoint's host (to connect by a certificate's name)."""
    target = _target(endpoint, host)
    mode = _security_for(security, target.acts_as)
    sender, recipients = _envelope(message, mail_from, rcpt_to)
    _check_credentials(user, password, mode, allow_plaintext_auth)
    _check_headers(message)
    _resolve(target.host)

    result = SendResult(target, mode)
    tls = context or _verifying_context(str(ca_file) if ca_file else None)
    names = {target.port: target.label}
    smtp: smtplib.SMTP | None = None
    try:
        # The transcript is ours, so it keeps what happened even when the constructor's connect fails.
        options = dict(local_hostname=local_hostname, timeout=timeout, transcript=result.transcript, names=names)
        if mode == "implicit":
            smtp = RecordingSMTP_SSL(target.host, target.port, context=tls, **options)
        else:
            smtp = RecordingSMTP(target.host, target.port, **options)
        smtp.ehlo()
        if mode == "starttls":
            smtp.starttls(context=tls)  # raises SMTPNotSupportedError when STARTTLS is not offered
            smtp.ehlo()
        if user is not None:
            smtp.login(user, password)
        result.refused = _deliver(smtp, message, sender, recipients)
        result.accepted = [r for r in recipients if r not in result.refused]
        smtp.quit()
    except Exception as error:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            result.refused = _decoded(error.recipients)
        result.error = error
        result.transcript.error(error)
        if smtp is not None:
            smtp.close()
        if check:
            raise
    return result


def _deliver(smtp: smtplib.SMTP, message, sender: str, recipients: list[str]) -> dict[str, tuple[int, str]]:
    if isinstance(message, bytes):
        international = not all(address.isascii() for address in [sender, *recipients])
        refused = smtp.sendmail(sender, recipients, message, mail_options=["SMTPUTF8"] if international else [])
    else:
        refused = smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    return _decoded(refused)


def _decoded(refused: dict[str, tuple[int, bytes]]) -> dict[str, tuple[int, str]]:
    return {address: (code, text.decode("utf-8", "replace")) for address, (code, text) in refused.items()}


@functools.lru_cache(maxsize=8)
def _verifying_context(ca_file: str | None) -> ssl.SSLContext:
    # One context per CA file, shared: building one reads the trust store, which takes tens of ms.
    return ssl.create_default_context(cafile=ca_file)


# --------------------------------------------------------------------------------------------------
# Checks made before anything is sent


def _target(endpoint: Any, host: str | None) -> Target:
    if hasattr(endpoint, "acts_as"):  # a lab Endpoint
        target_host, port, acts_as, label = endpoint.host, endpoint.port, endpoint.acts_as, endpoint.label
    else:
        if isinstance(endpoint, str):
            name, colon, port_text = endpoint.rpartition(":")
            if not colon or not port_text.isdigit():
                raise ValueError(f"endpoint {endpoint!r} should look like 'host:port', e.g. 'smtp.example.com:587'")
            target_host, port = name.strip("[]"), int(port_text)
        else:
            target_host, port = endpoint
        acts_as, label = port, f"{target_host}:{port}"
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port {port!r} is out of range: use 1-65535 (465 or 587 for submission)")
    return Target(host or target_host, port, acts_as, label)


def _security_for(security: str, acts_as: int) -> str:
    if security not in SECURITY_MODES:
        raise ValueError(f"unknown security mode {security!r}; choose one of: {', '.join(SECURITY_MODES)}")
    if security != "auto":
        return security
    return security_for_port(acts_as)


def _check_credentials(user: str | None, password: str | None, mode: str, allow_plaintext_auth: bool) -> None:
    if (user is None) != (password is None):
        raise ValueError("give both user and password, or neither")
    if user is not None and mode == "none" and not allow_plaintext_auth:
        raise ValueError(
            "refusing to send a password over an unencrypted connection; use security='starttls' or "
            "'implicit', or pass allow_plaintext_auth=True if you really mean it"
        )


def _envelope(message, mail_from: str | None, rcpt_to: Sequence[str] | None) -> tuple[str, list[str]]:
    if isinstance(message, str):
        raise ValueError("pass an email.message.EmailMessage (or bytes), not a str: build messages with EmailMessage")
    if isinstance(message, bytes):
        if mail_from is None or not rcpt_to:
            raise ValueError("a message given as bytes needs mail_from= and rcpt_to=")
    elif not isinstance(message, email.message.Message):
        raise ValueError(f"cannot send a {type(message).__name__}; build the message with email.message.EmailMessage")
    if mail_from is None:
        senders = _header_addresses(message, "Sender") or _header_addresses(message, "From")
        if not senders:
            raise ValueError("the message has no From: header and no mail_from= was given")
        mail_from = senders[0]
    recipients = list(rcpt_to) if rcpt_to else _header_addresses(message, "To", "Cc", "Bcc")
    if not recipients:
        raise ValueError("no recipients: add To:/Cc:/Bcc: headers or pass rcpt_to=")
    for address in [mail_from, *recipients]:
        _check_address(address)
    return mail_from, recipients


def _header_addresses(message: email.message.Message, *names: str) -> list[str]:
    values = [str(v) for name in names for v in (message.get_all(name) or [])]
    return [address for _, address in email.utils.getaddresses(values) if address]


def _check_address(address: str) -> None:
    local, at, domain = address.rpartition("@")
    problem = None
    if not at or not local or not domain:
        problem = "it needs a local part, an @ and a domain"
    elif any(c in address for c in " <>\r\n\t,"):
        problem = "spaces, angle brackets, commas and line breaks do not belong in an address"
    elif "." not in domain and domain != "localhost":
        problem = f"the domain {domain!r} has no dot"
    if problem:
        raise ValueError(f"{address!r} is not an email address: {problem} (like alice@example.com)")


def _check_headers(message) -> None:
    if isinstance(message, bytes):
        return
    for name, value in message.items():
        if _HEADER_LINE_BREAK.search(str(value)):
            raise ValueError(
                f"the {name}: header contains a line break; that would let its value add headers of its "
                "own (header injection). Remove CR and LF from header values."
            )
        if name.lower() in _ADDRESS_HEADERS:
            _check_address_header(name, value)


def _check_address_header(name: str, value) -> None:
    # EmailMessage parses address headers when they are set and notes what it had to guess as defects;
    # the older email.message.Message keeps plain strings, which getaddresses() splits.
    invalid = [d for d in getattr(value, "defects", ()) if isinstance(d, email.errors.InvalidHeaderDefect)]
    problem = str(invalid[0]) if invalid else None
    for _, address in email.utils.getaddresses([str(value)]):
        try:
            _check_address(address)
        except ValueError as error:
            problem = str(error)
    if problem:
        raise ValueError(
            f"the {name}: header is not a list of addresses ({problem}); build it with "
            "email.headerregistry.Address or email.utils.formataddr((name, address))"
        )


def _resolve(host: str) -> None:
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve host {host!r} ({error.strerror}); check the spelling") from None
