"""The failure catalog: every way sending mail on ports 25, 465 and 587 commonly fails, as data.

Each `Entry` says what happened in plain words, why, how to fix it (in Python and in Go), which RFC
sections apply, and what each common client prints when it happens. Those printed texts (`Symptom`)
are also what `helpers.diagnose` matches pasted errors against, so they are written exactly as the
client prints them; `…` stands for a part that changes (a host, a port, a time).

A symptom's `source` says how we know it: "lab" means the client printed exactly this against the
lab (tests/test_real_clients.py keeps that true); "reported" means a public report or the client's
source code; a note says when it is only partly so.
"""

from __future__ import annotations

from dataclasses import dataclass

CLIENTS = ("python", "go", "node", "curl", "swaks", "server")  # "server": the reply text, shown by any client


@dataclass(frozen=True)
class Symptom:
    """What one client prints. `whole_line` symptoms (Go's bare `EOF`) match only a whole line (or the
    end of one, after `: `), never a part of a longer text; `generic` ones count only when nothing more
    specific matched."""

    client: str
    text: str
    source: str = "lab"
    note: str = ""
    whole_line: bool = False
    generic: bool = False


@dataclass(frozen=True)
class Rfc:
    number: int
    section: str
    about: str

    def __str__(self) -> str:
        return f"RFC {self.number} section {self.section}: {self.about}"


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    ports: tuple[int, ...]
    what_happened: str
    why: str
    fix: str
    fix_python: str
    fix_go: str
    rfcs: tuple[Rfc, ...]
    symptoms: tuple[Symptom, ...]
    group: str  # A ports and TLS modes, B authentication, C identity and relaying, D network, E certificates, F content

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


# --------------------------------------------------------------------------------------------------
# Fixes that several entries share

_PY_465 = '''\
import smtplib, ssl

context = ssl.create_default_context()   # verifies the certificate and the host name
with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
    smtp.login(user, password)
    smtp.send_message(msg)
'''

_PY_587 = '''\
import smtplib, ssl

context = ssl.create_default_context()
with smtplib.SMTP("smtp.example.com", 587, timeout=30) as smtp:
    smtp.starttls(context=context)   # raises if the server does not offer STARTTLS
    smtp.login(user, password)
    smtp.send_message(msg)
'''

_GO_465 = '''\
host := "smtp.example.com"
conn, err := tls.Dial("tcp", host+":465", &tls.Config{ServerName: host})
if err != nil {
	return err
}
c, err := smtp.NewClient(conn, host)
if err != nil {
	return err
}
defer c.Close()
if err = c.Auth(smtp.PlainAuth("", user, password, host)); err != nil {
	return err
}
// then c.Mail(from), c.Rcpt(to), c.Data() and c.Quit(), as smtp.SendMail does
'''

_GO_587 = '''\
host := "smtp.example.com"
c, err := smtp.Dial(host + ":587")
if err != nil {
	return err
}
defer c.Close()
if err = c.StartTLS(&tls.Config{ServerName: host}); err != nil {
	return err // never carry on in plaintext
}
if err = c.Auth(smtp.PlainAuth("", user, password, host)); err != nil {
	return err
}
// then c.Mail(from), c.Rcpt(to), c.Data() and c.Quit()
'''

_RFC8314_33 = Rfc(8314, "3.3", "port 465 starts TLS at once; clients and servers SHOULD support both 465 and 587")
_RFC3207_4 = Rfc(3207, "4", "the STARTTLS command; 454 TLS not available; 530 Must issue a STARTTLS command first")
_RFC3207_6 = Rfc(3207, "6", "an attacker can delete STARTTLS from the EHLO reply before TLS starts")
_RFC4954_4 = Rfc(4954, "4", "the AUTH command; 504 for an unsupported mechanism, 535 for bad credentials")
_RFC4954_6 = Rfc(4954, "6", "AUTH status codes: 530 5.7.0, 534 5.7.9, 535 5.7.8, 538 5.7.11, 454 4.7.0")
_RFC6409_43 = Rfc(6409, "4.3", "a submission server MUST refuse MAIL from an unauthenticated session, with 530")
_RFC6409_61 = Rfc(6409, "6.1", "a submission server MAY refuse a MAIL FROM the login is not authorized to use")
_RFC6409_63 = Rfc(6409, "6.3", "a submission server MAY refuse the message data after end-of-data on policy")
_RFC3463_38 = Rfc(3463, "3.8", "X.7.x enhanced codes: security or policy status")
_RFC5321_3_8 = Rfc(5321, "3.8", "421: the server closes the channel; treat a lost connection as a 451")
_RFC5321_4532 = Rfc(5321, "4.5.3.2", "an SMTP client MUST use timeouts; the 220 greeting may take up to 5 minutes")
_RFC5321_4541 = Rfc(5321, "4.5.4.1", "retry a failed destination later, at intervals of at least 30 minutes")
_RFC5280_validity = Rfc(5280, "4.1.2.5", "a certificate's validity period (notBefore, notAfter)")
_RFC5280_san = Rfc(5280, "4.2.1.6", "subject alternative names: the host names and IP addresses a certificate is for")
_RFC8314_5 = Rfc(8314, "5", "a mail client MUST NOT count a session as confidential if the certificate fails")

_CERT_VERIFY_FAILED = Symptom(
    "swaks", "certificate verify failed", generic=True,
    note="swaks (and OpenSSL's short form) does not say why; run the doctor or openssl s_client to see the reason",
)
_CLOSED_UNEXPECTEDLY_PY = Symptom(
    "python", "SMTPServerDisconnected: Connection unexpectedly closed",
    note="the server hung up; which failure it is depends on the port and on whether a greeting came first",
)
_TIMED_OUT_PY = Symptom(
    "python", "SMTPServerDisconnected: Connection unexpectedly closed: timed out",
    note="connected, then no reply within the client's timeout",
)
_EOF_GO = Symptom("go", "EOF", whole_line=True, note="io.EOF: the server closed the connection; Go says nothing more")
_CLOSED_NODE = Symptom("node", "Connection closed unexpectedly", note="ECONNECTION: the server hung up")
_GREETING_NODE = Symptom("node", "Greeting never received", note="ETIMEDOUT after greetingTimeout (30 s by default)")
_NO_BYTES_CURL = Symptom("curl", "(28) Operation timed out after … with 0 bytes received",
                         note="connected, then not a byte before --max-time / --connect-timeout")
_READ_TIMEOUT_GO = Symptom("go", "read tcp …: i/o timeout", note="connected, then nothing before the deadline")
_CLOSED_SWAKS = Symptom("swaks", "*** Remote host closed connection unexpectedly.")
_TIMEOUT_SWAKS = Symptom("swaks", "<** Timeout (…) waiting for server response")
_READ_FAILED_CURL = Symptom("curl", "(56) response reading failed",
                            note="the errno curl adds varies; the server closed or sent something curl cannot read")
_MAIL_530_CURL = Symptom("curl", "(55) MAIL failed: 530",
                         note="curl shows the code only (add -v for the text); curl logs in only when AUTH is offered")
_UNICODE_PY = Symptom("python", "UnicodeEncodeError: 'ascii' codec can't encode",
                      note="smtplib encodes commands and str messages as ASCII")

# --------------------------------------------------------------------------------------------------
# The catalog

