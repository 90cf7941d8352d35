"""send(): safe by default, every failure comes back as a result with its transcript."""

from __future__ import annotations

import dataclasses
import email.message
import smtplib
import socket
import ssl
import threading

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB, CLIENT_TIMEOUT, OUTSIDER, message
from servers import peer, trickles

from helpers.client import EHLO_NAME, send
from helpers.lab import Lab
from helpers.preflight import MAX_TIMEOUT


@pytest.fixture
def submission_lab(make_lab):
    return make_lab("relay", "submission", "submissions", "submission-no-starttls", "submission-no-smtputf8",
                    "submissions-untrusted-cert", "silent")


def login(lab) -> dict:
    return {"user": ALICE, "password": ALICE_PASSWORD, "ca_file": lab.ca_file}


@pytest.mark.parametrize("name, acts_as, mode", [("submission", 587, "starttls"), ("submissions", 465, "implicit")])
def test_auto_security_picks_the_mode_from_the_port_and_the_message_arrives(submission_lab, name, acts_as, mode):
    result = send(message(), submission_lab[name], **login(submission_lab))
    assert (result.ok, result.security, result.accepted, result.refused) == (True, mode, [BOB], {})
    assert result.transcript.tls_version == "TLSv1.3"
    assert str(result) == f"sent via {name} (port {acts_as}) over TLSv1.3: accepted {BOB}"
    stored = submission_lab.mailbox[-1]
    assert (stored.endpoint, stored.login, stored.rcpt_tos) == (name, ALICE, (BOB,))
    assert f"EHLO {EHLO_NAME}".lower() in result.transcript.text().lower()


def test_relay_without_credentials(submission_lab):
    result = send(message(sender=OUTSIDER, to=ALICE), submission_lab["relay"], ca_file=submission_lab.ca_file)
    assert result.ok and result.security == "starttls" and result.accepted == [ALICE]


def test_some_recipients_refused_is_a_partial_success(submission_lab):
    msg = message(sender=OUTSIDER, to=f"{ALICE}, {OUTSIDER}")
    result = send(msg, submission_lab["relay"], ca_file=submission_lab.ca_file)
    assert result.ok and result.accepted == [ALICE]
    assert result.refused == {OUTSIDER: (554, f"5.7.1 <{OUTSIDER}>: Relay access denied")}
    assert "refused someone@example.net" in str(result)


def test_every_recipient_refused_is_a_failure_at_rcpt(submission_lab):
    result = send(message(to=OUTSIDER), submission_lab["relay"], ca_file=submission_lab.ca_file)
    assert not result.ok and result.phase == "rcpt"
    assert isinstance(result.error, smtplib.SMTPRecipientsRefused)
    assert result.refused == {OUTSIDER: (554, f"5.7.1 <{OUTSIDER}>: Relay access denied")}
    assert result.accepted == []


def test_check_raises_the_original_exception(submission_lab):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send(message(), submission_lab["submissions"], user=ALICE, password="wrong", ca_file=submission_lab.ca_file,
             check=True)
    result = send(message(), submission_lab["submissions"], user=ALICE, password="wrong",
                  ca_file=submission_lab.ca_file)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        result.check()
    assert result.phase == "auth"


def test_certificates_are_verified_by_default(submission_lab):
    untrusted = send(message(), submission_lab["submissions-untrusted-cert"], **login(submission_lab))
    assert isinstance(untrusted.error, ssl.SSLCertVerificationError) and untrusted.phase == "tls"
    # Without ca_file the system trust store is used, and it has never heard of the lab CA.
    system_trust = send(message(), submission_lab["submissions"], user=ALICE, password=ALICE_PASSWORD)
    assert isinstance(system_trust.error, ssl.SSLCertVerificationError)
    assert len(submission_lab.mailbox) == 0


def test_a_given_context_is_used(submission_lab):
    result = send(message(), submission_lab["submissions"], user=ALICE, password=ALICE_PASSWORD,
                  context=submission_lab.client_context())
    assert result.ok


def test_starttls_is_required_never_skipped(submission_lab):
    result = send(message(), submission_lab["submission-no-starttls"], **login(submission_lab))
    assert isinstance(result.error, smtplib.SMTPNotSupportedError)
    assert str(result.error) == "STARTTLS extension not supported by server."
    assert result.phase == "starttls"
    assert "-> AUTH" not in result.transcript.text()  # the password never left
    assert len(submission_lab.mailbox) == 0


def test_password_over_plaintext_is_refused_before_connecting(submission_lab):
    with pytest.raises(ValueError, match="refusing to send a password over an unencrypted connection"):
        send(message(), submission_lab["submission-no-starttls"], security="none", **login(submission_lab))
    assert len(submission_lab.events) == 0


