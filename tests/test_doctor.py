"""The doctor against real endpoints over loopback: the lab's profiles, and tiny misbehaving servers."""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.server
import io
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading

import pytest
import trustme
from conftest import ALICE, ALICE_PASSWORD, BOB, CERTIFICATE_ERRORS, CLIENT_TIMEOUT, leaked, needs
from servers import echoes_credentials, hold, peer, tls_for_127_0_0_1

from helpers.doctor import (
    DEFAULT_PORTS,
    INTERRUPTED,
    LAB_CA_HINT,
    LAB_HINT,
    LAB_IPV6_HINT,
    LAB_PORTS_HINT,
    PASSWORD_VARIABLE,
    TIMEOUT_HINT,
    BadUsage,
    PortResult,
    Speaks,
    examine,
)
from helpers.doctor_probe import EXPIRY_WARNING_DAYS, MAX_REPLY_BYTES
from helpers.lab import Lab
from helpers.terms import TlsMode

TIMEOUT = 1.0  # seconds per phase: small, since silent ports cost one of them
SHARED_TIMEOUT = 4.0  # for the run over every profile at once: some 20 TLS handshakes at a time, on a busy machine

BAD_CERTIFICATES = [f"{name}-{kind}-cert" for name in ("submission", "submissions") for kind in CERTIFICATE_ERRORS]

EXPECTED = {  # profile: what the doctor says it speaks
    "relay": Speaks.SMTP,
    "submission": Speaks.SMTP,
    "submissions": Speaks.IMPLICIT_TLS,
    "submission-no-starttls": Speaks.SMTP,
    "submission-tls-unavailable": Speaks.SMTP,
    **{name: Speaks.SMTP if name.startswith("submission-") else Speaks.IMPLICIT_TLS for name in BAD_CERTIFICATES},
    "submissions-handshake-abort": Speaks.SILENT,
    "silent": Speaks.SILENT,
    "closed": Speaks.REFUSED,
    "blackhole": Speaks.NO_ANSWER,
    "busy": Speaks.SMTP_BROKEN,
    "not-smtp": Speaks.NOT_SMTP,
    "tls-not-smtp": Speaks.TLS_NOT_SMTP,
}


def named(lab: Lab) -> dict[int, int]:
    """The lab's ports, each named as the port it acts as."""
    return {endpoint.port: endpoint.acts_as for endpoint in lab.endpoints.values()}


def doctor(lab: Lab, **options):
    options = {"ports": named(lab), "ca_file": lab.ca_file, "timeout": TIMEOUT, **options}
    return examine("127.0.0.1", **options)


def at(report, acts_as: int) -> PortResult:
    (result,) = [result for result in report.ports if result.acts_as == acts_as]
    return result


# -- every lab profile, probed at once, with good credentials ------------------------------------


@pytest.fixture(scope="module")
def every_profile():
    """One run over every endpoint worth classifying; results by profile name, and the lab's event log."""
    with Lab(*EXPECTED) as lab:
        report = doctor(lab, timeout=SHARED_TIMEOUT, user=ALICE, password=ALICE_PASSWORD)
        names = {endpoint.port: name for name, endpoint in lab.endpoints.items()}
        lab.events.wait_for("disconnect")
        yield {names[result.port]: result for result in report.ports}, report, lab.events.text()


@pytest.mark.parametrize("profile", EXPECTED)
def test_each_profile_is_classified(every_profile, profile):
    results, _, _ = every_profile
    assert results[profile].speaks == EXPECTED[profile], results[profile].summary()


@pytest.mark.parametrize("profile, detail", [
    ("closed", "connection refused: nothing listens there"),
    ("blackhole", f"no answer to the connection attempt within {SHARED_TIMEOUT:g} s"),
    ("silent", f"no greeting within {SHARED_TIMEOUT / 2:g} s, and no TLS handshake either"),
    ("submissions-handshake-abort", "it hangs up on a TLS handshake"),
    ("busy", "it greets with 421: it takes no mail now"),
    ("not-smtp", "it answered 'HTTP/1.1 400 Bad Request' (a web server)"),
    ("tls-not-smtp", "after TLS it answered 'HTTP/1.1 400 Bad Request' (a web server)"),
])
def test_what_is_not_smtp_is_said_in_words(every_profile, profile, detail):
    results, _, _ = every_profile
    assert detail in results[profile].detail
    assert results[profile].summary().endswith(results[profile].detail)


def test_a_421_banner_is_kept(every_profile):
    results, _, _ = every_profile
    assert results["busy"].banner == "421 4.7.0 mail.example.com Service not available, closing transmission channel"


def test_submission_capabilities_before_and_after_starttls(every_profile):
    result = every_profile[0]["submission"]
    assert result.banner == "220 mail.example.com ESMTP SMTP Port Lab"
    assert "AUTH" not in result.capabilities
    assert {"STARTTLS", "SIZE", "8BITMIME", "SMTPUTF8"} <= set(result.capabilities)
    assert result.capabilities["SIZE"] == "10240000"
    assert result.capabilities_after_tls["AUTH"] == "PLAIN LOGIN" and "STARTTLS" not in result.capabilities_after_tls
    assert (result.tls, result.tls_version, result.warnings) == (TlsMode.STARTTLS, "TLSv1.3", [])
    assert result.cipher
    assert (result.auth, result.works) == ("ok", True)


def test_implicit_tls_capabilities(every_profile):
    result = every_profile[0]["submissions"]
    assert (result.tls, result.tls_version, result.capabilities) == (TlsMode.IMPLICIT, "TLSv1.3", None)
    assert result.banner == "220 mail.example.com ESMTP SMTP Port Lab"
    assert result.capabilities_after_tls["AUTH"] == "PLAIN LOGIN"
    assert (result.auth, result.works) == ("ok", True)


def test_a_good_certificate_is_read_and_verified(every_profile):
    certificate = every_profile[0]["submissions"].certificate
    assert certificate.subject == "CN=localhost,OU=Lab server,O=SMTP Port Lab"
    assert certificate.names == ["localhost", "127.0.0.1", "::1"]
    assert certificate.issuer == "OU=Lab CA,O=SMTP Port Lab"
    assert (certificate.not_after, certificate.not_yet_valid, certificate.name_matches) == ("3000-01-01", False, True)
    assert (every_profile[0]["submissions"].verified, every_profile[0]["submissions"].verify_error) == (True, None)


