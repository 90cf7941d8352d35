"""The lab: a mail server inside your Python process that behaves like a provider's ports 25, 465 and 587.

    lab = Lab().start()                 # relay (25), submission (587), submissions (465)
    lab["submission"].port              # ports are chosen by the OS; the endpoint knows what it acts as
    lab.mailbox[-1].email["Subject"]    # every accepted message, parsed
    print(lab.events.text())            # what the server saw: connects, TLS, refusals, disconnects
    lab.stop()                          # or use `with Lab() as lab:`

One background thread runs one asyncio loop that hosts every listener. Each connection is accepted by
the lab itself (so it can log it, play connect-stage faults and do implicit TLS with a short handshake
timeout) and then handed to aiosmtpd's SMTP protocol, which does the talking. The endpoint's profile
(helpers.profiles) decides what it refuses.

Run `python -m helpers.lab --help` to serve the lab to programs in any language.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.message
import email.policy
import functools
import ipaddress
import json
import logging
import signal
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, TLSSetupException
from aiosmtpd.smtp import Session as AiosmtpdSession

from helpers.certificates import LabCertificates
from helpers.profiles import (
    HOSTNAME,
    MAX_MESSAGE_SIZE,
    PROFILES,
    STANDARD,
    TLS_HANDSHAKE_TIMEOUT,
    USERS,
    Fault,
    Profile,
    profile_named,
)

IDLE_TIMEOUT = 30.0  # seconds of client silence before the lab hangs up (Postfix waits 300)
LIFECYCLE_TIMEOUT = 10.0  # seconds start() and stop() may take before they give up
SETTLE_TIMEOUT = 0.5  # seconds a reader of the event log waits for connections to finish closing
IDENT = "ESMTP SMTP Port Lab"

# aiosmtpd's stock replies, reworded the way Postfix says them, with RFC 3463 enhanced status codes.
_POSTFIX_WORDING = {
    "552 Error: message size exceeds fixed maximum message size": "552 5.3.4 Message size exceeds fixed limit",
    "552 Error: Too much mail data": "552 5.3.4 Message size exceeds fixed limit",
    "500 Line too long (see RFC5321 4.5.3.1.6)": "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO/EHLO first",
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    "221 Bye": "221 2.0.0 Bye",
    "250 OK": "250 2.0.0 Ok",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
}

_ADDRESS_SYNTAX = {  # RFC 3463: X.1.7 bad sender address syntax, X.1.3 bad destination address syntax
    "MAIL": "501 5.1.7 Bad sender address syntax",
    "RCPT": "501 5.1.3 Bad recipient address syntax",
}


# --------------------------------------------------------------------------------------------------
# What the lab keeps: accepted messages and the server-side event log


@dataclass(frozen=True)
class Message:
    """One accepted message: where and how it arrived, and its bytes."""

    queue_id: str
    endpoint: str
    acts_as: int
    peer_host: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str | None
    tls_version: str | None
    raw: bytes

    @functools.cached_property
    def email(self) -> email.message.EmailMessage:
        """The message parsed, with the wire's CRLF line ends turned into the \n that Python's email expects."""
        return email.message_from_bytes(self.raw.replace(b"\r\n", b"\n"), policy=email.policy.default)

    def __str__(self) -> str:
        via = f"{self.endpoint} (port {self.acts_as})"
        tls = self.tls_version or "no TLS"
        who = f", login {self.login}" if self.login else ""
        subject = self.email["Subject"]
        return f"{self.queue_id} via {via}, {tls}{who}: {self.mail_from} -> {', '.join(self.rcpt_tos)}: {subject!s}"


class Mailbox:
    """Every message the lab accepted, oldest first. Safe to read while the lab runs."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._changed = threading.Condition()

    def _add(self, message: Message) -> None:
        with self._changed:
            self._messages.append(message)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until the mailbox holds at least `count` messages; False if the timeout passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._messages) >= count, timeout)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def _snapshot(self) -> list[Message]:
        with self._changed:
            return list(self._messages)

    def __len__(self) -> int:
        return len(self._snapshot())

    def __iter__(self) -> Iterator[Message]:
        return iter(self._snapshot())

    def __getitem__(self, index: int) -> Message:
        return self._snapshot()[index]

    def __repr__(self) -> str:
        return "\n".join(str(message) for message in self) or "(no messages)"


