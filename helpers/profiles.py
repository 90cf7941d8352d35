"""What each lab endpoint is: the real port it acts as, its TLS mode, and the policies and faults it applies.

A profile is data. Policies are small pieces that each look at one stage of the conversation and answer
with a reply line (a refusal) or None (carry on); faults make a stage fail on purpose. The lab's server
(helpers.lab) applies them; nothing here touches a socket.

    stage         reached when                               a policy's value
    connect       the TCP connection is accepted             -
    tls           the TLS handshake starts (465, STARTTLS)   -
    greeting      the server is about to send its banner     -
    ehlo ... data the client sends that command              the command's argument
    mail / rcpt   the client names the sender / recipient    the address
    end_of_data   the message has been received              the raw message bytes
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

LAB_DOMAIN = "example.com"
FOREIGN_DOMAIN = "example.net"
HOSTNAME = "mail.example.com"
USERS = {"alice@example.com": "alice-lab-password", "bob@example.com": "bob-lab-password"}

MAX_MESSAGE_SIZE = 10_240_000  # Postfix's default message_size_limit
TLS_HANDSHAKE_TIMEOUT = 1.0  # seconds a TLS port waits for the ClientHello (asyncio would wait 60)
GREYLIST_DELAY = 0.3  # seconds before a retry is welcome; real greylisting wants minutes (RFC 5321 4.5.4.1)
MAX_FAILED_LOGINS = 3  # bad passwords from one address before AUTH answers 454...
LOGIN_BLOCK = 0.5  # ...until this many seconds have passed since the failures (providers block for minutes)
SILENT_HOLD = 5.0  # seconds a silent endpoint keeps a connection open without a word
SLOW_REPLY_DELAY = 0.5  # seconds the slow endpoint waits before its greeting

STAGES = ("connect", "tls", "greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "end_of_data")
TLS_MODES = ("none", "starttls", "implicit")


@dataclass(frozen=True)
class Fault:
    """Make one stage fail on purpose: wait `delay` seconds, then answer `reply`, drop the connection,
    or (with neither) carry on. `times=None` fails every time, `times=N` only the first N times."""

    stage: str
    reply: str | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; choose one of: {', '.join(STAGES)}")


class Session(Protocol):
    """What a policy may ask about the conversation it is judging (the lab provides it)."""

    peer_host: str
    tls_version: str | None
    login: str | None
    mail_from: str | None
    memory: dict[str, Any]  # kept per endpoint, shared by all its connections, for stateful policies


class Policy(Protocol):
    stage: str

    def check(self, session: Session, value: Any) -> str | None: ...


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class RelayOnlyTo:
    """An MX accepts mail for its own domains only (Postfix: reject_unauth_destination)."""

    domains: tuple[str, ...] = (LAB_DOMAIN,)
    stage: str = "rcpt"

    def check(self, session: Session, address: str) -> str | None:
        if session.login or domain_of(address) in self.domains:
            return None
        return f"554 5.7.1 <{address}>: Relay access denied"


@dataclass(frozen=True)
class TlsBeforeMail:
    """A submission port takes no mail over plaintext (RFC 3207 section 4, Postfix smtpd_tls_security_level=encrypt)."""

    stage: str = "mail"

    def check(self, session: Session, address: str) -> str | None:
        return None if session.tls_version else "530 5.7.0 Must issue a STARTTLS command first"


@dataclass(frozen=True)
class AuthBeforeMail:
    """Submission needs a login (RFC 6409 section 4.3)."""

    stage: str = "mail"

    def check(self, session: Session, address: str) -> str | None:
        return None if session.login else "530 5.7.0 Authentication required"


@dataclass(frozen=True)
class SenderOwnedByLogin:
    """The envelope sender must belong to the login (Postfix reject_sender_login_mismatch, which answers at RCPT)."""

    stage: str = "rcpt"

    def check(self, session: Session, address: str) -> str | None:
        sender = session.mail_from or ""
        if session.login is None or sender.lower() == session.login.lower():
            return None
        return f"553 5.7.1 <{sender}>: Sender address rejected: not owned by user {session.login}"


@dataclass(frozen=True)
class FromHeaderMatchesLogin:
    """A provider-style anti-spoofing check on the message itself: every address in the From: header must
    be in the logged-in user's domain. Modelled on the refusal quoted in the case study; a message with
    no From: header, or one whose "address" is not an address, fails it too."""

    stage: str = "end_of_data"

    def check(self, session: Session, raw: bytes) -> str | None:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        addresses = [address for _, address in email.utils.getaddresses(headers.get_all("From", []))]
        login_domain = domain_of(session.login or "")
        wrong = [a for a in addresses if "@" not in a or domain_of(a) != login_domain]
        if addresses and not wrong:
            return None
        shown = (domain_of(wrong[0]) if "@" in wrong[0] else wrong[0]) + " " if wrong else ""
        return (
            f"550 5.7.1 Your FROM address ( {shown}, ) must match your authenticated "
            f"email domain ( {login_domain} ). Treating this as a spoofed email."
        )


@dataclass(frozen=True)
class CrlfLineEndings:
    """Every line of a message must end with CR LF (RFC 5321 section 2.3.8). A bare LF is refused, as
    Microsoft 365 does (550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal) and Postfix can
    (smtpd_forbid_bare_newline, added after the SMTP smuggling reports of 2023)."""

    stage: str = "end_of_data"

    def check(self, session: Session, raw: bytes) -> str | None:
        if b"\n" not in raw.replace(b"\r\n", b""):
            return None
        return "550 5.6.11 Error: bare <LF> received; every line must end with <CR><LF> (RFC 5321 2.3.8)"


@dataclass(frozen=True)
class Greylisting:
    """Refuse the first attempt of each (client, sender, recipient) with a temporary error; accept a retry
    that comes at least `delay` seconds later (RFC 6647)."""

    delay: float = GREYLIST_DELAY
    stage: str = "rcpt"

    def check(self, session: Session, address: str) -> str | None:
        first_seen = session.memory.setdefault("greylist", {})
        triplet = (session.peer_host, (session.mail_from or "").lower(), address.lower())
        now = time.monotonic()
        seen = first_seen.setdefault(triplet, now)
        if now - seen >= self.delay:
            return None
        return f"451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"


@dataclass(frozen=True)
class LoginRateLimit:
    """After `limit` failed logins from one address within `window` seconds, every AUTH gets a temporary
    refusal until the failures are that old."""

    limit: int = MAX_FAILED_LOGINS
    window: float = LOGIN_BLOCK
    stage: str = "auth"

    def check(self, session: Session, mechanism: str) -> str | None:
        now = time.monotonic()
        failures = session.memory.get("failed_logins", {}).get(session.peer_host, [])
        recent = [moment for moment in failures if now - moment < self.window]
        return "454 4.7.0 Too many login attempts, please try again later" if len(recent) >= self.limit else None


@dataclass(frozen=True)
class Profile:
    """One kind of endpoint. `listening=False` binds the port without listening (connection refused);
    `black_hole=True` fills its accept queue so new connections time out, like a filtered port."""

    name: str
    acts_as: int
    tls: str
    summary: str
    certificate: str = "valid"
    starttls: bool = True
    smtputf8: bool = True
    auth: bool = False
    policies: tuple[Policy, ...] = ()
    faults: tuple[Fault, ...] = ()
    listening: bool = True
    black_hole: bool = False
    broken: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"unknown TLS mode {self.tls!r}; choose one of: {', '.join(TLS_MODES)}")


_HTTP_REPLY = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n"

_SUBMISSION_POLICIES = (TlsBeforeMail(), AuthBeforeMail(), SenderOwnedByLogin(), CrlfLineEndings())


def _submission(name: str, summary: str, **changes: Any) -> Profile:
    base = dict(acts_as=587, tls="starttls", auth=True, policies=_SUBMISSION_POLICIES)
    return Profile(name, summary=summary, **{**base, **changes})


def _submissions(name: str, summary: str, **changes: Any) -> Profile:
    base = dict(acts_as=465, tls="implicit", auth=True, policies=_SUBMISSION_POLICIES)
    return Profile(name, summary=summary, **{**base, **changes})


_CERTIFICATE_WORDS = {
    "wrong-host": "a certificate issued for localhost only (connecting by 127.0.0.1 fails)",
    "expired": "a certificate that expired on 2021-01-01",
    "not-yet-valid": "a certificate not valid before 2990-01-01",
    "untrusted": "a certificate from a CA nobody trusts",
    "self-signed": "a self-signed certificate",
}

STANDARD = (
    Profile(
        "relay", acts_as=25, tls="starttls", broken=False,
        summary="MX for example.com: no AUTH, opportunistic STARTTLS, refuses to relay elsewhere",
        policies=(RelayOnlyTo(), CrlfLineEndings()),
    ),
    _submission("submission", "mail submission: STARTTLS first, then AUTH", broken=False),
    _submissions("submissions", "mail submission over TLS from the first byte, AUTH required", broken=False),
)

BROKEN = (
    _submission(
        "submission-strict-from", "587 with a provider's From:-header check (the case study's refusal)",
        policies=_SUBMISSION_POLICIES + (FromHeaderMatchesLogin(),),
    ),
    _submissions(
        "submissions-strict-from", "465 with a provider's From:-header check (the case study's refusal)",
        policies=_SUBMISSION_POLICIES + (FromHeaderMatchesLogin(),),
    ),
    _submission(
        "submission-no-starttls", "587 with STARTTLS stripped: AUTH offered in plaintext",
        starttls=False, policies=(AuthBeforeMail(), SenderOwnedByLogin(), CrlfLineEndings()),
    ),
    _submission(
        "submission-no-smtputf8", "587 without SMTPUTF8: addresses must be ASCII (RFC 6531)",
        smtputf8=False,
    ),
    _submission(
        "submission-tls-unavailable", "587 offers STARTTLS, then answers 454",
        faults=(Fault("starttls", reply="454 4.7.0 TLS not available due to temporary reason"),),
    ),
    *(
        _submission(f"submission-{kind}-cert", f"587 presenting {words}", certificate=kind)
        for kind, words in _CERTIFICATE_WORDS.items()
    ),
    *(
        _submissions(f"submissions-{kind}-cert", f"465 presenting {words}", certificate=kind)
        for kind, words in _CERTIFICATE_WORDS.items()
    ),
    _submissions(
        "submissions-handshake-abort", "465 closes the connection in the middle of the TLS handshake",
        faults=(Fault("tls", drop=True),),
    ),
    _submission(
        "silent", "accepts the connection and never says a word",
        faults=(Fault("connect", delay=SILENT_HOLD, drop=True),),
    ),
    Profile(
        "closed", acts_as=468, tls="none", listening=False,
        summary="nothing listens here: connection refused (the case study's typo 468)",
    ),
    Profile(
        "blackhole", acts_as=25, tls="none", black_hole=True,
        summary="a filtered port: connection attempts time out, as when a cloud blocks outbound 25",
    ),
    _submission(
        "busy", "greets with 421 and hangs up",
        faults=(Fault("greeting", reply=f"421 4.7.0 {HOSTNAME} Service not available, closing transmission channel"),),
    ),
    Profile(
        "greylisting", acts_as=25, tls="starttls",
        summary=f"MX that greylists: 451 at RCPT until a retry {GREYLIST_DELAY} s later",
        policies=(RelayOnlyTo(), Greylisting()),
    ),
    _submission(
        "rate-limited", f"587 that answers 454 for {LOGIN_BLOCK} s after {MAX_FAILED_LOGINS} bad passwords",
        policies=(LoginRateLimit(),) + _SUBMISSION_POLICIES,
    ),
    _submission(
        "slow", f"587 that waits {SLOW_REPLY_DELAY} s before greeting",
        faults=(Fault("greeting", delay=SLOW_REPLY_DELAY),),
    ),
    Profile(
        "not-smtp", acts_as=587, tls="none",
        summary="a web server where mail was expected: answers in HTTP and hangs up",
        faults=(Fault("greeting", reply=_HTTP_REPLY),),
    ),
    Profile(
        "tls-not-smtp", acts_as=465, tls="implicit",
        summary="TLS from the first byte, then HTTP instead of SMTP",
        faults=(Fault("greeting", reply=_HTTP_REPLY),),
    ),
)

PROFILES = {profile.name: profile for profile in STANDARD + BROKEN}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