def test_the_relay_is_no_submission_port(every_profile):
    result = every_profile[0]["relay"]
    assert "AUTH" not in result.capabilities_after_tls and result.verified
    assert result.auth == "not offered"
    assert result.problem == "no AUTH after TLS: not a submission port"


@pytest.mark.parametrize("profile", BAD_CERTIFICATES)
def test_a_certificate_that_fails_is_still_inspected_and_no_password_goes_near_it(every_profile, profile):
    result = every_profile[0][profile]
    kind = profile.split("-", 1)[1].removesuffix("-cert")
    certificate = result.certificate
    assert certificate is not None and result.verified is False
    assert CERTIFICATE_ERRORS[kind] in result.verify_error
    assert result.warnings == [f"the certificate does not verify: {result.verify_error}"]
    assert result.capabilities_after_tls["AUTH"] == "PLAIN LOGIN"  # seen over the inspecting connection
    assert result.auth == "not tried: the certificate does not verify"
    assert result.problem == "the certificate does not verify"
    assert certificate.name_matches == (kind != "wrong-host")


@pytest.mark.parametrize("kind, dates, valid", [
    ("expired", ("2020-01-01", "2021-01-01"), "until 2021-01-01 (expired)"),
    ("not-yet-valid", ("2990-01-01", "3000-01-01"), "from 2990-01-01 to 3000-01-01 (not valid yet)"),
])
def test_certificate_dates_are_printed_as_dates(every_profile, kind, dates, valid):
    results, report, _ = every_profile
    certificate = results[f"submissions-{kind}-cert"].certificate
    assert (certificate.not_before, certificate.not_after) == dates
    assert f"    valid         {valid}\n" in report.text()


def test_a_self_signed_certificate_names_itself_as_issuer(every_profile):
    certificate = every_profile[0]["submissions-self-signed-cert"].certificate
    assert certificate.issuer == certificate.subject == "CN=localhost,OU=Self-signed,O=SMTP Port Lab"


def test_stripped_starttls_is_a_danger_and_gets_no_password(every_profile):
    result = every_profile[0]["submission-no-starttls"]
    assert "AUTH" in result.capabilities and "STARTTLS" not in result.capabilities
    assert result.warnings == [
        "AUTH is offered before TLS: a client may send its password unencrypted",
        "no STARTTLS on a submission port: passwords and mail would cross the network unencrypted",
    ]
    assert result.auth == "not tried: no TLS, and a password is never sent unencrypted"
    assert result.problem == "no TLS: STARTTLS is not offered"


def test_starttls_that_fails_is_a_danger(every_profile):
    result = every_profile[0]["submission-tls-unavailable"]
    assert result.tls is None
    assert result.tls_error == "STARTTLS is offered but answered 454 4.7.0 TLS not available due to temporary reason"
    assert result.warnings == [result.tls_error]
    assert result.auth.startswith("not tried: no TLS")


def test_starttls_answered_454_is_told_as_a_temporary_refusal_not_as_old_tls(every_profile):
    # No handshake happened: nothing is known of the TLS versions, and the verdict names the 454 (RFC 3207 4).
    results, report, _ = every_profile
    result = results["submission-tls-unavailable"]
    assert (result.starttls_reply, result.tls_versions) == (
        "454 4.7.0 TLS not available due to temporary reason", None)
    assert result.problem == ("STARTTLS answered 454 4.7.0 TLS not available due to temporary reason: "
                              "temporary; retry later, or use 465 if offered")
    section = report.text().split(f"{result.label}: ")[1].split("\n\n")[0]
    assert "TLS versions" not in section and "handshake" not in section and "speaks only" not in section


def test_a_port_that_speaks_no_smtp_after_tls_reports_the_versions_its_handshake_took(every_profile):
    # The handshake is what tells a version apart; what the port says after it (HTTP here) refuses none.
    results, report, _ = every_profile
    result = results["tls-not-smtp"]
    assert (result.tls_version, result.verified) == ("TLSv1.3", True)
    assert result.tls_versions == {"TLSv1": "refused", "TLSv1.1": "refused", "TLSv1.2": "accepted",
                                   "TLSv1.3": "accepted"}
    section = report.text().split(f"{result.label}: ")[1].split("\n\n")[0]
    assert "  TLS versions    1.2, 1.3 (1.0, 1.1 refused)\n" in section
    assert "handshake, then" not in section


@pytest.mark.parametrize("kind, chain", [
    ("wrong-host", "1 certificate sent, complete up to a trusted CA"),
    ("expired", "1 certificate sent, complete up to a trusted CA"),
    ("not-yet-valid", "1 certificate sent, complete up to a trusted CA"),
    ("self-signed", "1 certificate sent, signed by itself: no CA vouches for it, so a client must trust this very "
                    "certificate"),
    ("untrusted", "1 certificate sent; its issuer (OU=Untrusted CA,O=Nobody You Trust) is neither sent nor in the "
                  "given CA file: a CA not trusted here, or an intermediate left out (the certificate does not say "
                  "where its issuer is published)"),
])
def test_with_the_ca_given_the_chain_is_judged_and_otherwise_the_report_says_why_not(every_profile, kind, chain):
    # The host name and the dates are checked once the chain is built up to a trusted CA: those failures
    # leave a complete chain. The lab's CA file is given.
    results, report, _ = every_profile
    result = results[f"submissions-{kind}-cert"]
    assert result.chain_complete is (True if "complete" in chain else None)
    assert f"    chain         {chain}\n" in report.text()


def test_the_lab_saw_logins_only_over_verified_tls(every_profile):
    *_, events = every_profile
    logins = [line for line in events.splitlines() if " login " in line]
    assert sorted(line.split()[1] for line in logins) == ["submission", "submissions"]
    assert "AUTH:" not in events  # no refused AUTH either: nothing was tried anywhere else
    assert leaked(events) == []


def test_a_slow_greeting_within_the_timeout_is_smtp(make_lab):
    lab = make_lab("slow")
    assert doctor(lab, timeout=2.0).ports[0].speaks == Speaks.SMTP  # it greets after 0.5 s


# -- the report and the recommendation -------------------------------------------------------------


@pytest.fixture(scope="module")
def standard():
    """The three standard endpoints, probed once without credentials; and who heard of each port, when."""
    heard: list[tuple[int, str]] = []

    def done(result: PortResult) -> None:
        heard.append((result.acts_as, threading.current_thread().name))

    with Lab() as lab:
        yield lab, doctor(lab, on_port_done=done), heard


