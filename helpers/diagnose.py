"""Diagnose a failure: from an exception, a send() result, a transcript or pasted error text to the
failure-catalog entries (helpers.catalog) that explain it, best first.

    diagnose(error)                       # the exception your smtplib code raised
    diagnose(result)                      # a helpers.client.SendResult (or a helpers.transcript.Recording)
    diagnose("EOF", port=465)             # text pasted from Python, Go, nodemailer, curl or swaks
    python -m helpers.diagnose "EOF" --port 465 [--json]

Raw errors become entries in exactly one place, here, in two steps:

1. Symptoms. Every symptom text in the catalog is a pattern; the input's text (exception lines, the
   server's refusals, the recorder's error lines) is searched for each. A longer, more specific match
   wins, and one that contains another's match hides it (`...closed: timed out` hides `...closed`).
2. Context. Some symptoms mean different things in different situations: Go's `EOF` or Python's
   `Connection unexpectedly closed` is a plaintext client on 465 when the port is 465 and no greeting
   came, but a dropped connection after a greeting; `timed out` is a filtered port when the TCP
   connection never came up, a silent server when it did. `_CONTEXT` holds those rules; each match whose
   symptom is ambiguous carries a note saying how (or whether) the context decided.

Input is read defensively: empty text, megabytes of log or binary junk return promptly with no match.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import smtplib
import ssl
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from helpers import display
from helpers.catalog import CATALOG, Entry, Symptom
from helpers.terms import IMPLICIT_TLS_PORTS
from helpers.transcript import ERROR, NOTE, RECEIVED, Transcript, describe_error

MAX_TEXT = 256 * 1024  # characters of a pasted text that are read: its start and its end (where errors go)
MAX_HITS = 200  # occurrences of one pattern looked at, so repetitive input stays linear
_WILDCARD = "…"
_DECISIVE, _LEANING = 200.0, 60.0  # context weights; a symptom's own weight is its length (under ~120)

# smtplib shows a reply as a tuple, "(535, b'5.7.8 ...')"; the server and other clients as "535 5.7.8 ...".
_TUPLE_REPLY = re.compile(r"\((\d{3}), b?['\"]")
_PORT = re.compile(r"(?:\bport\s+|[\w\]]:)(\d{2,5})\b")
_KNOWN_PORTS = {25, 465, 587, 2525}
_AUTH_PAYLOAD = re.compile(
    r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|SCRAM-[\w-]+))\s+\S+"
)
_GREETING_LINE = re.compile(r"^[<~*\-\s]*220[ -]")


@dataclass(frozen=True)
class Match:
    """One catalog entry that explains the failure, how strongly, and from which evidence."""

    entry: Entry
    score: float
    evidence: tuple[str, ...]  # the parts of the input that matched a symptom
    clients: tuple[str, ...] = ()  # whose symptom they are (python, go, node, curl, swaks, server)
    note: str = ""  # set when a symptom is ambiguous: what decided, or what would

    @property
    def id(self) -> str:
        return self.entry.id

    def __str__(self) -> str:
        return f"{self.entry.title} ({self.entry.id}): matched {', '.join(map(repr, self.evidence))}"


def diagnose(x: Any, *, port: int | None = None) -> list[Match]:
    """The catalog entries matching `x` (an exception, a SendResult, a Transcript, a Recording, or text
    as str or bytes), best first; an empty list when nothing matched. `port` is the port the failure
    happened on (the real one it acts as); it is taken from a result or transcript when not given."""
    clues = _clues(x, port)
    if not clues.text:
        return []
    hits = _suppress_contained(_find(clues))
    specific = [hit for hit in hits if not hit.symptom.generic]
    hits = specific or hits
    ambiguous = _ambiguous_texts()
    matches = []
    for entry in CATALOG:
        own = [hit for hit in hits if hit.entry_id == entry.id]
        if not own:
            continue
        score = max(hit.weight for hit in own) + 0.1 * (len({hit.symptom.text for hit in own}) - 1)
        notes = []
        rule = _CONTEXT.get(entry.id)
        if rule is not None:
            adjustment, why = rule(clues)
            score += adjustment
            if why and any(hit.symptom.text.lower() in ambiguous for hit in own):
                notes.append(why)
        if score <= 0:
            continue  # the context rules it out
        if not notes:  # no rule spoke: say what the ambiguous symptom itself means
            notes.extend(h.symptom.note for h in own if h.symptom.text.lower() in ambiguous and h.symptom.note)
        matches.append(Match(
            entry=entry,
            score=round(score, 1),
            evidence=tuple(dict.fromkeys(_redact(hit.found) for hit in own)),
            clients=tuple(dict.fromkeys(hit.symptom.client for hit in own)),
            note="; ".join(dict.fromkeys(notes)),
        ))
    matches.sort(key=lambda match: -match.score)  # stable: ties keep the catalog's order
    if len(matches) > 1 and not matches[0].note and matches[0].score - matches[1].score < _LEANING:
        others = ", ".join(match.id for match in matches[1:4])
        matches[0] = Match(matches[0].entry, matches[0].score, matches[0].evidence, matches[0].clients,
                           f"a close call: {others} also matched")
    return matches


# --------------------------------------------------------------------------------------------------
# What we know about the failure


@dataclass
class _Clues:
    text: str = ""  # lower-cased, normalised text to search
    original: str = ""  # the text as given, from which evidence is quoted
    marks: list[tuple[int, int]] = field(default_factory=list)  # positions in `text` -> in `original`
    port: int | None = None
    connected: bool | None = None  # did the TCP connection come up?
    greeted: bool | None = None  # did the server say anything (a greeting, a reply)?
    tls: bool | None = None  # was TLS in use or being set up?
    phase: str | None = None
    lines: list[str] = field(default_factory=list)


def _clues(x: Any, port: int | None) -> _Clues:
    if isinstance(x, (str, bytes, bytearray)):
        clues = _clues_from_text(x)
    elif isinstance(x, BaseException):
        clues = _Clues(lines=_exception_lines(x), tls=_tls_error(x) or None)
    elif isinstance(x, Transcript):
        clues = _clues_from_transcript(x, None)
    elif hasattr(x, "transcript") and hasattr(x, "error"):  # SendResult or Recording
        clues = _clues_from_transcript(x.transcript, x.error)
        acts_as = getattr(getattr(x, "target", None), "acts_as", None)
        clues.port = acts_as if acts_as is not None else clues.port
    else:
        raise TypeError(f"cannot diagnose a {type(x).__name__}: give an exception, a result, a transcript or text")
    if port is not None:
        clues.port = port
    if clues.lines:
        clues.original = "\n".join(clues.lines)
        normal, clues.marks = _normalise(clues.original)
        clues.text = normal.lower()
        if len(clues.text) != len(normal):  # a rare letter that lower-cases to two: quote the searched text
            clues.original, clues.marks = clues.text, [(0, 0)]
    return clues


def _clues_from_text(raw: str | bytes | bytearray) -> _Clues:
    text = bytes(raw).decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT // 2] + "\n" + text[-MAX_TEXT // 2:]
    if _looks_binary(text):
        return _Clues()
    lines = text.splitlines()
    clues = _Clues(lines=lines)
    clues.port = _port_in(lines)
    if any(_GREETING_LINE.match(line) for line in lines):
        clues.greeted = True
    lowered = text.lower()
    if "connected to" in lowered:  # swaks, curl -v
        clues.connected = True
    if "tls started" in lowered:  # swaks, and our own transcripts
        clues.tls = True
    return clues


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for c in sample if (c < " " and c not in "\t\r\n") or c == "\ufffd")
    return control > len(sample) // 10


def _port_in(lines: list[str]) -> int | None:
    for line in lines[:2000]:
        for found in _PORT.finditer(line):
            if int(found.group(1)) in _KNOWN_PORTS:
                return int(found.group(1))
    return None


def _exception_lines(error: BaseException) -> list[str]:
    """The exception as its traceback's last line says it, plus each server reply inside it in the
    form every other client prints ("535 5.7.8 ..."), plus the exceptions it was raised from."""
    lines: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        lines.append(describe_error(error))
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            replies = list(error.recipients.values())
        elif isinstance(error, smtplib.SMTPResponseException):
            replies = [(error.smtp_code, error.smtp_error)]
        else:
            replies = []
        for code, text in replies:
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            lines.append(f"{code} {text}")
        error = error.__cause__ or error.__context__
    return lines


def _tls_error(error: BaseException | None) -> bool:
    return isinstance(error, ssl.SSLError)


def _clues_from_transcript(transcript: Transcript, error: BaseException | None) -> _Clues:
    clues = _Clues()
    if error is not None:
        clues.lines.extend(_exception_lines(error))
    for line in transcript.lines:
        if line.direction == ERROR or (line.direction == RECEIVED and line.unexpected):
            clues.lines.append(line.text)
    clues.connected = any(line.direction == NOTE and line.text.startswith("Connected") for line in transcript.lines)
    clues.greeted = any(line.direction == RECEIVED for line in transcript.lines)
    clues.tls = transcript.tls or transcript.phase == "tls" or _tls_error(error)
    clues.phase = transcript.phase
    label = re.search(r"\(port (\d+)\)", transcript.peer or "")
    if label:
        clues.port = int(label.group(1))
    return clues


def _normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Replies written the way every client but smtplib writes them, and for each replacement where
    the two texts line up again (normalised position, original position)."""
    pieces, marks, last, length = [], [(0, 0)], 0, 0
    for found in _TUPLE_REPLY.finditer(text):
        pieces += [text[last:found.start()], found.group(1) + " "]
        length += found.start() - last + len(found.group(1)) + 1
        marks.append((length, found.end()))
        last = found.end()
    pieces.append(text[last:])
    return "".join(pieces), marks


