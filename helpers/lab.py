"""The lab: a mail server inside your Python process that behaves like a provider's ports 25, 465 and 587.

    lab = Lab().start()                 # relay (25), submission (587), submissions (465)
    lab["submission"].port              # ports are chosen by the OS; the endpoint knows what it acts as
    lab.mailbox[-1].email["Subject"]    # every accepted message, parsed (helpers.mailbox)
    lab.tokens.issue(user, scope=...)   # an OAuth access token for an account (helpers.oauth)
    print(lab.events.text())            # what the server saw: connects, TLS, refusals, disconnects
    lab.stop()                          # or use `with Lab() as lab:`

One background thread runs one asyncio loop that hosts every listener (helpers.server); each endpoint
follows its profile (helpers.profiles) and presents a certificate from helpers.certificates.

Run `python -m helpers.lab --help` to serve the lab to programs in any language.
"""

from __future__ import annotations

import signal

# ruff: noqa: E402 - the guard must come before the imports it is about
if __name__ == "__main__":
    # `python -m helpers.lab`: until main() takes over, Ctrl-C ends the command at once and quietly (there is
    # nothing to clean up yet), where Python's default would print a traceback from one of these imports.
    signal.signal(signal.SIGINT, signal.SIG_DFL)

import argparse
import asyncio
import datetime
import errno
import ipaddress
import json
import socket
import ssl
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers import display
from helpers.certificates import LabCertificates
from helpers.conversation import CLIENT_HELLO_WAIT, IDLE_TIMEOUT, TLS_HANDSHAKE_TIMEOUT, Accounts, Settings, Shared
from helpers.mailbox import Event, EventLog, Mailbox, Message
from helpers.oauth import TokenIssuer
from helpers.profiles import (
    APP_PASSWORDS,
    LAB_DOMAIN,
    PROFILES,
    SEND_AS,
    STANDARD,
    USERS,
    Endpoint,
    Profile,
    profile_named,
)
from helpers.server import EndpointServer, route_library_log

__all__ = ["Endpoint", "Event", "EventLog", "Lab", "LabError", "Mailbox", "Message", "main", "start_lab"]

LIFECYCLE_TIMEOUT = 10.0  # seconds start() and stop() may take before they give up


class LabError(RuntimeError):
    """The lab could not start as asked (a busy port, an unknown profile, a CA file it cannot or will not write...)."""


