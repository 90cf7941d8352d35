"""What each lab endpoint is: the real port it acts as, its TLS mode, and the policies and faults it applies.

A profile is data. Policies are small pieces that each look at one stage of the conversation and answer
with a reply line (a refusal) or None (carry on); faults make a stage fail on purpose. The lab's server
(helpers.server and helpers.conversation) applies them; nothing here touches a socket.

    stage         reached when                                   a policy's value
    connect       the TCP connection is accepted                 -
    tls           the TLS handshake starts (465, STARTTLS)       -
    greeting      the server is about to send its banner         -
    command       any command arrives (EVERY_COMMAND)            the command's name
    ehlo ... rset the client sends that command                  the command's argument
    auth          the server checks the credentials              the attempt (Attempt)
    mail / rcpt   the client names the sender / recipient        the address
    data          the client asks to send the message            the number of recipients
    end_of_data   the message has been received                  the message (Received)

Besides its policies, a profile has a voice (how it greets, what its EHLO reply offers, which words it
uses), its logins (which secrets it takes, what a refused one gets), the TLS versions it speaks, and
rewrites (changes it makes to a message it accepts). The reply texts are those of a real server, each with
its source; Postfix 3.7 is the reference (its src/smtpd/smtpd.c, smtpd_check.c and postconf(5)
documentation); the provider personas (helpers.providers) speak as Gmail and Microsoft 365 do.
"""

from __future__ import annotations

import collections
import datetime
import email.parser
import email.policy
import functools
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from helpers.certificates import KINDS
from helpers.terms import Phase, TlsMode

LAB_DOMAIN = "example.com"
FOREIGN_DOMAIN = "example.net"
HOSTNAME = "mail.example.com"
# The lab's accounts (fake, lab only): each one's own password; the app password an account has once it
# turned 2-Step Verification on (Gmail's: 16 letters); the addresses it may also send as (a verified "Send
# mail as" alias at Gmail, the Send As permission at Microsoft 365).
USERS = {"alice@example.com": "alice-lab-password", "bob@example.com": "bob-lab-password"}
APP_PASSWORDS = {"alice@example.com": "aliceapppassword"}
SEND_AS = {"alice@example.com": ("support@example.com",)}

# Limits that real servers have. Postfix's names and defaults (postconf(5)) where it has one.
MAX_MESSAGE_SIZE = 10_240_000  # message_size_limit: bytes of message a server takes
MAX_RECIPIENTS = 1000  # smtpd_recipient_limit: recipients per message; more get 452 4.5.3
MAX_CONNECTIONS = 256  # open connections per endpoint; more get 421 4.7.0 (smtpd_client_connection_count_limit)
LINE_LENGTH_LIMIT = 2048  # line_length_limit: longest command line read whole (RFC 5321 4.5.3.1.4 asks for 512)
SASL_RESPONSE_LIMIT = 12288  # smtpd_sasl_response_limit: longest answer to an AUTH challenge
TEXT_LINE_LIMIT = 998  # characters in a message line, without CR LF (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1)

GREYLIST_DELAY = 0.3  # seconds before a retry is welcome; real greylisting wants minutes (RFC 5321 4.5.4.1)
GREYLIST_MEMORY = 10_000  # (client, sender, recipient) triplets a greylisting endpoint remembers
MAX_FAILED_LOGINS = 3  # bad passwords from one address before AUTH answers 454...
LOGIN_BLOCK = 0.5  # ...until this many seconds have passed since the failures (providers block for minutes)
FAILED_LOGIN_MEMORY = 1000  # client addresses whose recent failed logins an endpoint remembers
SILENT_HOLD = 5.0  # seconds a silent endpoint keeps a connection open without a word
SLOW_REPLY_DELAY = 0.5  # seconds the slow endpoint waits before its greeting

TLS_VERSIONS = ("TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3")  # oldest first, as ssl.TLSVersion names them
EVERY_COMMAND = "command"  # the stage of a policy that judges every command before it runs
TOKEN_MECHANISMS = frozenset({"XOAUTH2", "OAUTHBEARER"})  # the SASL mechanisms that carry an OAuth token


