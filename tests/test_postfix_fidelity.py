"""The lab's relay against a real Postfix 3.7: the same smtplib conversations, the same reply codes, enhanced
status codes and stages (review fidelity.md, rows D7-D11).

The test starts a private Postfix from a configuration in a temporary folder: it listens on 127.0.0.1 only,
on a port of its own, and delivers nothing (every transport is `discard`). Postfix's master process must run
as root; without Postfix (apt-get install postfix) or without root, the test is skipped.

The Postfix here is configured as the lab's endpoints are: a relay, an MX for example.com that refuses to
relay (reject_unauth_destination) and offers STARTTLS; a submission port that wants STARTTLS first, then a
login (Cyrus SASL, PLAIN and LOGIN, the lab's users) and a sender the login owns; and a submission port
without STARTTLS. Messages of up to 10,240,000 bytes. Where the lab departs from Postfix's defaults on
purpose, Postfix is set to match and the setting says so; where the lab answers otherwise on purpose, a test
below says how each answers:
- strict_rfc821_envelopes = yes: the lab refuses `MAIL FROM:<Name <a@b>>` (501 5.1.7), as Postfix does with
  this setting; by default Postfix takes the address inside.
- a submission without a login: the lab refuses MAIL with 530 5.7.0 (as Gmail and Microsoft 365 do);
  Postfix takes MAIL and refuses RCPT with 554 5.7.1.
- AUTH answered with bad base64: the lab says 501 5.5.2 (RFC 4954 section 4); Postfix, through Cyrus SASL,
  535 5.7.8.
The EHLO keywords differ by what the lab does not do: ETRN, DSN and CHUNKING.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from conftest import CLIENT_TIMEOUT

from helpers.lab import Lab
from helpers.profiles import MAX_MESSAGE_SIZE, MAX_RECIPIENTS, USERS

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
HOSTNAME = "mail.example.com"
START_TIMEOUT = 20  # seconds Postfix may take to start listening
ENHANCED = re.compile(rb"^([245]\.\d{1,3}\.\d{1,3}) ")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(POSTFIX), reason="Postfix is not installed (apt-get install postfix)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="Postfix's master process runs as root"),
]

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {folder}/spool
data_directory = {folder}/data
maillog_file = {folder}/maillog
maillog_file_prefixes = {folder}
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = {hostname}
mydomain = example.com
myorigin = example.com
mydestination = example.com
mynetworks =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = discard
default_transport = discard
relay_transport = discard
smtpd_relay_restrictions = reject_unauth_destination
strict_rfc821_envelopes = yes
message_size_limit = {size}
smtpd_recipient_limit = {recipients}
smtpd_tls_security_level = may
smtpd_tls_chain_files = {folder}/server.pem
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sender_login_maps = inline:{{ {logins} }}
"""
SASL_CONF = """\
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: {folder}/sasldb2
"""
SERVICES = """
{relay} inet n - n - - smtpd
{submission} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
{plain} inet n - n - - smtpd
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=yes
"""
Address = tuple[str, int]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Postfix:
    """A private Postfix's three services and a client context that trusts its certificate."""

    def __init__(self, folder: Path) -> None:
        self.relay, self.submission, self.plain = (("127.0.0.1", free_port()) for _ in range(3))
        folder.chmod(0o755)  # Postfix's own user must reach the folders inside (pytest's tmp_path is private)
        ca = trustme.CA()
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(folder / "server.pem")
        (folder / "server.pem").chmod(0o600)
        self.context = ssl.create_default_context()
        ca.configure_trust(self.context)
        (folder / "spool").mkdir()  # Postfix makes the queues inside
        (folder / "data").mkdir()
        shutil.chown(folder / "data", "postfix")
        logins = ", ".join(f"{user}={user}" for user in USERS)
        (folder / "main.cf").write_text(MAIN_CF.format(folder=folder, hostname=HOSTNAME, size=MAX_MESSAGE_SIZE,
                                                       recipients=MAX_RECIPIENTS, logins=logins))
        (folder / "sasl").mkdir()  # Debian's Postfix reads Cyrus SASL's smtpd.conf from here
        (folder / "sasl" / "smtpd.conf").write_text(SASL_CONF.format(folder=folder))
        for user, password in USERS.items():
            local, _, domain = user.partition("@")
            subprocess.run(["saslpasswd2", "-c", "-p", "-f", str(folder / "sasldb2"), "-u", domain, local],
                           input=password, text=True, check=True, timeout=START_TIMEOUT)
        shutil.chown(folder / "sasldb2", "postfix")
        master = re.sub(r"^smtp\s+inet\s.*$", "", Path("/etc/postfix/master.cf").read_text(), count=1, flags=re.M)
        ports = {"relay": self.relay, "submission": self.submission, "plain": self.plain}
        services = SERVICES.format(**{name: f"{host}:{port}" for name, (host, port) in ports.items()})
        (folder / "master.cf").write_text(master + services)


