"""The failure catalog: every way sending mail on ports 25, 465 and 587 commonly fails, as data.

Each `Entry` says what happened in plain words, why, how to fix it (in Python and in Go, from
helpers.snippets where the fix is a setting), which RFC sections apply, and how the failure shows:

- `symptoms`: what each client prints, or a server replies, written exactly as printed (`…` stands for a
  part that changes: a host, a port, a time), each with its source;
- `replies`: the SMTP replies (code, enhanced status code, stage) that mean this failure;
- `network`: the socket or resolver errors that can mean it;
- `words`: the words that name this cause however a server or a library phrases it (regular expressions
  over lower-cased text, `_` read as a space): "line too long" and "lines exceed the maximum length" alike.
  They outweigh a general reply code (a 552 that says a line is too long is about the line), not a quoted
  symptom;
- `clauses`: families of words (below) that name this cause together, in any order, within one clause:
  RELAYING with REFUSED reads "Relay access denied", "Relay Service denied for IP" and "relaying is not
  permitted" alike. Weaker than `words`, whose phrases say more;
- `within`: the broader entries this one is a particular case of (a refused login: bad-credentials; a
  certificate refused: cert-untrusted). Servers and libraries wrap the particular reason in the broad one's
  words and code (`535 5.7.8 Error: authentication failed: Invalid authentication mechanism`, GnuTLS's
  `The certificate is NOT trusted. The certificate chain uses expired certificate.`): when this entry's own
  words or symptoms are found, the broader entries yield to it.

helpers.diagnose matches pasted errors against all of them. This module is the schema and the word families; the entries
themselves are in helpers.catalog_entries.

    entry("bad-credentials").fix_python
    python -m helpers.diagnose "535 5.7.8 Error: authentication failed"
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from enum import StrEnum

from helpers.terms import Phase

__all__ = ["CATALOG", "CLIENTS", "ENTRIES", "SERVERS", "Entry", "Group", "Network", "Reply", "Rfc", "Symptom",
           "entry"]

# Who prints a symptom: a client program or library, in each ecosystem readers come from...
CLIENTS = frozenset({"python", "go", "node", "java", "dotnet", "php", "ruby", "rust", "curl", "swaks", "msmtp",
                     "gnutls", "openssl"})
# ...or a server, whose reply any client shows ("server": wording any server may use, often an RFC's).
SERVERS = frozenset({"server", "lab", "postfix", "exim", "exchange", "gmail", "microsoft365", "yahoo",
                     "sendgrid", "amazon-ses", "zoho"})

CATALOG: tuple[Entry, ...]  # every entry, in order (read lazily from helpers.catalog_entries)
ENTRIES: dict[str, Entry]  # the same, by id

_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

# --------------------------------------------------------------------------------------------------
# Word families, for `clauses`: each family is every spelling of one idea that servers
# and libraries use, in lower case.

REFUSED = (r"\b(?:den(?:y|ies|ied)|refus(?:e|es|ed|al)|reject(?:s|ed|ion)?|disallowed|prohibited|forbidden|"
           r"unauthori[sz]ed|not (?:be )?(?:permitted|allowed|authori[sz]ed|accepted)|(?:is|are|was|been) blocked)\b")
# Not "failed": every wrapper says it ("Failed to send email: ... password").
WRONG = rf"{REFUSED}|\b(?:invalid|incorrect|wrong|bad|unsuccessful|not accepted)\b"
UNSUPPORTED = (r"\b(?:not (?:supported|available|implemented|offered|enabled|advertised|recogni[sz]ed|permitted|"
               r"allowed)|unsupported|disabled|"
               r"(?:does|do|did)(?: not|n't) (?:support|offer|advertise|accept)|unimplemented|unknown(?!\[)|"
               r"unrecogni[sz]ed|(?:no|none of the) (?:\w+ ){0,3}"
               r"(?:supported|compatible|suitable|usable|acceptable|available|found))\b")
REQUIRED = r"\b(?:requir(?:e|es|ed|ing)|must|mandatory|needs?|needed|necessary|only (?:over|with|after))\b"
# Not a namespace, a class or a method (.NET's System.Security.Authentication.AuthenticationException is about TLS;
# Perl's App::Controller::Auth->email_sign_in is code).
LOGIN = (r"(?<!::)(?<!\.)\b(?:log ?in|logon|sign[- ]?in|auth|authenticat(?:e|es|ed|ing|ion)|credentials?|passwords?|"
         r"passwd|user ?names?|user ?id)\b(?!\.\w|::|->)")
MECHANISM = (r"\b(?:mechanisms?|mechs|authenticators?|(?:auth\w*|sasl|login) (?:methods?|types?|schemes?)|"
             r"(?:plain|login|cram-md5|digest-md5|ntlm|gssapi|xoauth2?) auth\w*)\b")
# Windows' integrated logins, which System.Net.Mail and MailKit pick by themselves when a server offers them, and
# which fail away from a Windows domain (GSSAPI: "Server not found in Kerberos database").
INTEGRATED_LOGIN = r"\b(?:gssapi|kerberos|ntlm|spnego)\b"
FAILING = r"\b(?:fail(?:s|ed|ure)?|errors?|not supported|unsupported)\b"
# A server's name for relaying, and not Postfix's log field (relay=host) nor a host named relay.example.com.
RELAYING = r"\brelay(?:ing|ed)?\b(?![=\w-]|\.\w)"
# The lists of addresses that send spam, by their generic names and by the best-known lists (RFC 5782).
BLOCKLIST = (r"\b(?:block|black|deny|ban)[ -]?list(?:s|ed|ing)?\b|\bdnsbls?\b|\b(?:dns)?rbls?\b|spamhaus|spamcop|"
             r"barracudacentral|\bsorbs\b|uceprotect|abuseat\.org|\bspamrats\b|\bpsbl\b")
CERTIFICATE = r"\b(?:certificates?|certs?|x\.?509|certificate chain|cert chain)\b"
NOT_TRUSTED = (rf"{REFUSED}|\b(?:verif\w* (?:failed|failure|error)|(?:failed|unable|could not) to verify|"
               r"could not be verified|not (?:be )?verified|untrusted|not trusted|invalid|self[- ]signed|"
               r"unknown (?:ca|issuer|authority)|"
               r"validation (?:failed|failure|error)|(?:failed|unable) to validate|(?:is|was) not valid|bad)\b")
EXPIRED = r"\b(?:expired?|expiry|not yet valid|no longer valid|outside (?:its|the) validity)\b"
HOST_NAME = (r"\b(?:host ?names?|server names?|domain names?|common names?|cn|subject alt\w* names?|alt ?names?|"
             r"dns names?|san)\b")
MISMATCH = r"\b(?:mismatch\w*|(?:does|do|did)(?: not|n't) match|not match\w*|not valid for|invalid for|wrong)\b"
# Too many of something that is counted: the counted thing within a few words ("too many recipient attempts",
# "excessive volume"), not anywhere in the sentence ("too many hops (in reply to end of DATA command)").
TOO_MUCH = (r"\b(?:too many|too much|excessive|unusual(?:ly)? high|high)(?: [\w-]+){0,2}? "
            r"(?:volume|connections?|attempts?|messages?|e-?mails?|mails?|requests?|sessions?|commands?|sending|sends|"
            r"traffic|log ?ins?|deliver(?:y|ies))\b")
# A sending quota, and not a mailbox's (whose "over quota" is the recipient's full mailbox, RFC 3463's X.2.2).
QUOTA = r"(?<!mailbox )(?<!disk )(?<!storage )\b(?:quota|(?:daily|sending|send|message|outgoing) limit|credits?)\b"
# Any limit: a window of time in the text tells a rate from a quota (helpers.diagnose), and without one a limit
# that was reached is a rate, the commoner.
LIMIT = r"(?<!size )(?<!fixed )\blimits?\b"  # not a message's size limit
REACHED = r"\b(?:exceed(?:s|ed|ing)?|reached|over|hit|used up|exhausted|maxed)\b"
ENCRYPTION = r"\b(?:starttls|tls|ssl|encrypt\w*|secure (?:connection|channel|transport))\b"
STARTTLS = r"\bstarttls\b"
# What a server does not offer (narrower than UNSUPPORTED: nothing refused, nothing unknown).
NOT_OFFERED = (r"\b(?:not (?:supported|offered|advertised|available)|unsupported|(?:does|do|did)(?: not|n't) "
               r"(?:support|offer|advertise))\b")
# The login as a service (AUTH, SMTP AUTH), and not one of its methods, which is a mechanism.
AUTH_SERVICE = r"\b(?:smtp[ -])?auth(?:entication)?\b(?: extension| command)?(?! (?:methods?|mechanisms?|types?))"
ACCOUNT_DATA = r"\b(?:passwords?|passwd|user ?names?|credentials?|log ?in details)\b"
MISSING = r"\b(?:missing|empty|blank|not (?:set|given|provided|specified|configured|supplied)|no)\b"
TLS_VERSION = (r"\b(?:tls ?v?1(?:\.[0-3])?|ssl ?v?[23]|protocol versions?|ciphers?|cipher ?suites?|"
               r"signature algorithms?)\b")
OUTDATED = (r"\b(?:no (?:\w+ )?(?:shared|common|matching|mutual)|in common|not (?:supported|enabled|allowed)|"
            r"no longer supported|unsupported|disabled|deprecated|mismatch|incompatible|too (?:old|weak|low))\b")
# A handshake cut short, said of the handshake ("handshake was aborted", "closed during the handshake"); a log's
# "disconnected reason=... handshake failed" is any failure.
HANDSHAKE_CUT_SHORT = (r"\bhandshake\b[^\n.]{0,30}\b(?:closed|aborted|terminated|eof|interrupted|reset)\b|"
                       r"\b(?:closed|aborted|terminated|interrupted|reset|hung up)\b[^\n.]{0,20}\bduring (?:the )?"
                       r"(?:tls |ssl )?handshake\b")
TOKEN = r"\b(?:oauth ?2?|access tokens?|refresh tokens?|bearer tokens?|xoauth2|oauthbearer)\b"
SPENT = r"\b(?:expired|invalid|revoked|refused|rejected|denied)\b"
# Microsoft's switch for password logins over SMTP, in its names ("basic authentication" alone is anyone's: SendGrid
# refuses it with two-factor login on).
BASIC_AUTH = r"\b(?:smtp auth\w*|smtp client auth\w*|authenticated smtp|smtpclientauthentication)\b"
SWITCHED_OFF = r"\b(?:disabled|turned off|switched off|blocked|not (?:enabled|allowed|permitted))\b"
SENDER = (r"\b(?:sender|senders|from address|mail from|envelope from|sending address|from domain|sender domain|"
          r"sending domain)\b")
NOT_OWNED = (r"\b(?:not (?:owned|allowed|permitted|authori[sz]ed|verified|match\w*|yours|registered)|unverified|"
             r"(?:does|do)(?: not|n't) (?:match|belong)|mismatch\w*)\b")
# Mail from a named address (an IPv4 address, or one with digits masked), as a refusal names the sender's.
FROM_ADDRESS = r"\b(?:messages?|mail|e-?mails?|connections?) from \[?(?:\d{1,3}|x{1,3})(?:\.(?:\d{1,3}|x{1,3})){3}\]?"
# A sending host or address blocked, in English or the French of Orange ("Adresse IP source bloquee").
SENDING_HOST = r"\b(?:ip(?: address)?|client host|sending host|source ip|your (?:ip|server|host))\b"
BLOCKED = r"\b(?:blocked|banned|bloqu\w*|gesperrt)\b"
# A receiver's verdict that mail is spam, and the words it is said in ("likely unsolicited mail", "detected as
# spam", "high spam score"); with a refusal, it names a message refused as spam.
# Not Gmail's sentence after many a refusal, whatever its cause ("To reduce the amount of spam sent to Gmail", "To
# best protect our users from spam").
SPAM = r"(?<!amount of )(?<!users from )\b(?:spam|spammy|junk mail|unsolicited|bulk (?:mail|e-?mail))\b"
JUDGED = (r"\b(?:detected|suspected|suspicion|suspicious|likely|looks? like|considered|classified|identified|judged|"
          r"flagged|marked|scored?|probability)\b")
# An account the provider stopped from sending (Microsoft's "restricted", MailChannels' [SB01] "blocked due to
# complaints"), in three families: the account, what was done to it, and sending.
ACCOUNT = r"\b(?:account|mailbox|user|sender|e-?mail address)\b"
SUSPENDED = r"\b(?:blocked|suspended|disabled|locked|frozen|restricted|banned|deactivated)\b"
SENDING = r"\b(?:send(?:ing)?|outgoing|outbound)\b"
_HELD = r"(?:suspended|disabled|blocked|deactivated|frozen)\b"  # not "locked": Microsoft locks a user by policy
# A login held for what the account did, not for its password: a robot check ("prove you are not a robot", a
# captcha), "suspicious activity", an account blocked for spam.
ACCOUNT_HELD = (r"(?:prove|confirm|verify) (?:that )?you(?:'re| are) (?:not a robot|human|a person)|\bcaptcha\b|"
                r"suspicious (?:activity|behaviou?r)|(?:account|mailbox) (?:is |has been )?(?:temporarily )?"
                r"(?:blocked|suspended|frozen) for (?:spam|abuse)|"
                # The sender's own account, as the server words it ("Your account has been suspended"), or as a
                # refused login names it ("authentication failed: account disabled"); not a recipient's mailbox.
                r"\byour (?:e-?mail |mail )?account (?:has been |is |was )?(?:temporarily )?" + _HELD + "|"
                r"\b(?:authenticat\w*|log ?in)\b[^\n]{0,40}\b(?:account|user)\b (?:is |has been |was )?"
                r"(?:temporarily )?" + _HELD)
# A receiver's content filter, not a login: the message itself judged as spam (Gmail's "this message is likely
# unsolicited mail", Yandex's "Message rejected under suspicion of SPAM", QQ Mail's "Mail content denied").
SPAM_VERDICT = (r"likely unsolicited|\bcontent (?:denied|rejected|refused|restrictions?)\b|looks like spam|"
                r"(?:message|mail|content)\b[^\n]{0,30}\b(?:rejected|refused|blocked|denied)\b[^\n]{0,30}\bspam\b|"
                r"\bspam\b[^\n]{0,12}\b(?:message|mail|content)\b[^\n]{0,12}\b(?:rejected|refused|blocked)")
# The name of the client's address (its PTR record), as receivers call it.
REVERSE_NAME = r"\b(?:reverse dns|reverse hostname|rdns|ptr(?: record| resource record)?)\b"
# The greeting command, and not a command wanted before it ("AUTH not allowed before EHLO", "EHLO first").
GREETING_COMMAND = r"(?<!before )\b(?:helo|ehlo)\b(?:/(?:helo|ehlo))?(?! first)"
# A clause: the words between two families, within one sentence (a period inside a host name or a number does not
# end one).
_GAP = r"(?:[^\n.;!?]|\.(?=\w)){0,60}"


def clause(families: tuple[str, ...]) -> str:
    """The regular expression that finds every family, in any order, within one clause."""
    return "|".join(_GAP.join(f"(?:{family})" for family in order) for order in itertools.permutations(families))

_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


class Group(StrEnum):
    """Where a failure belongs; the catalog is ordered by group."""

    PORTS = "ports and TLS modes"
    AUTHENTICATION = "authentication"
    IDENTITY = "identity, relaying and policy"
    NETWORK = "network"
    CERTIFICATES = "certificates and TLS"
    CONTENT = "content and volume"
    UNMATCHED = "no catalog entry"  # only the reading diagnose() gives when no entry fits


class Network(StrEnum):
    """A socket or resolver failure, whatever the language spells it (helpers.diagnose knows the spellings)."""

    REFUSED = "connection refused"
    CONNECT_TIMEOUT = "no answer to the connection attempt"
    READ_TIMEOUT = "connected, then no reply in time"
    TIMEOUT = "timed out"  # the client does not say whether it had connected
    RESET = "connection reset"
    CLOSED = "connection closed"  # EOF: the server hung up without a word
    UNREACHABLE = "network or host unreachable"
    FORBIDDEN = "this machine forbade the connection"  # EACCES: a local firewall, an antivirus, SELinux
    NAME_NOT_FOUND = "host name not found"
    NAME_TEMPORARY = "temporary failure in name resolution"


@dataclass(frozen=True)
class Symptom:
    """What one client prints, or one server replies, and how we know: `source` is a public address or
    the program and version that printed it here, run against the lab (tests/test_real_clients.py and
    tests/test_corpus.py keep those true).

    `whole_line` symptoms (Go's bare `EOF`) match only a whole line (or the end of one, after `: `), never
    a part of a longer text; `generic` ones count only when nothing more specific matched."""

    client: str
    text: str
    source: str
    note: str = ""
    whole_line: bool = False
    generic: bool = False

    def __post_init__(self) -> None:
        if self.client not in CLIENTS | SERVERS:
            raise ValueError(f"unknown client {self.client!r}; choose one of: {', '.join(sorted(CLIENTS | SERVERS))}")
        if not self.text.strip() or self.text != self.text.strip():
            raise ValueError(f"a symptom's text must be non-empty, without surrounding space: {self.text!r}")
        if not self.source.strip():
            raise ValueError(f"the symptom {self.text!r} needs a source: a public address, or a program and version")


@dataclass(frozen=True)
class Reply:
    """A server reply that means this failure: the reply code (RFC 5321 section 4.2), the enhanced status
    code (RFC 3463, `class.subject.detail`), either of which may be left out, and the stage it answers."""

    code: int | None
    enhanced: str | None = None
    phase: Phase | None = None

    def __post_init__(self) -> None:
        if self.code is None and self.enhanced is None:
            raise ValueError("a reply needs a code, an enhanced status code, or both")
        if self.code is not None and not 200 <= self.code <= 599:
            raise ValueError(f"{self.code} is not an SMTP reply code")
        if self.enhanced is not None and not _ENHANCED.fullmatch(self.enhanced):
            raise ValueError(f"{self.enhanced!r} is not an enhanced status code (RFC 3463: like 5.7.8)")
        if self.code is not None and self.enhanced is not None and str(self.code)[0] != self.enhanced[0]:
            raise ValueError(f"{self.code} {self.enhanced}: the reply code and enhanced code disagree on the class")


@dataclass(frozen=True)
class Rfc:
    number: int
    section: str
    about: str

    def __str__(self) -> str:
        return f"RFC {self.number} section {self.section}: {self.about}"


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    group: Group
    ports: tuple[int, ...]
    what_happened: str
    why: str
    fix: str
    fix_python: str
    fix_go: str
    rfcs: tuple[Rfc, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    replies: tuple[Reply, ...] = ()
    network: tuple[Network, ...] = ()
    words: tuple[str, ...] = ()
    clauses: tuple[tuple[str, ...], ...] = ()
    within: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"catalog ids are lower-case words joined by hyphens, not {self.id!r}")
        for name in ("title", "what_happened", "why", "fix", "fix_python", "fix_go"):
            if not getattr(self, name).strip():
                raise ValueError(f"{self.id}: {name} is empty")
        for words in self.words:
            if words != words.lower() or not words.strip():
                raise ValueError(f"{self.id}: words are lower-case regular expressions, not {words!r}")
            re.compile(words)
        texts = [symptom.text.lower() for symptom in self.symptoms]
        if len(texts) != len(set(texts)):
            raise ValueError(f"{self.id}: a symptom is listed twice")
        # Never recommend switching verification off, in any spelling.
        for code in (self.fix_python, self.fix_go):
            for unsafe in ("InsecureSkipVerify: true", "CERT_NONE", "check_hostname = False",
                           "_create_unverified_context"):
                if unsafe in code:
                    raise ValueError(f"{self.id}: a fix must not turn certificate checks off ({unsafe})")

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


def entry(entry_id: str) -> Entry:
    """The catalog entry with this id."""
    try:
        return _entries()[entry_id]
    except KeyError:
        raise KeyError(f"no catalog entry {entry_id!r}; the ids are: {', '.join(_entries())}") from None


@functools.cache
def _entries() -> dict[str, Entry]:
    # The data lives in helpers.catalog_entries, which imports this schema; read lazily, either module can
    # be imported first.
    from helpers.catalog_entries import CATALOG

    entries = {item.id: item for item in CATALOG}
    if len(entries) != len(CATALOG):
        raise ValueError("two catalog entries share an id")
    for item in CATALOG:
        unknown = [broader for broader in item.within if broader not in entries or broader == item.id]
        if unknown:
            raise ValueError(f"{item.id}: within names no other entry: {', '.join(unknown)}")
    return entries


def __getattr__(name: str) -> object:
    """CATALOG (every entry, in order) and ENTRIES (by id), from helpers.catalog_entries."""
    if name == "CATALOG":
        return tuple(_entries().values())
    if name == "ENTRIES":
        return _entries()
    raise AttributeError(f"module 'helpers.catalog' has no attribute {name!r}")
