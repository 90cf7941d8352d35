"""The catalog's per-client symptoms stay true: swaks, curl, Go's net/smtp and nodemailer, run for real
against the lab, print what the catalog says they print, and diagnose() recognises it.

Each client trusts only the lab's CA (swaks --tls-ca-path, curl --cacert, Go through SSL_CERT_FILE,
nodemailer tls.ca). A client that is not installed is skipped, with the command that installs it.
Client programs live in tests/clients/: a Go program using only net/smtp and crypto/tls (built here
with a temporary GOCACHE and GOPATH, no module downloads) and a nodemailer script (its node_modules is
installed from the committed package-lock.json when missing).
"""

from __future__ import annotations

import base64
import datetime
import itertools
import os
import re
import shutil
import smtplib
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from clients.matrix import CLIENTS

from helpers.diagnose import diagnose
from helpers.lab import Endpoint, Lab
from helpers.oauth import GMAIL_SCOPE, M365_SCOPE
from helpers.profiles import APP_PASSWORDS, FOREIGN_DOMAIN, MAX_FAILED_LOGINS, USERS, LoginRateLimit, profile_named

pytestmark = pytest.mark.clients

ALICE, BOB = "alice@example.com", "bob@example.com"
OUTSIDER, STRANGER = f"someone@{FOREIGN_DOMAIN}", f"friend@{FOREIGN_DOMAIN}"
NEW_SENDER = "<a sender the server has not seen>"  # replaced by a fresh address on each run (greylisting)
RUN_TIMEOUT = 30  # seconds any one client run may take, whatever happens
PROFILES = (
    "relay", "submission", "submissions", "submission-strict-from", "submission-no-starttls",
    "submission-no-smtputf8", "submission-tls-unavailable", "submission-wrong-host-cert",
    "submissions-wrong-host-cert", "submissions-expired-cert", "submissions-not-yet-valid-cert",
    "submissions-untrusted-cert", "submissions-self-signed-cert", "submissions-handshake-abort", "silent", "closed",
    "blackhole", "busy", "greylisting", "rate-limited", "slow", "not-smtp", "tls-not-smtp",
    "submissions-old-tls", "submission-old-tls", "submissions-cn-only-cert", "submissions-incomplete-chain-cert",
    "gmail-like-587", "gmail-like-465", "m365-like-587",
)
_fresh = itertools.count(1)


@dataclass(frozen=True)
class Case:
    """One failure as one client produces it: which endpoint, which options, what it must diagnose as.
    `ambiguous` cases print too little to decide (swaks's bare "certificate verify failed"): the entry
    must be among the matches and the best match must say it is a guess."""

    expected: str
    profile: str
    args: tuple[str, ...] = ()
    login: str | None = None  # None, "right" or "wrong"
    sender: str = ALICE
    to: str = BOB
    ambiguous: bool = False
    host: str | None = None  # dial this name or address instead of the lab's 127.0.0.1

    def __str__(self) -> str:
        words = [self.expected + "@" + self.profile, *(arg.strip("-") for arg in self.args), self.host or ""]
        return "-".join(word for word in words if word)


@dataclass(frozen=True)
class Ran:
    returncode: int
    output: str


def _password(login: str | None) -> str:
    return USERS[ALICE] if login == "right" else "not-the-password"


def _run(command: list[str], *, env: dict | None = None, cwd: Path | None = None, timeout: float = RUN_TIMEOUT) -> Ran:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    return Ran(done.returncode, done.stdout + done.stderr)


def _scrub(text: str) -> str:
    """Client output with every form of a lab credential blanked, for assertion messages."""
    for user, password in USERS.items():
        for secret in (password, user, f"\0{user}\0{password}"):
            text = text.replace(base64.b64encode(secret.encode()).decode(), "****")
        text = text.replace(password, "****")
    return text


def check(lab: Lab, case: Case, ran: Ran) -> None:
    matches = diagnose(ran.output, port=lab[case.profile].acts_as)
    ids = [match.id for match in matches]
    assert ran.returncode != 0, _scrub(ran.output)
    if case.ambiguous:
        assert case.expected in ids and matches[0].note, (ids, _scrub(ran.output))
    else:
        assert ids[:1] == [case.expected], (ids, _scrub(ran.output))


@pytest.fixture(scope="module")
def lab():
    # The standard rate-limited endpoint lifts its block half a second after the failures: less than a client
    # may take to start on a busy machine, which then meets a plain 535. Here the block outlasts any start.
    limited = profile_named("rate-limited")
    rules = tuple(LoginRateLimit(window=RUN_TIMEOUT) if isinstance(rule, LoginRateLimit) else rule
                  for rule in limited.policies)
    profiles = [replace(limited, policies=rules) if name == limited.name else name for name in PROFILES]
    with Lab(*profiles) as lab:
        yield lab


