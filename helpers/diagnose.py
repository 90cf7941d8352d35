"""Diagnose a failure: from an exception, a send() result, a transcript or pasted error text, in any
client's words, to the failure-catalog entries (helpers.catalog) that explain it, best first.

    diagnose(error)                       # the exception your smtplib code raised
    diagnose(result)                      # a helpers.client.SendResult (or a helpers.transcript.Recording)
    diagnose("EOF", port=465)             # text pasted from Python, Go, Java, .NET, PHP, Ruby, Node, curl...
    python -m helpers.diagnose "EOF" --port 465 [--json]

Raw errors become entries in exactly one place, here, by weighing five layers of evidence:

1. Symptoms: what each client prints and each server replies, as the catalog quotes them. A longer,
   more specific match weighs more, and one that contains another's match hides it.
2. Words that name a cause however it is phrased (each entry's `words`): more than a general reply code,
   less than a quoted symptom; and, a little less, families of words that name it together within one
   clause (each entry's `clauses`: a relaying word and a refusing word, in any order). Neither counts
   inside a list of possible reasons that a library prints whatever happened (MailKit's "one or more of
   the following reasons").
3. The reply: every SMTP reply code and enhanced status code in the text, however it is wrapped
   (`535 5.7.8`, `535-5.7.8`, `535: 5.7.3`, `(535, b'5.7.8 ...')`, `The server response was: 5.7.0`),
   against the replies each entry declares; an exact pair weighs most, a code too general to name a
   cause (X.7.1, X.Y.0, a bare 550) least. The stage it answered (MAIL, RCPT, AUTH...) confirms it, or
   rules it out: 454 4.7.0 refuses STARTTLS at STARTTLS and a login at AUTH.
4. The socket and the resolver: refused, timed out, reset, closed, unreachable, not found, in every
   platform's spelling (helpers.reading), against the failures each entry can be.
5. What a quoted conversation shows (`_FACTS`): a server that answered in another protocol (or a port
   where another protocol listens: IMAP's, POP3's, the web's), an EHLO reply without the STARTTLS or AUTH
   the failing step needed (the last EHLO reply: after STARTTLS, the one the client asked for again), a
   login exchange out of step (more 334 challenges than the mechanism has steps), a login refused where the
   conversation shows no AUTH at all, a refusal in words of relaying that answered MAIL FROM.

A particular cause named in its own words outranks the broad one it is a case of (an entry's `within`),
however much of the broad one's wording wraps it: `535 5.7.8 Error: authentication failed: mechanism not
supported` is the mechanism, GnuTLS's `NOT trusted ... uses expired certificate` the expiry.

Context then decides between the meanings of evidence that has several (`_CONTEXT`): the port and what
the conversation had reached (a greeting, TLS). Go's `EOF` is a plaintext client on 465, or a dropped
connection after a greeting. A server's own log (Postfix's smtpd, Exim's mainlog) is read from the
server's side: its TLS errors are its own handshake's, and what it quotes as received is what the client
sent. The port ranks every candidate.

When no entry is supported well enough, the first match is an honest reading instead (`id == "none"`,
from `helpers.reading`): what the text does tell (stage, reply class, temporary or permanent, the
server's own words) and the next step (capture the conversation; run the doctor).

Input is read defensively: empty text and binary junk return no match; megabytes of log are read at
their start and end, in time linear in their length.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import re
import smtplib
import ssl
import sys
import textwrap
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from helpers import display
from helpers.catalog import (
    CATALOG,
    CERTIFICATE,
    ENTRIES,
    NOT_TRUSTED,
    Entry,
    Group,
    Network,
    Reply,
    Rfc,
    Symptom,
    clause,
)
from helpers.reading import NO_LOCAL_ADDRESS, Reading, ReplySeen, enhanced_meaning, is_generic, read, reply_meaning
from helpers.terms import IMPLICIT_TLS_PORTS, SUBMISSION_PORTS, Phase
from helpers.transcript import ERROR, NON_ASCII_LOGIN, NOTE, RECEIVED, SENT, Transcript, describe_error

MAX_TEXT = 256 * 1024  # characters of a pasted text that are read: its start and its end (where errors go)
MAX_HITS = 200  # occurrences of one pattern looked at, so repetitive input stays linear
UNMATCHED = "none"  # the id of the reading given when no catalog entry fits
_WILDCARD = "…"
_DECISIVE, _LEANING = 200.0, 60.0  # context weights; a symptom's own weight is its length (under ~120)
_NAMED = 30.0  # the least score that names an entry; below it the reading comes first
_CLOSE = 15.0  # a best match ahead by less is a close call, and says so
_PORT_FIT = 10.0  # for an entry about the port the failure happened on (against, for one that is not)
_SYMPTOM = 40.0  # a client's or server's own words are direct evidence: this, plus their length
_GENERIC_SYMPTOM = 30.0  # words that several failures share (curl's "Login denied"): less, but still words
_REPLY_EXACT, _REPLY_ENHANCED, _REPLY_CODE = 50.0, 45.0, 35.0
_REPLY_GENERIC = 25.0  # any match on a code too general to name a cause by itself
_REPLY_BARE = 15.0  # a general code with no enhanced code at all (a bare 550, 554)
_UNSEEN_DETAIL = 5.0  # less, for a reply code alone against an entry's reply with an enhanced code
_REPLY_SAME_SUBJECT = 20.0  # the reply code matches and the enhanced code is of the same subject
_STAGE_AGREES, _STAGE_UNKNOWN = 15.0, -20.0  # a reply declared for one command means nothing at another
_WORDS, _WORDS_SHORT, _WORDS_LONG = 40.0, 12, 30  # words that name a cause: this, plus their length within bounds
_CLAUSE = 51.0  # families of words that name a cause together: more than a reply code, less than any phrase
_NETWORK, _NETWORK_STEP = 60.0, 10.0  # an entry's first network failure, and less for each later one
_FACT = 100.0  # what a quoted conversation shows (an EHLO reply without STARTTLS): stronger than words
_GENERIC_CODES = frozenset({500, 550, 554})  # used by servers for almost any refusal
# Alone, these match only a declared reply that is a bare code too (421: any reason to close the channel, RFC 5321
# section 3.8).
_VAGUE_CODES = _GENERIC_CODES | {421, 451}
_AFTER_GREETING = frozenset({Phase.EHLO, Phase.STARTTLS, Phase.AUTH, Phase.MAIL, Phase.RCPT, Phase.DATA,
                             Phase.END_OF_DATA})

# A port: "port 465", "port=465", JSON's "port":465, Jakarta Mail's "port: smtp.example.com, 587", after a
# host ("smtp.example.com:465", "[::1]:25"), or smtplib's second argument in a traceback's code line
# ('smtplib.SMTP("smtp.example.com", 465, ...)', 'SMTP_SSL(host, 465)'); never the minutes of a time ("10:25:30"),
# nor the line number after a source file's name in a stack trace ("smtp.rb:110:in", "Transport.java:587)"): by
# the extensions that are no country's domain (.pl, .py, .rs and .cc are: smtp.wp.pl:465 is a port).
_SOURCE_FILE = (r"(?<!\.[ch])(?<!\.(?:rb|go|js|ts|cs|ex|kt))(?<!\.(?:php|exs|erl|cpp|mjs|cjs|hpp))"
                r"(?<!\.java)(?<!\.scala)")
_PORT = re.compile(
    rf"(?:\bport[\"']?[\s:=]+(?:[\w.-]+,\s*)?|(?<!\d\d:)(?<!\d:)[\w\]]{_SOURCE_FILE}(?<!\d:\d\d)(?<!\d:\d):|"
    r"\bsmtp(?:_ssl)?\(\s*[^,()\n]{1,200},\s*)(\d{2,5})\b(?![:.]\d)", re.IGNORECASE
)
# Text that was escaped to be carried inside another format: a JSON string (\n, \", \u003c), a quoted
# repr. Read as it was before.
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|([nrt\"'/\\]))")
_ESCAPED = {"n": "\n", "r": "", "t": " ", '"': '"', "'": "'", "/": "/", "\\": "\\"}
# A bytes repr of UTF-8 text, as smtplib's exceptions show a reply in Chinese or Russian (b'\xe8\xaf\xb7...'): a run
# of escaped bytes, read as the letters they encode when they are UTF-8 (a TLS record quoted in hex is not).
_BYTE_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")
_KNOWN_PORTS = {25, 465, 587, 2525}
# Ports of other services that readers dial by mistake (the provider's mailbox ports, its web site), and who listens
# there: POP3 (RFC 1939; 995 with TLS, RFC 8314), IMAP (RFC 9051; 993 with TLS), HTTP and HTTPS.
_OTHER_SERVICES = {110: "POP3", 995: "POP3 over TLS", 143: "IMAP", 993: "IMAP over TLS", 80: "HTTP", 443: "HTTPS"}
# Postfix logs each master.cf service under its name: smtps and submissions are 465, submission is 587.
_SERVICE = re.compile(r"postfix[\w.-]*/(smtps|submissions|submission)/", re.IGNORECASE)
_SERVICE_PORTS = {"smtps": 465, "submissions": 465, "submission": 587}
# A bounce's fields are folded over lines that start with a space (RFC 5322 section 2.2.3), and Postfix wraps
# the reasons it quotes the same way ("... (in reply to RCPT TO\n    command)"): such a line continues the one
# before it.
_FOLDS = re.compile(
    r"^\s*(?:diagnostic-code|status|remote-mta|action|final-recipient|original-recipient|reporting-mta|"
    r"x-postfix-[\w-]+|last-attempt-date)\s*:|\bsaid: |^\s*<[^<>\s]+>: ",
    re.IGNORECASE,
)
_AUTH_PAYLOAD = re.compile(
    r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|NTLM|SCRAM-[\w-]+))\s+\S+"
)
_GREETING_LINE = re.compile(r"^[<~*\-\s]*220[ -]")
# A word+joined+with+plus+signs, tried once per run of non-space (from its start), so that a long run costs
# its length and not its square.
_PLUS_JOINED = re.compile(r"(?<![^\s+])[^\s+]+(?:\+[^\s+]+){3,}")
_TUPLE_REPLY = re.compile(r"\((\d{3}), b?['\"]")  # smtplib: "(535, b'5.7.8 ...')"; others "535 5.7.8 ..."
# A list of what a failure might be, as a library prints it whatever happened (MailKit's "for one or more of the
# following reasons:" and its numbered lines).
_POSSIBILITIES = re.compile(r"(?:one or more of|one of|any of)\s+the following(?: reasons| causes)?:?[ \t]*\n"
                            r"(?:[ \t]*\n)?(?:[ \t]*(?:\d{1,2}[.)]|[-*\u2022])[^\n]*(?:\n|$))+")
# A guess a library words as one (MailKit's "One possibility is that ... The other possibility is that ..."): its
# words name no cause by themselves.
_GUESS = re.compile(r"\b(?:one|another|the other) possibility is\b(?:[^\n.]|\.(?=\w))*")
# Searched in the normalised text (lower case, "_" read as a space), by the context rules below.
# A TLS ClientHello quoted as received by a plaintext server (octal in Exim's and Postfix's logs, hex in a repr).
_TLS_HELLO = re.compile(r"\\026\\003\\00[0-4]|\\x16\\x03\\x0[0-4]")
# A handshake that failed for a reason of its own: the client did send TLS.
_TLS_REASON = re.compile(r"alert|no shared cipher|cipher suite|no ciphers|unsupported protocol|version too low|"
                         r"protocol version|unsupported version|certificate|sigalg|signature algorithm|key share|"
                         r"insufficient security")
# A certificate the client refused, in OpenSSL's words or any: what stopped a handshake that PHP calls only "Failed
# to enable crypto".
_CERTIFICATE_REFUSED = re.compile(r"certificate verify failed|" + clause((CERTIFICATE, NOT_TRUSTED)))
# What the failing step needed: STARTTLS (sent, or named by the error), a login.
_TLS_WANTED = re.compile(r"starttls|secure connection")
_AUTH_WANTED = re.compile(r"authenticat|\blog ?in\b|credential|password")
# A server that names the command it refused: "Need EHLO before AUTH", "AUTH command not allowed before EHLO".
_BEFORE_AUTH = re.compile(r"\bbefore auth\b|\bauth\b[^\n]{0,40}\bbefore (?:helo|ehlo)\b")
# Symfony's and SwiftMailer's "Expected response code 250 but got ...": MAIL FROM or the end of the data (RCPT
# TO expects "250/251/252").
_NOT_RCPT = re.compile(r"expected response code \"?250\b(?!/)")
# Postfix's sender restrictions, which it answers at RCPT TO by default (smtpd_delay_reject = yes): there the
# refusal is still the sender's (https://www.postfix.org/postconf.5.html#smtpd_delay_reject).
_SENDER_RESTRICTION = re.compile(r"\bsender (?:or from header )?address rejected\b")
_LOGGED_IN = re.compile(r"(?:^|[\s:>'\"])235[ -]|authentication succe|authenticated as\b")
_NAMES_SENDER = re.compile(r"\bsend(?:ing)? as\b|\bas <?[\w.+-]+@[\w-]+\.|for (?:this|the) sender|"
                           r"sender (?:address|domain)|invalid domain")
# Words that put a relaying refusal on the recipient's side: qmail's rcpthosts (the domains it takes mail for), RFC
# 5321's forward-path (RCPT TO's address).
_NAMES_RECIPIENT = re.compile(r"\brcpthosts\b|forward[- ]path")
# An IPv4 address where a host name belongs: connecting to it (`SmtpClient("10.0.0.5", 587)`, `ssl://10.0.0.5:465`,
# `Host = 10.0.0.5`).
_IP_HOST = re.compile(r"(?:\b(?:host|server|connect|connectasync|smtpclient)|://)\W{0,4}(?:\d{1,3}\.){3}\d{1,3}\b|"
                      r"(?<![\d.\[])(?:\d{1,3}\.){3}\d{1,3}(?::|\"?,\s*)(?:25|465|587|2525)\b")
# How a limit's window reads: per day or longer (a quota) or per hour, minute, second (a rate).
_DAY_WINDOW = re.compile(r"(?:\b(?:per|a|each|every|in|within)|/)\s*(?:the )?(?:last |past )?(?:1 )?"
                         r"(?:day|week|month)\b|"
                         r"\b(?:daily|monthly)\b|\btoday\b|\btomorrow\b|\b24[ -]?h(?:ours?|rs?)?\b")
_SHORT_WINDOW = re.compile(r"(?:\b(?:per|a|an|each|every|in|within)|/)\s*(?:the )?(?:last |past )?(?:\d+ )?"
                           r"(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hr)\b|\bhourly\b")
# An IPv4 address a client tried (not the "any" address Node names as the local end, nor one mapped into IPv6), and
# one that failed: on a line that says so.
_IPV4 = re.compile(r"(?<![\w.:])(?!0\.0\.0\.0\b)(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_FAILURE = r"(?:refused|timed? ?out|etimedout|unreach|no route)"
_IPV4_FAILED = re.compile(rf"{_FAILURE}[^\n]{{0,80}}{_IPV4.pattern}|{_IPV4.pattern}[^\n]{{0,80}}{_FAILURE}")
# An IPv6 address, but not an IPv4 one written the IPv6 way (::ffff:10.0.0.1).
_IPV6 = re.compile(r"(?<![\w:.])(?!::ffff:\d)(?=[0-9a-f:]{0,39}::|(?:[0-9a-f]{1,4}:){7})[0-9a-f:]{2,39}(?![\w:.])",
                   re.I)


@runtime_checkable
class Failure(Protocol):
    """A failed attempt as diagnose() reads it: helpers.client.SendResult and helpers.transcript.Recording
    both are one."""

    @property
    def transcript(self) -> Transcript: ...

    @property
    def error(self) -> BaseException | None: ...


@runtime_checkable
class _OnPort(Protocol):
    @property
    def port(self) -> int: ...  # the port it acts as (SendResult.port)


Diagnosable = BaseException | str | bytes | bytearray | Transcript | Failure


@dataclass(frozen=True)
class Match:
    """One catalog entry that explains the failure, how strongly, and from which evidence."""

    entry: Entry
    score: float
    evidence: tuple[str, ...]  # the parts of the input that matched
    clients: tuple[str, ...] = ()  # whose words they are (python, go, ..., a server, "system" for the OS)
    note: str = ""  # what decided, or what would; for a reply, what its codes mean

    @property
    def id(self) -> str:
        return self.entry.id

    def __str__(self) -> str:
        return f"{self.entry.title} ({self.entry.id}): matched {', '.join(map(repr, self.evidence))}"


def diagnose(failure: Diagnosable, *, port: int | None = None) -> list[Match]:
    """The catalog entries that explain `failure` (an exception, a SendResult, a Recording, a Transcript,
    or text as str or bytes), best first. When none is supported well enough, the first match is a
    reading of what the text does tell (`match.id == UNMATCHED`). An empty list only for input with
    nothing to read (empty, blank or binary). `port` is the port the failure happened on (the one it
    acts as); a result, a transcript or the text itself may name it otherwise.

    Raises TypeError for anything else."""
    return _diagnosed(_clues(failure, port))


def _diagnosed(clues: _Clues) -> list[Match]:
    if not clues.text.strip():
        return []
    weighed = sorted(_weigh(clues), key=lambda pair: -pair[0].score)  # stable: ties keep the catalog's order
    matches = [match for match, _ in weighed]
    if not weighed or not weighed[0][1]:
        matches.insert(0, _reading_match(clues))
    elif len(matches) > 1 and not matches[0].note and matches[0].score - matches[1].score < _CLOSE:
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
    other_port: int | None = None  # a port of another service (IMAP, POP3, HTTP) named in the text
    connected: bool | None = None  # did the TCP connection come up?
    greeted: bool | None = None  # did the server say anything (a greeting, a reply)?
    tls: bool | None = None  # was TLS in use or being set up?
    phase: Phase | None = None
    lines: list[str] = field(default_factory=list)
    reading: Reading = field(default_factory=Reading)
    asides: list[tuple[int, int]] = field(default_factory=list)  # stretches of `text` that list possibilities
    told: str = "the text"  # what the evidence came from, as a note names it: the text, the error, the transcript


def _clues(failure: Diagnosable, port: int | None) -> _Clues:
    if isinstance(failure, str | bytes | bytearray):
        clues = _clues_from_text(failure)
    elif isinstance(failure, BaseException):
        clues = _Clues(lines=_exception_lines(failure), tls=_tls_error(failure) or None, told="the error")
    elif isinstance(failure, Transcript):
        clues = _clues_from_transcript(failure, None)
    elif isinstance(failure, Failure):
        clues = _clues_from_transcript(failure.transcript, failure.error)
        if isinstance(failure, _OnPort):
            clues.port = failure.port
    else:
        raise TypeError(f"cannot diagnose a {type(failure).__name__}: give an exception, a result, a transcript "
                        "or text")
    if port is not None:
        clues.port = port
    if clues.lines:
        # Words joined by `+`, as the protocol logs of Exchange and IIS write them
        # (`550+5.7.60+SMTP;+Client+does+not...`), are words again.
        clues.original = _PLUS_JOINED.sub(lambda found: found.group(0).replace("+", " "), "\n".join(clues.lines))
        normal, clues.marks = _normalise(clues.original)
        clues.text = _searchable(normal)
        if len(clues.text) != len(normal):  # a rare letter that lower-cases to two: quote the searched text
            clues.original, clues.marks = clues.text, [(0, 0)]
        clues.asides = [found.span() for found in _POSSIBILITIES.finditer(clues.text)][:MAX_HITS]
        _read_structure(clues)
    return clues


def _read_structure(clues: _Clues) -> None:
    """What the replies and network errors in the text imply about how far the conversation got."""
    clues.reading = read(clues.original)
    clues.phase = clues.phase or clues.reading.phase
    if clues.reading.server_log:  # the server's side: a client reached it; its TLS errors are its own handshake's
        clues.connected = True if clues.connected is None else clues.connected
    elif clues.reading.tls and clues.tls is None:  # an error of the TLS layer: the client was speaking TLS
        clues.tls = True
    if clues.reading.greeted and clues.greeted is None:  # a quoted conversation shows the server's replies
        clues.greeted = clues.connected = True
    if clues.reading.tls_started and clues.tls is None:
        clues.tls = True
    if clues.phase in _AFTER_GREETING and clues.greeted is None:  # a command was answered: a server had greeted
        clues.greeted = clues.connected = True
    kinds = clues.reading.kinds
    # A server that replied had a connection, and had spoken; a relay's report that it never reached one
    # (a bounce's "Status: 4.4.1") is no reply.
    if any(reply.heard for reply in clues.reading.replies):
        clues.connected = True if clues.connected is None else clues.connected
        clues.greeted = True if clues.greeted is None else clues.greeted
    if kinds & {Network.READ_TIMEOUT} and clues.connected is None:
        clues.connected = True
    if kinds & {Network.REFUSED, Network.CONNECT_TIMEOUT, Network.NAME_NOT_FOUND, Network.NAME_TEMPORARY}:
        clues.connected = False if clues.connected is None else clues.connected


def _clues_from_text(raw: str | bytes | bytearray) -> _Clues:
    text = bytes(raw).decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT // 2] + "\n" + text[-MAX_TEXT // 2:]
    if _looks_binary(text):
        return _Clues()
    if "\\" in text:
        text = _BYTE_ESCAPES.sub(_utf8_letters, _ESCAPE.sub(_unescape, text))
    lines = _unfolded(text.splitlines())
    clues = _Clues(lines=lines)
    clues.port = _port_in(lines, _KNOWN_PORTS) or _postfix_service_port(lines)
    clues.other_port = _port_in(lines, _OTHER_SERVICES)
    if any(_GREETING_LINE.match(line) for line in lines):
        clues.greeted = True
    lowered = text.lower()
    if "connected to" in lowered:  # swaks, curl -v
        clues.connected = True
    if "tls started" in lowered:  # swaks, and our own transcripts
        clues.tls = True
    return clues


def _unescape(found: re.Match[str]) -> str:
    if found.group(1):
        character = chr(int(found.group(1), 16))
        return character if character.isprintable() or character == "\n" else " "
    return _ESCAPED[found.group(2)]


def _utf8_letters(found: re.Match[str]) -> str:
    try:
        letters = bytes.fromhex(found.group(0).replace("\\x", "")).decode("utf-8")
    except UnicodeDecodeError:
        return found.group(0)
    return letters if letters.isprintable() and not letters.isascii() else found.group(0)


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    control = sum(1 for c in sample if (c < " " and c not in "\t\r\n") or c == "\ufffd")
    return control > len(sample) // 10


def _unfolded(lines: list[str]) -> list[str]:
    folded: list[list[str]] = []  # each line with the pieces that continue it, joined once (linear in the text)
    folding = False
    for line in lines:
        if folding and line[:1] in (" ", "\t") and line.strip():
            folded[-1].append(line.strip())
            continue
        folding = _FOLDS.search(line) is not None
        folded.append([line])
    return [" ".join(pieces) for pieces in folded]


def _port_in(lines: list[str], ports: Container[int]) -> int | None:
    """The first of `ports` that the text names."""
    for line in lines[:2000]:
        for found in _PORT.finditer(line):
            if int(found.group(1)) in ports:
                return int(found.group(1))
    return None


def _postfix_service_port(lines: list[str]) -> int | None:
    for line in lines[:2000]:
        service = _SERVICE.search(line)
        if service:
            return _SERVICE_PORTS[service.group(1).lower()]
    return None


def _exception_lines(error: BaseException) -> list[str]:
    """The exception as its traceback's last line says it, plus each server reply inside it in the
    form every other client prints ("535 5.7.8 ..."), plus the exceptions it was raised from."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.append(describe_error(current))
        if isinstance(current, smtplib.SMTPRecipientsRefused):
            replies = list(current.recipients.values())
        elif isinstance(current, smtplib.SMTPResponseException):
            replies = [(current.smtp_code, current.smtp_error)]
        else:
            replies = []
        for code, text in replies:
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            lines.append(f"{code} {text}")
        current = current.__cause__ or current.__context__
    return lines


