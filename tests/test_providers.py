"""The provider personas (helpers.providers) and OAuth 2.0 (helpers.oauth), with smtplib against the lab:
each greets, offers and refuses as its provider does, and a token logs in where it should and nowhere else."""

from __future__ import annotations

import base64
import datetime
import json
import smtplib
import ssl
import warnings

import pytest
from conftest import ALICE, BOB, CLIENT_TIMEOUT, message

from helpers.diagnose import diagnose
from helpers.lab import Lab
from helpers.oauth import GMAIL_SCOPE, M365_SCOPE, TokenIssuer, TokenProblem, oauthbearer, xoauth2
from helpers.profiles import APP_PASSWORDS, SEND_AS, USERS
from helpers.providers import (
    GMAIL_APP_PASSWORD_REQUIRED,
    GMAIL_AUTH_REQUIRED,
    GMAIL_BAD_CREDENTIALS,
    GMAIL_DAILY_LIMIT,
    GMAIL_STARTTLS_FIRST,
    GMAIL_XOAUTH2_ERROR,
    M365_AUTH_UNSUCCESSFUL,
    M365_BASIC_AUTH_DISABLED,
    M365_LEGACY_TLS_REFUSED,
    M365_NOT_AUTHENTICATED,
    M365_SEND_AS_DENIED,
    PERSONAS,
    BasicAuthRetirement,
    recognise,
)
from helpers.transcript import record

BEFORE, AFTER = datetime.date(2026, 12, 30), datetime.date(2027, 1, 15)  # either side of Microsoft's change
SUPPORT = SEND_AS[ALICE][0]  # an address Alice may also send as


def smtp_error(reply: str) -> bytes:
    """A reply as smtplib keeps it in an exception: without the codes, lines joined by LF."""
    return "\n".join(line[4:] for line in reply.split("\r\n")).encode()


@pytest.fixture(scope="module")
def lab():
    with Lab(*(persona.name for persona in PERSONAS), today=BEFORE) as lab:
        yield lab


def connect(lab: Lab, name: str) -> smtplib.SMTP:
    host, port = lab[name].address
    if lab[name].tls == "implicit":
        client = smtplib.SMTP_SSL(host, port, timeout=CLIENT_TIMEOUT, context=lab.client_context())
    else:
        client = smtplib.SMTP(host, port, timeout=CLIENT_TIMEOUT)
        client.starttls(context=lab.client_context())
    client.ehlo()
    return client


# -- how they greet and what they offer ------------------------------------------------------------


def test_gmail_like_greets_and_offers_as_gmail_does(lab):
    with smtplib.SMTP(*lab["gmail-like-587"].address, timeout=CLIENT_TIMEOUT) as client:
        assert client.ehlo() == (250, b"smtp.gmail-like.example.com at your service, [127.0.0.1]\nSIZE 35882577\n"
                                      b"8BITMIME\nSTARTTLS\nENHANCEDSTATUSCODES\nPIPELINING\nSMTPUTF8")
        client.starttls(context=lab.client_context())
        client.ehlo()
        assert client.esmtp_features["auth"] == " LOGIN PLAIN XOAUTH2 OAUTHBEARER"
    with record(names=lab.names) as recording, connect(lab, "gmail-like-465"):
        pass
    assert "<~  220 smtp.gmail-like.example.com ESMTP lab-session - gsmtp" in recording.text()


def test_m365_like_greets_with_the_labs_date_and_offers_login_and_xoauth2_only_after_tls(lab):
    with record(names=lab.names) as recording, smtplib.SMTP(*lab["m365-like-587"].address,
                                                            timeout=CLIENT_TIMEOUT) as client:
        client.ehlo()
        assert "auth" not in client.esmtp_features and "starttls" in client.esmtp_features
        client.starttls(context=lab.client_context())
        client.ehlo()
        assert client.esmtp_features["auth"] == " LOGIN XOAUTH2"
    text = recording.text()
    assert ("220 LAB0PR01CA0001.m365-like.example.com Microsoft ESMTP MAIL Service ready at "
            "Wed, 30 Dec 2026 12:00:00 +0000") in text
    assert "<-  220 2.0.0 SMTP server ready" in text


def test_microsoft_365_offers_no_port_465():
    assert sorted((persona.name, persona.acts_as) for persona in PERSONAS if persona.name.startswith("m365")) == [
        ("m365-like-587", 587)]