def test_the_standard_lab_gets_465_recommended_with_587_as_the_alternative(standard):
    lab, report, _ = standard
    chosen = report.recommendation
    assert (chosen.port, chosen.connect_to, chosen.security) == (465, lab["submissions"].port, TlsMode.IMPLICIT)
    assert chosen.alternatives == [f"port {lab['submission'].port} (as 587) with STARTTLS"]
    assert "RFC 8314 section 3" in chosen.reason
    assert report.warnings == []
    assert "credentials not tested" in report.text()


def test_without_465_the_recommendation_is_587_with_starttls(make_lab):
    chosen = doctor(make_lab("relay", "submission")).recommendation
    assert (chosen.port, chosen.security, chosen.alternatives) == (587, TlsMode.STARTTLS, [])
    assert "smtplib.SMTP(" in chosen.python and "smtp.starttls(context=context)" in chosen.python
    assert "client.StartTLS(config)" in chosen.go


def test_2525_is_the_last_resort_for_starttls(make_lab):
    lab = make_lab("relay", "submission", "submission-tls-unavailable")
    ports = {lab["relay"].port: 25, lab["submission"].port: 2525, lab["submission-tls-unavailable"].port: 587}
    chosen = doctor(lab, ports=ports).recommendation
    assert (chosen.port, chosen.security) == (2525, TlsMode.STARTTLS)


def test_implicit_tls_wins_over_starttls_whatever_the_order(make_lab):
    lab = make_lab("submissions", "submission")
    ports = {lab["submission"].port: 587, lab["submissions"].port: 465}
    assert doctor(lab, ports=ports).recommendation.port == 465


def test_no_working_setting_when_nothing_offers_auth_over_verified_tls(make_lab):
    report = doctor(make_lab("relay", "submission-no-starttls", "submissions-expired-cert"))
    assert report.recommendation is None
    expired = at(report, 465)
    assert "No working submission setting found: each port above says why.\n" in report.text()
    assert report.text().count(f"{expired.label}: implicit-tls - the certificate does not verify\n") == 1


def test_the_report_text_is_the_same_on_every_run_and_names_each_port_connected_to(standard):
    lab, report, _ = standard
    assert doctor(lab).text() == report.text()
    ports = [f"port {lab[name].port} (as {acts_as})" for name, acts_as in
             (("relay", 25), ("submission", 587), ("submissions", 465))]
    findings = report.text().partition("Python (smtplib):")[0]
    assert [line.split(":")[0] for line in findings.splitlines() if line.startswith("port ")] == ports
    assert f"Recommendation: {ports[2]} with implicit TLS\n" in findings
    assert f"  also works: {ports[1]} with STARTTLS\n" in findings


def test_the_report_text(standard):
    _, report, _ = standard
    text = report.text()
    section = (
        "implicit-tls - works for submission\n"
        "  banner          220 mail.example.com ESMTP SMTP Port Lab\n"
        "  TLS             implicit TLS, TLSv1.3, {cipher}\n"
        "  TLS versions    1.2, 1.3 (1.0, 1.1 refused)\n"
        "  verified        yes, trusting the given CA file\n"
        "  certificate     CN=localhost,OU=Lab server,O=SMTP Port Lab\n"
        "    names         localhost, 127.0.0.1, ::1\n"
        "    issuer        OU=Lab CA,O=SMTP Port Lab\n"
        "    valid         until 3000-01-01\n"
        "    host name     matches\n"
        "    chain         1 certificate sent, complete up to a trusted CA\n"
        "  EHLO after TLS  PIPELINING, SIZE 10240000, VRFY, AUTH PLAIN LOGIN, ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8\n"
    )
    relay, submissions = at(report, 25), at(report, 465)
    assert text.startswith(f"SMTP doctor for 127.0.0.1 (ports {relay.port} as 25, {at(report, 587).port} as 587, "
                           f"{submissions.port} as 465)\n\nport {relay.port} (as 25): smtp - no AUTH after TLS")
    assert f"port {submissions.port} (as 465): " + section.format(cipher=submissions.cipher) in text
    before_tls = "PIPELINING, SIZE 10240000, VRFY, STARTTLS, ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8"
    assert f"  EHLO            {before_tls}\n" in text
    assert f"Recommendation: port {submissions.port} (as 465) with implicit TLS\n" in text
    assert "\nPython (smtplib):\n    import os\n" in text and "\nGo (net/smtp):\n    package main\n" in text
    assert "named as" not in text  # each port speaks as the port it is named as


def test_the_report_as_json(standard):
    data = json.loads(standard[1].to_json())
    assert [port["acts_as"] for port in data["ports"]] == [25, 587, 465]
    assert data["recommendation"]["port"] == 465 and data["recommendation"]["security"] == TlsMode.IMPLICIT
    assert data["ports"][2]["certificate"]["not_after"] == "3000-01-01"
    assert data["ports"][1]["capabilities_after_tls"]["AUTH"] == "PLAIN LOGIN"
    assert data["warnings"] == [] and data["misnamed"] is None


def test_on_port_done_hears_of_each_port_as_it_finishes(standard):
    _, report, heard = standard
    assert sorted(acts_as for acts_as, _ in heard) == [25, 465, 587]
    assert all(thread.startswith("smtp-doctor") for _, thread in heard)
    assert [result.acts_as for result in report.ports] == [25, 587, 465]  # the order asked for, not of finishing


def test_four_ports_with_a_silent_one_are_probed_at_once(make_lab):
    # Structure, not a stopwatch: every port is complete, and the silent one is reported as silent.
    lab = make_lab("relay", "submissions", "submission", "silent")
    ports = {lab[name].port: acts_as for name, acts_as in
             [("relay", 25), ("submissions", 465), ("submission", 587), ("silent", 2525)]}
    report = doctor(lab, ports=ports)
    assert [(result.acts_as, result.speaks) for result in report.ports] == [
        (25, Speaks.SMTP), (465, Speaks.IMPLICIT_TLS), (587, Speaks.SMTP), (2525, Speaks.SILENT)]
    assert all(result.verified and result.certificate for result in report.ports[:3])
    assert report.recommendation.port == 465


