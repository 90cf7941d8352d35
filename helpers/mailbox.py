"""What the lab keeps: every accepted message, and the server's side of every conversation.

    lab.mailbox[-1].email["Subject"]    # the last accepted message, parsed
    print(lab.events.text())            # connects, TLS, refusals, logins, disconnects, in order

Both are safe to read while the lab runs (its server thread writes them), and both are bounded, as a
real server's queue and logs are: past their limits the oldest entries go first.
"""

from __future__ import annotations

import collections
import email
import email.message
import email.policy
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

SETTLE_TIMEOUT = 0.5  # seconds a reader of the event log waits for connections to finish closing
EVENT_LOG_LIMIT = 20_000  # events kept; a client that makes the lab refuse a million commands costs no more
MAILBOX_LIMIT = 10_000  # messages kept...
MAILBOX_BYTES = 51_200_000  # ...and bytes of them (Postfix's mailbox_size_limit, 5 x message_size_limit)

T = TypeVar("T")


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


class _Shelf(Generic[T]):
    """A bounded list that the lab's server thread appends to and readers in other threads wait on."""

    def __init__(self, limit: int) -> None:
        self._items: collections.deque[T] = collections.deque(maxlen=limit)
        self._changed = threading.Condition()

    def _append(self, item: T) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def clear(self) -> None:
        with self._changed:
            self._items.clear()

    def _snapshot(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._snapshot())


class Mailbox(_Shelf[Message]):
    """Every message the lab accepted, oldest first: the last MAILBOX_LIMIT of them, MAILBOX_BYTES at most."""

    def __init__(self) -> None:
        super().__init__(MAILBOX_LIMIT)
        self._stored = 0  # messages ever stored: the queue ids count on from it
        self._bytes = 0

    def store(self, raw: bytes, *, endpoint: str, acts_as: int, peer_host: str, mail_from: str,
              rcpt_tos: Iterable[str], login: str | None, tls_version: str | None) -> Message:
        """Keep an accepted message, give it the next queue id, and return it."""
        with self._changed:
            self._stored += 1
            message = Message(f"MSG{self._stored:04d}", endpoint, acts_as, peer_host, mail_from, tuple(rcpt_tos),
                              login, tls_version, raw)
            if len(self._items) == self._items.maxlen:
                self._bytes -= len(self._items[0].raw)
            self._items.append(message)
            self._bytes += len(raw)
            while self._bytes > MAILBOX_BYTES and len(self._items) > 1:
                self._bytes -= len(self._items.popleft().raw)
            self._changed.notify_all()
        return message

    def clear(self) -> None:
        with self._changed:
            self._items.clear()
            self._bytes = 0

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until the mailbox holds at least `count` messages; False if the timeout passed first."""
        return self._wait(lambda: len(self._items) >= count, timeout)

    def __getitem__(self, index: int) -> Message:
        return self._snapshot()[index]

    def __repr__(self) -> str:
        return "\n".join(str(message) for message in self) or "(no messages)"


@dataclass(frozen=True)
class Event:
    """Something the server saw. `session` numbers connections in the order they arrived (1, 2, ...)."""

    session: int | None
    endpoint: str
    kind: str  # connect, tls, tls-failed, fault, refused, login, accepted, timeout, disconnect, library, error
    detail: str = ""

    def __str__(self) -> str:
        session = f"#{self.session}" if self.session is not None else "--"
        return f"{session:>4} {self.endpoint:<28} {self.kind:<10} {self.detail}".rstrip()


class EventLog(_Shelf[Event]):
    """The server's side of every conversation, in order: the last EVENT_LOG_LIMIT events."""

    def __init__(self) -> None:
        super().__init__(EVENT_LOG_LIMIT)
        self._sessions = 0  # connections ever seen: each new one gets the next number
        self._open = 0  # connections logged as connected and not yet as disconnected

    def connect(self, endpoint: str, detail: str = "") -> int:
        """Log a new connection and return its session number."""
        with self._changed:
            self._sessions += 1
            self._open += 1
            number = self._sessions
        self.add(number, endpoint, "connect", detail)
        return number

    def disconnect(self, session: int, endpoint: str) -> None:
        """Log the end of a connection (the server calls this once per connect)."""
        with self._changed:
            self._open -= 1
        self.add(session, endpoint, "disconnect")

    def add(self, session: int | None, endpoint: str, kind: str, detail: str = "") -> None:
        self._append(Event(session, endpoint, kind, detail))

    def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until `count` events of this kind were logged; False if the timeout passed first."""
        return self._wait(lambda: sum(e.kind == kind for e in self._items) >= count, timeout)

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until every connection has been logged as closed. A client can see a failure before the
        server has finished logging it (a rejected certificate, say); reading the log after this
        gives both sides of the story. False if connections were still open after `timeout`."""
        return self._wait(lambda: self._open == 0, timeout)

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
