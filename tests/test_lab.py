"""The lab behaves like a provider's ports 25, 587 and 465 to a real smtplib client over loopback."""

from __future__ import annotations

import base64
import random
import re
import smtplib
import socket
import ssl

import pytest
import trustme
from conftest import ALICE, ALICE_PASSWORD, BOB, CERTIFICATE_ERRORS, CLIENT_TIMEOUT, OUTSIDER, connect, message

from helpers.certificates import LabCertificates
from helpers.conversation import DataReader
from helpers.lab import Lab, LabError, start_lab
from helpers.profiles import (
    GREYLIST_DELAY,
    LOGIN_BLOCK,
    MAX_FAILED_LOGINS,
    MAX_MESSAGE_SIZE,
    MAX_RECIPIENTS,
    PROFILES,
    Fault,
    Profile,
    Received,
)

RELAY_DENIED = 554
STARTTLS_FIRST = (530, b"5.7.0 Must issue a STARTTLS command first")
AUTH_REQUIRED = (530, b"5.7.0 Authentication required")
BAD_PASSWORD = (535, b"5.7.8 Error: authentication failed")
TOO_BIG = (552, b"5.3.4 Message size exceeds fixed limit")  # at MAIL, when the client declares SIZE=
TOO_BIG_AFTER_DATA = (552, b"5.3.4 Error: message file too big")  # after the data, when it does not


def ehlo_features(client: smtplib.SMTP) -> set[str]:
    client.ehlo()
    return {name.upper() for name in client.esmtp_features}


# -- relay (acts as 25) -------------------------------------------------------------------------


def test_relay_accepts_mail_for_its_own_domain_without_auth(lab):
    with connect(lab, "relay", secure=False) as client:
        assert "AUTH" not in ehlo_features(client)
        assert client.send_message(message(sender=OUTSIDER, to=ALICE)) == {}
    stored = lab.mailbox[-1]
    assert (stored.endpoint, stored.mail_from, stored.rcpt_tos, stored.login) == ("relay", OUTSIDER, (ALICE,), None)
    assert stored.email["Subject"] == "Hello from the lab"


def test_relay_refuses_to_relay_to_other_domains(lab):
    with connect(lab, "relay", secure=False) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(message(sender=ALICE, to=OUTSIDER))
    assert refused.value.recipients == {OUTSIDER: (RELAY_DENIED, f"5.7.1 <{OUTSIDER}>: Relay access denied".encode())}
    assert len(lab.mailbox) == 0


def test_relay_offers_starttls_but_no_auth(lab):
    with connect(lab, "relay", secure=False) as client:
        features = ehlo_features(client)
        assert "STARTTLS" in features and "AUTH" not in features
        client.starttls(context=lab.client_context())
        assert "AUTH" not in ehlo_features(client)
        assert client.docmd("AUTH", "PLAIN") == (503, b"5.5.1 Error: authentication not enabled")
        assert client.send_message(message(sender=OUTSIDER, to=ALICE)) == {}
    assert lab.mailbox[-1].tls_version == "TLSv1.3"


# -- submission (acts as 587) -------------------------------------------------------------------


def test_submission_hides_auth_until_starttls(lab):
    with connect(lab, "submission", secure=False) as client:
        features = ehlo_features(client)
        assert {"STARTTLS", "SIZE"} <= features and "AUTH" not in features
        assert client.esmtp_features["size"] == str(MAX_MESSAGE_SIZE)
        client.starttls(context=lab.client_context())
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        assert "starttls" not in client.esmtp_features


def test_submission_refuses_mail_before_starttls(lab):
    with connect(lab, "submission", secure=False) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.send_message(message())
    assert (refused.value.smtp_code, refused.value.smtp_error) == STARTTLS_FIRST


def test_submission_login_before_starttls_finds_no_auth(lab):
    with connect(lab, "submission", secure=False) as client, pytest.raises(smtplib.SMTPNotSupportedError):
        client.login(ALICE, ALICE_PASSWORD)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_submission_accepts_mail_after_starttls_and_auth(lab, mechanism):
    with connect(lab, "submission") as client:
        client.user, client.password = ALICE, ALICE_PASSWORD
        client.ehlo()
        client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        assert client.send_message(message()) == {}
    stored = lab.mailbox[-1]
    assert (stored.endpoint, stored.acts_as, stored.login, stored.tls_version) == ("submission", 587, ALICE, "TLSv1.3")
    assert stored.rcpt_tos == (BOB,)


@pytest.mark.parametrize("name", ["submission", "submissions"])
def test_bad_password_is_refused_with_535(lab, name):
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(ALICE, "not-the-password")
    assert (refused.value.smtp_code, refused.value.smtp_error) == BAD_PASSWORD


@pytest.mark.parametrize("name", ["submission", "submissions"])
def test_mail_without_auth_is_refused_with_530(lab, name):
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.send_message(message())
    assert (refused.value.smtp_code, refused.value.smtp_error) == AUTH_REQUIRED


@pytest.mark.parametrize("name", ["submission", "submissions"])
def test_sender_not_owned_by_the_login_is_refused_at_rcpt(lab, name):
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.login(ALICE, ALICE_PASSWORD)
        client.send_message(message(sender=BOB))
    expected = f"5.7.1 <{BOB}>: Sender address rejected: not owned by user {ALICE}".encode()
    assert refused.value.recipients == {BOB: (553, expected)}


def test_message_over_the_size_limit_is_refused_with_552(lab):
    with connect(lab, "submission") as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.login(ALICE, ALICE_PASSWORD)
        client.send_message(message(body="x" * (MAX_MESSAGE_SIZE + 1)))
    assert (refused.value.smtp_code, refused.value.smtp_error) == TOO_BIG