def _quote(clues: _Clues, start: int, end: int) -> str:
    """The original text behind a stretch of the normalised one."""

    def original(position: int) -> int:
        normal, source = next(mark for mark in reversed(clues.marks) if mark[0] <= position)
        return source + position - normal

    return clues.original[original(start):original(end)].strip()


def _redact(text: str) -> str:
    """Evidence is a piece of the input; should that piece hold an AUTH payload, it is not repeated."""
    return _AUTH_PAYLOAD.sub(r"\1 ********", text)


# --------------------------------------------------------------------------------------------------
# Step 1: symptoms found in the text


@dataclass(frozen=True)
class _Pattern:
    entry_id: str
    symptom: Symptom
    fragments: tuple[str, ...]

    @property
    def weight(self) -> int:
        return sum(len(fragment) for fragment in self.fragments)


@dataclass(frozen=True)
class _Hit:
    entry_id: str
    symptom: Symptom
    start: int
    end: int
    found: str
    weight: int


@functools.cache
def _patterns() -> tuple[_Pattern, ...]:
    patterns = []
    for entry in CATALOG:
        for symptom in entry.symptoms:
            normal = _normalise(symptom.text)[0].lower()
            fragments = tuple(f.strip() for f in normal.split(_WILDCARD) if f.strip())
            patterns.append(_Pattern(entry.id, symptom, fragments))
    return tuple(patterns)