def test_the_doctor_knows_each_provider_by_name_and_greeting():
    assert recognise("smtp.gmail.com").name == "Gmail"
    assert recognise("127.0.0.1", "smtp.gmail-like.example.com ESMTP lab-session - gsmtp").name == "Gmail"
    assert recognise("smtp.office365.com").name == "Microsoft 365"
    assert recognise("x", "X.m365-like.example.com Microsoft ESMTP MAIL Service ready at Wed").name == "Microsoft 365"
    assert recognise("smtp.example.com", "mail.example.com ESMTP SMTP Port Lab") is None
    assert recognise("gmail.com.attacker.example") is None


# -- Gmail: app passwords, not the account password ------------------------------------------------


@pytest.mark.parametrize("name", ["gmail-like-465", "gmail-like-587"])
def test_gmail_like_refuses_the_account_password_and_takes_the_app_password(lab, name):
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(ALICE, USERS[ALICE])
    assert (refused.value.smtp_code, refused.value.smtp_error) == (534, smtp_error(GMAIL_APP_PASSWORD_REQUIRED))
    with connect(lab, name) as client, pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
        client.login(ALICE, "not-the-password")
    assert (wrong.value.smtp_code, wrong.value.smtp_error) == (535, smtp_error(GMAIL_BAD_CREDENTIALS))
    before = len(lab.mailbox)
    with connect(lab, name) as client:
        assert client.login(ALICE, APP_PASSWORDS[ALICE]) == (235, b"2.7.0 Accepted")
        client.send_message(message(to=BOB))
    assert lab.mailbox.wait_for(before + 1) and lab.mailbox[-1].login == ALICE


def test_gmail_like_wants_tls_then_a_login(lab):
    with (smtplib.SMTP(*lab["gmail-like-587"].address, timeout=CLIENT_TIMEOUT) as client,
          pytest.raises(smtplib.SMTPSenderRefused) as no_tls):
        client.sendmail(ALICE, [BOB], b"Subject: hi\r\n\r\nhi\r\n")
    assert (no_tls.value.smtp_code, no_tls.value.smtp_error) == (530, smtp_error(GMAIL_STARTTLS_FIRST))
    with connect(lab, "gmail-like-587") as client, pytest.raises(smtplib.SMTPSenderRefused) as no_login:
        client.sendmail(ALICE, [BOB], b"Subject: hi\r\n\r\nhi\r\n")
    assert (no_login.value.smtp_code, no_login.value.smtp_error) == (530, smtp_error(GMAIL_AUTH_REQUIRED))


def test_gmail_like_replaces_a_from_address_that_is_not_the_accounts(lab):
    with connect(lab, "gmail-like-587") as client:
        client.login(ALICE, APP_PASSWORDS[ALICE])
        before = len(lab.mailbox)
        client.send_message(message(sender=f"Bob Example <{BOB}>", to=BOB, subject="as Bob"))
        client.send_message(message(sender=f"Support <{SUPPORT}>", to=BOB, subject="as support"))
    assert lab.mailbox.wait_for(before + 2)
    as_bob, as_support = lab.mailbox[-2], lab.mailbox[-1]
    assert as_bob.email["From"] == f"Bob Example <{ALICE}>" and as_bob.mail_from == ALICE
    assert as_support.email["From"] == f"Support <{SUPPORT}>" and as_support.mail_from == SUPPORT


def test_gmail_like_answers_data_with_550_5_4_5_past_the_daily_limit():
    with Lab("gmail-like-587-quota", today=BEFORE) as lab:
        with connect(lab, "gmail-like-587-quota") as client:
            client.login(ALICE, APP_PASSWORDS[ALICE])
            client.sendmail(ALICE, [BOB, "carol@example.com"], b"Subject: 1\r\n\r\nhi\r\n")
            client.sendmail(ALICE, [BOB], b"Subject: 2\r\n\r\nhi\r\n")
            with pytest.raises(smtplib.SMTPDataError) as over:
                client.sendmail(ALICE, [BOB], b"Subject: 3\r\n\r\nhi\r\n")
        assert (over.value.smtp_code, over.value.smtp_error) == (550, smtp_error(GMAIL_DAILY_LIMIT))
        assert len(lab.mailbox) == 2
        assert diagnose(over.value, port=587)[0].id == "sending-quota-exceeded"


# -- Microsoft 365: the date decides; From and TLS version checked -----------------------------------