@dataclass(frozen=True)
class Endpoint:
    """Where a profile listens. `acts_as` is the real port it behaves like; `port` is the one it has."""

    name: str
    host: str
    port: int
    acts_as: int
    tls: TlsMode
    summary: str

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def label(self) -> str:
        """A name that stays the same from run to run: 'submission (port 587)'."""
        return f"{self.name} (port {self.acts_as})"

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Fault:
    """Make one stage fail on purpose: wait `delay` seconds, then answer `reply`, drop the connection,
    or (with neither) carry on. `times=None` fails every time, `times=N` only the first N times."""

    stage: Phase
    reply: str | None = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = None

    def __post_init__(self) -> None:
        if self.stage not in set(Phase):
            raise ValueError(f"unknown stage {self.stage!r}; choose one of: {', '.join(Phase)}")
        object.__setattr__(self, "stage", Phase(self.stage))


@dataclass(frozen=True)
class Received:
    """A message as DATA delivered it: its bytes, every line ended with CR LF (Postfix reads a bare LF as a
    line end and stores CR LF), and what that hid from the bytes. `sender` is the envelope sender a rewrite
    chose (None: the client's)."""

    raw: bytes
    bare_line_feeds: bool = False  # some line ended in LF alone
    longest_line: int = 0  # characters in the longest line, without its line end
    sender: str | None = None


class Secret(StrEnum):
    """The kinds of secret an account can log in with."""

    PASSWORD = "password"  # the account's own password (AUTH PLAIN, LOGIN)
    APP_PASSWORD = "app password"  # one made for a single program (APP_PASSWORDS)
    TOKEN = "token"  # an OAuth 2.0 access token (XOAUTH2, OAUTHBEARER; helpers.oauth)


@dataclass(frozen=True)
class Attempt:
    """A login being checked: the mechanism, the account named, and the secret (never shown)."""

    mechanism: str
    login: str
    secret: str = field(repr=False)

    @property
    def with_token(self) -> bool:
        return self.mechanism in TOKEN_MECHANISMS


class Session(Protocol):
    """What a policy may ask about the conversation it is judging (the lab provides it)."""

    peer_host: str
    tls_version: str | None
    login: str | None
    mail_from: str | None
    aliases: tuple[str, ...]  # the addresses the logged-in account may also send as (SEND_AS)
    today: datetime.date  # the lab's date (Lab(today=...)), for policies that change on a date
    memory: dict[str, Any]  # kept per endpoint, shared by all its connections, for stateful policies

    def secret(self, attempt: Attempt) -> Secret | None:
        """Which of the account's secrets the attempt presents; None if it is none of them."""


class Policy(Protocol):
    stage: str

    def check(self, session: Session, value: Any) -> str | None: ...


class Rewrite(Protocol):
    """A change an endpoint makes to a message it accepts (Gmail's From: rewriting, say)."""

    def rewrite(self, session: Session, message: Received) -> Received: ...


@dataclass(frozen=True)
class Voice:
    """How an endpoint introduces itself and what it offers: its host name and greeting, the first line of
    its EHLO reply and its keywords in its own order (STARTTLS and AUTH appear only when they are on offer),
    its AUTH mechanisms and size limit, and its words for the replies every endpoint gives (`replies`: the
    lab's reply, as Postfix words it, and this endpoint's instead). The default is the lab's own, Postfix's."""

    hostname: str = HOSTNAME
    greeting: str = "ESMTP SMTP Port Lab"  # after the host name; {date}: the lab's clock (a UTC datetime)
    hello: str = "{hostname}"  # the EHLO reply's first line; {peer}: the client's address
    keywords: tuple[str, ...] = ("PIPELINING", "SIZE", "VRFY", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES",
                                 "8BITMIME", "SMTPUTF8")  # Postfix's order (smtpd.c, ehlo_cmd)
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    size_limit: int = MAX_MESSAGE_SIZE
    replies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Logins:
    """Which secrets log an account in (`accepts`), and what a refused one gets: `refused` for a wrong
    password, `token_refused` for a token that will not do, after `token_challenge` when there is one (an
    error in JSON that the server sends in a 334 challenge first, as Gmail does for XOAUTH2). A token must
    allow `scope`."""

    accepts: frozenset[Secret] = frozenset({Secret.PASSWORD})
    refused: str = "535 5.7.8 Error: authentication failed"  # Postfix, smtpd_sasl_glue.c
    token_refused: str = "535 5.7.8 Error: authentication failed"
    token_challenge: str | None = None
    scope: str = ""


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