@dataclass(frozen=True)
class Event:
    """Something the server saw. `session` numbers connections in the order they arrived (1, 2, ...)."""

    session: int | None
    endpoint: str
    kind: str  # connect, tls, tls-failed, fault, refused, accepted, disconnect, library, error
    detail: str = ""

    def __str__(self) -> str:
        session = f"#{self.session}" if self.session is not None else "--"
        return f"{session:>4} {self.endpoint:<28} {self.kind:<10} {self.detail}".rstrip()


class EventLog:
    """The server's side of every conversation, in order."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Condition()

    def _add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            self._lock.notify_all()

    def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until `count` events of this kind were logged; False if the timeout passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: sum(e.kind == kind for e in self._events) >= count, timeout)

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until every connection has been logged as closed. A client can see a failure before the
        server has finished logging it (a rejected certificate, say); reading the log after this
        gives both sides of the story. False if connections were still open after `timeout`."""
        def all_closed() -> bool:
            return sum(e.kind == "connect" for e in self._events) == sum(e.kind == "disconnect" for e in self._events)

        with self._lock:
            return self._lock.wait_for(all_closed, timeout)

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def of_session(self, session: int) -> list[Event]:
        return [event for event in self if event.session == session]

    def last_session(self) -> list[Event]:
        """The events of the most recent connection (once connections have closed, see settle)."""
        self.settle()
        numbers = [event.session for event in self if event.session is not None]
        return self.of_session(max(numbers)) if numbers else []

    def text(self, events: Iterable[Event] | None = None) -> str:
        """The log (or the given events) as lines; the whole log is read once connections have closed."""
        if events is None:
            self.settle()
        return "\n".join(str(event) for event in (self if events is None else events))

    def __repr__(self) -> str:
        return self.text() or "(no events)"


# --------------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True)
class Endpoint:
    """Where a profile listens. `acts_as` is the real port it behaves like; `port` is the one it has."""

    name: str
    host: str
    port: int
    acts_as: int
    tls: str
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


def _why_tls_failed(error: BaseException) -> str:
    """Say in words why a TLS handshake failed, as seen from the server."""
    reason = (getattr(error, "reason", None) or "").upper()
    text = str(error)
    if isinstance(error, ConnectionAbortedError) and "longer than" in text:
        return (
            f"no TLS handshake within {TLS_HANDSHAKE_TIMEOUT:g} s: the client is waiting for a greeting, "
            "as a plaintext client on a TLS port does; connection closed"
        )
    if reason in {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE",
                  "PACKET_LENGTH_TOO_LONG", "UNSUPPORTED_PROTOCOL"}:
        return "client spoke plaintext on a TLS port"
    if "ALERT" in reason or "CERTIFICATE" in reason:
        return f"client rejected our certificate ({reason.lower().replace('_', ' ')})"
    if isinstance(error, (ConnectionResetError, ConnectionAbortedError, EOFError)):
        return "client closed the connection during the TLS handshake"
    return f"TLS handshake failed: {text or type(error).__name__}"


# --------------------------------------------------------------------------------------------------
# The server: one _EndpointServer per endpoint, one _Connection (an aiosmtpd SMTP protocol) per client


class _LabSession(AiosmtpdSession):
    # aiosmtpd 1.4.6 logs a deprecation warning each time it sets Session.login_data (a property);
    # a plain attribute keeps that noise out of notebook output. We read auth_data instead.
    login_data: Any = None