def test_by_default_the_four_submission_and_relay_ports_are_probed():
    # Whatever this machine runs on loopback, the four ports are asked about, in this order.
    report = examine("127.0.0.1", timeout=0.5)
    assert [result.acts_as for result in report.ports] == [25, 465, 587, 2525] == [r.port for r in report.ports]


def test_a_plain_list_of_ports_is_named_by_itself_in_report_and_code(lab):
    port = lab["submissions"].port
    report = examine("127.0.0.1", ports=[port], ca_file=lab.ca_file, timeout=TIMEOUT)
    assert report.ports[0].acts_as == port
    assert f'smtplib.SMTP_SSL("127.0.0.1", {port}, context=context, timeout=30)' in report.recommendation.python


def test_ipv6_loopback_literals(make_lab):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    lab = make_lab("submissions", host="::1")
    for host in ("::1", "[::1]"):
        report = examine(host, ports={lab["submissions"].port: 465}, ca_file=lab.ca_file, timeout=TIMEOUT)
        result = report.ports[0]
        assert (report.host, result.speaks, result.address, result.verified) == (
            "::1", Speaks.IMPLICIT_TLS, "::1", True)
        port = lab["submissions"].port
        assert f'tls.DialWithDialer(&net.Dialer{{Timeout: timeout}}, "tcp", net.JoinHostPort(host, "{port}")' in (
            report.recommendation.go)


def test_without_the_lab_ca_nothing_verifies(lab):
    report = doctor(lab, ca_file=None)
    assert report.recommendation is None
    assert at(report, 465).verify_error == "unable to get local issuer certificate"
    assert "  verified        no: unable to get local issuer certificate\n" in report.text()


# -- credentials ---------------------------------------------------------------------------------


def test_a_good_password_logs_in_and_no_mail_is_sent(lab):
    report = doctor(lab, user=ALICE, password=ALICE_PASSWORD, mail_from=ALICE)
    assert [(r.acts_as, r.auth, r.sender) for r in report.ports] == [
        (25, "not offered", None), (587, "ok", "accepted"), (465, "ok", "accepted")]
    assert report.recommendation.port == 465
    assert "credentials not tested" not in report.text()
    assert f'smtp.login("{ALICE}", os.environ["{PASSWORD_VARIABLE}"])' in report.recommendation.python
    assert len(lab.mailbox) == 0


def test_a_bad_password_fails_auth_and_the_report_says_only_the_login_is_wrong(lab):
    report = doctor(lab, user=ALICE, password="not-the-password")
    assert at(report, 465).auth == at(report, 587).auth == "failed: 535 5.7.8 Error: authentication failed"
    assert report.recommendation is None
    text = report.text()
    assert f"{at(report, 465).label}: implicit-tls - AUTH failed: 535 5.7.8 Error: authentication failed" in text
    # The ports and TLS are right: the summary must not send the reader off to change them.
    assert text.endswith(
        "No working submission setting found with this login: the server refused it (AUTH above says why).\n"
        f"  The port and TLS are right: {at(report, 465).label} with implicit TLS and {at(report, 587).label} with "
        "STARTTLS.\n"
        "  Check the user name and the password (an app password, where the provider asks for one).\n")
    assert (at(report, 465).refused_at, at(report, 587).refused_at, at(report, 25).refused_at) == ("auth", "auth", None)


def test_a_sender_the_login_does_not_own_is_refused_and_the_report_says_only_the_sender_is_wrong(lab):
    report = doctor(lab, user=ALICE, password=ALICE_PASSWORD, mail_from=BOB)
    refusal = f"refused at RCPT TO: 553 5.7.1 <{BOB}>: Sender address rejected: not owned by user {ALICE}"
    assert at(report, 465).sender == at(report, 587).sender == refusal
    assert report.recommendation is None
    assert report.text().endswith(
        "No working submission setting found for this sender: the server took the login and refused the sender "
        "(sender above says why).\n"
        f"  The port, TLS and login are right: {at(report, 465).label} with implicit TLS and {at(report, 587).label} "
        "with STARTTLS.\n"
        "  Send as an address this login may use, or ask the provider to let it use this one.\n")
    assert len(lab.mailbox) == 0


def test_a_login_refused_where_tls_fails_too_is_no_right_port(make_lab):
    # Nothing got as far as a login on a port that does not verify: each port above says why, as before.
    lab = make_lab("submissions-expired-cert")
    report = doctor(lab, user=ALICE, password="not-the-password")
    assert report.ports[0].refused_at is None
    assert report.text().endswith("No working submission setting found: each port above says why.\n")


def test_the_password_appears_in_no_output(lab):
    for password in (ALICE_PASSWORD, ALICE_PASSWORD + "-wrong"):
        report = doctor(lab, user=ALICE, password=password, mail_from=ALICE)
        outputs = report.text() + report.to_json() + repr(report)
        assert leaked(outputs) == [] and password not in outputs


@pytest.mark.parametrize("name", ["submissions", "submission"])
def test_the_recommended_python_code_sends_mail(lab, monkeypatch, name):
    # The lab's port is named as the port it acts as; the code connects to the one that answered.
    endpoint = lab[name]
    report = examine("127.0.0.1", ports={endpoint.port: endpoint.acts_as}, ca_file=lab.ca_file, timeout=TIMEOUT,
                     user=ALICE, password=ALICE_PASSWORD, mail_from=ALICE)
    assert report.recommendation.port == endpoint.acts_as
    assert f'"127.0.0.1", {endpoint.port}, ' in report.recommendation.python
    monkeypatch.setenv(PASSWORD_VARIABLE, ALICE_PASSWORD)
    exec(report.recommendation.python, {})
    assert (lab.mailbox[-1].endpoint, lab.mailbox[-1].login, lab.mailbox[-1].rcpt_tos) == (name, ALICE, (ALICE,))