def test_message_over_the_size_limit_without_size_parameter_is_refused_after_data(lab):
    with connect(lab, "submission") as client:
        client.login(ALICE, ALICE_PASSWORD)
        client.esmtp_features.pop("size")  # a client that never announces the size
        with pytest.raises(smtplib.SMTPDataError) as refused:
            lines_over_the_limit = MAX_MESSAGE_SIZE // 1000 + 1
            client.sendmail(ALICE, [BOB], b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * lines_over_the_limit)
    assert (refused.value.smtp_code, refused.value.smtp_error) == TOO_BIG_AFTER_DATA


# -- submissions (acts as 465) ------------------------------------------------------------------


def test_submissions_speaks_tls_from_the_first_byte(lab):
    with connect(lab, "submissions") as client:
        assert client.sock.version() == "TLSv1.3"
        features = ehlo_features(client)
        assert "AUTH" in features and "STARTTLS" not in features
        client.login(ALICE, ALICE_PASSWORD)
        assert client.send_message(message()) == {}
    assert (lab.mailbox[-1].endpoint, lab.mailbox[-1].acts_as) == ("submissions", 465)


def test_plaintext_client_on_465_is_hung_up_on_when_it_sends_nothing(make_lab):
    # The client would wait CLIENT_TIMEOUT seconds; the lab hangs up first, so smtplib reports a
    # closed connection (the case study's EOF), not a timeout. The log says how long the lab waited.
    lab = make_lab("submissions", client_hello_wait=0.3)
    with pytest.raises(smtplib.SMTPServerDisconnected, match=r"^Connection unexpectedly closed$"):
        smtplib.SMTP(*lab["submissions"].address, timeout=CLIENT_TIMEOUT)
    assert lab.events.wait_for("disconnect")
    events = lab.events.last_session()
    assert [e.kind for e in events] == ["connect", "tls-failed", "disconnect"]
    assert events[1].detail.startswith("no TLS handshake within 0.3 s: the client sent nothing, as a plaintext client")


def test_by_default_465_waits_about_a_second_for_the_first_byte(lab):
    # The case study's EOF comes after about a second: not after the client's own timeout.
    with pytest.raises(smtplib.SMTPServerDisconnected, match=r"^Connection unexpectedly closed$"):
        smtplib.SMTP(*lab["submissions"].address, timeout=CLIENT_TIMEOUT)
    assert lab.events.wait_for("disconnect")
    assert lab.events.last_session()[1].detail.startswith("no TLS handshake within 1 s: the client sent nothing")


def test_a_tls_client_that_has_begun_its_handshake_is_not_cut_at_the_first_byte_wait(make_lab):
    # Only silence is taken for a plaintext client: a ClientHello that starts, then stalls (a busy machine, a
    # slow link) well past client_hello_wait, still completes, as against a real server.
    lab = make_lab("submissions", client_hello_wait=0.3)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = lab.client_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with socket.create_connection(lab["submissions"].address, timeout=CLIENT_TIMEOUT) as sock:
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
        sock.sendall(hello[:5])
        assert not lab.events.wait_for("disconnect", timeout=1.0)  # more than three times the wait
        sock.sendall(hello[5:])
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536) or pytest.fail("the lab closed the connection mid-handshake"))
        sock.sendall(outgoing.read())
        greeting = b""
        while not greeting.endswith(b"\r\n"):
            try:
                greeting += tls.read(1024)
            except ssl.SSLWantReadError:
                incoming.write(sock.recv(65536) or pytest.fail("the lab closed the connection after the handshake"))
    assert greeting.startswith(b"220 ")
    assert "tls-failed" not in [event.kind for event in lab.events.last_session()]


