"""Transcripts: the SMTP conversation as it crossed the wire, both ways, with TLS marked and secrets hidden.

Recording happens where smtplib writes to and reads from its socket, so a transcript holds exactly the
bytes smtplib sent and the reply lines it read, whatever code drove it: our `send()`, or your own plain
smtplib code inside `record()`:

    with record(names=lab.names) as wire:
        with smtplib.SMTP_SSL(host, port, context=context) as smtp:   # your code, unchanged
            smtp.login(user, password)
    wire.transcript                  # shows as a sequence diagram in a notebook
    print(wire.transcript.text())    # swaks-style text
    wire.transcript.to_json()        # for tools

Text marks, as swaks does: `->` sent, `<-` received, `~>` and `<~` the same inside TLS, `<**` (or `<~*`)
a refusal, `===` the recorder's own note, `***` an error. AUTH payloads are replaced by asterisks before
they are stored, so no rendering can show them. Message data is summarised: the From, To, Cc and
Subject headers, then a count of the other lines.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import smtplib
import ssl
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

SENT, RECEIVED, NOTE, ERROR = "sent", "received", "note", "error"
REDACTED = "********"
SHOWN_HEADERS = ("from", "to", "cc", "subject")

# Which phase of the conversation a command starts (what a failure "at MAIL" means).
# RSET, NOOP and QUIT are housekeeping (smtplib sends RSET after a refusal) and leave the phase alone.
_PHASES = {"EHLO": "ehlo", "HELO": "ehlo", "STARTTLS": "starttls", "AUTH": "auth", "MAIL": "mail",
           "RCPT": "rcpt", "DATA": "data"}


@dataclass(frozen=True)
class Line:
    direction: str  # sent, received, note, error
    text: str
    tls: bool = False
    unexpected: bool = False  # a 4xx/5xx reply or an error

    @property
    def mark(self) -> str:
        if self.direction == NOTE:
            return "==="
        if self.direction == ERROR:
            return "***"
        if self.direction == SENT:
            return " ~>" if self.tls else " ->"
        if self.unexpected:
            return "<~*" if self.tls else "<**"
        return "<~ " if self.tls else "<- "


@dataclass
class Transcript:
    """One connection's conversation. Built by the recorder; read it, don't write it."""

    peer: str = ""
    lines: list[Line] = field(default_factory=list)
    tls_version: str | None = None
    cipher: str | None = None
    phase: str = "connect"  # where the conversation is (or stopped): connect, greeting, ehlo, ...
    _in_auth: bool = field(default=False, repr=False)
    _in_data: bool = field(default=False, repr=False)

    # -- recording --
    def note(self, text: str) -> None:
        self.lines.append(Line(NOTE, text, self.tls))

    def error(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else describe_error(error)
        self.lines.append(Line(ERROR, text, self.tls, unexpected=True))

    def tls_started(self, sock: ssl.SSLSocket) -> None:
        self.tls_version = sock.version()
        self.cipher = (sock.cipher() or ("?",))[0]
        self.note(f"TLS started: {self.tls_version}, {self.cipher}")

    @property
    def tls(self) -> bool:
        return self.tls_version is not None

    def sent(self, data: bytes) -> None:
        if self._in_data:
            self._in_data = False
            self.phase = "end_of_data"
            for text in _summarise_message(data):
                self.lines.append(Line(SENT, text, self.tls))
            return
        for raw in data.split(b"\r\n"):
            if raw:
                self.lines.append(Line(SENT, self._redact(raw.decode("utf-8", "replace")), self.tls))

    def received(self, raw_line: bytes) -> None:
        text = raw_line.rstrip(b"\r\n").decode("utf-8", "replace")
        code = text[:3]
        if self._in_auth and code != "334":
            self._in_auth = False
        if code == "354":
            self._in_data = True
        unexpected = code[:1] in ("4", "5") or not code.isdigit()
        self.lines.append(Line(RECEIVED, text, self.tls, unexpected))

    def _redact(self, line: str) -> str:
        verb = line.split(" ", 1)[0].upper()
        if self._in_auth:
            return REDACTED  # a response to the server's 334 challenge: a user name or password
        if verb in _PHASES:
            self.phase = _PHASES[verb]
        if verb == "AUTH":
            self._in_auth = True
            words = line.split(" ")
            return " ".join(words[:2] + [REDACTED] * (len(words) > 2))
        return line

    # -- reading --
    @property
    def failed(self) -> bool:
        return any(line.direction == ERROR or (line.unexpected and line.direction == RECEIVED) for line in self.lines)

    def replies(self) -> list[tuple[int, str]]:
        """The server's replies as (code, text), multi-line replies joined with newlines."""
        replies: list[tuple[int, str]] = []
        continued = False
        for line in self.lines:
            if line.direction != RECEIVED or not line.text[:3].isdigit():
                continue
            code, text = int(line.text[:3]), line.text[4:]
            if continued:
                replies[-1] = (code, replies[-1][1] + "\n" + text)
            else:
                replies.append((code, text))
            continued = line.text[3:4] == "-"
        return replies

    def text(self) -> str:
        """swaks-style text: one line per line on the wire."""
        return "\n".join(f"{line.mark} {line.text}" for line in self.lines)

    def to_json(self) -> dict:
        return {
            "peer": self.peer,
            "tls": {"version": self.tls_version, "cipher": self.cipher} if self.tls else None,
            "phase": self.phase,
            "failed": self.failed,
            "lines": [asdict(line) for line in self.lines],
        }

    def json(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def html(self) -> str:
        """A sequence diagram: client and server lanes, one arrow per exchange, the TLS boundary drawn,
        refusals and errors in red. It reads right in a notebook nobody has run or trusted."""
        from helpers.display import sequence_diagram  # display draws transcripts, so it imports this module

        return sequence_diagram(self)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.html()


def describe_error(error: BaseException) -> str:
    """An exception as the last line of its traceback says it: 'smtplib.SMTPServerDisconnected: ...'."""
    return traceback.format_exception_only(type(error), error)[-1].strip()


def _summarise_message(data: bytes) -> list[str]:
    """The message smtplib sent after DATA: a few headers shown, the rest counted, then the final dot."""
    body = data[: -len(b".\r\n")] if data.endswith(b"\r\n.\r\n") else data
    head, _, rest = body.partition(b"\r\n\r\n")
    header_lines = head.split(b"\r\n")
    shown = [h.decode("utf-8", "replace") for h in header_lines if h.split(b":", 1)[0].strip().lower().decode(
        "ascii", "replace") in SHOWN_HEADERS]
    if not _looks_like_headers(header_lines):
        shown, header_lines, rest = [], [], body
    others = len(header_lines) - len(shown)
    body_lines = rest.count(b"\r\n") + (not rest.endswith(b"\r\n") and bool(rest))
    summary = (f"({_count(others, 'more header line')}, {_count(body_lines, 'body line')})" if header_lines
               else f"({_count(body_lines, 'line')})")
    return [*shown, summary, "."]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _looks_like_headers(lines: list[bytes]) -> bool:
    return bool(lines) and all(b":" in line or line[:1] in (b" ", b"\t") for line in lines if line)


# --------------------------------------------------------------------------------------------------
# Recording smtplib


class _Tap:
    """A file that hands smtplib the lines it reads and records each one."""

    def __init__(self, inner, transcript: Transcript) -> None:
        self.inner, self.transcript = inner, transcript

    def readline(self, size: int = -1) -> bytes:
        line = self.inner.readline(size)
        if line:
            self.transcript.received(line)
        return line

    def close(self) -> None:
        self.inner.close()


_SMTP, _SMTP_SSL = smtplib.SMTP, smtplib.SMTP_SSL  # the real classes, whatever record() does


class Recorder:
    """Mixin for smtplib.SMTP and SMTP_SSL: every byte sent and every line read goes into a Transcript."""

    transcript: Transcript

    def __init__(self, *args, transcript: Transcript | None = None, names: Mapping[int, str] | None = None,
                 **kwargs) -> None:
        if hasattr(self, "transcript"):
            # SMTP_SSL.__init__ calls smtplib.SMTP.__init__ by its module-level name, which record()
            # points at RecordingSMTP: hand that inner call to the real smtplib.SMTP.__init__.
            _SMTP.__init__(self, *args, **kwargs)
            return
        recording = _active.get()
        self.transcript = transcript or Transcript()
        self._names = names if names is not None else (recording.names if recording else {})
        if recording is not None:
            recording.transcripts.append(self.transcript)
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        label = self._names.get(port) or f"{host}:{port}"
        self.transcript.peer = self.transcript.peer or label
        self.transcript.note(f"Trying {label}...")
        try:
            sock = super()._get_socket(host, port, timeout)
        except OSError as error:
            # SMTP_SSL connects and shakes hands in one call: tell which of the two failed.
            if isinstance(error, ssl.SSLError | ConnectionResetError) or "handshake" in str(error):
                self.transcript.phase = "tls"
            raise
        self.transcript.note(f"Connected to {label}")
        if isinstance(sock, ssl.SSLSocket):
            self.transcript.tls_started(sock)
        self.transcript.phase = "greeting"
        return sock

    def send(self, s) -> None:
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        super().send(s)
        self.transcript.sent(data)

    def getreply(self):
        if self.file is None and self.sock is not None:
            self.file = _Tap(self.sock.makefile("rb"), self.transcript)
        return super().getreply()

    def starttls(self, *args, **kwargs):
        self.transcript.phase = "starttls"  # smtplib may refuse before sending anything
        try:
            reply = super().starttls(*args, **kwargs)
        except (ssl.SSLError, ConnectionError, TimeoutError):  # the handshake failed, not the command
            self.transcript.phase = "tls"
            raise
        self.transcript.tls_started(self.sock)
        return reply


    def login(self, *args, **kwargs):
        self.transcript.phase = "auth"
        return super().login(*args, **kwargs)


class RecordingSMTP(Recorder, _SMTP):
    """smtplib.SMTP that records its conversation in `.transcript`."""


class RecordingSMTP_SSL(Recorder, _SMTP_SSL):  # noqa: N801 (named after smtplib.SMTP_SSL)
    """smtplib.SMTP_SSL that records its conversation in `.transcript`."""


@dataclass
class Recording:
    """What `record()` collected: one transcript per connection, and the error if one was caught."""

    names: Mapping[int, str] = field(default_factory=dict)
    transcripts: list[Transcript] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def transcript(self) -> Transcript:
        """The last connection's transcript (an empty one if no connection was opened)."""
        return self.transcripts[-1] if self.transcripts else Transcript()

    def text(self) -> str:
        return "\n\n".join(t.text() for t in self.transcripts)

    __repr__ = text

    def _repr_html_(self) -> str:
        return "".join(t.html() for t in self.transcripts)


_active: contextvars.ContextVar[Recording | None] = contextvars.ContextVar("recording", default=None)


@contextlib.contextmanager
def record(names: Mapping[int, str] | None = None, *, catch: bool = False) -> Iterator[Recording]:
    """Record every smtplib.SMTP / smtplib.SMTP_SSL connection opened inside the block.

    Inside the block, `smtplib.SMTP` and `smtplib.SMTP_SSL` are recording subclasses (code that
    imported the classes by name beforehand is not recorded). `names` maps port numbers to labels.
    With `catch=True` an exception raised in the block is kept in `.error`, added to the transcript,
    and printed the way the last line of its traceback would read, instead of propagating.
    """
    recording = Recording(names=dict(names or {}))
    token = _active.set(recording)
    smtplib.SMTP, smtplib.SMTP_SSL = RecordingSMTP, RecordingSMTP_SSL
    try:
        yield recording
    except Exception as error:
        recording.error = error
        if recording.transcripts:
            recording.transcript.error(error)
        if not catch:
            raise
        print(describe_error(error))
    finally:
        smtplib.SMTP, smtplib.SMTP_SSL = _SMTP, _SMTP_SSL
        _active.reset(token)
