"""The lab's server side: how each endpoint accepts connections and talks SMTP.

For each connection the lab itself accepts the TCP connection (to log it and play connect-stage faults),
does implicit TLS with a short handshake timeout where the profile asks for it, plays greeting-stage
faults, and then hands the connection to aiosmtpd's SMTP protocol, which does the talking. The
endpoint's profile (helpers.profiles) decides what is refused, through aiosmtpd's handler hooks.
helpers.lab runs all of this on one asyncio loop in one background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, TLSSetupException
from aiosmtpd.smtp import Session as AiosmtpdSession

from helpers.mailbox import Event, Message
from helpers.profiles import HOSTNAME, MAX_MESSAGE_SIZE, TLS_HANDSHAKE_TIMEOUT, USERS, Fault, Profile

if TYPE_CHECKING:
    from helpers.lab import Lab

IDLE_TIMEOUT = 30.0  # seconds of client silence before the lab hangs up (Postfix waits 300)
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
# The server: one EndpointServer per endpoint, one _Connection (an aiosmtpd SMTP protocol) per client


class _LabSession(AiosmtpdSession):
    # aiosmtpd 1.4.6 logs a deprecation warning each time it sets Session.login_data (a property);
    # a plain attribute keeps that noise out of notebook output. We read auth_data instead.
    login_data: Any = None


class _Connection(SMTP):
    """aiosmtpd's SMTP protocol for one client, plus the lab's bookkeeping: numbered session,
    staged faults before each command, Postfix wording, and refusals written to the event log."""

    def __init__(self, server: EndpointServer, number: int, tls_context: ssl.SSLContext | None) -> None:
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


class EndpointServer:
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
        self.memory["failed_logins"].setdefault(connection.peer_host, []).append(time.monotonic())
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
        message = Message(
            queue_id=self.lab._next_queue_id(),
            endpoint=self.profile.name,
            acts_as=self.profile.acts_as,
            peer_host=connection.peer_host,
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            login=connection.login,
            tls_version=connection.tls_version,
            raw=envelope.original_content,
        )
        self.lab.mailbox._add(message)
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
    """Takes each new TCP connection and hands it to EndpointServer.accept, with reading paused so
    that no byte is lost before the TLS layer or aiosmtpd takes over."""

    def __init__(self, server: EndpointServer) -> None:
        self.server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.server.closing:  # accepted by asyncio just before the listener closed
            transport.abort()
            return
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self.server.accept(transport))
        self.server._pending.add(task)
        task.add_done_callback(self.server._pending.discard)


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


def route_library_log(lab: Lab, on: bool) -> None:
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