def test_password_over_plaintext_when_explicitly_allowed(submission_lab):
    # A demonstration of what the default protects against: this password crossed the wire readable.
    result = send(message(), submission_lab["submission-no-starttls"], security="none", allow_plaintext_auth=True,
                  **login(submission_lab))
    assert result.ok and result.transcript.tls_version is None
    assert " -> AUTH PLAIN ********" in result.transcript.text()


def test_implicit_tls_on_a_starttls_port_and_plaintext_on_a_tls_port(submission_lab):
    wrong_version = send(message(), submission_lab["submission"], security="implicit", **login(submission_lab))
    assert isinstance(wrong_version.error, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(wrong_version.error)
    closed = send(message(), submission_lab["submissions"], security="starttls", **login(submission_lab))
    assert isinstance(closed.error, smtplib.SMTPServerDisconnected) and closed.phase == "greeting"


def test_every_network_step_is_bounded(submission_lab):
    result = send(message(), submission_lab["silent"], timeout=0.2, ca_file=submission_lab.ca_file)
    assert isinstance(result.error, smtplib.SMTPServerDisconnected) and "timed out" in str(result.error)
    assert result.phase == "greeting"


def test_non_ascii_addresses_need_smtputf8(submission_lab):
    msg = message(sender=ALICE, to="jörg@example.com")
    ok = send(msg, submission_lab["submission"], **login(submission_lab))
    assert ok.ok and submission_lab.mailbox[-1].rcpt_tos == ("jörg@example.com",)
    refused = send(msg, submission_lab["submission-no-smtputf8"], **login(submission_lab))
    assert isinstance(refused.error, smtplib.SMTPNotSupportedError)
    assert "SMTPUTF8" in str(refused.error)


def test_raw_bytes_with_an_envelope(submission_lab):
    raw = b"From: alice@example.com\r\nTo: bob@example.com\r\nSubject: raw\r\n\r\nhello\r\n"
    result = send(raw, submission_lab["submissions"], mail_from=ALICE, rcpt_to=[BOB], **login(submission_lab))
    assert result.ok and submission_lab.mailbox[-1].email["Subject"] == "raw"


# -- mistakes caught before anything is sent ------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, says",
    [
        ({"security": "tls"}, "unknown security mode 'tls'; choose one of: auto, starttls, implicit, none"),
        ({"endpoint": ("127.0.0.1", 70000)}, "port 70000 is out of range"),
        ({"endpoint": ("127.0.0.1", 0)}, "port 0 is out of range"),
        ({"endpoint": "smtp.example.com"}, "should look like 'host:port'"),
        ({"endpoint": "127.0.0.1:²"}, "should look like 'host:port'"),  # a digit to str.isdigit(), not to int()
        ({"timeout": 0}, "timeout 0 should be a number of seconds above 0"),
        ({"timeout": -1}, "timeout -1 should be a number of seconds above 0"),
        ({"timeout": float("nan")}, "timeout nan should be a number of seconds"),
        ({"timeout": float("inf")}, "timeout inf should be a number of seconds"),
        ({"timeout": 1e10}, f"should be a number of seconds above 0 and at most {MAX_TIMEOUT:g}"),
        ({"user": ALICE, "password": "s3cret-pässword"}, "smtplib sends user names and passwords in ASCII only"),
        ({"user": "jörg@example.com", "password": ALICE_PASSWORD}, "RFC 4616 section 2"),
        ({"ca_file": "/nonexistent/ca.pem"}, "cannot use the CA file /nonexistent/ca.pem"),
        ({"user": ALICE, "password": None}, "give both user and password, or neither"),
        ({"mail_from": "smtp.example.com"}, "'smtp.example.com' is not an email address: it needs a local part, an @"),
        ({"rcpt_to": ["bob @example.com"]}, "spaces, angle brackets"),
        ({"message": "Subject: hi\r\n\r\nbody"}, "not a str"),
        ({"message": b"Subject: hi\r\n\r\nbody"}, "needs mail_from= and rcpt_to="),
    ],
)
def test_bad_input_is_a_clear_error_before_connecting(submission_lab, kwargs, says):
    arguments = {"message": message(), "endpoint": submission_lab["submissions"], **login(submission_lab), **kwargs}
    with pytest.raises(ValueError, match=None) as error:
        send(arguments.pop("message"), arguments.pop("endpoint"), **arguments)
    assert says in str(error.value)
    assert "pässword" not in str(error.value) and "\\xe4" not in str(error.value)
    assert len(submission_lab.events) == 0


def test_an_endpoint_is_anything_with_a_host_a_port_and_the_port_it_acts_as(submission_lab):
    @dataclasses.dataclass
    class Forwarded:  # say, a provider's 465 reached through a local tunnel
        host: str
        port: int
        acts_as: int = 465
        label: str = "tunnel to 465"

    real = submission_lab["submissions"]
    result = send(message(), Forwarded(real.host, real.port), **login(submission_lab))
    assert result.ok and result.security == "implicit" and str(result).startswith("sent via tunnel to 465 over")
    with pytest.raises(TypeError, match="cannot send to a int: give a lab endpoint"):
        send(message(), 465, **login(submission_lab))


