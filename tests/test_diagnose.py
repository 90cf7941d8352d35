"""diagnose(): error texts, exceptions, results and transcripts to failure-catalog entries."""

from __future__ import annotations

import json
import smtplib
import ssl
import subprocess
import sys

import pytest
from conftest import ALICE, ALICE_PASSWORD, message

from helpers.catalog import CATALOG, CLIENTS, ENTRIES, entry
from helpers.client import send
from helpers.diagnose import MAX_TEXT, diagnose
from helpers.transcript import Transcript

# The contract: every symptom string quoted in the public failure reports the catalog is built from (and the case
# study), as a client prints it, and the entry it must come out as first. Copied here on purpose:
# a change to the catalog that loses one of them must fail this test.
FAILURE_MODES = [
    # A. ports and TLS modes
    ("smtplib.SMTPServerDisconnected: Connection unexpectedly closed", 465, "plaintext-to-implicit-tls"),
    ("smtplib.SMTPServerDisconnected: Connection unexpectedly closed: timed out", 465, "plaintext-to-implicit-tls"),
    ("EOF", 465, "plaintext-to-implicit-tls"),
    ("Error: Greeting never received", 465, "plaintext-to-implicit-tls"),
    ("ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", None,
     "implicit-tls-to-starttls-port"),
    ("tls: first record does not look like a TLS handshake", None, "implicit-tls-to-starttls-port"),
    ("Error: C0E7:error:1408F10B:SSL routines:ssl3_get_record:wrong version number", None,
     "implicit-tls-to-starttls-port"),
    ("smtplib.SMTPNotSupportedError: STARTTLS extension not supported by server.", None, "starttls-unavailable"),
    ("curl: (64) STARTTLS not supported.", None, "starttls-unavailable"),
    ("*** Host did not advertise STARTTLS", None, "starttls-unavailable"),
    ("smtplib.SMTPResponseException: (454, b'4.7.0 TLS not available due to temporary reason')", None,
     "starttls-refused"),
    ("smtplib.SMTPSenderRefused: (530, b'5.7.0 Must issue a STARTTLS command first. x', 'a@example.com')", None,
     "starttls-required-first"),
    ("538 5.7.11 Encryption required for requested authentication mechanism", None, "starttls-required-first"),
    # B. authentication
    ("smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.", None, "auth-not-advertised"),
    ("smtp: server doesn't support AUTH", None, "auth-not-advertised"),
    ("*** No acceptable authentication types available", None, "auth-not-advertised"),
    ("504 5.7.4 Unrecognized authentication type", None, "auth-mechanism-mismatch"),
    ("smtplib.SMTPException: No suitable authentication method found.", None, "auth-mechanism-mismatch"),
    ("smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted. Learn more at')", None,
     "bad-credentials"),
    ("535 5.7.3 Authentication unsuccessful [BN0PR04CA0021.namprd04.prod.outlook.com]", None, "bad-credentials"),
    ("curl: (67) Login denied", None, "bad-credentials"),
    ("*** No authentication type succeeded", None, "bad-credentials"),
    ("smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required. Learn more')", None,
     "gmail-app-password"),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", None,
     "m365-basic-auth-disabled"),
    ("550 5.7.30 Basic authentication is not supported for Client Submission.", None, "m365-basic-auth-disabled"),
    ("530 5.7.57 Client not authenticated to send mail.", None, "unauthenticated-submission"),
    ("530 5.7.0 Authentication Required. Learn more at", None, "unauthenticated-submission"),
    # C. identity and relaying
    ("553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user alice@example.com", None,
     "sender-identity-mismatch"),
    ("550 5.7.60 SMTP; Client does not have permissions to send as this sender", None, "sender-identity-mismatch"),
    ("554 5.2.252 SendAsDenied; alice@example.com not allowed to send as bob@example.com", None,
     "sender-identity-mismatch"),
    ("550 The from address does not match a verified Sender Identity.", None, "sender-identity-mismatch"),
    ("554 Message rejected: Email address is not verified.", None, "sender-identity-mismatch"),
    ("Your FROM address ( example.com , ) must match your authenticated email domain ( example.com ). Treating "
     "this as a spoofed email.", 587, "from-header-mismatch"),
    ("554 5.7.1 <someone@example.net>: Relay access denied", None, "relay-denied"),
    ("550 5.7.1 Unable to relay", None, "relay-denied"),
    ("smtplib.SMTPRecipientsRefused: {'someone@example.net': (550, b'no thanks')}", None, "relay-denied"),
    # D. network
    ("Error: connect ETIMEDOUT 192.0.2.1:25", None, "egress-port-blocked"),
    ("TimeoutError: timed out", None, "egress-port-blocked"),
    ("ConnectionRefusedError: [Errno 111] Connection refused", None, "connection-refused"),
    ("dial tcp 192.0.2.1:468: connect: connection refused", None, "connection-refused"),
    ("Error: connect ECONNREFUSED ::1:1025", None, "ipv6-path"),
    # E. certificates
    ("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
     "certificate (_ssl.c:1006)", None, "cert-untrusted"),
    ("x509: certificate signed by unknown authority", None, "cert-untrusted"),
    ("x509: cannot validate certificate for 10.0.0.9 because it doesn't contain any IP SANs", None,
     "cert-name-mismatch"),
    ("Error: certificate has expired", None, "cert-expired"),
    ("Error: Hostname/IP does not match certificate's altnames: Host: mail.example.net. is not in the cert's "
     "altnames: DNS:mail.example.com", None, "cert-name-mismatch"),
    ("unencrypted connection", None, "go-plainauth-unencrypted"),
    ("wrong host name", None, "go-plainauth-unencrypted"),
    # F. content and volume
    ("smtplib.SMTPSenderRefused: (552, '5.3.4 Message size exceeds fixed limit', 'alice@example.com')", None,
     "message-too-large"),
    ("552 5.2.3 Your message exceeded Google's message size limits.", None, "message-too-large"),
    ("454 4.7.0 Too many login attempts, please try again later.", None, "rate-limited"),
    ("421-4.7.0 Try again later, closing connection.", None, "rate-limited"),
    ("450 4.2.0 <bob@example.com>: Recipient address rejected: Greylisted", None, "greylisted"),
    ("451 4.7.1 Try again later", None, "greylisted"),
    ("smtplib.SMTPNotSupportedError: SMTPUTF8 not supported by server", None, "non-ascii-address"),
    ("smtplib.SMTPDataError: (500, b'5.0.0 Line too long')", None, "long-lines"),
    ("504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", None, "ehlo-hostname-rejected"),
    ("smtplib.SMTPServerDisconnected: please run connect() first", None, "timeouts-and-idle-drops"),
]