def _tls_error(error: BaseException | None) -> bool:
    return isinstance(error, ssl.SSLError)


def _clues_from_transcript(transcript: Transcript, error: BaseException | None) -> _Clues:
    clues = _Clues(told="the transcript")
    if error is not None:
        clues.lines.extend(_exception_lines(error))
    for line in transcript.lines:
        # Errors and refusals; and how the client logged in (redacted: "AUTH XOAUTH2 ********"), with any
        # challenge, which may carry the server's reason (Gmail's JSON for a refused token).
        said = line.direction == SENT and line.text[:5].upper() == "AUTH "
        challenged = line.direction == RECEIVED and line.text.startswith("334 ")
        if line.direction == ERROR or (line.direction == RECEIVED and line.unexpected) or said or challenged:
            clues.lines.append(line.text)
    clues.connected = any(line.direction == NOTE and line.text.startswith("Connected") for line in transcript.lines)
    clues.greeted = any(line.direction == RECEIVED for line in transcript.lines)
    clues.tls = transcript.tls or transcript.phase == Phase.TLS or _tls_error(error)
    clues.phase = Phase(transcript.phase) if transcript.phase in set(Phase) else None
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


def _searchable(text: str) -> str:
    """Lower-cased, with OpenSSL's reason codes read as its reason strings: `[SSL: WRONG_VERSION_NUMBER]` and
    `wrong version number` are one symptom (the same length, so positions still line up)."""
    return text.lower().replace("_", " ")


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
# Weighing the evidence, entry by entry