def test_m365_like_takes_a_password_until_the_end_of_2026_and_refuses_it_after():
    for today, expected in ((BEFORE, None), (AFTER, M365_BASIC_AUTH_DISABLED)):
        with Lab("m365-like-587", today=today) as lab, connect(lab, "m365-like-587") as client:
            if expected is None:
                assert client.login(ALICE, USERS[ALICE])[0] == 235
                continue
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(ALICE, USERS[ALICE])
            assert (refused.value.smtp_code, refused.value.smtp_error) == (535, smtp_error(expected))
            assert diagnose(refused.value, port=587)[0].id == "m365-basic-auth-disabled"


def test_the_basic_auth_timeline_can_name_a_removal_date():
    rule = BasicAuthRetirement(removed_from=datetime.date(2027, 9, 1))

    class On:
        def __init__(self, today):
            self.today = today

    password = type("Attempt", (), {"with_token": False})()
    assert rule.check(On(BEFORE), password) is None
    assert rule.check(On(AFTER), password) == M365_BASIC_AUTH_DISABLED
    assert rule.check(On(datetime.date(2027, 9, 1)), password).startswith("550 5.7.30 Basic authentication")


def test_m365_like_refuses_a_wrong_password_and_mail_without_a_login(lab):
    with connect(lab, "m365-like-587") as client, pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
        client.login(ALICE, "not-the-password")
    assert (wrong.value.smtp_code, wrong.value.smtp_error) == (535, smtp_error(M365_AUTH_UNSUCCESSFUL))
    with connect(lab, "m365-like-587") as client, pytest.raises(smtplib.SMTPSenderRefused) as no_login:
        client.sendmail(ALICE, [BOB], b"Subject: hi\r\n\r\nhi\r\n")
    assert (no_login.value.smtp_code, no_login.value.smtp_error) == (530, smtp_error(M365_NOT_AUTHENTICATED))


def test_m365_like_refuses_to_send_as_another_mailbox_after_the_message(lab):
    with connect(lab, "m365-like-587") as client:
        client.login(ALICE, USERS[ALICE])
        before = len(lab.mailbox)
        with pytest.raises(smtplib.SMTPDataError) as denied:
            client.send_message(message(sender=BOB, to=BOB))
        client.send_message(message(sender=SUPPORT, to=BOB))  # Send As granted
    assert (denied.value.smtp_code, denied.value.smtp_error) == (554, smtp_error(M365_SEND_AS_DENIED))
    assert lab.mailbox.wait_for(before + 1) and lab.mailbox[-1].mail_from == SUPPORT
    assert diagnose(denied.value, port=587)[0].id == "m365-send-as-denied"


def old_tls_context(lab: Lab) -> ssl.SSLContext:
    """A client pinned to TLS 1.0, as old code is; OpenSSL 3 speaks it only at security level 0."""
    context = lab.client_context()
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
    return context


def test_m365_like_lets_tls_1_0_handshake_then_answers_421_4_7_66(lab):
    with record(names=lab.names) as recording, smtplib.SMTP(*lab["m365-like-587"].address,
                                                            timeout=CLIENT_TIMEOUT) as client:
        client.starttls(context=old_tls_context(lab))
        # smtplib tries HELO after the refused EHLO, and finds the connection closed.
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.login(ALICE, USERS[ALICE])
    text = recording.text()
    assert "=== TLS started: TLSv1," in text and f"<~* {M365_LEGACY_TLS_REFUSED}" in text
    assert diagnose(recording)[0].id == "tls-version-mismatch"


# -- OAuth 2.0: tokens from the lab's issuer --------------------------------------------------------

TOKENS = {  # what is wrong with the token, and how to make it
    "expired": lambda lab, scope: lab.tokens.issue(ALICE, scope=scope, lifetime=-60),
    "wrong scope": lambda lab, scope: lab.tokens.issue(ALICE, scope="https://www.googleapis.com/auth/gmail.send"),
    "another user's": lambda lab, scope: lab.tokens.issue(BOB, scope=scope),
    "a password": lambda lab, scope: USERS[ALICE],
    "another issuer's": lambda lab, scope: TokenIssuer().issue(ALICE, scope=scope),
}
PROBLEMS = {"expired": TokenProblem.EXPIRED, "wrong scope": TokenProblem.SCOPE, "another user's": TokenProblem.SUBJECT,
            "a password": TokenProblem.NOT_A_TOKEN, "another issuer's": TokenProblem.NOT_A_TOKEN}


@pytest.mark.parametrize("name, scope", [("gmail-like-465", GMAIL_SCOPE), ("gmail-like-587", GMAIL_SCOPE),
                                         ("m365-like-587", M365_SCOPE)])