class _Connection(SMTP):
    """aiosmtpd's SMTP protocol for one client, plus the lab's bookkeeping: numbered session,
    staged faults before each command, Postfix wording, and refusals written to the event log."""

    def __init__(self, server: _EndpointServer, number: int, tls_context: ssl.SSLContext | None) -> None:
        profile = server.profile
        super().__init__(
            server,
            hostname=HOSTNAME,
            ident=IDENT,
            tls_context=tls_context,
            data_size_limit=MAX_MESSAGE_SIZE,
            enable_SMTPUTF8=profile.smtputf8,
            timeout=server.lab.idle_timeout,
            # Implicit TLS happens below aiosmtpd, which then thinks the line is plaintext; it would
            # hide AUTH (aiosmtpd issue #281). The profile's policies decide what needs TLS instead.
            auth_require_tls=profile.tls != "implicit" and profile.starttls,
            authenticator=server.authenticate,
            loop=server.lab.loop,
        )
        self.server = server
        self.number = number
        self.command: str | None = None
        self._smtp_methods = {name: self._staged(name, method) for name, method in self._smtp_methods.items()}

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
    def memory(self) -> dict[str, Any]:
        return self.server.memory

    # -- aiosmtpd extension points --
    def _create_session(self) -> AiosmtpdSession:
        return _LabSession(self.loop)

    def _staged(self, command: str, method):
        @functools.wraps(method)
        async def run(arg: str | None) -> None:
            self.command = command  # for the event log; cleared once the command is done (or failed)
            fault = self.server.take_fault(command.lower())
            reply = await self.play(fault) if fault else None
            if reply:
                await self.push(reply)
                if reply.startswith("421"):  # 421 means the server is closing the channel (RFC 5321 3.8)
                    self.hang_up()
            elif command == "STARTTLS" and self.server.take_fault("tls"):
                await self._abort_tls_handshake()
            else:
                if command == "QUIT" and not arg:
                    self._log_disconnect()  # before aiosmtpd answers 221 and closes
                await method(arg)
            self.command = None

        return run

    async def push(self, status: str | bytes) -> None:
        if isinstance(status, str):
            # aiosmtpd echoes some arguments back (VRFY); bytes that are not text must not break the reply
            # or the log, so they are shown as escapes.
            status = _POSTFIX_WORDING.get(status, status).encode("utf-8", "backslashreplace").decode("utf-8")
            if status[:1] in ("4", "5"):
                self.server.log(self.number, "refused", f"{self.command or 'unrecognised line'}: {status}")
            status = status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii", "backslashreplace")
        await super().push(status)

    async def handle_exception(self, error: Exception) -> str:
        # Instead of aiosmtpd's logged traceback: a line in the event log, and for a failed STARTTLS
        # handshake (after which aiosmtpd closes the connection) the reason in words.
        if isinstance(error, TLSSetupException):
            self.server.log(self.number, "tls-failed", _why_tls_failed(error.__cause__ or error))
            return ""
        command, self.command = self.command, None
        if command in _ADDRESS_SYNTAX and isinstance(error, IndexError):
            # The standard library's address parser (used by aiosmtpd) fails on "MAIL FROM:<" and kin.
            self.command = command  # so that push() logs the refusal against it
            return _ADDRESS_SYNTAX[command]
        self.server.log(self.number, "error", f"{command}: {type(error).__name__}: {error}")
        return "451 4.3.0 Error: internal error in the lab"

    def connection_lost(self, error: Exception | None) -> None:
        if self.session is None:
            # asyncio reports a failed implicit-TLS handshake to us although the SMTP conversation
            # never began; the acceptor has already logged and closed it.
            return
        self._log_disconnect()
        super().connection_lost(error)

    def _log_disconnect(self) -> None:
        # Logged once, and when the lab itself closes, before closing: a client that sees the
        # connection end then finds the server's side already complete.
        if self.server.forget(self):
            self.server.log(self.number, "disconnect")

    # -- faults --
    async def play(self, fault: Fault) -> str | None:
        """Play a fault at the current command: wait, hang up, or return the reply to give instead."""
        if fault.delay:
            self.server.log(self.number, "fault", f"waited {fault.delay:g} s before answering {self.command}")
            await asyncio.sleep(fault.delay)
        if fault.drop:
            self.server.log(self.number, "fault", f"dropped the connection at {self.command}")
            self.hang_up(abort=True)
        return fault.reply

    async def _abort_tls_handshake(self) -> None:
        await self.push("220 2.0.0 Ready to start TLS")
        self.server.log(self.number, "fault", "aborted the TLS handshake after the ClientHello")
        self._log_disconnect()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._reader.read(65536), TLS_HANDSHAKE_TIMEOUT)
        self.hang_up()

    def hang_up(self, *, abort: bool = False) -> None:
        """Close the connection now and end this client's command loop."""
        self._log_disconnect()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()
        # Ending aiosmtpd's command loop by cancelling it is what aiosmtpd itself does on QUIT.
        raise asyncio.CancelledError