@dataclass
class _Case:
    """The evidence for one entry as it builds up."""

    entry: Entry
    symptom: float = 0.0
    reply: float = 0.0
    network: float = 0.0
    words: float = 0.0
    fact: float = 0.0
    enhanced: str | None = None  # the enhanced code of the reply that fits best
    evidence: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    texts: set[str] = field(default_factory=set)  # the symptom texts that matched

    def add(self, evidence: str, client: str) -> None:
        self.evidence.append(_redact(evidence))
        self.clients.append(client)


def _weigh(clues: _Clues) -> list[tuple[Match, bool]]:
    """Every entry with some evidence, scored, and whether the evidence names it: a symptom of its own, or
    replies, words and network errors that score at least _NAMED."""
    cases = {entry.id: _Case(entry) for entry in CATALOG}
    hits = _suppress_contained(_find(clues))
    worded = {entry_id: found for entry_id, pattern in _word_patterns()
              if (found := _first_outside(pattern, clues.text, clues.asides)) is not None}
    # Families of words inside a quoted symptom are that symptom's, which says more, and in a library's guess
    # they are a guess (MailKit's handshake error names a certificate "not trusted" as one possibility).
    quoted = [*clues.asides, *((hit.start, hit.end) for hit in hits),
              *(found.span() for found in itertools.islice(_GUESS.finditer(clues.text), MAX_HITS))]
    clauses = {entry_id: _tightest(pattern, clues.text, found) for entry_id, pattern in _clause_patterns()
               if entry_id not in worded and (found := _first_outside(pattern, clues.text, quoted)) is not None}
    # Words a client says for several failures ("Could not connect to SMTP host.") count only when nothing names
    # the cause: neither a symptom of its own, nor words beyond what those generic words themselves say.
    vague = [(hit.start, hit.end) for hit in hits if hit.symptom.generic]
    named = any(not any(a <= found.start() and found.end() <= b for a, b in vague)
                for found in [*worded.values(), *clauses.values()])
    for hit in [hit for hit in hits if not hit.symptom.generic] or ([] if named else hits):
        case = cases[hit.entry_id]
        weight = hit.weight + (_GENERIC_SYMPTOM if hit.symptom.generic else _SYMPTOM)
        case.symptom = max(case.symptom, weight) + (0.1 if case.texts and hit.symptom.text not in case.texts
                                                    else 0.0)
        case.texts.add(hit.symptom.text)
        case.add(hit.found, hit.symptom.client)
    for entry_id, found in [*worded.items(), *clauses.items()]:
        case = cases[entry_id]
        case.words = (_WORDS + min(max(found.end() - found.start(), _WORDS_SHORT), _WORDS_LONG)
                      if entry_id in worded else _CLAUSE)
        quoted = _quote(clues, found.start(), found.end())
        if not any(quoted.lower() in evidence.lower() for evidence in case.evidence):  # not a symptom's again
            # Whose words they are is known only when they follow a reply: then they are the server's.
            case.evidence.append(_redact(quoted))
            if clues.reading.replies:
                case.clients.append("server")
    for reply in clues.reading.replies:
        for case in cases.values():
            weight = max((_reply_weight(declared, reply) for declared in case.entry.replies), default=0.0)
            if weight > case.reply:
                case.reply, case.enhanced = weight, reply.enhanced
                case.add(reply.found, "server")
                case.notes.append(f"the reply {reply} means {_meaning(reply)}")
    for entry_id, fact in _FACTS.items():
        shown = fact(clues)
        if shown is not None:
            case = cases[entry_id]
            case.fact = _FACT
            if shown[0]:
                case.add(shown[0], "server")
            case.notes.insert(0, shown[1])
    for seen in clues.reading.network:
        for case in cases.values():
            if seen.kind in case.entry.network:
                weight = _NETWORK - _NETWORK_STEP * case.entry.network.index(seen.kind)
                if weight > case.network:
                    case.network = weight
                    case.add(seen.found, "system")
    ambiguous = _ambiguous_texts()
    # A particular cause named in its own words, a symptom of its own, or an enhanced code of its own outranks the
    # broad one it is a case of, whose words and code usually wrap it: "535 5.7.8 Error: authentication failed:
    # Invalid authentication mechanism" is about the mechanism, "535 5.7.139 Authentication unsuccessful" about
    # Microsoft's switch.
    yields = {broader: case.entry.id for case in cases.values()
              for broader in case.entry.within
              if case.words or case.texts - ambiguous or case.fact or _own_code(case, ENTRIES[broader])}
    matches = []
    for case in cases.values():
        score = case.symptom + case.reply + case.network + case.words + case.fact
        if score <= 0:
            continue
        notes = []
        rule = _CONTEXT.get(case.entry.id)
        if rule is not None:
            adjustment, why = rule(clues)
            # Context decides between the meanings of evidence that has several (an ambiguous symptom, a
            # network error); it rules out anything, but it does not promote a mere reply-code match.
            if adjustment < 0 or case.texts or case.network or case.words or case.fact:
                score += adjustment
            # Say what decided: for evidence with several meanings, and for words or facts the context promoted.
            if why and (case.texts & ambiguous or case.network or (case.words or case.fact) and adjustment > 0):
                notes.append(why)
        evidence_score = score  # what the text itself says: the port ranks candidates; it can name none
        if clues.port is not None and case.entry.ports:
            score += _PORT_FIT if clues.port in case.entry.ports else -_PORT_FIT
        if not notes:  # no rule spoke: say what an ambiguous symptom, a fact or a reply itself means
            notes.extend(symptom.note for entry_symptom in case.texts & ambiguous
                         for symptom in case.entry.symptoms if symptom.text == entry_symptom and symptom.note)
            if not case.symptom or case.fact:
                notes.extend(case.notes)
        if score <= 0:
            continue  # the context rules it out
        # Words a client says for several failures (PHPMailer's "Could not connect to SMTP host."), and
        # nothing else: whatever ranked them, the card says first that they cannot tell, and how to see more.
        said = [symptom for symptom in case.entry.symptoms if symptom.text in case.texts]
        if said and all(symptom.generic for symptom in said) and not (case.reply or case.network or case.words
                                                                        or case.fact):
            guesses = [f"a guess: {symptom.note}" for symptom in said if symptom.note]
            notes = guesses + [note.replace("decided by", "likeliest by") for note in notes
                               if not any(note in guess for guess in guesses)]
        match = Match(
            entry=case.entry,
            score=round(score, 1),
            evidence=_outermost(case.evidence),
            clients=tuple(dict.fromkeys(case.clients)),
            note="; ".join(dict.fromkeys(notes)),
        )
        matches.append((match, bool(case.texts or case.words or case.fact) or min(score, evidence_score) >= _NAMED))
    return _yielded(matches, yields)


