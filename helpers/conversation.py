"""The lab's side of one SMTP conversation: aiosmtpd's protocol, answering as Postfix 3.7 answers.

aiosmtpd reads the command lines; every command is answered here, by `Conversation`, with Postfix's reply
texts and RFC 2034 enhanced status codes, and the endpoint's profile (helpers.profiles) decides what is
refused. Each reply carries its source: Postfix's src/smtpd/smtpd.c, smtpd_sasl_proto.c, smtpd_sasl_glue.c,
smtpd_check.c and global/cleanup_strerror.c at v3.7.11, or the RFC section.

Touch points in aiosmtpd 1.4.6 internals (pinned in requirements.txt): `_smtp_methods` (the command table),
`_create_session`, `_timeout_cb` and `_reset_timeout` (the idle timer), `_auth_methods`, `_set_rset_state`,
`_reader`, `_tls_protocol` and `_original_transport` (STARTTLS), and asyncio's `sslproto.SSLProtocol`.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto as sslproto
import binascii
import collections
import contextlib
import fcntl
import functools
import ipaddress
import re
import socket
import ssl
import struct
import termios
from base64 import b64decode, b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, TLSSetupException
from aiosmtpd.smtp import Session as AiosmtpdSession

from helpers.certificates import LabCertificates
from helpers.mailbox import EventLog, Mailbox
from helpers.profiles import (
    EVERY_COMMAND,
    HOSTNAME,
    LAB_DOMAIN,
    LINE_LENGTH_LIMIT,
    MAX_MESSAGE_SIZE,
    MAX_RECIPIENTS,
    SASL_RESPONSE_LIMIT,
    Fault,
    Profile,
    Received,
    remember_failed_login,
)
from helpers.terms import Phase

CLIENT_HELLO_WAIT = 1.0  # seconds an implicit-TLS endpoint waits for the client's first byte (see helpers.server)
TLS_HANDSHAKE_TIMEOUT = 30.0  # seconds a TLS handshake may take once the client has begun it
IDLE_TIMEOUT = 300.0  # seconds without a command before the lab says 421 and hangs up (Postfix smtpd_timeout)
IDENT = "ESMTP SMTP Port Lab"
COMMANDS = ("HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY", "QUIT")
DATA_CHUNK = 1 << 20  # bytes asked of the stream at a time during DATA (it holds far less: see _unread)
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets the connection and drops unsent data


@dataclass(frozen=True)
class Settings:
    """How long the lab waits, and for what."""

    client_hello_wait: float = CLIENT_HELLO_WAIT
    tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT


@dataclass(frozen=True)
class Shared:
    """What every endpoint of one lab works with: its settings, its users, where it logs and stores mail,
    and its certificates. The lab builds it; the server side never reaches back into the lab."""

    settings: Settings
    users: Mapping[str, str]  # the lab's own dict: a user added to lab.users can log in at once
    events: EventLog
    mailbox: Mailbox
    certificates: LabCertificates


class Faults:
    """An endpoint's faults, and how many times each has been played."""

    def __init__(self, faults: tuple[Fault, ...]) -> None:
        self._faults = faults
        self._uses: dict[Fault, int] = {}

    def take(self, stage: str) -> Fault | None:
        """The fault to play at this stage now, if any (counting it as played)."""
        for fault in self._faults:
            used = self._uses.get(fault, 0)
            if fault.stage == stage and (fault.times is None or used < fault.times):
                self._uses[fault] = used + 1
                return fault
        return None


# --------------------------------------------------------------------------------------------------
# Replies aiosmtpd's command loop writes itself, in Postfix's words (smtpd.c, smtpd_proto)

_LOOP_REPLIES = {
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    # Postfix reads command lines of up to line_length_limit (2048) and cuts longer ones; RFC 5321 4.5.3.1.9
    # answers a line over the limit with 500.
    "500 Command line too long": "500 5.5.2 Error: command line too long",
}
_UNRECOGNISED = re.compile(r'500 Error: command ".*" not recognized', re.DOTALL)