@pytest.mark.clients
@needs("go")
@pytest.mark.parametrize("name", ["submissions", "submission"])
def test_the_recommended_go_code_sends_mail(lab, tmp_path, name):
    report = examine("127.0.0.1", ports={lab[name].port: lab[name].acts_as}, ca_file=lab.ca_file, timeout=TIMEOUT,
                     user=ALICE, password=ALICE_PASSWORD)
    (tmp_path / "main.go").write_text(report.recommendation.go)
    assert subprocess.run(["gofmt", "-l", "main.go"], cwd=tmp_path, capture_output=True, text=True).stdout == ""
    env = {**os.environ, PASSWORD_VARIABLE: ALICE_PASSWORD}
    run = subprocess.run(["go", "run", "main.go"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (lab.mailbox[-1].endpoint, lab.mailbox[-1].login) == (name, ALICE)


def test_no_recommended_code_turns_verification_off(standard):
    chosen = standard[1].recommendation
    for code in (chosen.python, chosen.go):
        assert "CERT_NONE" not in code and "InsecureSkipVerify" not in code and "check_hostname" not in code
    assert "ssl.create_default_context(cafile=" in chosen.python and "RootCAs" in chosen.go


# -- misbehaving servers -------------------------------------------------------------------------


def endless_line(conn, stop):
    conn.sendall(b"220 ")
    while not stop.is_set():
        conn.sendall(b"x" * 1024)


def byte_by_byte_forever(conn, stop):
    for byte in itertools.cycle(b"220 slowly, very slowly "):
        if stop.wait(0.01):
            return
        conn.sendall(bytes([byte]))


def binary_junk(conn, stop):
    conn.sendall(bytes(range(256)) * 4)
    hold(conn, stop)


def endless_greeting(conn, stop):
    while not stop.is_set():
        conn.sendall(b"220-and there is more\r\n" * 100)


def greets_then_hangs_up(conn, stop):
    conn.sendall(b"220 hello and goodbye\r\n")


def floods_the_ehlo_reply(conn, stop):
    conn.sendall(b"220 hello\r\n")
    conn.recv(1024)
    while not stop.is_set():
        conn.sendall(b"250-and there is more\r\n" * 100)


@pytest.mark.parametrize("behave, speaks, detail", [
    (endless_line, Speaks.SMTP_BROKEN, "its greeting went wrong: a line longer than smtplib reads (8192 bytes)"),
    (byte_by_byte_forever, Speaks.SMTP_BROKEN, "its greeting went wrong: no complete reply in time"),
    (binary_junk, Speaks.NOT_SMTP, "it answered '\\x00\\x01\\x02\\x03\\x04\\x05"),
    (endless_greeting, Speaks.SMTP_BROKEN, f"its greeting went wrong: more than {MAX_REPLY_BYTES} bytes of replies"),
    (greets_then_hangs_up, Speaks.SMTP_BROKEN, "the connection failed at EHLO: the connection closed"),
    (floods_the_ehlo_reply, Speaks.SMTP_BROKEN, f"the connection failed at EHLO: more than {MAX_REPLY_BYTES} bytes"),
], ids=lambda value: getattr(value, "__name__", None))
def test_a_misbehaving_server_gets_a_clear_verdict(behave, speaks, detail):
    with peer(behave) as port:
        result = examine("127.0.0.1", ports=[port], timeout=0.5).ports[0]
    assert (result.speaks, result.problem) == (speaks, speaks)
    assert result.detail.startswith(detail)


def test_a_web_server_is_not_smtp_though_it_waits_for_the_client(tmp_path):
    # A real web server (python -m http.server) says nothing until asked, then answers a TLS ClientHello
    # with a plaintext HTTP error (hostile-clients D12).
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as web, contextlib.redirect_stderr(io.StringIO()):
        threading.Thread(target=web.serve_forever, daemon=True).start()
        try:
            result = examine("127.0.0.1", ports=[web.server_address[1]], timeout=TIMEOUT).ports[0]
        finally:
            web.shutdown()
    assert (result.speaks, result.problem) == (Speaks.NOT_SMTP, Speaks.NOT_SMTP)
    # http.server takes the ClientHello for an HTTP/0.9 request, so its answer is an HTML page, no status line.
    assert result.detail == "no greeting within 0.5 s; to a TLS handshake it answered '<!DOCTYPE HTML>' (a web server)"


def test_a_port_that_is_silent_to_the_end_is_still_silent():
    with peer(hold) as port:
        result = examine("127.0.0.1", ports=[port], timeout=0.5).ports[0]
    assert (result.speaks, result.detail) == (Speaks.SILENT, "no greeting within 0.25 s, and no TLS handshake either")


def test_junk_is_quoted_printably():
    with peer(binary_junk) as port:
        report = examine("127.0.0.1", ports=[port], timeout=0.5)
    assert all(line.isprintable() for line in report.text().splitlines())


def scripted_smtp(conn, stop):
    """Just enough SMTP for the doctor: a greeting, EHLO with AUTH, and QUIT."""
    conn.sendall(b"220 tiny ESMTP\r\n")
    reader = conn.makefile("rb")
    for line in reader:
        if line.upper().startswith(b"QUIT"):
            conn.sendall(b"221 bye\r\n")
            break
        conn.sendall(b"250-tiny\r\n250 AUTH PLAIN\r\n" if line.upper().startswith(b"EHLO") else b"250 ok\r\n")
    reader.close()


def test_credentials_a_server_quotes_back_are_in_no_report(tmp_path):
    tls, ca_file = tls_for_127_0_0_1(tmp_path)
    with peer(echoes_credentials, tls=tls) as port:
        report = examine("127.0.0.1", ports={port: 465}, ca_file=ca_file, timeout=TIMEOUT, user=ALICE,
                         password=ALICE_PASSWORD)
    result = report.ports[0]
    assert result.auth == "failed: 535 5.7.8 authentication failed for ******** (********)"
    assert leaked(report.text(), report.to_json(), repr(report)) == []


def test_a_certificate_about_to_expire_is_a_danger(tmp_path):
    ca = trustme.CA()
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=EXPIRY_WARNING_DAYS - 9, hours=12)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", not_after=soon.replace(tzinfo=None)).configure_cert(server)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with peer(scripted_smtp, tls=server) as port:
        report = examine("127.0.0.1", ports={port: 465}, ca_file=ca_file, timeout=TIMEOUT)
    result = report.ports[0]
    day = soon.date().isoformat()
    assert (result.speaks, result.verified, result.certificate.days_left) == (Speaks.IMPLICIT_TLS, True, 5)
    assert result.warnings == [f"the certificate expires on {day} (5 days left)"]
    assert f"    valid         until {day} (5 days left)\n" in report.text()
    assert report.recommendation.port == 465  # a danger, not yet a failure


# -- what can be seen before connecting ----------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    ({"ports": [0]}, "port 0 is out of range"),
    ({"ports": {10465: 70000}}, "port 70000 is out of range"),
    ({"ports": []}, "no ports to probe"),
    ({"timeout": 0}, "timeout 0 should be a number of seconds above 0"),
    ({"timeout": 1e10}, "timeout 10000000000.0 should be a number of seconds above 0 and at most 3600"),
    ({"timeout": float("nan")}, "timeout nan should be a number of seconds"),
    ({"user": ALICE}, "give both a user and a password"),
    ({"mail_from": ALICE}, "a sender to check needs a user and password"),
    ({"user": ALICE, "password": "x", "mail_from": "not an address"}, "is not an email address"),
    ({"ca_file": "/nonexistent/ca.pem"}, "cannot use the CA file /nonexistent/ca.pem"),
])
def test_bad_usage_is_refused_before_connecting(options, message):
    with pytest.raises(BadUsage, match=message):
        examine("127.0.0.1", **options)