def endpoint_for(lab: Lab, case: Case) -> Endpoint:
    """The case's endpoint; for the rate-limited one, with its allowance of bad logins just used up, so
    that the client meets the block (which lifts after a moment)."""
    if case.profile == "rate-limited":
        for _ in range(MAX_FAILED_LOGINS):
            with smtplib.SMTP(*lab["rate-limited"].address, timeout=10) as smtp:
                smtp.starttls(context=lab.client_context())
                with pytest.raises(smtplib.SMTPAuthenticationError):
                    smtp.login(ALICE, "not-the-password")
    return lab[case.profile]


def _new_sender(address: str) -> str:
    return f"news{next(_fresh)}@{FOREIGN_DOMAIN}" if address == NEW_SENDER else address


# --------------------------------------------------------------------------------------------------
# swaks


@pytest.fixture(scope="module")
def swaks():
    # Ask swaks what it can do: without its TLS and AUTH modules it would fail these tests for the wrong reason.
    if CLIENTS["swaks"].version() is None:
        pytest.skip(f"swaks is not installed with TLS and AUTH ({CLIENTS['swaks'].install})")


def run_swaks(lab: Lab, case: Case) -> Ran:
    endpoint = endpoint_for(lab, case)
    command = ["swaks", "--server", endpoint.host, "--port", str(endpoint.port), "--helo", "client.example.com",
               "--timeout", "3", "--tls-verify", "--tls-ca-path", str(lab.ca_file),
               "--from", _new_sender(case.sender), "--to", case.to, *case.args]
    if case.login:
        command += ["--auth-user", ALICE, "--auth-password", _password(case.login), "--auth-hide-password"]
    return _run(command)


SWAKS = [
    Case("plaintext-to-implicit-tls", "submissions"),
    Case("implicit-tls-to-starttls-port", "submission", ("--tls-on-connect",)),
    Case("starttls-unavailable", "submission-no-starttls", ("--tls",)),
    Case("starttls-refused", "submission-tls-unavailable", ("--tls",)),
    Case("starttls-required-first", "submission"),
    Case("auth-not-advertised", "submission", login="right"),
    Case("auth-mechanism-mismatch", "submission", ("--tls", "--auth", "CRAM-MD5"), login="right"),
    Case("bad-credentials", "submission", ("--tls",), login="wrong"),
    Case("unauthenticated-submission", "submission", ("--tls",)),
    Case("sender-identity-mismatch", "submission", ("--tls",), login="right", sender=BOB),
    Case("from-header-mismatch", "submission-strict-from", ("--tls", "--data", "Subject: Hi\n\nHi!\n"), login="right"),
    Case("relay-denied", "relay", sender=OUTSIDER, to=STRANGER),
    Case("egress-port-blocked", "blackhole", ("--timeout", "1")),
    Case("connection-refused", "closed"),
    Case("greeting-timeout", "silent", ("--timeout", "1")),
    Case("server-busy", "busy"),
    Case("not-smtp", "not-smtp"),
    Case("not-smtp", "tls-not-smtp", ("--tls-on-connect",)),
    # swaks names no reason for a failed verification: any certificate entry fits.
    Case("cert-untrusted", "submissions-untrusted-cert", ("--tls-on-connect",), ambiguous=True),
    Case("cert-untrusted", "submissions-self-signed-cert", ("--tls-on-connect",), ambiguous=True),
    Case("cert-expired", "submissions-expired-cert", ("--tls-on-connect",), ambiguous=True),
    Case("cert-expired", "submissions-not-yet-valid-cert", ("--tls-on-connect",), ambiguous=True),
    Case("tls-handshake-aborted", "submissions-handshake-abort", ("--tls-on-connect",)),
    Case("tls-version-mismatch", "submissions-old-tls", ("--tls-on-connect",)),
    Case("tls-version-mismatch", "submission-old-tls", ("--tls",)),
    Case("cert-untrusted", "submissions-incomplete-chain-cert", ("--tls-on-connect",), ambiguous=True),
    Case("rate-limited", "rate-limited", ("--tls",), login="wrong"),
    Case("greylisted", "greylisting", sender=NEW_SENDER, to=ALICE),
    Case("non-ascii-address", "submission-no-smtputf8", ("--tls",), login="right", to="jörg@example.com"),
]


@pytest.mark.parametrize("case", SWAKS, ids=str)
def test_swaks(lab, swaks, case):
    check(lab, case, run_swaks(lab, case))