def _reworded(status: str) -> str:
    if _UNRECOGNISED.fullmatch(status):
        return "500 5.5.2 Error: command not recognized"
    return _LOOP_REPLIES.get(status, status)


# --------------------------------------------------------------------------------------------------
# Envelope addresses: RFC 5321 section 4.1.2, with the UTF-8 of RFC 6531 section 3.3

_UTF8 = r"[^\x00-\x7f\ud800-\udfff]"  # not the lone surrogates that undecodable bytes become
_ATOM = rf"(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{{|}}~]|{_UTF8})+"
_QUOTED = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|{_UTF8}|\\[\x20-\x7e])*"'
_LETTER_DIGIT = rf"(?:[A-Za-z0-9]|{_UTF8})"
_LABEL = rf"{_LETTER_DIGIT}(?:(?:[A-Za-z0-9\-]|{_UTF8})*{_LETTER_DIGIT})?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_MAILBOX = rf"(?:{_ATOM}(?:\.{_ATOM})*|{_QUOTED})@(?:{_DOMAIN}|\[[^\[\]\\\s]*\])"
_PATH = re.compile(rf"<(?:@{_DOMAIN}(?:,@{_DOMAIN})*:)?({_MAILBOX})>")  # with an obsolete source route, maybe
_BARE_MAILBOX = re.compile(rf"({_MAILBOX})")


def _literal_is_valid(literal: str) -> bool:
    """RFC 5321 4.1.3: an IPv4 address, 'IPv6:' and an IPv6 address, or 'tag:text'."""
    tag, colon, text = literal.partition(":")
    try:
        if tag == "IPv6":
            ipaddress.IPv6Address(text)
        elif not colon:
            ipaddress.IPv4Address(literal)
        else:
            return bool(re.fullmatch(r"[A-Za-z0-9-]*[A-Za-z0-9]", tag) and re.fullmatch(r"[\x21-\x5a\x5e-\x7e]+", text))
    except ValueError:
        return False
    return True


def parse_path(text: str, *, empty_allowed: bool = False) -> tuple[str, str] | None:
    """The address and the parameters after it in a MAIL FROM / RCPT TO argument ('<a@b> SIZE=10' ->
    ('a@b', 'SIZE=10')); None if it is not an address. The angle brackets may be left out, as Postfix allows by
    default; a display name ('<Name <a@b>>', 'Name <a@b>') or half an address ('<a@[') is refused, as Postfix
    refuses it with strict_rfc821_envelopes = yes (by default it takes the address inside a display name:
    tests/test_postfix_fidelity.py). UTF-8 is taken (RFC 6531); whether the endpoint takes it is for the caller."""
    if empty_allowed and (text == "<>" or text.startswith(("<> ", "<>\t"))):
        return "", text[2:].strip()
    match = (_PATH if text.startswith("<") else _BARE_MAILBOX).match(text)
    if not match or (match.end() < len(text) and not text[match.end()].isspace()):
        return None
    address = match.group(1)
    domain = address.rpartition("@")[2]
    if domain.startswith("[") and not _literal_is_valid(domain[1:-1]):
        return None
    return address, text[match.end():].strip()


def _after_keyword(arg: str | None, keyword: str) -> str | None:
    """'FROM:<a@b>' -> '<a@b>' for keyword 'FROM:'; None when the keyword or what follows it is missing."""
    if not arg or arg[: len(keyword)].upper() != keyword:
        return None
    return arg[len(keyword):].strip() or None


# --------------------------------------------------------------------------------------------------
# DATA: the message, read in chunks into one buffer


_LONE_DOT_LINE = re.compile(rb"(?<![^\n])\.\r?\n")  # a line that is a single dot, however it ends
_PENDING_LIMIT = 1 << 16  # bytes of a line without its end kept back before they are stored as they come