class Lab:
    """A running set of endpoints. Give profile names (or Profile objects) to choose them; the default
    is the three standard endpoints. `ports` asks for fixed ports by profile name; the rest are chosen
    by the OS. The lab listens on loopback only.

    `ca_file`: where to write the lab's CA for clients to trust (else a temporary file, removed on stop): a
    new file, or one an earlier lab wrote; the lab writes over no other.

    `client_hello_wait`: seconds an implicit-TLS endpoint waits for a client's first byte before it takes
    it for a plaintext client and hangs up; `tls_handshake_timeout`: seconds a TLS handshake may take once
    begun; `idle_timeout`: seconds without a command before the lab says 421 and hangs up. `today`: the
    date the lab believes it is (for endpoints whose rules change on a date, and the date they print).

    The accounts: `users` (each one's password), `app_passwords`, `send_as` (the other addresses each may
    send as), and `tokens`, the issuer of their OAuth access tokens (helpers.oauth).

    Raises LabError for an unknown profile, a host that is not a loopback address, or ports it cannot have;
    start() for a port it cannot listen on or a CA file it cannot or will not write."""

    def __init__(
        self,
        *profiles: str | Profile,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        ca_file: str | Path | None = None,
        client_hello_wait: float = CLIENT_HELLO_WAIT,
        tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        today: datetime.date | None = None,
    ) -> None:
        try:
            chosen = [profile_named(p) if isinstance(p, str) else p for p in profiles] or list(STANDARD)
        except KeyError as error:
            raise LabError(error.args[0]) from None
        self.profiles = {profile.name: profile for profile in chosen}
        self.host = _loopback(host)
        self.requested_ports = _checked_ports(ports or {}, self.profiles)
        self.settings = Settings(client_hello_wait, tls_handshake_timeout, idle_timeout, today)
        self.users = dict(USERS)
        self.app_passwords = dict(APP_PASSWORDS)
        self.send_as = dict(SEND_AS)
        self.tokens = TokenIssuer()
        self.mailbox = Mailbox()
        self.events = EventLog()
        self.certificates: LabCertificates | None = None
        self.ca_file: Path | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ca_file_requested = Path(ca_file) if ca_file else None
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self._thread: threading.Thread | None = None
        self._sockets: dict[str, socket.socket] = {}
        self._servers: dict[str, EndpointServer] = {}

    # -- lifecycle --
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Lab:
        """Open every endpoint. Starting a running lab does nothing. Raises LabError if an endpoint cannot
        listen or the CA file cannot be written; a failed start leaves nothing behind."""
        if self.running:
            return self
        try:
            self._sockets = self._bind_all()
            self.certificates = LabCertificates()
            self.ca_file = self._write_ca_file()
            self.loop = asyncio.new_event_loop()
            self.loop.set_exception_handler(self._loop_exception)
            accounts = Accounts(self.users, self.app_passwords, self.send_as, self.tokens)
            shared = Shared(self.settings, accounts, self.events, self.mailbox, self.certificates)
            self._servers = {name: EndpointServer(self.profiles[name], sock, shared)
                             for name, sock in self._sockets.items()}
            route_library_log(self.events, True)
            self._thread = threading.Thread(target=self.loop.run_forever, name="smtp-port-lab", daemon=True)
            self._thread.start()
            self._run(self._open_all())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every endpoint and connection, stop the thread, remove temporary files. Idempotent, and
        safe after a start that failed half-way."""
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
        for sock in self._sockets.values():
            sock.close()
        self._sockets = {}
        self._servers = {}
        route_library_log(self.events, False)
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
        for name, server in self._servers.items():
            try:
                await server.open()
            except OSError as error:
                raise LabError(f"cannot listen on {self.host} port {server.endpoint.port} for {name}: "
                               f"{error.strerror or error}") from None

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
                # and with Nagle on, a reply written in pieces stalls 40 ms on a delayed ACK.
                sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sockets[name] = sock
                if profile.listening:
                    # Not for a "closed" endpoint: another socket could then bind its port and listen.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.host, port))
                except OSError as error:
                    message = f"cannot listen on {self.host} port {port} for {name}: {error.strerror}"
                    if error.errno == errno.EADDRINUSE:
                        message += (" (another program holds it, perhaps another lab: a notebook's kernel or "
                                    "python -m helpers.lab; stop that one, or choose other ports)")
                    raise LabError(message) from None
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
        except FileExistsError:
            raise LabError(f"will not write over {self._ca_file_requested}: it is no CA file a lab wrote. The lab "
                           "writes its CA there for your client to trust; give a path where no file is yet") from None
        except OSError as error:
            raise LabError(f"cannot write the CA file {self._ca_file_requested}: {error.strerror}") from None

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        detail = f"{type(error).__name__}: {error}" if error else context.get("message", "")
        self.events.add(None, "lab", "error", detail)

    # -- what users of the lab look at --
    @property
    def endpoints(self) -> dict[str, Endpoint]:
        if not self.running:
            raise LabError("the lab is not running: start it again with lab.start() (or start_lab())")
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
            rows.append((e.name, str(e.acts_as), str(e.tls), *address, e.summary))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in rows
        )

    def __repr__(self) -> str:
        state = f"{len(self._servers)} endpoints" if self.running else "stopped"
        return f"<Lab {state}>"


def _loopback(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LabError(f"give the lab an IP address (127.0.0.1 or ::1), not {host!r}") from None
    if not address.is_loopback:
        raise LabError(f"the lab listens on loopback only; {host} is not a loopback address")
    return host


def _checked_ports(ports: Mapping[str, int], profiles: Mapping[str, Profile]) -> dict[str, int]:
    unknown = set(ports) - set(profiles)
    if unknown:
        raise LabError(f"ports asked for profiles this lab does not run: {', '.join(sorted(unknown))}")
    owner: dict[int, str] = {}
    for name, port in ports.items():
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise LabError(f"{port!r} is not a port number (0-65535) for {name}")
        if port and port in owner:
            raise LabError(f"port {port} is asked for both {owner[port]} and {name}; give each its own")
        owner[port] = name
    return dict(ports)


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
        value = value.strip()
        if not equals or name not in profiles:
            raise LabError(f"bad --ports item {item!r}: use ACTS_AS=PORT (25, 465, 587) or PROFILE=PORT")
        # isdigit() alone takes '²', which int() does not
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 65536:
            raise LabError(f"bad --ports item {item!r}: {value!r} is not a port number (1-65535)")
        if name in ports:
            raise LabError(f"bad --ports item {item!r}: {name} already has port {ports[name]}")
        ports[name] = int(value)
    return ports


def _ca_file_option(text: str | None) -> Path | None:
    """--ca-file, in a directory that exists: the command makes none, since a path typed wrong would leave
    directories behind unnoticed (a Lab given its path by a program makes them)."""
    if not text:
        return None
    folder = Path(text).parent
    if not folder.is_dir():
        raise LabError(f"cannot write the CA file {text}: its directory {folder} "
                       f"{'is not a directory' if folder.exists() else 'does not exist'}")
    return Path(text)


def _as_json(lab: Lab) -> str:
    return json.dumps({
        "ca_file": str(lab.ca_file),
        "domain": LAB_DOMAIN,
        "users": lab.users,
        "endpoints": {
            e.name: {"host": e.host, "port": e.port, "acts_as": e.acts_as, "tls": e.tls}
            for e in lab.endpoints.values()
        },
    })


def _announce(lab: Lab, *, as_json: bool) -> None:
    if as_json:
        print(_as_json(lab), flush=True)
        return
    print(lab.describe(addresses=True))
    print(f"\nusers: {', '.join(lab.users)} (passwords: see README or --json)")
    print(f"CA file (trust it in your client): {lab.ca_file}")
    print("serving until Ctrl-C ...", flush=True)


# Ctrl-C, `kill`, and the terminal closing: each stops the lab the same way, whenever it comes.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.lab",
        description="Serve the SMTP Port Lab on loopback until interrupted, so any program can be pointed at it.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object describing the lab on the first line")
    parser.add_argument("--all", action="store_true", help="also serve every broken profile as its own endpoint")
    parser.add_argument("--ca-file", help="write the lab CA certificate (PEM) here, a new file or an earlier lab's; "
                                          "clients must trust it")
    parser.add_argument("--ports", default="", help="fixed ports, e.g. 25=10025,465=10465,587=10587")
    options = parser.parse_args(argv)

    # A signal only asks to stop: a start under way finishes, then the lab stops and removes its files.
    # A signal the lab was started ignoring stays ignored: `nohup python -m helpers.lab &` outlives its terminal.
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set())
                for signum in _STOP_SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        profiles = PROFILES if options.all else {p.name: p for p in STANDARD}
        try:
            ports = _parse_ports(options.ports, profiles)
            lab = Lab(*profiles.values(), ports=ports, ca_file=_ca_file_option(options.ca_file)).start()
        except LabError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        try:
            if not stopping.is_set():
                try:
                    _announce(lab, as_json=options.json)
                except BrokenPipeError:  # its reader has gone (`| head -1`): the lab serves on, saying no more
                    display.reader_gone()
                stopping.wait()
        finally:
            lab.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
