"""The lab's server side: how each endpoint accepts connections before the SMTP conversation begins.

For each connection the endpoint logs it, plays connect-stage faults on the bare socket, does implicit TLS
where the profile asks for it, applies the connection limit and greeting-stage faults, and then hands the
connection to a Conversation (helpers.conversation), which does the talking. helpers.lab runs every
endpoint on one asyncio loop in one background thread, and gives each what it needs as one `Shared`.

Implicit TLS (port 465) times two different things. A client that sends nothing at all is a plaintext
client waiting for a greeting that will never come: after `client_hello_wait` (about a second) it gets
the close, the case study's EOF. A client that has sent its first byte is doing TLS: its handshake gets
`tls_handshake_timeout` (tens of seconds), so a slow TLS client on a busy machine is never cut. (Postfix
waits smtpd_starttls_timeout, 300 s, for both, and clients with a timeout of their own give up first.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

from helpers.conversation import AlertingSSLProtocol, Conversation, Faults, Shared, why_tls_failed
from helpers.profiles import MAX_CONNECTIONS, Endpoint, Profile
from helpers.terms import Phase, TlsMode

LISTEN_BACKLOG = 512  # connections the kernel holds for the lab to accept (asyncio's default is 100)
ACCEPT_PAUSE = 0.1  # seconds the lab waits before accepting again when it runs out of file descriptors


class EndpointServer:
    """One endpoint while the lab runs: its listener, and the state its connections share."""

    def __init__(self, profile: Profile, sock: socket.socket, shared: Shared) -> None:
        self.profile = profile
        self.sock = sock
        self.shared = shared
        host, port = sock.getsockname()[:2]
        self.endpoint = Endpoint(profile.name, host, port, profile.acts_as, profile.tls, profile.summary)
        self.faults = Faults(profile.faults)
        self.memory: dict = {}  # for stateful policies (helpers.profiles.Session.memory)
        has_tls = profile.tls != TlsMode.NONE
        certificate = shared.certificates[profile.certificate]
        self.tls_context = certificate.server_context(versions=profile.tls_versions) if has_tls else None
        self._visits: set[_Visit] = set()
        self._serving: asyncio.Task | None = None
        self._fillers: list[socket.socket] = []

    def log(self, session: int | None, kind: str, detail: str = "") -> None:
        self.shared.events.add(session, self.profile.name, kind, detail)

    # -- listening --
    async def open(self) -> None:
        """Start listening (the lab has bound the socket); OSError if the port cannot be listened on."""
        if self.profile.black_hole:
            self._fill_accept_queue()
        elif self.profile.listening:
            self.sock.listen(LISTEN_BACKLOG)
            self._serving = asyncio.get_running_loop().create_task(self._serve())

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
        """Stop accepting and end every connection. The lab closes the listening socket afterwards."""
        if self._serving:
            self._serving.cancel()
            await asyncio.gather(self._serving, return_exceptions=True)
        await asyncio.gather(*(visit.cancel() for visit in list(self._visits)), return_exceptions=True)
        for filler in self._fillers:
            filler.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(self.sock)
            except OSError as error:  # EMFILE and kin: wait for connections to end rather than spin
                self.log(None, "error", f"cannot accept a connection: {error.strerror or error}")
                await asyncio.sleep(ACCEPT_PAUSE)
                continue
            visit = _Visit(self, client)
            self._visits.add(visit)
            visit.task = loop.create_task(visit.run())

    def forget(self, visit: _Visit) -> None:
        self._visits.discard(visit)

    @property
    def connections(self) -> int:
        return len(self._visits)


class _Visit:
    """One connection to an endpoint, from accept to close: its session number, and the promise that its
    end is logged exactly once, whoever ends it (the client, a fault, a timeout, or the lab stopping)."""

    def __init__(self, server: EndpointServer, client: socket.socket) -> None:
        self.server = server
        self.client: socket.socket | None = client  # until a transport takes it
        self.transport: asyncio.Transport | None = None
        self.holder: _Holder | None = None  # the transport's protocol until the conversation takes over
        self.task: asyncio.Task | None = None
        self.ended = False
        self.peer_host = _peer_host(client)
        self.number = server.shared.events.connect(server.profile.name, f"from {self.peer_host}")

    def end(self) -> None:
        """Log the disconnect, once; called before the lab itself closes, so that a client that sees the
        close finds the server's side of the story complete."""
        if not self.ended:
            self.ended = True
            self.server.forget(self)
            self.server.shared.events.disconnect(self.number, self.server.profile.name)

    async def cancel(self) -> None:
        """End the connection now (the lab is stopping)."""
        self.end()
        if self.transport is not None:
            self.transport.abort()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        try:
            if await self._welcome():
                return  # handed over: the conversation ends the visit
        except asyncio.CancelledError:
            pass
        except Exception as error:  # a vanished client (OSError), or a bug: the visit still ends, logged
            self.log("error", f"{type(error).__name__}: {error}")
        self.end()
        if self.transport is not None:
            self.transport.abort()
        if self.client is not None:
            self.client.close()

    def log(self, kind: str, detail: str = "") -> None:
        self.server.log(self.number, kind, detail)

    async def _welcome(self) -> bool:
        """Everything before the conversation; True once the conversation has the connection."""
        server = self.server
        if not await self._connect_stage():
            return False
        if server.profile.tls == TlsMode.IMPLICIT:
            if not await self._implicit_tls():
                return False
        else:
            self.transport, self.holder = await asyncio.get_running_loop().connect_accepted_socket(
                _Holder, self.client)
            self.client = None  # the transport has it now
        if server.connections > MAX_CONNECTIONS:
            # Postfix's reply when a client has too many connections (smtpd.c, smtpd_proto).
            hostname = server.profile.voice.hostname
            return self._refuse(f"421 4.7.0 {hostname} Error: too many connections from {self.peer_host}")
        fault = server.faults.take(Phase.GREETING)
        if fault and fault.delay:
            self.log("fault", f"waited {fault.delay:g} s before the greeting")
            await asyncio.sleep(fault.delay)
        if fault and fault.reply:
            return self._refuse(fault.reply)
        holder = self.holder
        if holder.lost:  # the client hung up while the connection waited for its greeting
            return False
        starttls = server.profile.tls == TlsMode.STARTTLS and server.profile.offers_starttls
        conversation = Conversation(
            server.profile, self.number, shared=server.shared, faults=server.faults, memory=server.memory,
            tls_context=server.tls_context if starttls else None, on_close=self.end,
        )
        self.transport.set_protocol(conversation)
        conversation.connection_made(self.transport)
        if holder.early:
            conversation.data_received(holder.early)
        self.transport.resume_reading()
        return True

    def _refuse(self, reply: str) -> bool:
        """Answer with `reply` instead of a greeting, and hang up."""
        self.log("refused", f"greeting: {reply}")
        self.end()
        self.transport.write(reply.encode() + b"\r\n")
        self.transport.close()
        self.transport = None  # closing, not aborted: the reply goes out first
        return False

    async def _connect_stage(self) -> bool:
        """Play a 'connect' fault (a silent server); False when it ended the connection."""
        fault = self.server.faults.take(Phase.CONNECT)
        if fault is None:
            return True
        if fault.drop:
            # A silent server: hold the line, without a word, until the client gives up or the delay ends.
            if await _hung_up_within(self.client, fault.delay):
                self.log("fault", "said nothing; the client hung up first")
            else:
                self.log("fault", f"said nothing for {fault.delay:g} s, then dropped the connection")
            return False
        if fault.delay:
            self.log("fault", f"waited {fault.delay:g} s before accepting")
            await asyncio.sleep(fault.delay)
        return True

    async def _implicit_tls(self) -> bool:
        """TLS from the first byte; False when it did not happen."""
        settings = self.server.shared.settings
        first = await _first_bytes(self.client, settings.client_hello_wait)
        if first is None:
            self.log("tls-failed", (
                f"no TLS handshake within {settings.client_hello_wait:g} s: the client sent nothing, as a "
                "plaintext client waiting for a greeting does; connection closed"
            ))
            return False
        if not first:
            self.log("tls-failed", "client closed the connection before the TLS handshake")
            return False
        fault = self.server.faults.take(Phase.TLS)
        if fault and fault.drop:
            self.log("fault", "aborted the TLS handshake after the ClientHello")
            with contextlib.suppress(OSError):
                self.client.recv(65536)  # read, so that the close is a plain FIN (EOF), not a reset
            return False
        client, self.client = self.client, None  # the transport has it now (and closes it on failure)
        loop = asyncio.get_running_loop()
        handshake = loop.create_future()
        # What connect_accepted_socket(ssl=...) does, with the protocol that tells a refused client why.
        self.holder = _Holder()
        tls = AlertingSSLProtocol(loop, self.holder, self.server.tls_context, handshake, server_side=True,
                                  ssl_handshake_timeout=settings.tls_handshake_timeout)
        try:
            await loop.connect_accepted_socket(lambda: tls, client)
            await handshake
        except (OSError, EOFError) as error:
            self.log("tls-failed", why_tls_failed(error, settings))
            return False
        self.transport = tls._app_transport
        self.log("tls", self.transport.get_extra_info("ssl_object").version())
        return True