@pytest.mark.parametrize("text, port, expected", FAILURE_MODES, ids=[row[0][:50] for row in FAILURE_MODES])
def test_every_symptom_in_failure_modes_comes_out_as_its_entry(text, port, expected):
    matches = diagnose(text, port=port)
    assert matches, f"nothing matched {text!r}"
    assert matches[0].id == expected, [m.id for m in matches]
    assert matches[0].evidence and all(e in text for e in matches[0].evidence)


def test_a_bare_unicode_error_names_both_causes_and_says_so():
    matches = diagnose("UnicodeEncodeError: 'ascii' codec can't encode character '\\xfc' in position 5")
    assert {m.id for m in matches[:2]} == {"non-ascii-address", "non-ascii-body-as-str"}
    assert matches[0].note


def test_the_catalog_is_well_formed():
    assert len(ENTRIES) == len(CATALOG)  # ids are unique
    for e in CATALOG:
        assert e.id == e.id.lower() and " " not in e.id
        assert e.title and e.what_happened and e.why and e.fix and e.fix_python and e.fix_go
        assert all(s.client in CLIENTS and s.source in ("lab", "reported") and s.text for s in e.symptoms)
        assert all(rfc.number and rfc.section and rfc.about for rfc in e.rfcs)
        # Never recommend switching verification off; the one entry about it may only name the settings.
        for code in (e.fix_python, e.fix_go):
            assert "InsecureSkipVerify: true" not in code and "CERT_NONE" not in code
            assert "check_hostname = False" not in code and "_create_unverified_context" not in code
    with pytest.raises(KeyError, match="no catalog entry 'nope'"):
        entry("nope")