class DataReader:
    """Reads what follows DATA as Postfix 3.7 does with smtpd_forbid_bare_newline = normalize (the safe
    reading of its default, and Postfix 3.9's default): a line may end in CR LF or in LF alone, and is
    stored ending in CR LF; lines of any length are taken (Postfix cuts them into records of
    line_length_limit and joins them again); a leading dot is removed (RFC 5321 4.5.2); the message ends
    only at CR LF . CR LF, so a lone dot next to a bare LF cannot end it early (the SMTP smuggling of 2023).
    A message over `limit` bytes is read to its end and thrown away.

    The message lives in one buffer, whatever the shape of its lines: memory is the message's size plus
    a chunk, where aiosmtpd's own reader keeps one object per line (85 times the size for empty lines)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.too_big = False
        self.bare_line_feeds = False
        self.longest_line = 0
        self._pieces: list[bytes] = []  # joined once at the end: a growing buffer would be copied as it grows
        self._size = 0
        self._pending = b""  # the start of a line whose end has not arrived
        self._line_so_far = 0  # characters of that line already stored (a very long line is stored as it comes)
        self._previous_crlf = True  # whether the last complete line ended in CR LF (the DATA command's did)

    def feed(self, chunk: bytes) -> bytes | None:
        """Take the next bytes; None while the message goes on, else the bytes after its end (the next
        commands, pipelined behind it)."""
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        lines, self._pending = data[:cut], data[cut:]
        after = self._lines(lines) if lines else None
        if after is not None:
            return after + self._pending
        if len(self._pending) > _PENDING_LIMIT:
            # Keep the last byte back: it may be the CR of a CR LF whose LF is still on its way.
            self._store_partial(self._pending[:-1])
            self._pending = self._pending[-1:]
        return None

    def received(self) -> Received:
        """The message, once `feed` has found its end."""
        content, self._pieces = b"".join(self._pieces), []
        return Received(content, self.bare_line_feeds, self.longest_line)

    def _lines(self, block: bytes) -> bytes | None:
        start = 0
        for match in _LONE_DOT_LINE.finditer(block):
            if match.start() == 0 and self._line_so_far:
                continue  # the end of a long line, not a line of its own
            self._store(block[start:match.start()])
            ends_crlf = match.end() - match.start() == 3
            if ends_crlf and self._previous_crlf:
                return block[match.end():]
            # A lone dot beside a bare LF: Postfix neither ends the message there nor keeps the line.
            self.bare_line_feeds = True
            self._previous_crlf = ends_crlf
            start = match.end()
        self._store(block[start:])
        return None

    def _store(self, lines: bytes) -> None:
        """Store whole lines (the first maybe the end of a line begun before)."""
        if not lines:
            return
        self._previous_crlf = lines.endswith(b"\r\n")
        if lines.count(b"\n") != lines.count(b"\r\n"):
            self.bare_line_feeds = True
            lines = lines.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # no list of pieces, as re.sub makes
        if self._line_so_far:  # the first line began before: no dot to remove, and it is that much longer
            first_end = lines.find(b"\r\n")
            self.longest_line = max(self.longest_line, self._line_so_far + first_end)
            self._line_so_far = 0
            self._keep(lines[:first_end + 2])
            lines = lines[first_end + 2:]
        if lines.startswith(b".") or b"\n." in lines:
            lines = (b"\n" + lines).replace(b"\n.", b"\n")[1:]  # RFC 5321 4.5.2: one leading dot less
        # Only lines longer than the longest so far are looked at, so lines of any number cost no memory.
        for match in re.finditer(rb"(?m)^[^\n]{%d,}" % (self.longest_line + 2), lines):
            self.longest_line = max(self.longest_line, match.end() - match.start() - 1)  # without the CR
        self._keep(lines)

    def _store_partial(self, part: bytes) -> None:
        """Store the first part of a line whose end has not arrived."""
        if not self._line_so_far and part.startswith(b"."):
            part = part[1:]
        self._line_so_far += len(part)
        self.longest_line = max(self.longest_line, self._line_so_far)
        self._keep(part)

    def _keep(self, data: bytes) -> None:
        if self.too_big or not data:
            return
        self._size += len(data)
        if self._size > self.limit:
            self.too_big = True
            self._pieces = []
        else:
            self._pieces.append(data)


# --------------------------------------------------------------------------------------------------
# One conversation


class _LabSession(AiosmtpdSession):
    # aiosmtpd 1.4.6 logs a deprecation warning each time it sets Session.login_data (a property);
    # a plain attribute keeps that noise out of notebook output. We read auth_data instead.
    login_data: Any = None


class Conversation(SMTP):
    """aiosmtpd's SMTP protocol for one client, answering every command itself: Postfix's replies, the
    profile's policies and faults, the lab's limits, and the event log."""

    # The SASL LOGIN mechanism's prompts (draft-murchison-sasl-login-00 section 2), as Cyrus SASL and
    # Dovecot send them through Postfix; aiosmtpd's own end in a NUL byte.
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"
    line_length_limit = LINE_LENGTH_LIMIT
    command_size_limit = LINE_LENGTH_LIMIT

    def __init__(
        self,
        profile: Profile,
        number: int,
        *,
        shared: Shared,
        faults: Faults,
        memory: dict[str, Any],
        tls_context: ssl.SSLContext | None,
        on_close: Callable[[], None],
    ) -> None:
        self.command_size_limits = collections.defaultdict(lambda: LINE_LENGTH_LIMIT)  # aiosmtpd's is shared
        super().__init__(
            None,
            hostname=HOSTNAME,
            ident=IDENT,
            tls_context=tls_context,
            data_size_limit=MAX_MESSAGE_SIZE,
            # Arguments are read as UTF-8 everywhere; whether SMTPUTF8 is offered is the profile's business.
            enable_SMTPUTF8=True,
            timeout=shared.settings.idle_timeout,
            authenticator=self._check_credentials,
            loop=asyncio.get_running_loop(),
        )
        self.profile = profile
        self.number = number
        self.shared = shared
        self.faults = faults
        self.memory = memory
        self.on_close = on_close
        self.command: str | None = None
        self._smtp_methods = {name: self._staged(name, getattr(self, f"smtp_{name}")) for name in COMMANDS}

    # -- what policies may ask (helpers.profiles.Session) --
    @property
    def peer_host(self) -> str:
        return self.session.peer[0] if self.session and self.session.peer else "?"

    @property
    def tls_version(self) -> str | None:
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport else None
        return ssl_object.version() if ssl_object else None

    @property
    def login(self) -> str | None:
        return self.session.auth_data if self.session and self.session.authenticated else None

    @property
    def mail_from(self) -> str | None:
        return self.envelope.mail_from if self.envelope else None

    @property
    def offers_tls(self) -> bool:
        """Whether STARTTLS is on offer now: the endpoint offers it, and TLS has not begun."""
        return self.tls_context is not None and self.tls_version is None

    def judge(self, stage: str, value: Any) -> str | None:
        """The first refusal among the profile's policies for this stage, if any."""
        for policy in self.profile.policies:
            if policy.stage == stage:
                reply = policy.check(self, value)
                if reply:
                    return reply
        return None

    def log(self, kind: str, detail: str = "") -> None:
        self.shared.events.add(self.number, self.profile.name, kind, detail)

    # -- aiosmtpd extension points --
    def _create_session(self) -> AiosmtpdSession:
        return _LabSession(self.loop)

    def _staged(self, command: str, method: Callable[[str | None], Any]):
        @functools.wraps(method)
        async def run(arg: str | None) -> None:
            self.command = command  # for the event log; cleared once the command is done (or failed)
            fault = self.faults.take(command.lower())
            reply = await self.play(fault) if fault else None
            if reply:
                await self.push(reply)
                if reply.startswith("421"):  # 421 means the server is closing the channel (RFC 5321 3.8)
                    self.hang_up()
            elif command == "STARTTLS" and self.offers_tls and not arg and self.faults.take(Phase.TLS):
                await self._abort_tls_handshake()
            elif reply := self.judge(EVERY_COMMAND, command):
                await self.push(reply)
            else:
                await method(arg)
            self.command = None

        return run

    async def push(self, status: str | bytes) -> None:
        if isinstance(status, str):
            status = _reworded(status)
            if status[:1] in ("4", "5"):
                shown = status.encode("utf-8", "backslashreplace").decode("utf-8")
                self.log("refused", f"{self.command or 'unrecognised line'}: {shown}")
            # Some replies echo the client's words (VRFY, an unsupported option); bytes that are not text
            # must not break the reply, and without SMTPUTF8 a reply is ASCII (RFC 6531 section 3.7.3).
            status = status.encode("utf-8" if self.profile.smtputf8 else "ascii", "backslashreplace")
        await super().push(status)

    async def handle_exception(self, error: Exception) -> str:
        # Instead of aiosmtpd's logged traceback: a line in the event log, and for a failed STARTTLS
        # handshake (after which aiosmtpd closes the connection) the reason in words.
        if isinstance(error, TLSSetupException):
            self.log("tls-failed", why_tls_failed(error.__cause__ or error, self.shared.settings))
            return ""
        command, self.command = self.command, None
        self.log("error", f"{command}: {type(error).__name__}: {error}")
        return "451 4.3.0 Error: internal error in the lab"

    def _timeout_cb(self) -> None:
        # Postfix says why it hangs up (smtpd.c: smtpd_timeout); aiosmtpd closes without a word.
        reply = f"421 4.4.2 {HOSTNAME} Error: timeout exceeded"
        self.log("timeout", f"no command for {self.shared.settings.idle_timeout:g} s: {reply}")
        unread = _unsent(self.transport)
        self.transport.write(reply.encode() + b"\r\n")
        self.on_close()
        if unread:
            # The client reads nothing: a polite close would wait for ever to flush what it never takes
            # (hostile-clients.md D1), and the kernel would keep it after us. Reset the connection instead.
            self.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
            self.transport.abort()
        else:
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        self.on_close()
        super().connection_lost(error)

    def hang_up(self, *, abort: bool = False) -> None:
        """Close the connection now and end this client's command loop."""
        self.on_close()  # logged before the close: a client that sees it finds the server's side complete
        if abort:
            self.transport.abort()
        else:
            self.transport.close()
        # Ending aiosmtpd's command loop by cancelling it is what aiosmtpd itself does on QUIT.
        raise asyncio.CancelledError

    # -- faults --
    async def play(self, fault: Fault) -> str | None:
        """Play a fault at the current command: wait, hang up, or return the reply to give instead."""
        if fault.delay:
            self.log("fault", f"waited {fault.delay:g} s before answering {self.command}")
            await asyncio.sleep(fault.delay)
        if fault.drop:
            self.log("fault", f"dropped the connection at {self.command}")
            self.hang_up(abort=True)
        return fault.reply

    async def _abort_tls_handshake(self) -> None:
        await self.push("220 2.0.0 Ready to start TLS")
        self.log("fault", "aborted the TLS handshake after the ClientHello")
        self.on_close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._reader.read(65536), self.shared.settings.client_hello_wait)
        self.hang_up()

    # -- reading --
    async def _read_line(self, limit: int) -> bytes | None:
        """The next line, read whole however long; None (once it has all been read) if over `limit`."""
        parts, size = [], 0
        while True:
            try:
                part, done = await self._reader.readuntil(b"\n"), True
            except asyncio.LimitOverrunError as error:
                part, done = await self._reader.read(error.consumed), False
            except asyncio.IncompleteReadError as error:
                part, done = error.partial, True
            size += len(part)
            if size <= limit + 2:
                parts.append(part)
            if done:
                return b"".join(parts) if size <= limit + 2 else None

    def _unread(self, data: bytes) -> None:
        # StreamReader has no unread, and DATA reads past the end of the message when commands are
        # pipelined behind it (RFC 2920). They go back in front of the stream's buffer, which aiosmtpd
        # also handles directly (it clears it after STARTTLS).
        self._reader._buffer[:0] = data

    # -- the commands, in Postfix's table order (smtpd.c, smtpd_cmd_table) --
    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            # RFC 2034 section 3: replies to HELO and EHLO carry no enhanced code; Postfix's wording.
            await self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        in_tls = self.tls_version is not None
        # What the lab does, in Postfix's order (smtpd.c, ehlo_cmd); no DSN, ETRN, CHUNKING or HELP.
        keywords = ["PIPELINING", f"SIZE {MAX_MESSAGE_SIZE}", "VRFY"]
        if self.offers_tls:
            keywords.append("STARTTLS")
        if self.profile.auth and (in_tls or not self.tls_context):  # Postfix smtpd_tls_auth_only = yes
            keywords.append("AUTH PLAIN LOGIN")
        keywords += ["ENHANCEDSTATUSCODES", "8BITMIME"] + (["SMTPUTF8"] if self.profile.smtputf8 else [])
        lines = [HOSTNAME, *keywords]
        await self.push("\r\n".join(f"250{'-' if n < len(lines) - 1 else ' '}{line}" for n, line in enumerate(lines)))

    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if arg:
            await self.push("501 5.5.4 Syntax: STARTTLS")
        elif self.tls_version:
            await self.push("554 5.5.1 Error: TLS already active")
        elif not self.offers_tls:
            await self.push("502 5.5.1 Error: command not implemented")
        else:
            await self.push("220 2.0.0 Ready to start TLS")
            await self._start_tls()
            self.log("tls", f"{self.tls_version} after STARTTLS")

    async def _start_tls(self) -> None:
        # aiosmtpd's smtp_STARTTLS, with the lab's handshake timeout (asyncio's default is 60 s).
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(
            self.loop, self, self.tls_context, waiter, server_side=True,
            ssl_handshake_timeout=self.shared.settings.tls_handshake_timeout,
        )
        self._original_transport = self.transport
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        try:
            await waiter
        except asyncio.CancelledError:
            raise
        except Exception as error:
            raise TLSSetupException() from error

    async def smtp_AUTH(self, arg: str | None) -> None:  # smtpd_sasl_proto.c, smtpd_sasl_auth_cmd
        args = (arg or "").split()
        if not self.profile.auth:
            await self.push("503 5.5.1 Error: authentication not enabled")
        elif self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: MAIL transaction in progress")
        elif self.tls_context and not self.tls_version:  # smtpd_tls_auth_only, where no TlsFirst came first
            await self.push("504 5.5.4 Encryption required for requested authentication mechanism")
        elif self.session.authenticated:
            await self.push("503 5.5.1 Error: already authenticated")
        elif not 1 <= len(args) <= 2:
            await self.push("501 5.5.4 Syntax: AUTH mechanism")
        elif args[0].upper() not in self._auth_methods:
            await self.push("504 5.5.4 Unrecognized authentication type")  # RFC 4954 section 4: 504
        else:
            result = await self._auth_methods[args[0].upper()].method(self, [args[0].upper(), *args[1:]])
            if result.success:
                self.session.authenticated = True
                self.session.auth_data = result.auth_data
                await self.push("235 2.7.0 Authentication successful")
            elif not result.handled:
                await self.push(result.message or "535 5.7.8 Error: authentication failed")

    async def challenge_auth(
        self, challenge: str | bytes, encode_to_b64: bool = True, log_client_response: bool = False
    ) -> bytes | Any:
        challenge = challenge.encode() if isinstance(challenge, str) else challenge
        await self.push(b"334 " + (b64encode(challenge) if encode_to_b64 else challenge))
        line = await self._read_line(SASL_RESPONSE_LIMIT)
        if line is None:
            await self.push("500 5.5.6 SASL response limit exceeded")  # smtpd_sasl_glue.c
            return MISSING
        blob = line.strip()
        if blob == b"*":
            await self.push("501 5.7.0 Authentication aborted")  # RFC 4954 section 4; smtpd_sasl_glue.c
            return MISSING
        try:
            return b64decode(blob, validate=True)
        except binascii.Error:
            await self.push("501 5.5.2 Can't decode base64")  # RFC 4954 section 4: 501 with 5.5.2
            return MISSING

    def _check_credentials(self, _: Any, session: Any, envelope: Any, mechanism: str,
                           credentials: LoginPassword) -> AuthResult:
        # Policies at AUTH are judged here, when the password is checked, not when AUTH begins: nothing
        # else runs in between (one event loop), so clients that start AUTH at once cannot outrun a limit.
        refusal = self.judge(Phase.AUTH, mechanism)
        if refusal:
            return AuthResult(success=False, handled=False, message=refusal)
        login = credentials.login.decode("utf-8", "replace")
        if self.shared.users.get(login) == credentials.password.decode("utf-8", "replace"):
            self.log("login", f"{login} ({mechanism})")
            return AuthResult(success=True, auth_data=login)
        remember_failed_login(self.memory, self.peer_host)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Error: authentication failed")

    async def smtp_MAIL(self, arg: str | None) -> None:  # smtpd.c, mail_cmd
        path = _after_keyword(arg, "FROM:")
        if self.envelope.mail_from is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        if path is None:
            await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        parsed = parse_path(path, empty_allowed=True)
        if parsed is None:
            await self.push("501 5.1.7 Bad sender address syntax")
            return
        address, parameters = parsed
        size = 0
        for option in parameters.split():
            keyword, equals, value = option.partition("=")
            keyword = keyword.upper()
            if keyword == "SIZE" and equals:  # RFC 1870
                if not (value.isascii() and value.isdigit()):
                    await self.push("501 5.5.4 Bad message size syntax")
                    return
                size = int(value)
            elif not (
                (keyword == "BODY" and value.upper() in ("7BIT", "8BITMIME"))  # RFC 6152
                or (keyword == "SMTPUTF8" and not equals and self.profile.smtputf8)  # RFC 6531
                or (keyword == "AUTH" and equals and self.profile.auth)  # RFC 4954 section 5
            ):
                await self.push(f"555 5.5.4 Unsupported option: {option}")
                return
        if not address.isascii() and not self.profile.smtputf8:
            await self.push("553 5.6.7 Must declare SMTPUTF8 to send unicode address")  # RFC 6531 X.6.7
            return
        if size > MAX_MESSAGE_SIZE:
            await self.push("552 5.3.4 Message size exceeds fixed limit")  # smtpd_check.c, smtpd_check_size
            return
        refusal = self.judge(Phase.MAIL, address)
        if refusal:
            await self.push(refusal)
            return
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(parameters.split())
        await self.push("250 2.1.0 Ok")

    async def smtp_RCPT(self, arg: str | None) -> None:  # smtpd.c, rcpt_cmd
        path = _after_keyword(arg, "TO:")
        if self.envelope.mail_from is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        if path is None:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        # RFC 5321 4.5.1: <Postmaster>, without a domain, must be taken; it is the lab's postmaster.
        postmaster = re.fullmatch(r"<postmaster>(?:\s+(.*))?", path, re.IGNORECASE | re.DOTALL)
        parsed = (f"postmaster@{LAB_DOMAIN}", postmaster.group(1) or "") if postmaster else parse_path(path)
        if parsed is None:
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        address, parameters = parsed
        if parameters:
            await self.push(f"555 5.5.4 Unsupported option: {parameters.split()[0]}")  # no DSN (RFC 3461)
        elif len(self.envelope.rcpt_tos) >= MAX_RECIPIENTS:
            await self.push("452 4.5.3 Error: too many recipients")
        elif not address.isascii() and not self.profile.smtputf8:
            await self.push("553 5.6.7 Must declare SMTPUTF8 to send unicode address")
        elif refusal := self.judge(Phase.RCPT, address):
            await self.push(refusal)
        else:
            self.envelope.rcpt_tos.append(address)
            await self.push("250 2.1.5 Ok")

    async def smtp_DATA(self, arg: str | None) -> None:  # smtpd.c, data_cmd and receive_data_message
        if not self.envelope.rcpt_tos:
            in_transaction = self.envelope.mail_from is not None
            await self.push("554 5.5.1 Error: no valid recipients" if in_transaction
                            else "503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        reader = DataReader(MAX_MESSAGE_SIZE)
        while (after := reader.feed(await self._read_chunk())) is None:
            self._reset_timeout()  # the idle limit is for silence: a message still arriving is not idle
        if after:
            self._unread(after)
        self.command = "end of data"
        try:
            if reader.too_big:
                await self.push("552 5.3.4 Error: message file too big")  # cleanup_strerror.c, CLEANUP_STAT_SIZE
            else:
                await self.push(await self._accept(reader.received()))
        finally:
            self._set_post_data_state()

    async def _read_chunk(self) -> bytes:
        chunk = await self._reader.read(DATA_CHUNK)
        if not chunk:  # the client went away in the middle of the message
            self.hang_up()
        return chunk

    async def _accept(self, message: Received) -> str:
        fault = self.faults.take(Phase.END_OF_DATA)
        reply = await self.play(fault) if fault else None
        reply = reply or self.judge(Phase.END_OF_DATA, message)
        if reply:
            return reply
        stored = self.shared.mailbox.store(
            message.raw,
            endpoint=self.profile.name,
            acts_as=self.profile.acts_as,
            peer_host=self.peer_host,
            mail_from=self.envelope.mail_from,
            rcpt_tos=self.envelope.rcpt_tos,
            login=self.login,
            tls_version=self.tls_version,
        )
        self.log("accepted", f"{stored.queue_id} from {stored.mail_from}")
        return f"250 2.0.0 Ok: queued as {stored.queue_id}"

    async def smtp_RSET(self, arg: str | None) -> None:
        if arg:
            await self.push("501 5.5.4 Syntax: RSET")
            return
        self._set_rset_state()
        await self.push("250 2.0.0 Ok")

    async def smtp_NOOP(self, arg: str | None) -> None:
        await self.push("250 2.0.0 Ok")  # RFC 5321 4.1.1.9: an argument is ignored

    async def smtp_VRFY(self, arg: str | None) -> None:  # smtpd.c, vrfy_cmd
        smtputf8 = self.profile.smtputf8
        if arg and smtputf8 and arg.upper().endswith(" SMTPUTF8"):
            arg = arg[:-9].strip()
        if not arg:
            await self.push("501 5.5.4 Syntax: VRFY address" + (" [SMTPUTF8]" if smtputf8 else ""))
        elif parse_path(arg) is None:
            await self.push("501 5.1.3 Bad recipient address syntax")
        elif not arg.isascii() and not smtputf8:
            await self.push("553 5.6.7 Must declare SMTPUTF8 to send unicode address")
        else:
            # RFC 5321 3.5.3: 252 when the server cannot say for sure; Postfix repeats the argument.
            await self.push(f"252 2.0.0 {arg}")

    async def smtp_QUIT(self, arg: str | None) -> None:
        self.on_close()  # before the reply and the close: see hang_up
        await self.push("221 2.0.0 Bye")  # Postfix checks no syntax here
        self._handler_coroutine.cancel()
        self.transport.close()


def _unsent(transport: asyncio.Transport) -> int:
    """Bytes written to the client that it has not taken yet: in asyncio's buffer, or in the kernel's (Linux's
    SIOCOUTQ, the same number as TIOCOUTQ; see tcp(7))."""
    queued = fcntl.ioctl(transport.get_extra_info("socket").fileno(), termios.TIOCOUTQ, bytes(4))
    return transport.get_write_buffer_size() + struct.unpack("i", queued)[0]


def why_tls_failed(error: BaseException, settings: Settings) -> str:
    """Say in words why a TLS handshake failed, as seen from the server."""
    reason = (getattr(error, "reason", None) or "").upper()
    text = str(error)
    if isinstance(error, ConnectionAbortedError) and "longer than" in text:
        return f"the TLS handshake did not finish within {settings.tls_handshake_timeout:g} s; connection closed"
    if reason in {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE",
                  "PACKET_LENGTH_TOO_LONG", "UNSUPPORTED_PROTOCOL"}:
        return "client spoke plaintext on a TLS port"
    if "ALERT" in reason or "CERTIFICATE" in reason:
        return f"client rejected our certificate ({reason.lower().replace('_', ' ')})"
    if isinstance(error, (ConnectionResetError, ConnectionAbortedError, EOFError)):
        return "client closed the connection during the TLS handshake"
    return f"TLS handshake failed: {text or type(error).__name__}"