@functools.cache
def _ambiguous_texts() -> frozenset[str]:
    """Symptom texts that more than one entry lists."""
    owners: dict[str, set[str]] = {}
    for pattern in _patterns():
        owners.setdefault(pattern.symptom.text.lower(), set()).add(pattern.entry_id)
    return frozenset(text for text, ids in owners.items() if len(ids) > 1)


def _find(clues: _Clues) -> list[_Hit]:
    hits = []
    for pattern in _patterns():
        span = _search(clues.text, pattern)
        if span is not None:
            start, end = span
            hits.append(_Hit(pattern.entry_id, pattern.symptom, start, end, _quote(clues, start, end), pattern.weight))
    return hits


def _search(text: str, pattern: _Pattern) -> tuple[int, int] | None:
    """Where the pattern's fragments occur in order on one line; plain str.find, so the time grows
    with the text's length and nothing else."""
    first, rest = pattern.fragments[0], pattern.fragments[1:]
    position = 0
    for _ in range(MAX_HITS):
        start = text.find(first, position)
        if start < 0:
            return None
        position = start + 1
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        end = start + len(first)
        for fragment in rest:
            found = text.find(fragment, end, line_end)
            if found < 0:
                break
            end = found + len(fragment)
        else:
            if pattern.symptom.whole_line and not _is_whole(text, line_start, start, end, line_end):
                continue
            return start, end
    return None


