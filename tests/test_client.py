"""send(): safe by default, every failure comes back as a result with its transcript."""

from __future__ import annotations

import email.message
import smtplib
import socket
import ssl

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB, OUTSIDER, message

from helpers.client import EHLO_NAME, send


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
        ({"user": ALICE}, "give both user and password, or neither"),
        ({"mail_from": "smtp.example.com"}, "'smtp.example.com' is not an email address: it needs a local part, an @"),
        ({"rcpt_to": ["bob @example.com"]}, "spaces, angle brackets"),
        ({"message": "Subject: hi\r\n\r\nbody"}, "not a str"),
        ({"message": b"Subject: hi\r\n\r\nbody"}, "needs mail_from= and rcpt_to="),
    ],
)
def test_bad_input_is_a_clear_error_before_connecting(submission_lab, kwargs, says):
    arguments = {"message": message(), "endpoint": submission_lab["submissions"], **kwargs}
    with pytest.raises(ValueError, match=None) as error:
        send(arguments.pop("message"), arguments.pop("endpoint"), **arguments)
    assert says in str(error.value)
    assert len(submission_lab.events) == 0


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