def _own_code(case: _Case, broader: Entry) -> bool:
    """Whether the entry's best reply is an enhanced code that is its own: exact, particular (not X.7.1 or X.Y.0),
    and not one the broader entry declares too."""
    return (case.reply >= _REPLY_ENHANCED and case.enhanced is not None and not is_generic(case.enhanced)
            and all(reply.enhanced != case.enhanced for reply in broader.replies))


def _yielded(matches: list[tuple[Match, bool]], yields: dict[str, str]) -> list[tuple[Match, bool]]:
    """Each broad entry ranked below the particular case of it that the text names, however much of its own
    wording (the wrapper's) the text holds."""
    scores = {match.id: match.score for match, _ in matches}
    ranked = []
    for match, named in matches:
        particular = yields.get(match.id)
        if particular in scores:
            score = min(match.score, round(max(scores[particular] - _CLOSE, 1.0), 1))
            note = "; ".join(filter(None, (f"the text names a particular case of it: {particular}", match.note)))
            match = replace(match, score=score, note=note)
        ranked.append((match, named))
    return ranked


def _first_outside(pattern: re.Pattern[str], text: str, asides: list[tuple[int, int]]) -> re.Match[str] | None:
    """The first match that is not inside a list of possible reasons: words a library prints whatever
    happened say nothing about what did."""
    for number, found in enumerate(pattern.finditer(text)):
        if number >= MAX_HITS:
            return None
        if not any(start <= found.start() < end for start, end in asides):
            return found
    return None


def _tightest(pattern: re.Pattern[str], text: str, found: re.Match[str]) -> re.Match[str]:
    """The shortest of a clause's matches on the line of its first, as evidence: "Too many recipient attempts",
    not "sending message - 450 Too many"."""
    line_end = text.find("\n", found.start())
    line_end = len(text) if line_end < 0 else line_end
    best = found
    for _ in range(MAX_HITS):
        found = pattern.search(text, found.start() + 1, line_end)
        if found is None:
            break
        if found.end() - found.start() < best.end() - best.start():
            best = found
    return best


def _outermost(evidence: list[str]) -> tuple[str, ...]:
    """Each piece of evidence once, without those a longer piece already quotes ("WRONG_VERSION_NUMBER" inside
    "[SSL: WRONG_VERSION_NUMBER] wrong version number")."""
    pieces = list(dict.fromkeys(evidence))
    searchable = [_searchable(piece) for piece in pieces]
    return tuple(piece for piece, text in zip(pieces, searchable, strict=True)
                 if not any(text != other and text in other for other in searchable))


def _reply_weight(declared: Reply, seen: ReplySeen) -> float:
    """How well a reply found in the text fits one the entry declares."""
    same_code = declared.code is not None and declared.code == seen.code
    same_enhanced = declared.enhanced is not None and declared.enhanced == seen.enhanced
    if same_code and same_enhanced:
        weight = _REPLY_EXACT
    elif same_enhanced and (declared.code is None or seen.code is None):
        weight = _REPLY_ENHANCED
    elif same_code and seen.enhanced is None:  # the client printed the code only (curl: "MAIL failed: 530")
        if seen.code in _VAGUE_CODES and declared.enhanced is not None:
            return 0.0  # a bare 550 is any refusal, not the one 550 5.7.30 names
        # A bare 421 fits "421" better than "421 4.7.26": that one's detail is not in the text.
        weight = _REPLY_CODE - (_UNSEEN_DETAIL if declared.enhanced is not None else 0.0)
    elif same_code and declared.enhanced and seen.enhanced and declared.enhanced[2] == seen.enhanced[2]:
        if is_generic(seen.enhanced):
            return 0.0  # "5.7.1" shares its subject with every policy refusal: that says nothing
        weight = _REPLY_SAME_SUBJECT
    else:  # a declared bare code stands for replies that give no more detail: 550 5.1.1 is something else
        return 0.0
    if is_generic(seen.enhanced) and (seen.code is None or seen.code in _GENERIC_CODES):
        weight = min(weight, _REPLY_GENERIC)  # "550 5.7.1", "554", "5.7.1" alone: any policy refusal
        if seen.enhanced is None:
            weight = min(weight, _REPLY_BARE)  # a bare "550": only the stage can make it say more
    if declared.phase is not None and seen.phase is not None:
        if declared.phase != seen.phase:
            return 0.0
        weight += _STAGE_AGREES
    elif declared.phase is not None and not (seen.enhanced and is_generic(seen.enhanced)):
        weight += _STAGE_UNKNOWN  # a reply that means this only at one stage, and the text does not say which
    return max(weight, 0.0)


