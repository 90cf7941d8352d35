"""Scenarios: each failure in the catalog that can happen locally, reproduced against the lab.

A scenario is the plain smtplib code a reader would write (`action`), which fails against one of the
lab's endpoints, and the same job done right (`fixed`), which must succeed. Running one records both
conversations, keeps the exception exactly as the reader's code saw it, and diagnoses it:

    with Lab(*PROFILES) as lab:
        result = run("plaintext-to-implicit-tls", lab)
    result.raw_error          # 'smtplib.SMTPServerDisconnected: Connection unexpectedly closed'
    result.diagnosis[0].id    # 'plaintext-to-implicit-tls'
    result.fixed              # True: SMTP_SSL on the same port worked
    print(result.text())      # code, error, transcript, diagnosis and fix; result.html() in a notebook

A scenario counts as diagnosed only when its catalog entry is the *best* match (not merely one of
them): the diagnosis is meant to name the cause, not to list candidates.

    python -m helpers.scenarios [--run ID] [--json]

runs every scenario (or one) on one fresh lab; exit status 0 only when each failed as expected, was
diagnosed as its entry, and its fix worked. Deliberate hangs use client timeouts under a second.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import smtplib
import ssl
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage

from helpers import display
from helpers.catalog import Entry, entry
from helpers.client import EHLO_NAME
from helpers.diagnose import Diagnosis, Match, diagnose, render
from helpers.lab import Lab
from helpers.profiles import (
    FOREIGN_DOMAIN,
    GREYLIST_DELAY,
    LAB_DOMAIN,
    LOGIN_BLOCK,
    MAX_FAILED_LOGINS,
    MAX_MESSAGE_SIZE,
)
from helpers.transcript import Recording, describe_error, record

ALICE = f"alice@{LAB_DOMAIN}"
BOB = f"bob@{LAB_DOMAIN}"
OUTSIDER = f"someone@{FOREIGN_DOMAIN}"
TIMEOUT = 5.0  # seconds: longer than any server-side wait in the lab, so the server speaks (or hangs up) first
SHORT_TIMEOUT = 0.2  # seconds: shorter than the slow endpoint's 0.5 s delay before its greeting
CONNECT_TIMEOUT = 0.5  # seconds to wait for a filtered port before giving up

Action = Callable[[Lab, Mapping[str, str]], None]


def hello(sender: str = ALICE, to: str = BOB, subject: str = "Hello from the lab", body: str = "Hi!\n") -> EmailMessage:
    """A small, well-formed message."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


# --------------------------------------------------------------------------------------------------
# Fixes several scenarios share: submission done right


def send_over_465(lab: Lab, users: Mapping[str, str]) -> None:
    """TLS from the first byte on 465, the certificate verified, then login and send."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def send_over_587(lab: Lab, users: Mapping[str, str]) -> None:
    """Plaintext first on 587, then STARTTLS (required, verified), then login and send."""
    host, port = lab["submission"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=context)
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


# --------------------------------------------------------------------------------------------------
# A: ports and TLS modes


def plaintext_to_implicit_tls(lab: Lab, users: Mapping[str, str]) -> None:
    """Plain SMTP to port 465: the client waits for a greeting, the server for a TLS handshake."""
    host, port = lab["submissions"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def implicit_tls_to_starttls_port(lab: Lab, users: Mapping[str, str]) -> None:
    """TLS from the first byte on port 587, which starts in plaintext."""
    host, port = lab["submission"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def starttls_unavailable(lab: Lab, users: Mapping[str, str]) -> None:
    """STARTTLS asked of a server that does not offer it."""
    host, port = lab["submission-no-starttls"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def starttls_refused(lab: Lab, users: Mapping[str, str]) -> None:
    """STARTTLS offered, asked for, and refused with 454."""
    host, port = lab["submission-tls-unavailable"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def starttls_required_first(lab: Lab, users: Mapping[str, str]) -> None:
    """Sending on 587 without STARTTLS (and so without the login it would offer afterwards)."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.send_message(hello())