class _Holder(asyncio.Protocol):
    """Holds a connection, not reading, until its conversation takes it; keeps anything that arrived, and
    whether the connection ended meanwhile: asyncio tells only the protocol of the moment, never the next,
    and (Python 3.11.2) may have begun reading before connection_made paused it."""

    def __init__(self) -> None:
        self.early = b""
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        self.early += data

    def connection_lost(self, error: Exception | None) -> None:
        self.lost = True


def _peer_host(client: socket.socket) -> str:
    with contextlib.suppress(OSError):
        return client.getpeername()[0]
    return "?"


@contextlib.contextmanager
def _readable(client: socket.socket) -> Iterator[asyncio.Future]:
    """A future that is done when the socket has something to read (bytes, or the client's close)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(client.fileno(), lambda: ready.done() or ready.set_result(None))
    try:
        yield ready
    finally:
        loop.remove_reader(client.fileno())


async def _first_bytes(client: socket.socket, timeout: float) -> bytes | None:
    """The client's first bytes, left unread; b"" if it closed the connection, None if it sent nothing in time."""
    with _readable(client) as ready:
        try:
            await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            return None
    try:
        return client.recv(16, socket.MSG_PEEK)
    except OSError:  # reset by the client
        return b""


async def _hung_up_within(client: socket.socket, timeout: float) -> bool:
    """Ignore what the client says until it closes the connection (True) or the timeout passes (False)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        if await _first_bytes(client, left) == b"":
            return True
        with contextlib.suppress(OSError):
            client.recv(65536)
    return False


class _LibraryLogBridge(logging.Handler):
    """aiosmtpd logs on 'mail.log'. Its errors (tracebacks) go to the running labs' event logs instead
    of stderr, so they never land in notebook output. Its warnings (an unknown command, too many bad
    commands) repeat what the lab already logs as refusals, with an ephemeral client port in them,
    so they are dropped."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.logs: set = set()

    def emit(self, record: logging.LogRecord) -> None:
        for events in list(self.logs):
            events.add(None, "aiosmtpd", "library", self.format(record))


_bridge = _LibraryLogBridge()
_aiosmtpd_log = logging.getLogger("mail.log")


def route_library_log(events, on: bool) -> None:
    """Send aiosmtpd's log records to this event log (on) or stop (off); stderr again once no lab runs."""
    if on:
        _bridge.logs.add(events)
    else:
        _bridge.logs.discard(events)
    if _bridge.logs and _bridge not in _aiosmtpd_log.handlers:
        _aiosmtpd_log.addHandler(_bridge)
        _aiosmtpd_log.propagate = False
    elif not _bridge.logs and _bridge in _aiosmtpd_log.handlers:
        _aiosmtpd_log.removeHandler(_bridge)
        _aiosmtpd_log.propagate = True