def test_plaintext_words_on_465_are_recognised_as_plaintext(lab):
    with socket.create_connection(lab["submissions"].address, timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(b"EHLO me\r\n")
        assert sock.recv(100) == b""  # the lab closes the connection
    assert lab.events.wait_for("disconnect")
    assert lab.events.last_session()[1].detail == "client spoke plaintext on a TLS port"


def test_tls_client_on_587_gets_wrong_version_number(lab):
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER"):
        smtplib.SMTP_SSL(*lab["submission"].address, timeout=CLIENT_TIMEOUT, context=lab.client_context())


# -- the provider's From: header check ----------------------------------------------------------


@pytest.mark.parametrize("name", ["submission-strict-from", "submissions-strict-from"])
def test_strict_from_refuses_a_message_without_from_header(make_lab, name):
    lab = make_lab(name)
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.login(ALICE, ALICE_PASSWORD)
        client.sendmail(ALICE, [BOB], b"Subject: hand-built\r\nMIME-Version: 1.0\r\n\r\n<b>hi</b>\r\n")
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error == (
        b"5.7.1 Your FROM address ( , ) must match your authenticated email domain ( example.com ). "
        b"Treating this as a spoofed email."
    )
    assert len(lab.mailbox) == 0


@pytest.mark.parametrize("name", ["submission-strict-from", "submissions-strict-from"])
def test_strict_from_refuses_a_from_header_in_another_domain_and_accepts_a_proper_one(make_lab, name):
    lab = make_lab(name)
    with connect(lab, name) as client:
        client.login(ALICE, ALICE_PASSWORD)
        with pytest.raises(smtplib.SMTPDataError, match=r"Your FROM address \( example\.net , \)"):
            client.send_message(message(sender=OUTSIDER), from_addr=ALICE)
        assert client.send_message(message(sender="Alice Example <alice@example.com>")) == {}
    assert lab.mailbox[-1].email["From"].addresses[0].display_name == "Alice Example"


# -- broken profiles ----------------------------------------------------------------------------


def test_stripped_starttls_offers_auth_in_plaintext(make_lab):
    lab = make_lab("submission-no-starttls")
    with connect(lab, "submission-no-starttls", secure=False) as client:
        features = ehlo_features(client)
        assert "STARTTLS" not in features and "AUTH" in features
        with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS extension not supported by server"):
            client.starttls(context=lab.client_context())


def test_starttls_answered_with_454(make_lab):
    lab = make_lab("submission-tls-unavailable")
    with connect(lab, "submission-tls-unavailable", secure=False) as client:
        assert "STARTTLS" in ehlo_features(client)
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            client.starttls(context=lab.client_context())
    expected = (454, b"4.7.0 TLS not available due to temporary reason")
    assert (refused.value.smtp_code, refused.value.smtp_error) == expected


@pytest.mark.parametrize("kind", CERTIFICATE_ERRORS)
@pytest.mark.parametrize("port_name", ["submission", "submissions"])
def test_bad_certificates_fail_verification(make_lab, kind, port_name):
    name = f"{port_name}-{kind}-cert"
    lab = make_lab(name)
    with pytest.raises(ssl.SSLCertVerificationError) as failed:
        connect(lab, name)
    assert CERTIFICATE_ERRORS[kind] in failed.value.verify_message
    assert lab.events.wait_for("tls-failed")
    assert "client rejected our certificate" in lab.events.text()


def test_wrong_host_certificate_works_by_its_name(make_lab):
    lab = make_lab("submissions-wrong-host-cert")
    port = lab["submissions-wrong-host-cert"].port
    with smtplib.SMTP_SSL("localhost", port, timeout=CLIENT_TIMEOUT, context=lab.client_context()) as client:
        assert client.noop()[0] == 250


def test_silent_port_times_out(make_lab):
    lab = make_lab("silent")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtplib.SMTP(*lab["silent"].address, timeout=0.3)


def test_closed_port_refuses_the_connection(make_lab):
    lab = make_lab("closed")
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(*lab["closed"].address, timeout=CLIENT_TIMEOUT)


def test_black_hole_port_times_out_while_connecting(make_lab):
    lab = make_lab("blackhole")
    with pytest.raises(TimeoutError):
        smtplib.SMTP(*lab["blackhole"].address, timeout=0.3)


def test_busy_server_greets_with_421(make_lab):
    lab = make_lab("busy")
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(*lab["busy"].address, timeout=CLIENT_TIMEOUT)
    assert refused.value.smtp_code == 421
    assert refused.value.smtp_error.startswith(b"4.7.0 mail.example.com Service not available")


def test_tls_handshake_aborted(make_lab):
    lab = make_lab("submissions-handshake-abort")
    # Python's ssl calls this EOF one or the other, by version (3.11.7: SSLEOFError; Debian's 3.11.2: ZeroReturn)
    with pytest.raises((ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        connect(lab, "submissions-handshake-abort")


def test_greylisting_refuses_first_then_accepts_a_later_retry(make_lab):
    import time

    lab = make_lab("greylisting")
    with connect(lab, "greylisting", secure=False) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(message(sender=OUTSIDER, to=ALICE))
    code, text = refused.value.recipients[ALICE]
    assert (code, text) == (451, f"4.7.1 <{ALICE}>: Recipient address rejected: Greylisted, try again later".encode())
    time.sleep(GREYLIST_DELAY)
    with connect(lab, "greylisting", secure=False) as client:
        assert client.send_message(message(sender=OUTSIDER, to=ALICE)) == {}


def test_repeated_bad_passwords_are_rate_limited_until_the_block_lifts(make_lab):
    import time

    lab = make_lab("rate-limited")
    for _ in range(MAX_FAILED_LOGINS):
        with connect(lab, "rate-limited") as client, pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(ALICE, "wrong")
    with connect(lab, "rate-limited") as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(ALICE, ALICE_PASSWORD)
    expected = (454, b"4.7.0 Too many login attempts, please try again later")
    assert (refused.value.smtp_code, refused.value.smtp_error) == expected
    time.sleep(LOGIN_BLOCK)
    with connect(lab, "rate-limited") as client:
        assert client.login(ALICE, ALICE_PASSWORD)[0] == 235


def test_slow_server_outlasts_a_short_timeout_but_not_a_patient_client(make_lab):
    lab = make_lab("slow")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtplib.SMTP(*lab["slow"].address, timeout=0.1)
    with smtplib.SMTP(*lab["slow"].address, timeout=CLIENT_TIMEOUT) as client:
        assert client.noop()[0] == 250


# -- fault injection ------------------------------------------------------------------------------


def submission_with(*faults: Fault) -> Profile:
    return Profile("faulty", acts_as=587, tls="starttls", auth=True, summary="test", faults=faults)


STEPS = [("ehlo", "EHLO me"), ("mail", f"MAIL FROM:<{ALICE}>"), ("rcpt", f"RCPT TO:<{BOB}>"), ("data", "DATA")]


@pytest.mark.parametrize("stage", [stage for stage, _ in STEPS])
def test_fault_reply_at_a_command_stage_only_the_first_time(make_lab, stage):
    lab = make_lab(submission_with(Fault(stage, reply="451 4.3.0 Try again", times=1)))
    with connect(lab, "faulty", secure=False) as client:
        for step, line in STEPS:
            if step == stage:
                assert client.docmd(line) == (451, b"4.3.0 Try again")
                assert client.docmd(line)[0] in (250, 354)
                if stage == "data":  # end the message, or the closing QUIT would be read as its text
                    client.send(b"\r\n.\r\n")
                    assert client.getreply()[0] == 250
                break
            client.docmd(line)
    assert f"refused    {stage.upper()}: 451 4.3.0 Try again" in lab.events.text()


def test_fault_at_auth_answers_before_the_mechanism_runs(make_lab):
    lab = make_lab(submission_with(Fault("auth", reply="454 4.7.0 Temporary authentication failure", times=1)))
    with connect(lab, "faulty") as client:
        client.ehlo()
        assert client.docmd("AUTH", "PLAIN") == (454, b"4.7.0 Temporary authentication failure")
        assert client.login(ALICE, ALICE_PASSWORD)[0] == 235


def test_fault_drop_at_mail_closes_the_connection(make_lab):
    lab = make_lab(submission_with(Fault("mail", drop=True)))
    with connect(lab, "faulty", secure=False) as client, pytest.raises(smtplib.SMTPServerDisconnected):
        client.ehlo()
        client.mail(ALICE)
    assert "dropped the connection at MAIL" in lab.events.text()


def test_fault_at_end_of_data_refuses_the_message(make_lab):
    lab = make_lab(submission_with(Fault("end_of_data", reply="451 4.3.0 Error: queue file write error")))
    with connect(lab, "faulty", secure=False) as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail(ALICE, [BOB], b"Subject: x\r\n\r\nbody\r\n")
    assert refused.value.smtp_code == 451
    assert len(lab.mailbox) == 0


def test_fault_delay_then_carry_on(make_lab):
    lab = make_lab(submission_with(Fault("ehlo", delay=0.2)))
    with connect(lab, "faulty", secure=False) as client:
        assert client.ehlo()[0] == 250
    assert "waited 0.2 s before answering EHLO" in lab.events.text()


def test_fault_and_profile_reject_what_does_not_exist():
    with pytest.raises(ValueError, match="unknown stage 'helo'"):
        Fault("helo", reply="500 no")
    with pytest.raises(ValueError, match="unknown certificate 'bad'; choose one of: valid, wrong-host"):
        Profile("odd", acts_as=465, tls="implicit", summary="test", certificate="bad")


# -- the event log and the mailbox ------------------------------------------------------------------


def test_event_log_tells_the_servers_side_of_a_conversation(lab):
    with connect(lab, "submission", secure=False) as client:
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.send_message(message())
        client.starttls(context=lab.client_context())
        client.login(ALICE, ALICE_PASSWORD)
        client.send_message(message())
    assert lab.events.wait_for("disconnect")
    assert [(e.kind, e.detail) for e in lab.events.last_session()] == [
        ("connect", "from 127.0.0.1"),
        ("refused", "MAIL: 530 5.7.0 Must issue a STARTTLS command first"),
        ("refused", "RSET: 530 5.7.0 Must issue a STARTTLS command first"),  # smtplib resets after a refusal
        ("tls", "TLSv1.3 after STARTTLS"),
        ("login", "alice@example.com (PLAIN)"),
        ("accepted", "MSG0001 from alice@example.com"),
        ("disconnect", ""),
    ]
    assert ALICE_PASSWORD not in lab.events.text()


def test_mailbox_keeps_raw_bytes_and_the_parsed_message(lab):
    with connect(lab, "submissions") as client:
        client.login(ALICE, ALICE_PASSWORD)
        client.send_message(message(subject="Grüße", body="Ünïcödé body\n"))
    stored = lab.mailbox[-1]
    assert stored.email["Subject"] == "Grüße"
    assert stored.email.get_content() == "Ünïcödé body\n"
    assert b"Subject: =?utf-8?" in stored.raw
    assert lab.mailbox.wait_for(1, timeout=0)


# -- garbage in, the lab keeps serving ------------------------------------------------------------


@pytest.mark.parametrize(
    "line, code",
    [
        (b"\x00\xff\xfe binary", b"500"),
        (b"FOO bar", b"500"),
        (b"RCPT TO:<a@example.com>", b"503"),
        (b"DATA", b"503"),
        (b"MAIL FROM:<" + b"a" * 5000 + b"@example.com>", b"500"),
        (b"EHLO " + b"x" * 100_000, b"500"),
    ],
)
def test_garbage_gets_an_error_reply_and_the_lab_keeps_serving(lab, line, code):
    with socket.create_connection(lab["relay"].address, timeout=CLIENT_TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"EHLO me\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        sock.sendall(line + b"\r\n")
        assert reader.readline()[:3] == code
    with connect(lab, "relay", secure=False) as client:
        assert client.send_message(message(sender=OUTSIDER, to=ALICE)) == {}


def test_a_command_line_longer_than_512_bytes_is_taken_as_postfix_takes_it(lab):
    # RFC 5321 section 4.5.3.1.4 sets 512 octets as the minimum a server must take; Postfix takes 2048.
    long_sender = "a" * (1100 - len("MAIL FROM:<@example.com>")) + "@example.com"
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        assert client.docmd("MAIL", f"FROM:<{long_sender}>") == (250, b"2.1.0 Ok")


# -- lifecycle ------------------------------------------------------------------------------------


def test_start_and_stop_are_idempotent_and_the_lab_is_a_context_manager():
    with Lab() as lab:
        assert lab.start() is lab
        port = lab["submission"].port
    lab.stop()
    assert not lab.running
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT)


def test_start_lab_replaces_the_lab_it_started_before():
    from helpers.lab import start_lab

    first = start_lab(ports={"submission": 0})
    second = start_lab()
    try:
        assert not first.running and second.running
    finally:
        second.stop()


def test_fixed_ports_and_a_busy_port(make_lab):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    lab = make_lab(ports={"submission": free_port})
    assert lab["submission"].port == free_port
    with pytest.raises(LabError, match=f"cannot listen on 127.0.0.1 port {free_port} for submission"):
        Lab(ports={"submission": free_port}).start()


def test_restarting_on_the_same_fixed_port_works():
    lab = Lab(ports={"relay": 0}).start()
    port = lab["relay"].port
    with connect(lab, "relay", secure=False) as client:
        client.noop()
    lab.stop()
    with Lab(ports={"relay": port}) as again:
        assert again["relay"].port == port


def test_only_loopback_and_known_profiles():
    with pytest.raises(LabError, match="loopback only"):
        Lab(host="0.0.0.0")
    with pytest.raises(LabError, match=r"give the lab an IP address \(127.0.0.1 or ::1\), not 'localhost'"):
        Lab(host="localhost")
    with pytest.raises(LabError, match="unknown profile 'nope'; choose one of: relay, submission, submissions"):
        Lab("nope")
    with pytest.raises(LabError, match="does not run: relay"):
        Lab("submission", ports={"relay": 2525})
    with pytest.raises(LabError, match="port 2525 is asked for both relay and submission"):
        Lab(ports={"relay": 2525, "submission": 2525})


def test_ipv6_loopback(make_lab):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    lab = make_lab(host="::1")
    context = ssl.create_default_context(cafile=lab.ca_file)
    with smtplib.SMTP_SSL("::1", lab["submissions"].port, timeout=CLIENT_TIMEOUT, context=context) as client:
        client.login(ALICE, ALICE_PASSWORD)


def test_the_ca_file_is_written_and_removed_on_stop(tmp_path):
    with Lab() as lab:
        temporary = lab.ca_file
        assert temporary.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert not temporary.exists()
    chosen = tmp_path / "certs" / "lab-ca.pem"
    with Lab(ca_file=chosen) as lab:
        assert lab.ca_file == chosen
    assert chosen.exists()  # the file the user asked for stays for their own client


def not_a_lab_ca() -> dict[str, bytes]:
    """Files a reader might name as the lab's CA file by mistake, each with a reason the lab must not write over it."""
    earlier = LabCertificates().ca_pem
    another_ca = trustme.CA(organization_name="Company", organization_unit_name="Company CA").cert_pem.bytes()
    return {
        "a CA bundle": another_ca + earlier,  # the lab's among others, as the system's bundle might hold it
        "another CA": another_ca,
        "a lab CA with notes after it": earlier + b"\nnotes: the CA my client trusts\n",
        "notes": b"the CA my client trusts\n",
        "an empty file": b"",
    }


@pytest.mark.parametrize("kind", not_a_lab_ca())
@pytest.mark.parametrize("how", [Lab, start_lab], ids=["Lab", "start_lab"])
def test_a_file_that_is_not_a_lab_ca_is_never_written_over(tmp_path, kind, how):
    path = tmp_path / "ca.pem"
    path.write_bytes(not_a_lab_ca()[kind])
    before = path.read_bytes()
    with pytest.raises(LabError) as refused:
        how("submissions", ca_file=path).start()
    assert str(refused.value) == (f"will not write over {path}: it is no CA file a lab wrote. The lab writes its CA "
                                  "there for your client to trust; give a path where no file is yet")
    assert path.read_bytes() == before


def test_an_earlier_labs_ca_file_is_written_over_with_the_new_ca(tmp_path):
    path = tmp_path / "lab-ca.pem"
    with Lab("submissions", ca_file=path):
        earlier = path.read_bytes()
    with Lab("submissions", ca_file=path) as lab:
        assert path.read_bytes() != earlier
        context = ssl.create_default_context(cafile=path)
        with smtplib.SMTP_SSL("127.0.0.1", lab["submissions"].port, context=context, timeout=CLIENT_TIMEOUT) as client:
            client.login(ALICE, ALICE_PASSWORD)


def test_every_profile_can_be_served_at_once():
    with Lab(*PROFILES) as lab:
        assert set(lab.endpoints) == set(PROFILES)
        assert all(e.host == "127.0.0.1" for e in lab.endpoints.values())


@pytest.mark.parametrize("name", ["not-smtp", "tls-not-smtp"])
def test_a_server_that_is_not_smtp(make_lab, name):
    lab = make_lab(name)
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        connect(lab, name)
    assert refused.value.smtp_code == -1  # smtplib's code for a reply that does not start with a number
    assert refused.value.smtp_error == b"/1.1 400 Bad Request"  # smtplib cut "HTTP" off as if it were a code


def test_strict_from_refuses_a_from_header_whose_address_is_a_host_name(make_lab):
    lab = make_lab("submission-strict-from")
    raw = b"From: alice@example.com <smtp.example.com>\r\nTo: bob@example.com\r\nSubject: swapped\r\n\r\nhi\r\n"
    with connect(lab, "submission-strict-from") as client, pytest.raises(smtplib.SMTPDataError) as refused:
        client.login(ALICE, ALICE_PASSWORD)
        client.sendmail(ALICE, [BOB], raw)
    assert b"Your FROM address ( smtp.example.com , ) must match" in refused.value.smtp_error


# -- replies as a real server gives them (Postfix 3.7 is the reference) -----------------------------

ENHANCED_CODE = re.compile(rb"^([245])\.\d{1,3}\.\d{1,3} ")
PLAIN_BLOB = base64.b64encode(f"\0{ALICE}\0{ALICE_PASSWORD}".encode()).decode()


def carries_enhanced_code(code: int, text: bytes) -> bool:
    """RFC 2034 section 3: every 2xx, 4xx and 5xx reply begins with an enhanced code of the same class."""
    match = ENHANCED_CODE.match(text)
    return bool(match) and match.group(1) == str(code)[0].encode()


@pytest.mark.parametrize(
    "name, secure, expected",
    [
        ("relay", False, ["PIPELINING", "SIZE", "VRFY", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]),
        ("relay", True, ["PIPELINING", "SIZE", "VRFY", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]),
        ("submission", False, ["PIPELINING", "SIZE", "VRFY", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME",
                               "SMTPUTF8"]),
        ("submission", True, ["PIPELINING", "SIZE", "VRFY", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]),
        ("submissions", True, ["PIPELINING", "SIZE", "VRFY", "AUTH", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8"]),
    ],
)
def test_ehlo_lists_what_the_lab_does_in_postfix_order(lab, name, secure, expected):
    with connect(lab, name, secure=secure) as client:
        client.ehlo()
        assert [line.split()[0] for line in client.ehlo_resp.decode().splitlines()[1:]] == expected
        assert client.docmd("HELP") == (500, b"5.5.2 Error: command not recognized")


def test_every_reply_carries_an_enhanced_status_code(lab):
    replies = []
    with connect(lab, "submission", secure=False) as client:
        client.ehlo()
        for command in ("FOO bar", "HELP", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.com>", "DATA",
                        "VRFY bob@example.com", "RSET", "AUTH PLAIN " + PLAIN_BLOB, "NOOP"):
            replies.append(client.docmd(command))
        client.starttls(context=lab.client_context())
        client.ehlo()
        for command in ("DATA", "STARTTLS", "AUTH PLAIN " + PLAIN_BLOB, "AUTH PLAIN " + PLAIN_BLOB,
                        "MAIL FROM:<alice@example.com> SIZE=x", "MAIL FROM:<alice@example.com>",
                        "RCPT TO:<a@[", "DATA", "RSET", "MAIL FROM:<a@[", "VRFY <", "EXPN x",
                        "RCPT TO:<bob@example.com>", "QUIT"):
            replies.append(client.docmd(command))
    assert replies[-1] == (221, b"2.0.0 Bye")
    assert [reply for reply in replies if not carries_enhanced_code(*reply)] == []


def test_auth_before_starttls_on_587_and_any_auth_on_the_relay(lab):
    with connect(lab, "submission", secure=False) as client:
        client.ehlo()
        assert client.docmd("AUTH", "PLAIN " + PLAIN_BLOB) == STARTTLS_FIRST  # Go sends it to localhost
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        assert client.docmd("AUTH", "PLAIN " + PLAIN_BLOB) == (503, b"5.5.1 Error: authentication not enabled")


@pytest.mark.parametrize("command", ["RCPT TO:<bob@example.com>", "DATA", "VRFY bob@example.com", "RSET",
                                     "AUTH LOGIN", "MAIL FROM:<alice@example.com>"])
def test_587_answers_every_command_but_a_few_with_starttls_first(lab, command):
    # RFC 3207 section 4; Postfix lets EHLO, HELO, STARTTLS, NOOP and QUIT through.
    with connect(lab, "submission", secure=False) as client:
        assert client.docmd("HELO", "client.example.com")[0] == 250
        assert client.docmd(command) == STARTTLS_FIRST
        assert client.noop() == (250, b"2.0.0 Ok")


def test_starttls_where_it_is_not_offered_and_inside_tls(make_lab):
    lab = make_lab("submission-no-starttls", "submission", "submissions")
    with connect(lab, "submission-no-starttls", secure=False) as client:
        client.ehlo()
        assert client.docmd("STARTTLS") == (502, b"5.5.1 Error: command not implemented")
    for name in ("submission", "submissions"):  # after STARTTLS, and TLS from the first byte
        with connect(lab, name) as client:
            client.ehlo()
            assert client.docmd("STARTTLS") == (554, b"5.5.1 Error: TLS already active")
            assert client.noop()[0] == 250


@pytest.mark.parametrize(
    "address",
    ["<Alice Example <alice@example.com>>", "<not an address", "<a@[", "<a@[1.2.3.4", "<a@[999.1.1.1]>",
     "Alice <alice@example.com>", "<alice@example.com", "<@example.com>", "<alice@>", "<alice@example..com>",
     '<"unterminated@example.com>'],
)
def test_a_malformed_envelope_address_is_a_syntax_error(lab, address):
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        assert client.docmd("MAIL", f"FROM:{address}") == (501, b"5.1.7 Bad sender address syntax")
        assert client.docmd("MAIL", f"FROM:<{OUTSIDER}>") == (250, b"2.1.0 Ok")
        assert client.docmd("RCPT", f"TO:{address}") == (501, b"5.1.3 Bad recipient address syntax")


@pytest.mark.parametrize(
    "sender, recipient",
    [("<>", f"<{ALICE}>"), (OUTSIDER, ALICE), ("<a@[127.0.0.1]>", f"<@relay.example.net:{ALICE}>"),
     ('<"two words"@example.net>', "<Postmaster>"), ("<a@[IPv6:::1]>", f"<{ALICE.upper()}>")],
)
def test_envelope_addresses_that_are_fine(lab, sender, recipient):
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        assert client.docmd("MAIL", f"FROM:{sender}") == (250, b"2.1.0 Ok")
        assert client.docmd("RCPT", f"TO:{recipient}") == (250, b"2.1.5 Ok")


@pytest.mark.parametrize(
    "parameters, reply",
    [("SIZE=²", (501, b"5.5.4 Bad message size syntax")),
     ("SIZE=", (501, b"5.5.4 Bad message size syntax")),
     (f"SIZE={MAX_MESSAGE_SIZE + 1}", TOO_BIG),
     ("RET=HDRS", (555, b"5.5.4 Unsupported option: RET=HDRS")),
     ("BODY=BINARYMIME", (555, b"5.5.4 Unsupported option: BODY=BINARYMIME")),
     (f"SIZE={MAX_MESSAGE_SIZE} BODY=8BITMIME SMTPUTF8", (250, b"2.1.0 Ok"))],
)
def test_mail_parameters(lab, parameters, reply):
    with connect(lab, "relay", secure=False) as sock:
        sock.ehlo()
        sock.send(f"MAIL FROM:<{OUTSIDER}> {parameters}\r\n".encode())
        assert sock.getreply() == reply


def test_syntax_errors_name_the_syntax(lab):
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        assert client.docmd("MAIL", "TO:<a@example.net>") == (501, b"5.5.4 Syntax: MAIL FROM:<address>")
        assert client.docmd("RCPT", f"TO:<{ALICE}>") == (503, b"5.5.1 Error: need MAIL command")
        assert client.docmd("DATA") == (503, b"5.5.1 Error: need RCPT command")
        assert client.docmd("MAIL", f"FROM:<{OUTSIDER}>")[0] == 250
        assert client.docmd("MAIL", f"FROM:<{OUTSIDER}>") == (503, b"5.5.1 Error: nested MAIL command")
        assert client.docmd("RCPT", "FROM:<a@example.com>") == (501, b"5.5.4 Syntax: RCPT TO:<address>")
        assert client.docmd("RCPT", f"TO:<{OUTSIDER}>")[0] == RELAY_DENIED
        assert client.docmd("DATA") == (554, b"5.5.1 Error: no valid recipients")
        assert client.docmd("RSET", "now") == (501, b"5.5.4 Syntax: RSET")
        assert client.docmd("VRFY") == (501, b"5.5.4 Syntax: VRFY address [SMTPUTF8]")
        assert client.docmd("VRFY", "<") == (501, b"5.1.3 Bad recipient address syntax")
        assert client.docmd("VRFY", ALICE) == (252, f"2.0.0 {ALICE}".encode())


def test_auth_replies(lab):
    with connect(lab, "submissions") as client:
        client.ehlo()
        assert client.docmd("AUTH") == (501, b"5.5.4 Syntax: AUTH mechanism")
        assert client.docmd("AUTH", "CRAM-MD5") == (504, b"5.5.4 Unrecognized authentication type")
        # The SASL LOGIN prompts, base64 of "Username:" and "Password:"
        assert client.docmd("AUTH", "LOGIN") == (334, b"VXNlcm5hbWU6")
        assert client.docmd(base64.b64encode(ALICE.encode()).decode()) == (334, b"UGFzc3dvcmQ6")
        assert client.docmd("*") == (501, b"5.7.0 Authentication aborted")
        assert client.docmd("AUTH", "PLAIN") == (334, b"")
        assert client.docmd("A" * 20_000) == (500, b"5.5.6 SASL response limit exceeded")
        assert client.docmd("AUTH", "PLAIN !!!") == (501, b"5.5.2 Can't decode base64")
        assert client.docmd("AUTH", "PLAIN " + PLAIN_BLOB) == (235, b"2.7.0 Authentication successful")
        assert client.docmd("AUTH", "PLAIN " + PLAIN_BLOB) == (503, b"5.5.1 Error: already authenticated")
        assert client.docmd("MAIL", f"FROM:<{ALICE}>")[0] == 250
        assert client.docmd("AUTH", "PLAIN") == (503, b"5.5.1 Error: MAIL transaction in progress")


def test_helo_is_enough_and_not_even_needed(lab):
    # Postfix: smtpd_helo_required = no, and AUTH after HELO (not only EHLO) is taken.
    with connect(lab, "relay", secure=False) as client:
        assert client.docmd("MAIL", f"FROM:<{OUTSIDER}>") == (250, b"2.1.0 Ok")
        assert client.docmd("RCPT", f"TO:<{ALICE}>") == (250, b"2.1.5 Ok")
    with connect(lab, "submissions") as client:
        assert client.helo("client.example.com") == (250, b"mail.example.com")
        assert client.docmd("AUTH", "PLAIN " + PLAIN_BLOB) == (235, b"2.7.0 Authentication successful")


def test_a_user_added_to_the_lab_can_log_in(lab):
    lab.users["carol@example.com"] = "carol-lab-password"
    with connect(lab, "submission") as client:
        assert client.login("carol@example.com", "carol-lab-password")[0] == 235
        assert client.send_message(message(sender="carol@example.com")) == {}


def test_more_recipients_than_the_limit_get_452(lab):
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        client.docmd("MAIL", f"FROM:<{OUTSIDER}>")
        client.send(b"".join(b"RCPT TO:<user%d@example.com>\r\n" % n for n in range(MAX_RECIPIENTS + 1)))
        replies = [client.getreply() for _ in range(MAX_RECIPIENTS + 1)]
        assert replies[:-1] == [(250, b"2.1.5 Ok")] * MAX_RECIPIENTS
        assert replies[-1] == (452, b"4.5.3 Error: too many recipients")
        assert client.docmd("DATA") == (354, b"End data with <CR><LF>.<CR><LF>")
        client.send(b"Subject: many\r\n\r\nhi\r\n.\r\nNOOP\r\n")  # a command pipelined behind the message
        assert client.getreply()[0] == 250
        assert client.getreply() == (250, b"2.0.0 Ok")
    assert len(lab.mailbox[-1].rcpt_tos) == MAX_RECIPIENTS


def test_a_non_ascii_address_where_smtputf8_is_not_offered(make_lab):
    lab = make_lab("submission-no-smtputf8")
    with connect(lab, "submission-no-smtputf8") as client:
        client.login(ALICE, ALICE_PASSWORD)
        client.docmd("MAIL", f"FROM:<{ALICE}>")
        client.send("RCPT TO:<jörg@example.com>\r\n".encode())  # what Go and nodemailer send
        assert client.getreply() == (553, b"5.6.7 Must declare SMTPUTF8 to send unicode address")
        client.rset()
        assert client.docmd("MAIL", f"FROM:<{ALICE}> SMTPUTF8") == (555, b"5.5.4 Unsupported option: SMTPUTF8")


@pytest.mark.parametrize("name", ["submission", "submissions"])
def test_idle_connections_are_told_421_before_the_close(make_lab, name):
    lab = make_lab(name, idle_timeout=0.5)
    sock = socket.create_connection(lab[name].address, timeout=CLIENT_TIMEOUT)
    if name == "submissions":
        sock = lab.client_context().wrap_socket(sock, server_hostname="127.0.0.1")
    with sock, sock.makefile("rb") as reader:
        assert reader.readline().startswith(b"220 ")
        assert reader.readline() == b"421 4.4.2 mail.example.com Error: timeout exceeded\r\n"
        assert reader.readline() == b""
    assert lab.events.wait_for("disconnect")
    assert [(e.kind, e.detail) for e in lab.events.last_session()][-2:] == [
        ("timeout", "no command for 0.5 s: 421 4.4.2 mail.example.com Error: timeout exceeded"),
        ("disconnect", ""),
    ]


# -- message content: what Postfix takes, what the strict endpoint refuses --------------------------

LONG_LINE = b"x" * 1507
CONTENT = [
    (b"Subject: long\r\n\r\n" + LONG_LINE + b"\r\n", b"Subject: long\r\n\r\n" + LONG_LINE + b"\r\n"),
    # smtplib ends a message that does not end in CR LF with one more
    (b"Subject: bare\n\nline one\nline two", b"Subject: bare\r\n\r\nline one\r\nline two\r\n"),
    (b"Subject: dots\r\n\r\n.leading dot\n.\n.\r\nend\r\n", b"Subject: dots\r\n\r\n.leading dot\r\n.\r\n.\r\nend\r\n"),
]


@pytest.mark.parametrize("sent, stored", CONTENT, ids=["long-line", "bare-lf", "dots"])
def test_standard_endpoints_take_long_lines_and_bare_line_feeds_as_postfix_does(lab, sent, stored):
    with connect(lab, "submission") as client:
        client.login(ALICE, ALICE_PASSWORD)
        assert client.sendmail(ALICE, [BOB], sent) == {}  # raw bytes, as Go, curl -T and swaks --data send them
    assert lab.mailbox[-1].raw == stored


def test_a_lone_dot_after_a_bare_line_feed_does_not_end_the_message(lab):
    # The SMTP smuggling pattern of 2023: only CR LF . CR LF ends a message, so nothing is smuggled.
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        client.docmd("MAIL", f"FROM:<{OUTSIDER}>")
        client.docmd("RCPT", f"TO:<{ALICE}>")
        assert client.docmd("DATA")[0] == 354
        client.send(b"Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.net>\r\n.\r\n")
        assert client.getreply()[0] == 250
        assert client.noop()[0] == 250
    assert [m.raw for m in lab.mailbox] == [b"Subject: one\r\n\r\nfirst\r\nMAIL FROM:<evil@example.net>\r\n"]


def test_the_strict_endpoint_refuses_long_lines_and_bare_line_feeds(make_lab):
    lab = make_lab("submission-strict-lines")
    refusals = []
    with connect(lab, "submission-strict-lines") as client:
        client.login(ALICE, ALICE_PASSWORD)
        for sent, _ in CONTENT[:2]:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail(ALICE, [BOB], sent)
            refusals.append((refused.value.smtp_code, refused.value.smtp_error))
        assert client.sendmail(ALICE, [BOB], b"Subject: fine\r\n\r\n" + b"x" * 998 + b"\r\n") == {}
    assert refusals == [
        (500, b"5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"),
        (550, b"5.5.2 mail.example.com Error: bare <LF> received"),  # Postfix smtpd_forbid_bare_newline = reject
    ]
    assert [m.email["Subject"] for m in lab.mailbox] == ["fine"]



def postfix_reading(data: bytes) -> tuple[Received, bytes]:
    """What follows DATA, read line by line as Postfix does with smtpd_forbid_bare_newline = normalize:
    the message, and the bytes after its end."""
    lines, previous_crlf, bare, position = [], True, False, 0
    while True:
        end = data.index(b"\n", position) + 1
        line, position = data[position:end], end
        crlf = line.endswith(b"\r\n")
        text = line[:-2] if crlf else line[:-1]
        if text == b"." and crlf and previous_crlf:
            longest = max((len(line) - 2 for line in lines), default=0)
            return Received(b"".join(lines), bare, longest), data[position:]
        if text != b".":
            lines.append(text.removeprefix(b".") + b"\r\n")
        bare = bare or not crlf
        previous_crlf = crlf


@pytest.mark.parametrize("seed", range(30))
def test_a_message_reads_the_same_however_it_is_cut_into_packets(seed):
    rng = random.Random(seed)
    pieces = [b"a", b".", b"\r", b"\n", b"\r\n", b".\r\n", b"\n.\n", b"x" * rng.choice([10, 999, 70_000])]
    data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 300))) + b"\r\n.\r\nNOOP\r\n"
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 40))))
    packets = [data[start:end] for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    reader, fed = DataReader(MAX_MESSAGE_SIZE), 0
    while (after := reader.feed(packets[fed])) is None:
        fed += 1
    after += b"".join(packets[fed + 1:])  # what the stream still holds
    assert (reader.received(), after) == postfix_reading(data)
