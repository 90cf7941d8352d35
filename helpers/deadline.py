"""Reading an SMTP conversation against one deadline, as send() and the doctor both do.

A socket timeout bounds each recv, not the whole: a server that trickles one byte at a time can hold a
reader for ever within any per-read timeout. Here every recv gets only what is left of one deadline.
"""

from __future__ import annotations

import socket
import time


def time_left(deadline: float) -> float:
    """Seconds until `deadline` (a time.monotonic() value); TimeoutError when it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class LinesWithin:
    """What smtplib reads reply lines from, in place of sock.makefile(): each recv gets only the time left
    before `deadline`, and with `max_bytes`, a server that floods lines is cut off (OSError). Keeps the
    first bytes that came (`head`), to quote what answered when it was not SMTP."""

    def __init__(self, sock: socket.socket, deadline: float, *, chunk: int = 16 * 1024,
                 max_bytes: int | None = None) -> None:
        self.sock, self.deadline, self.chunk, self.max_bytes = sock, deadline, chunk, max_bytes
        self.buffer = self.head = b""
        self.received = 0

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit):
            if self.max_bytes is not None and self.received > self.max_bytes:
                raise OSError(f"more than {self.max_bytes} bytes of replies")
            self.sock.settimeout(time_left(self.deadline))
            chunk = self.sock.recv(self.chunk)
            if not chunk:
                break
            self.received += len(chunk)
            self.buffer += chunk
            self.head = self.head or chunk
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        """Nothing to release: smtplib closes the socket itself."""
