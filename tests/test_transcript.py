"""Transcripts hold what crossed the wire, mark TLS, hide credentials, and render three ways."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from pathlib import Path

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB, CLIENT_TIMEOUT, leaked, message, secret_forms
from servers import echoes_credentials, peer, tls_for_127_0_0_1

from helpers.client import EHLO_NAME, send
from helpers.transcript import NON_ASCII_LOGIN, REDACTED, RecordingSMTP, record

GOLDEN = Path(__file__).parent / "golden"


# SMTP commands as smtplib writes them. RFC 5321 section 2.4: verbs, their argument keywords ("FROM:",
# "TO:") and ESMTP parameter names are not case sensitive, and smtplib 3.13 writes "mail from:" where
# 3.11 and 3.12 write "mail FROM:". Everything else, the mailbox local parts above all, is compared as it is.
COMMAND = re.compile(r"^( [-~]> )(MAIL FROM:|RCPT TO:|EHLO|HELO|STARTTLS|AUTH|DATA|RSET|QUIT|NOOP)(?![A-Za-z])(.*)$",
                     re.IGNORECASE | re.MULTILINE)


def commands_folded(text: str) -> str:
    def fold(match: re.Match) -> str:
        parameters = re.sub(r"(?<= )([A-Za-z0-9-]+)=", lambda p: p[1].lower() + "=", match[3])
        return match[1] + match[2].lower() + parameters

    return COMMAND.sub(fold, text)


def assert_golden(transcript, name: str) -> None:
    golden = (GOLDEN / name).read_text().rstrip("\n")
    assert commands_folded(transcript.text()) == commands_folded(golden)


def test_golden_comparison_folds_only_what_smtp_says_is_case_insensitive():
    assert commands_folded(" ~> mail FROM:<Bob@example.com> SIZE=175") == " ~> mail from:<Bob@example.com> size=175"
    assert commands_folded(" ~> Subject: Hello") == " ~> Subject: Hello"  # message content, not a command
    assert commands_folded(" ~> rcpt to:<Bob@example.com>") != commands_folded(" ~> rcpt to:<bob@example.com>")


def renderings(transcript) -> dict[str, str]:
    return {"text": transcript.text(), "html": transcript.html(), "json": transcript.json()}


def test_golden_transcript_of_a_send_on_465(lab):
    result = send(message(), lab["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file)
    assert_golden(result.transcript, "send_465.txt")


def test_golden_transcript_of_a_refusal_on_587(lab):
    result = send(message(sender=BOB), lab["submission"], user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file)
    assert_golden(result.transcript, "refused_587.txt")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("name", ["submission", "submissions"])
def test_credentials_never_reach_any_rendering(lab, name, mechanism):
    with record(names=lab.names) as wire:
        if name == "submissions":
            smtp = smtplib.SMTP_SSL(*lab[name].address, context=lab.client_context())
        else:
            smtp = smtplib.SMTP(*lab[name].address)
            smtp.starttls(context=lab.client_context())
        with smtp:
            smtp.ehlo()
            smtp.user, smtp.password = ALICE, ALICE_PASSWORD
            smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
    for kind, text in renderings(wire.transcript).items():
        assert leaked(text) == [], kind
    assert f"AUTH {mechanism} ********" in wire.transcript.text()


def test_failed_logins_are_redacted_too(lab):
    result = send(message(), lab["submissions"], user=ALICE, password=ALICE_PASSWORD + "x", ca_file=lab.ca_file)
    assert not result.ok
    for text in renderings(result.transcript).values():
        assert ALICE_PASSWORD not in text


def test_tls_boundary_and_refusals_are_marked(lab):
    result = send(message(sender=BOB), lab["submission"], user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file)
    lines = result.transcript.lines
    boundary = next(i for i, line in enumerate(lines) if line.text.startswith("TLS started"))
    assert all(not line.tls for line in lines[:boundary]) and all(line.tls for line in lines[boundary:])
    refusal = next(line for line in lines if line.text.startswith("553"))
    assert refusal.unexpected and refusal.mark == "<~*"
    assert (553, f"5.7.1 <{BOB}>: Sender address rejected: not owned by user {ALICE}") in result.transcript.replies()
    ehlo = "mail.example.com\nPIPELINING\nSIZE 10240000\nVRFY\nSTARTTLS\nENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8"
    assert (250, ehlo) in result.transcript.replies()


def test_json_rendering_is_data(lab):
    result = send(message(), lab["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file)
    data = json.loads(result.transcript.json())
    assert data["peer"] == "submissions (port 465)"
    assert data["tls"]["version"] == "TLSv1.3" and data["failed"] is False
    assert {"direction": "sent", "text": f"ehlo {EHLO_NAME}", "tls": True, "unexpected": False} in data["lines"]


def test_html_rendering_is_a_sequence_diagram(lab):
    result = send(message(), lab["submission"], user=ALICE, password="wrong", ca_file=lab.ca_file)
    page = result.transcript.html()
    assert page.count('class="smtp-seq"') == 1
    assert 'class="smtp-row boundary"' in page and "encrypted from here on" in page
    assert 'class="smtp-row received tls refused"' in page and "535 5.7.8" in page
    assert 'class="smtp-row error"' in page and "SMTPAuthenticationError" in page
    assert "<style" not in page  # a notebook opened untrusted would drop it (tests/test_display.py)
    assert result._repr_html_().startswith("<p")


def test_record_captures_your_own_smtplib_code_and_restores_smtplib(lab, capsys):
    original = smtplib.SMTP
    with record(names=lab.names, catch=True) as wire:
        smtplib.SMTP(*lab["submissions"].address, timeout=10)  # plaintext on 465: the case study's mistake
    assert smtplib.SMTP is original
    assert capsys.readouterr().out == "smtplib.SMTPServerDisconnected: Connection unexpectedly closed\n"
    assert isinstance(wire.error, smtplib.SMTPServerDisconnected)
    assert wire.transcript.text() == (
        "=== Trying submissions (port 465)...\n"
        "=== Connected to submissions (port 465)\n"
        "*** smtplib.SMTPServerDisconnected: Connection unexpectedly closed"
    )
    assert wire.transcript.phase == "greeting"


def test_record_lets_errors_through_unless_caught(lab):
    with pytest.raises(smtplib.SMTPServerDisconnected), record(names=lab.names):
        smtplib.SMTP(*lab["submissions"].address, timeout=10)


def test_record_collects_every_connection(lab):
    with record(names=lab.names) as wire:
        for name in ("relay", "submission"):
            with smtplib.SMTP(*lab[name].address, local_hostname=EHLO_NAME) as smtp:
                smtp.noop()
    assert [t.peer for t in wire.transcripts] == ["relay (port 25)", "submission (port 587)"]
    assert wire.text().count("=== Trying") == 2


def test_message_data_is_summarised(lab):
    smtp = RecordingSMTP(*lab["relay"].address, local_hostname=EHLO_NAME)
    raw = b"From: a@example.net\r\nTo: alice@example.com\r\nX-Other: 1\r\n\r\nline 1\r\nline 2\r\n"
    smtp.sendmail("a@example.net", [ALICE], raw)
    smtp.quit()
    text = smtp.transcript.text()
    assert " -> From: a@example.net\n -> To: alice@example.com\n -> (1 more header line, 2 body lines)\n -> .\n" in text
    assert "line 1" not in text


# -- credentials, however they are written --------------------------------------------------------


def logins(lab) -> int:
    lab.events.settle()
    return sum(event.kind == "login" for event in lab.events)


def test_auth_is_redacted_however_the_lines_end_and_the_writes_split(lab):
    blob = secret_forms()[2]  # AUTH PLAIN's blob, as a client sends it
    writes = [  # what the client writes, and how many replies that gets
        ([f"EHLO x\nAUTH PLAIN {blob}\n"], 2),  # bare LF, which the lab accepts as a line end
        (["EHLO x\r\n", "AU", f"TH PLAIN {blob[:9]}", f"{blob[9:]}\r\n"], 2),  # split in the verb and the blob
        (["EHLO x\r\n", f"AUTH\tPLAIN\t{blob}\r\n"], 2),  # TAB between the words
        (["EHLO x\r\nAUTH PLAIN\r\n", blob[:5], f"{blob[5:]}\r\n"], 3),  # the answer to a 334, in pieces
    ]
    with record(names=lab.names) as wire:
        for pieces, replies in writes:
            with smtplib.SMTP_SSL(*lab["submissions"].address, context=lab.client_context(),
                                  timeout=CLIENT_TIMEOUT) as smtp:
                for piece in pieces:
                    smtp.send(piece)
                for _ in range(replies):
                    smtp.getreply()
    assert logins(lab) == 3  # the lab took all but the TAB-separated one for a real AUTH
    for transcript in wire.transcripts:
        text = " ".join(renderings(transcript).values()).upper()  # aiosmtpd quotes an unknown command in capitals
        assert [form for form in secret_forms() if form.upper() in text] == []
        assert "AUTH" in transcript.text() and REDACTED in transcript.text()


def test_a_server_that_quotes_credentials_back_gets_them_hidden(tmp_path, capsys):
    tls, ca_file = tls_for_127_0_0_1(tmp_path)
    with peer(echoes_credentials, tls=tls) as port, record(catch=True) as wire:
        context = ssl.create_default_context(cafile=ca_file)
        with smtplib.SMTP_SSL("127.0.0.1", port, context=context, timeout=CLIENT_TIMEOUT) as smtp:
            smtp.login(ALICE, ALICE_PASSWORD)  # PLAIN, then LOGIN: both answered 535 with the secret quoted
    assert isinstance(wire.error, smtplib.SMTPAuthenticationError)
    printed = capsys.readouterr().out
    texts = [printed, *renderings(wire.transcript).values()]
    assert leaked(*texts) == []
    assert f"535 5.7.8 authentication failed for {REDACTED} ({REDACTED})" in wire.transcript.text()
    assert "authentication failed for AUTH PLAIN ********" in wire.transcript.text()


def test_a_non_ascii_password_in_your_own_code_is_described_without_it(lab, capsys):
    password = "s3cret-pässword"
    address, context = lab["submissions"].address, lab.client_context()
    with record(names=lab.names, catch=True) as wire, smtplib.SMTP_SSL(*address, context=context) as smtp:
        smtp.login(ALICE, password)
    assert isinstance(wire.error, UnicodeEncodeError)  # your own code's error, as smtplib raised it
    printed = capsys.readouterr().out
    assert printed == f"UnicodeEncodeError: {NON_ASCII_LOGIN}\n"
    assert "ASCII only (python/cpython#73936)" in printed
    for text in [printed, *renderings(wire.transcript).values()]:
        assert "pässword" not in text and "ä" not in text and "\\xe4" not in text and "in position" not in text


# -- record() blocks ------------------------------------------------------------------------------


def noop(lab, name: str) -> None:
    with smtplib.SMTP(*lab[name].address, local_hostname=EHLO_NAME, timeout=CLIENT_TIMEOUT) as smtp:
        smtp.noop()


def test_a_nested_record_block_leaves_the_outer_one_recording(lab):
    original = smtplib.SMTP
    with record(names=lab.names) as outer:
        with record(names=lab.names) as inner:
            noop(lab, "relay")
        noop(lab, "submission")  # after the inner block has ended
    assert smtplib.SMTP is original
    assert [t.peer for t in inner.transcripts] == ["relay (port 25)"]
    assert [t.peer for t in outer.transcripts] == ["relay (port 25)", "submission (port 587)"]


def test_record_gives_back_whatever_smtplib_had_before(lab, monkeypatch):
    class Instrumented(smtplib.SMTP):
        """Another tool's own smtplib.SMTP, put in place before record()."""

    monkeypatch.setattr(smtplib, "SMTP", Instrumented)
    with record(names=lab.names) as wire:
        noop(lab, "relay")
    assert smtplib.SMTP is Instrumented
    assert len(wire.transcripts) == 1
