"""The doctor: find out what each port of a mail host really speaks, and which settings will work.

    report = examine("smtp.example.com", user="me@example.com", password=os.environ["SMTP_PASSWORD"])
    print(report.text())             # every port, the warnings, the recommendation and code to paste
    report.recommendation            # None when no working submission setting was found
    report.to_json()                 # the same for tools

    python -m helpers.doctor smtp.example.com [--port 465 ...] [--timeout S] [--json]
                             [--user U --password-env VAR [--from ADDR]] [--ca-file PATH] [--library NAME]

A port that stands in for another, as the lab's do, is given as PORT=ACTS_AS (--port 10465=465), or in the
lab's own order (465=10465); the report names both, and asks whether the pairs are swapped when a port named
as 465 speaks STARTTLS or one named as 587 implicit TLS. The command also takes a host written with its port
(smtp.example.com:587, [::1]:10465) or as a URL (smtps://smtp.example.com:465), and probes that port as itself.
Ctrl-C stops the command at once, with exit status 130.

The host is resolved first: a name that does not resolve is said so at once, whether it does not exist
or the resolver could not answer. Then ports 25, 465, 587 and 2525 are probed at once, each in its own
thread (helpers.doctor_probe), in two phases of at most one timeout each: recognising what the port
speaks, then talking to it. A port that keeps silent costs one timeout, so the whole run takes about one
timeout.

Recognising. The doctor connects and waits GREETING_SHARE of the timeout for the server's first bytes,
which it peeks at (leaving them unread, for smtplib to read as the greeting):

    refused        the connection is refused: nothing listens there
    no answer      the connection attempt times out: a firewall drops it (many networks block outbound 25)
    smtp           a plaintext SMTP greeting (220) comes first
    not-smtp       plaintext that is not an SMTP reply: an HTTP server, binary junk
    smtp-broken    an SMTP reply that is no greeting (421, 554), a greeting cut off, endless or never
                   finished; later, an EHLO refused or a connection that closes after the greeting

If nothing comes, or the server hangs up without a word (as a TLS port does to a plaintext client), it
may be waiting for a TLS ClientHello, so the doctor tries a handshake, on a new connection, with the
rest of the timeout:

    implicit-tls   the handshake works (or fails only on the certificate), then a 220 greeting comes
    tls-not-smtp   the handshake works, then no SMTP greeting
    not-smtp       the handshake fails, and what the port sent back to it is another protocol: a web
                   server, which waits for its client's request, answers with HTTP/1.0 400
    silent         no greeting, and no TLS either

Talking, with smtplib only: EHLO; STARTTLS when offered, then EHLO again; with credentials, AUTH over
verified TLS only, and with a sender, MAIL FROM then RCPT TO that same address, then RSET: no message is
ever sent. Then QUIT. Every reply is read under the phase's deadline and no more than MAX_REPLY_BYTES of
replies are kept, so a server that trickles, floods or sends junk costs one timeout and little memory.
A password never appears in the report, not even when a server quotes back what the client sent.

Certificates are verified against the system's trust store, or the CA file given. When verification
fails, a second handshake that does not verify is made, only to inspect the certificate for the report;
no password and no mail ever go over it, and the code the doctor recommends always verifies. The report
says whether the server sends its whole certificate chain, and which TLS versions each port speaks: a
third phase tries TLS 1.0, 1.1, 1.2 and 1.3 one at a time (over connections that carry nothing but EHLO).

A host that Gmail or Microsoft 365 serves, by its name or its greeting, gets that provider's notes: the
ports it offers, how it wants you to log in, what it retires and when (helpers.providers). With
`library=` (--library), the recommendation is also written as the setting for that mail library
(helpers.libraries).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers import display, doctor_probe, libraries, terms
from helpers.doctor_probe import TLS_VERSIONS, VERSION_NAMES, Certificate, PortResult, Run, Speaks, port_label, probe
from helpers.preflight import check_address, check_timeout, resolve
from helpers.providers import Provider, recognise
from helpers.snippets import EXAMPLE_USER, go_code, python_code
from helpers.snippets import PASSWORD_VARIABLE as PASSWORD_VARIABLE  # where the recommended code reads it
from helpers.terms import Phase, Security, TlsMode

__all__ = ["DEFAULT_PORTS", "DEFAULT_TIMEOUT", "BadUsage", "Certificate", "PortResult", "Recommendation", "Report",
           "Speaks", "examine", "main"]

DEFAULT_PORTS = (25, 465, 587, 2525)
DEFAULT_TIMEOUT = 5.0  # seconds for each phase of each port's probe
DAYS_LEFT_SHOWN_BELOW = 30  # "N days left" is shown only then: the report stays the same from day to day
SUBMISSION_PORTS = (465, 587, 2525)  # in order of preference (RFC 8314 section 3: implicit TLS first)
STANDARD_PORTS = frozenset({terms.RELAY_PORT, *terms.SUBMISSION_PORTS})  # what a --port pair may name a port as
INTERRUPTED = 130  # the exit status on Ctrl-C: 128 + SIGINT, as a shell reports a command it interrupted
MAIL_SCHEMES = ("smtp", "smtps", "submission", "submissions")  # a host written as a URL (smtps://host:465)

_TLS_WORDS = {TlsMode.IMPLICIT: "implicit TLS", TlsMode.STARTTLS: "STARTTLS"}


class BadUsage(ValueError):
    """The doctor cannot do what it was asked: a host that does not resolve, a port out of range..."""


@dataclass(frozen=True)
class Recommendation:
    """The settings to use: the port it acts as and the one the code connects to (they differ when a
    mapping names a lab's port as another), how TLS starts, with code to paste."""

    port: int
    connect_to: int
    security: TlsMode
    reason: str
    alternatives: list[str]
    python: str
    go: str
    library: str | None = None  # the setting for the library asked for (helpers.libraries.line)


@dataclass
class Report:
    """Everything the doctor found on one host."""

    host: str
    ports: list[PortResult]
    recommendation: Recommendation | None
    credentials_tested: bool
    ca_file: str | None
    provider: Provider | None = None  # recognised by the host's name or a port's greeting

    @property
    def warnings(self) -> list[str]:
        return [f"{result.label}: {sign}" for result in self.ports for sign in result.warnings]

    @property
    def misnamed(self) -> str | None:
        """A line naming each port given as PORT=ACTS_AS that speaks the other way of starting TLS than the
        port it is named as (a port named 465 that speaks STARTTLS): pairs swapped, or a wrong one."""
        doubts = [f"port {result.port}, named as {result.acts_as}, speaks {spoken}"
                  for result in self.ports if (spoken := _spoken_otherwise(result))]
        if not doubts:
            return None
        return f"{', and '.join(doubts)}: {'are the pairs swapped?' if len(doubts) > 1 else 'is the pair right?'}"

    def text(self, *, code: bool = True) -> str:
        """The report for people; the same text for the same server and ports (no timings or dates outside
        the code, which `code=False` leaves out). Each port is named as the port connected to, and what
        it acts as when that differs: 'port 10465 (as 465)'."""
        trust = "the given CA file" if self.ca_file else "the system's trust store"
        listed = ", ".join(str(result.port) if result.port == result.acts_as else f"{result.port} as {result.acts_as}"
                           for result in self.ports)
        lines = [f"SMTP doctor for {self.host} (ports {listed})", ""]
        for result in self.ports:
            lines += [*_port_lines(result, trust), ""]
        if self.warnings:
            lines += ["Warnings", *(f"  ! {warning}" for warning in self.warnings), ""]
        if self.misnamed:
            lines += [self.misnamed, ""]
        if self.provider:
            lines += [f"Provider: {self.provider.name}, recognised by its host name or greeting"]
            lines += [f"  - {note} ({source})" for note, source in self.provider.notes] + [""]
        lines += _recommendation_lines(self, code=code)
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> str:
        provider = self.provider and {
            "name": self.provider.name,
            "notes": [{"note": note, "source": source} for note, source in self.provider.notes],
        }
        return json.dumps({**asdict(self), "provider": provider, "warnings": self.warnings, "misnamed": self.misnamed},
                          indent=2)

    __str__ = __repr__ = text  # a notebook shows the report itself, not a dataclass repr


def examine(
    host: str,
    *,
    ports: Iterable[int] | Mapping[int, int] = DEFAULT_PORTS,
    timeout: float = DEFAULT_TIMEOUT,
    user: str | None = None,
    password: str | None = None,
    mail_from: str | None = None,
    ca_file: str | Path | None = None,
    library: str | None = None,
    on_port_done: Callable[[PortResult], None] | None = None,
) -> Report:
    """Probe `ports` of `host` at once and recommend settings. `ports` is a list of port numbers, or a
    mapping {port to connect to: the port it acts as}. With `user` and `password`, AUTH is tried on each
    port that offers it over verified TLS; with `mail_from` too, whether that sender is accepted (no
    mail is sent). `library` (a key of helpers.libraries.LIBRARIES, in any case) adds the setting for that
    library to the recommendation, trusting the CA file given. `on_port_done` is called with each port's
    result as it finishes, from its thread.

    Raises BadUsage (a ValueError), before connecting, for what can be seen then: a host that does not
    resolve (saying whether it does not exist or the resolver could not answer), or is written with a port
    (which goes in `ports`) or a user, a port out of range, a timeout that is not a number of seconds above
    0 and at most an hour, credentials given by halves, a sender that is no address, a CA file that cannot be
    read or holds no PEM certificate, a library it does not know. What happens on the network is in the
    report."""
    named = _named_ports(ports)
    try:
        library = library and libraries.named(library).key
    except KeyError as error:
        raise BadUsage(error.args[0]) from None
    run = _prepare(host, timeout, user, password, mail_from, ca_file)
    results = _probe_at_once(run, named, on_port_done)
    greetings = [result.banner for result in results if result.banner]
    provider = next(filter(None, (recognise(run.host, greeting) for greeting in greetings)), recognise(run.host))
    return Report(run.host, results, _recommend(run, results, library, provider), user is not None,
                  str(ca_file) if ca_file else None, provider)


def _probe_at_once(run: Run, named: dict[int, int],
                   on_port_done: Callable[[PortResult], None] | None) -> list[PortResult]:
    """Each port in a thread of its own, the results in the order asked for. The threads are daemons and
    waited for with join(), which Ctrl-C interrupts: the caller gets KeyboardInterrupt at once and the
    probes left behind end within their timeouts, keeping no process alive (a ThreadPoolExecutor's
    workers would hold both the caller and the interpreter's exit until they finish)."""
    outcomes: dict[int, PortResult | Exception] = {}

    def probe_one(port: int) -> None:
        try:
            outcomes[port] = probe(run, port, named[port])
            if on_port_done is not None:
                on_port_done(outcomes[port])
        except Exception as error:  # raised again in the caller's thread, below
            outcomes[port] = error

    threads = [threading.Thread(target=probe_one, args=(port,), name=f"smtp-doctor-{port}", daemon=True)
               for port in named]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcome in outcomes.values():
        if isinstance(outcome, Exception):
            raise outcome
    return [outcomes[port] for port in named]


# --------------------------------------------------------------------------------------------------
# Checks made before connecting


def _prepare(host: str, timeout: float, user: str | None, password: str | None, mail_from: str | None,
             ca_file: str | Path | None) -> Run:
    if (user is None) != (password is None):
        raise BadUsage("give both a user and a password, or neither")
    if mail_from is not None and user is None:
        raise BadUsage("a sender to check needs a user and password: it is checked after AUTH")
    ca_file = str(ca_file) if ca_file else None
    host, port = _split_host(host)
    if port is not None:
        raise BadUsage(f"the host {host!r} is given with a port: give the host alone, and the port in ports "
                       f"(on the command line, --port {port})")
    try:
        timeout = check_timeout(timeout)
        if mail_from is not None:
            check_address(mail_from)
        addresses = resolve(host)
        verifying = ssl.create_default_context(cafile=ca_file)
    except ValueError as error:
        raise BadUsage(str(error)) from None
    except ssl.SSLError:  # OpenSSL's own words ("[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found")
        raise BadUsage(f"cannot use the CA file {ca_file}: no certificate could be read from it; it should "
                       "hold PEM certificates (-----BEGIN CERTIFICATE-----), as the file the lab's --ca-file "
                       "writes") from None
    except OSError as error:
        raise BadUsage(f"cannot use the CA file {ca_file}: {error.strerror or error}") from None
    return Run(host, addresses, timeout, user, password, mail_from, ca_file, verifying)


def _split_host(text: str) -> tuple[str, int | None]:
    """The host as people write it, and the port written with it: 'smtp.example.com', '::1' and '[::1]' are
    hosts alone; 'smtp.example.com:587', '[::1]:10465' and URLs (smtps://smtp.example.com:465, or without
    the port) carry one. A URL's scheme is dropped: the doctor finds out itself what each port speaks. A
    user or password in the text is refused without being echoed."""
    if "@" in text:
        raise BadUsage("give the host alone: a user goes in --user and a password in the environment variable "
                       "that --password-env names, never in the host")
    scheme, slashes, rest = text.rpartition("://")
    if slashes and scheme.lower() not in MAIL_SCHEMES:
        raise BadUsage(f"{scheme}:// is no mail server's URL: give the host alone (smtp.example.com), and each "
                       "port with --port")
    if slashes and rest.rstrip("/").count("/") + rest.count("?"):
        raise BadUsage(f"give the host of {scheme}:// alone (smtp.example.com), and each port with --port: the "
                       "doctor takes no path or options")
    rest = rest.rstrip("/")
    if rest.startswith("["):  # an IPv6 address, as URLs write it
        host, bracket, after = rest[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise BadUsage(f"{text!r} is not a host: write an IPv6 address alone (::1) or in brackets ([::1])")
        port_text = after[1:] if after else None
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    else:  # a name, an IPv4 address, or an IPv6 address (whose colons are no port's)
        host, port_text = rest, None
    if port_text is None:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536 or not host:
        raise BadUsage(f"{text!r} is not a host with a port (smtp.example.com:587): give the host alone, and "
                       "each port with --port")
    return host, int(port_text)


def _named_ports(ports: Iterable[int] | Mapping[int, int]) -> dict[int, int]:
    named = dict(ports) if isinstance(ports, Mapping) else {port: port for port in ports}
    if not named:
        raise BadUsage("no ports to probe: give at least one port, e.g. 25, 465, 587")
    for port in [*named, *named.values()]:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise BadUsage(f"port {port!r} is out of range: use 1-65535")
    return named


# --------------------------------------------------------------------------------------------------
# The report


def _port_lines(result: PortResult, trust: str) -> list[str]:
    lines = [result.summary()]

    def add(label: str, value: str) -> None:
        for number, line in enumerate(value.split("\n")):
            lines.append(f"  {label if number == 0 else '':<16}{line}")

    if result.banner:
        add("banner", result.banner)
    if result.capabilities is not None:
        add("EHLO", _listed(result.capabilities))
    if result.tls_version:
        add("TLS", f"{_TLS_WORDS[result.tls]}, {result.tls_version}, {result.cipher}")
    if result.tls_error:
        add("TLS", result.tls_error)
    if result.tls_versions:
        add("TLS versions", _versions(result.tls_versions))
    if result.verified is not None:
        add("verified", f"yes, trusting {trust}" if result.verified else f"no: {result.verify_error}")
    cert = result.certificate
    if cert:
        add("certificate", cert.subject)
        add("  names", ", ".join(cert.names) or "(none)")
        add("  issuer", cert.issuer)
        add("  valid", _validity(cert))
        add("  host name", "matches" if cert.name_matches else "not among its names")
        add("  chain", _chain(result, trust))
    if result.capabilities_after_tls is not None:
        add("EHLO after TLS", _listed(result.capabilities_after_tls))
    if result.auth:
        add("AUTH", result.auth)
    if result.sender:
        add("sender", result.sender)
    return lines


def _spoken_otherwise(result: PortResult) -> str | None:
    """How a port connected to in the place of a standard one starts TLS, when that is not how the port it
    is named as does (implicit TLS on 465, STARTTLS on 25 and 587); else None."""
    if result.port == result.acts_as or result.acts_as not in STANDARD_PORTS:
        return None
    named_implicit = terms.security_for_port(result.acts_as) == Security.IMPLICIT
    if result.speaks == Speaks.IMPLICIT_TLS and not named_implicit:
        return _TLS_WORDS[TlsMode.IMPLICIT]
    if result.speaks == Speaks.SMTP and named_implicit:
        return _TLS_WORDS[TlsMode.STARTTLS] if "STARTTLS" in (result.capabilities or {}) else "plain SMTP, without TLS"
    return None


def _listed(capabilities: dict[str, str]) -> str:
    return ", ".join(f"{keyword} {value}".strip() for keyword, value in capabilities.items()) or "(no extensions)"


def _versions(outcomes: dict[str, str]) -> str:
    """'1.2, 1.3 (1.0, 1.1 refused)'; a refusal after the handshake is quoted."""
    said = [VERSION_NAMES[name][4:] for name in TLS_VERSIONS if outcomes.get(name) == "accepted"]
    text = ", ".join(said) or "none"
    refused = [VERSION_NAMES[name][4:] for name in TLS_VERSIONS if outcomes.get(name) == "refused"]
    if refused:
        text += f" ({', '.join(refused)} refused)"
    answered = {outcome: [VERSION_NAMES[n][4:] for n in TLS_VERSIONS if outcomes.get(n) == outcome]
                for outcome in outcomes.values() if outcome not in ("accepted", "refused")}
    for reply, versions in answered.items():
        text += f"\n{' and '.join(versions)}: handshake, then {reply}"
    return text


def _chain(result: PortResult, trust: str) -> str:
    cert = result.certificate
    count = f"{cert.sent} certificate{'s' if cert.sent > 1 else ''} sent"
    if result.chain_complete:
        return f"{count}, complete up to a trusted CA"
    if result.chain_complete is False:
        return f"{count}: incomplete, the intermediate CA's certificate is missing"
    if result.verify_code == doctor_probe.SELF_SIGNED:
        return f"{count}, signed by itself: no CA vouches for it, so a client must trust this very certificate"
    if result.verify_code == doctor_probe.SELF_SIGNED_IN_CHAIN:
        return f"{count}, up to a root CA that {trust} does not hold"
    if result.verify_code == doctor_probe.UNABLE_TO_GET_ISSUER:
        issuer = cert.issuer if cert.sent == 1 else "the last certificate's issuer"
        unsaid = "" if cert.issuer_url else " (the certificate does not say where its issuer is published)"
        return f"{count}; its issuer ({issuer}) is neither sent nor in {trust}: a CA not trusted here, or an " \
               f"intermediate left out{unsaid}"
    return f"{count}; not judged: verification stopped at '{result.verify_error}' before the chain was checked"


def _validity(cert: Certificate) -> str:
    if cert.not_yet_valid:
        return f"from {cert.not_before} to {cert.not_after} (not valid yet)"
    if cert.days_left < 0:
        return f"until {cert.not_after} (expired)"
    if cert.days_left < DAYS_LEFT_SHOWN_BELOW:
        return f"until {cert.not_after} ({cert.days_left} days left)"
    return f"until {cert.not_after}"


# --------------------------------------------------------------------------------------------------
# The recommendation


def _preference(result: PortResult) -> tuple:
    rank = SUBMISSION_PORTS.index(result.acts_as) if result.acts_as in SUBMISSION_PORTS else len(SUBMISSION_PORTS)
    return result.tls != TlsMode.IMPLICIT, rank, result.acts_as


def _setting(result: PortResult) -> str:
    return f"{result.label} with {_TLS_WORDS[result.tls]}"


def _recommend(run: Run, results: list[PortResult], library: str | None = None,
               provider: Provider | None = None) -> Recommendation | None:
    working = sorted((result for result in results if result.works), key=_preference)
    if not working:
        return None
    best = working[0]
    if best.tls == TlsMode.IMPLICIT:
        reason = "TLS from the first byte, as RFC 8314 section 3 recommends for submission"
    else:
        reason = "STARTTLS on a submission port; implicit TLS, which RFC 8314 prefers, works on no port here"
    mechanisms = (best.capabilities_after_tls or {}).get("AUTH", "").split()
    # The code connects to the port that answered, which a mapping may name as another (10465=465).
    code = dict(host=run.host, port=best.port, security=Security(best.tls), user=run.user or EXAMPLE_USER,
                sender=run.mail_from or run.user, ca_file=run.ca_file, oauth=bool(provider and provider.oauth))
    return Recommendation(
        port=best.acts_as,
        connect_to=best.port,
        security=best.tls,
        reason=reason,
        alternatives=[_setting(result) for result in working[1:]],
        python=python_code(best.acts_as, **code),
        go=go_code(best.acts_as, plain_auth="PLAIN" in mechanisms, **code),
        library=library and libraries.line(library, host=run.host, port=best.port, security=Security(best.tls),
                                           ca_file=run.ca_file),
    )


def _recommendation_lines(report: Report, *, code: bool = True) -> list[str]:
    chosen = report.recommendation
    if chosen is None:
        return _nothing_works(report)
    lines = [f"Recommendation: {port_label(chosen.connect_to, chosen.port)} with {_TLS_WORDS[chosen.security]}",
             f"  why: {chosen.reason}"]
    lines += [f"  also works: {alternative}" for alternative in chosen.alternatives]
    if chosen.library:
        lines.append(f"  in your library: {chosen.library}")
    if not report.credentials_tested:
        lines.append("  credentials not tested: give a user and password to try AUTH (no mail is ever sent)")
    if not code:
        return lines
    return [*lines, "", "Python (smtplib):", *_indented(chosen.python), "", "Go (net/smtp):", *_indented(chosen.go)]


def _nothing_works(report: Report) -> list[str]:
    """Why no setting works; when the ports and TLS do, and only the login or the sender was refused, that."""
    refused = sorted((result for result in report.ports if result.refused_at), key=_preference)
    if not refused:
        return ["No working submission setting found: each port above says why."]
    *others, last = [_setting(result) for result in refused]
    settings = f"{', '.join(others)} and {last}" if others else last
    if any(result.refused_at == Phase.AUTH for result in refused):
        return ["No working submission setting found with this login: the server refused it (AUTH above says why).",
                f"  The port and TLS are right: {settings}.",
                "  Check the user name and the password (an app password, where the provider asks for one)."]
    return ["No working submission setting found for this sender: the server took the login and refused the sender "
            "(sender above says why).",
            f"  The port, TLS and login are right: {settings}.",
            "  Send as an address this login may use, or ask the provider to let it use this one."]


def _indented(code: str) -> list[str]:
    return [f"    {line}".rstrip() for line in code.splitlines()]


# --------------------------------------------------------------------------------------------------
# Command line: python -m helpers.doctor


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        if message.startswith("unrecognized arguments"):
            # Not echoed: one of them may be a password, typed where it must never go.
            message = "unrecognized arguments (see --help); a password is read from --password-env VAR, never a flag"
        raise BadUsage(message)  # one line on stderr, like every other usage error, not argparse's two


def _port_option(text: str) -> tuple[int, int]:
    """'465' -> (465, 465); '10465=465' -> (10465, 465): connect to 10465, call it 465. The lab's own order
    (its --ports takes ACTS_AS=PORT) is read too, where it cannot be mistaken: when exactly one side is
    25, 465 or 587, that side is what the other acts as. Two standard ports, or none, are PORT=ACTS_AS.
    A port acts as one the doctor probes by default (DEFAULT_PORTS), or as itself."""
    first, equals, second = text.partition("=")
    try:
        port, acts_as = int(first), int(second if equals else first)
    except ValueError:
        raise BadUsage(f"{text!r} is not a port: use a port number (465) or PORT=ACTS_AS (10465=465)") from None
    if port in STANDARD_PORTS and acts_as not in STANDARD_PORTS:
        port, acts_as = acts_as, port
    # 10465=466: a slip, which the report and the code would keep (a number out of range is said so later)
    if acts_as != port and acts_as not in DEFAULT_PORTS and 0 < acts_as < 65536:
        *others, last = DEFAULT_PORTS
        raise BadUsage(f"{text!r}: {acts_as} is no port another can act as; name it as {', '.join(map(str, others))} "
                       f"or {last} ({port}=465), or give the port alone (--port {port})")
    return port, acts_as


def parse_ports(texts: Iterable[str]) -> dict[int, int]:
    """Ports as a person writes them (the --port options, the panel's field): {port: what it acts as}."""
    ports: dict[int, int] = {}
    for text in texts:
        port, acts_as = _port_option(text)
        if port in ports:
            raise BadUsage(f"{text!r}: port {port} is given already (as {ports[port]})")
        ports[port] = acts_as
    return _named_ports(ports)


def _password(options: argparse.Namespace) -> str | None:
    if options.user is None and options.password_env is None:
        return None
    if options.user is None or options.password_env is None:
        raise BadUsage("give --user and --password-env VAR together (the password is read from VAR, never a flag)")
    password = os.environ.get(options.password_env)
    if not password:
        # The name is not echoed either: a password passed as the name by mistake must not be printed.
        raise BadUsage("the environment variable named by --password-env is not set; it should hold the password")
    return password


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when a working submission setting was found, 1 when none was, 2 on bad usage."""
    parser = _Parser(
        prog="python -m helpers.doctor",
        allow_abbrev=False,  # or --password SECRET would be taken for --password-env SECRET
        description="Find out what each port of a mail host speaks, and which settings will work. No mail is sent.",
    )
    parser.add_argument("host", help="the mail host: a name, an IPv4 address, or an IPv6 one such as ::1 or [::1]; "
                                     "with a port to probe that one (smtp.example.com:587, [::1]:10465), or as a "
                                     "URL (smtps://smtp.example.com)")
    parser.add_argument("--port", action="append", metavar="PORT[=ACTS_AS]",
                        help=f"probe this port (repeat it; default {', '.join(map(str, DEFAULT_PORTS))}); "
                             "PORT=ACTS_AS names it as the port it acts as, e.g. 10465=465 (the lab's order, "
                             "465=10465, is read too)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds for each phase of each port's probe (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (progress goes to stderr)")
    parser.add_argument("--user", help="try AUTH as this user on each port that offers it over verified TLS")
    parser.add_argument("--password-env", metavar="VAR", help="the environment variable holding the password")
    parser.add_argument("--from", dest="mail_from", metavar="ADDR",
                        help="check that this sender is accepted after AUTH (MAIL FROM, RCPT TO, RSET; nothing sent)")
    parser.add_argument("--ca-file", help="trust this CA file (PEM) instead of the system's trust store: for the "
                                          "lab, the file its own --ca-file wrote")
    parser.add_argument("--library", metavar="NAME",
                        help="also write the recommendation as the setting for this mail library, trusting the "
                             f"--ca-file given: {', '.join(known.key for known in libraries.LIBRARIES)} (any case)")
    progress = _Progress()
    try:
        options = parser.parse_args(argv)
        host, port = _split_host(options.host)
        ports = parse_ports(options.port) if options.port else {}
        if port is not None:  # smtp.example.com:587: that port too (alone, without --port)
            ports.setdefault(port, port)
        ports = ports or {port: port for port in DEFAULT_PORTS}
        progress.start(host, [port_label(port, acts_as) for port, acts_as in ports.items()], lines=options.json)
        report = examine(
            host,
            ports=ports,
            timeout=options.timeout,
            user=options.user,
            password=_password(options),
            mail_from=options.mail_from,
            ca_file=options.ca_file,
            library=options.library,
            on_port_done=progress.done,
        )
    except BadUsage as error:
        progress.end()
        print(f"doctor: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: no report, since the probes did not finish
        progress.end()
        print("doctor: interrupted", file=sys.stderr)
        return INTERRUPTED
    progress.end()
    try:
        if options.json:
            print(report.to_json())
        else:
            print(report.text(), end="")
            for hint in filter(None, (_timeout_hint(report, options.timeout), _lab_hint(report))):
                print(hint)
    except BrokenPipeError:  # its reader has gone (`| head -3`): no traceback; the exit status is the report's
        display.reader_gone()
    return 0 if report.recommendation else 1


SHORT_TIMEOUT = 1.0  # seconds: below this, a port that seems silent may only be slow to connect or greet
TIMEOUT_HINT = ("A port kept silent or did not answer within --timeout {timeout:g} s, which is short: a working "
                f"server may take longer to connect and greet. Run again with the default ({DEFAULT_TIMEOUT:g} s) "
                "before concluding.")
LAB_HINT = ("Nothing listens there. The lab listens on ports of its own: pass each with --port (--port 10465=465), "
            "or start the lab with --ports 25=10025,465=10465,587=10587 and pass those.")
LAB_PORTS_HINT = ("Nothing listens on these ports: is the lab running? python -m helpers.lab --ca-file lab-ca.pem "
                  "--ports 25=10025,465=10465,587=10587 starts it, and its table names the port of each endpoint.")
LAB_IPV6_HINT = ("Nothing listens on ::1 at these ports: python -m helpers.lab listens on 127.0.0.1 only (its "
                 "certificate names ::1 too, for a lab started in Python with Lab(host=\"::1\")). Examine 127.0.0.1 "
                 "instead, with the same options.")
LAB_CA_HINT = ("The certificate's issuer is not trusted here. If this is the lab, trust the lab's own CA: pass "
               "the file its line 'CA file (trust it in your client)' names with --ca-file PATH.")


def _timeout_hint(report: Report, timeout: float) -> str | None:
    """A port found silent, or unanswering, within a timeout so short that a working one could look the same."""
    unheard = any(result.speaks in (Speaks.SILENT, Speaks.NO_ANSWER) for result in report.ports)
    return TIMEOUT_HINT.format(timeout=timeout) if unheard and timeout < SHORT_TIMEOUT else None


def _lab_hint(report: Report) -> str | None:
    """What a report on loopback tells someone who meant to examine the lab: nothing listens where they
    looked (the standard ports, not the lab's; the lab's, but no lab; ::1, where the lab's command does not
    listen), or the lab's certificates were checked without its CA."""
    addresses = resolve(report.host)
    if not all(ipaddress.ip_address(address[0]).is_loopback for _, address in addresses):
        return None
    if all(result.speaks == Speaks.REFUSED for result in report.ports):
        if all(family == socket.AF_INET6 for family, _ in addresses):
            return LAB_IPV6_HINT
        standard = all(result.port == result.acts_as and result.port in DEFAULT_PORTS for result in report.ports)
        return LAB_HINT if standard else LAB_PORTS_HINT
    unknown_issuer = any(result.verify_code == doctor_probe.UNABLE_TO_GET_ISSUER for result in report.ports)
    return LAB_CA_HINT if unknown_issuer and report.ca_file is None else None


class _Progress:
    """What the command line says on stderr while the probes run. With --json, a line per port as it
    finishes, beside the JSON on stdout. Else, on a terminal, one line naming the ports still awaited,
    rewritten in place and erased before the report: each port's verdict is printed once, in the report.
    After end(), a probe still running (Ctrl-C does not wait for them) says nothing more."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines = self.live = False
        self.waiting: list[str] = []

    def start(self, host: str, labels: list[str], *, lines: bool) -> None:
        self.lines, self.live, self.waiting = lines, not lines and sys.stderr.isatty(), labels
        self._show(f"examining {host}: waiting for {', '.join(labels)}")

    def done(self, result: PortResult) -> None:
        with self.lock:
            if self.lines:
                print(result.summary(), file=sys.stderr, flush=True)
            self.waiting.remove(result.label)
            self._show(f"waiting for {', '.join(self.waiting)}" if self.waiting else "")

    def end(self) -> None:
        with self.lock:
            self._show("")
            self.lines = self.live = False

    def _show(self, text: str) -> None:
        if self.live:
            sys.stderr.write(f"\r\x1b[K{text}")  # back to the line's start, erase it (ECMA-48 EL), write
            sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
