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
a refusal, `===` the recorder's own note, `***` an error. Message data is summarised: the From, To, Cc
and Subject headers, then a count of the other lines.

Credentials never reach a transcript: AUTH payloads are replaced by asterisks before they are stored,
however the client ended its lines (CRLF, a bare LF or CR) or split them over writes, and whatever
separates the words; a server that quotes them back has them replaced in its replies and in errors too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import json
import re
import smtplib
import ssl
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import AnyStr

from helpers.terms import Phase

SENT, RECEIVED, NOTE, ERROR = "sent", "received", "note", "error"
REDACTED = "********"
SHOWN_HEADERS = ("from", "to", "cc", "subject")
MIN_DECODED_SECRET = 4  # characters; a shorter password is not looked for in replies, or every "a" would go

# Which phase of the conversation a command starts (what a failure "at MAIL" means).
# RSET, NOOP and QUIT are housekeeping (smtplib sends RSET after a refusal) and leave the phase alone.
_PHASES = {"EHLO": Phase.EHLO, "HELO": Phase.EHLO, "STARTTLS": Phase.STARTTLS, "AUTH": Phase.AUTH,
           "MAIL": Phase.MAIL, "RCPT": Phase.RCPT, "DATA": Phase.DATA}
_LINE_END = re.compile(rb"\r\n|\r|\n")  # smtplib ends lines with CRLF; raw writes may end them with either alone
_AUTH = re.compile(r"(\s*AUTH\s+(\S+))(?:\s+(\S.*))?", re.IGNORECASE)  # AUTH, mechanism, initial response
_END_OF_DATA = b"\r\n.\r\n"


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
    phase: Phase = Phase.CONNECT  # where the conversation is, or where it stopped
    _auth: list[str] | None = field(default=None, repr=False)  # inside AUTH: its mechanism, then each token
    _in_data: bool = field(default=False, repr=False)
    _unsent: bytes = field(default=b"", repr=False)  # written, but not yet a whole line (or a whole message)
    _secrets: list[str] = field(default_factory=list, repr=False)  # what was redacted, to hide in replies

    # -- recording --
    def note(self, text: str) -> None:
        self._flush()
        self.lines.append(Line(NOTE, text, self.tls))

    def error(self, error: BaseException | str) -> None:
        self._flush()
        text = error if isinstance(error, str) else describe_error(error)
        self.lines.append(Line(ERROR, self.scrubbed(text), self.tls, unexpected=True))

    def tls_started(self, sock: ssl.SSLSocket) -> None:
        self.tls_version = sock.version()
        self.cipher = (sock.cipher() or ("?",))[0]
        self.note(f"TLS started: {self.tls_version}, {self.cipher}")

    @property
    def tls(self) -> bool:
        return self.tls_version is not None

    def sent(self, data: bytes) -> None:
        """Bytes the client wrote. They are stored line by line, once each line is whole."""
        self._unsent += data
        if self._in_data:
            if self._unsent.endswith(_END_OF_DATA) or self._unsent == _END_OF_DATA[2:]:
                self._flush()
            return
        *lines, self._unsent = _LINE_END.split(self._unsent)
        for raw in lines:
            self._add_sent(raw)

    def received(self, raw_line: bytes) -> None:
        self._flush()  # the server answers what it was sent, whole or not
        text = self.scrubbed(raw_line.rstrip(b"\r\n").decode("utf-8", "replace"))
        code = text[:3]
        if self._auth is not None and code != "334":
            self._auth = None
        if code == "354":
            self._in_data = True
        unexpected = code[:1] in ("4", "5") or not code.isdigit()
        self.lines.append(Line(RECEIVED, text, self.tls, unexpected))

    def scrubbed(self, text: AnyStr) -> AnyStr:
        """`text` with every credential this conversation redacted, or the password one of them
        encodes, replaced by asterisks: for servers that quote them back, in any case (aiosmtpd
        upper-cases the command it does not recognise)."""
        if not self._secrets:
            return text
        secrets = sorted(self._secrets, key=len, reverse=True)
        if isinstance(text, bytes):
            pattern = b"|".join(re.escape(s.encode("utf-8", "surrogateescape")) for s in secrets)
            return re.sub(pattern, REDACTED.encode(), text, flags=re.IGNORECASE)
        return re.sub("|".join(map(re.escape, secrets)), REDACTED, text, flags=re.IGNORECASE)

    def _flush(self) -> None:
        unsent, self._unsent = self._unsent, b""
        if self._in_data and unsent:
            self._in_data = False
            self.phase = Phase.END_OF_DATA
            self.lines += [Line(SENT, text, self.tls) for text in _summarise_message(unsent)]
        elif unsent:
            for raw in _LINE_END.split(unsent):
                if raw:
                    self._add_sent(raw)

    def _add_sent(self, raw: bytes) -> None:
        """A whole line the client sent; an empty one too (XOAUTH2's answer to an error challenge)."""
        self.lines.append(Line(SENT, self._redact(raw.decode("utf-8", "replace")), self.tls))

    def _redact(self, line: str) -> str:
        if self._auth is not None and line.strip():  # a response to a 334 challenge: a user name, a password
            self._hide(line.strip())
            return REDACTED
        if self._auth is not None:
            return line  # an empty response hides nothing
        verb = line.split(None, 1)[0].upper() if line.strip() else ""
        self.phase = _PHASES.get(verb, self.phase)
        if verb != "AUTH":
            return line
        auth = _AUTH.fullmatch(line)
        self._auth = [auth[2].upper() if auth else ""]
        if auth is None or auth[3] is None:
            return line
        self._hide(auth[3].strip())
        return f"{auth[1]} {REDACTED}"

    def _hide(self, token: str) -> None:
        """Keep a redacted AUTH token, and the password it encodes where the mechanism says where that is."""
        mechanism, *earlier = self._auth
        self._auth.append(token)
        secrets = [token]
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if mechanism == "PLAIN":  # authzid NUL authcid NUL password (RFC 4616 section 2)
            secrets.append(decoded.rpartition("\0")[2])
        elif mechanism == "LOGIN" and earlier:  # the user name first, then the password
            secrets.append(decoded)
        self._secrets += [s for s in secrets if len(s) >= MIN_DECODED_SECRET and s not in self._secrets]

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
        return "\n".join(f"{line.mark} {line.text}".rstrip() for line in self.lines)

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
    """An exception as the last line of its traceback says it: 'smtplib.SMTPServerDisconnected: ...'.

    Except smtplib's UnicodeEncodeError for a user name or password outside ASCII, whose text names the
    character and its position in the AUTH string: that one is said in words, without them."""
    if isinstance(error, UnicodeEncodeError) and _raised_in_smtplib_auth(error):
        return f"UnicodeEncodeError: {NON_ASCII_LOGIN}"
    return traceback.format_exception_only(type(error), error)[-1].strip()