CATALOG: tuple[Entry, ...] = (
    # ---------------------------------------------------------------------------------- A: ports, TLS
    Entry(
        id="plaintext-to-implicit-tls",
        title="Plaintext client on the implicit-TLS port 465",
        ports=(465,),
        group="A",
        what_happened=(
            "Your program connected to port 465 and waited for the server to say hello. The server was "
            "waiting for your program to start encryption first. Both waited until one gave up: the "
            "server hung up (Go says `EOF`, Python `Connection unexpectedly closed`) or your timeout fired."
        ),
        why=(
            "Port 465 speaks TLS from the first byte (\"implicit TLS\"): no greeting comes until the TLS "
            "handshake is done. Port 587 is the one that starts in plaintext and upgrades with STARTTLS. "
            "smtplib.SMTP and Go's smtp.SendMail both start in plaintext; nodemailer switches TLS on by "
            "itself only when port is the number 465. Since RFC 8314 (2018) port 465 is the recommended "
            "submission port, not an obsolete one."
        ),
        fix="Start TLS at once on 465: smtplib.SMTP_SSL, Go tls.Dial + smtp.NewClient (or use 587 with STARTTLS).",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC8314_33, Rfc(8314, "7.3", "the \"submissions\" service on port 465 and its history")),
        symptoms=(
            _CLOSED_UNEXPECTEDLY_PY,
            _TIMED_OUT_PY,
            _EOF_GO,
            _READ_TIMEOUT_GO,
            _GREETING_NODE,
            _CLOSED_NODE,
            _READ_FAILED_CURL,
            _NO_BYTES_CURL,
            _CLOSED_SWAKS,
        ),
    ),
    Entry(
        id="implicit-tls-to-starttls-port",
        title="TLS from the first byte on a plaintext (STARTTLS) port",
        ports=(587, 25),
        group="A",
        what_happened=(
            "Your program started encryption the moment it connected, but the server on this port talks "
            "plaintext first. Its greeting (`220 ...`) arrived where your TLS library expected a TLS "
            "record, and the library gave up: \"wrong version number\"."
        ),
        why=(
            "Ports 587 and 25 begin in plaintext and switch to TLS only after the STARTTLS command. "
            "smtplib.SMTP_SSL, Go's tls.Dial, nodemailer's secure:true and curl's smtps:// all expect "
            "TLS from the first byte, which is right for 465 only."
        ),
        fix="On 587 connect in plaintext and call STARTTLS (smtplib.SMTP + starttls, Go c.StartTLS), or use port 465.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC3207_4, _RFC8314_33),
        symptoms=(
            Symptom("python", "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number"),
            Symptom("go", "tls: first record does not look like a TLS handshake"),
            Symptom("node", "ssl3_get_record:wrong version number", note="code ESOCKET"),
            Symptom("node", "…wrong version number", source="reported",
                    note="ESOCKET; gh:nodemailer/nodemailer#1154"),
            Symptom("curl", "(35) OpenSSL/…: error:0A00010B:SSL routines::wrong version number"),
            Symptom("swaks", "*** TLS startup failed (connect(): error:0A00010B:SSL routines::wrong version number)"),
        ),
    ),
    Entry(
        id="starttls-unavailable",
        title="The server does not offer STARTTLS",
        ports=(587, 25),
        group="A",
        what_happened=(
            "Your program asked to switch to encryption, but the server's list of capabilities had no "
            "STARTTLS in it, so there is no way to encrypt this connection."
        ),
        why=(
            "The server has no TLS configured on this port, or something between you and it (a firewall, "
            "an antivirus, a hotel network) removed STARTTLS from its reply. A client that carries on "
            "without TLS would then send your password readable by anyone on the path (see "
            "starttls-downgrade)."
        ),
        fix=(
            "Do not fall back to plaintext. Use port 465 with implicit TLS, or ask the provider why "
            "STARTTLS is missing; check from another network."
        ),
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC3207_4, _RFC3207_6, _RFC8314_33),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: STARTTLS extension not supported by server."),
            Symptom("go", "454 TLS not available", whole_line=True,
                    note="c.StartTLS sends STARTTLS anyway; this is aiosmtpd's answer. smtp.SendMail instead "
                         "carries on in plaintext without a word"),
            Symptom("node", "Error upgrading connection with STARTTLS: 454 TLS not available", whole_line=True,
                    note="with requireTLS: true; without it nodemailer carries on in plaintext"),
            Symptom("curl", "(64) STARTTLS not supported.", note="with --ssl-reqd; plain --ssl carries on"),
            Symptom("swaks", "*** Host did not advertise STARTTLS"),
        ),
    ),
    Entry(
        id="starttls-refused",
        title="STARTTLS offered, then refused with 454",
        ports=(587, 25),
        group="A",
        what_happened=(
            "The server said it can encrypt (it listed STARTTLS), but when your program asked, it answered "
            "454: TLS is not available right now."
        ),
        why=(
            "A server-side problem: its certificate or key could not be loaded, or its TLS machinery is "
            "overloaded. The reply is temporary (4xx), so a later attempt may work."
        ),
        fix="Retry later, or use port 465; tell the provider. Never continue the session without TLS.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC3207_4, _RFC8314_33),
        symptoms=(
            Symptom("server", "TLS not available due to temporary reason",
                    note="RFC 3207's own wording, here as 454 4.7.0"),
            Symptom("server", "454 4.7.0 TLS not available due to local problem", source="reported",
                    note="Postfix's wording"),
            Symptom("python", "SMTPResponseException: (454, b'4.7.0 TLS not available due to temporary reason')"),
            Symptom("curl", "(64) STARTTLS denied, code 454"),
        ),
    ),
    Entry(
        id="starttls-required-first",
        title="Mail or login before STARTTLS on a port that requires TLS",
        ports=(587,),
        group="A",
        what_happened=(
            "Your program started sending (or logging in) in plaintext. This server accepts nothing but "
            "EHLO, STARTTLS, NOOP and QUIT until the connection is encrypted, so it refused with 530 (or "
            "538 for a login)."
        ),
        why=(
            "Submission servers protect your password and message by requiring TLS first. smtplib.SMTP "
            "does not call starttls() for you; neither does code that skips it."
        ),
        fix="Call starttls() (with a verifying context) before login() and sending, or use port 465.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC3207_4, _RFC4954_6),
        symptoms=(
            Symptom("server", "Must issue a STARTTLS command first"),
            Symptom("python", "SMTPSenderRefused: (530, b'5.7.0 Must issue a STARTTLS command first', …)"),
            Symptom("go", "538 5.7.11 Encryption required for requested authentication mechanism",
                    note="c.Auth before StartTLS: Go sends AUTH even when the server did not offer it"),
            Symptom("node", "Mail command failed: 530 5.7.0 Must issue a STARTTLS command first",
                    note="with ignoreTLS: true"),
            _MAIL_530_CURL,
            Symptom("swaks", "<** 530 5.7.0 Must issue a STARTTLS command first"),
        ),
    ),
    # ---------------------------------------------------------------------------------- B: authentication
    Entry(
        id="auth-not-advertised",
        title="Login attempted, but the server offers no AUTH (yet)",
        ports=(587, 25),
        group="B",
        what_happened=(
            "Your program tried to log in, but the server's list of capabilities had no AUTH. Many "
            "servers list AUTH only after STARTTLS; a port-25 relay never offers it."
        ),
        why=(
            "Postfix (smtpd_tls_auth_only), Gmail and others hide AUTH until the connection is "
            "encrypted, so a password never crosses the wire in plaintext. Port 25 is for server-to-server "
            "delivery and takes no logins at all."
        ),
        fix="Call starttls() before login(); to send with a login, use the submission port 587 or 465, not 25.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(Rfc(4954, "3", "the AUTH extension and its EHLO keyword"), _RFC3207_4, _RFC6409_43),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: SMTP AUTH extension not supported by server."),
            Symptom("go", "smtp: server doesn't support AUTH",
                    note="smtp.SendMail with an Auth against a server that offers none, e.g. port 25"),
            Symptom("swaks", "*** Host did not advertise authentication"),
            Symptom("swaks", "No acceptable authentication types available", source="reported",
                    note="listed in failure-modes.md; swaks 20201014.0 has no such message"),
            _MAIL_530_CURL,
        ),
    ),
    Entry(
        id="auth-mechanism-mismatch",
        title="Login mechanism the server does not support",
        ports=(587, 465),
        group="B",
        what_happened=(
            "Your program asked to log in with a method (such as CRAM-MD5) that this server does not "
            "offer, so it refused the login before looking at the password."
        ),
        why=(
            "The server lists the mechanisms it accepts after `AUTH` in its EHLO reply (here PLAIN and "
            "LOGIN). Go's smtp.CRAMMD5Auth, or a library configured with a fixed mechanism, asks for "
            "one anyway."
        ),
        fix="Use a mechanism the server lists: smtplib's login() picks one; in Go use smtp.PlainAuth over TLS.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC4954_4,),
        symptoms=(
            Symptom("server", "504 5.7.4 Unrecognized authentication type", source="reported",
                    note="gh:jordan-wright/email#113"),
            Symptom("server", "Unrecognized authentication type", note="the lab (aiosmtpd) says 504 5.5.4"),
            Symptom("python", "SMTPException: No suitable authentication method found.", source="reported",
                    note="login() found none of CRAM-MD5, PLAIN, LOGIN in the server's AUTH list"),
            Symptom("python", "SMTPAuthenticationError: (504, b'5.5.4 Unrecognized authentication type')"),
            Symptom("swaks", "*** Auth not attempted, requested type not available"),
        ),
    ),
    Entry(
        id="bad-credentials",
        title="User name or password refused",
        ports=(587, 465),
        group="B",
        what_happened="The server checked the user name and password and said no (535).",
        why=(
            "A wrong or expired password, a user name that must be the full address, a provider that "
            "wants an app password or an API key instead of the account password, or a login method "
            "the account may not use."
        ),
        fix=(
            "Check the user name (often the full address) and the password or API key; read them from "
            "the environment, not from code. Do not retry in a loop: servers block after a few failures."
        ),
        fix_python='''\
import os, smtplib, ssl

context = ssl.create_default_context()
with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
    smtp.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
    smtp.send_message(msg)
''',
        fix_go=_GO_465.replace('c.Auth(smtp.PlainAuth("", user, password, host))',
                               'c.Auth(smtp.PlainAuth("", os.Getenv("SMTP_USER"), os.Getenv("SMTP_PASSWORD"), host))'),
        rfcs=(_RFC4954_4, _RFC4954_6),
        symptoms=(
            Symptom("python", "SMTPAuthenticationError: (535, b'5.7.8 Username and Password not accepted…",
                    source="reported", note="Gmail"),
            Symptom("python", "SMTPAuthenticationError: (535, b'5.7.8 Error: authentication failed')"),
            Symptom("server", "535 5.7.8", note="RFC 4954: authentication credentials invalid"),
            Symptom("server", "535 5.7.3 Authentication unsuccessful", source="reported", note="Microsoft 365"),
            Symptom("node", "Invalid login: 535", note="code EAUTH"),
            Symptom("curl", "(67) Login denied", generic=True,
                    note="curl says this for any refused login: a 454 block or a missing mechanism too"),
            Symptom("swaks", "*** No authentication type succeeded", generic=True,
                    note="swaks's summary; the server's reply line above it tells why"),
        ),
    ),
    Entry(
        id="gmail-app-password",
        title="Gmail wants an app password",
        ports=(587, 465),
        group="B",
        what_happened="Gmail refused the account password for this kind of program and asked for an app password.",
        why="Accounts with 2-step verification cannot use their normal password over SMTP.",
        fix="Create an app password (or use OAuth2) and log in with it.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC4954_6,),
        symptoms=(
            Symptom("server", "5.7.9 Application-specific password required", source="reported"),
            Symptom("python", "SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required…",
                    source="reported"),
        ),
    ),
    Entry(
        id="m365-basic-auth-disabled",
        title="Microsoft 365 has SMTP password login turned off",
        ports=(587,),
        group="B",
        what_happened="Microsoft 365 refused the login: password (basic) authentication is disabled for SMTP.",
        why=(
            "SMTP AUTH is off for the tenant or the mailbox, and Microsoft is retiring basic authentication "
            "for client submission."
        ),
        fix="Have the admin enable authenticated SMTP for the mailbox, or switch to OAuth2 (XOAUTH2) or Graph.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC4954_6,),
        symptoms=(
            Symptom("server", "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
                    "for the Tenant", source="reported"),
            Symptom("server", "550 5.7.30 Basic authentication is not supported for Client Submission",
                    source="reported"),
        ),
    ),
    Entry(
        id="unauthenticated-submission",
        title="Mail submitted without logging in",
        ports=(587, 465),
        group="B",
        what_happened="Your program sent MAIL FROM without logging in, and the submission server refused (530).",
        why=(
            "A submission port (587, 465) takes mail only from logged-in users; otherwise anyone could "
            "send mail in the provider's name."
        ),
        fix="Call login() (after starttls() on 587) before sending.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC6409_43, _RFC4954_6),
        symptoms=(
            Symptom("server", "530 5.7.0 Authentication required",
                    note="Gmail writes Authentication Required"),
            Symptom("server", "530 5.7.57 Client not authenticated to send mail", source="reported",
                    note="Microsoft 365"),
            Symptom("python", "SMTPSenderRefused: (530, b'5.7.0 Authentication required', …)"),
            Symptom("node", "Mail command failed: 530 5.7.0 Authentication required"),
            _MAIL_530_CURL,
        ),
    ),
    # ---------------------------------------------------------------------------------- C: identity, relay
    Entry(
        id="sender-identity-mismatch",
        title="Sender address not owned by the logged-in user",
        ports=(587, 465),
        group="C",
        what_happened=(
            "You logged in as one user but gave another address as the sender (MAIL FROM). The server "
            "refuses to send as someone you have not proven to be."
        ),
        why=(
            "Submission servers tie sender addresses to logins (Postfix reject_sender_login_mismatch, "
            "Microsoft's SendAs permission, SendGrid and SES verified senders) so that accounts cannot "
            "spoof each other. Postfix answers at RCPT, others at MAIL or after the message."
        ),
        fix="Send from the address you log in as (or one verified for it); put a different reply address in Reply-To.",
        fix_python='''\
msg["From"] = user                  # the address you log in as
msg["Reply-To"] = "someone.else@example.com"
with smtplib.SMTP_SSL("smtp.example.com", 465, context=ssl.create_default_context(), timeout=30) as smtp:
    smtp.login(user, password)
    smtp.send_message(msg)          # MAIL FROM is taken from From:
''',
        fix_go='''\
from := user // the address you log in as
msg := []byte("From: " + from + "\\r\\nReply-To: someone.else@example.com\\r\\n" + rest)
if err = c.Mail(from); err != nil {
	return err
}
''',
        rfcs=(_RFC6409_61, _RFC3463_38),
        symptoms=(
            Symptom("server", "Sender address rejected: not owned by user", note="Postfix, at RCPT"),
            Symptom("python", "SMTPRecipientsRefused: {'…': (553, b'5.7.1 <…>: Sender address rejected: "
                    "not owned by user …')}"),
            Symptom("node", "Can't send mail - all recipients were rejected: 553 5.7.1", note="code EENVELOPE"),
            Symptom("curl", "(55) RCPT failed: 553", note="553 can also mean a malformed address; add -v"),
            Symptom("server", "Client does not have permissions to send as this sender", source="reported",
                    note="Microsoft 365, 550 5.7.60, after DATA"),
            Symptom("server", "554 5.2.252 SendAsDenied", source="reported", note="Microsoft 365"),
            Symptom("server", "The from address does not match a verified Sender Identity", source="reported",
                    note="SendGrid, 550"),
            Symptom("server", "554 Message rejected: Email address is not verified", source="reported",
                    note="Amazon SES"),
        ),
    ),
    Entry(
        id="from-header-mismatch",
        title="From: header missing or not in the logged-in domain (\"spoofed email\")",
        ports=(587, 465),
        group="C",
        what_happened=(
            "The server took the whole message, then refused it: the From: line inside the message is "
            "missing, malformed, or in a domain your login does not own, so it looks spoofed."
        ),
        why=(
            "The envelope (MAIL FROM) and the From: header are different things; some providers check "
            "the header too. The case study's Go code wrote `sender <smtp.example.com>`, a host name "
            "where the address belongs; smtplib's sendmail() sends whatever bytes you give it, with or "
            "without a From: line. (failure-modes.md lists this refusal under sender-identity-mismatch.)"
        ),
        fix="Build the message with EmailMessage and set From: to the address you log in as; send_message().",
        fix_python='''\
from email.message import EmailMessage

msg = EmailMessage()
msg["From"] = "sender@example.com"   # an address in your login's domain, not a host name
msg["To"] = "someone@example.net"
msg["Subject"] = "Hello"
msg.set_content("Hi!")
with smtplib.SMTP_SSL("smtp.example.com", 465, context=ssl.create_default_context(), timeout=30) as smtp:
    smtp.login(user, password)
    smtp.send_message(msg)
''',
        fix_go='''\
from := "sender@example.com" // an address, not a host name
msg := []byte("From: Sender <" + from + ">\\r\\nTo: someone@example.net\\r\\nSubject: Hello\\r\\n\\r\\nHi!\\r\\n")
''',
        rfcs=(Rfc(5322, "3.6.2", "the From: field holds the author's mailbox address"), _RFC6409_63),
        symptoms=(
            Symptom("server", "must match your authenticated email domain",
                    note="the case study's provider; the lab's strict-from endpoints"),
            Symptom("server", "Treating this as a spoofed email"),
            Symptom("python", "SMTPDataError: (550, b'5.7.1 Your FROM address ( , ) must match your "
                    "authenticated email domain ( example.com ). Treating this as a spoofed email.')"),
            Symptom("curl", "(8) Weird server reply", generic=True,
                    note="curl's message for a refusal after the data; the 550 itself shows only with -v"),
        ),
    ),
    Entry(
        id="relay-denied",
        title="Relaying refused: the server takes mail only for its own domains",
        ports=(25,),
        group="C",
        what_happened=(
            "You handed the server mail for someone in another domain without logging in. It only "
            "accepts mail addressed to its own domains, so it refused the recipient."
        ),
        why=(
            "Port 25 servers are the destination's mail exchangers; forwarding anyone's mail anywhere "
            "would make them open relays for spam. To send to any address you submit through your "
            "provider on 587 or 465, logged in."
        ),
        fix="Submit through your provider's submission port (465 or 587) with a login.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(Rfc(5321, "3.6.2", "a relay may decline to relay mail; it SHOULD answer 550"), _RFC3463_38),
        symptoms=(
            Symptom("server", "Relay access denied", note="Postfix, 554 5.7.1 at RCPT"),
            Symptom("server", "550 5.7.1 Unable to relay", source="reported", note="Exchange"),
            Symptom("python", "SMTPRecipientsRefused", source="reported", generic=True,
                    note="the exception for every refused recipient; the reply inside tells which refusal"),
            Symptom("node", "Can't send mail - all recipients were rejected: 554 5.7.1"),
            Symptom("curl", "(55) RCPT failed: 554"),
        ),
    ),
    # ---------------------------------------------------------------------------------- D: network
    Entry(
        id="egress-port-blocked",
        title="Connection attempt timed out: the port is filtered",
        ports=(25, 465, 587),
        group="D",
        what_happened=(
            "Your program never got a connection: its attempts went unanswered until the timeout. "
            "Nothing refused them; they were silently dropped on the way."
        ),
        why=(
            "Firewalls drop packets to blocked ports. Cloud providers block outgoing port 25 (Google "
            "Cloud always; others until you ask), and some networks block 465 or 587. A wrong host name "
            "that resolves to an unreachable address looks the same."
        ),
        fix="Send through a submission port (587 or 465) of your mail provider, or ask the network's owner to open it.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(Rfc(6409, "3.1", "port 587 is for message submission"), _RFC8314_33),
        symptoms=(
            Symptom("python", "TimeoutError: timed out", whole_line=True, note="with timeout= set"),
            Symptom("python", "TimeoutError: [Errno 110] Connection timed out", source="reported",
                    note="without a timeout, after the system gives up (about 2 minutes on Linux)"),
            Symptom("go", "dial tcp …: i/o timeout", note="with a net.Dialer Timeout"),
            Symptom("node", "connect ETIMEDOUT", source="reported"),
            Symptom("node", "Error: Connection timeout", whole_line=True, note="nodemailer's connectionTimeout"),
            Symptom("curl", "(28) Connection timed out after"),
            Symptom("curl", "(28) Failed to connect to … Timeout was reached"),
            Symptom("swaks", "IO::Socket::…: connect: timeout",
                    note="INET6, INET or IP, after the Perl socket module swaks found"),
        ),
    ),
    Entry(
        id="connection-refused",
        title="Connection refused: nothing listens on that port",
        ports=(468, 456, 465, 587, 25),
        group="D",
        what_happened=(
            "The machine answered at once that no program is listening on that port. Most often the port "
            "number is mistyped (the case study used 468 for 465; 456 is another favourite)."
        ),
        why="A typo in the port or host, a mail server that is not running, or a firewall that rejects.",
        fix="Check host and port: 465 (implicit TLS) or 587 (STARTTLS) for submission, 25 between servers.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(_RFC8314_33, Rfc(6409, "3.1", "port 587 is for message submission")),
        symptoms=(
            Symptom("python", "ConnectionRefusedError: [Errno 111] Connection refused"),
            Symptom("python", "[WinError 10061] No connection could be made because the target machine actively "
                    "refused it", source="reported", note="Windows"),
            Symptom("go", "dial tcp …: connect: connection refused"),
            Symptom("node", "connect ECONNREFUSED …"),
            Symptom("curl", "(7) Failed to connect to … Couldn't connect to server"),
            Symptom("swaks", "IO::Socket::…: connect: Connection refused",
                    note="INET6, INET or IP, after the Perl socket module swaks found"),
        ),
    ),
    Entry(
        id="ipv6-path",
        title="Connected over IPv6 to a server that listens on IPv4 only",
        ports=(25, 465, 587),
        group="D",
        what_happened=(
            "The name (typically `localhost`) resolved to the IPv6 address ::1 first, and nothing listens "
            "there; the server is on 127.0.0.1."
        ),
        why="Node 17 and later keep the resolver's order, which on many systems puts ::1 before 127.0.0.1.",
        fix="Connect to 127.0.0.1 explicitly, or make the server listen on both addresses.",
        fix_python='''\
# Python tries every address the name resolves to, so this mostly bites Node; to be explicit:
with smtplib.SMTP("127.0.0.1", 587, timeout=30) as smtp:
    smtp.starttls(context=ssl.create_default_context(cafile="server-ca.pem"))
''',
        fix_go='''\
conn, err := tls.Dial("tcp4", "127.0.0.1:465", &tls.Config{ServerName: "localhost"})
''',
        rfcs=(),
        symptoms=(
            Symptom("node", "connect ECONNREFUSED ::1:"),
        ),
    ),
    Entry(
        id="greeting-timeout",
        title="Connected, but no greeting before the timeout",
        ports=(25, 587, 465),
        group="D",
        what_happened=(
            "The connection was made, then the server said nothing (no `220` greeting) before your "
            "program stopped waiting."
        ),
        why=(
            "A slow or overloaded server (servers may delay the greeting on purpose; RFC 5321 asks clients "
            "to wait at least 5 minutes for it), a tarpit, a proxy that accepts connections but has no "
            "server behind it, or a TLS port spoken to in plaintext (then see plaintext-to-implicit-tls)."
        ),
        fix=(
            "Keep a timeout, but a patient one (30 s or more for the greeting); if it never answers, check "
            "host, port and TLS mode with the doctor."
        ),
        fix_python='''\
with smtplib.SMTP("smtp.example.com", 587, timeout=60) as smtp:   # wait long enough for a slow greeting
    smtp.starttls(context=ssl.create_default_context())
    smtp.login(user, password)
    smtp.send_message(msg)
''',
        fix_go='''\
conn, err := net.DialTimeout("tcp", host+":587", 30*time.Second)
if err != nil {
	return err
}
conn.SetDeadline(time.Now().Add(2 * time.Minute)) // net/smtp itself never times out
c, err := smtp.NewClient(conn, host)
''',
        rfcs=(_RFC5321_4532, Rfc(5321, "4.5.3.2.1", "the initial 220 message: wait 5 minutes")),
        symptoms=(
            _TIMED_OUT_PY,
            _READ_TIMEOUT_GO,
            _GREETING_NODE,
            _NO_BYTES_CURL,
            _TIMEOUT_SWAKS,
        ),
    ),
    Entry(
        id="server-busy",
        title="The server greeted with 421: busy, try later",
        ports=(25, 587, 465),
        group="D",
        what_happened="Instead of `220` the server greeted with `421` (service not available) and hung up.",
        why=(
            "The server is overloaded, shutting down, or limiting connections from your address. 421 is "
            "temporary."
        ),
        fix="Retry later with back-off, or try the provider's other host; do not hammer it.",
        fix_python='''\
for attempt, delay in enumerate((0, 60, 300)):
    time.sleep(delay)
    try:
        with smtplib.SMTP_SSL("smtp.example.com", 465, context=ssl.create_default_context(), timeout=30) as smtp:
            smtp.login(user, password)
            smtp.send_message(msg)
        break
    except smtplib.SMTPConnectError as error:
        if error.smtp_code != 421:
            raise
''',
        fix_go='''\
for _, delay := range []time.Duration{0, time.Minute, 5 * time.Minute} {
	time.Sleep(delay)
	if err = send(); err == nil {
		break
	}
	var reply *textproto.Error
	if !errors.As(err, &reply) || reply.Code != 421 {
		return err
	}
}
''',
        rfcs=(_RFC5321_3_8, _RFC5321_4541),
        symptoms=(
            Symptom("server", "Service not available, closing transmission channel", note="421"),
            Symptom("python", "SMTPConnectError: (421, b'…"),
            Symptom("node", "Invalid greeting. response=421", note="code EPROTOCOL"),
            Symptom("curl", "(8) Got unexpected smtp-server response: 421"),
        ),
    ),
    Entry(
        id="not-smtp",
        title="Something other than a mail server answered",
        ports=(25, 587, 465),
        group="D",
        what_happened="The first line from the server was not an SMTP greeting; here a web server answered in HTTP.",
        why="A wrong port or host: a web server, a proxy or another service listens there.",
        fix="Check the host and the port in the provider's documentation: 465 or 587 for submission.",
        fix_python=_PY_465,
        fix_go=_GO_465,
        rfcs=(Rfc(5321, "3.1", "session initiation: the server's first reply is the 220 greeting"),),
        symptoms=(
            Symptom("python", "SMTPConnectError: (-1, b'", note="smtplib could not read a reply code"),
            Symptom("go", "short response: HTTP/"),
            Symptom("node", "Invalid greeting. response=HTTP/"),
            Symptom("swaks", "<** HTTP/1."),
            Symptom("swaks", "<~* HTTP/1."),
            _READ_FAILED_CURL,
        ),
    ),
    # ---------------------------------------------------------------------------------- E: certificates
    Entry(
        id="cert-untrusted",
        title="Certificate from a CA your program does not trust (or self-signed)",
        ports=(465, 587, 25),
        group="E",
        what_happened=(
            "The server showed a certificate, but nobody your program trusts vouches for it: it was signed "
            "by a private CA, by itself, or the server left out the intermediate certificate."
        ),
        why=(
            "Your program checks certificates against a list of trusted CAs (the system's). Company CAs, "
            "self-signed test servers, TLS-intercepting antivirus or proxies, and incomplete chains are "
            "not on it."
        ),
        fix=(
            "Trust that CA (or that exact certificate) explicitly with cafile=; if it should be public, "
            "have the server send its full chain. Never turn verification off."
        ),
        fix_python='''\
context = ssl.create_default_context(cafile="company-ca.pem")   # trust this CA (and only it)
with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
    smtp.login(user, password)
    smtp.send_message(msg)
''',
        fix_go='''\
pem, err := os.ReadFile("company-ca.pem")
if err != nil {
	return err
}
roots := x509.NewCertPool()
roots.AppendCertsFromPEM(pem)
conn, err := tls.Dial("tcp", host+":465", &tls.Config{ServerName: host, RootCAs: roots})
// or run the program with SSL_CERT_FILE=company-ca.pem
''',
        rfcs=(_RFC8314_5, _RFC8314_33),
        symptoms=(
            Symptom("python", "certificate verify failed: unable to get local issuer certificate"),
            Symptom("python", "certificate verify failed: self-signed certificate"),
            Symptom("python", "certificate verify failed: self signed certificate", source="reported",
                    note="OpenSSL 1.1 wording"),
            Symptom("go", "x509: certificate signed by unknown authority"),
            Symptom("node", "unable to verify the first certificate"),
            Symptom("node", "self-signed certificate"),
            Symptom("curl", "(60) SSL certificate problem: unable to get local issuer certificate"),
            Symptom("curl", "(60) SSL certificate problem: self-signed certificate"),
            _CERT_VERIFY_FAILED,
        ),
    ),
    Entry(
        id="cert-name-mismatch",
        title="Certificate issued for another host name",
        ports=(465, 587, 25),
        group="E",
        what_happened=(
            "The certificate is genuine, but for a different name than the one your program connected to "
            "(often: connecting by IP address, or by an alias of the server)."
        ),
        why=(
            "A certificate lists the names (and IP addresses) it is valid for; a client must check that "
            "the name it dialled is one of them, or anyone with any valid certificate could pose as the "
            "server."
        ),
        fix="Connect by the name on the certificate (the provider's documented host name); never skip the name check.",
        fix_python='''\
context = ssl.create_default_context()
with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:   # the certificate's name
    smtp.login(user, password)
''',
        fix_go='''\
host := "smtp.example.com" // the name on the certificate, not an IP address
conn, err := tls.Dial("tcp", host+":465", &tls.Config{ServerName: host})
''',
        rfcs=(_RFC5280_san, _RFC8314_33),
        symptoms=(
            Symptom("python", "certificate verify failed: IP address mismatch, certificate is not valid for"),
            Symptom("python", "certificate verify failed: Hostname mismatch, certificate is not valid for",
                    source="reported"),
            Symptom("go", "x509: cannot validate certificate for … because it doesn't contain any IP SANs"),
            Symptom("go", "x509: certificate is valid for …, not …", source="reported"),
            Symptom("go", "x509: certificate is not valid for any names, but wanted to match"),
            Symptom("node", "Hostname/IP does not match certificate's altnames"),
            Symptom("curl", "(60) SSL: no alternative certificate subject name matches target host name"),
            # swaks 20201014.0 verifies the chain but not the name: it connects without complaint.
        ),
    ),
    Entry(
        id="cert-expired",
        title="Certificate expired (or not valid yet)",
        ports=(465, 587, 25),
        group="E",
        what_happened="The server's certificate is outside its validity dates: expired, or starting in the future.",
        why=(
            "The provider forgot to renew it, or the clock on your machine is wrong (a \"not yet valid\" "
            "certificate often means your clock is behind)."
        ),
        fix="Check your system clock; otherwise the provider must renew the certificate. Do not disable verification.",
        fix_python='''\
# Nothing to change in the code: check the clock (timedatectl), then wait for the provider's renewal.
context = ssl.create_default_context()
with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
    smtp.login(user, password)
''',
        fix_go='''\
// Nothing to change in the code: check the clock, then wait for the provider's renewal.
conn, err := tls.Dial("tcp", host+":465", &tls.Config{ServerName: host})
''',
        rfcs=(_RFC5280_validity, _RFC8314_5),
        symptoms=(
            Symptom("python", "certificate verify failed: certificate has expired"),
            Symptom("python", "certificate verify failed: certificate is not yet valid"),
            Symptom("go", "x509: certificate has expired or is not yet valid"),
            Symptom("node", "certificate has expired"),
            Symptom("node", "certificate is not yet valid"),
            Symptom("curl", "(60) SSL certificate problem: certificate has expired"),
            Symptom("curl", "(60) SSL certificate problem: certificate is not yet valid"),
            _CERT_VERIFY_FAILED,
        ),
    ),
    Entry(
        id="tls-handshake-aborted",
        title="The server hung up during the TLS handshake",
        ports=(465, 587),
        group="E",
        what_happened=(
            "Your program began the TLS handshake and the server closed the connection before finishing it, "
            "without saying why."
        ),
        why=(
            "No TLS version or cipher in common, a server that needs the host name (SNI) it did not get, a "
            "middlebox cutting TLS, or an overloaded server."
        ),
        fix="Connect by host name (so SNI is sent), keep Python/OpenSSL current, try the other submission port.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC8314_33,),
        symptoms=(
            Symptom("python", "SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol"),
            Symptom("python", "EOF occurred in violation of protocol", source="reported", note="older OpenSSL"),
            _EOF_GO,
            Symptom("node", "Client network socket disconnected before secure TLS connection was established"),
            Symptom("curl", "(35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to"),
            Symptom("swaks", "*** TLS startup failed (connect(): error:0A000126:SSL routines::unexpected eof while "
                    "reading)"),
        ),
    ),
    Entry(
        id="python-silent-no-verify",
        title="Python's smtplib does not verify certificates unless given a context",
        ports=(465, 587),
        group="E",
        what_happened=(
            "Nothing visibly fails: smtplib.SMTP_SSL() and starttls() without context= accept any "
            "certificate, so an impostor gets your password."
        ),
        why=(
            "Without context=, smtplib uses ssl._create_stdlib_context(), which checks neither the "
            "certificate chain nor the host name."
        ),
        fix="Always pass context=ssl.create_default_context(). Turning checks off (CERT_NONE, check_hostname=False) "
            "is the same mistake made on purpose.",
        fix_python='''\
context = ssl.create_default_context()
smtp.starttls(context=context)       # or smtplib.SMTP_SSL(host, 465, context=context)
''',
        fix_go='''\
// Go verifies by default; keep it that way: never set InsecureSkipVerify.
conn, err := tls.Dial("tcp", host+":465", &tls.Config{ServerName: host})
''',
        rfcs=(_RFC8314_5,),
        symptoms=(),
    ),
    Entry(
        id="starttls-downgrade",
        title="Opportunistic STARTTLS quietly falls back to plaintext",
        ports=(587, 25),
        group="E",
        what_happened=(
            "Nothing visibly fails: when the server (or an attacker in between) does not offer STARTTLS, "
            "the client carries on unencrypted, password included."
        ),
        why=(
            "Go's smtp.SendMail, nodemailer without requireTLS, curl --ssl and swaks -tlso use TLS only "
            "if offered; STARTTLS can be stripped from the EHLO reply before TLS starts."
        ),
        fix="Require TLS: implicit TLS on 465, or fail when STARTTLS is missing (starttls(), Go c.StartTLS, "
            "requireTLS: true, curl --ssl-reqd, swaks -tls).",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC3207_6, _RFC8314_33),
        symptoms=(),
    ),
    Entry(
        id="go-plainauth-unencrypted",
        title="Go's PlainAuth refuses: unencrypted connection or wrong host name",
        ports=(587, 25),
        group="E",
        what_happened=(
            "Go's smtp.PlainAuth refused to send the password: the connection was not encrypted, or the "
            "host given to PlainAuth is not the one connected to."
        ),
        why=(
            "PlainAuth sends the password only over TLS (or to localhost, 127.0.0.1, ::1) and only to the "
            "server name it was given, as a guard against leaking it."
        ),
        fix="Use TLS (465, or StartTLS on 587) and pass PlainAuth the same host name you dial.",
        fix_python=_PY_587,
        fix_go=_GO_587,
        rfcs=(_RFC4954_4,),
        symptoms=(
            Symptom("go", "unencrypted connection", source="reported", whole_line=True),
            Symptom("go", "wrong host name", whole_line=True),
        ),
    ),
    # ---------------------------------------------------------------------------------- F: content, volume
    Entry(
        id="message-too-large",
        title="Message larger than the server accepts",
        ports=(587, 465, 25),
        group="F",
        what_happened="The message (with its attachments) is bigger than the server's size limit, so it refused it.",
        why=(
            "Servers announce their limit (SIZE in the EHLO reply); smtplib declares the message's size in "
            "MAIL FROM and the server refuses at once. Attachments grow by a third when encoded."
        ),
        fix="Send a link instead of a large attachment, or compress/split it; read smtp.esmtp_features['size'].",
        fix_python='''\
limit = int(smtp.esmtp_features.get("size", "0") or 0)
if limit and len(msg.as_bytes()) > limit:
    raise ValueError(f"message is {len(msg.as_bytes())} bytes; the server takes {limit}: send a link instead")
smtp.send_message(msg)
''',
        fix_go='''\
if ok, size := c.Extension("SIZE"); ok {
	if limit, _ := strconv.Atoi(size); limit > 0 && len(msg) > limit {
		return fmt.Errorf("message is %d bytes; the server takes %d", len(msg), limit)
	}
}
''',
        rfcs=(Rfc(1870, "6", "the SIZE parameter of MAIL and the 552 refusal"),
              Rfc(3463, "3.4", "X.3.4 message too big for system")),
        symptoms=(
            Symptom("server", "552 5.3.4 Message size exceeds fixed limit", note="Postfix's wording"),
            Symptom("server", "message size exceeds fixed maximium message size", source="reported",
                    note="RFC 1870's wording, typo included"),
            Symptom("server", "552 5.2.3", source="reported", note="Gmail"),
            Symptom("server", "552-5.2.3", source="reported", note="Gmail, multi-line"),
            Symptom("python", "SMTPSenderRefused: (552, b'5.3.4 Message size exceeds fixed limit', …)"),
            Symptom("curl", "(55) MAIL failed: 552", note="curl declares the size in MAIL FROM"),
        ),
    ),
    Entry(
        id="rate-limited",
        title="Too many attempts: temporarily blocked",
        ports=(587, 465),
        group="F",
        what_happened="After several failed logins (or too many messages) the server stopped accepting for a while.",
        why="Providers throttle by account and by address to stop password guessing and spam.",
        fix="Stop retrying; fix the password first, then wait and retry with growing pauses.",
        fix_python='''\
try:
    smtp.login(user, password)
except smtplib.SMTPAuthenticationError as error:
    if error.smtp_code == 454:       # temporary: wait before the next try, do not loop
        raise RuntimeError("rate limited; try again in a few minutes") from error
    raise
''',
        fix_go='''\
if err = c.Auth(auth); err != nil {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code == 454 {
		return fmt.Errorf("rate limited, try again later: %w", err)
	}
	return err
}
''',
        rfcs=(_RFC4954_6, _RFC5321_4541),
        symptoms=(
            Symptom("server", "454 4.7.0 Too many login attempts"),
            Symptom("server", "421-4.7.0 Try again later, closing connection.", source="reported", note="Gmail"),
            Symptom("python", "SMTPAuthenticationError: (454, b'4.7.0 Too many login attempts…"),
            Symptom("node", "Invalid login: 454 4.7.0 Too many login attempts"),
        ),
    ),
    Entry(
        id="greylisted",
        title="Greylisted: temporary refusal of a first-time sender",
        ports=(25,),
        group="F",
        what_happened=(
            "The receiving server refused the recipient with a temporary (4xx) error because it had never "
            "seen this sender from this address before. It will accept the same mail when retried later."
        ),
        why=(
            "Greylisting: real mail servers queue and retry, most spam software does not. The retry must "
            "come from the same client with the same sender and recipient."
        ),
        fix="Queue the message and retry after a delay (minutes; RFC 5321 suggests at least 30), as an MTA does.",
        fix_python='''\
for delay in (0, 300, 900, 1800):
    time.sleep(delay)
    try:
        with smtplib.SMTP("mx.example.net", 25, timeout=30) as smtp:
            smtp.starttls(context=ssl.create_default_context())
            smtp.send_message(msg)
        break
    except smtplib.SMTPRecipientsRefused as error:
        if not all(400 <= code < 500 for code, _ in error.recipients.values()):
            raise
''',
        fix_go='''\
for _, delay := range []time.Duration{0, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute} {
	time.Sleep(delay)
	var reply *textproto.Error
	if err = send(); err == nil || !errors.As(err, &reply) || reply.Code >= 500 {
		break
	}
}
''',
        rfcs=(Rfc(6647, "1", "greylisting: temporarily degraded service to unknown clients"), _RFC5321_4541),
        symptoms=(
            Symptom("server", "Recipient address rejected: Greylisted"),
            Symptom("server", "450 4.2.0 Recipient address rejected: Greylisted", source="reported"),
            Symptom("server", "451 4.7.1 Try again later", source="reported"),
            Symptom("python", "SMTPRecipientsRefused: {'…': (451, b'4.7.1 <…>: Recipient address rejected: "
                    "Greylisted, try again later')}"),
            Symptom("curl", "(55) RCPT failed: 451", note="451 at RCPT is usually greylisting; add -v for the text"),
        ),
    ),
    Entry(
        id="non-ascii-address",
        title="Non-ASCII address, but the server lacks SMTPUTF8",
        ports=(587, 465, 25),
        group="F",
        what_happened=(
            "An address has letters outside ASCII (jörg@...). That needs the server's SMTPUTF8 extension, "
            "which this server does not offer."
        ),
        why=(
            "Plain SMTP allows only ASCII in addresses. smtplib's send_message() checks for SMTPUTF8; "
            "sendmail() with a str address fails while encoding the command."
        ),
        fix="Use the recipient's ASCII address (or an IDNA domain), or a provider that offers SMTPUTF8.",
        fix_python='''\
if not smtp.has_extn("smtputf8"):
    to = "joerg@example.com"          # the ASCII address the recipient also has
smtp.send_message(msg, to_addrs=[to])
''',
        fix_go='''\
if ok, _ := c.Extension("SMTPUTF8"); !ok {
	to = "joerg@example.com" // net/smtp adds SMTPUTF8 to MAIL only when the server offers it
}
''',
        rfcs=(Rfc(5321, "2.4", "without an extension, envelope commands are US-ASCII only"),
              Rfc(6531, "3.1", "the SMTPUTF8 extension the server must offer"),
              Rfc(6531, "3.3", "the extended address syntax that allows UTF-8")),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: SMTPUTF8 not supported by server", source="reported"),
            Symptom("python", "One or more source or delivery addresses require internationalized email support, "
                    "but the server does not advertise the required SMTPUTF8 capability"),
            Symptom("server", "Error: strict ASCII mode", note="aiosmtpd's 500 reply, seen by Go and nodemailer"),
            _UNICODE_PY,
        ),
    ),
    Entry(
        id="non-ascii-body-as-str",
        title="Non-ASCII text passed to sendmail() as a str",
        ports=(587, 465, 25),
        group="F",
        what_happened=(
            "smtplib could not send the message text: it contains letters outside ASCII (ü, é, emoji) and "
            "was given as a plain string."
        ),
        why=(
            "sendmail() encodes a str message as ASCII (gh:python/cpython#116051). A message needs MIME "
            "headers and an encoding, which EmailMessage adds for you."
        ),
        fix="Build the message with email.message.EmailMessage and send it with send_message().",
        fix_python='''\
from email.message import EmailMessage

msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = user, "jorg@example.net", "Grüße"
msg.set_content("Hallo Jörg!")      # EmailMessage picks UTF-8 and a transfer encoding
smtp.send_message(msg)
''',
        fix_go='''\
subject := mime.QEncoding.Encode("utf-8", "Grüße")
body := base64.StdEncoding.EncodeToString([]byte("Hallo Jörg!"))
msg := []byte("From: " + from + "\\r\\nTo: " + to + "\\r\\nSubject: " + subject + "\\r\\n" +
	"MIME-Version: 1.0\\r\\nContent-Type: text/plain; charset=UTF-8\\r\\n" +
	"Content-Transfer-Encoding: base64\\r\\n\\r\\n" + body + "\\r\\n")
''',
        rfcs=(Rfc(5321, "2.4", "unextended SMTP carries 7-bit US-ASCII only; 8BITMIME needs MIME encoding"),),
        symptoms=(_UNICODE_PY,),
    ),
    Entry(
        id="long-lines",
        title="A line longer than 998 characters",
        ports=(587, 465, 25),
        group="F",
        what_happened="A line of the message is longer than SMTP allows, so the server refused the message.",
        why=(
            "SMTP lines may be at most 1000 octets with CRLF. Raw HTML or base64 without line breaks, "
            "given to sendmail() as is, breaks that; EmailMessage encodes long lines for you."
        ),
        fix="Build the message with EmailMessage (set_content wraps with quoted-printable or base64).",
        fix_python='''\
msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = user, to, "Report"
msg.set_content(html_without_line_breaks, subtype="html")   # encoded in lines of at most 78 characters
smtp.send_message(msg)
''',
        fix_go='''\
var body bytes.Buffer
w := quotedprintable.NewWriter(&body) // mime/quotedprintable wraps lines at 76 characters
w.Write([]byte(html))
w.Close()
''',
        rfcs=(Rfc(5321, "4.5.3.1.6", "a text line is at most 1000 octets including CRLF"),
              Rfc(5322, "2.1.1", "lines MUST be no more than 998 characters")),
        symptoms=(
            Symptom("server", "500 5.0.0 Line too long", source="reported"),
            Symptom("server", "Error: line too long"),
            Symptom("python", "SMTPDataError: (500, b'5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)')"),
        ),
    ),
    Entry(
        id="bare-lf",
        title="Bare line feeds: lines that end in LF without CR",
        ports=(587, 465, 25),
        group="F",
        what_happened="The message's lines end in a bare line feed (\\n) instead of CR LF, so the server refused it.",
        why=(
            "SMTP lines end in CR LF. smtplib sends bytes exactly as given (it fixes line ends only in a str), so "
            "a message built with \\n goes out wrong. Since the SMTP smuggling attacks of 2023, which exploit "
            "servers that read bare line feeds differently, many servers refuse them."
        ),
        fix="Build the message with EmailMessage and send it with send_message(), which always writes CR LF.",
        fix_python='''\
msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = user, to, "Report"
msg.set_content("first line\\nsecond line\\n")   # \\n in your text is fine: send_message writes CR LF
smtp.send_message(msg)
''',
        fix_go='''\
w, err := c.Data()
if err != nil {
	return err
}
// The DATA writer of net/smtp turns every \\n into \\r\\n: write the message through it, not around it.
if _, err = w.Write(message); err != nil {
	return err
}
err = w.Close()
''',
        rfcs=(Rfc(5321, "2.3.8", "lines end in CR LF; a bare CR or LF is not a line ending"),),
        symptoms=(
            Symptom("server", "bare <LF> received"),
            Symptom("server", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal", source="reported",
                    note="Microsoft 365"),
        ),
    ),
    Entry(
        id="ehlo-hostname-rejected",
        title="EHLO name refused: not a fully qualified host name",
        ports=(25, 587),
        group="F",
        what_happened="The server refused your program's EHLO: the name it gave is not a real host name.",
        why=(
            "Go's net/smtp says EHLO localhost unless you call c.Hello; smtplib uses the machine's name, "
            "which may be a short one. Strict servers want a fully qualified name."
        ),
        fix="Introduce yourself with your host's real name: smtplib local_hostname=, Go c.Hello(name).",
        fix_python='''\
with smtplib.SMTP("smtp.example.com", 587, local_hostname="app1.example.com", timeout=30) as smtp:
    smtp.starttls(context=ssl.create_default_context())
''',
        fix_go='''\
c, err := smtp.Dial(host + ":587")
if err != nil {
	return err
}
if err = c.Hello("app1.example.com"); err != nil { // before any other command
	return err
}
''',
        rfcs=(Rfc(5321, "4.1.1.1", "EHLO gives the client's fully qualified domain name (or an address literal)"),),
        symptoms=(
            Symptom("server", "Helo command rejected: need fully-qualified hostname", source="reported",
                    note="Postfix, 504 5.5.2"),
        ),
    ),
    Entry(
        id="timeouts-and-idle-drops",
        title="Connection dropped mid-session, or reused after it closed",
        ports=(25, 587, 465),
        group="F",
        what_happened=(
            "The conversation had started, then the connection was gone: the server hung up on an idle "
            "connection, or your program reused an SMTP object after it was closed."
        ),
        why=(
            "Servers close connections that sit idle (Postfix after 300 s). smtplib objects cannot "
            "reconnect by themselves: after a drop they say `Connection unexpectedly closed`, after that "
            "or quit() `please run connect() first`. Without timeouts (smtplib's and Go's default) a "
            "dead connection hangs forever instead."
        ),
        fix="Open a connection per batch of mail (with ... as smtp:), always set timeouts, and reconnect on failure.",
        fix_python='''\
def send(msg):
    with smtplib.SMTP_SSL("smtp.example.com", 465, context=ssl.create_default_context(), timeout=30) as smtp:
        smtp.login(user, password)
        smtp.send_message(msg)        # a fresh connection each time: nothing to go stale

for msg in batch:
    send(msg)
''',
        fix_go='''\
conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", host+":465",
	&tls.Config{ServerName: host})
if err != nil {
	return err
}
conn.SetDeadline(time.Now().Add(2 * time.Minute)) // net/smtp has no timeouts of its own
''',
        rfcs=(_RFC5321_3_8, _RFC5321_4532),
        symptoms=(
            Symptom("python", "SMTPServerDisconnected: please run connect() first"),
            Symptom("python", "SMTPServerDisconnected: Server not connected", source="reported",
                    note="smtplib, when sending on a socket that failed"),
            _CLOSED_UNEXPECTEDLY_PY,
            Symptom("go", "EOF", source="reported", whole_line=True,
                    note="what net/smtp returns whenever the server has closed the connection"),
            Symptom("node", "Connection closed unexpectedly", source="reported",
                    note="nodemailer's message whenever the server closes during a command"),
            Symptom("swaks", "*** Remote host closed connection unexpectedly.", source="reported",
                    note="swaks's message whenever the server closes"),
            Symptom("swaks", "<** Timeout (…) waiting for server response", source="reported",
                    note="swaks's message when a reply does not come within --timeout"),
        ),
    ),
)

ENTRIES = {entry.id: entry for entry in CATALOG}


def entry(entry_id: str) -> Entry:
    """The catalog entry with this id."""
    try:
        return ENTRIES[entry_id]
    except KeyError:
        raise KeyError(f"no catalog entry {entry_id!r}; the ids are: {', '.join(ENTRIES)}") from None