def _is_whole(text: str, line_start: int, start: int, end: int, line_end: int) -> bool:
    """A whole-line symptom may be prefixed by `something: ` (Go wraps errors so) but nothing may follow."""
    before = text[line_start:start].rstrip()
    after = text[end:line_end].strip().rstrip(".")
    return not after and (not before or before.endswith(":"))


def _suppress_contained(hits: list[_Hit]) -> list[_Hit]:
    """A match inside a longer match of another entry is part of that longer symptom, not a symptom."""
    return [
        hit for hit in hits
        if not any(other.entry_id != hit.entry_id and other.start <= hit.start and hit.end <= other.end
                   and other.end - other.start > hit.end - hit.start for other in hits)
    ]


# --------------------------------------------------------------------------------------------------
# Step 2: context decides between the meanings of an ambiguous symptom


def _plaintext_to_implicit_tls(c: _Clues) -> tuple[float, str]:
    if c.greeted:
        return -_DECISIVE, "ruled out: the server sent a greeting, so the client and server did talk"
    if c.tls:
        return -_DECISIVE, "ruled out: the client was already speaking TLS"
    if c.port in IMPLICIT_TLS_PORTS:
        return _DECISIVE, f"decided by the port: {c.port} speaks TLS from the first byte, and no greeting came"
    if c.port is not None:
        return -_LEANING, f"port {c.port} is not an implicit-TLS port; it would be if this server were TLS-only"
    return 0.0, "no port given: on port 465 this is a plaintext client; elsewhere the server closed the connection"


def _greeting_timeout(c: _Clues) -> tuple[float, str]:
    if c.greeted:
        return -_LEANING, "a greeting had come, so the server went quiet later"
    if c.port in IMPLICIT_TLS_PORTS and not c.tls:
        return -_LEANING, f"on port {c.port} a plaintext client gets no greeting: see plaintext-to-implicit-tls"
    if c.connected:
        return _LEANING, "decided by the transcript: connected, then no greeting"
    return 0.0, ""


def _egress_port_blocked(c: _Clues) -> tuple[float, str]:
    if c.connected:
        return -_DECISIVE, "ruled out: the TCP connection was made"
    if c.phase == "connect":
        return _LEANING, "decided by the transcript: the TCP connection never came up"
    return 0.0, ""


def _idle_drop(c: _Clues) -> tuple[float, str]:
    if c.greeted:
        return _LEANING, "decided by the transcript: the server hung up after the conversation had begun"
    if c.port in IMPLICIT_TLS_PORTS and not c.tls:
        return -_LEANING, "on port 465 with no greeting this is more likely a plaintext client"
    return 0.0, ""


def _tls_handshake_aborted(c: _Clues) -> tuple[float, str]:
    if c.tls or c.phase == "tls":
        return _LEANING, "decided by the transcript: the TLS handshake had begun"
    if c.greeted:
        return -_DECISIVE, "ruled out: the server sent a greeting"
    # Unknown: a plain dropped connection is the likelier reading, by a hair.
    return -1.0, "if the client had started TLS (Go's tls.Dial), the server dropped the handshake"


def _non_ascii_address(c: _Clues) -> tuple[float, str]:
    if c.phase in ("mail", "rcpt"):
        return _LEANING, "decided by the transcript: it failed while naming the sender or a recipient"
    return 0.0, "sendmail() raises this for a non-ASCII address too, while sending MAIL or RCPT"


def _non_ascii_body(c: _Clues) -> tuple[float, str]:
    if c.phase in ("mail", "rcpt"):
        return -_LEANING, "it failed while naming the sender or a recipient, not on the message"
    if c.phase is not None:
        return _LEANING, "decided by the transcript: it failed before MAIL, while encoding the message"
    return 0.0, ""


def _tls_before_auth(c: _Clues) -> tuple[float, str]:
    if c.tls is False:
        return _LEANING, "decided by the transcript: the connection was not encrypted"
    if c.tls:
        return -_LEANING, "the connection was already encrypted"
    return 0.0, "curl shows only the code: without TLS this is STARTTLS-first; with TLS, a missing login"


def _login_missing(c: _Clues) -> tuple[float, str]:
    if c.tls:
        return _LEANING, "decided by the transcript: encrypted, but no login"
    if c.tls is False:
        return -_LEANING / 2, "the connection was not encrypted yet"
    return 0.0, ""