def test_swaks_tls_verify_does_not_check_the_host_name(lab, swaks):
    # swaks 20201014.0 verifies the chain only: a certificate for localhost passes at 127.0.0.1.
    ran = run_swaks(lab, Case("cert-name-mismatch", "submissions-wrong-host-cert", ("--tls-on-connect",), "right"))
    assert ran.returncode == 0 and "250 2.0.0 Ok: queued" in ran.output, _scrub(ran.output)


# --------------------------------------------------------------------------------------------------
# curl


@pytest.fixture(scope="module")
def curl(tmp_path_factory):
    if CLIENTS["curl"].version() is None:  # asks curl whether it speaks smtp and smtps
        pytest.skip(f"curl is not installed with SMTP and TLS ({CLIENTS['curl'].install})")
    folder = tmp_path_factory.mktemp("curl")
    (folder / "message.txt").write_bytes(b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: Hi\r\n\r\nHi\r\n")
    (folder / "no-from.txt").write_bytes(b"To: bob@example.com\r\nSubject: Hi\r\n\r\nHi!\r\n")
    (folder / "large.txt").write_bytes(b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 135_000)
    for login in ("right", "wrong"):  # credentials in a file, not on the command line
        (folder / f"netrc-{login}").write_text(f"machine 127.0.0.1 login {ALICE} password {_password(login)}\n")
    return folder


def run_curl(lab: Lab, folder: Path, case: Case, *, scheme: str = "smtp", upload: str = "message.txt") -> Ran:
    endpoint = endpoint_for(lab, case)
    command = ["curl", "--silent", "--show-error", "--max-time", "3", "--cacert", str(lab.ca_file),
               "--mail-from", _new_sender(case.sender), "--mail-rcpt", case.to, "--upload-file", str(folder / upload),
               *case.args, f"{scheme}://{endpoint.host}:{endpoint.port}"]
    if case.login:
        command += ["--netrc-file", str(folder / f"netrc-{case.login}")]
    return _run(command)


CURL = [
    # (case, scheme, file to upload)
    (Case("plaintext-to-implicit-tls", "submissions"), "smtp", "message.txt"),
    (Case("plaintext-to-implicit-tls", "submissions", ("--max-time", "0.5")), "smtp", "message.txt"),
    (Case("implicit-tls-to-starttls-port", "submission"), "smtps", "message.txt"),
    (Case("starttls-unavailable", "submission-no-starttls", ("--ssl-reqd",), "right"), "smtp", "message.txt"),
    (Case("starttls-refused", "submission-tls-unavailable", ("--ssl-reqd",), "right"), "smtp", "message.txt"),
    # curl prints only "MAIL failed: 530"; the three entries that refuse MAIL with 530 all fit.
    (Case("starttls-required-first", "submission", ambiguous=True), "smtp", "message.txt"),
    (Case("unauthenticated-submission", "submission", ("--ssl-reqd",), ambiguous=True), "smtp", "message.txt"),
    # With a login but no TLS curl skips AUTH (not offered yet) and meets the same 530 at MAIL.
    (Case("auth-not-advertised", "submission", login="right", ambiguous=True), "smtp", "message.txt"),
    (Case("bad-credentials", "submission", ("--ssl-reqd",), "wrong"), "smtp", "message.txt"),
    (Case("sender-identity-mismatch", "submission", ("--ssl-reqd",), "right", sender=BOB), "smtp", "message.txt"),
    (Case("from-header-mismatch", "submission-strict-from", ("--ssl-reqd",), "right"), "smtp", "no-from.txt"),
    (Case("relay-denied", "relay", sender=OUTSIDER, to=STRANGER), "smtp", "message.txt"),
    (Case("egress-port-blocked", "blackhole", ("--connect-timeout", "1")), "smtp", "message.txt"),
    (Case("egress-port-blocked", "blackhole", ("--max-time", "1")), "smtp", "message.txt"),
    (Case("connection-refused", "closed"), "smtp", "message.txt"),
    (Case("greeting-timeout", "silent", ("--max-time", "1")), "smtp", "message.txt"),
    (Case("server-busy", "busy"), "smtp", "message.txt"),
    (Case("not-smtp", "not-smtp"), "smtp", "message.txt"),
    # Over TLS curl says only "response reading failed", as it does for plaintext on 465.
    (Case("not-smtp", "tls-not-smtp", ambiguous=True), "smtps", "message.txt"),
    (Case("cert-untrusted", "submissions-untrusted-cert"), "smtps", "message.txt"),
    (Case("cert-untrusted", "submissions-self-signed-cert"), "smtps", "message.txt"),
    (Case("cert-name-mismatch", "submissions-wrong-host-cert"), "smtps", "message.txt"),
    (Case("cert-name-mismatch", "submission-wrong-host-cert", ("--ssl-reqd",)), "smtp", "message.txt"),
    (Case("cert-expired", "submissions-expired-cert"), "smtps", "message.txt"),
    (Case("cert-expired", "submissions-not-yet-valid-cert"), "smtps", "message.txt"),
    (Case("tls-handshake-aborted", "submissions-handshake-abort"), "smtps", "message.txt"),
    (Case("tls-version-mismatch", "submissions-old-tls"), "smtps", "message.txt"),
    (Case("cert-untrusted", "submissions-incomplete-chain-cert"), "smtps", "message.txt"),
    (Case("message-too-large", "submission", ("--ssl-reqd",), "right"), "smtp", "large.txt"),
    (Case("greylisted", "greylisting", sender=NEW_SENDER, to=ALICE), "smtp", "message.txt"),
]


@pytest.mark.parametrize("case, scheme, upload", CURL, ids=[f"{c}-{s}" for c, s, _ in CURL])
def test_curl(lab, curl, case, scheme, upload):
    ran = run_curl(lab, curl, case, scheme=scheme, upload=upload)
    check(lab, case, ran)
    said = re.search(r"curl: \((\d+)\)", ran.output)
    assert said and int(said.group(1)) == ran.returncode  # curl's exit status is the number it prints


def test_curl_says_login_denied_for_every_refused_login(lab, curl):
    # A finding: the 454 block and a missing mechanism look exactly like a wrong password.
    blocked = run_curl(lab, curl, Case("rate-limited", "rate-limited", ("--ssl-reqd",), "wrong"))
    mechanism = run_curl(lab, curl, Case("auth-mechanism-mismatch", "submission",
                                         ("--ssl-reqd", "--login-options", "AUTH=CRAM-MD5"), "right"))
    assert blocked.output.strip() == mechanism.output.strip() == "curl: (67) Login denied"


# --------------------------------------------------------------------------------------------------
# Go: net/smtp and crypto/tls only


@pytest.fixture(scope="module")
def go(tmp_path_factory):
    if shutil.which("go") is None:
        pytest.skip("Go is not installed (apt-get install golang-go)")
    build = tmp_path_factory.mktemp("go")
    assert CLIENTS["go"].prepare(build) is None  # the client matrix's build: the standard library, no downloads
    return build / "labsend"


def run_go(lab: Lab, binary: Path, case: Case, mode: str) -> Ran:
    endpoint = endpoint_for(lab, case)
    command = [str(binary), "-mode", mode, "-addr", f"{case.host or endpoint.host}:{endpoint.port}",
               "-from", _new_sender(case.sender), "-to", case.to, *case.args]
    if case.login:
        command += ["-user", ALICE]
    env = {**os.environ, "SSL_CERT_FILE": str(lab.ca_file), "SMTP_PASSWORD": _password(case.login)}
    return _run(command, env=env)


GO = [
    # (case, mode): "sendmail" is smtp.SendMail as most Go code calls it; the others dial with deadlines.
    (Case("plaintext-to-implicit-tls", "submissions", login="right"), "sendmail"),
    (Case("plaintext-to-implicit-tls", "submissions", login="right"), "plain"),
    (Case("plaintext-to-implicit-tls", "submissions", ("-timeout", "500ms"), "right"), "plain"),
    (Case("implicit-tls-to-starttls-port", "submission", login="right"), "implicit"),
    (Case("starttls-unavailable", "submission-no-starttls", login="right"), "starttls"),
    (Case("starttls-refused", "submission-tls-unavailable", login="right"), "starttls"),
    (Case("starttls-refused", "submission-tls-unavailable", login="right"), "sendmail"),
    (Case("starttls-required-first", "submission"), "plain"),
    (Case("starttls-required-first", "submission", login="right"), "plain"),  # 530 5.7.0 to AUTH, as Postfix
    (Case("auth-not-advertised", "relay", login="right"), "sendmail"),
    (Case("auth-mechanism-mismatch", "submission", ("-auth", "cram-md5"), "right"), "starttls"),
    (Case("bad-credentials", "submission", login="wrong"), "starttls"),
    (Case("unauthenticated-submission", "submission"), "starttls"),
    (Case("sender-identity-mismatch", "submission", login="right", sender=BOB), "starttls"),
    (Case("from-header-mismatch", "submission-strict-from", ("-no-from",), "right"), "starttls"),
    (Case("relay-denied", "relay", sender=OUTSIDER, to=STRANGER), "plain"),
    (Case("egress-port-blocked", "blackhole", ("-timeout", "1s")), "plain"),
    (Case("connection-refused", "closed"), "sendmail"),
    (Case("greeting-timeout", "silent", ("-timeout", "1s")), "plain"),
    (Case("server-busy", "busy"), "starttls"),
    (Case("not-smtp", "not-smtp"), "plain"),
    (Case("not-smtp", "tls-not-smtp"), "implicit"),
    (Case("cert-untrusted", "submissions-untrusted-cert", login="right"), "implicit"),
    # The lab's self-signed certificate names its hosts, as a real one does, so Go reports who signed it:
    # "x509: certificate signed by unknown authority", as against a real server's self-signed certificate.
    (Case("cert-untrusted", "submissions-self-signed-cert", login="right"), "implicit"),
    (Case("cert-untrusted", "submissions-self-signed-cert", login="right", host="localhost"), "implicit"),
    (Case("cert-name-mismatch", "submissions-wrong-host-cert", login="right"), "implicit"),
    (Case("cert-name-mismatch", "submission-wrong-host-cert", login="right"), "starttls"),
    (Case("cert-expired", "submissions-expired-cert", login="right"), "implicit"),
    (Case("cert-expired", "submissions-not-yet-valid-cert", login="right"), "implicit"),
    # Go's bare EOF cannot tell a dropped handshake from a plaintext client on 465.
    (Case("tls-handshake-aborted", "submissions-handshake-abort", login="right", ambiguous=True), "implicit"),
    (Case("tls-version-mismatch", "submissions-old-tls", login="right"), "implicit"),
    (Case("tls-version-mismatch", "submission-old-tls", login="right"), "starttls"),
    # Go alone reads subjectAltName only (since 1.15): the certificate names localhost in its Common Name.
    (Case("cert-cn-without-san", "submissions-cn-only-cert", login="right", host="localhost"), "implicit"),
    (Case("cert-untrusted", "submissions-incomplete-chain-cert", login="right"), "implicit"),
    (Case("rate-limited", "rate-limited", login="wrong"), "starttls"),
    (Case("greylisted", "greylisting", sender=NEW_SENDER, to=ALICE), "plain"),
    (Case("non-ascii-address", "submission-no-smtputf8", login="right", to="jörg@example.com"), "starttls"),
    (Case("go-plainauth-unencrypted", "submission", ("-auth-host", "smtp.example.com"), "right"), "sendmail"),
]


@pytest.mark.parametrize("case, mode", GO, ids=[f"{c}-{m}" for c, m in GO])
def test_go(lab, go, case, mode):
    check(lab, case, run_go(lab, go, case, mode))


# --------------------------------------------------------------------------------------------------
# Node: nodemailer


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    client = CLIENTS["node"]  # the client matrix's own check: Node.js 20 or later, and nodemailer installed
    if shutil.which("node") is None:
        pytest.skip(f"Node.js is not installed ({client.install})")
    if why_not := client.prepare(tmp_path_factory.mktemp("node")):
        pytest.skip(why_not)
    return client.program


def run_node(lab: Lab, script: Path, case: Case) -> Ran:
    endpoint = endpoint_for(lab, case)
    command = ["node", str(script), "--host", case.host or endpoint.host, "--port", str(endpoint.port),
               "--ca", str(lab.ca_file), "--from", _new_sender(case.sender), "--to", case.to, *case.args]
    if case.login:
        command += ["--user", ALICE]
    return _run(command, env={**os.environ, "SMTP_PASSWORD": _password(case.login)})


NODE = [
    Case("plaintext-to-implicit-tls", "submissions", login="right"),
    Case("plaintext-to-implicit-tls", "submissions", ("--timeout", "500"), "right"),
    Case("implicit-tls-to-starttls-port", "submission", ("--secure",), "right"),
    Case("starttls-unavailable", "submission-no-starttls", ("--require-tls",), "right"),
    Case("starttls-refused", "submission-tls-unavailable", login="right"),
    Case("starttls-required-first", "submission", ("--ignore-tls",), "right"),
    Case("auth-mechanism-mismatch", "submission", ("--auth-method", "CRAM-MD5"), "right"),
    Case("bad-credentials", "submission", login="wrong"),
    Case("unauthenticated-submission", "submission"),
    Case("sender-identity-mismatch", "submission", login="right", sender=BOB),
    Case("relay-denied", "relay", sender=OUTSIDER, to=STRANGER),
    Case("egress-port-blocked", "blackhole", ("--timeout", "1000")),
    Case("connection-refused", "closed"),
    Case("greeting-timeout", "slow", ("--timeout", "300")),
    Case("server-busy", "busy", login="right"),
    Case("not-smtp", "not-smtp"),
    Case("not-smtp", "tls-not-smtp", ("--secure",)),
    Case("cert-untrusted", "submissions-untrusted-cert", ("--secure",), "right"),
    Case("cert-untrusted", "submissions-self-signed-cert", ("--secure",), "right"),
    Case("cert-name-mismatch", "submissions-wrong-host-cert", ("--secure",), "right"),
    Case("cert-expired", "submissions-expired-cert", ("--secure",), "right"),
    Case("cert-expired", "submissions-not-yet-valid-cert", ("--secure",), "right"),
    Case("tls-handshake-aborted", "submissions-handshake-abort", ("--secure",), "right"),
    Case("tls-version-mismatch", "submissions-old-tls", ("--secure",), "right"),
    Case("cert-untrusted", "submissions-incomplete-chain-cert", ("--secure",), "right"),
    Case("rate-limited", "rate-limited", login="wrong"),
    Case("greylisted", "greylisting", sender=NEW_SENDER, to=ALICE),
    Case("non-ascii-address", "submission-no-smtputf8", login="right", to="jörg@example.com"),
]


@pytest.mark.parametrize("case", NODE, ids=str)
def test_node(lab, node, case):
    check(lab, case, run_node(lab, node, case))


def test_node_ipv6_path(lab, node):
    # The lab listens on 127.0.0.1 only; a client sent to ::1 finds nothing there.
    case = Case("ipv6-path", "submission", host="::1")
    ran = run_node(lab, node, case)
    if "EADDRNOTAVAIL" in ran.output or "ENETUNREACH" in ran.output:
        pytest.skip("this machine has no IPv6 loopback")
    check(lab, case, ran)


# --------------------------------------------------------------------------------------------------
# Silent downgrade: clients that use STARTTLS only when offered send the password in plaintext


@pytest.mark.parametrize("client", ["swaks", "curl", "go", "node"])
def test_opportunistic_clients_carry_on_without_tls(lab, request, client):
    tool = request.getfixturevalue(client)
    case = Case("starttls-downgrade", "submission-no-starttls", login="right")
    before = len(lab.mailbox)
    if client == "swaks":
        ran = run_swaks(lab, Case(case.expected, case.profile, ("--tls-optional",), "right"))
    elif client == "curl":
        ran = run_curl(lab, tool, Case(case.expected, case.profile, ("--ssl",), "right"))
    elif client == "go":
        ran = run_go(lab, tool, case, "sendmail")  # smtp.SendMail, as most Go code calls it
    else:
        ran = run_node(lab, tool, case)  # nodemailer without requireTLS
    assert ran.returncode == 0, _scrub(ran.output)
    assert lab.mailbox.wait_for(before + 1)
    delivered = lab.mailbox[-1]
    # Logged in and delivered, with no encryption: the password crossed the wire readable.
    assert (delivered.endpoint, delivered.login, delivered.tls_version) == (case.profile, ALICE, None)


# --------------------------------------------------------------------------------------------------
# Done right, every client gets through, trusting only the lab CA


DONE_RIGHT = [
    ("swaks", Case("", "submission", ("--tls",), "right")),
    ("swaks", Case("", "submissions", ("--tls-on-connect",), "right")),
    ("curl", Case("", "submission", ("--ssl-reqd",), "right")),
    ("curl", Case("", "submissions", (), "right")),
    ("go", Case("", "submission", (), "right")),
    ("go", Case("", "submissions", (), "right")),
    ("node", Case("", "submission", ("--require-tls",), "right")),
    ("node", Case("", "submissions", ("--secure",), "right")),
]


@pytest.mark.parametrize("client, case", DONE_RIGHT, ids=[f"{c}-{case.profile}" for c, case in DONE_RIGHT])
def test_each_client_sends_through_the_lab_when_done_right(lab, request, client, case):
    tool = request.getfixturevalue(client)
    before = len(lab.mailbox)
    if client == "swaks":
        ran = run_swaks(lab, case)
    elif client == "curl":
        ran = run_curl(lab, tool, case, scheme="smtps" if case.profile == "submissions" else "smtp")
    elif client == "go":
        ran = run_go(lab, tool, case, "implicit" if case.profile == "submissions" else "starttls")
    else:
        ran = run_node(lab, tool, case)
    assert ran.returncode == 0, _scrub(ran.output)
    assert lab.mailbox.wait_for(before + 1, timeout=5)
    stored = lab.mailbox[-1]
    assert (stored.endpoint, stored.login, stored.tls_version) == (case.profile, ALICE, "TLSv1.3")


# --------------------------------------------------------------------------------------------------
# A certificate with a Common Name and no subjectAltName: only Go refuses it


@pytest.mark.parametrize("client", ["swaks", "curl", "node"])
def test_every_client_but_go_accepts_a_common_name_without_subjectaltname(lab, request, client):
    tool = request.getfixturevalue(client)
    case = Case("", "submissions-cn-only-cert", login="right", host="localhost")
    before = len(lab.mailbox)
    if client == "swaks":
        ran = run_swaks(lab, Case("", case.profile, ("--tls-on-connect",), "right"))
    elif client == "curl":
        (tool / "netrc-cn").write_text(f"machine localhost login {ALICE} password {_password('right')}\n")
        endpoint = lab[case.profile]
        ran = _run(["curl", "--silent", "--show-error", "--max-time", "5", "--cacert", str(lab.ca_file),
                    "--mail-from", ALICE, "--mail-rcpt", BOB, "--upload-file", str(tool / "message.txt"),
                    "--netrc-file", str(tool / "netrc-cn"), f"smtps://localhost:{endpoint.port}"])
    else:
        ran = run_node(lab, tool, Case("", case.profile, ("--secure",), "right", host="localhost"))
    assert ran.returncode == 0, _scrub(ran.output)
    assert lab.mailbox.wait_for(before + 1) and lab.mailbox[-1].endpoint == case.profile


# --------------------------------------------------------------------------------------------------
# OAuth 2.0 (XOAUTH2): Go with an smtp.Auth of its own, nodemailer with type 'OAuth2'


def run_with_token(lab: Lab, client: str, tool: Path, profile: str, token: str, *, sender: str = ALICE) -> Ran:
    endpoint = lab[profile]
    env = {**os.environ, "SMTP_ACCESS_TOKEN": token, "SMTP_CA_FILE": str(lab.ca_file)}
    if client == "go":
        command = [str(tool), "-mode", "starttls", "-addr", f"localhost:{endpoint.port}", "-user", ALICE,
                   "-auth", "xoauth2", "-from", sender, "-timeout", "5s"]
    else:
        command = ["node", str(tool), "--host", "localhost", "--port", str(endpoint.port), "--require-tls",
                   "--ca", str(lab.ca_file), "--user", ALICE, "--from", sender, "--timeout", "5000"]
    return _run(command, env=env)


PROVIDERS = {"gmail-like-587": GMAIL_SCOPE, "m365-like-587": M365_SCOPE}
# What each client prints when the provider refuses a token: the provider's words for a refused password.
REFUSED = {
    ("go", "gmail-like-587"): "535 5.7.8 Username and Password not accepted.",
    ("node", "gmail-like-587"): "Error: Invalid login: 535-5.7.8 Username and Password not accepted.",
    ("go", "m365-like-587"): "535 5.7.3 Authentication unsuccessful [",
    ("node", "m365-like-587"): "Error: Invalid login: 535 5.7.3 Authentication unsuccessful [",
}


@pytest.mark.parametrize("client", ["go", "node"])
@pytest.mark.parametrize("profile", list(PROVIDERS))
def test_a_token_logs_in_with_go_and_nodemailer_and_a_bad_one_is_refused(lab, request, client, profile):
    tool = request.getfixturevalue(client)
    before = len(lab.mailbox)
    good = lab.tokens.issue(ALICE, scope=PROVIDERS[profile])
    ran = run_with_token(lab, client, tool, profile, good)
    assert ran.returncode == 0 and "sent" in ran.output, _scrub(ran.output)
    assert lab.mailbox.wait_for(before + 1)
    assert (lab.mailbox[-1].endpoint, lab.mailbox[-1].login) == (profile, ALICE)
    expired = lab.tokens.issue(ALICE, scope=PROVIDERS[profile], lifetime=-60)
    for bad in (expired, lab.tokens.issue(BOB, scope=PROVIDERS[profile]), _password("right")):
        refused = run_with_token(lab, client, tool, profile, bad)
        assert refused.returncode == 1 and REFUSED[client, profile] in refused.output, _scrub(refused.output)
        assert bad not in refused.output
        # The client's words are a refused password's: only the conversation (record()) shows it was a token.
        assert diagnose(refused.output, port=587)[0].id == "bad-credentials"


# --------------------------------------------------------------------------------------------------
# The provider personas' replies, as Go's net/smtp and nodemailer meet them

BEFORE, AFTER = datetime.date(2026, 12, 1), datetime.date(2027, 1, 15)  # either side of Microsoft's change


def run_persona(lab: Lab, client: str, tool: Path, profile: str, *, secret: str | None = None, sender: str = ALICE,
                flags: tuple[str, ...] = ()) -> Ran:
    """Go or nodemailer with STARTTLS (or TLS at once on 465) against a persona; logged in as Alice with
    `secret` (a password or app password), or not at all."""
    endpoint = lab[profile]
    env = {**os.environ, "SMTP_CA_FILE": str(lab.ca_file), "SMTP_PASSWORD": secret or ""}
    login = ["-user", ALICE] if client == "go" and secret else ["--user", ALICE] if secret else []
    if client == "go":
        mode = "implicit" if endpoint.acts_as == 465 else "starttls"
        command = [str(tool), "-mode", mode, "-addr", f"localhost:{endpoint.port}", "-from", sender,
                   "-timeout", "5s", *login, *flags]
    else:
        tls = "--secure" if endpoint.acts_as == 465 else "--require-tls"
        command = ["node", str(tool), "--host", "localhost", "--port", str(endpoint.port), tls, "--ca",
                   str(lab.ca_file), "--from", sender, "--timeout", "5000", *login, *flags]
    return _run(command, env=env)


GMAIL_534 = "534 5.7.9 Application-specific password required."
PERSONA_CASES = [  # (profile, the lab's date, how the client logs in, sender, flags, what each client prints)
    ("gmail-like-587", BEFORE, "password", ALICE, (), {"go": GMAIL_534, "node": "Invalid login: 534-5.7.9"}),
    ("gmail-like-465", BEFORE, "password", ALICE, (), {"go": GMAIL_534, "node": "Invalid login: 534-5.7.9"}),
    ("gmail-like-587", BEFORE, None, ALICE, (),
     {"go": "530 5.7.0 Authentication Required.", "node": "Mail command failed: 530-5.7.0 Authentication Required."}),
    ("m365-like-587", AFTER, "password", ALICE, (),
     # Go's smtp.PlainAuth asks for PLAIN, which Microsoft 365 does not offer, whatever the date.
     {"go": "504 5.7.4 Unrecognized authentication type",
      "node": "Invalid login: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled."}),
    ("m365-like-587", BEFORE, None, ALICE, (), {"go": "530 5.7.57 Client not authenticated to send mail.",
                                                "node": "Mail command failed: 530 5.7.57 Client not authenticated"}),
    ("m365-like-587", BEFORE, None, ALICE, ("-tls10",),
     {"go": "421 4.7.66 TLS 1.0 and 1.1 are not supported.", "node": "421 4.7.66 TLS 1.0 and 1.1 are not supported."}),
]


@pytest.mark.parametrize("client", ["go", "node"])
@pytest.mark.parametrize("profile, today, secret, sender, flags, printed", PERSONA_CASES,
                         ids=[f"{c[0]}-{c[2]}-{'-'.join(c[4]) or 'default'}" for c in PERSONA_CASES])
def test_go_and_nodemailer_meet_each_persona_refusal(request, client, profile, today, secret, sender, flags, printed):
    tool = request.getfixturevalue(client)
    flags = tuple(flag.replace("-tls10", "--tls10") if client == "node" else flag for flag in flags)
    with Lab(profile, today=today) as lab:
        ran = run_persona(lab, client, tool, profile, secret=USERS[ALICE] if secret else None, sender=sender,
                          flags=flags)
    assert ran.returncode == 1 and printed[client] in ran.output, _scrub(ran.output)


@pytest.mark.parametrize("client", ["go", "node"])
def test_gmail_takes_the_app_password_and_replaces_a_from_that_is_not_yours(request, client):
    tool = request.getfixturevalue(client)
    with Lab("gmail-like-587") as lab:
        ran = run_persona(lab, client, tool, "gmail-like-587", secret=APP_PASSWORDS[ALICE], sender=BOB)
        assert ran.returncode == 0, _scrub(ran.output)
        assert lab.mailbox.wait_for(1)
        delivered = lab.mailbox[-1]
    assert (delivered.mail_from, delivered.email["From"].addresses[0].addr_spec) == (ALICE, ALICE)


@pytest.mark.parametrize("client", ["go", "node"])
def test_gmail_refuses_data_past_the_daily_limit(request, client):
    tool = request.getfixturevalue(client)
    with Lab("gmail-like-587-quota") as lab:  # 3 recipients left today
        runs = [run_persona(lab, client, tool, "gmail-like-587-quota", secret=APP_PASSWORDS[ALICE]) for _ in range(4)]
    assert [ran.returncode for ran in runs] == [0, 0, 0, 1]
    assert "550 5.4.5 Daily user sending limit exceeded." in runs[-1].output.replace("550-5.4.5", "550 5.4.5")
    assert diagnose(runs[-1].output, port=587)[0].id == "sending-quota-exceeded"


@pytest.mark.parametrize("client", ["go", "node"])
def test_microsoft_365_refuses_to_send_as_another_mailbox(request, client):
    tool = request.getfixturevalue(client)
    with Lab("m365-like-587", today=BEFORE) as lab:
        token = lab.tokens.issue(ALICE, scope=M365_SCOPE)  # Go cannot log in there with a password (no LOGIN)
        ran = run_with_token(lab, client, tool, "m365-like-587", token, sender=BOB)
        assert not lab.mailbox.wait_for(1, timeout=0.2)
    assert ran.returncode == 1 and "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException" in ran.output
    assert diagnose(ran.output, port=587)[0].id == "m365-send-as-denied"