def _meaning(reply: ReplySeen) -> str:
    return enhanced_meaning(reply.enhanced) if reply.enhanced else reply_meaning(reply.code or 0)


# --------------------------------------------------------------------------------------------------
# Symptoms found in the text


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
            normal = _searchable(_normalise(symptom.text)[0])
            fragments = tuple(f.strip() for f in normal.split(_WILDCARD) if f.strip())
            patterns.append(_Pattern(entry.id, symptom, fragments))
    return tuple(patterns)


@functools.cache
def _word_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((entry.id, re.compile("|".join(f"(?:{words})" for words in entry.words), re.MULTILINE))
                 for entry in CATALOG if entry.words)


@functools.cache
def _clause_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((entry.id, re.compile("|".join(clause(families) for families in entry.clauses), re.MULTILINE))
                 for entry in CATALOG if entry.clauses)


@functools.cache
def _ambiguous_texts() -> frozenset[str]:
    """Symptom texts that more than one entry lists."""
    owners: dict[str, set[str]] = {}
    for pattern in _patterns():
        owners.setdefault(pattern.symptom.text, set()).add(pattern.entry_id)
    return frozenset(text for text, ids in owners.items() if len(ids) > 1)


def _find(clues: _Clues) -> list[_Hit]:
    hits = []
    for pattern in _patterns():
        span = _search(clues.text, pattern, clues.asides)
        if span is not None:
            start, end = span
            hits.append(_Hit(pattern.entry_id, pattern.symptom, start, end, _quote(clues, start, end), pattern.weight))
    return hits