class Recent(collections.OrderedDict):
    """A dict that remembers at most `limit` keys, forgetting the oldest first: what a policy keeps about
    clients stays bounded however many there are."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


@dataclass(frozen=True)
class RelayOnlyTo:
    """An MX accepts mail for its own domains only (Postfix reject_unauth_destination, smtpd_check.c)."""

    domains: tuple[str, ...] = (LAB_DOMAIN,)
    stage: str = Phase.RCPT

    def check(self, session: Session, address: str) -> str | None:
        if session.login or domain_of(address) in self.domains:
            return None
        return f"554 5.7.1 <{address}>: Relay access denied"


@dataclass(frozen=True)
class TlsFirst:
    """A submission port takes no command but these before TLS (RFC 3207 section 4; Postfix
    smtpd_tls_security_level=encrypt, which also lets HELO through: smtpd.c's SMTPD_CMD_FLAG_PRE_TLS)."""

    allowed: frozenset[str] = frozenset({"EHLO", "HELO", "STARTTLS", "NOOP", "QUIT"})
    reply: str = "530 5.7.0 Must issue a STARTTLS command first"
    stage: str = EVERY_COMMAND

    def check(self, session: Session, command: str) -> str | None:
        return None if session.tls_version or command in self.allowed else self.reply


@dataclass(frozen=True)
class AuthBeforeMail:
    """Submission needs a login (RFC 6409 section 4.3), refused at MAIL as Gmail and Microsoft 365 do, with
    RFC 4954 section 6's reply. (Postfix, with permit_sasl_authenticated,reject, takes MAIL and refuses each
    RCPT with 554 5.7.1 ... Access denied.)"""

    reply: str = "530 5.7.0 Authentication required"
    stage: str = Phase.MAIL

    def check(self, session: Session, address: str) -> str | None:
        return None if session.login else self.reply


@dataclass(frozen=True)
class SenderOwnedByLogin:
    """The envelope sender must belong to the login (Postfix reject_sender_login_mismatch, which answers at RCPT)."""

    stage: str = Phase.RCPT

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

    stage: str = Phase.END_OF_DATA

    def check(self, session: Session, message: Received) -> str | None:
        addresses = from_addresses(message)
        login_domain = domain_of(session.login or "")
        wrong = [a for a in addresses if "@" not in a or domain_of(a) != login_domain]
        if addresses and not wrong:
            return None
        shown = (domain_of(wrong[0]) if "@" in wrong[0] else wrong[0]) + " " if wrong else ""
        return (
            f"550 5.7.1 Your FROM address ( {shown}, ) must match your authenticated "
            f"email domain ( {login_domain} ). Treating this as a spoofed email."
        )


def from_addresses(message: Received) -> list[str]:
    """Each address in the message's From: header: what is inside <...>, or else the whole of it. Not
    email.utils.getaddresses, whose answer for a malformed header ("a@b.example <host.example>") changed in
    Python 3.13 and in security releases of 3.11 and 3.12: a refusal must read the same on each."""
    header_block = message.raw.partition(b"\r\n\r\n")[0]  # the body can be megabytes; only headers count
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_block)
    found = []
    for value in headers.get_all("From", []):
        for part in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', str(value)):  # the commas outside quotes
            inside = re.search(r"<([^<>]*)>\s*$", part)
            if part.strip():
                found.append((inside.group(1) if inside else part).strip())
    return found


@dataclass(frozen=True)
class NoBareLineFeeds:
    """Every line of a message must end with CR LF (RFC 5321 section 2.3.8). Postfix refuses a bare LF with
    smtpd_forbid_bare_newline = reject (3.7.10, 3.8.5, 3.9 and later, after the SMTP smuggling reports of
    2023), after the whole message has arrived (smtpd.c, smtpd_forbid_bare_newline_reject_code 550). Its
    default, like the lab's standard endpoints, is to take the LF as a line end."""

    stage: str = Phase.END_OF_DATA

    def check(self, session: Session, message: Received) -> str | None:
        return f"550 5.5.2 {HOSTNAME} Error: bare <LF> received" if message.bare_line_feeds else None


@dataclass(frozen=True)
class LineLengthLimit:
    """No line of a message may be longer than SMTP allows (RFC 5321 4.5.3.1.6: 1000 octets with CR LF),
    answered as RFC 5321 4.5.3.1.9 suggests ("500 Line too long"). Postfix takes such lines (it stores them
    in pieces of line_length_limit and joins them again); KumoMTA refuses them by default."""

    limit: int = TEXT_LINE_LIMIT
    stage: str = Phase.END_OF_DATA

    def check(self, session: Session, message: Received) -> str | None:
        if message.longest_line <= self.limit:
            return None
        return "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"