class _EndpointServer:
    """One endpoint while the lab runs: its listener, its state, and aiosmtpd's handler hooks."""

    def __init__(self, lab: Lab, profile: Profile, sock: socket.socket) -> None:
        self.lab = lab
        self.profile = profile
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.endpoint = Endpoint(profile.name, host, port, profile.acts_as, profile.tls, profile.summary)
        self.memory: dict[str, Any] = {"failed_logins": {}}
        self._fault_uses: dict[Fault, int] = {}
        self._connections: set[_Connection] = set()
        self._pending: set[asyncio.Task] = set()
        self.tls_context = lab.certificates[profile.certificate].server_context() if profile.tls != "none" else None
        self.listener: asyncio.base_events.Server | None = None
        self.closing = False
        self._fillers: list[socket.socket] = []

    def log(self, session: int | None, kind: str, detail: str = "") -> None:
        self.lab.events._add(Event(session, self.profile.name, kind, detail))

    def take_fault(self, stage: str) -> Fault | None:
        for fault in self.profile.faults:
            if fault.stage != stage:
                continue
            used = self._fault_uses.get(fault, 0)
            if fault.times is None or used < fault.times:
                self._fault_uses[fault] = used + 1
                return fault
        return None

    def forget(self, connection: _Connection) -> bool:
        if connection in self._connections:
            self._connections.discard(connection)
            return True
        return False

    # -- listening --
    async def open(self) -> None:
        if self.profile.black_hole:
            self._fill_accept_queue()
        elif self.profile.listening:
            self.listener = await self.lab.loop.create_server(lambda: _Acceptor(self), sock=self.sock)

    def _fill_accept_queue(self) -> None:
        # Listen with the smallest backlog and never accept: once a couple of connections wait in the
        # queue, the kernel drops new SYNs, and clients time out as they do against a filtered port.
        self.sock.listen(0)
        for _ in range(3):
            filler = socket.socket(self.sock.family, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(self.endpoint.address)
            self._fillers.append(filler)

    async def close(self) -> None:
        self.closing = True
        if self.listener:
            self.listener.close()
        for connection in list(self._connections):
            if connection.transport:
                connection._log_disconnect()
                connection.transport.abort()
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        for _ in range(100):  # aborted transports report connection_lost a few loop turns later
            if not self._connections:
                break
            await asyncio.sleep(0.01)
        if self.listener:
            await self.listener.wait_closed()
        for filler in self._fillers:
            filler.close()
        self.sock.close()

    # -- accepting (see _Acceptor) --
    async def accept(self, transport: asyncio.Transport) -> None:
        number = self.lab._next_session()
        self.log(number, "connect", f"from {transport.get_extra_info('peername')[0]}")
        try:
            await self._accept(number, transport)
        except BaseException:  # the lab is stopping
            self._end(number, transport, abort=True)
            raise

    def _end(self, number: int, transport: asyncio.BaseTransport, *, abort: bool = False) -> None:
        """Close a connection that never reached aiosmtpd, logging it first (see _log_disconnect)."""
        if not transport.is_closing():
            self.log(number, "disconnect")
        if abort:
            transport.abort()
        else:
            transport.close()

    async def _accept(self, number: int, transport: asyncio.Transport) -> None:
        if not await self._before_greeting(number, "connect", transport):
            return
        offers_starttls = self.profile.tls == "starttls" and self.profile.starttls
        connection = _Connection(self, number, self.tls_context if offers_starttls else None)
        if self.profile.tls == "implicit":
            transport = await self._tls_handshake(number, transport, connection)
            if transport is None:
                return
        if not await self._before_greeting(number, "greeting", transport):
            return
        if self.profile.tls != "implicit":
            transport.set_protocol(connection)
        self._connections.add(connection)
        connection.connection_made(transport)
        if self.profile.tls != "implicit":
            transport.resume_reading()

    async def _before_greeting(self, number: int, stage: str, transport: asyncio.Transport) -> bool:
        """Play a 'connect' fault (before any TLS) or a 'greeting' fault (after implicit TLS, where the
        banner would come); False when it ended the connection."""
        fault = self.take_fault(stage)
        if fault is None:
            return True
        if fault.drop:
            # A silent server: hold the line, without a word, until the client gives up or the delay ends.
            watcher = _Watcher(transport)
            if await watcher.hung_up_within(fault.delay):
                self.log(number, "fault", "said nothing; the client hung up first")
                self.log(number, "disconnect")
            else:
                self.log(number, "fault", f"said nothing for {fault.delay:g} s, then dropped the connection")
                self._end(number, transport, abort=True)
            return False
        if fault.delay:
            self.log(number, "fault", f"waited {fault.delay:g} s before the greeting")
            await asyncio.sleep(fault.delay)
        if fault.reply:
            self.log(number, "refused", f"greeting: {fault.reply}")
            transport.write(fault.reply.encode() + b"\r\n")
            self._end(number, transport)
            return False
        return True

    async def _tls_handshake(self, number: int, transport: asyncio.Transport, connection: _Connection):
        fault = self.take_fault("tls")
        if fault and fault.drop:
            await _Watcher(transport).first_bytes(TLS_HANDSHAKE_TIMEOUT)
            self.log(number, "fault", "aborted the TLS handshake after the ClientHello")
            self._end(number, transport)
            return None
        try:
            tls_transport = await self.lab.loop.start_tls(
                transport, connection, self.tls_context, server_side=True,
                ssl_handshake_timeout=self.lab.tls_handshake_timeout,
            )
        except (OSError, EOFError) as error:
            # start_tls has already asked the transport to close; the socket goes on the next loop turn.
            self.log(number, "tls-failed", _why_tls_failed(error))
            self.log(number, "disconnect")
            transport.abort()
            return None
        self.log(number, "tls", tls_transport.get_extra_info("ssl_object").version())
        return tls_transport

    # -- aiosmtpd handler hooks --
    def _policies(self, stage: str):
        return (policy for policy in self.profile.policies if policy.stage == stage)

    def _judge(self, connection: _Connection, stage: str, value: Any) -> str | None:
        for policy in self._policies(stage):
            reply = policy.check(connection, value)
            if reply:
                return reply
        return None

    async def handle_EHLO(self, connection, session, envelope, hostname, responses):
        session.host_name = hostname
        if not self.profile.auth:
            responses = [line for line in responses if not line[4:].startswith("AUTH")]
        return responses

    def handle_STARTTLS(self, connection, session, envelope) -> bool:
        self.log(connection.number, "tls", f"{connection.tls_version} after STARTTLS")
        return True

    async def handle_AUTH(self, connection, session, envelope, args):
        if not self.profile.auth:
            return "503 5.5.1 Error: authentication not enabled"
        # MISSING tells aiosmtpd to carry on with the mechanism itself.
        return self._judge(connection, "auth", args[0]) or MISSING

    def authenticate(self, connection, session, envelope, mechanism: str, credentials: LoginPassword) -> AuthResult:
        login = credentials.login.decode("utf-8", "replace")
        password = credentials.password.decode("utf-8", "replace")
        if USERS.get(login) == password:
            self.log(connection.number, "login", f"{login} ({mechanism})")
            return AuthResult(success=True, auth_data=login)
        failures = self.memory["failed_logins"]
        failures[connection.peer_host] = failures.get(connection.peer_host, 0) + 1
        return AuthResult(success=False, handled=False, message="535 5.7.8 Error: authentication failed")

    async def handle_MAIL(self, connection, session, envelope: Envelope, address: str, options: list[str]):
        reply = self._judge(connection, "mail", address)
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, connection, session, envelope: Envelope, address: str, options: list[str]):
        reply = self._judge(connection, "rcpt", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, connection, session, envelope: Envelope):
        connection.command = "end of data"
        fault = self.take_fault("end_of_data")
        reply = await connection.play(fault) if fault else None
        if reply:
            return reply
        reply = self._judge(connection, "end_of_data", envelope.original_content)
        if reply:
            return reply
        message = self.lab._store(self, connection, envelope)
        self.log(connection.number, "accepted", f"{message.queue_id} from {message.mail_from}")
        return f"250 2.0.0 Ok: queued as {message.queue_id}"