def _search(text: str, pattern: _Pattern, asides: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Where the pattern's fragments occur in order on one line, outside the lists of possibilities; plain
    str.find, so the time grows with the text's length and nothing else."""
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
            if any(a <= start < b for a, b in asides):
                continue
            return start, end
    return None


def _is_whole(text: str, line_start: int, start: int, end: int, line_end: int) -> bool:
    """A whole-line symptom may be prefixed by `something: ` (Go wraps errors so) but nothing may follow. A
    quoted field of a structured log line (logfmt's msg="...", JSON's "error":"...") is a line of its own."""
    before = text[line_start:start].rstrip()
    after = text[end:line_end].strip().rstrip(".")
    if before.endswith(":") and after and not after.strip(")]}"):  # a field in brackets: "[details: EOF]"
        after = ""
    if after[:1] in ('"', "'") and (opening := before.rfind(after[0])) > 0 and before[opening - 1] in "=:" \
            and re.match(r"\s*(?:[,;}\]]|\w[\w.-]*=|$)", after[1:]):
        before, after = before[opening + 1:].rstrip(), ""
    return not after and (not before or before.endswith(":"))


def _suppress_contained(hits: list[_Hit]) -> list[_Hit]:
    """A match inside a longer match of another entry is part of that longer symptom, not a symptom."""
    return [
        hit for hit in hits
        if not any(other.entry_id != hit.entry_id and other.start <= hit.start and hit.end <= other.end
                   and other.end - other.start > hit.end - hit.start for other in hits)
    ]


# --------------------------------------------------------------------------------------------------
# Context decides between the meanings of an ambiguous symptom


def _other_service(c: _Clues) -> int | None:
    """The port of another service (IMAP, POP3, HTTP) that the client dialled, when the port given or the text
    names one (and names no mail port)."""
    return c.port if c.port in _OTHER_SERVICES else c.other_port if c.port is None else None


def _other_service_answered(c: _Clues) -> tuple[float, str] | None:
    """TLS refused or unreadable on a port of another service: that service answered, not SMTP."""
    port = _other_service(c)
    if port is None:
        return None
    return -_DECISIVE, f"ruled out: {port} is {_OTHER_SERVICES[port]}'s port, so that service answered: see not-smtp"


def _plaintext_to_implicit_tls(c: _Clues) -> tuple[float, str]:
    if (other := _other_service_answered(c)) is not None:
        return other
    if c.reading.server_log:  # the server's side: its handshake got no TLS, or plaintext, from the client
        if _TLS_REASON.search(c.text):
            return -_LEANING, "the server's TLS layer named a reason, so the client did speak TLS"
        if c.port in IMPLICIT_TLS_PORTS:
            return _DECISIVE, (f"decided by the server's log: on port {c.port} it waited for TLS from the first "
                               "byte and the client sent none")
        if c.port is not None:
            return -_LEANING, f"port {c.port} is not an implicit-TLS port"
        return 0.0, "no port given: on the server's port 465 (smtps) this is a plaintext client"
    if c.greeted:
        return -_DECISIVE, "ruled out: the server sent a greeting, so the client and server did talk"
    if c.tls:
        return -_DECISIVE, "ruled out: the client was already speaking TLS"
    if c.connected is False:
        return -_DECISIVE, "ruled out: the TCP connection never came up"
    if c.port in IMPLICIT_TLS_PORTS:
        return _DECISIVE, f"decided by the port: {c.port} speaks TLS from the first byte, and no greeting came"
    if c.port is not None:
        return -_LEANING, f"port {c.port} is not an implicit-TLS port; it would be if this server were TLS-only"
    return 0.0, "no port given: on port 465 this is a plaintext client; elsewhere the server closed the connection"


def _greeting_timeout(c: _Clues) -> tuple[float, str]:
    if c.reading.server_log:
        return -_LEANING, "a server's log: it was the server that waited, for the client"
    if c.greeted:
        return -_LEANING, "a greeting had come, so the server went quiet later"
    if c.connected is False:
        return -_DECISIVE, "ruled out: the TCP connection never came up"
    if c.port in IMPLICIT_TLS_PORTS and not c.tls:
        return -_LEANING, f"on port {c.port} a plaintext client gets no greeting: see plaintext-to-implicit-tls"
    if c.connected:
        return _LEANING, f"decided by {c.told}: connected, then no greeting"
    return 0.0, ""


def _egress_port_blocked(c: _Clues) -> tuple[float, str]:
    if (port := _other_service(c)) is not None:
        return -_LEANING, f"{port} is {_OTHER_SERVICES[port]}'s port: the wrong port comes first (see not-smtp)"
    if c.connected:
        return -_DECISIVE, "ruled out: the TCP connection was made"
    if c.phase == Phase.CONNECT:
        return _LEANING, f"decided by {c.told}: the TCP connection never came up"
    if Network.CONNECT_TIMEOUT in c.reading.kinds and _attempts_timed_out(c.text) > 1:
        return _LEANING, "decided by the attempts: each one timed out, as they do where a firewall drops the packets"
    return 0.0, ""


def _nothing_listens(c: _Clues) -> tuple[float, str]:
    if c.connected:  # "... listed in Spamhaus. Connection refused." is a server's words, after it had answered
        return -_DECISIVE, "ruled out: a server answered (its reply is quoted): the refusal is in its words"
    return 0.0, ""


def _attempts_timed_out(text: str) -> int:
    return sum(1 for _, _ in zip(range(MAX_HITS), _TIMED_OUT.finditer(text), strict=False))


def _unreachable(c: _Clues) -> tuple[float, str]:
    # Where IPv6 has no route and IPv4 times out (Node tries each address), the timeout is what stops the mail.
    if Network.CONNECT_TIMEOUT in c.reading.kinds and _IPV6.search(c.text) and _IPV4_FAILED.search(c.text):
        return -_LEANING, "only the IPv6 address was unreachable; the IPv4 one timed out (see egress-port-blocked)"
    return 0.0, ""


def _idle_drop(c: _Clues) -> tuple[float, str]:
    if c.reading.auth_server_failed:  # Dovecot's "Connection lost to authentication server" is the server's own
        return -_DECISIVE, "ruled out: the connection the server lost was to its own login service"
    # A 421 announces the close; unless its words say why (Exim's "SMTP command timeout"), the close is not a drop.
    if any(reply.code == 421 and reply.enhanced != "4.4.2" for reply in c.reading.replies) and not _words_of(
            "timeouts-and-idle-drops").search(c.text):
        return -_LEANING, "the server said 421, which closes the connection: the close is its announced one"
    if c.tls and not c.greeted:
        return -_LEANING, "the TLS handshake had not finished: see tls-handshake-aborted"
    # A refusal quoted with the close ("unexpectedly disconnected: 5.7.0 ... authentication rejected") is why the
    # server hung up: the close follows it.
    refusal = next((reply for reply in c.reading.replies if reply.words and reply.code != 421
                    and ((reply.code or 0) >= 400 or (reply.enhanced or "")[:1] in ("4", "5"))), None)
    if refusal is not None and not _words_of("timeouts-and-idle-drops").search(c.text):
        return -_DECISIVE, f"ruled out: the server refused first ({refusal}): the close followed its refusal"
    if c.phase == Phase.GREETING and not c.greeted:
        return -_LEANING, "the server hung up before its greeting: no conversation had begun"
    if c.greeted:
        return _LEANING, f"decided by {c.told}: the server hung up after the conversation had begun"
    if c.connected is False:
        return -_DECISIVE, "ruled out: the TCP connection never came up"
    if c.port in IMPLICIT_TLS_PORTS and not c.tls:
        return -_LEANING, "on port 465 with no greeting this is more likely a plaintext client"
    return 0.0, ""


def _tls_handshake_aborted(c: _Clues) -> tuple[float, str]:
    if _CERTIFICATE_REFUSED.search(c.text):  # PHP's "Failed to enable crypto" after OpenSSL's reason for it
        return -_DECISIVE, "ruled out: the handshake stopped at the certificate, which the client refused"
    if c.tls or c.phase == Phase.TLS:
        return _LEANING, f"decided by {c.told}: the TLS handshake had begun"
    if c.greeted:
        return -_DECISIVE, "ruled out: the server sent a greeting"
    if c.phase == Phase.GREETING:
        return -_LEANING, "the client was waiting for the server's greeting, not for a TLS handshake"
    # Unknown: a plain dropped connection is the likelier reading, by a hair.
    return -1.0, "if the client had started TLS (Go's tls.Dial), the server dropped the handshake"


def _non_ascii_address(c: _Clues) -> tuple[float, str]:
    if _LOGIN_ENCODING.search(c.text):
        return -_DECISIVE, "ruled out: it failed while encoding the login, not an address"
    if c.phase in (Phase.MAIL, Phase.RCPT):
        return _LEANING, f"decided by {c.told}: it failed while naming the sender or a recipient"
    return 0.0, "sendmail() raises this for a non-ASCII address too, while sending MAIL or RCPT"


def _non_ascii_body(c: _Clues) -> tuple[float, str]:
    if _LOGIN_ENCODING.search(c.text):
        return -_DECISIVE, "ruled out: it failed while encoding the login, not the message"
    if c.phase in (Phase.MAIL, Phase.RCPT):
        return -_LEANING, "it failed while naming the sender or a recipient, not on the message"
    if c.phase is not None:
        return _LEANING, f"decided by {c.told}: it failed before MAIL, while encoding the message"
    return 0.0, ""


def _non_ascii_login(c: _Clues) -> tuple[float, str]:
    if _LOGIN_ENCODING.search(c.text):
        return _DECISIVE, f"decided by {c.told}: it failed while encoding the login (smtplib's login() and auth())"
    return -_LEANING, "only inside login(): a traceback through smtplib's login() or auth() would show it"


# The login failing to encode: a traceback through smtplib's login() or auth*(), or the kit's own words for it
# (helpers.transcript.describe_error).
_LOGIN_ENCODING = re.compile(r"smtplib\.py\"?, line \d+, in (?:login|auth\w*)\b[\s\S]{0,800}'ascii' codec|"
                             + re.escape(NON_ASCII_LOGIN.split(" (")[0].lower()))


def _tls_before_auth(c: _Clues) -> tuple[float, str]:
    if c.tls is False:
        return _LEANING, f"decided by {c.told}: the connection was not encrypted"
    if c.tls:
        return -_LEANING, "the connection was already encrypted"
    return 0.0, "curl shows only the code: without TLS this is STARTTLS-first; with TLS, a missing login"


def _login_missing(c: _Clues) -> tuple[float, str]:
    if c.reading.auth_offered is False:
        return -_LEANING, "the EHLO reply lists no AUTH: the server offered no login (see auth-not-advertised)"
    if c.port == 25 and not _words_of("unauthenticated-submission").search(c.text):
        return -_LEANING, "port 25 takes no logins: a refusal there is about relaying"
    if c.port == 25:  # cPanel's Exim takes logins on 25 too, and asks for one in its refusal to relay
        return _LEANING, "decided by the server's words: it asks for the login the client did not make"
    if c.tls:
        return _LEANING, f"decided by {c.told}: encrypted, but no login"
    if c.tls is False:
        return -_LEANING / 2, "the connection was not encrypted yet"
    return 0.0, ""


def _no_auth_offered(c: _Clues) -> tuple[float, str]:
    if c.reading.auth_offered is False and c.reading.starttls_offered:
        return _DECISIVE, "decided by the conversation: the EHLO reply offers STARTTLS and no AUTH before it"
    if c.reading.auth_offered is False or c.port == 25:
        return _LEANING, ("decided by the conversation: the EHLO reply lists no AUTH" if c.port != 25 else
                          "decided by the port: a port-25 relay takes no logins")
    if c.reading.auth_offered:
        return -_LEANING, "the EHLO reply did list AUTH"
    return _login_missing(c)


def _auth_refused_before_tls(c: _Clues) -> tuple[float, str]:
    if c.reading.wanted_first:  # Postfix answers every command out of order 503 5.5.1, AUTH's too
        return -_DECISIVE, f"ruled out: the 503 names the command the server wanted first ({c.reading.wanted_first})"
    if c.reading.auth_offered is False and c.reading.starttls_offered:
        return -_LEANING, "the EHLO reply offers STARTTLS and no AUTH: servers offer AUTH after STARTTLS"
    if c.reading.auth_offered is False:
        return -_DECISIVE, "ruled out: the EHLO reply in force lists no AUTH: see auth-not-advertised"
    return 0.0, ""


def _login_judged(c: _Clues) -> tuple[float, str]:
    """A refused login says nothing of the credentials when the server's words blame its own login service, or
    hold the account for what it sent (spam, a robot check)."""
    if c.reading.auth_server_failed:
        return -_DECISIVE, "ruled out: the server's words blame its own login service, not the credentials"
    if c.reading.account_held:
        return -_DECISIVE, ("ruled out: the server's words hold the account for suspected spam or abuse, not the "
                            "password")
    return 0.0, ""


def _login_refused(c: _Clues) -> tuple[float, str]:
    if c.reading.auth_server_failed or c.reading.account_held:
        return _login_judged(c)
    if c.reading.auth_sent is False:
        return -_DECISIVE, "ruled out: the conversation shows no AUTH command, so no password was judged"
    if c.reading.auth_out_of_step:
        return -_LEANING, "the login exchange fell out of step before the password was judged"
    unknown = next((reply for reply in c.reading.replies if reply.code in (500, 502) and reply.phase == Phase.AUTH),
                   None)
    if unknown is not None:
        return -_DECISIVE, (f"ruled out: {unknown} says the server does not know the AUTH command: no password was "
                            "judged")
    if c.reading.auth_offered is False or c.port == 25:
        return -_LEANING, "the server offered no login at all: see auth-not-advertised"
    if _TOKEN_LOGIN.search(c.text):
        return -_LEANING, "the login was an OAuth token, not a password: see oauth-token-refused"
    return 0.0, ""


# A token login as a transcript or a client's log shows it (the command, not the EHLO keyword), or the JSON
# error a server answers it with (in words, or base64: 'eyJzdGF0dXMi' is '{"status"').
# Microsoft's 501 5.5.124 "Invalid XOAUTH2 auth data" answers a token login too.
_TIMED_OUT = re.compile(r"timed? ?out|etimedout")
_TOKEN_LOGIN = re.compile(r"\bauth (?:xoauth2|oauthbearer)\b|\"schemes\"|\"status\":\"invalid_token\"|\beyjzdgf0dxmi|"
                          r"xoauth2 auth data")


# The token endpoint's refusal (RFC 6749 section 5.2), Microsoft Entra's AADSTS numbers, Google's words for a dead
# refresh token: the token was never issued.
_TOKEN_SERVICE = re.compile(r"\binvalid (?:grant|client)\b(?! cert)|\bunauthorized client\b|\bunsupported grant type\b|"
                            r"\baadsts\d{5,}|token has been (?:expired|revoked)")


def _token_refused(c: _Clues) -> tuple[float, str]:
    if not _TOKEN_LOGIN.search(c.text) and _TOKEN_SERVICE.search(c.text):
        return _DECISIVE, "decided by the error: the identity service refused to issue the token, before any login"
    if not _TOKEN_LOGIN.search(c.text):
        return -_DECISIVE, "ruled out: no token was sent (AUTH XOAUTH2 or OAUTHBEARER)"
    if c.phase is not None and c.phase != Phase.AUTH:
        return -_DECISIVE, f"ruled out: the token was taken, and the conversation went on to {c.phase.label}"
    return _DECISIVE, "decided by the conversation: the login was an OAuth access token"


def _not_smtp(c: _Clues) -> tuple[float, str]:
    if c.reading.foreign:
        return _DECISIVE, f"decided by the reply: the server answered in {c.reading.foreign[0]}, not SMTP"
    if Network.CLOSED in c.reading.kinds and _other_service(c) is None:
        return -_DECISIVE, "ruled out: nothing answered in another protocol; the connection closed"
    return 0.0, ""


def _busy(c: _Clues) -> tuple[float, str]:
    # Jakarta Mail's "Got bad greeting" quotes what came instead of 220: a 421 is busy, an [EOF] is no reply at all.
    if _words_of("server-busy").search(c.text):
        return 0.0, ""
    closing = [reply for reply in c.reading.replies if reply.code == 421]
    if not closing:
        return -_DECISIVE, "ruled out: no 421 came"
    # 421 closes the channel for any reason (RFC 5321 section 3.8): its own words, when they give another, say which.
    # An enhanced code about the mail system or the network (4.3.x, 4.4.x: "Service not active", "Reconfiguration in
    # progress") is the server's own state.
    if all(reply.words and not _BUSY_WORDS.search(reply.words.lower())
           and not (reply.enhanced or "").startswith(("4.3.", "4.4.")) for reply in closing):
        return -_LEANING, "the 421's own words give another reason than a busy server"
    return 0.0, ""


_BUSY_WORDS = re.compile(r"busy|later|too many|overload|unavailable|shutting|maintenance|temporar|resources|load\b|"
                         r"closing|timeout|timed out|try again|capacity")


def _tls_to_plaintext_port(c: _Clues) -> tuple[float, str]:
    if (other := _other_service_answered(c)) is not None:
        return other
    if c.reading.server_log and not _TLS_HELLO.search(c.text):
        return -_DECISIVE, ("ruled out: this is the server's TLS layer reading plaintext, so the client spoke "
                            "plaintext to a TLS port")
    return 0.0, ""


def _starttls_offered(c: _Clues) -> tuple[float, str]:
    if c.port in IMPLICIT_TLS_PORTS:  # TLS from the first byte: no EHLO reply lists STARTTLS there
        return 0.0, ""
    if c.reading.wanted_first:
        return -_DECISIVE, f"ruled out: the 503 names the command the server wanted first ({c.reading.wanted_first})"
    if c.reading.starttls_offered is False:
        return _LEANING, "decided by the conversation: the EHLO reply lists no STARTTLS"
    if c.reading.starttls_offered:
        return -_LEANING, "the EHLO reply did list STARTTLS"
    return 0.0, ""


def _about_the_sender(c: _Clues) -> str:
    """Why a refusal in words of relaying is about the sender address, when it is: Zoho, Yandex and others say
    "relaying" for a sender the login may not use."""
    if c.phase == Phase.MAIL:
        return "it answered MAIL FROM"
    if c.phase in (Phase.DATA, Phase.END_OF_DATA):
        return "it came after the recipients were accepted"
    # SwiftMailer's "Expected response code 250" is MAIL FROM's (and the message end's): the sender's, where a login
    # came first; without one, and off the submission ports, relaying it is (two reviewers read it so).
    if _NOT_RCPT.search(c.text) and (_LOGGED_IN.search(c.text) or c.port in SUBMISSION_PORTS):
        return "it answered a command that expected 250, not RCPT TO, where a login comes first"
    if _LOGGED_IN.search(c.text):
        return "the client had logged in, and a login may relay to anyone: only the sender can be refused"
    if any(reply.code == 553 for reply in c.reading.replies) and not _NAMES_RECIPIENT.search(c.text):
        return "553 is a refused mailbox name (RFC 5321 section 4.2.3), here the sender's"
    if _NAMES_SENDER.search(c.text):
        return "it names the sender"
    return ""


def _relay_refused(c: _Clues) -> tuple[float, str]:
    if c.reading.spam_content and not _words_of("relay-denied").search(c.text):
        return -_DECISIVE, "ruled out: the server's words judge the message itself as spam, not where it was going"
    why = _about_the_sender(c)
    if why and _words_of("relay-denied").search(c.text):
        return -_LEANING, f"the refusal is about the sender: {why}"
    return 0.0, ""


def _sender_refused(c: _Clues) -> tuple[float, str]:
    if _words_of("envelope-display-name").search(c.text):  # msmtp's "envelope from address Name <a@b> not accepted"
        return -_LEANING, "the envelope address is no bare address: see envelope-display-name"
    # 553 (a mailbox name not allowed) is how Postfix refuses a sender the login does not own, at RCPT too.
    if c.phase == Phase.RCPT and c.port not in SUBMISSION_PORTS and not _LOGGED_IN.search(c.text) and not any(
            reply.code == 553 for reply in c.reading.replies) and not _SENDER_RESTRICTION.search(c.text):
        return -_LEANING, "it answered RCPT TO, and no login is shown: a refused sender there reads as relaying"
    return 0.0, ""


@functools.cache
def _words_of(entry_id: str) -> re.Pattern[str]:
    """An entry's words and clauses as one pattern (relay-denied's: a refusal in words of relaying)."""
    entry = ENTRIES[entry_id]
    return re.compile("|".join([*(f"(?:{words})" for words in entry.words), *map(clause, entry.clauses)]),
                      re.MULTILINE)


def _name_mismatch(c: _Clues) -> tuple[float, str]:
    if "remotecertificatechainerrors" in c.text and "namemismatch" not in c.text:
        return -_DECISIVE, "ruled out: .NET's policy errors name the chain, not the name"
    if _IP_HOST.search(c.text):
        return _LEANING, "decided by the host: the client dialled an IP address, which certificates seldom name"
    return 0.0, ""


def _per_message(c: _Clues) -> tuple[float, str]:
    # Postfix's "too many recipients from <address>" counts recipients from one client per minute
    # (smtpd_client_recipient_rate_limit): a rate, not too many in one message.
    if _RECIPIENT_RATE.search(c.text):
        return -_DECISIVE, ("ruled out: recipients counted from the client's address over time are a rate: see "
                            "rate-limited")
    return 0.0, ""


_RECIPIENT_RATE = re.compile(r"too many recipients from\b")


def _rate_window(c: _Clues) -> tuple[float, str]:
    if c.reading.auth_server_failed and not _words_of("rate-limited").search(c.text):
        return -_DECISIVE, "ruled out: the server's words blame its own login service, not a count of attempts"
    if _DAY_WINDOW.search(c.text):
        return -_LEANING, "a limit counted per day is a quota: see sending-quota-exceeded"
    return 0.0, ""


def _quota_window(c: _Clues) -> tuple[float, str]:
    full = next((reply for reply in c.reading.replies if reply.enhanced and reply.enhanced[1:] == ".2.2"), None)
    if full is not None:
        return -_DECISIVE, (f"ruled out: {full} is the recipient's mailbox full, over its quota (X.2.2, RFC 3463 "
                            "section 3.3): not your sending quota (see recipient-mailbox-full)")
    if _SHORT_WINDOW.search(c.text) and not _DAY_WINDOW.search(c.text):
        return -_LEANING, "a limit counted per hour or less is a rate: see rate-limited"
    return 0.0, ""


def _ipv6_path(c: _Clues) -> tuple[float, str]:
    if _NO_LOCAL_ADDRESS.search(c.text):
        return -_DECISIVE, "ruled out: this machine has no address of the server's family to connect from"
    if _IPV4_FAILED.search(c.text):
        return -_DECISIVE, "ruled out: an IPv4 address failed too, so the path is not IPv6's alone"
    address = _IPV6.search(c.text)
    if address and address.group(0) == "::1":  # localhost's IPv6 address: the server listens on 127.0.0.1 only
        return _DECISIVE, "decided by the address: the client tried ::1, localhost's IPv6 address"
    if address:
        return _LEANING, "decided by the address: the client tried an IPv6 address"
    return -_DECISIVE, ""


_NO_LOCAL_ADDRESS = re.compile(NO_LOCAL_ADDRESS)


def _recipient_refused(c: _Clues) -> tuple[float, str]:
    if c.phase == Phase.AUTH:
        return -_DECISIVE, "ruled out: a user not found at AUTH is the login's, not a recipient's"
    return 0.0, ""


_CONTEXT: dict[str, Callable[[_Clues], tuple[float, str]]] = {
    "plaintext-to-implicit-tls": _plaintext_to_implicit_tls,
    "greeting-timeout": _greeting_timeout,
    "egress-port-blocked": _egress_port_blocked,
    "connection-refused": _nothing_listens,
    "network-unreachable": _unreachable,
    "timeouts-and-idle-drops": _idle_drop,
    "tls-handshake-aborted": _tls_handshake_aborted,
    "non-ascii-address": _non_ascii_address,
    "non-ascii-body-as-str": _non_ascii_body,
    "non-ascii-login": _non_ascii_login,
    "starttls-required-first": _tls_before_auth,
    "unauthenticated-submission": _login_missing,
    "auth-not-advertised": _no_auth_offered,
    "credentials-missing": _auth_refused_before_tls,
    "bad-credentials": _login_refused,
    "gmail-app-password": _login_judged,
    "m365-basic-auth-disabled": _login_judged,
    "oauth-token-refused": _token_refused,
    "not-smtp": _not_smtp,
    "server-busy": _busy,
    "ipv6-path": _ipv6_path,
    "implicit-tls-to-starttls-port": _tls_to_plaintext_port,
    "starttls-unavailable": _starttls_offered,
    "relay-denied": _relay_refused,
    "recipient-unknown": _recipient_refused,
    "sender-identity-mismatch": _sender_refused,
    "cert-name-mismatch": _name_mismatch,
    "rate-limited": _rate_window,
    "sending-quota-exceeded": _quota_window,
    "too-many-recipients": _per_message,
}


# --------------------------------------------------------------------------------------------------
# What a quoted conversation shows: facts, not wordings. The server answered in another protocol; its EHLO
# reply lacked the keyword the failing step needed; it refused the sender in words of relaying.


def _foreign_server(c: _Clues) -> tuple[str, str] | None:
    if c.reading.foreign:
        protocol, found = c.reading.foreign
        return found, f"decided by the reply: {found!r} is how {protocol} greets, not SMTP"
    port = _other_service(c)
    if port is not None:
        return "", (f"decided by the port: {port} is where {_OTHER_SERVICES[port]} listens, not a mail submission "
                    "port (465, 587) or a relay's (25)")
    return None


def _no_starttls_keyword(c: _Clues) -> tuple[str, str] | None:
    if c.port in IMPLICIT_TLS_PORTS:  # TLS from the first byte: no EHLO reply lists STARTTLS there
        return None
    if c.reading.starttls_offered is False and _TLS_WANTED.search(c.text):
        return "", "the EHLO reply in the conversation lists no STARTTLS, and TLS was wanted"
    return None


def _sender_relaying(c: _Clues) -> tuple[str, str] | None:
    found = _words_of("relay-denied").search(c.text)
    why = _about_the_sender(c) if found else ""
    if found and why:
        return _quote(c, found.start(), found.end()), f"decided by the stage: a refusal in words of relaying, but {why}"
    return None


def _no_auth_keyword(c: _Clues) -> tuple[str, str] | None:
    if c.reading.auth_offered is False and _AUTH_WANTED.search(c.text):
        return "", "the EHLO reply in the conversation lists no AUTH, and a login was wanted"
    if c.reading.wanted_first == "ehlo" and (c.phase == Phase.AUTH or _BEFORE_AUTH.search(c.text)):
        return "", ("decided by the reply: the server wanted EHLO before AUTH, and AUTH is offered only in the EHLO "
                    "reply (after STARTTLS, in the one asked for again)")
    return None


def _no_login_sent(c: _Clues) -> tuple[str, str] | None:
    refused = next((reply for reply in c.reading.replies if reply.code in (534, 535)), None)
    if c.reading.auth_sent is False and refused is not None:
        return refused.found, (f"decided by the conversation: the server answered {refused} as to a failed login, but "
                               "the client had sent no AUTH command: it had no credentials to log in with")
    return None


def _out_of_step(c: _Clues) -> tuple[str, str] | None:
    if c.reading.auth_out_of_step:
        return "", ("decided by the conversation: the login exchange fell out of step (the server asked again after "
                    "an initial response, or AUTH began anew mid-exchange), so client and server disagreed on the "
                    "mechanism's steps")
    return None


_FACTS: dict[str, Callable[[_Clues], tuple[str, str] | None]] = {
    "auth-mechanism-mismatch": _out_of_step,
    "credentials-missing": _no_login_sent,
    "not-smtp": _foreign_server,
    "starttls-unavailable": _no_starttls_keyword,
    "auth-not-advertised": _no_auth_keyword,
    "sender-identity-mismatch": _sender_relaying,
}


# --------------------------------------------------------------------------------------------------
# The honest fallback: what the text tells when no entry explains it

_CAPTURE_PYTHON = '''\
from helpers import record   # the kit's recorder: every line each way, passwords hidden

with record() as recording:
    send_the_message()        # your sending code, unchanged
print(recording.text())

# Without the kit: smtp.set_debuglevel(1) prints the conversation too, but also the AUTH line,
# whose base64 is your password: blank it before you share the output.
'''

_CAPTURE_GO = '''\
// net/smtp keeps the server's reply in a *textproto.Error: print its code and words.
var reply *textproto.Error
if errors.As(err, &reply) {
	log.Printf("the server answered %d: %s", reply.Code, reply.Msg)
}
'''


def _reading_match(clues: _Clues) -> Match:
    reading = clues.reading
    replies = reading.replies
    first = replies[0] if replies else None
    if first is not None:
        title = f"Unrecognised reply: the server refused with {first}"
        told = reading.summary()  # the reply's class says whether it is temporary
    elif reading.network:
        title = f"Unrecognised failure: {reading.network[0].kind.value}"
        told = reading.summary()
    elif reading.told:
        title = reading.told.split("; ", 1)[0]
        told = reading.summary() + " It names no cause of its own: the conversation, or the lines around it, will."
    else:
        title = "Unrecognised text: no catalog entry matches it"
        told = (reading.summary() + " " if reading.summary() else "") + (
            "It holds no SMTP reply code, no socket or resolver error and no message a known client prints.")
    swaks = ("--tls-on-connect" if clues.port in IMPLICIT_TLS_PORTS else "--tls" if clues.port
             else "--tls (or --tls-on-connect on 465)")
    port = f" --port {clues.port}" if clues.port else ""
    entry = Entry(
        id=UNMATCHED,
        title=title,
        group=Group.UNMATCHED,
        ports=(clues.port,) if clues.port else (),
        what_happened=told.strip(),
        why=("No entry of the catalog fits this text well enough to name a cause. Reply codes are read as "
             "RFC 5321 section 4.2 defines them, enhanced status codes (class.subject.detail) as RFC 3463 and "
             "the IANA registry do; the server's own words after them usually say the rest."),
        fix=("Capture the whole conversation and read the last reply before the failure: with the kit, wrap the "
             "sending code in helpers.record(); in plain Python, smtp.set_debuglevel(1); from any machine, "
             f"swaks --server HOST{port} {swaks} --auth-user USER. Then run "
             "python -m helpers.doctor HOST to see what each port speaks."),
        fix_python=_CAPTURE_PYTHON,
        fix_go=_CAPTURE_GO,
        rfcs=(Rfc(5321, "4.2", "SMTP replies: the three digits and what each position means"),
              Rfc(3463, "2", "enhanced status codes: class.subject.detail")),
    )
    evidence = tuple(dict.fromkeys([*(reply.found for reply in replies[:3]),
                                    *(seen.found for seen in reading.network[:2])]))
    return Match(entry, 0.0, tuple(_redact(e) for e in evidence), ("server",) if replies else (),
                 "no catalog entry fits: this is what the text itself says")


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
    "rust": "Rust", "msmtp": "msmtp", "gnutls": "GnuTLS", "openssl": "OpenSSL", "server": "the server",
    "lab": "the lab", "postfix": "Postfix", "exim": "Exim",
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
    if match.id == UNMATCHED:  # nothing was recognised: the reading quotes what it read
        return f"Read from {quoted}."
    if not match.clients:
        return f"Recognised by {quoted}."
    who = _and([_WHO.get(client, client) for client in match.clients])
    words = f"{who}'s words" if len(match.clients) == 1 else f"the words of {who}"
    return f"Recognised by {quoted}, in {words}."


def _heading(match: Match) -> str:
    """What a card calls its first match: a diagnosis, or a guess where the evidence says several things."""
    return "A guess" if match.note.startswith("a guess") else "Diagnosis"


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
            return "\n".join([f"{_heading(best)}: {e.title} [{e.id}]", *_wrapped(_recognised(best)),
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
            display.notice(f"<b>{_heading(best)}: {display.prose(e.title)}</b> <code>{e.id}</code>"),
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
        description="Explain an SMTP error message from any client (Python, Go, Java, .NET, PHP, Ruby, Rust, "
                    "Node, curl, swaks) or server reply. By default it prints the likeliest cause whole (what "
                    "happened, why, the fix in words, in Python and in Go, the RFCs) and names the less likely "
                    "ones on one line.",
        epilog="Exit status: 0 when a catalog entry explains the text, 1 when none does (what the text tells "
               "is printed instead), 2 on bad usage.",
    )
    parser.add_argument("text", nargs="+",
                        help='the error text: quoted, or as words (they are joined by spaces); "-" reads it from '
                             "standard input")
    parser.add_argument("--port", help="the port the error happened on (465, 587, 25, ...), or PORT=ACTS_AS as the "
                                       "doctor takes it: 10465=465, a lab's port that acts as 465")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--brief", action="store_true",
                        help="only the likeliest cause and the fix in words, without code or RFCs")
    amount.add_argument("--full", action="store_true",
                        help="every likely cause whole (up to three), each with its code")
    amount.add_argument("--json", action="store_true", help="print the matching ids and evidence as JSON")
    options = parser.parse_args(argv)
    port = None
    if options.port is not None:
        from helpers.doctor import BadUsage, parse_ports  # the doctor's reading of a port, for the same spellings

        try:
            ((_, port),) = parse_ports([options.port]).items()  # what the port acts as decides
        except BadUsage as error:
            parser.error(f"--port: {error}")
    if options.text == ["-"]:
        if sys.stdin.isatty():
            print("Paste the error, then press Ctrl-D (Ctrl-Z and Enter on Windows):", file=sys.stderr)
        try:
            text = sys.stdin.read()
        except KeyboardInterrupt:
            return 130
    else:
        text = " ".join(options.text)
    clues = _clues(text, port)
    matches = _diagnosed(clues)
    if options.json:
        said = json.dumps({"port": clues.port, "matches": to_json(matches)}, indent=2)
    elif matches:
        said = Diagnosis(tuple(matches), brief=options.brief).text(limit=3 if options.full else 1)
    else:
        said = "Nothing to read: the text is empty, or not text. Paste the error message your program printed."
    try:
        print(said, flush=True)
    except BrokenPipeError:  # piped into head, which stopped reading: what it read was enough
        display.reader_gone()
    return 0 if matches and matches[0].id != UNMATCHED else 1


if __name__ == "__main__":
    sys.exit(main())