@dataclass(frozen=True)
class Greylisting:
    """Refuse the first attempt of each (client, sender, recipient) with a temporary error; accept a retry
    that comes at least `delay` seconds later (RFC 6647)."""

    delay: float = GREYLIST_DELAY
    stage: str = Phase.RCPT

    def check(self, session: Session, address: str) -> str | None:
        first_seen = session.memory.setdefault("greylist", Recent(GREYLIST_MEMORY))
        triplet = (session.peer_host, (session.mail_from or "").lower(), address.lower())
        now = time.monotonic()
        seen = first_seen.setdefault(triplet, now)
        if now - seen >= self.delay:
            return None
        return f"451 4.7.1 <{address}>: Recipient address rejected: Greylisted, try again later"


def remember_failed_login(memory: dict[str, Any], peer_host: str) -> None:
    """Note a refused password from this client, for LoginRateLimit (the lab's server calls this)."""
    failures = memory.setdefault("failed_logins", Recent(FAILED_LOGIN_MEMORY))
    failures.setdefault(peer_host, collections.deque(maxlen=MAX_FAILED_LOGINS * 10)).append(time.monotonic())


@dataclass(frozen=True)
class LoginRateLimit:
    """After `limit` failed logins from one address within `window` seconds, every login gets a temporary
    refusal until the failures are that old. Judged when the credentials are checked, so that clients
    that all start AUTH at once still get no more than `limit` guesses."""

    limit: int = MAX_FAILED_LOGINS
    window: float = LOGIN_BLOCK
    stage: str = Phase.AUTH

    def check(self, session: Session, attempt: Attempt) -> str | None:
        now = time.monotonic()
        failures = session.memory.get("failed_logins", {}).get(session.peer_host, ())
        recent = [moment for moment in failures if now - moment < self.window]
        return "454 4.7.0 Too many login attempts, please try again later" if len(recent) >= self.limit else None