class _Watcher(asyncio.Protocol):
    """Takes over a paused connection to see what the client does: send its first bytes, or hang up."""

    def __init__(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        self.data_arrived, self.closed = loop.create_future(), loop.create_future()
        transport.set_protocol(self)
        transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if not self.data_arrived.done():
            self.data_arrived.set_result(data)

    def connection_lost(self, error: Exception | None) -> None:
        for future in (self.data_arrived, self.closed):
            if not future.done():
                future.set_result(None)

    async def first_bytes(self, timeout: float) -> None:
        """Wait for the client's first bytes (a ClientHello, say), its hanging up, or the timeout."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.data_arrived), timeout)

    async def hung_up_within(self, timeout: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        return self.closed.done()


class _Acceptor(asyncio.Protocol):
    """Takes each new TCP connection and hands it to _EndpointServer.accept, with reading paused so
    that no byte is lost before the TLS layer or aiosmtpd takes over."""

    def __init__(self, server: _EndpointServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.server.closing:  # accepted by asyncio just before the listener closed
            transport.abort()
            return
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self.server.accept(transport))
        self.server._pending.add(task)
        task.add_done_callback(self.server._pending.discard)


# --------------------------------------------------------------------------------------------------
# The lab


class _LibraryLogBridge(logging.Handler):
    """aiosmtpd logs on 'mail.log'. Its errors (tracebacks) go to the running labs' event logs instead
    of stderr, so they never land in notebook output. Its warnings (an unknown command, too many bad
    commands) repeat what the lab already logs as refusals, with an ephemeral client port in them,
    so they are dropped."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.labs: set[Lab] = set()

    def emit(self, record: logging.LogRecord) -> None:
        for lab in list(self.labs):
            lab.events._add(Event(None, "aiosmtpd", "library", self.format(record)))


_bridge = _LibraryLogBridge()
_aiosmtpd_log = logging.getLogger("mail.log")


def _route_library_log(lab: Lab, on: bool) -> None:
    if on:
        _bridge.labs.add(lab)
    else:
        _bridge.labs.discard(lab)
    if _bridge.labs and _bridge not in _aiosmtpd_log.handlers:
        _aiosmtpd_log.addHandler(_bridge)
        _aiosmtpd_log.propagate = False
    elif not _bridge.labs and _bridge in _aiosmtpd_log.handlers:
        _aiosmtpd_log.removeHandler(_bridge)
        _aiosmtpd_log.propagate = True


class LabError(RuntimeError):
    """The lab could not start as asked (a busy port, an unknown profile, an unwritable CA file...)."""


class Lab:
    """A running set of endpoints. Give profile names (or Profile objects) to choose them; the default
    is the three standard endpoints. `ports` asks for fixed ports by profile name; the rest are chosen
    by the OS. The lab listens on loopback only."""

    def __init__(
        self,
        *profiles: str | Profile,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        ca_file: str | Path | None = None,
        tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        chosen = [profile_named(p) if isinstance(p, str) else p for p in profiles] or list(STANDARD)
        if not ipaddress.ip_address(host).is_loopback:
            raise LabError(f"the lab listens on loopback only; {host} is not a loopback address")
        unknown = set(ports or {}) - {p.name for p in chosen}
        if unknown:
            raise LabError(f"ports asked for profiles this lab does not run: {', '.join(sorted(unknown))}")
        self.profiles = {profile.name: profile for profile in chosen}
        self.host = host
        self.requested_ports = dict(ports or {})
        self.tls_handshake_timeout = tls_handshake_timeout
        self.idle_timeout = idle_timeout
        self.users = dict(USERS)
        self.mailbox = Mailbox()
        self.events = EventLog()
        self.certificates: LabCertificates | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ca_file_requested = Path(ca_file) if ca_file else None
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self._thread: threading.Thread | None = None
        self._servers: dict[str, _EndpointServer] = {}
        self._counter_lock = threading.Lock()
        self._sessions = 0
        self._queued = 0
        self.ca_file: Path | None = None

    # -- lifecycle --
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Lab:
        """Open every endpoint. Starting a running lab does nothing."""
        if self.running:
            return self
        sockets = self._bind_all()
        try:
            self.certificates = LabCertificates()
            self.ca_file = self._write_ca_file()
            self.loop = asyncio.new_event_loop()
            self.loop.set_exception_handler(self._loop_exception)
            self._servers = {name: _EndpointServer(self, self.profiles[name], sock) for name, sock in sockets.items()}
            self._thread = threading.Thread(target=self.loop.run_forever, name="smtp-port-lab", daemon=True)
            self._thread.start()
            _route_library_log(self, True)
            self._run(self._open_all())
        except BaseException:
            for sock in sockets.values():
                sock.close()
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every endpoint and connection, stop the thread, remove temporary files. Idempotent."""
        if self._thread is not None:
            try:
                self._run(self._close_all())
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(LIFECYCLE_TIMEOUT)
                self._thread = None
        if self.loop is not None and not self.loop.is_running():
            self.loop.close()
            self.loop = None
        _route_library_log(self, False)
        self._servers = {}
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(LIFECYCLE_TIMEOUT)

    async def _open_all(self) -> None:
        for server in self._servers.values():
            await server.open()

    async def _close_all(self) -> None:
        await asyncio.gather(*(server.close() for server in self._servers.values()))
        # Anything still running (an aiosmtpd command loop whose connection was just aborted) ends here.
        leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def _bind_all(self) -> dict[str, socket.socket]:
        sockets: dict[str, socket.socket] = {}
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            for name, profile in self.profiles.items():
                port = self.requested_ports.get(name, 0)
                # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say so,
                # and with Nagle on, aiosmtpd's one-write-per-line EHLO reply stalls 40 ms on a delayed ACK.
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sockets[name] = sock
                if profile.listening:
                    # Not for a "closed" endpoint: another socket could then bind its port and listen.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.host, port))
                except OSError as error:
                    raise LabError(f"cannot listen on {self.host} port {port} for {name}: {error.strerror}") from None
                sock.setblocking(False)
        except BaseException:
            for sock in sockets.values():
                sock.close()
            raise
        return sockets

    def _write_ca_file(self) -> Path:
        if self._ca_file_requested is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="smtp-port-lab-")
            return self.certificates.write_ca(Path(self._tempdir.name) / "lab-ca.pem")
        try:
            return self.certificates.write_ca(self._ca_file_requested)
        except OSError as error:
            raise LabError(f"cannot write the CA file {self._ca_file_requested}: {error.strerror}") from None

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        detail = f"{type(error).__name__}: {error}" if error else context.get("message", "")
        self.events._add(Event(None, "lab", "error", detail))

    # -- bookkeeping used by the endpoint servers --
    def _next_session(self) -> int:
        with self._counter_lock:
            self._sessions += 1
            return self._sessions

    def _store(self, server: _EndpointServer, connection: _Connection, envelope: Envelope) -> Message:
        with self._counter_lock:
            self._queued += 1
            queue_id = f"MSG{self._queued:04d}"
        message = Message(
            queue_id=queue_id,
            endpoint=server.profile.name,
            acts_as=server.profile.acts_as,
            peer_host=connection.peer_host,
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            login=connection.login,
            tls_version=connection.tls_version,
            raw=envelope.original_content,
        )
        self.mailbox._add(message)
        return message

    # -- what users of the lab look at --
    @property
    def endpoints(self) -> dict[str, Endpoint]:
        if not self.running:
            raise LabError("the lab is not running; call start() first")
        return {name: server.endpoint for name, server in self._servers.items()}

    def __getitem__(self, name: str) -> Endpoint:
        endpoints = self.endpoints
        if name not in endpoints:
            raise KeyError(f"this lab has no endpoint {name!r}; it has: {', '.join(endpoints)}")
        return endpoints[name]

    @property
    def names(self) -> dict[int, str]:
        """Port number -> stable label, so transcripts can say 'submission (port 587)'."""
        return {endpoint.port: endpoint.label for endpoint in self.endpoints.values()}

    def client_context(self) -> ssl.SSLContext:
        """A verifying TLS context that trusts the lab CA."""
        return self.certificates.client_context()

    def describe(self, *, addresses: bool = False) -> str:
        """A table of endpoints: what each acts as, its TLS mode, what it does; with `addresses=True` also
        where it listens (ports chosen by the OS change from run to run, so notebooks leave them out)."""
        header = ("endpoint", "acts as", "TLS") + (("address",) if addresses else ())
        rows = [(*header, "what it does")]
        for e in self.endpoints.values():
            address = (f"{e.host}:{e.port}",) if addresses else ()
            rows.append((e.name, str(e.acts_as), e.tls, *address, e.summary))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in rows
        )

    def __repr__(self) -> str:
        state = f"{len(self._servers)} endpoints" if self.running else "stopped"
        return f"<Lab {state}>"


_current: Lab | None = None


def start_lab(*profiles: str | Profile, **options: Any) -> Lab:
    """Start a lab for a notebook: a lab started earlier by this function is stopped first, so a
    re-run cell never leaves a second lab running or finds its ports taken."""
    global _current
    if _current is not None:
        _current.stop()
    _current = Lab(*profiles, **options).start()
    return _current


# --------------------------------------------------------------------------------------------------
# Command line: python -m helpers.lab


def _parse_ports(text: str, profiles: Mapping[str, Profile]) -> dict[str, int]:
    """'25=10025,465=10465' or 'submission=10587' -> {profile name: port}."""
    standard_by_port = {str(p.acts_as): p.name for p in STANDARD}
    ports: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        key, equals, value = item.partition("=")
        name = standard_by_port.get(key.strip(), key.strip())
        if not equals or name not in profiles:
            raise LabError(f"bad --ports item {item!r}: use ACTS_AS=PORT (25, 465, 587) or PROFILE=PORT")
        if not value.strip().isdigit() or not 0 < int(value) < 65536:
            raise LabError(f"bad --ports item {item!r}: {value!r} is not a port number (1-65535)")
        ports[name] = int(value)
    return ports


def _as_json(lab: Lab) -> str:
    return json.dumps({
        "ca_file": str(lab.ca_file),
        "domain": "example.com",
        "users": lab.users,
        "endpoints": {
            e.name: {"host": e.host, "port": e.port, "acts_as": e.acts_as, "tls": e.tls}
            for e in lab.endpoints.values()
        },
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.lab",
        description="Serve the SMTP Port Lab on loopback until interrupted, so any program can be pointed at it.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object describing the lab on the first line")
    parser.add_argument("--all", action="store_true", help="also serve every broken profile as its own endpoint")
    parser.add_argument("--ca-file", help="write the lab CA certificate (PEM) here; clients must trust it")
    parser.add_argument("--ports", default="", help="fixed ports, e.g. 25=10025,465=10465,587=10587")
    options = parser.parse_args(argv)

    profiles = PROFILES if options.all else {p.name: p for p in STANDARD}
    try:
        ports = _parse_ports(options.ports, profiles)
        lab = Lab(*profiles.values(), ports=ports, ca_file=options.ca_file).start()
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        if options.json:
            print(_as_json(lab), flush=True)
        else:
            print(lab.describe(addresses=True))
            print(f"\nusers: {', '.join(lab.users)} (passwords: see README or --json)")
            print(f"CA file (trust it in your client): {lab.ca_file}")
            print("serving until Ctrl-C ...", flush=True)
        stopping.wait()
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
