"""The lab's relay against a real Postfix 3.7: the same smtplib conversations, the same reply codes, enhanced
status codes and stages (review fidelity.md, rows D7-D11).

The test starts a private Postfix from a configuration in a temporary folder: it listens on 127.0.0.1 only,
on a port of its own, and delivers nothing (every transport is `discard`). Postfix's master process must run
as root; without Postfix (apt-get install postfix) or without root, the test is skipped.

The Postfix here is configured as the lab's relay is: an MX for example.com that refuses to relay
(reject_unauth_destination), offers STARTTLS, and takes messages of up to 10,240,000 bytes. Where the lab
differs from Postfix's defaults on purpose, Postfix is set to match and the setting says so:
- strict_rfc821_envelopes = yes: the lab refuses `MAIL FROM:<Name <a@b>>` (501 5.1.7), as Postfix does with
  this setting; by default Postfix takes the address inside.
The EHLO keywords differ by what the lab does not do: ETRN, DSN and CHUNKING.
"""

from __future__ import annotations

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
from helpers.profiles import MAX_MESSAGE_SIZE, MAX_RECIPIENTS

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
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postfix() -> Iterator[tuple[int, ssl.SSLContext]]:
    """A private Postfix on 127.0.0.1: its port, and a client context that trusts its certificate."""
    with tempfile.TemporaryDirectory(prefix="lab-postfix-") as name:
        yield from _serve(Path(name))