@dataclass(frozen=True)
class Profile:
    """One kind of endpoint. `listening=False` binds the port without listening (connection refused);
    `black_hole=True` fills its accept queue so new connections time out, like a filtered port.
    `tls_versions`: the oldest and newest TLS versions it speaks (ssl.TLSVersion names)."""

    name: str
    acts_as: int
    tls: TlsMode
    summary: str
    certificate: str = "valid"
    offers_starttls: bool = True  # with tls=STARTTLS: False strips STARTTLS from EHLO, as a downgrade attack does
    smtputf8: bool = True
    auth: bool = False
    voice: Voice = Voice()
    logins: Logins = Logins()
    tls_versions: tuple[str, str] = ("TLSv1_2", "TLSv1_3")  # OpenSSL 3's defaults
    policies: tuple[Policy, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    faults: tuple[Fault, ...] = ()
    listening: bool = True
    black_hole: bool = False

    def __post_init__(self) -> None:
        if self.tls not in set(TlsMode):
            raise ValueError(f"unknown TLS mode {self.tls!r}; choose one of: {', '.join(TlsMode)}")
        if self.certificate not in KINDS:
            raise ValueError(f"unknown certificate {self.certificate!r}; choose one of: {', '.join(KINDS)}")
        if not set(self.tls_versions) <= set(TLS_VERSIONS):
            raise ValueError(f"unknown TLS versions {self.tls_versions!r}; choose from: {', '.join(TLS_VERSIONS)}")
        object.__setattr__(self, "tls", TlsMode(self.tls))


_HTTP_REPLY = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n"

_SUBMISSION_POLICIES = (TlsFirst(), AuthBeforeMail(), SenderOwnedByLogin())


def _submission(name: str, summary: str, **changes: Any) -> Profile:
    base = dict(acts_as=587, tls=TlsMode.STARTTLS, auth=True, policies=_SUBMISSION_POLICIES)
    return Profile(name, summary=summary, **{**base, **changes})


def _submissions(name: str, summary: str, **changes: Any) -> Profile:
    base = dict(acts_as=465, tls=TlsMode.IMPLICIT, auth=True, policies=_SUBMISSION_POLICIES)
    return Profile(name, summary=summary, **{**base, **changes})


_CERTIFICATE_WORDS = {
    "wrong-host": "a certificate issued for localhost only (connecting by 127.0.0.1 fails)",
    "expired": "a certificate that expired on 2021-01-01",
    "not-yet-valid": "a certificate not valid before 2990-01-01",
    "untrusted": "a certificate from a CA nobody trusts",
    "self-signed": "a self-signed certificate",
    "cn-only": "a certificate naming its host in the Common Name only (no subjectAltName)",
    "incomplete-chain": "a certificate from an intermediate CA, sent without the intermediate's",
}

STANDARD = (
    Profile(
        "relay", acts_as=25, tls=TlsMode.STARTTLS,
        summary="MX for example.com: no AUTH, opportunistic STARTTLS, refuses to relay elsewhere",
        policies=(RelayOnlyTo(),),
    ),
    _submission("submission", "mail submission: STARTTLS first, then AUTH"),
    _submissions("submissions", "mail submission over TLS from the first byte, AUTH required"),
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
        "submission-strict-lines", "587 that refuses lines over 998 characters and bare LF line ends",
        policies=_SUBMISSION_POLICIES + (LineLengthLimit(), NoBareLineFeeds()),
    ),
    _submission(
        "submission-no-starttls", "587 with STARTTLS stripped: AUTH offered in plaintext",
        offers_starttls=False, policies=(AuthBeforeMail(), SenderOwnedByLogin()),
    ),
    _submission(
        "submission-no-smtputf8", "587 without SMTPUTF8: addresses must be ASCII (RFC 6531)",
        smtputf8=False,
    ),
    _submission(
        "submission-tls-unavailable", "587 offers STARTTLS, then answers 454",
        faults=(Fault(Phase.STARTTLS, reply="454 4.7.0 TLS not available due to temporary reason"),),
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
        "submissions-old-tls", "465 that speaks only TLS 1.0 and 1.1, as a server not updated since 2018 does",
        tls_versions=("TLSv1", "TLSv1_1"),
    ),
    _submission(
        "submission-old-tls", "587 whose STARTTLS speaks only TLS 1.0 and 1.1",
        tls_versions=("TLSv1", "TLSv1_1"),
    ),
    _submissions(
        "submissions-handshake-abort", "465 closes the connection in the middle of the TLS handshake",
        faults=(Fault(Phase.TLS, drop=True),),
    ),
    _submission(
        "silent", f"accepts the connection, says nothing, and hangs up after {SILENT_HOLD:g} s",
        faults=(Fault(Phase.CONNECT, delay=SILENT_HOLD, drop=True),),
    ),
    Profile(
        "closed", acts_as=468, tls=TlsMode.NONE, listening=False,
        summary="nothing listens here: connection refused (the case study's typo 468)",
    ),
    Profile(
        "blackhole", acts_as=25, tls=TlsMode.NONE, black_hole=True,
        summary="a filtered port: connection attempts time out, as when a cloud blocks outbound 25",
    ),
    _submission(
        "busy", "greets with 421 and hangs up",
        faults=(
            Fault(Phase.GREETING, reply=f"421 4.7.0 {HOSTNAME} Service not available, closing transmission channel"),
        ),
    ),
    Profile(
        "greylisting", acts_as=25, tls=TlsMode.STARTTLS,
        summary=f"MX that greylists: 451 at RCPT until a retry {GREYLIST_DELAY} s later",
        policies=(RelayOnlyTo(), Greylisting()),
    ),
    _submission(
        "rate-limited", f"587 that answers 454 for {LOGIN_BLOCK} s after {MAX_FAILED_LOGINS} bad passwords",
        policies=(LoginRateLimit(),) + _SUBMISSION_POLICIES,
    ),
    _submission(
        "slow", f"587 that waits {SLOW_REPLY_DELAY} s before greeting",
        faults=(Fault(Phase.GREETING, delay=SLOW_REPLY_DELAY),),
    ),
    Profile(
        "not-smtp", acts_as=587, tls=TlsMode.NONE,
        summary="a web server where mail was expected: answers in HTTP and hangs up",
        faults=(Fault(Phase.GREETING, reply=_HTTP_REPLY),),
    ),
    Profile(
        "tls-not-smtp", acts_as=465, tls=TlsMode.IMPLICIT,
        summary="TLS from the first byte, then HTTP instead of SMTP",
        faults=(Fault(Phase.GREETING, reply=_HTTP_REPLY),),
    ),
)

PROFILES: dict[str, Profile]  # every profile by name: STANDARD, BROKEN and the provider personas


@functools.cache
def _profiles() -> dict[str, Profile]:
    # The personas (helpers.providers) are made of this module's pieces, so they are read lazily.
    from helpers.providers import PERSONAS

    return {profile.name: profile for profile in STANDARD + BROKEN + PERSONAS}


def profile_named(name: str) -> Profile:
    try:
        return _profiles()[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; choose one of: {', '.join(_profiles())}") from None


def __getattr__(name: str) -> object:
    if name == "PROFILES":
        return _profiles()
    raise AttributeError(f"module 'helpers.profiles' has no attribute {name!r}")