def test_a_valid_token_logs_in_with_xoauth2_even_where_passwords_are_retired(name, scope):
    with Lab(name, today=AFTER) as lab, connect(lab, name) as client:
        assert client.auth("XOAUTH2", xoauth2(ALICE, lab.tokens.issue(ALICE, scope=scope)))[0] == 235
        client.send_message(message(to=BOB))
        assert lab.mailbox.wait_for(1) and lab.mailbox[-1].login == ALICE


@pytest.mark.parametrize("problem", list(TOKENS))
def test_gmail_like_refuses_a_bad_token_with_its_json_challenge_then_535(lab, problem):
    token = TOKENS[problem](lab, GMAIL_SCOPE)
    with (record(names=lab.names) as recording, connect(lab, "gmail-like-587") as client,
          pytest.raises(smtplib.SMTPAuthenticationError) as refused):
        client.auth("XOAUTH2", xoauth2(ALICE, token))
    assert (refused.value.smtp_code, refused.value.smtp_error) == (535, smtp_error(GMAIL_BAD_CREDENTIALS))
    challenge = next(line.text for line in recording.transcript.lines if line.text.startswith("334 "))
    assert json.loads(base64.b64decode(challenge[4:])) == json.loads(GMAIL_XOAUTH2_ERROR)
    assert diagnose(recording)[0].id == "oauth-token-refused"
    assert any(event.kind == "token-refused" and str(PROBLEMS[problem]) in event.detail
               for event in lab.events.last_session())


@pytest.mark.parametrize("problem", list(TOKENS))
def test_m365_like_refuses_a_bad_token_at_once_with_535_5_7_3(lab, problem):
    with (record(names=lab.names) as recording, connect(lab, "m365-like-587") as client,
          pytest.raises(smtplib.SMTPAuthenticationError) as refused):
        client.auth("XOAUTH2", xoauth2(ALICE, TOKENS[problem](lab, M365_SCOPE)))
    assert (refused.value.smtp_code, refused.value.smtp_error) == (535, smtp_error(M365_AUTH_UNSUCCESSFUL))
    assert not any(line.text.startswith("334 ") for line in recording.transcript.lines)
    assert diagnose(recording)[0].id == "oauth-token-refused"


def test_oauthbearer_logs_in_and_fails_as_rfc_7628_says(lab):
    host, port = lab["gmail-like-465"].address
    with connect(lab, "gmail-like-465") as client:
        token = lab.tokens.issue(ALICE, scope=GMAIL_SCOPE)
        assert client.auth("OAUTHBEARER", oauthbearer(ALICE, token, host=host, port=port))[0] == 235
    with (record(names=lab.names) as recording, connect(lab, "gmail-like-465") as client,
          pytest.raises(smtplib.SMTPAuthenticationError)):
        client.auth("OAUTHBEARER", oauthbearer(ALICE, "not-a-token", host=host, port=port))
    challenge = next(line.text for line in recording.transcript.lines if line.text.startswith("334 "))
    assert json.loads(base64.b64decode(challenge[4:])) == {"status": "invalid_token", "scope": GMAIL_SCOPE}


def test_a_client_that_aborts_the_error_challenge_is_told_so(lab):
    with connect(lab, "gmail-like-465") as client:
        blob = base64.b64encode(b"user=x\x01auth=Bearer y\x01\x01").decode()
        assert client.docmd("AUTH", f"XOAUTH2 {blob}")[0] == 334
        assert client.docmd("*") == (501, b"5.7.0 Authentication aborted")
        assert client.docmd("AUTH", "XOAUTH2 not-base64!")[0] == 501


def test_microsoft_365_does_not_offer_oauthbearer(lab):
    with connect(lab, "m365-like-587") as client:
        assert client.docmd("AUTH", "OAUTHBEARER")[0] == 504


def test_a_token_says_what_it_is_for_and_nothing_else_passes_as_one():
    issuer = TokenIssuer()
    token = issuer.issue(ALICE, scope=f"{GMAIL_SCOPE} openid")
    claims = issuer.claims(token)
    assert (claims.subject, claims.scopes) == (ALICE, (GMAIL_SCOPE, "openid"))
    assert issuer.problem(token, subject=ALICE.upper(), scope=GMAIL_SCOPE) is None
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for junk in (forged, "", "a.b.c", token + ".x", USERS[ALICE], TokenIssuer().issue(ALICE, scope=GMAIL_SCOPE)):
        assert issuer.problem(junk, subject=ALICE, scope=GMAIL_SCOPE) is TokenProblem.NOT_A_TOKEN, junk
    assert repr(issuer) == "<TokenIssuer>"