NON_ASCII_LOGIN = ("smtplib sends user names and passwords in ASCII only (python/cpython#73936), and this login "
                   "has a character outside ASCII")


def _raised_in_smtplib_auth(error: BaseException) -> bool:
    # smtplib encodes AUTH responses in auth() and the CRAM-MD5 key in auth_cram_md5(); both are auth*.
    return any(frame.f_code.co_filename == smtplib.__file__ and frame.f_code.co_name.startswith("auth")
               for frame, _ in traceback.walk_tb(error.__traceback__))


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
    """The file smtplib reads replies from, wrapped: each line read is recorded."""

    def __init__(self, inner, transcript: Transcript) -> None:
        self.inner, self.transcript = inner, transcript

    def readline(self, size: int = -1) -> bytes:
        __tracebackhide__ = True  # IPython and pytest leave the kit's frames out of a reader's traceback
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
        __tracebackhide__ = True
        if hasattr(self, "transcript"):
            # SMTP_SSL.__init__ calls smtplib.SMTP.__init__ by its module-level name, which record()
            # points at RecordingSMTP: hand that inner call to the real smtplib.SMTP.__init__.
            _SMTP.__init__(self, *args, **kwargs)
            return
        recordings = _active.get()
        self.transcript = transcript or Transcript()
        self._names = names if names is not None else {p: n for r in recordings for p, n in r.names.items()}
        for recording in recordings:  # an outer record() block collects what an inner one does, too
            recording.transcripts.append(self.transcript)
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        __tracebackhide__ = True
        label = self._names.get(port) or f"{host}:{port}"
        self.transcript.peer = self.transcript.peer or label
        self.transcript.note(f"Trying {label}...")
        try:
            sock = super()._get_socket(host, port, timeout)
        except OSError as error:
            # SMTP_SSL connects and shakes hands in one call: tell which of the two failed.
            if isinstance(error, ssl.SSLError | ConnectionResetError) or "handshake" in str(error):
                self.transcript.phase = Phase.TLS
            raise
        self.transcript.note(f"Connected to {label}")
        if isinstance(sock, ssl.SSLSocket):
            self.transcript.tls_started(sock)
        self.transcript.phase = Phase.GREETING
        return sock

    def send(self, s) -> None:
        __tracebackhide__ = True
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        super().send(s)
        self.transcript.sent(data)

    def getreply(self):
        __tracebackhide__ = True
        # smtplib opens the file it reads replies from lazily, and again after STARTTLS; a subclass may
        # have opened its own. Tap whichever it will read.
        if self.sock is not None and not isinstance(self.file, _Tap):
            self.file = _Tap(self.file or self.sock.makefile("rb"), self.transcript)
        return super().getreply()

    def starttls(self, *args, **kwargs):
        __tracebackhide__ = True
        self.transcript.phase = Phase.STARTTLS  # smtplib may refuse before sending anything
        try:
            reply = super().starttls(*args, **kwargs)
        except (ssl.SSLError, ConnectionError, TimeoutError):  # the handshake failed, not the command
            self.transcript.phase = Phase.TLS
            raise
        self.transcript.tls_started(self.sock)
        return reply

    def login(self, *args, **kwargs):
        __tracebackhide__ = True
        self.transcript.phase = Phase.AUTH
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