def _not_smtp(c: _Clues) -> tuple[float, str]:
    if "http/1." in c.text:
        return _DECISIVE, "decided by the reply: the server answered in HTTP"
    return 0.0, ""


_CONTEXT: dict[str, Callable[[_Clues], tuple[float, str]]] = {
    "plaintext-to-implicit-tls": _plaintext_to_implicit_tls,
    "greeting-timeout": _greeting_timeout,
    "egress-port-blocked": _egress_port_blocked,
    "timeouts-and-idle-drops": _idle_drop,
    "tls-handshake-aborted": _tls_handshake_aborted,
    "non-ascii-address": _non_ascii_address,
    "non-ascii-body-as-str": _non_ascii_body,
    "starttls-required-first": _tls_before_auth,
    "unauthenticated-submission": _login_missing,
    "auth-not-advertised": _login_missing,
    "not-smtp": _not_smtp,
}


# --------------------------------------------------------------------------------------------------
# Rendering and the command line


NO_MATCH = "No catalog entry matches this error text."
NEXT_STEP = (
    "Paste the whole message, with the server's three-digit reply code if it has one; or record the "
    "conversation (record() around your smtplib code, or smtp.set_debuglevel(1)) and explain that; the "
    "decision tree in notebook 06 tells by where it stopped."
)
# Whose words a symptom is, as a sentence names them; a name not listed is shown as it is.
_WHO = {
    "python": "Python", "go": "Go", "node": "Node", "java": "Java", "dotnet": ".NET", "php": "PHP", "ruby": "Ruby",
    "rust": "Rust", "server": "the server", "lab": "the lab", "postfix": "Postfix", "exim": "Exim",
    "exchange": "Exchange", "gmail": "Gmail", "microsoft365": "Microsoft 365", "yahoo": "Yahoo",
    "sendgrid": "SendGrid", "amazon-ses": "Amazon SES", "zoho": "Zoho", "system": "the operating system",
}


def render(matches: Iterable[Match], *, limit: int = 3) -> str:
    """Plain text for people: for each of the best matches, what happened, why, the fix and the RFCs."""
    matches = list(matches)
    if not matches:
        return NO_MATCH + "\n" + textwrap.fill(NEXT_STEP, width=110)
    best = matches[0].score
    shown = [m for m in matches if m.score >= best / 2][:limit]
    blocks = []
    for number, match in enumerate(shown, 1):
        entry = match.entry
        lines = [f"{number}. {entry.title} [{entry.id}]", *_wrapped(_recognised(match))]
        if match.note:
            lines.extend(_wrapped("Note: " + match.note))
        lines.extend(_wrapped("What happened: " + entry.what_happened))
        lines.extend(_wrapped("Why: " + entry.why))
        lines.extend(_wrapped("Fix: " + entry.fix))
        lines.append("   Fix in Python:")
        lines.append(textwrap.indent(entry.fix_python.rstrip(), "       "))
        lines.append("   Fix in Go:")
        lines.append(textwrap.indent(entry.fix_go.rstrip(), "       "))
        if entry.rfcs:
            lines.append("   RFCs:")
            lines.extend(f"     - {rfc}" for rfc in entry.rfcs)
        blocks.append("\n".join(lines))
    others = [m for m in matches if m not in shown]
    if others:
        blocks.append("Less likely: " + ", ".join(f"{m.entry.title} [{m.id}]" for m in others))
    return "\n\n".join(blocks)