@pytest.mark.parametrize("content", [b"not a certificate\n", b"-----BEGIN CERTIFICATE-----\nnot base64!\n"
                                                              b"-----END CERTIFICATE-----\n"])
def test_a_ca_file_with_no_pem_certificate_is_said_in_words_not_in_openssls(tmp_path, content):
    ca_file = tmp_path / "lab.out"
    ca_file.write_bytes(content)
    with pytest.raises(BadUsage) as refused:
        examine("127.0.0.1", ca_file=ca_file)
    assert str(refused.value) == (f"cannot use the CA file {ca_file}: no certificate could be read from it; it should "
                                  "hold PEM certificates (-----BEGIN CERTIFICATE-----), as the file the lab's "
                                  "--ca-file writes")


@pytest.mark.parametrize("host", ["127.0.0.1:10465", "[::1]:10465", "smtps://127.0.0.1:10465"])
def test_a_host_given_to_examine_with_a_port_is_told_where_the_port_goes(host):
    with pytest.raises(BadUsage, match=r"is given with a port: give the host alone, and the port in ports \(on the "
                                       r"command line, --port 10465\)"):
        examine(host)


def test_a_host_that_does_not_resolve_is_bad_usage():
    # "a..b" fails in the resolver's own checks, and .invalid names never reach DNS (RFC 6761 section
    # 6.4): the test asks no DNS server anything.
    with pytest.raises(BadUsage, match=r"cannot resolve host 'a\.\.b'"):
        examine("a..b")
    with pytest.raises(BadUsage, match=r"cannot resolve host 'nothere\.invalid': names under \.invalid never exist"):
        examine("nothere.invalid")


def test_a_resolver_that_cannot_answer_is_no_spelling_mistake(monkeypatch):
    def resolver_down(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", resolver_down)
    with pytest.raises(BadUsage, match=r"\(Temporary failure in name resolution\): the resolver could not answer") as e:
        examine("smtp.example.com")
    assert "spelling" not in str(e.value)


# -- the command line ------------------------------------------------------------------------------


def run_doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.doctor", *args], capture_output=True, text=True,
                          timeout=CLIENT_TIMEOUT * 3, env={**os.environ, **(env or {})})


def port_options(lab: Lab) -> list[str]:
    return [f"--port={port}={acts_as}" for port, acts_as in named(lab).items()]


