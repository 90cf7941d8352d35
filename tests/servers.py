"""Tiny misbehaving servers over raw sockets on 127.0.0.1, each playing one bad peer for the length of a block."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import trustme
from conftest import CLIENT_TIMEOUT

Behaviour = Callable[[socket.socket, threading.Event], None]


@contextlib.contextmanager
def peer(behave: Behaviour, *, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A server on 127.0.0.1 for the length of the block: each connection goes to behave(conn, stop);
    `stop` is set when the block ends. Yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    handlers: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(CLIENT_TIMEOUT)
            if tls is None:
                behave(conn, stop)
            else:
                with tls.wrap_socket(conn, server_side=True) as secure:
                    behave(secure, stop)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            handlers.append(threading.Thread(target=handle, args=(conn,)))
            handlers[-1].start()

    server = threading.Thread(target=serve)
    server.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        server.join()
        for handler in handlers:
            handler.join()
        listener.close()


def tls_for_127_0_0_1(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1, and the CA file that makes clients trust it."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return context, ca_file


def hold(conn: socket.socket, stop: threading.Event) -> None:
    """Keep the connection until the client hangs up."""
    conn.settimeout(0.05)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            if not conn.recv(1024):
                return


def trickles(data: bytes, every: float) -> Behaviour:
    """Send `data` a byte at a time, one every `every` seconds, then hold the connection."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        for byte in data:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))
        hold(conn, stop)

    return behave


def echoes_credentials(conn: socket.socket, stop: threading.Event) -> None:
    """Just enough SMTP to reach AUTH, whose 535 quotes what the client sent to log in, as sent and
    decoded: the AUTH line itself, or for LOGIN the answer to the password prompt. A careless server
    could do this; the kit must not show what it quotes."""
    conn.sendall(b"220 echo.example ESMTP\r\n")
    reader = conn.makefile("rb")
    for line in reader:
        words = line.split()
        verb = words[0].upper() if words else b""
        if verb == b"EHLO":
            conn.sendall(b"250-echo.example\r\n250 AUTH PLAIN LOGIN\r\n")
        elif verb == b"AUTH":
            if len(words) == 2 or words[1].upper() == b"LOGIN":
                conn.sendall(b"334 UGFzc3dvcmQ6\r\n")  # "Password:"
                line = reader.readline()
            token = line.split()[-1]
            decoded = base64.b64decode(token).replace(b"\0", b" ")
            conn.sendall(b"535 5.7.8 authentication failed for " + line.strip() + b" (" + decoded + b")\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            break
        else:
            conn.sendall(b"250 ok\r\n")
    reader.close()