def _recognised(match: Match, quote: Callable[[str], str] = '"{}"'.format) -> str:
    """Which text gave the failure away, as a sentence: 'Recognised by "EOF", in Go's words.' (or
    nothing, when no text did)."""
    if not match.evidence:
        return ""
    quoted = _and([quote(evidence) for evidence in match.evidence])
    if not match.clients:
        return f"Recognised by {quoted}."
    who = _and([_WHO.get(client, client) for client in match.clients])
    words = f"{who}'s words" if len(match.clients) == 1 else f"the words of {who}"
    return f"Recognised by {quoted}, in {words}."


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class Diagnosis:
    """The matches for one failure, ready to show: text for a terminal (`repr`), a card in a notebook.
    The card reads right in a notebook nobody has run or trusted (helpers.display says how)."""

    matches: tuple[Match, ...]
    brief: bool = False  # the cause and the fix in words, without code and references: for a second time

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def text(self, limit: int = 1) -> str:
        best = self.best
        if self.brief and best:
            e = best.entry
            return "\n".join([f"Diagnosis: {e.title} [{e.id}]", *_wrapped(_recognised(best)),
                              *(_wrapped("Note: " + best.note) if best.note else []),
                              *_wrapped(e.what_happened), *_wrapped("Fix: " + e.fix)])
        return render(self.matches, limit=limit)

    def html(self) -> str:
        best = self.best
        if best is None:
            return _card(display.RED_LINE, display.notice(f"<b>{NO_MATCH}</b>", colour=display.RED)
                         + display.notice(display.escape(NEXT_STEP)))
        e = best.entry
        parts = [
            display.notice(f"<b>Diagnosis: {display.prose(e.title)}</b> <code>{e.id}</code>"),
            display.notice(f"<i>{display.prose(best.note)}</i>") if best.note else "",
            display.notice(display.prose(e.what_happened)),
            "" if self.brief else display.notice(f"<b>Why:</b> {display.prose(e.why)}"),
            display.notice(f"<b>Fix:</b> {display.prose(e.fix)}"),
        ]
        if not self.brief:
            parts += ["<b>In Python</b>", display.code_block(e.fix_python),
                      "<b>In Go</b>", display.code_block(e.fix_go)]
            if e.rfcs:
                items = "".join(f"<li>{display.escape(str(rfc))}</li>" for rfc in e.rfcs)
                parts.append(f'<b>RFCs</b><ul style="margin:2px 0 6px;padding-left:22px">{items}</ul>')
        # Only the evidence comes from the input; the rest of the sentence is the catalog's own words.
        footer = _recognised(best, lambda evidence: f"<code>{display.escape(evidence)}</code>")
        if len(self.matches) > 1:
            footer += " Less likely: " + ", ".join(f"{display.prose(m.entry.title)} (<code>{m.id}</code>)"
                                                   for m in self.matches[1:]) + "."
        if footer:
            parts.append(display.notice(footer.strip(), quiet=True))
        return _card(display.BLUE, "".join(parts))

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


def explain(x: Any, *, port: int | None = None, brief: bool = False) -> Diagnosis:
    """diagnose(x), ready to show: in a notebook a card with the cause and the fix in Python and Go
    (with `brief=True`, only the cause and the fix in words: for a failure whose card was shown before)."""
    return Diagnosis(tuple(diagnose(x, port=port)), brief=brief)


def _card(edge: str, inner: str) -> str:
    # The line height is set because a widget's HTML otherwise spaces lines 28 px apart.
    return f'<div class="smtp-diagnosis" style="border-left:4px solid {edge};padding:2px 12px;margin:6px 0;' \
           f'max-width:900px;line-height:1.45">{inner}</div>'


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, width=110, initial_indent="   ", subsequent_indent="     ")


def to_json(matches: Iterable[Match]) -> list[dict]:
    return [
        {"id": m.id, "title": m.entry.title, "score": m.score, "evidence": list(m.evidence),
         "clients": list(m.clients), "note": m.note}
        for m in matches
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.diagnose",
        description="Explain an SMTP error message from Python, Go, nodemailer, curl or swaks.",
        epilog="Exit status: 0 when an entry matched, 1 when none did, 2 on bad usage.",
    )
    parser.add_argument("text", help='the error text (quote it), or "-" to read it from standard input')
    parser.add_argument("--port", type=int, help="the port the error happened on (465, 587, 25, ...)")
    parser.add_argument("--json", action="store_true", help="print the matching ids and evidence as JSON")
    options = parser.parse_args(argv)
    if options.port is not None and not 0 < options.port < 65536:
        parser.error(f"--port {options.port} is not a port number (1-65535)")
    text = sys.stdin.read() if options.text == "-" else options.text
    matches = diagnose(text, port=options.port)
    if options.json:
        print(json.dumps({"port": options.port, "matches": to_json(matches)}, indent=2))
    else:
        print(render(matches))
    return 0 if matches else 1


if __name__ == "__main__":
    sys.exit(main())