def test_header_injection_is_refused(submission_lab):
    msg = email.message.Message()  # the old API lets a line break into a header; EmailMessage would refuse it
    msg["From"] = ALICE
    msg["To"] = BOB
    msg["Subject"] = "Hello\r\nBcc: everyone@example.net"
    with pytest.raises(ValueError, match="the Subject: header contains a line break"):
        send(msg, submission_lab["submissions"], **login(submission_lab))


def test_a_message_without_from_needs_an_envelope_sender(submission_lab):
    msg = message()
    del msg["From"]
    with pytest.raises(ValueError, match="no From: header and no mail_from="):
        send(msg, submission_lab["submissions"], **login(submission_lab))


def test_an_unresolvable_host_is_named(submission_lab, monkeypatch):
    # No DNS query may leave this machine, so the resolver's answer is simulated.
    def no_such_host(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(ValueError, match="cannot resolve host 'smtp.exmaple.com' .*check the spelling"):
        send(message(), ("smtp.exmaple.com", 465))


def test_an_address_header_built_with_string_formatting_is_refused(submission_lab):
    msg = message()
    msg.replace_header("From", "alice@example.com <smtp.example.com>")  # swapped, as the case study did
    with pytest.raises(ValueError, match=r"the From: header is not a list of addresses \(invalid address in"):
        send(msg, submission_lab["submissions"], **login(submission_lab))
    old_style = email.message.Message()
    old_style["From"], old_style["To"] = "alice@example.com <smtp.example.com>", BOB
    with pytest.raises(ValueError, match=r"From: header .*'smtp.example.com' is not an email address"):
        send(old_style, submission_lab["submissions"], **login(submission_lab))


def test_a_temporary_resolver_failure_is_not_called_a_spelling_mistake(monkeypatch):
    def resolver_down(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", resolver_down)
    with pytest.raises(ValueError, match="could not answer just now") as error:
        send(message(), ("smtp.example.com", 465))
    assert "spelling" not in str(error.value)


def test_an_invalid_name_fails_without_asking_dns(monkeypatch):
    def no_dns(host, *args, **kwargs):
        raise AssertionError(f"asked the resolver about {host}")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ValueError, match=r"cannot resolve host 'smtp\.example\.invalid': .*RFC 6761 section 6\.4"):
        send(message(), ("smtp.example.invalid", 465))


# -- timeouts, trust and errors ---------------------------------------------------------------------


def send_within(limit: float, *args, **kwargs):
    """send() in a thread, given `limit` seconds to come back: a hang fails the test instead of holding it."""
    results = []
    worker = threading.Thread(target=lambda: results.append(send(*args, **kwargs)), daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"send() still running after {limit} s"
    return results[0]


@pytest.mark.parametrize("behave", [
    trickles(b"2" * 200, every=0.1),  # a reply that never ends its line: 20 s of it
    trickles(b"220 a greeting sent one byte every tenth of a second\r\n" * 4, every=0.1),
], ids=["endless-line", "slow-greeting"])
def test_the_timeout_is_a_deadline_for_the_whole_send_not_for_each_read(behave):
    # Each byte arrives well within the timeout, so a per-read timeout would never fire (hostile-clients D9).
    with peer(behave) as port:
        result = send_within(CLIENT_TIMEOUT, message(), ("127.0.0.1", port), security="none", timeout=0.5)
    assert isinstance(result.error, smtplib.SMTPServerDisconnected)
    assert str(result.error) == "Connection unexpectedly closed: timed out"
    assert result.phase == "greeting"


def test_a_ca_file_rewritten_at_the_same_path_is_read_afresh(tmp_path):
    # Re-running start_lab(ca_file=...) writes a new CA where the old one was (hostile-clients D6).
    path = tmp_path / "lab-ca.pem"
    with Lab("submissions", ca_file=path) as first:
        assert send(message(), first["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=path).ok
        with Lab("submissions", ca_file=path) as second:
            new_trust = send(message(), second["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=path)
            stale_trust = send(message(), first["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=path)
    assert new_trust.ok
    assert isinstance(stale_trust.error, ssl.SSLCertVerificationError)  # the old CA is trusted no more


def test_a_programming_error_is_raised_not_returned_as_a_failed_send(submission_lab):
    with pytest.raises(AttributeError, match="wrap_socket"):
        send(message(), submission_lab["submissions"], user=ALICE, password=ALICE_PASSWORD, context=object())
    assert submission_lab.events.wait_for("connect")  # it connected: this was no check made beforehand