# -- exceptions, as the reader's own code raises them ----------------------------------------------


@pytest.mark.parametrize(
    "error, expected",
    [
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 Error: authentication failed"), "bad-credentials"),
        (smtplib.SMTPRecipientsRefused({"x@example.net": (554, b"5.7.1 <x@example.net>: Relay access denied")}),
         "relay-denied"),
        (smtplib.SMTPSenderRefused(530, b"5.7.0 Authentication required", ALICE), "unauthenticated-submission"),
        (smtplib.SMTPConnectError(421, b"4.7.0 mail.example.com Service not available, closing transmission channel"),
         "server-busy"),
        (smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server."), "auth-not-advertised"),
        (ConnectionRefusedError(111, "Connection refused"), "connection-refused"),
        (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate "
                                         "has expired (_ssl.c:1006)"), "cert-expired"),
    ],
)
def test_exceptions(error, expected):
    assert diagnose(error)[0].id == expected


def test_a_chained_exception_is_read_through_its_cause():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise RuntimeError("could not send the newsletter") from inner
    except RuntimeError as outer:
        assert diagnose(outer)[0].id == "connection-refused"


# -- results and transcripts: the context decides what an ambiguous symptom means -------------------


@pytest.fixture(scope="module")
def lab():
    from helpers.lab import Lab

    with Lab("submission", "submissions", "relay", "silent", "blackhole", "submission-wrong-host-cert") as lab:
        yield lab


def login(lab) -> dict:
    return {"user": ALICE, "password": ALICE_PASSWORD, "ca_file": lab.ca_file}


def test_a_send_result_plaintext_on_465(lab):
    result = send(message(), lab["submissions"], security="starttls", **login(lab))
    assert str(result.error) == "Connection unexpectedly closed"
    assert diagnose(result)[0].id == "plaintext-to-implicit-tls"
    assert "port" in diagnose(result)[0].note


def test_a_send_result_names_each_failure(lab):
    cases = [
        (send(message(), lab["submission"], security="implicit", **login(lab)), "implicit-tls-to-starttls-port"),
        (send(message(), lab["submission"], user=ALICE, password="wrong", ca_file=lab.ca_file), "bad-credentials"),
        (send(message(to="someone@example.net"), lab["relay"], ca_file=lab.ca_file), "relay-denied"),
        (send(message(), lab["submission-wrong-host-cert"], **login(lab)), "cert-name-mismatch"),
        (send(message(), lab["blackhole"], timeout=0.3, ca_file=lab.ca_file), "egress-port-blocked"),
    ]
    for result, expected in cases:
        matches = diagnose(result)
        assert matches and matches[0].id == expected, (str(result), matches)


def test_timed_out_means_a_filtered_port_before_connecting_and_a_silent_server_after(lab):
    filtered = send(message(), lab["blackhole"], timeout=0.3, ca_file=lab.ca_file)
    silent = send(message(), lab["silent"], timeout=0.3, ca_file=lab.ca_file)
    assert diagnose(filtered)[0].id == "egress-port-blocked"
    assert diagnose(silent)[0].id == "greeting-timeout"
    assert "egress-port-blocked" not in [m.id for m in diagnose(silent)]  # it connected: not a filtered port


def test_connection_closed_is_a_dropped_connection_once_the_server_has_spoken():
    spoke = Transcript(peer="submission (port 587)")
    spoke.note("Connected to submission (port 587)")
    spoke.received(b"220 mail.example.com ESMTP\r\n")
    spoke.error("smtplib.SMTPServerDisconnected: Connection unexpectedly closed")
    assert diagnose(spoke)[0].id == "timeouts-and-idle-drops"

    silent = Transcript(peer="submissions (port 465)")
    silent.note("Connected to submissions (port 465)")
    silent.error("smtplib.SMTPServerDisconnected: Connection unexpectedly closed")
    assert diagnose(silent)[0].id == "plaintext-to-implicit-tls"


