"""The doctor's findings about TLS and providers, against the lab: which TLS versions each port speaks,
whether the certificate chain is complete, Gmail and Microsoft 365 recognised by their greetings with their
notes, and the recommendation written for the reader's library."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clients.matrix import CLIENTS
from conftest import ALICE, ALICE_PASSWORD, BOB

from helpers import libraries
from helpers.doctor import BadUsage, examine
from helpers.lab import Lab
from helpers.providers import M365_LEGACY_TLS_REFUSED

TIMEOUT = 4.0  # seconds per phase: generous, for a busy machine; nothing here waits on a silent port


def doctor(lab: Lab, **options):
    ports = {endpoint.port: endpoint.acts_as for endpoint in lab.endpoints.values()}
    return examine("127.0.0.1", ports=ports, ca_file=lab.ca_file, timeout=TIMEOUT, **options)


def by_profile(lab: Lab, report) -> dict:
    names = {endpoint.port: name for name, endpoint in lab.endpoints.items()}
    return {names[result.port]: result for result in report.ports}


@pytest.fixture(scope="module")
def odd():
    with Lab("submissions", "submission", "submissions-old-tls", "submission-old-tls",
             "submissions-incomplete-chain-cert", "submissions-untrusted-cert") as lab:
        report = doctor(lab)
        yield by_profile(lab, report), report


CURRENT = {"TLSv1": "refused", "TLSv1.1": "refused", "TLSv1.2": "accepted", "TLSv1.3": "accepted"}
OLD = {"TLSv1": "accepted", "TLSv1.1": "accepted", "TLSv1.2": "refused", "TLSv1.3": "refused"}


@pytest.mark.parametrize("profile, versions", [
    ("submissions", CURRENT), ("submission", CURRENT), ("submissions-old-tls", OLD), ("submission-old-tls", OLD),
])
def test_each_tls_port_is_tried_with_each_tls_version(odd, profile, versions):
    results, _ = odd
    assert results[profile].tls_versions == versions


@pytest.mark.parametrize("profile", ["submissions-old-tls", "submission-old-tls"])
def test_a_port_that_speaks_only_tls_1_0_and_1_1_is_no_use_and_says_why(odd, profile):
    results, report = odd
    result = results[profile]
    assert result.problem == "it speaks only TLS 1.0 and TLS 1.1: current clients refuse it"
    assert "  TLS versions    1.0, 1.1 (1.2, 1.3 refused)" in report.text()
    assert result.summary() == f"port {result.port} (as {result.acts_as}): {result.speaks} - {result.problem}"


def test_an_incomplete_chain_is_told_from_an_untrusted_ca(odd):
    results, report = odd
    incomplete, untrusted = results["submissions-incomplete-chain-cert"], results["submissions-untrusted-cert"]
    # A client says the same of both: "unable to get local issuer certificate".
    assert incomplete.verify_error == untrusted.verify_error == "unable to get local issuer certificate"
    assert (incomplete.chain_complete, untrusted.chain_complete, results["submissions"].chain_complete) == (
        False, None, True)
    assert incomplete.certificate.issuer_url == "http://ca.lab.example.com/intermediate.crt"
    text = report.text()
    assert "    chain         1 certificate sent: incomplete, the intermediate CA's certificate is missing" in text
    assert any("the chain is incomplete" in warning and "The server should send the full chain" in warning
               for warning in incomplete.warnings)
    assert not any("chain is incomplete" in warning for warning in untrusted.warnings)


def test_a_wrong_host_certificate_has_its_chain_judged_with_the_ca_and_says_why_not_without():
    # The user's case: --ca-file of the lab's CA given, and the chain still "cannot be told".
    with Lab("submissions-wrong-host-cert") as lab:
        trusted = doctor(lab).ports[0]
        report = examine("127.0.0.1", ports={lab["submissions-wrong-host-cert"].port: 465}, timeout=TIMEOUT)
    untrusted, text = report.ports[0], report.text()
    assert (trusted.chain_complete, untrusted.chain_complete) == (True, None)
    assert trusted.verify_error == "IP address mismatch, certificate is not valid for '127.0.0.1'."
    assert "    chain         1 certificate sent; its issuer (OU=Lab CA,O=SMTP Port Lab) is neither sent nor in " \
           "the system's trust store: a CA not trusted here, or an intermediate left out" in text


def test_a_plain_lab_is_no_known_provider(odd):
    _, report = odd
    assert report.provider is None and "Provider:" not in report.text()


def test_microsoft_365_is_recognised_by_its_greeting_with_its_notes_and_a_token_in_the_code():
    with Lab("m365-like-587", today=datetime.date(2026, 6, 1)) as lab:
        report = doctor(lab, user=ALICE, password=ALICE_PASSWORD, library="nodemailer")
        ca_file = lab.ca_file
    (result,) = report.ports
    assert report.provider.name == "Microsoft 365"
    text = report.text()
    assert "Provider: Microsoft 365, recognised by its host name or greeting" in text
    assert "it has no port 465" in text and "end of December 2026" in text and "second half of 2027" in text
    # TLS 1.0 and 1.1 complete their handshake, then meet Microsoft's refusal in SMTP.
    assert result.tls_versions["TLSv1"] == result.tls_versions["TLSv1.1"] == M365_LEGACY_TLS_REFUSED
    assert f"                  1.0 and 1.1: handshake, then {M365_LEGACY_TLS_REFUSED}" in text
    assert result.auth == "ok"
    recommendation = report.recommendation
    assert 'smtp.auth("XOAUTH2", xoauth2)' in recommendation.python and "type xoauth2 struct" in recommendation.go
    assert recommendation.library == (f'nodemailer.createTransport({{ host: "127.0.0.1", port: {result.port}, '
                                      "secure: false, requireTLS: true, "
                                      f'tls: {{ ca: fs.readFileSync("{ca_file}") }} }})')
    assert f"  in your library: {recommendation.library}" in text
    assert json.loads(report.to_json())["provider"]["name"] == "Microsoft 365"


def test_gmail_is_recognised_by_its_greeting_and_its_465_recommended():
    with Lab("gmail-like-465", "gmail-like-587") as lab:
        report = doctor(lab, library="smtplib")
    assert report.provider.name == "Gmail"
    assert "use an app password" in report.text()
    assert report.recommendation.port == 465
    assert report.recommendation.library.startswith('smtplib.SMTP_SSL("127.0.0.1", ')
    assert "smtp.login(" in report.recommendation.python  # with an app password: Gmail still takes them


def test_an_unknown_library_is_bad_usage_before_connecting():
    with pytest.raises(BadUsage, match="unknown library 'cobol'; choose one of: smtplib, django, go, nodemailer"):
        examine("127.0.0.1", ports=[1], library="cobol")


@pytest.mark.parametrize("spelled", ["swaks", "SWAKS"])
def test_cli_writes_the_setting_for_a_library_trusting_the_ca_file_given(tmp_path, spelled):
    with Lab("submissions", ca_file=tmp_path / "ca.pem") as lab:
        endpoint = lab["submissions"]
        done = subprocess.run(
            [sys.executable, "-m", "helpers.doctor", "127.0.0.1", "--port", f"{endpoint.port}=465",
             "--ca-file", str(lab.ca_file), "--library", spelled, "--timeout", str(TIMEOUT)],
            capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (f"  in your library: swaks --server 127.0.0.1 --port {endpoint.port} --tls-on-connect --tls-verify "
            f"--tls-ca-path {lab.ca_file}\n") in done.stdout


def test_the_library_is_named_in_any_case_as_the_readme_spells_it():
    with Lab("submission") as lab:
        report = doctor(lab, library="PHPMailer")
    assert report.recommendation.library.startswith('$mail->Host = "127.0.0.1"; ')
    assert report.recommendation.library.endswith(f"$mail->SMTPOptions = ['ssl' => ['cafile' => \"{lab.ca_file}\"]];")


def run_the_line(line: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """A swaks or curl line as the doctor printed it, with what it leaves to the reader: the login (from a
    file or the environment, never the command line), the sender, the recipient and, for curl, the message."""
    command = shlex.split(line)
    if command[0] == "swaks":
        command += ["--auth-user", ALICE, "--from", ALICE, "--to", BOB, "--silent", "2", "--timeout", "10"]
    else:
        (tmp_path / "netrc").write_text(f"machine 127.0.0.1 login {ALICE} password {ALICE_PASSWORD}\n")
        (tmp_path / "message.txt").write_bytes(f"From: {ALICE}\r\nTo: {BOB}\r\nSubject: Hi\r\n\r\nHi!\r\n".encode())
        command += ["--silent", "--show-error", "--netrc-file", str(tmp_path / "netrc"), "--mail-from", ALICE,
                    "--mail-rcpt", BOB, "--upload-file", str(tmp_path / "message.txt")]
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SWAKS_OPT_auth_password": ALICE_PASSWORD})


UNTRUSTED = {  # what each says when it does not trust the lab's CA
    "swaks": "*** TLS startup failed (connect(): error:0A000086:SSL routines::certificate verify failed)",
    "curl": "curl: (60) SSL certificate problem: unable to get local issuer certificate",
}


@pytest.mark.clients
@pytest.mark.parametrize("profile", ["submissions", "submission"])
@pytest.mark.parametrize("program", ["swaks", "curl"])
def test_the_line_for_swaks_or_curl_sends_through_the_lab_as_printed(tmp_path, program, profile):
    if CLIENTS[program].version() is None:
        pytest.skip(f"{program} is not installed with SMTP, TLS and AUTH ({CLIENTS[program].install})")
    with Lab(profile, ca_file=tmp_path / "lab-ca.pem") as lab:
        recommendation = doctor(lab, library=program).recommendation
        sent = run_the_line(recommendation.library, tmp_path)
        assert (sent.returncode, sent.stderr) == (0, "")
        assert [message.rcpt_tos for message in lab.mailbox] == [(BOB,)]
        # The same line without the CA file, as the doctor printed it before: the lab's certificate is not trusted.
        untrusting = libraries.line(program, host="127.0.0.1", port=recommendation.connect_to,
                                    security=recommendation.security)
        refused = run_the_line(untrusting, tmp_path)
    assert refused.returncode != 0 and UNTRUSTED[program] in refused.stdout + refused.stderr