def test_cli_prints_the_report_with_each_verdict_once_and_exits_0(lab):
    # Progress is a line rewritten in place on a terminal only; each port's verdict is printed once.
    run = run_doctor("127.0.0.1", *port_options(lab), "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == doctor(lab).text()
    for name, verdict in [("relay", "smtp - no AUTH after TLS: not a submission port"),
                          ("submissions", "implicit-tls - works for submission"),
                          ("submission", "smtp - works for submission")]:
        endpoint = lab[name]
        assert run.stdout.count(f"port {endpoint.port} (as {endpoint.acts_as}): {verdict}\n") == 1


def test_cli_takes_the_labs_order_of_a_port_pair_too(lab):
    # The lab's --ports is ACTS_AS=PORT (465=10465), the doctor's --port PORT=ACTS_AS (10465=465): where one
    # side is a standard port and the other is not, either order means the same.
    endpoint = lab["submissions"]
    runs = [run_doctor("127.0.0.1", "--port", pair, "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
            for pair in (f"465={endpoint.port}", f"{endpoint.port}=465")]
    assert runs[0].stdout == runs[1].stdout and runs[0].returncode == runs[1].returncode == 0
    assert f"port {endpoint.port} (as 465): implicit-tls - works for submission\n" in runs[0].stdout


def test_cli_says_when_port_pairs_look_swapped_and_still_recommends_the_implicit_tls_port(lab):
    submission, submissions = lab["submission"], lab["submissions"]
    run = run_doctor("127.0.0.1", "--port", f"{submission.port}=465", "--port", f"{submissions.port}=587",
                     "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.count(f"\nport {submission.port}, named as 465, speaks STARTTLS, and port {submissions.port}, "
                            "named as 587, speaks implicit TLS: are the pairs swapped?\n") == 1
    # What each port speaks decides the setting, whatever it was named: implicit TLS, on the port that speaks it.
    assert f"Recommendation: port {submissions.port} (as 587) with implicit TLS\n" in run.stdout
    assert f'    with smtplib.SMTP_SSL("127.0.0.1", {submissions.port}, context=context' in run.stdout
    assert f"  also works: port {submission.port} (as 465) with STARTTLS\n" in run.stdout


@pytest.mark.parametrize("profile, speaks", [
    ("relay", "STARTTLS"), ("submission-no-starttls", "plain SMTP, without TLS"),
])
def test_cli_doubts_a_single_pair_whose_port_speaks_otherwise_than_465(make_lab, profile, speaks):
    lab = make_lab(profile)
    port = lab[profile].port
    run = run_doctor("127.0.0.1", "--port", f"465={port}", "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert f"\nport {port}, named as 465, speaks {speaks}: is the pair right?\n" in run.stdout


def test_cli_keeps_port_then_acts_as_when_both_are_standard_and_names_the_port_it_connected_to():
    with socket.socket() as unused:  # bound, never listening: refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        run = run_doctor("127.0.0.1", "--port", f"{port}=2525", "--port", "587=465", "--timeout", str(TIMEOUT))
    assert f"port {port} (as 2525): refused - connection refused: nothing listens there\n" in run.stdout
    assert "\nport 587 (as 465): " in run.stdout  # whatever this machine runs on 587


@contextlib.contextmanager
def refusing_ports(count: int):
    """Ports on loopback where nothing listens (bound, never listening: refused), while the block runs."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        yield [sock.getsockname()[1] for sock in sockets]


def test_cli_on_loopback_where_nothing_listens_on_the_ports_given_asks_whether_the_lab_runs():
    # The user passed the lab's ports as the README says: telling them to pass them would not help.
    with refusing_ports(2) as ports:
        run = run_doctor("127.0.0.1", "--port", f"{ports[0]}=465", "--port", f"587={ports[1]}", "--timeout", "1")
    assert (run.returncode, run.stderr) == (1, "")
    for port, acts_as in zip(ports, (465, 587), strict=True):
        assert run.stdout.count(f"port {port} (as {acts_as}): refused") == 1
    assert run.stdout.endswith(f"No working submission setting found: each port above says why.\n{LAB_PORTS_HINT}\n")
    assert "is the lab running?" in LAB_PORTS_HINT and "--ports 25=10025,465=10465,587=10587" in LAB_PORTS_HINT


def test_cli_on_loopback_where_nothing_listens_on_the_standard_ports_says_the_lab_has_its_own():
    for port in DEFAULT_PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                pytest.skip(f"something listens on 127.0.0.1 port {port} on this machine")
    run = run_doctor("127.0.0.1", "--timeout", "1")
    assert run.stdout.endswith(f"No working submission setting found: each port above says why.\n{LAB_HINT}\n")
    assert "--port 10465=465" in LAB_HINT and "--ports 25=10025,465=10465,587=10587" in LAB_HINT


def test_cli_on_ipv6_loopback_where_nothing_listens_says_the_lab_command_listens_on_127_0_0_1(lab):
    # The user's case: the lab's certificate names ::1, and the doctor takes ::1, but the command listens on IPv4.
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    port = lab["submissions"].port
    run = run_doctor("::1", "--port", f"{port}=465", "--ca-file", str(lab.ca_file), "--timeout", "1")
    assert f"port {port} (as 465): refused - connection refused: nothing listens there\n" in run.stdout
    assert run.stdout.endswith(f"each port above says why.\n{LAB_IPV6_HINT}\n")
    assert "listens on 127.0.0.1 only" in LAB_IPV6_HINT and LAB_PORTS_HINT not in run.stdout
    assert run_doctor("127.0.0.1", "--port", f"{port}=465", "--ca-file", str(lab.ca_file)).returncode == 0


def test_cli_gives_no_lab_hint_when_a_port_answers(make_lab):
    lab = make_lab("relay", "closed")
    run = run_doctor("127.0.0.1", "--port", str(lab["closed"].port), "--port", f"{lab['relay'].port}=25",
                     "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert f"port {lab['closed'].port}: refused" in run.stdout
    assert LAB_HINT not in run.stdout and LAB_PORTS_HINT not in run.stdout


def test_cli_says_a_port_found_silent_within_a_tiny_timeout_may_only_be_slow(make_lab):
    lab = make_lab("silent")
    port = lab["silent"].port
    hurried = run_doctor("127.0.0.1", "--port", f"{port}=587", "--timeout", "0.01")
    assert hurried.stdout.endswith(f"each port above says why.\n{TIMEOUT_HINT.format(timeout=0.01)}\n")
    assert "--timeout 0.01 s" in TIMEOUT_HINT.format(timeout=0.01)
    patient = run_doctor("127.0.0.1", "--port", f"{port}=587", "--timeout", str(TIMEOUT))
    assert f"port {port} (as 587): silent - no greeting" in patient.stdout and "--timeout" not in patient.stdout


def test_cli_on_loopback_without_a_ca_file_says_to_pass_the_labs_when_no_issuer_is_trusted(lab):
    run = run_doctor("127.0.0.1", *port_options(lab), "--timeout", str(TIMEOUT))
    assert run.returncode == 1
    assert "  verified        no: unable to get local issuer certificate\n" in run.stdout
    assert run.stdout.endswith(f"No working submission setting found: each port above says why.\n{LAB_CA_HINT}\n")
    assert "--ca-file" in LAB_CA_HINT and LAB_HINT not in run.stdout


def test_cli_gives_no_ca_hint_for_a_certificate_the_labs_ca_would_not_help_with(make_lab):
    lab = make_lab("submissions-self-signed-cert")
    run = run_doctor("127.0.0.1", *port_options(lab), "--timeout", str(TIMEOUT))
    assert "  verified        no: self-signed certificate\n" in run.stdout and LAB_CA_HINT not in run.stdout


# Python as a terminal starts it: Ctrl-C raises KeyboardInterrupt, whatever runs the tests (a background job
# of a shell starts with SIGINT ignored, and a child inherits that).
DOCTOR_FROM_A_TERMINAL = [sys.executable, "-c", "import runpy, signal; "
                          "signal.signal(signal.SIGINT, signal.default_int_handler); "
                          "runpy.run_module('helpers.doctor', run_name='__main__')"]


def test_ctrl_c_stops_the_doctor_at_once_quietly_with_130_and_no_report(make_lab):
    lab = make_lab("blackhole", "silent")
    long = 120  # seconds per phase: a doctor that waited for its probes would outlast the bound below by far
    args = ["127.0.0.1", "--port", f"{lab['blackhole'].port}=25", "--port", f"{lab['silent'].port}=587",
            "--timeout", str(long)]
    with subprocess.Popen([*DOCTOR_FROM_A_TERMINAL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            assert lab.events.wait_for("connect", timeout=CLIENT_TIMEOUT * 3)  # probing: the silent port is held
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=long / 4)  # generous, for a busy machine
        finally:
            process.kill()
    assert (process.returncode, out, err) == (INTERRUPTED, "", "doctor: interrupted\n")


def test_cli_json_goes_to_stdout_and_progress_to_stderr(lab):
    run = run_doctor("127.0.0.1", *port_options(lab), "--ca-file", str(lab.ca_file), "--json")
    assert run.returncode == 0
    assert json.loads(run.stdout)["recommendation"]["port"] == 465
    assert len(run.stderr.splitlines()) == 3 and all(line.startswith("port ") for line in run.stderr.splitlines())


@pytest.mark.parametrize("written", ["127.0.0.1:{port}", "[::1]:{port}", "smtps://127.0.0.1:{port}",
                                     "submission://127.0.0.1:{port}/"])
def test_cli_takes_a_host_written_with_its_port_as_configs_and_urls_write_it(make_lab, written):
    # The case study, Go's SendMail and most configs write host:port: never "cannot resolve host".
    host = "::1" if written.startswith("[") else "127.0.0.1"
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    lab = make_lab("submissions", host=host)
    port = lab["submissions"].port
    run = run_doctor(written.format(port=port), "--ca-file", str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.startswith(f"SMTP doctor for {host} (ports {port})\n\nport {port}: implicit-tls - works for "
                                 "submission\n")


def test_cli_takes_a_url_without_a_port_as_the_host_alone_and_the_port_given_with_the_host_beside_those_given(lab):
    submissions, submission = lab["submissions"], lab["submission"]
    run = run_doctor(f"smtp://127.0.0.1:{submissions.port}", "--port", f"{submission.port}=587", "--ca-file",
                     str(lab.ca_file), "--timeout", str(TIMEOUT))
    assert run.stdout.startswith(f"SMTP doctor for 127.0.0.1 (ports {submission.port} as 587, {submissions.port})\n")
    bare = run_doctor("smtp://127.0.0.1", "--port", f"{submission.port}=587", "--ca-file", str(lab.ca_file),
                      "--timeout", str(TIMEOUT))
    assert bare.stdout == run_doctor("127.0.0.1", "--port", f"{submission.port}=587", "--ca-file", str(lab.ca_file),
                                     "--timeout", str(TIMEOUT)).stdout


@pytest.mark.parametrize("args", [[], ["--json"]], ids=["text", "json"])
def test_cli_whose_reader_goes_away_ends_quietly_with_the_reports_status(lab, args):
    # `python -m helpers.doctor ... | head -3`, with head gone before the report is written.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        run = subprocess.run([sys.executable, "-m", "helpers.doctor", "127.0.0.1", *port_options(lab), "--ca-file",
                              str(lab.ca_file), "--timeout", str(TIMEOUT), *args], stdout=writer,
                             stderr=subprocess.PIPE, text=True, timeout=CLIENT_TIMEOUT * 3)
    finally:
        os.close(writer)
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr
    assert run.returncode == 0  # a working setting was found, as the report (unread) says


def test_cli_exits_1_when_nothing_works(make_lab):
    lab = make_lab("relay")
    run = run_doctor("127.0.0.1", *port_options(lab), "--ca-file", str(lab.ca_file))
    assert run.returncode == 1
    assert "No working submission setting found:" in run.stdout


def test_cli_reads_the_password_from_the_environment_and_never_shows_it(lab):
    for password, code in ((ALICE_PASSWORD, 0), (ALICE_PASSWORD + "-wrong", 1)):
        run = run_doctor("127.0.0.1", *port_options(lab), "--ca-file", str(lab.ca_file), "--json",
                         "--user", ALICE, "--password-env", "DOCTOR_TEST_PASSWORD", "--from", ALICE,
                         env={"DOCTOR_TEST_PASSWORD": password})
        assert run.returncode == code
        outputs = run.stdout + run.stderr
        assert leaked(outputs) == [] and password not in outputs
    assert json.loads(run.stdout)["ports"][2]["auth"] == "failed: 535 5.7.8 Error: authentication failed"


@pytest.mark.parametrize("args, message", [
    (["a..b"], "cannot resolve host 'a..b'"),
    (["127.0.0.1", "--port", "70000"], "port 70000 is out of range"),
    (["127.0.0.1", "--port", "465=smtps"], "'465=smtps' is not a port"),
    (["127.0.0.1", "--port", "10465=465=587"], "'10465=465=587' is not a port: use a port number (465) or PORT="),
    (["127.0.0.1", "--port", "10465=465", "--port", "587=10465"], "port 10465 is given already (as 465)"),
    (["127.0.0.1", "--port", "465=70000"], "port 70000 is out of range"),
    (["127.0.0.1", "--user", ALICE], "give --user and --password-env VAR together"),
    (["127.0.0.1", "--user", ALICE, "--password-env", "DOCTOR_TEST_UNSET"], "--password-env is not set"),
    (["127.0.0.1", "--timeout", "soon"], "argument --timeout: invalid float value: 'soon'"),
    (["127.0.0.1", "--timeout", "-1"], "timeout -1.0 should be a number of seconds above 0"),
    (["127.0.0.1", "--timeout", "1e10"], "timeout 10000000000.0 should be a number of seconds above 0 and at most"),
    (["127.0.0.1", "--timeout", "inf"], "timeout inf should be a number of seconds"),
    (["nothere.invalid"], "cannot resolve host 'nothere.invalid': names under .invalid never exist"),
    (["127.0.0.1", "--user", ALICE, "--password", ALICE_PASSWORD], "unrecognized arguments (see --help)"),
    (["127.0.0.1", "--user", ALICE, "--password-env", ALICE_PASSWORD], "--password-env is not set"),
    (["127.0.0.1", "--port", "10465=466"], "'10465=466': 466 is no port another can act as; name it as 25, 465, 587 "
                                           "or 2525 (10465=465), or give the port alone (--port 10465)"),
    (["127.0.0.1", "--port", "466=10465"], "'466=10465': 10465 is no port another can act as"),
    (["127.0.0.1", "--library", "cobol"], "unknown library 'cobol'; choose one of: smtplib, django"),
    (["127.0.0.1:smtps"], "'127.0.0.1:smtps' is not a host with a port (smtp.example.com:587): give the host alone"),
    (["127.0.0.1:70000"], "'127.0.0.1:70000' is not a host with a port"),
    (["[::1"], "'[::1' is not a host: write an IPv6 address alone (::1) or in brackets ([::1])"),
    (["http://127.0.0.1"], "http:// is no mail server's URL: give the host alone (smtp.example.com), and each port"),
    (["smtp://127.0.0.1:587/?tls=1"], "give the host of smtp:// alone (smtp.example.com), and each port with --port"),
    ([f"smtps://{ALICE.replace('@', '%40')}:{ALICE_PASSWORD}@127.0.0.1:465"], "give the host alone: a user goes in "
                                                                              "--user and a password in the"),
])
def test_cli_bad_usage_is_one_line_on_stderr_and_exit_2(args, message):
    run = run_doctor(*args, env={"DOCTOR_TEST_UNSET": ""})
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.count("\n") == 1 and message in run.stderr
    assert ALICE_PASSWORD not in run.stderr  # not even when typed where it does not belong