_active: contextvars.ContextVar[tuple[Recording, ...]] = contextvars.ContextVar("recordings", default=())


class _Patch:
    """smtplib.SMTP and SMTP_SSL pointed at the recording classes while any record() block is open, in any
    thread, and given back as they were found when the last one closes (so a nested block does not
    end the one around it, and whatever had replaced them before is kept)."""

    def __init__(self) -> None:
        self.lock, self.open_blocks, self.found = threading.Lock(), 0, (_SMTP, _SMTP_SSL)

    def __enter__(self) -> None:
        with self.lock:
            if self.open_blocks == 0:
                self.found = smtplib.SMTP, smtplib.SMTP_SSL
                smtplib.SMTP, smtplib.SMTP_SSL = RecordingSMTP, RecordingSMTP_SSL
            self.open_blocks += 1

    def __exit__(self, *exc_info) -> None:
        with self.lock:
            self.open_blocks -= 1
            if self.open_blocks == 0:
                smtplib.SMTP, smtplib.SMTP_SSL = self.found


_patch = _Patch()


@contextlib.contextmanager
def record(names: Mapping[int, str] | None = None, *, catch: bool = False) -> Iterator[Recording]:
    """Record every smtplib.SMTP / smtplib.SMTP_SSL connection opened inside the block.

    Inside the block, `smtplib.SMTP` and `smtplib.SMTP_SSL` are recording subclasses (code that
    imported the classes by name beforehand is not recorded). `names` maps port numbers to labels.
    Blocks nest: an outer block also collects the connections of an inner one.
    An exception raised in the block is added to the transcript and propagates; with `catch=True`
    it is kept in `.error` and printed the way the last line of its traceback would read instead.
    """
    recording = Recording(names=dict(names or {}))
    token = _active.set((*_active.get(), recording))
    try:
        with _patch:
            yield recording
    except Exception as error:
        recording.error = error
        if recording.transcripts:
            recording.transcript.error(error)
        if not catch:
            raise
        print(recording.transcript.scrubbed(describe_error(error)))
    finally:
        _active.reset(token)
