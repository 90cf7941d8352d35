"""Scenarios: every reproducible failure, run for real against the lab with smtplib."""

from __future__ import annotations

import dataclasses
import json
import re
import ssl
import subprocess
import sys

import pytest
from conftest import leaked

from helpers.lab import Lab
from helpers.scenarios import BY_ID, PROFILES, SCENARIOS, run, table

# What the reader's code raises in each scenario, as the last line of its traceback shows it.
# Messages that end in OpenSSL's source location ("(_ssl.c:1006)") are compared up to it.
RAISED = {
    "plaintext-to-implicit-tls": "smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
    "implicit-tls-to-starttls-port": "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:",
    "starttls-unavailable": "smtplib.SMTPNotSupportedError: STARTTLS extension not supported by server.",
    "starttls-refused": "smtplib.SMTPResponseException: (454, b'4.7.0 TLS not available due to temporary reason')",
    "starttls-required-first": "smtplib.SMTPSenderRefused: (530, b'5.7.0 Must issue a STARTTLS command first', "
                               "'alice@example.com')",
    "auth-not-advertised": "smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
    "auth-mechanism-mismatch": "smtplib.SMTPAuthenticationError: (504, b'5.5.4 Unrecognized authentication type')",
    "bad-credentials": "smtplib.SMTPAuthenticationError: (535, b'5.7.8 Error: authentication failed')",
    "unauthenticated-submission": "smtplib.SMTPSenderRefused: (530, b'5.7.0 Authentication required', "
                                  "'alice@example.com')",
    "sender-identity-mismatch": "smtplib.SMTPRecipientsRefused: {'alice@example.com': (553, b'5.7.1 "
                                "<bob@example.com>: Sender address rejected: not owned by user alice@example.com')}",
    "from-header-mismatch": "smtplib.SMTPDataError: (550, b'5.7.1 Your FROM address ( , ) must match your "
                            "authenticated email domain ( example.com ). Treating this as a spoofed email.')",
    "envelope-display-name": "smtplib.SMTPSenderRefused: (501, b'5.1.7 Bad sender address syntax'",
    "dns-resolution-failed": "socket.gaierror: [Errno -2] Name or service not known",
    "tls-version-mismatch": "ssl.SSLError: [SSL: NO_PROTOCOLS_AVAILABLE] no protocols available (_ssl.c:",
    # The old server's alert reaches the client (the lab sends it where asyncio alone would not).
    "old-tls-server": "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:",
    "cert-cn-without-san": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                           "failed: Hostname mismatch, certificate is not valid for 'localhost'. (_ssl.c:",
    "cert-chain-incomplete": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                             "failed: unable to get local issuer certificate (_ssl.c:",
    "relay-denied": "smtplib.SMTPRecipientsRefused: {'someone@example.net': (554, b'5.7.1 <someone@example.net>: "
                    "Relay access denied')}",
    "egress-port-blocked": "TimeoutError: timed out",
    "connection-refused": "ConnectionRefusedError: [Errno 111] Connection refused",
    "greeting-timeout": "smtplib.SMTPServerDisconnected: Connection unexpectedly closed: timed out",
    "server-busy": "smtplib.SMTPConnectError: (421, b'4.7.0 mail.example.com Service not available, closing "
                   "transmission channel')",
    "not-smtp": "smtplib.SMTPConnectError: (-1, b'/1.1 400 Bad Request')",
    "cert-untrusted": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                      "unable to get local issuer certificate (_ssl.c:",
    "cert-name-mismatch": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                          "IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:",
    "cert-expired": "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                    "certificate has expired (_ssl.c:",
    "tls-handshake-aborted": "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of "
                             "protocol (_ssl.c:",
    "message-too-large": "smtplib.SMTPSenderRefused: (552, b'5.3.4 Message size exceeds fixed limit', "
                         "'alice@example.com')",
    "rate-limited": "smtplib.SMTPAuthenticationError: (454, b'4.7.0 Too many login attempts, please try again later')",
    "greylisted": "smtplib.SMTPRecipientsRefused: {'alice@example.com': (451, b'4.7.1 <alice@example.com>: Recipient "
                  "address rejected: Greylisted, try again later')}",
    "non-ascii-address": "smtplib.SMTPNotSupportedError: One or more source or delivery addresses require "
                         "internationalized email support, but the server does not advertise the required SMTPUTF8 "
                         "capability",
    "non-ascii-body-as-str": "UnicodeEncodeError: 'ascii' codec can't encode characters in position",
    "long-lines": "smtplib.SMTPDataError: (500, b'5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)')",
    "bare-lf": "smtplib.SMTPDataError: (550, b'5.5.2 mail.example.com Error: bare <LF> received')",
    "timeouts-and-idle-drops": "smtplib.SMTPServerDisconnected: please run connect() first",
}

if sys.version_info < (3, 11, 3):
    # Python 3.11.0 to 3.11.2 with OpenSSL 3 report a connection that ends without TLS's goodbye as a clean
    # close; 3.11.3 made it SSLEOFError again (python/cpython#95494).
    RAISED["tls-handshake-aborted"] = "ssl.SSLZeroReturnError: TLS/SSL connection has been closed (EOF) (_ssl.c:"

if ssl.create_default_context().minimum_version != ssl.TLSVersion.TLSv1_2:
    # An interpreter whose default context still offers TLS 1.0 and 1.1 (Debian's 3.11.2 leaves the floor to
    # OpenSSL's configuration): pinned to TLS 1.0 it sends a ClientHello the lab refuses with its alert, and
    # against the old server it gets as far as OpenSSL 3's refusal of the SHA-1 signature, as curl does.
    RAISED["tls-version-mismatch"] = "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version"
    RAISED["old-tls-server"] = "ssl.SSLError: [SSL] legacy sigalg disallowed or unsupported (_ssl.c:"


def qualified(cls: type) -> str:
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


@pytest.fixture(scope="module")
def lab():
    with Lab(*PROFILES) as lab:
        yield lab


def test_every_scenario_has_an_expected_error():
    assert set(RAISED) == set(BY_ID)


@pytest.mark.parametrize("scenario_id", list(BY_ID))
def test_scenario_fails_as_expected_is_diagnosed_fixed_and_leaks_no_secret(lab, scenario_id):
    result = run(scenario_id, lab)
    assert qualified(type(result.error)) == RAISED[scenario_id].split(":")[0]
    assert result.raw_error.startswith(RAISED[scenario_id])
    assert result.diagnosis[0].id == (result.scenario.expects or scenario_id), [m.id for m in result.diagnosis]
    assert result.diagnosed and result.fixed and result.ok, result.fix_error
    assert result.recording.transcripts, "the failing code's conversation was recorded"
    # No credential, in any form, in any rendering of either conversation.
    renderings = [result.text(), result.html()]
    for recording in (result.recording, result.fix_recording):
        for transcript in recording.transcripts:
            renderings += [transcript.text(), transcript.html(), transcript.json()]
    assert leaked(*renderings) == [], f"a credential leaked in {scenario_id}"


def test_a_password_sent_is_shown_as_asterisks(lab):
    result = run("bad-credentials", lab)
    text = result.recording.transcript.text()
    assert " ~> AUTH PLAIN ********" in text and "not-the-password" not in text


def test_the_text_shows_code_error_wire_diagnosis_and_fix(lab):
    result = run("plaintext-to-implicit-tls", lab)
    text = result.text()
    # The reader's code: the scenario's body, without the kit's `def` line around it.
    assert "Your code: Plain SMTP to port 465" in text and "    with smtplib.SMTP(host, port," in text
    assert "def plaintext_to_implicit_tls" not in text
    assert "smtplib.SMTPServerDisconnected: Connection unexpectedly closed" in text
    assert "=== Trying submissions (port 465)..." in text
    assert "Diagnosis (as expected): plaintext-to-implicit-tls" in text
    assert "The fix (it worked): TLS from the first byte" in text and "    with smtplib.SMTP_SSL(host, port," in text
    html = result._repr_html_()
    assert 'class="smtp-seq"' in html and "plaintext-to-implicit-tls" in html and "smtplib.SMTP_SSL" in html
    assert str(lab["submissions"].port) not in text  # OS-chosen ports stay out of what notebooks store


def test_greylisting_can_be_run_again_on_the_same_lab(lab):
    first, again = run("greylisted", lab), run("greylisted", lab)
    assert first.ok and again.ok


def test_a_lab_without_the_needed_endpoints_is_a_clear_error():
    with Lab("submission") as small:
        with pytest.raises(ValueError, match="lacks the endpoints submission-no-starttls, submissions"):
            run("starttls-unavailable", small)
        with pytest.raises(KeyError, match="unknown scenario 'nope'"):
            run("nope", small)


def test_table_leaves_times_out_unless_asked(lab):
    results = [run("connection-refused", lab), run("bad-credentials", lab)]
    plain = str(table(results))
    assert plain.splitlines()[0].split() == ["scenario", "port", "what", "the", "client", "saw", "result"]
    assert "connection-refused  468" in plain and not re.search(r"\d\.\d\ds", plain)
    assert plain.endswith("\n\n2 of 2 scenarios reproduced, diagnosed and fixed")
    assert str(table(results, times=True)).splitlines()[0].rstrip().endswith("time")


def test_table_in_a_notebook_names_failures_by_title_and_marks_a_wrong_diagnosis(lab):
    right = run("relay-denied", lab)
    wrong = dataclasses.replace(right, diagnosis=run("bad-credentials", lab).diagnosis)
    shown = table([right, wrong])
    page = shown._repr_html_()
    assert "Relaying refused: the server takes mail only for its own domains" in page
    assert 'title="relay-denied"' in page and ">relay-denied<" not in page  # the id only as a tooltip
    assert "&#10007; as bad-credentials" in page
    assert "1 of 2 scenarios reproduced, diagnosed and fixed; not: relay-denied" in page
    assert "diagnosed as bad-credentials" in str(shown)
    header, ok_row = str(shown).splitlines()[:2]
    assert len(header) <= 100 and len(ok_row) <= 100  # a terminal's width, near enough


def test_each_scenario_is_about_a_port_its_entry_names():
    assert [s.id for s in SCENARIOS] == list(BY_ID)
    for s in SCENARIOS:
        assert s.port in s.entry.ports, s.id


# -- the command line ---------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.scenarios", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_runs_everything_and_exits_0():
    done = cli()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["scenario", "port"] and lines[0].rstrip().endswith("time")
    assert f"{len(SCENARIOS)} of {len(SCENARIOS)} scenarios reproduced, diagnosed and fixed" in done.stdout


def test_cli_run_one_shows_its_transcript_and_diagnosis():
    done = cli("--run", "connection-refused")
    assert done.returncode == 0
    assert "=== Trying closed (port 468)..." in done.stdout
    assert "Diagnosis (as expected): connection-refused" in done.stdout


def test_cli_json():
    done = cli("--run", "relay-denied", "--json")
    report = json.loads(done.stdout)
    assert report[0]["id"] == "relay-denied" and report[0]["diagnosis"][0] == "relay-denied"
    assert report[0]["diagnosed"] and report[0]["fixed"] and report[0]["error"].startswith("smtplib.")


def test_cli_unknown_scenario_is_a_usage_error():
    done = cli("--run", "no-such-scenario")
    assert done.returncode == 2
    assert "unknown scenario 'no-such-scenario'; choose one of: plaintext-to-implicit-tls" in done.stderr