@pytest.mark.parametrize("port, expected", [(465, "plaintext-to-implicit-tls"), (587, "timeouts-and-idle-drops")])
def test_go_eof_is_decided_by_the_port(port, expected):
    matches = diagnose("EOF", port=port)
    assert matches[0].id == expected
    assert matches[0].note


def test_the_port_can_come_from_the_text():
    assert diagnose("read tcp 10.0.0.2:51234->192.0.2.7:465: i/o timeout")[0].id == "plaintext-to-implicit-tls"
    assert diagnose("read tcp 10.0.0.2:51234->192.0.2.7:587: i/o timeout")[0].id == "greeting-timeout"


def test_an_ambiguous_symptom_without_context_says_what_would_decide():
    matches = diagnose("smtplib.SMTPServerDisconnected: Connection unexpectedly closed")
    assert [m.id for m in matches[:2]] == ["plaintext-to-implicit-tls", "timeouts-and-idle-drops"]
    assert "port" in matches[0].note


def test_a_more_specific_symptom_hides_the_one_it_contains():
    ids = [m.id for m in diagnose("smtplib.SMTPServerDisconnected: Connection unexpectedly closed: timed out",
                                  port=587)]
    assert ids[0] == "greeting-timeout" and "timeouts-and-idle-drops" not in ids


def test_a_whole_line_symptom_does_not_match_inside_other_words():
    assert diagnose("unexpected EOF while parsing the config file") == []
    assert diagnose("smtp.SendMail: EOF", port=465)[0].id == "plaintext-to-implicit-tls"


def test_evidence_never_repeats_an_auth_payload():
    pasted = "~> AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAGFsaWNlLWxhYi1wYXNzd29yZA==\n<~* 535 5.7.8 Error: bad credentials"
    matches = diagnose(pasted)
    assert matches[0].id == "bad-credentials"
    assert "AGFsaWNl" not in json.dumps([m.evidence for m in matches])


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        "",
        b"",
        "   \n\t ",
        "lorem ipsum dolor sit amet " * 40_000,  # about a megabyte of text that is not an error
        bytes(range(256)) * 4096,  # a megabyte of binary
        "\x00" * 10_000,
        "\ufffd" * 10_000,
    ],
    ids=["empty", "empty-bytes", "blank", "1MB-text", "1MB-binary", "nul", "replacement-chars"],
)
def test_bad_input_returns_no_match(junk):
    assert diagnose(junk) == []


def test_a_megabyte_of_log_is_read_at_its_ends():
    log = "INFO nothing to see here\n" * (2 * MAX_TEXT // 25) + "x509: certificate signed by unknown authority\n"
    assert len(log) > MAX_TEXT
    assert diagnose(log)[0].id == "cert-untrusted"


def test_something_that_is_not_an_error_is_refused():
    with pytest.raises(TypeError, match="cannot diagnose a int"):
        diagnose(42)


# -- the command line ---------------------------------------------------------------------------------


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.diagnose", *args], capture_output=True, text=True,
                          input=stdin, timeout=60)


def test_cli_prints_the_cause_the_fix_and_the_rfcs():
    done = cli("EOF", "--port", "465")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("1. Plaintext client on the implicit-TLS port 465 [plaintext-to-implicit-tls]")
    assert "What happened:" in out and "Why:" in out
    assert "smtplib.SMTP_SSL" in out and "tls.Dial" in out  # the fix, in Python and in Go
    assert "RFC 8314 section 3.3" in out


def test_cli_json_lists_ids_and_evidence():
    done = cli("x509: certificate signed by unknown authority", "--json")
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["matches"][0]["id"] == "cert-untrusted"
    assert report["matches"][0]["evidence"] == ["x509: certificate signed by unknown authority"]


def test_cli_reads_standard_input():
    done = cli("-", "--json", stdin="curl: (67) Login denied\n")
    assert json.loads(done.stdout)["matches"][0]["id"] == "bad-credentials"


def test_cli_exit_codes():
    nothing = cli("everything is fine")
    assert nothing.returncode == 1 and "No catalog entry matches" in nothing.stdout
    assert cli("--json").returncode == 2  # no text
    assert cli("EOF", "--port", "seventy").returncode == 2
    assert cli("EOF", "--port", "70000").returncode == 2