def _serve(folder: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    folder.chmod(0o755)  # Postfix's own user must reach its data folder inside (pytest's tmp_path is private)
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(folder / "server.pem")
    (folder / "server.pem").chmod(0o600)
    (folder / "spool").mkdir()  # Postfix makes the queues inside
    (folder / "data").mkdir()
    shutil.chown(folder / "data", "postfix")
    port = free_port()
    (folder / "main.cf").write_text(MAIN_CF.format(folder=folder, hostname=HOSTNAME, size=MAX_MESSAGE_SIZE,
                                                   recipients=MAX_RECIPIENTS))
    master = Path("/etc/postfix/master.cf").read_text()
    smtp = re.compile(r"^smtp\s+inet\s.*$", re.MULTILINE)
    (folder / "master.cf").write_text(smtp.sub(f"127.0.0.1:{port} inet n - n - - smtpd", master, count=1))
    command = [POSTFIX, "-c", str(folder)]
    started = subprocess.run([*command, "start"], capture_output=True, text=True, timeout=START_TIMEOUT)
    try:
        assert started.returncode == 0, _log(folder)
        _wait_for(port)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        yield port, context
    finally:
        subprocess.run([*command, "stop"], capture_output=True, timeout=START_TIMEOUT)


def _log(folder: Path) -> str:
    log = folder / "maillog"
    return log.read_text()[-2000:] if log.exists() else "(no log)"


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab("relay") as lab:
        yield lab


Reply = tuple[int, str]  # the reply code and its enhanced status code ("" when it has none)


def said(client: smtplib.SMTP, line: str) -> Reply:
    client.send(line.encode() + b"\r\n")
    code, text = client.getreply()
    enhanced = ENHANCED.match(text + b" ")
    return code, enhanced.group(1).decode() if enhanced else ""


def conversation(*lines: str, ehlo: bool = True) -> Callable[[smtplib.SMTP], list[Reply]]:
    def talk(client: smtplib.SMTP) -> list[Reply]:
        if ehlo:
            client.ehlo("client.example.com")
        return [said(client, line) for line in lines]

    return talk


def inside_tls(client: smtplib.SMTP, context: ssl.SSLContext) -> list[Reply]:
    client.starttls(context=context)
    client.ehlo("client.example.com")
    return [said(client, "STARTTLS"), said(client, "NOOP")]


def raw_message(content: bytes) -> Callable[[smtplib.SMTP], list[Reply]]:
    def send(client: smtplib.SMTP) -> list[Reply]:
        client.ehlo("client.example.com")
        client.esmtp_features.pop("size", None)  # a client that does not declare the size
        try:
            client.sendmail("a@example.net", ["alice@example.com"], content)
        except smtplib.SMTPDataError as refused:
            return [(refused.smtp_code, ENHANCED.match(refused.smtp_error + b" ").group(1).decode())]
        return [(250, "2.0.0")]

    return send


def many_recipients(client: smtplib.SMTP) -> list[Reply]:
    client.ehlo("client.example.com")
    said(client, "MAIL FROM:<a@example.net>")
    client.send(b"".join(b"RCPT TO:<user%d@example.com>\r\n" % n for n in range(MAX_RECIPIENTS + 1)))
    replies = [client.getreply() for _ in range(MAX_RECIPIENTS + 1)]
    return [(replies[0][0], replies[0][1][:5].decode()), (replies[-1][0], replies[-1][1][:5].decode())]


CASES = {
    "unknown command": conversation("FOO bar"),
    "HELP": conversation("HELP"),
    "MAIL without EHLO": conversation("MAIL FROM:<a@example.net>", ehlo=False),
    "malformed sender": conversation("MAIL FROM:<not an address"),
    "half an address literal": conversation("MAIL FROM:<a@["),
    "display name in the envelope": conversation("MAIL FROM:<Alice <alice@example.com>>"),
    "display name without brackets": conversation("MAIL FROM:Alice <alice@example.com>"),
    "SIZE that is not a number": conversation("MAIL FROM:<a@example.net> SIZE=²"),
    "SIZE over the limit": conversation(f"MAIL FROM:<a@example.net> SIZE={MAX_MESSAGE_SIZE + 1}"),
    "null sender": conversation("MAIL FROM:<>", "RCPT TO:<alice@example.com>"),
    "nested MAIL": conversation("MAIL FROM:<a@example.net>", "MAIL FROM:<a@example.net>"),
    "RCPT before MAIL": conversation("RCPT TO:<alice@example.com>"),
    "DATA before MAIL": conversation("DATA"),
    "DATA with every recipient refused": conversation("MAIL FROM:<a@example.net>", "RCPT TO:<x@example.net>", "DATA"),
    "relay denied": conversation("MAIL FROM:<a@example.net>", "RCPT TO:<someone@example.net>"),
    "malformed recipient": conversation("MAIL FROM:<a@example.net>", "RCPT TO:<bob@example.com"),
    "Postmaster": conversation("MAIL FROM:<a@example.net>", "RCPT TO:<Postmaster>"),
    "address literal": conversation("MAIL FROM:<a@[127.0.0.1]>", "RCPT TO:<alice@example.com>"),
    "AUTH on the relay": conversation("AUTH PLAIN"),
    "RSET with an argument": conversation("RSET now", "RSET", "NOOP"),
    "VRFY": conversation("VRFY alice@example.com", "VRFY", 'VRFY "', "VRFY <@"),
    "QUIT": conversation("QUIT"),
    "STARTTLS inside TLS": inside_tls,
    "a 1,507-character line": raw_message(b"Subject: long\r\n\r\n" + b"x" * 1507 + b"\r\n"),
    "bare line feeds": raw_message(b"Subject: bare\n\nline one\nline two\n"),
    "over the size limit after DATA": raw_message(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 10_300),
    "more recipients than the limit": many_recipients,
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_lab_answers_as_postfix_does(lab, postfix, case):
    port, context = postfix
    answers = []
    for address, trusted in ((("127.0.0.1", port), context), (lab["relay"].address, lab.client_context())):
        with smtplib.SMTP(*address, timeout=CLIENT_TIMEOUT) as client:
            talk = CASES[case]
            answers.append(talk(client, trusted) if talk is inside_tls else talk(client))
    postfix_answers, lab_answers = answers
    assert lab_answers == postfix_answers


def test_ehlo_offers_what_postfix_offers_less_what_the_lab_does_not_do(lab, postfix):
    keywords = []
    for address in (("127.0.0.1", postfix[0]), lab["relay"].address):
        with smtplib.SMTP(*address, timeout=CLIENT_TIMEOUT) as client:
            client.ehlo("client.example.com")
            keywords.append([line.split()[0] for line in client.ehlo_resp.decode().splitlines()[1:]])
    assert [keyword for keyword in keywords[0] if keyword not in ("ETRN", "DSN", "CHUNKING")] == keywords[1]