@pytest.fixture(scope="module")
def postfix() -> Iterator[Postfix]:
    if shutil.which("saslpasswd2") is None:
        pytest.skip("Cyrus SASL's tools are not installed (apt-get install sasl2-bin libsasl2-modules)")
    with tempfile.TemporaryDirectory(prefix="lab-postfix-") as name:
        folder = Path(name)
        server = Postfix(folder)
        command = [POSTFIX, "-c", str(folder)]
        started = subprocess.run([*command, "start"], capture_output=True, text=True, timeout=START_TIMEOUT)
        try:
            assert started.returncode == 0, _log(folder)
            for address in (server.relay, server.submission, server.plain):
                _wait_for(address)
            yield server
        finally:
            subprocess.run([*command, "stop"], capture_output=True, timeout=START_TIMEOUT)


def _log(folder: Path) -> str:
    log = folder / "maillog"
    return log.read_text()[-2000:] if log.exists() else "(no log)"


def _wait_for(address: Address) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            socket.create_connection(address, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab("relay", "submission", "submission-no-starttls") as lab:
        yield lab


Reply = tuple[int, str]  # the reply code and its enhanced status code (a 3xx reply, which has none: its text)


def said(client: smtplib.SMTP, line: str) -> Reply:
    client.send(line.encode() + b"\r\n")
    code, text = client.getreply()
    enhanced = ENHANCED.match(text + b" ")
    return code, enhanced.group(1).decode() if enhanced else text.decode() if 300 <= code < 400 else ""


def conversation(*lines: str, ehlo: bool = True, tls: bool = False) -> Callable[..., list[Reply]]:
    """Say these lines, each answered before the next (after EHLO and STARTTLS, if asked)."""

    def talk(client: smtplib.SMTP, context: ssl.SSLContext) -> list[Reply]:
        if ehlo:
            client.ehlo("client.example.com")
        if tls:
            client.starttls(context=context)
            client.ehlo("client.example.com")
        return [said(client, line) for line in lines]

    return talk


def raw_message(content: bytes) -> Callable[..., list[Reply]]:
    def send(client: smtplib.SMTP, context: ssl.SSLContext) -> list[Reply]:
        client.ehlo("client.example.com")
        client.esmtp_features.pop("size", None)  # a client that does not declare the size
        try:
            client.sendmail("a@example.net", ["alice@example.com"], content)
        except smtplib.SMTPDataError as refused:
            return [(refused.smtp_code, ENHANCED.match(refused.smtp_error + b" ").group(1).decode())]
        return [(250, "2.0.0")]

    return send


def many_recipients(client: smtplib.SMTP, context: ssl.SSLContext) -> list[Reply]:
    client.ehlo("client.example.com")
    said(client, "MAIL FROM:<a@example.net>")
    client.send(b"".join(b"RCPT TO:<user%d@example.com>\r\n" % n for n in range(MAX_RECIPIENTS + 1)))
    replies = [client.getreply() for _ in range(MAX_RECIPIENTS + 1)]
    return [(replies[0][0], replies[0][1][:5].decode()), (replies[-1][0], replies[-1][1][:5].decode())]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ALICE = "alice@example.com"
LOGIN = "AUTH PLAIN " + b64(f"\0{ALICE}\0{USERS[ALICE]}")
WRONG = "AUTH PLAIN " + b64(f"\0{ALICE}\0not-the-password")

# case: (the Postfix service and the lab endpoint it stands beside, the conversation)
CASES = {
    "unknown command": ("relay", conversation("FOO bar")),
    "HELP": ("relay", conversation("HELP")),
    "MAIL without EHLO": ("relay", conversation("MAIL FROM:<a@example.net>", ehlo=False)),
    "malformed sender": ("relay", conversation("MAIL FROM:<not an address")),
    "half an address literal": ("relay", conversation("MAIL FROM:<a@[")),
    "display name in the envelope": ("relay", conversation("MAIL FROM:<Alice <alice@example.com>>")),
    "display name without brackets": ("relay", conversation("MAIL FROM:Alice <alice@example.com>")),
    "SIZE that is not a number": ("relay", conversation("MAIL FROM:<a@example.net> SIZE=²")),
    "SIZE over the limit": ("relay", conversation(f"MAIL FROM:<a@example.net> SIZE={MAX_MESSAGE_SIZE + 1}")),
    "null sender": ("relay", conversation("MAIL FROM:<>", "RCPT TO:<alice@example.com>")),
    "nested MAIL": ("relay", conversation("MAIL FROM:<a@example.net>", "MAIL FROM:<a@example.net>")),
    "RCPT before MAIL": ("relay", conversation("RCPT TO:<alice@example.com>")),
    "DATA before MAIL": ("relay", conversation("DATA")),
    "DATA with every recipient refused": ("relay", conversation("MAIL FROM:<a@example.net>",
                                                                "RCPT TO:<x@example.net>", "DATA")),
    "relay denied": ("relay", conversation("MAIL FROM:<a@example.net>", "RCPT TO:<someone@example.net>")),
    "malformed recipient": ("relay", conversation("MAIL FROM:<a@example.net>", "RCPT TO:<bob@example.com")),
    "Postmaster": ("relay", conversation("MAIL FROM:<a@example.net>", "RCPT TO:<Postmaster>")),
    "address literal": ("relay", conversation("MAIL FROM:<a@[127.0.0.1]>", "RCPT TO:<alice@example.com>")),
    "AUTH on the relay": ("relay", conversation("AUTH PLAIN", tls=True)),
    "RSET with an argument": ("relay", conversation("RSET now", "RSET", "NOOP")),
    "VRFY": ("relay", conversation("VRFY alice@example.com", "VRFY", 'VRFY "', "VRFY <@")),
    "QUIT": ("relay", conversation("QUIT")),
    "STARTTLS inside TLS": ("relay", conversation("STARTTLS", "NOOP", tls=True)),
    "a 1,507-character line": ("relay", raw_message(b"Subject: long\r\n\r\n" + b"x" * 1507 + b"\r\n")),
    "bare line feeds": ("relay", raw_message(b"Subject: bare\n\nline one\nline two\n")),
    "over the size limit after DATA": ("relay", raw_message(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 10_300)),
    "more recipients than the limit": ("relay", many_recipients),
    "MAIL before STARTTLS": ("submission", conversation(f"MAIL FROM:<{ALICE}>")),
    "commands before STARTTLS": ("submission", conversation("RCPT TO:<bob@example.com>", "DATA", "VRFY bob",
                                                            "RSET", "HELP", "NOOP")),
    "AUTH before STARTTLS": ("submission", conversation(LOGIN)),
    "a wrong password": ("submission", conversation(WRONG, tls=True)),
    "AUTH LOGIN": ("submission", conversation("AUTH LOGIN", b64(ALICE), b64(USERS[ALICE]), tls=True)),
    "AUTH given up": ("submission", conversation("AUTH LOGIN", "*", tls=True)),
    "AUTH without a mechanism": ("submission", conversation("AUTH", tls=True)),
    "AUTH twice": ("submission", conversation(LOGIN, LOGIN, tls=True)),
    "AUTH in a transaction": ("submission", conversation(LOGIN, f"MAIL FROM:<{ALICE}>", "AUTH PLAIN", tls=True)),
    "sender not owned by the login": ("submission", conversation(LOGIN, "MAIL FROM:<bob@example.com>",
                                                                 f"RCPT TO:<{ALICE}>", tls=True)),
    "a submission": ("submission", conversation(LOGIN, f"MAIL FROM:<{ALICE}>", "RCPT TO:<bob@example.com>",
                                                "DATA", tls=True)),
    "STARTTLS where it is not offered": ("plain", conversation("STARTTLS")),
}
LAB_ENDPOINTS = {"relay": "relay", "submission": "submission", "plain": "submission-no-starttls"}


def answers(lab: Lab, server: Postfix, service: str, talk: Callable[..., list[Reply]]) -> tuple[list, list]:
    """What Postfix's service answers, and what the lab's endpoint beside it answers, to one conversation."""
    found = []
    for address, context in ((getattr(server, service), server.context),
                             (lab[LAB_ENDPOINTS[service]].address, lab.client_context())):
        with smtplib.SMTP(*address, timeout=CLIENT_TIMEOUT) as client:
            found.append(talk(client, context))
    return found[0], found[1]


@pytest.mark.parametrize("case", list(CASES))
def test_the_lab_answers_as_postfix_does(lab, postfix, case):
    postfix_answers, lab_answers = answers(lab, postfix, *CASES[case])
    assert lab_answers == postfix_answers


def test_where_the_lab_answers_otherwise_on_purpose(lab, postfix):
    without_login = conversation(f"MAIL FROM:<{ALICE}>", "RCPT TO:<bob@example.com>", tls=True)
    assert answers(lab, postfix, "submission", without_login) == (
        [(250, "2.1.0"), (554, "5.7.1")],  # Postfix: permit_sasl_authenticated, reject, judged at RCPT
        [(530, "5.7.0"), (503, "5.5.1")],  # the lab, as Gmail and Microsoft 365: at MAIL, so RCPT has no MAIL
    )
    bad_base64 = conversation("AUTH PLAIN !!!", tls=True)
    assert answers(lab, postfix, "submission", bad_base64) == ([(535, "5.7.8")], [(501, "5.5.2")])


@pytest.mark.parametrize("service", ["relay", "submission", "plain"])
def test_ehlo_offers_what_postfix_offers_less_what_the_lab_does_not_do(lab, postfix, service):
    keywords = []
    for address in (getattr(postfix, service), lab[LAB_ENDPOINTS[service]].address):
        with smtplib.SMTP(*address, timeout=CLIENT_TIMEOUT) as client:
            client.ehlo("client.example.com")
            keywords.append([line.split()[0] for line in client.ehlo_resp.decode().splitlines()[1:]])
    assert [keyword for keyword in keywords[0] if keyword not in ("ETRN", "DSN", "CHUNKING")] == keywords[1]