# --------------------------------------------------------------------------------------------------
# B: authentication


def auth_not_advertised(lab: Lab, users: Mapping[str, str]) -> None:
    """Logging in before STARTTLS: the server lists AUTH only once the connection is encrypted."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def auth_mechanism_mismatch(lab: Lab, users: Mapping[str, str]) -> None:
    """Insisting on CRAM-MD5 (as Go's smtp.CRAMMD5Auth does) with a server that offers PLAIN and LOGIN."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.ehlo()
        smtp.user, smtp.password = ALICE, users[ALICE]
        smtp.auth("CRAM-MD5", smtp.auth_cram_md5)


def bad_credentials(lab: Lab, users: Mapping[str, str]) -> None:
    """The right server, the wrong password."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, "not-the-password")
        smtp.send_message(hello())


def unauthenticated_submission(lab: Lab, users: Mapping[str, str]) -> None:
    """STARTTLS done, but no login before sending."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.send_message(hello())


# --------------------------------------------------------------------------------------------------
# C: identity and relaying


def sender_identity_mismatch(lab: Lab, users: Mapping[str, str]) -> None:
    """Logged in as alice, sending as bob."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(sender=BOB, to=ALICE))


def from_header_mismatch(lab: Lab, users: Mapping[str, str]) -> None:
    """The case study's refusal: raw text with no From: line (theirs held a host name instead)."""
    host, port = lab["submission-strict-from"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.sendmail(ALICE, [BOB], "Subject: Hello\r\n\r\nHi!\r\n")


def from_header_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """An EmailMessage whose From: is the address you log in as."""
    host, port = lab["submission-strict-from"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(sender=ALICE))


def envelope_display_name(lab: Lab, users: Mapping[str, str]) -> None:
    """The From: header's text put in the envelope, "Name <address>", as Go's c.Mail(from) and hand-made
    clients send it. (smtplib's own mail() and send_message() take the address out of it for you.)"""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        sender = f"Alice <{ALICE}>"
        code, reply = smtp.docmd("MAIL", f"FROM:<{sender}>")
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)


def envelope_display_name_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The display name in the From: header only; the envelope gets the bare address."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(sender=f"Alice <{ALICE}>"))   # send_message puts alice@example.com in MAIL FROM


def relay_denied(lab: Lab, users: Mapping[str, str]) -> None:
    """Using a domain's MX (port 25) as if it were your outgoing server."""
    host, port = lab["relay"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.send_message(hello(to=OUTSIDER))


def relay_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """Mail for other domains goes through your provider's submission port, logged in."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(to=OUTSIDER))


# --------------------------------------------------------------------------------------------------
# D: network


def dns_resolution_failed(lab: Lab, users: Mapping[str, str]) -> None:
    """A host setting with the port still in it, SMTP_HOST=smtp.example.com:587, given with port 587."""
    # The resolver answers as for a name that does not exist. glibc refuses a name with a colon in it before
    # asking any DNS server, so nothing leaves the machine (a name that merely does not exist, even under
    # .invalid, would be sent to the DNS server to be refused there).
    with smtplib.SMTP("smtp.example.com:587", 587, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def egress_port_blocked(lab: Lab, users: Mapping[str, str]) -> None:
    """Port 25 from a cloud machine: the packets are dropped, the connection attempt times out."""
    host, port = lab["blackhole"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=CONNECT_TIMEOUT) as smtp:
        smtp.send_message(hello())


def connection_refused(lab: Lab, users: Mapping[str, str]) -> None:
    """The case study's typo: port 468 instead of 465."""
    host, port = lab["closed"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def greeting_timeout(lab: Lab, users: Mapping[str, str]) -> None:
    """A timeout shorter than the server's pause before its greeting."""
    host, port = lab["slow"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=SHORT_TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def greeting_timeout_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The same, with a timeout patient enough for a slow greeting."""
    host, port = lab["slow"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def server_busy(lab: Lab, users: Mapping[str, str]) -> None:
    """A server that greets with 421 and hangs up."""
    host, port = lab["busy"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def server_busy_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """421 means "try again later": here, move on to the provider's other server."""
    context = ssl.create_default_context(cafile=lab.ca_file)
    for name in ("busy", "submission"):
        host, port = lab[name].address
        try:
            with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
                smtp.starttls(context=context)
                smtp.login(ALICE, users[ALICE])
                smtp.send_message(hello())
            return
        except smtplib.SMTPConnectError as error:
            if error.smtp_code != 421:
                raise
    raise RuntimeError("every server answered 421; try again later")


def not_smtp(lab: Lab, users: Mapping[str, str]) -> None:
    """The port of a web server, not a mail server."""
    host, port = lab["not-smtp"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.send_message(hello())


# --------------------------------------------------------------------------------------------------
# E: certificates


def cert_untrusted(lab: Lab, users: Mapping[str, str]) -> None:
    """Only the system's CAs trusted; the server's certificate comes from a private CA (the lab's)."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context()
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_name_mismatch(lab: Lab, users: Mapping[str, str]) -> None:
    """Connecting by IP address to a server whose certificate names only localhost."""
    host, port = lab["submissions-wrong-host-cert"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_name_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """Connecting by the name on the certificate."""
    port = lab["submissions-wrong-host-cert"].port
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL("localhost", port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_expired(lab: Lab, users: Mapping[str, str]) -> None:
    """A server whose certificate expired."""
    host, port = lab["submissions-expired-cert"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def tls_version_mismatch(lab: Lab, users: Mapping[str, str]) -> None:
    """Code pinned to an old TLS version, as code written for an old server is: current OpenSSL will not
    speak TLS 1.0 or 1.1 at all, so no version is left to agree on."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    context.maximum_version = ssl.TLSVersion.MINIMUM_SUPPORTED  # TLS 1.0, "to be compatible"
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def old_tls_server(lab: Lab, users: Mapping[str, str]) -> None:
    """A server not updated in years: it speaks only TLS 1.0 and 1.1, which current OpenSSL (and so
    Python) will not speak at all."""
    host, port = lab["submissions-old-tls"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_cn_without_san(lab: Lab, users: Mapping[str, str]) -> None:
    """Names checked as Go (since 1.15) and browsers check them, against a server whose certificate names its
    host only in the old Common Name field. (Python's default still reads the Common Name, and passes.)"""
    port = lab["submissions-cn-only-cert"].port
    context = ssl.create_default_context(cafile=lab.ca_file)
    context.hostname_checks_common_name = False
    with smtplib.SMTP_SSL("localhost", port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_with_san(lab: Lab, users: Mapping[str, str]) -> None:
    """The same check, once the server's certificate is reissued with the name in subjectAltName."""
    port = lab["submissions"].port
    context = ssl.create_default_context(cafile=lab.ca_file)
    context.hostname_checks_common_name = False
    with smtplib.SMTP_SSL("localhost", port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def cert_chain_incomplete(lab: Lab, users: Mapping[str, str]) -> None:
    """A server whose certificate comes from an intermediate CA, and which sends its own certificate without
    the intermediate's: the client cannot link it to the CA it trusts."""
    host, port = lab["submissions-incomplete-chain-cert"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def tls_handshake_aborted(lab: Lab, users: Mapping[str, str]) -> None:
    """A server that hangs up in the middle of the TLS handshake."""
    host, port = lab["submissions-handshake-abort"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


# --------------------------------------------------------------------------------------------------
# F: content and volume


def message_too_large(lab: Lab, users: Mapping[str, str]) -> None:
    """A nightly export, attachment-sized, over the server's SIZE limit."""
    export = b"Subject: Nightly export\r\n\r\n" + b"x" * (MAX_MESSAGE_SIZE + 1)
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.sendmail(ALICE, [BOB], export)


def message_too_large_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """A link to the file instead of the file."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(body="The report is at https://files.example.com/report.pdf\n"))


def rate_limited(lab: Lab, users: Mapping[str, str]) -> None:
    """A script that retries a wrong password in a loop until the server blocks it."""
    host, port = lab["rate-limited"].address
    for _ in range(MAX_FAILED_LOGINS + 1):
        with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
            smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
            try:
                smtp.login(ALICE, "not-the-password")
            except smtplib.SMTPAuthenticationError as error:
                if error.smtp_code != 535:
                    raise


def rate_limited_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The right password, once, after the block has lifted (the lab's lasts half a second)."""
    time.sleep(LOGIN_BLOCK)
    host, port = lab["rate-limited"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello())


def greylisted(lab: Lab, users: Mapping[str, str]) -> None:
    """First mail from a sender this MX has never seen."""
    host, port = lab["greylisting"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.send_message(hello(sender=newcomer(lab), to=ALICE))


def greylisted_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """Retry later, as mail servers do (the lab wants 0.3 s; real greylisting, minutes)."""
    time.sleep(GREYLIST_DELAY)
    host, port = lab["greylisting"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.send_message(hello(sender=newcomer(lab), to=ALICE))


def newcomer(lab: Lab) -> str:
    """A sender the greylisting MX has not seen yet (it remembers every sender it accepted a retry
    from, so each run needs a new one); the same one until a message is accepted."""
    return f"news{len(lab.mailbox) + 1}@{FOREIGN_DOMAIN}"


def non_ascii_address(lab: Lab, users: Mapping[str, str]) -> None:
    """A recipient with a non-ASCII name, on a server without SMTPUTF8."""
    host, port = lab["submission-no-smtputf8"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(to=f"jörg@{LAB_DOMAIN}"))


def non_ascii_address_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The recipient's ASCII address."""
    host, port = lab["submission-no-smtputf8"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(to=f"joerg@{LAB_DOMAIN}"))


def non_ascii_body_as_str(lab: Lab, users: Mapping[str, str]) -> None:
    """German text given to sendmail() as a str."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.sendmail(ALICE, [BOB], f"From: {ALICE}\nTo: {BOB}\nSubject: Grüße\n\nHallo Jörg!\n")


def non_ascii_body_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The same text in an EmailMessage, which encodes it."""
    host, port = lab["submission"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(subject="Grüße", body="Hallo Jörg!\n"))


def long_lines(lab: Lab, users: Mapping[str, str]) -> None:
    """Generated HTML without line breaks, sent as raw bytes."""
    html_report = "<p>" + "quarterly numbers " * 120 + "</p>"
    host, port = lab["submission-strict-lines"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        raw = f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: Report\r\nContent-Type: text/html\r\n\r\n{html_report}\r\n"
        smtp.sendmail(ALICE, [BOB], raw.encode())


def long_lines_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The same HTML in an EmailMessage, which wraps it in short encoded lines."""
    msg = hello(subject="Report")
    msg.set_content("<p>" + "quarterly numbers " * 120 + "</p>", subtype="html")
    host, port = lab["submission-strict-lines"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(msg)


def bare_line_feeds(lab: Lab, users: Mapping[str, str]) -> None:
    """A message put together with \\n line ends, sent as bytes."""
    raw = f"From: {ALICE}\nTo: {BOB}\nSubject: Report\n\nfirst line\nsecond line\n".encode()
    host, port = lab["submission-strict-lines"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.sendmail(ALICE, [BOB], raw)


def bare_line_feeds_fixed(lab: Lab, users: Mapping[str, str]) -> None:
    """The same text in an EmailMessage: send_message writes CR LF whatever the text used."""
    host, port = lab["submission-strict-lines"].address
    with smtplib.SMTP(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=ssl.create_default_context(cafile=lab.ca_file))
        smtp.login(ALICE, users[ALICE])
        smtp.send_message(hello(body="first line\nsecond line\n"))


def reused_after_close(lab: Lab, users: Mapping[str, str]) -> None:
    """One connection kept for the whole program; once closed (by quit() or an idle server), reused."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    smtp = smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context)
    smtp.login(ALICE, users[ALICE])
    smtp.send_message(hello(subject="First"))
    smtp.quit()
    smtp.send_message(hello(subject="Second"))


def connection_per_batch(lab: Lab, users: Mapping[str, str]) -> None:
    """A fresh connection for each batch of mail: nothing to go stale."""
    host, port = lab["submissions"].address
    context = ssl.create_default_context(cafile=lab.ca_file)
    for subject in ("First", "Second"):
        with smtplib.SMTP_SSL(host, port, local_hostname=EHLO_NAME, timeout=TIMEOUT, context=context) as smtp:
            smtp.login(ALICE, users[ALICE])
            smtp.send_message(hello(subject=subject))


# --------------------------------------------------------------------------------------------------
# The list


@dataclass(frozen=True)
class Scenario:
    id: str  # the catalog entry it reproduces, and expects as the diagnosis (unless `expects` says otherwise)
    port: int  # the real port the failure is about
    profiles: tuple[str, ...]  # lab endpoints it needs
    action: Action  # the failing code
    fixed: Action  # the same job done right; must succeed
    expects: str = ""  # the entry the diagnosis must name, when the scenario is one way among others to meet it
    about: str = ""  # its title, when it is not its entry's

    @property
    def entry(self) -> Entry:
        return entry(self.expects or self.id)

    @property
    def title(self) -> str:
        return self.about or self.entry.title


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plaintext-to-implicit-tls", 465, ("submissions",), plaintext_to_implicit_tls, send_over_465),
    Scenario("implicit-tls-to-starttls-port", 587, ("submission",), implicit_tls_to_starttls_port, send_over_587),
    Scenario("starttls-unavailable", 587, ("submission-no-starttls", "submissions"), starttls_unavailable,
             send_over_465),
    Scenario("starttls-refused", 587, ("submission-tls-unavailable", "submissions"), starttls_refused, send_over_465),
    Scenario("starttls-required-first", 587, ("submission",), starttls_required_first, send_over_587),
    Scenario("auth-not-advertised", 587, ("submission",), auth_not_advertised, send_over_587),
    Scenario("auth-mechanism-mismatch", 587, ("submission",), auth_mechanism_mismatch, send_over_587),
    Scenario("bad-credentials", 587, ("submission",), bad_credentials, send_over_587),
    Scenario("unauthenticated-submission", 587, ("submission",), unauthenticated_submission, send_over_587),
    Scenario("sender-identity-mismatch", 587, ("submission",), sender_identity_mismatch, send_over_587),
    Scenario("from-header-mismatch", 587, ("submission-strict-from",), from_header_mismatch, from_header_fixed),
    Scenario("envelope-display-name", 587, ("submission",), envelope_display_name, envelope_display_name_fixed),
    Scenario("relay-denied", 25, ("relay", "submissions"), relay_denied, relay_fixed),
    Scenario("dns-resolution-failed", 587, ("submission",), dns_resolution_failed, send_over_587),
    Scenario("egress-port-blocked", 25, ("blackhole", "submissions"), egress_port_blocked, send_over_465),
    Scenario("connection-refused", 468, ("closed", "submissions"), connection_refused, send_over_465),
    Scenario("greeting-timeout", 587, ("slow",), greeting_timeout, greeting_timeout_fixed),
    Scenario("server-busy", 587, ("busy", "submission"), server_busy, server_busy_fixed),
    Scenario("not-smtp", 587, ("not-smtp", "submission"), not_smtp, send_over_587),
    Scenario("cert-untrusted", 465, ("submissions",), cert_untrusted, send_over_465),
    Scenario("cert-name-mismatch", 465, ("submissions-wrong-host-cert",), cert_name_mismatch, cert_name_fixed),
    Scenario("cert-expired", 465, ("submissions-expired-cert", "submissions"), cert_expired, send_over_465),
    Scenario("tls-version-mismatch", 465, ("submissions",), tls_version_mismatch, send_over_465),
    Scenario("old-tls-server", 465, ("submissions-old-tls", "submissions"), old_tls_server, send_over_465,
             expects="tls-version-mismatch", about="A server that speaks only TLS 1.0 and 1.1"),
    # The certificate's name is missing for a check that reads subjectAltName only: a name mismatch to the client.
    Scenario("cert-cn-without-san", 465, ("submissions-cn-only-cert", "submissions"), cert_cn_without_san,
             cert_with_san, expects="cert-name-mismatch"),
    # The client cannot tell a missing intermediate from a CA it does not trust; the doctor can.
    Scenario("cert-chain-incomplete", 465, ("submissions-incomplete-chain-cert", "submissions"),
             cert_chain_incomplete, send_over_465, expects="cert-untrusted",
             about="A server that leaves its intermediate certificate out"),
    Scenario("tls-handshake-aborted", 465, ("submissions-handshake-abort", "submission"), tls_handshake_aborted,
             send_over_587),
    Scenario("message-too-large", 587, ("submission",), message_too_large, message_too_large_fixed),
    Scenario("rate-limited", 587, ("rate-limited",), rate_limited, rate_limited_fixed),
    Scenario("greylisted", 25, ("greylisting",), greylisted, greylisted_fixed),
    Scenario("non-ascii-address", 587, ("submission-no-smtputf8",), non_ascii_address, non_ascii_address_fixed),
    Scenario("non-ascii-body-as-str", 587, ("submission",), non_ascii_body_as_str, non_ascii_body_fixed),
    Scenario("long-lines", 587, ("submission-strict-lines",), long_lines, long_lines_fixed),
    Scenario("bare-lf", 587, ("submission-strict-lines",), bare_line_feeds, bare_line_feeds_fixed),
    Scenario("timeouts-and-idle-drops", 465, ("submissions",), reused_after_close, connection_per_batch),
)

BY_ID = {scenario.id: scenario for scenario in SCENARIOS}
PROFILES = tuple(dict.fromkeys(name for scenario in SCENARIOS for name in scenario.profiles))


def scenario(scenario_id: str) -> Scenario:
    try:
        return BY_ID[scenario_id]
    except KeyError:
        raise KeyError(f"unknown scenario {scenario_id!r}; choose one of: {', '.join(BY_ID)}") from None


# --------------------------------------------------------------------------------------------------
# Running


@dataclass
class ScenarioResult:
    """What one run showed: the failure as the reader's code saw it, both conversations, the diagnosis,
    and whether the fix worked."""

    scenario: Scenario
    error: BaseException | None
    recording: Recording
    diagnosis: list[Match]
    fix_error: BaseException | None
    fix_recording: Recording
    seconds: float

    @property
    def raw_error(self) -> str:
        """The exception as the last line of its traceback shows it."""
        return describe_error(self.error) if self.error else "(no error)"

    @property
    def diagnosed(self) -> bool:
        """True when the scenario's own entry is the best match."""
        return bool(self.diagnosis) and self.diagnosis[0].id == self.scenario.entry.id

    @property
    def fixed(self) -> bool:
        return self.fix_error is None

    @property
    def ok(self) -> bool:
        return self.error is not None and self.diagnosed and self.fixed

    def text(self) -> str:
        """Everything about the run, as plain text without timings (so it reads the same every run)."""
        s = self.scenario
        best = self.diagnosis[0] if self.diagnosis else None
        verdict = "as expected" if self.diagnosed else f"EXPECTED {s.entry.id}"
        parts = [
            f"{s.id} (port {s.port}): {s.title}",
            "Your code: " + _listing(s.action),
            "What it raised:\n" + _indent(self.raw_error),
            "On the wire:\n" + _indent(self.recording.text() or "(no connection)"),
            f"Diagnosis ({verdict}): " + (best.id if best else "nothing matched"),
        ]
        if best:
            parts.append(render(self.diagnosis, limit=1))
        fix_outcome = "it worked" if self.fixed else f"IT FAILED: {describe_error(self.fix_error)}"
        parts.append(f"The fix ({fix_outcome}): " + _listing(s.fixed))
        return "\n\n".join(parts)

    def html(self) -> str:
        """For a notebook: the code, the raw error, the conversation as a sequence diagram, the
        diagnosis with its fix, and the fix's code and outcome."""
        s = self.scenario
        parts = [
            f"<h4>{display.prose(s.title)}</h4>",
            display.notice(f"Scenario <code>{s.id}</code>, on port {s.port}", quiet=True),
            "<b>Your code</b>", *_code(s.action),
            "<b>What it raised</b>",
            f'<pre style="margin:4px 0 8px;color:{display.RED};white-space:pre-wrap;{display.WRAP_AT_SPACES}">'
            f"{display.escape(self.raw_error)}</pre>",
            "<b>On the wire</b>", *(t.html() for t in self.recording.transcripts),
        ]
        if self.diagnosis and not self.diagnosed:
            parts.append(display.notice(f"<b>Expected {s.entry.id}</b>", colour=display.RED))
        parts.append(Diagnosis(tuple(self.diagnosis)).html())
        outcome = "it worked" if self.fixed else f"it failed: {describe_error(self.fix_error)}"
        colour = display.GREEN if self.fixed else display.RED
        parts += [f'<b>The fix</b> (<span style="color:{colour}">{display.escape(outcome)}</span>)', *_code(s.fixed)]
        return f'<div class="smtp-scenario" style="max-width:900px;line-height:1.45">{"".join(parts)}</div>'

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__  # the default would show OS-chosen ports and timings


def run(scenario_id: str, lab: Lab) -> ScenarioResult:
    """Run one scenario against a running lab that has its profiles (Lab(*PROFILES) has them all)."""
    s = scenario(scenario_id)
    missing = [name for name in s.profiles if name not in lab.profiles]
    if missing:
        raise ValueError(f"this lab lacks the endpoints {', '.join(missing)}; start one with Lab(*scenarios.PROFILES)")
    started = time.monotonic()
    error, recording = _attempt(s.action, lab)
    diagnosis = diagnose(recording) if error else []
    fix_error, fix_recording = _attempt(s.fixed, lab)
    return ScenarioResult(s, error, recording, diagnosis, fix_error, fix_recording,
                          round(time.monotonic() - started, 3))


def _attempt(action: Action, lab: Lab) -> tuple[BaseException | None, Recording]:
    recording = Recording()
    try:
        with record(names=lab.names) as recording:
            action(lab, lab.users)
    except Exception as error:  # the reader's code failed: that is what we came to see
        return error, recording
    return None, recording


def run_all(lab: Lab | None = None) -> list[ScenarioResult]:
    """Run every scenario, on `lab` or on a fresh lab started (and stopped) for the purpose."""
    if lab is None:
        with Lab(*PROFILES) as fresh:
            return run_all(fresh)
    return [run(s.id, lab) for s in SCENARIOS]


def table(results: list[ScenarioResult], *, times: bool = False) -> display.View:
    """One row per scenario: what the reader's code raised, whether the diagnosis named it and whether
    the fix worked, then how many did all three. A table in a notebook; `print()` it for aligned text,
    with the ids, which a terminal has room for. Timings (which change from run to run) only when asked
    for, in the text's last column."""
    failed = [r.scenario.id for r in results if not r.ok]
    summary = f"{len(results) - len(failed)} of {len(results)} scenarios reproduced, diagnosed and fixed" + (
        f"; not: {', '.join(failed)}" if failed else "")
    rows = [["scenario", "port", "what the client saw", "result"] + (["time"] if times else [])]
    for r in results:
        rows.append([r.scenario.id, str(r.scenario.port), _shorten(r.raw_error, 52), _verdict(r)]
                    + ([f"{r.seconds:.2f}s"] if times else []))
    cells = [
        [f'<span title="{r.scenario.id}">{display.prose(r.scenario.title)}</span>', str(r.scenario.port),
         f'<code style="font-size:12px">{display.escape(_shorten(r.raw_error, 90))}</code>',
         _mark(r.diagnosed, "" if r.diagnosed else f"as {_best(r)}"), _mark(r.fixed)]
        for r in results
    ]
    page = display.html_table(["failure", "port", "what your code raised", "diagnosed", "fixed"], cells,
                              widths=["31%", "6%", "45%", "11%", "7%"], caption=display.escape(summary))
    return display.View(page, display.text_table(rows) + "\n\n" + summary)


def _best(result: ScenarioResult) -> str:
    return result.diagnosis[0].id if result.diagnosis else "nothing"


def _verdict(result: ScenarioResult) -> str:
    """'ok', or what went wrong: the diagnosis named another entry (or none), the fix failed."""
    wrong = [] if result.diagnosed else [f"diagnosed as {_best(result)}"]
    wrong += [] if result.fixed else ["fix FAILED"]
    return "; ".join(wrong) or "ok"


def _mark(good: bool, why: str = "") -> str:
    colour, sign = (display.GREEN, "&#10003;") if good else (display.RED, "&#10007;")
    return f'<span style="color:{colour}">{sign}{" " + display.escape(why) if why else ""}</span>'


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _source(action: Action) -> tuple[str, str]:
    """A scenario's docstring and its body: the code as a reader would write it (the `def` line and
    the docstring are the kit's wrapping, not the reader's code)."""
    source = textwrap.dedent(inspect.getsource(action))
    function = ast.parse(source).body[0]
    docstring = ast.get_docstring(function) or ""
    first = function.body[1 if docstring else 0]
    return docstring, textwrap.dedent("\n".join(source.splitlines()[first.lineno - 1:]))


def _code(action: Action) -> list[str]:
    docstring, body = _source(action)
    return [display.notice(display.escape(docstring), quiet=True), display.code_block(body)]


def _listing(action: Action) -> str:
    docstring, body = _source(action)
    return f"{docstring}\n{_indent(body)}"


def _indent(text: str) -> str:
    return textwrap.indent(text.rstrip(), "    ")


def _as_json(result: ScenarioResult) -> dict:
    return {
        "id": result.scenario.id,
        "port": result.scenario.port,
        "profiles": list(result.scenario.profiles),
        "error": result.raw_error,
        "diagnosis": [match.id for match in result.diagnosis],
        "diagnosed": result.diagnosed,
        "fixed": result.fixed,
        "fix_error": describe_error(result.fix_error) if result.fix_error else None,
        "seconds": result.seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.scenarios",
        description="Reproduce every failure scenario against a fresh lab, diagnose it, and check its fix.",
        epilog="Exit status: 0 when every scenario failed as expected, was diagnosed and fixed; 1 otherwise; "
               "2 on bad usage.",
    )
    parser.add_argument("--run", metavar="ID", help="run one scenario and show its transcript and diagnosis")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    options = parser.parse_args(argv)
    if options.run is not None and options.run not in BY_ID:
        parser.error(f"unknown scenario {options.run!r}; choose one of: {', '.join(BY_ID)}")

    chosen = [scenario(options.run)] if options.run else list(SCENARIOS)
    profiles = dict.fromkeys(name for s in chosen for name in s.profiles)
    with Lab(*profiles) as lab:
        results = [run(s.id, lab) for s in chosen]
    if options.json:
        print(json.dumps([_as_json(result) for result in results], indent=2))
    elif options.run:
        print(results[0].text())
    else:
        print(table(results, times=True))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
