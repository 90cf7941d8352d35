"""The failure catalog's entries (the schema and how to read them: helpers.catalog).

Symptoms quote each client and server exactly. Their sources are either the program that printed the text
here, against the lab (the constants below, kept true by tests/test_real_clients.py and tests/test_corpus.py),
or a public address: the source code at a fixed commit, the provider's documentation, or a public report.
Fixes that are a matter of settings come from helpers.snippets, the kit's one code generator; fixes about a
message or a retry are short fragments in its variable names (`smtp` and `message` in Python; `client`,
`msg`, `from` and `to` in Go).
"""

from __future__ import annotations

import base64

from helpers.catalog import (
    ACCOUNT,
    ACCOUNT_DATA,
    ACCOUNT_HELD,
    AUTH_SERVICE,
    BASIC_AUTH,
    BLOCKED,
    BLOCKLIST,
    CERTIFICATE,
    ENCRYPTION,
    EXPIRED,
    FAILING,
    FROM_ADDRESS,
    GREETING_COMMAND,
    HANDSHAKE_CUT_SHORT,
    HOST_NAME,
    INTEGRATED_LOGIN,
    JUDGED,
    LIMIT,
    LOGIN,
    MECHANISM,
    MISMATCH,
    MISSING,
    NOT_OFFERED,
    NOT_OWNED,
    NOT_TRUSTED,
    OUTDATED,
    QUOTA,
    REACHED,
    REFUSED,
    RELAYING,
    REQUIRED,
    REVERSE_NAME,
    SENDER,
    SENDING,
    SENDING_HOST,
    SPAM,
    SPAM_VERDICT,
    SPENT,
    STARTTLS,
    SUSPENDED,
    SWITCHED_OFF,
    TLS_VERSION,
    TOKEN,
    TOO_MUCH,
    UNSUPPORTED,
    WRONG,
    Entry,
    Group,
    Network,
    Reply,
    Rfc,
    Symptom,
)
from helpers.providers import (
    GMAIL_APP_PASSWORDS,
    GMAIL_FROM_REWRITE,
    GMAIL_XOAUTH2,
    GMAIL_XOAUTH2_ERROR,
    M365_LEGACY_TLS,
    M365_RETIREMENT,
    M365_TIMELINE,
)
from helpers.snippets import go_code, python_code
from helpers.terms import Phase

# Programs that printed a symptom here, run against the lab.
PYTHON = "CPython 3.11.7 smtplib, against the lab"
GO = "Go 1.19.8 net/smtp and crypto/tls, against the lab"
NODE = "nodemailer 10.6.1 on Node 20.20.2, against the lab"
CURL = "curl 7.88.1 with OpenSSL 3.0.19, against the lab"
SWAKS = "swaks 20201014.0, against the lab"
LAB = "the lab's own reply (aiosmtpd 1.4.6 with helpers.profiles)"
JAVA = "Jakarta Mail 2.0.0 on OpenJDK 17, against the lab"
PHPMAILER = "PHPMailer 6.6.3 on PHP 8.2, against the lab"
SYMFONY = "Symfony Mailer 5.4.53 on PHP 8.2, against the lab"
RUBY = "Ruby 3.1 net-smtp 0.3.1 (and the mail gem 2.7.1 over it), against the lab"

# Source code, at the commit that was read.
_POSTFIX = "https://github.com/vdukhovni/postfix/blob/17830e5c13c160d51c95cb971d137a46de84e48c/postfix/src/"
POSTFIX_SMTPD = _POSTFIX + "smtpd/smtpd.c"
POSTFIX_CHECK = _POSTFIX + "smtpd/smtpd_check.c"
POSTFIX_SASL = _POSTFIX + "smtpd/smtpd_sasl_proto.c"
POSTFIX_SASL_GLUE = _POSTFIX + "smtpd/smtpd_sasl_glue.c"
POSTFIX_CLEANUP = _POSTFIX + "global/cleanup_strerror.c"
EXIM_SMTP_IN = "https://github.com/Exim/exim/blob/13835a3c1e057efad7da269c0f93bf2eac850205/src/src/smtp_in.c"
EXIM_CONFIG = "https://github.com/Exim/exim/blob/13835a3c1e057efad7da269c0f93bf2eac850205/src/src/configure.default"
GO_SRC = "https://github.com/golang/go/blob/go1.19.8/src/"
CPYTHON_SMTPLIB = "https://github.com/python/cpython/blob/v3.11.7/Lib/smtplib.py"
CPYTHON_312_SMTPLIB = "https://github.com/python/cpython/blob/v3.12.1/Lib/smtplib.py"
SWAKS_SRC = "swaks 20201014.0 source (/usr/bin/swaks)"
CURL_STRERROR = "https://github.com/curl/curl/blob/5c61e168698a72b87437d58ed728bcdea6d5db42/lib/strerror.c"
PHPMAILER_SRC = "https://github.com/PHPMailer/PHPMailer/blob/4a489474e7ef8bbf03c1cb219d8939ea76a7fb40/src/PHPMailer.php"
OPENSSL_SSL_ERR = "https://github.com/openssl/openssl/blob/openssl-3.0.0/ssl/ssl_err.c"
MSMTP_SMTP = "https://github.com/marlam/msmtp/blob/787b4eae5ab040a314b461ca48e4730ebecda9bc/src/smtp.c"
MSMTP_TLS = "https://github.com/marlam/msmtp/blob/03ebaecd60d6fd7ebb3c15f1dffb000032db850b/src/tls.c"
GNUTLS_STATUS = "https://github.com/gnutls/gnutls/blob/31eefe1c0cfacf17b5c66aeacfdbc531abb1b98c/lib/cert-cred.c"
JAKARTA_TRANSPORT = ("https://github.com/jakartaee/mail-api/blob/394a55f8a97e7e64eccfd9718ea93ed65a5a9a13/mail/src/main/"
                     "java/com/sun/mail/smtp/SMTPTransport.java")

# Providers' documentation.
GMAIL_ERRORS = "https://support.google.com/a/answer/3726730"
SES_QUOTAS = "https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html"
DOTNET_SECURITY = ("https://github.com/dotnet/runtime/blob/015510cac22b172696e9c2ac95ffcf18078e1617/src/libraries/"
                   "System.Net.Security/src/Resources/Strings.resx")
M365_SMTP_AUTH = ("https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/"
                  "authenticated-client-smtp-submission")


def _settings(acts_as: int, **options: object) -> dict[str, str]:
    """An entry's fix in both languages, when the fix is a matter of settings (helpers.snippets)."""
    return {"fix_python": python_code(acts_as, **options), "fix_go": go_code(acts_as, **options)}


# --------------------------------------------------------------------------------------------------
# References and symptoms that several entries share

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
_RFC6125_6 = Rfc(6125, "6.4.4", "a client checks the subjectAltName; the Common Name only as a last resort")
_RFC8314_5 = Rfc(8314, "5", "a mail client MUST NOT count a session as confidential if the certificate fails")
_RFC6409_31 = Rfc(6409, "3.1", "port 587 is for message submission")

# OpenSSL's reason string (SSL_R_CERTIFICATE_VERIFY_FAILED), which swaks, PHP and others print without the
# verifier's reason after it.
_CERT_VERIFY_FAILED = Symptom(
    "openssl", "certificate verify failed", OPENSSL_SSL_ERR, generic=True,
    note="these words alone do not say why the certificate was refused; the doctor or openssl s_client shows why",
)
_CLOSED_UNEXPECTEDLY_PY = Symptom(
    "python", "SMTPServerDisconnected: Connection unexpectedly closed", PYTHON,
    note="the server hung up; which failure it is depends on the port and on whether a greeting came first",
)
_TIMED_OUT_PY = Symptom(
    "python", "SMTPServerDisconnected: Connection unexpectedly closed: timed out", PYTHON,
    note="connected, then no reply within the client's timeout",
)
_EOF_GO = Symptom("go", "EOF", GO, whole_line=True,
                  note="io.EOF: the server closed the connection; Go says nothing more")
_CLOSED_NODE = Symptom("node", "Connection closed unexpectedly", NODE,
                       note="ECONNECTION: the server hung up during a command")
_GREETING_NODE = Symptom("node", "Greeting never received", NODE,
                         note="ETIMEDOUT after greetingTimeout (30 s by default)")
_NO_BYTES_CURL = Symptom("curl", "Operation timed out after … with 0 bytes received", CURL,
                         note="connected, then not a byte before --max-time / --connect-timeout")
_READ_TIMEOUT_GO = Symptom("go", "read tcp …: i/o timeout", GO, note="connected, then nothing before the deadline")
_CLOSED_SWAKS = Symptom("swaks", "*** Remote host closed connection unexpectedly.", SWAKS,
                        note="swaks's message whenever the server closes")
_TIMEOUT_SWAKS = Symptom("swaks", "<** Timeout (…) waiting for server response", SWAKS,
                         note="swaks's message when a reply does not come within --timeout")
_READ_FAILED_CURL = Symptom("curl", "response reading failed", CURL,
                            note="the errno curl adds varies; the server closed or sent something curl cannot read")
_MAIL_530_CURL = Symptom("curl", "MAIL failed: 530", CURL,
                         note="curl shows the code only (add -v for the text); curl logs in only when AUTH is offered")
_UNICODE_PY = Symptom("python", "UnicodeEncodeError: 'ascii' codec can't encode", PYTHON,
                      note="smtplib encodes commands and str messages as ASCII")
_PHPMAILER_CONNECT = Symptom(
    "php", "SMTP Error: Could not connect to SMTP host.", PHPMAILER, generic=True,
    note="PHPMailer says this for any failure to connect or to start TLS; set SMTPDebug = 2 to see which",
)
_PHPMAILER_CONNECT_FAILED = Symptom(
    "php", "SMTP connect() failed.", PHPMAILER_SRC, generic=True,
    note="PHPMailer's other words for a failure to connect or to start TLS (PHPMailer 5 says only this); "
         "SMTPDebug = 2 shows which",
)
_PHPMAILER_AUTH = Symptom(
    "php", "SMTP Error: Could not authenticate.", PHPMAILER, generic=True,
    note="PHPMailer says this for any failed login; set SMTPDebug = 2 to see the server's reply",
)
_DOTNET_CERT = Symptom(
    "dotnet", "The remote certificate is invalid according to the validation procedure",
    "https://github.com/i4004/Simplify/issues/92", generic=True,
    note=".NET names no reason; the doctor (or openssl s_client) shows whether the CA, the name or the dates fail",
)
# libcurl's own texts (curl_easy_strerror), as bindings (PHP, R, Python's pycurl) print them without curl's
# "curl: (NN)" prefix.
_CURL_PEER_NOT_OK = Symptom(
    "curl", "SSL peer certificate or SSH remote key was not OK", CURL_STRERROR, generic=True,
    note="CURLE_PEER_FAILED_VERIFICATION (60): the text after it (SSL certificate problem: ...) says why",
)
_CURL_SSL_CONNECT = Symptom(
    "curl", "SSL connect error", CURL_STRERROR, generic=True,
    note="CURLE_SSL_CONNECT_ERROR (35): any failed handshake; on 587 or 25 mostly TLS spoken to a plaintext port",
)
_DOTNET_CERT_REJECTED = Symptom(
    "dotnet", "The remote certificate was rejected by … RemoteCertificateValidationCallback", DOTNET_SECURITY,
    generic=True, note=".NET 5 and later, whenever validation fails: the chain status names the reason",
)
_DOTNET_TLS_CLOSED = Symptom(
    "dotnet", "Authentication failed because the remote party has closed the transport stream",
    "https://github.com/darrencauthon/csharp-sparkpost/issues/166",
    note=".NET's SslStream: the server hung up during the handshake, most often over the TLS version "
         "(.NET Framework before 4.7 offers TLS 1.0 unless told otherwise)",
)
_JAVA_BAD_GREETING = Symptom(
    "java", "Got bad greeting from SMTP host", JAVA,
    note="Jakarta Mail quotes what came instead of the 220 greeting after 'response:'",
)
# A client that refuses the server's certificate tells it with an alert; the server's log quotes the alert
# (OpenSSL's reason strings for received alerts, GnuTLS's alert names in Exim's "rxd alert: ..."), which names
# no check.
_ALERT_CERT_UNKNOWN = Symptom(
    "server", "alert certificate unknown", OPENSSL_SSL_ERR, generic=True,
    note="the client refused the server's certificate without saying why: untrusted, or for another name",
)
_ALERT_BAD_CERT = Symptom(
    "server", "alert bad certificate", OPENSSL_SSL_ERR, generic=True,
    note="the client refused the server's certificate without saying why: untrusted, or for another name",
)
_MAILKIT_UNTRUSTED = Symptom(
    "dotnet", "This usually means that the SSL certificate presented by the server is not trusted by the system",
    "https://github.com/jstedfast/MailKit/blob/d1f7aa7655d50777c4ece3803ff86f3591e60db5/MailKit/Security/"
    "SslHandshakeException.cs#L287", generic=True,
    note="MailKit lists every reason it could be (MailKit 2, or a validation callback of your own); the doctor "
         "or openssl s_client shows which",
)
_DOTNET_CHAIN_ERRORS = Symptom(
    "dotnet", "RemoteCertificateChainErrors",
    "https://learn.microsoft.com/en-us/dotnet/api/system.net.security.sslpolicyerrors", generic=True,
    note="SslPolicyErrors: the chain failed (untrusted, expired or revoked); the chain status says which",
)
_RCPT_554_CURL = Symptom("curl", "RCPT failed: 554", CURL,
                         note="curl shows the code only: on 25 a relay refusal, on 587 or 465 a missing login")
_WEIRD_REPLY_CURL = Symptom("curl", "Weird server reply", CURL, generic=True,
                            note="curl's message for any refusal after the data; the reply itself shows only with -v")

# --------------------------------------------------------------------------------------------------
# The catalog

CATALOG: tuple[Entry, ...] = (
    # ---------------------------------------------------------------------------------- ports and TLS modes
    Entry(
        id="plaintext-to-implicit-tls",
        title="Plaintext client on the implicit-TLS port 465",
        group=Group.PORTS,
        ports=(465,),
        what_happened=(
            "Your program connected to port 465 and waited for the server to say hello. The server was "
            "waiting for your program to start encryption first. Both waited until one gave up: the "
            "server hung up (Go says `EOF`, Python `Connection unexpectedly closed`) or your timeout fired."
        ),
        why=(
            "Port 465 speaks TLS from the first byte (\"implicit TLS\"): no greeting comes until the TLS "
            "handshake is done. Port 587 is the one that starts in plaintext and upgrades with STARTTLS. "
            "smtplib.SMTP and Go's smtp.SendMail both start in plaintext; nodemailer starts TLS on 465 by "
            "itself only while `secure` is unset, so a `secure: false` copied from a 587 setup breaks it; "
            ".NET's System.Net.Mail cannot do implicit TLS at all. Port 465 is no obsolete port: RFC 8314 "
            "(2018) registered it for submission and asks mail programs to support both 465 and 587, as "
            "Gmail does; some providers offer only one (Microsoft 365: 587, no 465)."
        ),
        fix="Start TLS at once on 465: smtplib.SMTP_SSL, Go tls.Dial + smtp.NewClient (or use 587 with STARTTLS).",
        **_settings(465),
        rfcs=(_RFC8314_33, Rfc(8314, "7.3", "the \"submissions\" service on port 465 and its history")),
        network=(Network.CLOSED, Network.READ_TIMEOUT, Network.TIMEOUT),
        words=(
            # The server's side of it, in its log: its TLS handshake never got a ClientHello (Postfix's
            # tls_server.c, Exim's tls-openssl.c and tls-gnu.c), or got plaintext.
            r"ssl accept error from [^\n]{1,120}: (?:lost connection|connection timed out|connection reset by peer)",
            r"\((?:ssl accept|gnutls handshake)\): (?:timed out|tcp connection closed by peer|"
            r"the tls connection was non-properly terminated|an unexpected tls packet was received|"
            r"a tls packet with unexpected length was received)|ssl accept: tcp connection closed by peer",
            r"(?:tls library problem|tls error on connection from)[^\n]{0,160}(?:wrong version number|unknown protocol|"
            r"http request|unexpected eof while reading)",
        ),
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
            _TIMEOUT_SWAKS,
            _JAVA_BAD_GREETING,
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="implicit-tls-to-starttls-port",
        title="TLS from the first byte on a plaintext (STARTTLS) port",
        group=Group.PORTS,
        ports=(587, 25),
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
        **_settings(587),
        words=(
            r"wrong version number",
            r"unrecognized ssl message|unknown protocol|packet length too long",
            r"first record does not look like a tls handshake|oversized record received",
            r"corrupt message of type invalidcontenttype|invalidmessage\(invalidcontenttype\)",
            r"unexpected packet format|token supplied to the function is invalid|sec e invalid token",
            r"reserved for plain-text connections",
            # rustls 0.20 (before the content type was named), GnuTLS.
            r"received corrupt message(?! of type)|\bcorruptmessage\b(?!payload)|an unexpected tls packet was received",
            # A TLS ClientHello (record type 22, version 3.x) quoted by a plaintext server as the client's first
            # "command": Exim and Postfix print its bytes in octal, Python reprs in hex.
            r"\\026\\003\\00[0-4]|\\x16\\x03\\x0[0-4]",
            # A record whose header makes no sense: Haskell tls ("invalid header type: 50", Network/TLS/Packet.hs),
            # Erlang ssl's record_overflow alert (tls_record.erl: a length no TLS record has), GnuTLS's "record packet
            # with illegal version", mbed TLS's "invalid SSL record".
            r"invalid (?:header|record|content) type|record overflow|record packet with illegal version|"
            r"invalid ssl record",
            # A TLS record starts with its type, 20 to 24 (RFC 8446 section 5.1); an SMTP reply starts with a digit,
            # '2', '4' or '5' (50, 52, 53; 0x32...). A parser that quotes those bytes was reading a plaintext reply.
            r"(?:header|record|content) type[^\w\n]{0,3}(?:5[0-3]|0x3[2-5])\b|"
            r"invalid version[^\w\n]{0,3}5[0-3]\s?,\s?4[89]\b|'[245]',\s?'\d',\s?'\d'",
            # Erlang ssl (ssl_alert.erl): the client's own alert while it waited for the server's hello, whose first
            # bytes were no TLS record; a record type it names other than a digit's (50 to 53) is some other protocol.
            r"tls client: in state (?:hello|start|wait sh)\b[^\n]{0,60} generated client alert: fatal - unexpected "
            r"message(?![^\w]{0,8}unsupported record type[^\w]{1,3}(?!5[0-3]\b)\d)",
        ),
        rfcs=(_RFC3207_4, _RFC8314_33),
        symptoms=(
            Symptom("python", "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number", PYTHON),
            Symptom("go", "tls: first record does not look like a TLS handshake", GO),
            Symptom("node", "ssl3_get_record:wrong version number", NODE, note="code ESOCKET"),
            Symptom("curl", "OpenSSL/…: error:0A00010B:SSL routines::wrong version number", CURL),
            Symptom("swaks", "*** TLS startup failed (connect(): error:0A00010B:SSL routines::wrong version number)",
                    SWAKS),
            Symptom("openssl", "wrong version number", OPENSSL_SSL_ERR, generic=True,
                    note="OpenSSL's words (Python, Node, curl, PHP, Ruby): a plaintext reply where TLS was expected"),
            Symptom("java", "Unsupported or unrecognized SSL message", JAVA),
            Symptom("java", "Unrecognized SSL message, plaintext connection?",
                    "https://github.com/openjdk/jdk/blob/jdk-11%2B28/src/java.base/share/classes/sun/security/ssl/"
                    "SSLSocketInputRecord.java", note="Java 8 to 11"),
            Symptom("dotnet", "port 587 is typically reserved for plain-text connections",
                    "https://github.com/datalust/seq-app-htmlemail/issues/85", note="MailKit SslHandshakeException"),
            Symptom("dotnet", "is typically reserved for plain-text connections",
                    "https://github.com/jstedfast/MimeKit/issues/1022", note="MailKit, for port 25 or 587"),
            Symptom("dotnet", "Cannot determine the frame size or a corrupted frame was received",
                    "https://github.com/jellyfin/jellyfin-plugin-webhook/issues/154", note=".NET SslStream"),
            Symptom("dotnet", "The handshake failed due to an unexpected packet format",
                    "https://github.com/jstedfast/MailKit/issues/131", note=".NET Framework SslStream"),
            Symptom("dotnet", "you are trying to connect to a port which does not support SSL/TLS",
                    "https://github.com/jstedfast/MailKit/issues/889", generic=True,
                    note="MailKit 2.x offers this or an untrusted certificate; on 587 or 25 it is the port"),
            _CURL_SSL_CONNECT,
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="starttls-unavailable",
        title="The server does not offer STARTTLS",
        group=Group.PORTS,
        ports=(587, 25),
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
        **_settings(465),
        words=(
            r"starttls[^\n]{0,30}not (?:supported|advertised|offered|available)",
            r"(?:does not|doesn't|did not|not) (?:support|advertise|offer)[^\n]{0,30}starttls",
            r"requested ssl level failed|server does not support secure connections",
            r"tls is required,? but (?:was )?not (?:offered|advertised|available)",
        ),
        clauses=((STARTTLS, NOT_OFFERED),),
        rfcs=(_RFC3207_4, _RFC3207_6, _RFC8314_33),
        # Any refusal of the command as unknown or not implemented (Postfix 502 5.5.1, sendmail 500 5.5.1).
        replies=(Reply(502, "5.5.1", Phase.STARTTLS), Reply(502, "5.5.2", Phase.STARTTLS),
                 Reply(502, None, Phase.STARTTLS), Reply(500, "5.5.1", Phase.STARTTLS),
                 Reply(500, None, Phase.STARTTLS), Reply(500, "5.0.0", Phase.STARTTLS),
                 Reply(503, None, Phase.STARTTLS)),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: STARTTLS extension not supported by server.", PYTHON),
            Symptom("go", "454 TLS not available", GO, whole_line=True,
                    note="c.StartTLS sends STARTTLS anyway; this is aiosmtpd's answer. smtp.SendMail instead "
                         "carries on in plaintext without a word"),
            Symptom("node", "Error upgrading connection with STARTTLS: 454 TLS not available", NODE,
                    whole_line=True, note="with requireTLS: true; without it nodemailer carries on in plaintext"),
            Symptom("postfix", "502 5.5.1 Error: command not implemented", POSTFIX_SMTPD + "#L5561",
                    note="Postfix's answer to STARTTLS where it is not offered"),
            Symptom("exim", "STARTTLS command used when not advertised", EXIM_SMTP_IN + "#L5486", note="503"),
            Symptom("curl", "STARTTLS not supported.", CURL, note="with --ssl-reqd; plain --ssl carries on"),
            Symptom("swaks", "*** Host did not advertise STARTTLS", SWAKS),
            Symptom("java", "STARTTLS is required but host does not support STARTTLS", JAVA),
            Symptom("ruby", "STARTTLS is not supported on this server", RUBY, note="Net::SMTPUnsupportedCommand"),
            Symptom("dotnet", "Server does not support secure connections",
                    "https://github.com/dotnet/runtime/blob/003e43b4e551874822af3c8f28188e0139a798f4/src/libraries/"
                    "System.Net.Mail/src/Resources/Strings.resx", note="System.Net.Mail with EnableSsl"),
        ),
    ),
    Entry(
        id="starttls-refused",
        title="STARTTLS offered, then refused with 454",
        group=Group.PORTS,
        ports=(587, 25),
        what_happened=(
            "The server said it can encrypt (it listed STARTTLS), but when your program asked, it answered "
            "454: TLS is not available right now."
        ),
        why=(
            "A server-side problem: its certificate or key could not be loaded, or its TLS machinery is "
            "overloaded. The reply is temporary (4xx), so a later attempt may work."
        ),
        fix="Retry later, or use port 465; tell the provider. Never continue the session without TLS.",
        **_settings(465),
        words=(
            r"tls not available due to|tls (?:is )?(?:currently |temporarily )?unavailable|starttls denied",
            # The server's log of why: it could not load its certificate or key (Postfix's tls_certkey.c,
            # Exim's tls-openssl.c), so it has no TLS to offer.
            r"disabling tls support|cert/key setup|cannot (?:get|load) \w+ (?:certificate|private key)|"
            r"ssl ctx use (?:certificate|privatekey)",
        ),
        rfcs=(_RFC3207_4, _RFC8314_33),
        replies=(Reply(454, "4.7.0", Phase.STARTTLS), Reply(454, None, Phase.STARTTLS)),
        symptoms=(
            Symptom("server", "TLS not available due to temporary reason", "https://www.rfc-editor.org/rfc/rfc3207#section-4",
                    note="RFC 3207's own wording, here as 454 4.7.0"),
            Symptom("postfix", "454 4.7.0 TLS not available due to local problem", POSTFIX_SMTPD + "#L5569"),
            Symptom("exim", "454 TLS currently unavailable", EXIM_SMTP_IN + "#L5587"),
            Symptom("python", "SMTPResponseException: (454, b'4.7.0 TLS not available due to temporary reason')",
                    PYTHON),
            Symptom("curl", "STARTTLS denied, code 454", CURL),
        ),
    ),
    Entry(
        id="starttls-required-first",
        title="Mail or login before STARTTLS on a port that requires TLS",
        group=Group.PORTS,
        ports=(587,),
        what_happened=(
            "Your program started sending (or logging in) in plaintext. This server accepts nothing but "
            "EHLO, STARTTLS, NOOP and QUIT until the connection is encrypted, so it refused with 530 (a "
            "few servers answer a login with 538 instead)."
        ),
        why=(
            "Submission servers protect your password and message by requiring TLS first. smtplib.SMTP "
            "does not call starttls() for you; neither does code that skips it."
        ),
        fix="Call starttls() (with a verifying context) before login() and sending, or use port 465.",
        **_settings(587),
        words=(
            r"must issue a starttls|starttls (?:is |command )?(?:required|first)|use starttls first",
            # Exchange Online, where a connector requires TLS of the sending server.
            r"failed to establish appropriate tls channel",
            r"(?:encryption|tls|ssl) (?:is )?required|requires? (?:encryption|tls|starttls|a tls connection)",
            r"must (?:use|start|issue) (?:starttls|tls|encryption)|not (?:allowed|permitted) (?:without|"
            r"before) (?:tls|starttls)",
            # "Sending without SSL/TLS encryption is not allowed", "login without TLS not permitted".
            r"without (?:an? )?(?:ssl/tls|tls/ssl|ssl|tls|starttls|encrypt\w*)(?: encryption| connection)?"
            r"[^\n]{0,20}\bnot (?:allowed|permitted|accepted|possible)",
        ),
        clauses=((ENCRYPTION, REQUIRED),),
        rfcs=(_RFC3207_4, _RFC4954_6),
        replies=(Reply(530, "5.7.0", Phase.MAIL), Reply(530, "5.7.0"), Reply(538, "5.7.11"), Reply(None, "5.7.11"),
                 Reply(None, "5.7.10")),
        symptoms=(
            Symptom("server", "Must issue a STARTTLS command first", "https://www.rfc-editor.org/rfc/rfc3207#section-4"),
            Symptom("postfix", "530 5.7.0 Must issue a STARTTLS command first", POSTFIX_SMTPD + "#L6236"),
            Symptom("postfix", "504 5.5.4 Encryption required for requested authentication mechanism",
                    POSTFIX_SASL + "#L188", note="AUTH before STARTTLS"),
            Symptom("python", "SMTPSenderRefused: (530, b'5.7.0 Must issue a STARTTLS command first', …)", PYTHON),
            Symptom("go", "538 5.7.11 Encryption required for requested authentication mechanism", GO,
                    note="c.Auth before StartTLS: Go sends AUTH even when the server did not offer it"),
            Symptom("node", "Mail command failed: 530 5.7.0 Must issue a STARTTLS command first", NODE,
                    note="with ignoreTLS: true"),
            _MAIL_530_CURL,
            Symptom("swaks", "<** 530 5.7.0 Must issue a STARTTLS command first", SWAKS),
        ),
    ),
    # ---------------------------------------------------------------------------------- authentication
    Entry(
        id="auth-not-advertised",
        title="Login attempted, but the server offers no AUTH (yet)",
        group=Group.AUTHENTICATION,
        ports=(587, 25),
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
        **_settings(587),
        words=(
            r"(?:server|host) (?:does not|doesn't|did not) (?:support|advertise|offer) (?:smtp[ -])?auth"
            r"(?! type| mechanism| method)",
            r"auth(?:entication)? (?:extension )?not (?:supported|advertised|offered)",
            # lettre's, which it says as well when the server offers no AUTH at all (its own PLAIN and LOGIN are
            # what nearly every server that offers AUTH takes); MailKit's plural is said only after AUTH was offered.
            r"does not support authentication|no compatible authentication mechanism was found",
            r"authentication is not allowed (?:at this stage|before helo)",  # PHPMailer, when EHLO lists no AUTH
            r"no auth mechanism was offered",  # libcurl's SASL (curl -v)
        ),
        clauses=((AUTH_SERVICE, NOT_OFFERED),),
        rfcs=(Rfc(4954, "3", "the AUTH extension and its EHLO keyword"), _RFC3207_4, _RFC6409_43),
        # AUTH itself unknown to the server (RFC 5321 section 4.2.4: 500 unrecognised, 502 not implemented), where
        # an unknown mechanism would get 504 (RFC 4954 section 4).
        replies=(Reply(502, None, Phase.AUTH), Reply(502, "5.5.2", Phase.AUTH), Reply(500, None, Phase.AUTH),
                 Reply(500, "5.5.1", Phase.AUTH), Reply(500, "5.0.0", Phase.AUTH)),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: SMTP AUTH extension not supported by server.", PYTHON),
            Symptom("go", "smtp: server doesn't support AUTH", GO,
                    note="smtp.SendMail with an Auth against a server that offers none, e.g. port 25"),
            Symptom("swaks", "*** Host did not advertise authentication", SWAKS),
            Symptom("exim", "AUTH command used when not advertised", EXIM_SMTP_IN + "#L3960",
                    note="503: no AUTH in this EHLO reply (none configured, or only after STARTTLS)"),
            _MAIL_530_CURL,
            _PHPMAILER_AUTH,
        ),
    ),
    Entry(
        id="credentials-missing",
        title="No credentials to log in with, or AUTH where the server takes no logins",
        group=Group.AUTHENTICATION,
        ports=(587, 465, 25),
        what_happened=(
            "Either your program was told to log in but was given no user name or password (so it sent no "
            "AUTH at all, and the server refused what came next as a failed login), or it sent AUTH to a "
            "server that takes no logins at all (a port-25 relay: `503 5.5.1 Error: authentication not "
            "enabled`)."
        ),
        why=(
            "An empty setting (a password read from an environment variable that is not set), or a login "
            "configured for the wrong server: port 25 relays accept mail for their own domains without "
            "logins and refuse AUTH outright."
        ),
        fix=(
            "Check that the user and password actually reach the code (print whether they are set, never "
            "their value); to log in, use the provider's submission port 587 or 465, not 25."
        ),
        **_settings(587),
        words=(
            r"missing credentials|no password specified|no user ?name specified|missing (?:secret phrase|password|"
            r"user ?name)",
            r"(?:password|user ?name) (?:is )?(?:empty|missing|not set|not specified)|authentication not enabled",
            # Postfix's log of a login with an empty user name ("sasl_username=" and nothing after it).
            r"sasl username=(?:\s|$)",
            r"\b(?:empty|blank|all-whitespace) (?:user ?name|password|login)\b",
        ),
        clauses=((ACCOUNT_DATA, MISSING),),
        within=("bad-credentials",),  # a login refused for having no user name or password
        rfcs=(_RFC4954_4, Rfc(5321, "4.2.4", "503: bad sequence of commands")),
        replies=(Reply(503, "5.5.1", Phase.AUTH), Reply(503, None, Phase.AUTH)),
        symptoms=(
            Symptom("postfix", "503 5.5.1 Error: authentication not enabled", POSTFIX_SASL + "#L163"),
            Symptom("node", "Missing credentials for", NODE,
                    note="EAUTH: an auth object without user or pass; nodemailer refuses before sending AUTH"),
            Symptom("java", "no password specified", JAVA, note="AuthenticationFailedException"),
            Symptom("ruby", "SMTP-AUTH requested but missing secret phrase", RUBY, note="ArgumentError"),
            _PHPMAILER_AUTH,
        ),
    ),
    Entry(
        id="auth-mechanism-mismatch",
        title="Login mechanism the server does not support",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
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
        **_settings(465),
        words=(
            r"unrecognized authentication type|(?:unsupported|unknown|invalid|unrecognized) (?:sasl |authentication |"
            r"auth )(?:mechanism|type|method)",
            r"mechanism[^\n]{0,30}not (?:supported|available|recognized|permitted|allowed)",
            r"(?:authentication|auth|sasl|login) (?:method|type)s?\b[^\n]{0,30}\bnot (?:supported|available|recognized|"
            r"permitted|allowed|offered)",
            # msmtp (src/smtp.c): none of the server's mechanisms is one it may use (plaintext rules out PLAIN
            # and LOGIN), or the one configured is not offered.
            r"cannot (?:use|find) a (?:secure|usable|suitable) (?:authentication|auth|sasl) (?:method|mechanism)",
            r"does not support (?:any of the |the |a )?(?:secure |usable )?(?:authentication|auth|sasl|login) "
            r"(?:method|mechanism)",
            r"no (?:suitable|supported|compatible|acceptable) (?:authentication|auth|sasl) (?:method|mechanism)",
            r"no authentication mechanisms supported by both|requested type not available",
            r"no (?:suitable |sasl )?mechanism available|no worthy mechs",
            r"\bno (?:\w+ )?(?:authenticators?|mechanisms?|mechs) (?:\w+ )?(?:available|found|supported|in common)\b",
            # SwiftMailer counts its authenticators whose keyword the server's AUTH line lists; it tries none unless
            # AUTH is offered (Swift_Transport_Esmtp_AuthHandler::afterEhlo).
            r"using 0 possible authenticators",
            r"no form of authori[sz]ation supported",  # emailjs: none of its mechanisms is offered
            # libcurl's SASL (curl -v): no mechanism in common, or one it cannot do.
            r"no overlap between offered and configured|unsupported sasl authentication mechanism|"
            r"auth mechanism offered could be selected",
            # Symfony Mailer (EsmtpTransport) and go-mail (auth.go): the server's AUTH list has none of the client's.
            r"no authentication mechanisms were tried|did not support any of the requested|"
            r"does not support (?:smtp )?auth type",
            # Symfony Mailer 5.4 and later (EsmtpTransport::handleAuth): "Failed to find an authenticator supported by
            # the SMTP server, which currently supports: ..."; qmail-smtpd's AUTH patch: "504 auth type unimplemented".
            r"(?:failed to|could not|cannot|unable to) find an? (?:authenticator|auth\w* (?:method|mechanism))\b"
            r"[^\n]{0,20}\bsupported|auth type unimplemented",
        ),
        clauses=((MECHANISM, UNSUPPORTED), (INTEGRATED_LOGIN, FAILING)),
        within=("bad-credentials",),
        rfcs=(_RFC4954_4,),
        replies=(Reply(504, "5.7.4", Phase.AUTH), Reply(504, "5.5.4", Phase.AUTH), Reply(504, None, Phase.AUTH)),
        symptoms=(
            Symptom("server", "504 5.7.4 Unrecognized authentication type",
                    "https://github.com/jordan-wright/email/issues/113"),
            Symptom("lab", "Unrecognized authentication type", LAB, note="the lab (aiosmtpd) says 504 5.5.4"),
            Symptom("python", "SMTPException: No suitable authentication method found.", CPYTHON_SMTPLIB,
                    note="login() found none of CRAM-MD5, PLAIN, LOGIN in the server's AUTH list"),
            Symptom("python", "SMTPAuthenticationError: (504, b'5.5.4 Unrecognized authentication type')", PYTHON),
            Symptom("swaks", "*** Auth not attempted, requested type not available", SWAKS),
            Symptom("msmtp", "cannot use a secure authentication method", MSMTP_SMTP,
                    note="msmtp with auth on: it sends PLAIN or LOGIN only over TLS, and nothing else is offered"),
        ),
    ),
    Entry(
        id="bad-credentials",
        title="User name or password refused",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
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
        **_settings(465),
        words=(
            r"authentication (?:failed(?! because)|unsuccessful|credentials invalid|failure|rejected)",
            # Not Google's SMTP relay service, whose "Invalid credentials for relay" refuses the relaying.
            r"(?:invalid|incorrect|bad|wrong) (?:user ?name|login|password|credentials|authentication data|user)"
            r"(?! for relay)",
            r"(?:user ?name and |user ?name or )?password (?:not accepted|incorrect|is incorrect|is wrong|rejected)",
            r"login (?:failed|denied|incorrect)|authenticationinvalidcredentials|"
            r"credentials (?:are |were |is )?(?:invalid|incorrect|wrong)",
            r"could not authenticate|failed to authenticate",
            # gen_smtp's (Erlang) reason for a refused login, an atom: {permanent_failure, Host, auth_failed}.
            r"[\s,{(]:?auth failed[})]",
        ),
        clauses=((LOGIN, rf"(?<!address ){WRONG}"),),  # "Recipient address rejected: Username ..." is the address's
        rfcs=(_RFC4954_4, _RFC4954_6),
        replies=(Reply(535, "5.7.8"), Reply(535, "5.7.3"), Reply(535, "5.7.0"), Reply(535, None),
                 Reply(None, "5.7.8")),
        symptoms=(
            Symptom("gmail", "Username and Password not accepted", GMAIL_ERRORS, note="535 5.7.8"),
            Symptom("python", "SMTPAuthenticationError: (535, b'5.7.8 Error: authentication failed')", PYTHON),
            Symptom("postfix", "535 5.7.8 Error: authentication failed", POSTFIX_SASL_GLUE + "#L359"),
            Symptom("exim", "535 Incorrect authentication data", EXIM_SMTP_IN + "#L3636"),
            Symptom("microsoft365", "535 5.7.3 Authentication unsuccessful",
                    "https://github.com/PHPMailer/PHPMailer/discussions/2845"),
            Symptom("node", "Invalid login: 535", NODE, note="code EAUTH"),
            Symptom("curl", "Login denied", CURL, generic=True,
                    note="curl says this for any refused login: a 454 block or a missing mechanism too"),
            Symptom("swaks", "*** No authentication type succeeded", SWAKS, generic=True,
                    note="swaks's summary; the server's reply line above it tells why"),
            _PHPMAILER_AUTH,
        ),
    ),
    Entry(
        id="gmail-app-password",
        title="The provider wants an app password, not the account's own (Gmail and others)",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
        what_happened=(
            "The provider refused the account's own password for a mail program: the password was right, but "
            "the provider takes an app password (or an OAuth token) instead. Gmail is the best known; Yahoo, "
            "iCloud and Mail.ru do the same, and QQ Mail and NetEase (163.com) call theirs an authorization "
            "code (授权码)."
        ),
        why=(
            "Google no longer lets programs log in to SMTP with the account password. An account with "
            "2-Step Verification on can make app passwords (16 letters, each for one program); the others "
            "must use OAuth 2.0. 5.7.14 (\"Please log in via your web browser\") means Google wants a person "
            "to sign in on the web first, after a sign-in it found suspicious. Other providers made the same "
            "rule: the password that opens the web mail no longer opens SMTP."
        ),
        fix=(
            "Make an app password in the account's security settings and log in with it (from the environment, "
            "not the code): for Gmail, turn 2-Step Verification on and go to "
            "https://myaccount.google.com/apppasswords; for QQ Mail or 163.com, turn SMTP on in the web mail's "
            "settings and generate the authorization code. With Gmail you may log in with an OAuth 2.0 token "
            "(XOAUTH2) instead."
        ),
        **_settings(465, host="smtp.gmail.com", user="you@gmail.com"),
        words=(
            r"application-specific password|app password|log ?in (?:via|with) your web browser|invalidsecondfactor|"
            r"webloginrequired|less secure app",
            # The same rule at other providers, in their words: QQ Mail's and NetEase's "authorization code" (授权码,
            # the only password their SMTP takes since 2022: https://ashea.com.cn/guandian/2022/1011/707174.html),
            # Mail.ru's "application password" (пароль приложения, transliterated "parol prilozheniya":
            # https://help.mail.ru/mail/security/protection/external), German "App-Passwort", French "mot de passe
            # d'application", Spanish "contraseña de aplicación".
            r"authori[sz]ation code|授权码|пароль (?:для )?(?:внешнего )?приложени|parol\w* prilozheni|"
            r"app(?:lication)?[- ]?(?:specific )?pass(?:word|wort|code)|anwendungspasswort|"
            r"mot de passe (?:d'|d’)?application|contraseña de (?:la )?aplicaci[oó]n",
        ),
        within=("bad-credentials",),
        rfcs=(_RFC4954_6,),
        replies=(Reply(534, "5.7.9"), Reply(534, "5.7.14"), Reply(534, None), Reply(None, "5.7.9", Phase.AUTH)),
        symptoms=(
            Symptom("gmail", "Application-specific password required", GMAIL_ERRORS, note="534 5.7.9"),
            Symptom("gmail", "https://support.google.com/mail/?p=InvalidSecondFactor", GMAIL_APP_PASSWORDS,
                    note="the link in Gmail's 534 5.7.9"),
            Symptom("python", "SMTPAuthenticationError: (534, b'5.7.9 Application-specific password required…",
                    "https://www.github.com/kmhmubin/Face-Recognition-Attendance-System/issues/46"),
            Symptom("gmail", "Please log in via your web browser", "https://github.com/node-red/node-red-nodes/issues/284",
                    note="534 5.7.14, with a sign-in link: sign in on the web once, then use an app password"),
            Symptom("gmail", "Please log in with your web browser and then try again",
                    "https://github.com/mealie-recipes/mealie/issues/2395", note="534 5.7.9 WebLoginRequired"),
        ),
    ),
    Entry(
        id="m365-basic-auth-disabled",
        title="Microsoft 365 has SMTP password login turned off",
        group=Group.AUTHENTICATION,
        ports=(587,),
        what_happened=(
            "Microsoft 365 refused the login before looking at the password: password (Basic) login to SMTP "
            "is off for this tenant or mailbox, or blocked by a sign-in policy."
        ),
        why=(
            "SMTP AUTH can be off for the tenant or the mailbox (SmtpClientAuthentication), security defaults "
            "or a Conditional Access policy can block password logins (\"did not meet the criteria\"), and "
            "Microsoft is retiring Basic authentication for SMTP AUTH: on its timeline of 2026-01-27 it is "
            "unchanged until the end of December 2026, then off by default for existing tenants (an admin "
            "can turn it back on) and unavailable for new ones; the final removal (after which the answer "
            "is 550 5.7.30) is to be announced in the second half of 2027."
        ),
        fix=(
            "Log in with an OAuth 2.0 token (XOAUTH2, scope https://outlook.office365.com/SMTP.Send), or send "
            "through Microsoft Graph. Until then an admin can enable SMTP AUTH for the mailbox "
            "(Set-CASMailbox -SmtpClientAuthenticationDisabled $false)."
        ),
        **_settings(587, host="smtp.office365.com", oauth=True),
        words=(
            r"smtpclientauthentication is disabled|basic auth(?:entication)? is (?:disabled|not supported|blocked)",
            r"smtp auth(?:entication)? (?:is )?disabled|authenticated smtp (?:is )?disabled",
            r"did not meet the criteria to be authenticated",
        ),
        clauses=((BASIC_AUTH, SWITCHED_OFF),),
        within=("bad-credentials", "unauthenticated-submission"),
        rfcs=(_RFC4954_6,),
        replies=(Reply(535, "5.7.139"), Reply(550, "5.7.30"), Reply(None, "5.7.139")),
        symptoms=(
            Symptom("microsoft365", "SmtpClientAuthentication is disabled for the Tenant", M365_SMTP_AUTH,
                    note="535 5.7.139"),
            Symptom("microsoft365", "SmtpClientAuthentication is disabled for the Mailbox", M365_SMTP_AUTH,
                    note="535 5.7.139: SMTP AUTH is off for this one mailbox"),
            Symptom("microsoft365", "Authentication unsuccessful, basic authentication is disabled",
                    "https://github.com/rpremraj/mailR/issues/107",
                    note="535 5.7.139; what the lab's m365-like-587 answers from the end of 2026 (Lab(today=...))"),
            Symptom("microsoft365", "the request did not meet the criteria to be authenticated successfully",
                    "https://github.com/nodemailer/nodemailer/issues/1617",
                    note="535 5.7.139: security defaults or Conditional Access block password logins"),
            Symptom("microsoft365", "Basic authentication is not supported for Client Submission", M365_RETIREMENT,
                    note="550 5.7.30, once Basic authentication is removed for good"),
            Symptom("microsoft365", "Updated Exchange Online SMTP AUTH Basic Authentication Deprecation Timeline",
                    M365_TIMELINE, note="the dates: end of December 2026, final removal announced in 2027"),
        ),
    ),
    Entry(
        id="oauth-token-refused",
        title="OAuth 2.0 access token refused (XOAUTH2, OAUTHBEARER)",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
        what_happened=(
            "Your program logged in with an OAuth 2.0 access token and the server said no. Gmail first sends "
            "its reason as JSON in a 334 challenge ({\"status\":\"400\",\"schemes\":\"Bearer\",...}), waits "
            "for an empty answer, then refuses with 535 5.7.8; Microsoft 365 refuses at once with 535 5.7.3. "
            "Or no token came at all: the identity service refused to issue one before any SMTP was spoken "
            "(invalid_grant, invalid_client, unauthorized_client; Microsoft's AADSTS numbers)."
        ),
        why=(
            "Neither says which of these it was: the token expired (access tokens last about an hour), it "
            "lacks the scope SMTP needs (Gmail: https://mail.google.com/, a gmail.send token will not do; "
            "Microsoft: https://outlook.office365.com/SMTP.Send), it was issued for another account than the "
            "user= you named, or what was sent is not a token at all (a password, an ID token, a refresh token). "
            "When the token service refuses (RFC 6749 section 5.2), its code says which: invalid_grant is a refresh "
            "token that expired or was revoked (Google's \"Token has been expired or revoked\"), invalid_client a "
            "wrong client id or secret, unauthorized_client an app not allowed that grant."
        ),
        fix=(
            "Get a fresh access token for the same account, with the SMTP scope, just before you connect "
            "(refresh it with the refresh token; do not keep one past its expiry), and name that account as "
            "the user. Tokens come from Google's or Microsoft's identity service; never log them."
        ),
        **_settings(587, host="smtp.gmail.com", user="you@gmail.com", oauth=True),
        words=(
            # diagnose reads "_" as a space: invalid_token is "invalid token".
            r"\bauth (?:xoauth2|oauthbearer)\b|xoauth2|oauthbearer|invalid token|\"schemes\"|"
            r"(?:access )?token (?:has )?(?:expired|is invalid|invalid)",
            # The token endpoint's error codes (RFC 6749 section 5.2) and Microsoft Entra's AADSTS numbers.
            r"\binvalid (?:grant|client)\b(?! cert)|\bunauthorized client\b|\bunsupported grant type\b|\baadsts\d{5,}|"
            r"token has been (?:expired|revoked)|(?:refresh|access) token[^\n]{0,30}(?:expired|revoked)",
        ),
        clauses=((TOKEN, SPENT),),
        rfcs=(Rfc(7628, "3.2.2", "a failed OAuth login: the server's error in JSON, answered by the client"),
              Rfc(6750, "3.1", "bearer token errors: invalid_token (expired, revoked, malformed), insufficient_scope"),
              Rfc(6749, "5.2", "the token endpoint's errors: invalid_grant, invalid_client, unauthorized_client"),
              _RFC4954_4),
        replies=(Reply(535, "5.7.8", Phase.AUTH), Reply(535, "5.7.3", Phase.AUTH)),
        symptoms=(
            Symptom("gmail", GMAIL_XOAUTH2_ERROR, "https://github.com/jstedfast/MailKit/issues/27",
                    note="Gmail's reason, decoded from the 334 challenge: whatever was wrong with the token"),
            Symptom("gmail", base64.b64encode(GMAIL_XOAUTH2_ERROR.encode()).decode(),
                    "https://github.com/dart-lang/pub-dev/issues/6128", note="the same, base64-encoded, after 334"),
            Symptom("gmail", '{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}',
                    GMAIL_XOAUTH2, note="the example in Google's documentation"),
            Symptom("php", "AUTH command failed: 334 eyJ", "https://github.com/PHPMailer/PHPMailer/issues/1664",
                    note="PHPMailer quotes the 334 challenge: decode it to read Gmail's reason"),
            Symptom("server", '"status":"invalid_token"', "https://www.rfc-editor.org/rfc/rfc7628#section-3.2.2",
                    note="OAUTHBEARER's error result (RFC 7628)"),
            Symptom("microsoft365", "535 5.7.3 Authentication unsuccessful", "https://github.com/tarickb/sasl-xoauth2/issues/43",
                    generic=True, note="Microsoft 365's answer to a refused token, and to a refused password alike"),
        ),
    ),
    Entry(
        id="unauthenticated-submission",
        title="Mail submitted without logging in",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
        what_happened=(
            "Your program sent mail without logging in, and the submission server refused: Gmail and "
            "Microsoft 365 answer 530 to MAIL FROM, Postfix 554 to RCPT TO."
        ),
        why=(
            "A submission port (587, 465) takes mail only from logged-in users; otherwise anyone could "
            "send mail in the provider's name."
        ),
        fix="Call login() (after starttls() on 587) before sending.",
        **_settings(587),
        words=(
            r"authentication (?:is )?required|not authenticated|must authenticate|unauthenticated senders",
            r"please authenticate|requires? authentication|login required|sender address rejected: not logged in",
            # NetEase (163.com) answers MAIL without a login "503 Error: need EHLO and AUTH first !".
            r"\bauth(?:enticate)?(?: command)? first\b|\blog ?in first\b",
            # cPanel's Exim: "Please turn on SMTP Authentication in your mail client", "... is not permitted to
            # relay through this server without authentication": a relay refusal that names the missing login.
            r"turn on (?:smtp )?auth|enable (?:smtp )?auth\w* in your|"
            r"without (?:smtp[ -])?auth(?:entication|enticating)?\b|"
            r"auth(?:entication)? (?:is )?(?:needed|necessary|mandatory)",
        ),
        clauses=((LOGIN, REQUIRED),),
        # A refusal to relay that asks for the login is this case of it: log in and the relaying is allowed.
        within=("relay-denied",),
        rfcs=(_RFC6409_43, _RFC4954_6),
        replies=(Reply(530, "5.7.0", Phase.MAIL), Reply(530, "5.7.57"), Reply(530, "5.7.1"),
                 Reply(530, None, Phase.MAIL), Reply(554, "5.7.1", Phase.RCPT), Reply(None, "5.7.57")),
        symptoms=(
            Symptom("server", "530 5.7.0 Authentication required", "https://www.rfc-editor.org/rfc/rfc4954#section-6",
                    note="Gmail writes Authentication Required"),
            Symptom("microsoft365", "530 5.7.57 Client not authenticated to send mail",
                    "https://github.com/tarickb/sasl-xoauth2/issues/96", note="to MAIL FROM"),
            Symptom("gmail", "530-5.7.0 Authentication Required", "https://support.google.com/a/answer/3726730",
                    note="to MAIL FROM, with a link to ?p=WantAuthError"),
            Symptom("exchange", "Client was not authenticated", "https://github.com/jstedfast/MailKit/issues/1265",
                    note="530 5.7.1"),
            Symptom("server", "must authenticate", "https://github.com/andrewdavey/postal/issues/127", generic=True),
            Symptom("postfix", "Client host rejected: Access denied", POSTFIX_CHECK,
                    note="554 5.7.1 at RCPT: permit_sasl_authenticated, reject"),
            Symptom("postfix", "Sender address rejected: not logged in", POSTFIX_CHECK + "#L3989",
                    note="553 5.7.1: a sender address that needs a login, from a client that has none"),
            Symptom("python", "SMTPSenderRefused: (530, b'5.7.0 Authentication required', …)", PYTHON),
            Symptom("node", "Mail command failed: 530 5.7.0 Authentication required", NODE),
            Symptom("server", "Authentication required", "https://www.rfc-editor.org/rfc/rfc4954#section-6",
                    note="530 5.7.0, however the client wraps it"),
            Symptom("sendgrid", "Unauthenticated senders not allowed", "https://github.com/sendgrid/docs/issues/6473",
                    note="550: log in with the API key"),
            _MAIL_530_CURL,
            _RCPT_554_CURL,
        ),
    ),
    # ---------------------------------------------------------------------------------- identity, relay, policy
    Entry(
        id="sender-identity-mismatch",
        title="Sender address not owned by the logged-in user",
        group=Group.IDENTITY,
        ports=(587, 465),
        what_happened=(
            "You logged in as one user but gave another address as the sender (MAIL FROM). The server "
            "refuses to send as someone you have not proven to be."
        ),
        why=(
            "Submission servers tie sender addresses to logins (Postfix reject_sender_login_mismatch, "
            "SendGrid and SES verified senders; Microsoft 365's own form is m365-send-as-denied) so that "
            "accounts cannot spoof each other. Postfix answers at RCPT, others at MAIL or after the message. "
            "Gmail refuses nothing: it replaces an address that is not yours (nor a verified 'Send mail as' "
            "address) with your own, so the message arrives from you."
        ),
        fix="Send from the address you log in as (or one verified for it); put a different reply address in Reply-To.",
        fix_python='''\
message["From"] = "you@example.com"          # the address you log in as
message["Reply-To"] = "someone.else@example.com"
smtp.login("you@example.com", os.environ["SMTP_PASSWORD"])
smtp.send_message(message)                   # MAIL FROM is taken from From:
''',
        fix_go='''\
from := "you@example.com" // the address you log in as
msg := []byte("From: " + from + "\\r\\nReply-To: someone.else@example.com\\r\\n" + rest)
if err := client.Mail(from); err != nil {
	log.Fatal(err)
}
''',
        words=(
            r"not owned by (?:auth )?user|email address is not verified|identities failed the check|not a verified",
            # Postfix's sender restrictions ("Sender address rejected: ..."), and the same in a header check's words
            # ("Sender or From header address rejected: not owned by ..."), but not an unknown domain's refusal, nor a
            # missing login's ("not logged in": unauthenticated-submission).
            r"(?:sender|from header)(?: or from header)? address rejected"
            r"(?!: (?:domain not found|need fully|not logged in|from header))|"
            r"address rejected: not owned by",
            r"(?:sender|from) (?:address|identity|domain)[^\n]{0,40}(?:not verified|unverified|does not match|"
            r"doesn't match)",
            r"does not match (?:a |any )?verified (?:sender|identity)|sender identity",
            r"not (?:allowed|permitted|authorized) to send (?:from|on behalf)|is not one of your",
            r"for (?:the )?(?:authenticated|logged[- ]in) user",
            r"send(?:ing)? from [^\n]{0,60}(?:is )?not (?:allowed|permitted|authori[sz]ed)",
            r"\b(?:envelope )?sender (?:address )?(?:is )?not (?:allowed|permitted|authori[sz]ed)\b",
            # A sending service's refusal of a domain nobody verified or set up for the account (SES, SendGrid,
            # Postmark, Resend and others word it so).
            r"\bdomain\b[^\n]{0,60}\b(?:is |has )?not (?:yet )?(?:been )?(?:verified|configured|validated)\b|"
            r"un(?:verified|configured|validated) (?:sending |sender |from )?domain|"
            r"sender signature not (?:defined|confirmed)|not a (?:confirmed |verified )?sender signature",
            r"\bdomain\b[^\n]{0,60}\b(?:is |has )?not (?:yet )?(?:been )?(?:registered|added|set up|authori[sz]ed)\b"
            r"[^\n]{0,30}\b(?:account|sending|to send)\b",
            # The sender and the login must be one (NetEase's and QQ's "mail from address must be same as
            # authorization user"), whatever the reply code says.
            r"(?:mail from|sender|from)\b[^\n]{0,40}\b(?:must|should) (?:match|be (?:the )?same as|equal)[^\n]{0,30}"
            r"\b(?:login|log-in|auth\w*|account|user)\b|"
            r"(?:mail from|sender|from)(?: address)? and (?:the )?(?:login|auth\w*|account)(?: user| name)? must "
            r"(?:match|be (?:the )?same)",
        ),
        clauses=((SENDER, NOT_OWNED),),
        rfcs=(_RFC6409_61, _RFC3463_38),
        replies=(Reply(553, "5.7.1", Phase.RCPT), Reply(553, "5.7.1", Phase.MAIL), Reply(550, None, Phase.MAIL),
                 Reply(553, None, Phase.MAIL)),
        symptoms=(
            Symptom("postfix", "Sender address rejected: not owned by user", POSTFIX_CHECK + "#L3966",
                    note="Postfix, at RCPT"),
            Symptom("python", "SMTPRecipientsRefused: {'…': (553, b'5.7.1 <…>: Sender address rejected: "
                    "not owned by user …')}", PYTHON),
            Symptom("node", "Can't send mail - all recipients were rejected: 553 5.7.1", NODE, note="code EENVELOPE"),
            Symptom("curl", "RCPT failed: 553", CURL, note="553 can also mean a malformed address; add -v"),
            Symptom("gmail", "replaces the sender with the authenticated user", GMAIL_FROM_REWRITE,
                    note="nodemailer's documentation of what Gmail does: no error, the From: changes"),
            Symptom("msmtp", "envelope from address … not accepted by the server", MSMTP_SMTP, generic=True,
                    note="msmtp says only that the sender was refused; the server's message after it says why"),
            Symptom("amazon-ses", "Message rejected: Email address is not verified",
                    "https://github.com/GoogleCloudPlatform/cloud-build-notifiers/issues/87", note="554"),
        ),
    ),
    Entry(
        id="m365-send-as-denied",
        title="Microsoft 365 refuses to send as this sender (SendAsDenied)",
        group=Group.IDENTITY,
        ports=(587,),
        what_happened=(
            "Microsoft 365 (or Exchange) took the message, then refused it: the mailbox you logged in as "
            "has no permission to send as the address in From: or MAIL FROM."
        ),
        why=(
            "Exchange checks the Send As permission: a mailbox may send as itself, and as other mailboxes "
            "or groups only when an admin granted it (a shared mailbox, an alias that is not a proxy "
            "address of the account)."
        ),
        fix=(
            "Send from the address you log in as, or have the admin grant Send As (or add the address "
            "as an alias of your mailbox)."
        ),
        **_settings(587, host="smtp.office365.com"),
        words=(
            r"sendasdenied|permissions? to send as this sender|not allowed to send as",
        ),
        rfcs=(_RFC6409_61, _RFC3463_38),
        # Not 554 5.2.0 by itself: Microsoft answers every STOREDRV.Submission exception with it (outbound
        # spam, a submission quota...); only the exception's name, SendAsDenied, says which.
        replies=(Reply(550, "5.7.60"), Reply(554, "5.2.252"), Reply(None, "5.7.60")),
        symptoms=(
            Symptom("microsoft365", "SendAsDeniedException", "https://github.com/MicrosoftDocs/OfficeDocs-Support/issues/1187",
                    note="554 5.2.0 STOREDRV.Submission.Exception"),
            Symptom("microsoft365", "SendAsDenied", "https://github.com/gophish/gophish/issues/2900",
                    note="554 5.2.252"),
            Symptom("microsoft365", "Client does not have permissions to send as this sender",
                    "https://pastebin.com/wtU9XT6T", note="550 5.7.60, after the data"),
            Symptom("exchange", "Client does not have permission to send as this sender",
                    "https://learn.microsoft.com/en-us/previous-versions/office/developer/exchange-server-2007/"
                    "aa494038(v=exchg.80)", note="Exchange 2007 and later, 550 5.7.1"),
        ),
    ),
    Entry(
        id="from-header-mismatch",
        title="From: header missing or not in the logged-in domain (\"spoofed email\")",
        group=Group.IDENTITY,
        ports=(587, 465),
        what_happened=(
            "The server took the whole message, then refused it: the From: line inside the message is "
            "missing, malformed, or in a domain your login does not own, so it looks spoofed."
        ),
        why=(
            "The envelope (MAIL FROM) and the From: header are different things; some providers check "
            "the header too. smtplib's sendmail() sends whatever bytes you give it, with or without a "
            "From: line, and a From: built by string formatting (`\"%s <%s>\"` with the parts swapped) "
            "puts a host name where the address belongs."
        ),
        fix="Build the message with EmailMessage and set From: to the address you log in as; send_message().",
        fix_python='''\
from email.message import EmailMessage

message = EmailMessage()
message["From"] = "you@example.com"   # an address in your login's domain, not a host name
message["To"] = "someone@example.net"
message["Subject"] = "Hello"
message.set_content("Hi!")
smtp.send_message(message)
''',
        fix_go='''\
from := "you@example.com" // an address, not a host name
msg := []byte("From: You <" + from + ">\\r\\nTo: someone@example.net\\r\\nSubject: Hello\\r\\n" +
	"Date: " + time.Now().Format(time.RFC1123Z) + "\\r\\n\\r\\nHi!\\r\\n")
''',
        words=(
            r"must match your authenticated|spoofed email|from header[^\n]{0,30}(?:does not|doesn't|must) match",
            # The case study's refusal cut short, as logs and exception messages often quote it: its distinctive
            # parts are "Your FROM address" and the parenthesised address before "must match".
            r"your from address\b|from address \([^()\n]{0,200}\) must match",
            # A From: header missing, malformed or doubled, as receivers word it: Gmail's "Messages missing a valid
            # address in From: header, or having no From: header, are not accepted", "Messages with multiple addresses
            # in From: header are not accepted", "not RFC 5322 compliant: 'From' header is missing"; QQ Mail's 'The
            # "From" header is missing or invalid'.
            r"\bfrom[^\w\n]{0,3} header\b[^\n]{0,12}\b(?:is )?(?:missing|invalid|malformed|not valid|empty)\b|"
            # (A bounce may fold a reply code into the words: "multiple addresses in From: 550 5.7.1 header".)
            r"\b(?:missing|no|invalid|malformed|multiple)\b[^\n]{0,30}\bfrom[^\w\n]{0,3}"
            r"(?:[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3} )?headers?\b",
        ),
        rfcs=(Rfc(5322, "3.6.2", "the From: field holds the author's mailbox address"), _RFC6409_63),
        symptoms=(
            # The case study's provider said these; the lab's strict-from endpoints repeat them.
            Symptom("server", "must match your authenticated email domain", "../shared/reference/case-study-gist.txt",
                    note="the case study's provider; the lab's strict-from endpoints"),
            Symptom("server", "Treating this as a spoofed email", "../shared/reference/case-study-gist.txt"),
            Symptom("python", "SMTPDataError: (550, b'5.7.1 Your FROM address ( , ) must match your "
                    "authenticated email domain ( example.com ). Treating this as a spoofed email.')", PYTHON),
            _WEIRD_REPLY_CURL,
        ),
    ),
    Entry(
        id="envelope-display-name",
        title="A display name or other text in the envelope address (MAIL FROM:<Name <a@b>>)",
        group=Group.IDENTITY,
        ports=(587, 465, 25),
        what_happened=(
            "The server refused the sender (or a recipient) as bad syntax: the envelope address was not a "
            "bare address but a display name and an address, `Name <a@b>`, or something else that is no "
            "address at all."
        ),
        why=(
            "MAIL FROM and RCPT TO take a bare address in angle brackets; the display name belongs in the "
            "From: header only. smtplib takes the address out of \"Name <a@b>\" for you; Go's c.Mail and "
            "smtp.SendMail send the string as given, and so do hand-made clients."
        ),
        fix=(
            "Put only the address in the envelope (Go: mail.ParseAddress, then .Address) and the display "
            "name in the From: header."
        ),
        fix_python='''\
from email.headerregistry import Address

message["From"] = Address("Alice Example", addr_spec="alice@example.com")  # the name goes in the header
smtp.send_message(message)   # the envelope gets alice@example.com alone
''',
        fix_go='''\
sender, err := mail.ParseAddress("Alice Example <alice@example.com>")
if err != nil {
	log.Fatal(err)
}
if err := client.Mail(sender.Address); err != nil { // the bare address in the envelope
	log.Fatal(err)
}
msg := []byte("From: " + sender.String() + "\\r\\n" + rest) // the display name in the header
''',
        words=(
            r"sender(?:'s)? (?:mailbox )?address syntax|malformed (?:sender|from) address",
            # The envelope command as sent, with a name before the address: MAIL FROM:<Alice <alice@example.com>>.
            r"(?:mail from|rcpt to): ?<?\"?[^<>@\n]{1,80}\"? <[^<>\s]+@[^<>\s]+>",
            r"(?:mail from|rcpt to): ?<\s*<",  # the address in angle brackets twice (an address already written <a@b>)
            # msmtp quotes the envelope address it was refused ("envelope from address %s not accepted").
            r"envelope from address \"?[^<>@\n]{1,80}\"? <[^<>\s]+@[^<>\s]+> not accepted",
            r"not in the form required for an e-mail address|not a valid rfc[- ]?5321 address",
        ),
        rfcs=(Rfc(5321, "4.1.2", "the Reverse-path and Forward-path grammar: a bare mailbox in angle brackets"),
              Rfc(3463, "3.2", "X.1.7 bad sender's mailbox address syntax, X.1.3 bad destination syntax")),
        # A recipient's bad syntax (501 5.1.3) is no evidence of a display name by itself: it reads plainly.
        replies=(Reply(501, "5.1.7", Phase.MAIL), Reply(555, "5.5.2", Phase.MAIL), Reply(553, "5.1.7"),
                 Reply(None, "5.1.7")),
        symptoms=(
            Symptom("postfix", "501 5.1.7 Bad sender address syntax", POSTFIX_SMTPD + "#L2691"),
            Symptom("gmail", "555 5.5.2 Syntax error", GMAIL_ERRORS, note="Gmail's answer to MAIL FROM:<Name <a@b>>"),
        ),
    ),
    Entry(
        id="sender-domain-unknown",
        title="The sender's address has no real domain: root@localhost, or a domain that does not exist",
        group=Group.IDENTITY,
        ports=(25, 587, 465),
        what_happened=(
            "The server refused the envelope sender (MAIL FROM) because its domain is no domain the world can "
            "reach: it has no DNS records (no MX, no A), or it is no full domain name at all (`root`, "
            "`www-data@localhost`, `app@myhost.local`). Nothing about your login or your message was judged."
        ),
        why=(
            "Bounces go back to the envelope sender, so servers refuse one they could never answer: Postfix with "
            "reject_unknown_sender_domain ('Sender address rejected: Domain not found', 450 4.1.8 while DNS may "
            "only be slow, 5.1.8 when it says the domain does not exist) and reject_non_fqdn_sender ('need "
            "fully-qualified address'), Sendmail with 'Domain of sender address ... does not exist'. The address "
            "is usually a default nobody set: Django's DEFAULT_FROM_EMAIL (webmaster@localhost) and SERVER_EMAIL "
            "(root@localhost), PHP's and cron's user@hostname."
        ),
        fix=(
            "Send from an address in a domain that exists (yours, with MX or A records), set where your program "
            "takes its sender from (Django's DEFAULT_FROM_EMAIL and SERVER_EMAIL, PHP's sendmail_from, cron's "
            "MAILFROM); through a provider, the address you log in as."
        ),
        fix_python='''\
message["From"] = "alerts@example.com"     # a domain that exists, not root@localhost
smtp.send_message(message)                 # MAIL FROM is taken from From:
# or keep From: and give the envelope its own: smtp.send_message(message, from_addr="bounces@example.com")
''',
        fix_go='''\
from := "alerts@example.com" // a domain that exists, not root@localhost
if err := client.Mail(from); err != nil {
	log.Fatal(err)
}
''',
        words=(
            r"sender address rejected: domain not found|domain of sender address[^\n]{0,80}\bdoes not exist|"
            r"\bsender(?:'s)? (?:address )?domain (?:does not exist|doesn't exist|not found|unknown|"
            r"must (?:exist|resolve))|"
            r"unresolvable sender domain|sender domain[^\n]{0,20}\b(?:has no|without) (?:mx|dns|a record)",
            # Postfix's reject_non_fqdn_sender: a sender with no domain ("root"), or with one that is no full name.
            r"sender address rejected: need fully.qualified address",
            # A sender named with no domain at all ("The sender address <root> is not a valid ..."), or refused
            # for a local name ("Sender domain localhost is not allowed").
            r"\bsender(?: address)? <[^@<>\s]+>|"
            r"\bsender domain (?:localhost|[^\s]+\.(?:local|localdomain|lan|internal|home))\b",
        ),
        within=("envelope-display-name",),  # no domain at all is a particular case of no address at all
        rfcs=(Rfc(3463, "3.2", "X.1.8 bad sender's system address: its domain does not exist or takes no mail"),
              Rfc(5321, "2.3.5", "only resolvable, fully-qualified domain names are permitted in SMTP"),
              Rfc(6409, "4.2", "a submission server MUST ensure that all domains in the envelope are fully-qualified")),
        replies=(Reply(None, "5.1.8"), Reply(None, "4.1.8")),
        symptoms=(
            Symptom("postfix", "Sender address rejected: Domain not found",
                    "https://www.postfix.org/postconf.5.html#reject_unknown_sender_domain",
                    note="450 4.1.8, or 5.1.8: no MX and no A record for the sender's domain"),
            Symptom("postfix", "Sender address rejected: need fully-qualified address",
                    "https://www.postfix.org/postconf.5.html#reject_non_fqdn_sender",
                    note="504 5.5.2: a sender with no domain, or one that is no full name (webmaster@localhost)"),
            Symptom("server", "Domain of sender address … does not exist",
                    "https://deploymonkey.com/blog/odoo-mail-gateway-bounce-fix", note="553 5.1.8 (Sendmail)"),
        ),
    ),
    Entry(
        id="recipient-unknown",
        title="The recipient's address does not exist",
        group=Group.IDENTITY,
        ports=(25, 587, 465),
        what_happened=(
            "The server refused a recipient: it has no mailbox at that address (a typo, a closed account, or a "
            "domain whose mail now goes elsewhere). Your connection, login and message were fine."
        ),
        why=(
            "The receiving system looked the address up and found no such user: RFC 3463's X.1.1 (bad destination "
            "mailbox address); Postfix says 'User unknown in ... table', Gmail 'The email account that you tried "
            "to reach does not exist', Microsoft RecipientNotFound (5.1.10). The other recipients of the same "
            "message may have been accepted."
        ),
        fix=(
            "Check the address for a typo and the domain for the right one, or ask for the current address; take "
            "it off your lists rather than retrying: a 5xx will fail again. smtplib raises SMTPRecipientsRefused "
            "only when every recipient is refused; otherwise send_message() returns the refused ones."
        ),
        fix_python='''\
import smtplib

try:
    refused = smtp.send_message(message)  # the recipients refused while others were accepted
except smtplib.SMTPRecipientsRefused as error:
    refused = error.recipients            # every recipient was refused
for address, (code, reply) in refused.items():
    print(address, code, reply.decode(errors="replace"))
''',
        fix_go='''\
// Rcpt returns the server's refusal of each address: correct or drop the ones it does not know.
for _, address := range recipients {
	if err := client.Rcpt(address); err != nil {
		log.Printf("%s refused: %v", address, err)
	}
}
''',
        words=(
            r"\buser unknown\b|\bunknown (?:user|recipient|mailbox)\b|\bno such (?:user|mailbox|recipient)\b|"
            r"recipientnotfound|\brecipient not found\b|(?<!sender )\baddress (?:does not exist|doesn't exist)\b|"
            r"\b(?:account|mailbox|user|recipient)\b[^\n.]{0,50}\b(?:does not exist|doesn't exist|not exist)\b|"
            r"\b(?:user|mailbox|recipient) not found\b",
        ),
        rfcs=(Rfc(3463, "3.2", "X.1.1: bad destination mailbox address"),
              Rfc(5321, "4.2.2", "550: requested action not taken: mailbox unavailable")),
        replies=(Reply(550, "5.1.1"), Reply(None, "5.1.1"), Reply(550, "5.1.10"), Reply(None, "5.1.10")),
        symptoms=(
            Symptom("postfix", "Recipient address rejected: User unknown in local recipient table", POSTFIX_CHECK,
                    note="550 5.1.1, reject_unlisted_recipient"),
            Symptom("gmail", "The email account that you tried to reach does not exist", GMAIL_ERRORS,
                    note="550-5.1.1"),
            Symptom("microsoft365", "RESOLVER.ADR.RecipientNotFound",
                    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-"
                    "exchange-online/fix-error-code-550-5-1-10-in-exchange-online", note="550 5.1.10"),
        ),
    ),
    Entry(
        id="recipient-mailbox-full",
        title="The recipient's mailbox is full",
        group=Group.IDENTITY,
        ports=(25, 587, 465),
        what_happened=(
            "The receiving server refused the mail for one recipient because that mailbox is over its storage "
            "quota. Your login, sender and message were accepted; other recipients of the same message got it."
        ),
        why=(
            "Mailboxes have a size limit. RFC 3463 names a full one X.2.2: 452 4.2.2 while the server expects "
            "it to be emptied (Gmail's 'The recipient's inbox is out of storage space', OverQuotaTemp), 552 "
            "5.2.2 when it does not (a full and inactive mailbox, OverQuotaPerm). It is the recipient's storage, "
            "not your sending quota."
        ),
        fix=(
            "Nothing to change in your code or settings. A 4xx is worth retrying later (a mail server queues and "
            "does); a 5xx is not. Reach the recipient another way so they can make room, and do not let one "
            "refused recipient fail the whole send."
        ),
        fix_python='''\
import smtplib

try:
    refused = smtp.send_message(message)  # the recipients refused while the others got it
except smtplib.SMTPRecipientsRefused as error:
    refused = error.recipients  # every recipient was refused
for address, (code, reply) in refused.items():
    when = "try again later" if 400 <= code < 500 else "tell them another way"
    print(f"{address}: {code} {reply.decode(errors='replace')} ({when})")
''',
        fix_go='''\
if err := client.Rcpt(to); err != nil {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code/100 == 4 {
		log.Printf("%s: mailbox full for now, try again later: %v", to, err)
	} else {
		log.Printf("%s: refused: %v", to, err) // go on with the other recipients
	}
}
''',
        words=(
            # A full mailbox in its owner's words, not the sender's quota ("daily sending quota exceeded").
            r"\b(?:mailbox|mail box|inbox|storage|disk|recipient(?:'s)?|user|email account that you tried to reach)"
            r"\b[^\n.]{0,40}\b(?<!sending )(?<!send )(?:is )?(?:full|over ?quota|out of (?:storage|space|disk)|"
            r"quota exceeded|exceed\w* (?:its|their|the|his|her) (?:storage |disk |mailbox )?quota)\b|"
            r"\bout of storage space\b|\boverquota(?:temp|perm)\b|\bmailbox (?:size )?limit exceeded\b",
        ),
        rfcs=(Rfc(3463, "3.3", "X.2.2 mailbox full: the mailbox has exceeded its storage allocation"),
              Rfc(5321, "4.2.3", "452 insufficient system storage; 552 exceeded storage allocation")),
        replies=(Reply(452, "4.2.2"), Reply(552, "5.2.2"), Reply(550, "5.2.2"), Reply(None, "4.2.2"),
                 Reply(None, "5.2.2")),
        symptoms=(
            Symptom("gmail", "The email account that you tried to reach is over quota", GMAIL_ERRORS,
                    note="452 4.2.2"),
            Symptom("gmail", "The recipient's inbox is out of storage space", GMAIL_ERRORS,
                    note="452 4.2.2 (OverQuotaTemp), or 552 5.2.2 when it is also inactive (OverQuotaPerm)"),
        ),
    ),
    Entry(
        id="relay-denied",
        title="Relaying refused: the server takes mail only for its own domains",
        group=Group.IDENTITY,
        ports=(25,),
        what_happened=(
            "You handed the server mail for someone in another domain without logging in. It only "
            "accepts mail addressed to its own domains, so it refused the recipient."
        ),
        why=(
            "Port 25 servers are the destination's mail exchangers; forwarding anyone's mail anywhere "
            "would make them open relays for spam. To send to any address you submit through your "
            "provider on 587 or 465, logged in."
        ),
        fix="Submit through your provider's submission port (587 or 465) with a login.",
        **_settings(587),
        words=(
            r"relay(?:ing)? (?:access )?(?:denied|disallowed|not permitted|prohibited|not allowed|refused)",
            r"unable to relay|not (?:permitted|allowed|authori[sz]ed) to relay|we do not relay|cannot relay|"
            r"relay(?:ing)? (?:is )?not (?:permitted|allowed|authori[sz]ed)",
            # RFC 5321 calls RCPT TO's address the forward-path: its domain is not one the server takes mail for.
            r"forward[- ]path[^\n]{0,40}\bnot (?:allowed|permitted|accepted|local)",
            r"allowed rcpthosts",
            # Google Workspace's SMTP relay service, for a client it cannot tie to the account (by address or login).
            r"credentials for relay(?:ing)?\b",
        ),
        clauses=((RELAYING, REFUSED),),
        rfcs=(Rfc(5321, "3.6.2", "a relay may decline to relay mail; it SHOULD answer 550"), _RFC3463_38),
        replies=(Reply(554, "5.7.1", Phase.RCPT), Reply(550, "5.7.1", Phase.RCPT), Reply(550, None, Phase.RCPT),
                 Reply(550, "5.7.64")),
        symptoms=(
            Symptom("postfix", "Relay access denied", POSTFIX_CHECK + "#L1772", note="554 5.7.1 at RCPT"),
            Symptom("exchange", "Unable to relay", "https://github.com/jstedfast/MailKit/issues/873",
                    note="550 5.7.1"),
            Symptom("exim", "relay not permitted", EXIM_CONFIG + "#L515", note="550, from Exim's default ACL"),
            Symptom("node", "Can't send mail - all recipients were rejected: 554 5.7.1", NODE),
            _RCPT_554_CURL,
        ),
    ),
    Entry(
        id="ip-blocklisted",
        title="The sending machine's IP address is on a blocklist",
        group=Group.IDENTITY,
        ports=(25,),
        what_happened=(
            "The receiving server looked up the address your mail came from in a DNS blocklist (Spamhaus, "
            "Barracuda, SpamCop, or its own list, as Microsoft's 'banned sending IP') and refused it for "
            "being listed. Nothing about your login, sender or message was looked at."
        ),
        why=(
            "Receivers refuse connections from addresses listed for sending spam, and from addresses their "
            "owners say should not send mail directly at all: home connections and many cloud ranges (the "
            "Spamhaus PBL). Mail sent straight to port 25 from such a machine is refused however it is "
            "written; a shared address can be listed for another customer's mail."
        ),
        fix=(
            "Look the address up on the list the reply names (its site says why it is listed and how to be "
            "removed; Microsoft's reply links its delisting portal). From a home or cloud address, do not "
            "deliver directly: submit through your provider on 587 or 465, logged in, and let it deliver. "
            "If it is your own mail server, stop what got it listed before asking for removal."
        ),
        **_settings(587),
        words=(
            r"blocked using [^\s]|\b(?:listed|blacklisted|blocklisted) (?:at|in|on|by) [^\n]{0,40}"
            r"(?:spamhaus|spamcop|barracuda|sorbs|uceprotect|\brbl\b|dnsbl|block ?list|black ?list)",
            r"banned sending ip|\b(?:ip|address|client|host)\b[^\n]{0,60}\b(?:is )?(?:on|in) (?:our|a|the) "
            r"(?:block ?list|black ?list|dnsbl|rbl)\b|\bdnsbl\b|spamhaus\.org/query|part of their network is on our "
            r"block list",
            # Outlook.com's codes for a sending address it refuses (SC-001 to SC-004 policy and reputation blocks,
            # DY-001 and DY-002 dynamic or compromised addresses). Not iCloud's [CS01], its filter's verdict on the
            # message as much as on the sender.
            r"\b(?:sc-00[1-4]|dy-00[12])\b",
            # T-Online refuses the connection naming the client's address ("554 IP=192.0.2.1 - ..."), whatever the
            # reason in brackets after it: (BL) a block list, (NOWL) no reputation, (DIAL) a dial-up address.
            r"\bip=[^\s=]{3,45} - ",
            r"\bdynamic ip|\b(?:dial-?up|dynamic|residential)(?:/transient)? (?:ip|address|addresses|range)\b"
            r"[^\n]{0,30}\bnot (?:allowed|accepted|permitted)",
            # Gmail's NotAuthorizedError: an address (a home or cloud one) that may not deliver to it directly.
            r"not authori[sz]ed to send email directly to our servers|\bnotauthorizederror\b",
        ),
        # A refusal of mail from the sending address, named (Yahoo's "[TSS06] All messages from 192.0.2.1 will be
        # permanently deferred").
        within=("rejected-as-spam",),  # a listed address is one reputation verdict, named
        clauses=((BLOCKLIST,), (FROM_ADDRESS, rf"{REFUSED}|\bpermanently deferred\b"),
                 (SENDING_HOST, BLOCKED)),
        rfcs=(Rfc(5782, "2", "DNS blocklists: a receiver looks up the client's address under the list's zone"),
              _RFC3463_38),
        replies=(Reply(550, "5.7.606"), Reply(None, "5.7.606")),
        symptoms=(
            Symptom("postfix", "Service unavailable; Client host […] blocked using …",
                    "https://www.postfix.org/postconf.5.html#default_rbl_reply",
                    note="Postfix's default_rbl_reply, from reject_rbl_client (554, or 550 as many sites set it)"),
            Symptom("microsoft365", "Access denied, banned sending IP",
                    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-"
                    "exchange-online/fix-error-code-5-7-606-through-5-7-649",
                    note="550 5.7.606 to 5.7.649: the address is on Microsoft's own blocklist"),
        ),
    ),
    Entry(
        id="reverse-dns-missing",
        title="The sending machine's IP address has no reverse DNS name, or one that does not lead back to it",
        group=Group.IDENTITY,
        ports=(25,),
        what_happened=(
            "The receiving server looked up the name of the address your mail came from (its PTR record) and "
            "found none, or found a name whose own address is another one, and refused the connection or the "
            "message. Nothing about your login, sender or message was looked at."
        ),
        why=(
            "Receivers take an address without a forward-confirmed name (PTR to a name, and that name back to "
            "the same address) for a home or hijacked machine. Postfix refuses it with reject_unknown_client_hostname "
            "('cannot find your hostname') or reject_unknown_reverse_client_hostname ('cannot find your reverse "
            "hostname'), with a 450 when the lookup may only have failed for now; Gmail with 550 5.7.25; RFC 7372 "
            "gives it the code X.7.25. A new cloud server's address usually has no PTR until you ask for one."
        ),
        fix=(
            "Ask whoever owns the sending address (your hosting or cloud provider, not your domain's registrar) to "
            "set its PTR record to your mail server's name, give that name an A (and AAAA) record with the same "
            "address, and say that name in EHLO. From a home connection, do not deliver directly: submit through "
            "your provider on 587 or 465, logged in."
        ),
        **_settings(587),
        words=(
            r"cannot find your (?:reverse )?hostname|does not have a ptr record|\bno ptr\b|"
            r"(?:reverse dns|rdns|\bptr\b)[^\n]{0,40}\b(?:missing|failed|fail|does not match|mismatch|not found|"
            r"does not resolve|doesn't resolve)|"
            r"forward-confirmed reverse dns|\bfcrdns\b|\bfix (?:your )?reverse dns|ipv6 sending guidelines|"
            r"(?:does not|doesn't) have (?:a )?(?:valid )?(?:reverse dns|rdns|ptr)",
        ),
        clauses=((REVERSE_NAME, MISSING), (REVERSE_NAME, WRONG)),
        rfcs=(Rfc(7372, "3.3", "X.7.25: reverse DNS validation failed"),
              Rfc(8601, "3", "iprev: the client's address must have a name that resolves back to it")),
        replies=(Reply(550, "5.7.25"), Reply(None, "5.7.25"), Reply(None, "4.7.25"), Reply(None, "4.7.23")),
        symptoms=(
            Symptom("postfix", "Client host rejected: cannot find your reverse hostname, […]",
                    "https://www.postfix.org/postconf.5.html#reject_unknown_reverse_client_hostname",
                    note="450 4.7.1 while the lookup may only have failed for now"),
            Symptom("postfix", "Client host rejected: cannot find your hostname, […]",
                    "https://www.postfix.org/postconf.5.html#reject_unknown_client_hostname",
                    note="450 4.7.1: no name, or one that does not resolve back to the address"),
            Symptom("gmail", "The IP address sending this message does not have a PTR record setup",
                    "https://support.google.com/a?p=sender-guidelines-ip", note="550-5.7.25"),
        ),
    ),
    Entry(
        id="spf-dkim-failed",
        title="Mail refused because it fails SPF, DKIM or DMARC",
        group=Group.IDENTITY,
        ports=(25, 587),
        what_happened=(
            "The receiving server refused the message as unauthenticated: the sending domain's SPF record "
            "does not list the machine that sent it, and it carries no valid DKIM signature (or DMARC "
            "says to reject it)."
        ),
        why=(
            "Gmail, Yahoo and Microsoft require bulk and unknown senders to authenticate their domain. Mail "
            "sent straight to port 25 from a server, or through a provider that is not in the domain's SPF "
            "record and does not sign for it, fails those checks."
        ),
        fix=(
            "Publish an SPF record that includes your sending service, have it DKIM-sign for your domain, "
            "add a DMARC record; or send through the provider that hosts your domain's mail."
        ),
        **_settings(587),
        words=(
            r"\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated (?:mail|email|message)|required authentication level",
        ),
        # A sender the domain did not authorise, by SPF or DKIM: a particular case of a sender not allowed, and of
        # mail judged by its sender.
        within=("sender-identity-mismatch", "rejected-as-spam"),
        rfcs=(Rfc(7208, "2.6", "SPF results: pass, fail, softfail, none"),
              Rfc(6376, "6.3", "DKIM signature verification results"),
              Rfc(7372, "3", "enhanced codes X.7.20-X.7.26 for failed email authentication")),
        replies=(Reply(550, "5.7.26"), Reply(None, "5.7.26"), Reply(550, "5.7.23"), Reply(None, "5.7.23"),
                 Reply(550, "5.7.20"), Reply(None, "5.7.20"), Reply(None, "5.7.24"), Reply(None, "5.7.25"),
                 Reply(421, "4.7.26"), Reply(421, "4.7.27")),
        symptoms=(
            Symptom("gmail", "The sender must authenticate with at least one of SPF or DKIM", GMAIL_ERRORS,
                    note="550 5.7.26"),
            Symptom("gmail", "does not have authentication information or fails to pass authentication checks",
                    "https://pastebin.com/vyFg8hz0", note="550 5.7.1"),
            Symptom("gmail", "This mail is unauthenticated, which poses a security risk", GMAIL_ERRORS,
                    note="550 5.7.26"),
            Symptom("yahoo", "Yahoo requires all senders to authenticate with either SPF or DKIM",
                    "https://github.com/forwardemail/status.forwardemail.net/issues/866", note="550 5.7.9"),
            Symptom("gmail", "sender is unauthenticated", "https://github.com/hmailserver/hmailserver/issues/491",
                    note="550 5.7.26"),
            Symptom("gmail", "does not have authentication information", "https://pastebin.com/vyFg8hz0"),
            Symptom("gmail", "authentication checks", "https://github.com/docker-mailserver/docker-mailserver/issues/2996",
                    note="421 4.7.0 or 550 5.7.1: SPF and DKIM did not pass"),
            Symptom("server", "SPF or DKIM", GMAIL_ERRORS),
            Symptom("server", "SPF and DKIM", "https://github.com/docker-mailserver/docker-mailserver/issues/2996"),
            Symptom("server", "DMARC", "https://www.rfc-editor.org/rfc/rfc7489#section-6.3",
                    note="the domain's DMARC policy says to reject what fails SPF and DKIM"),
        ),
    ),
    Entry(
        id="rejected-as-spam",
        title="Refused as spam: the receiver judged the message, or its sender's reputation",
        group=Group.IDENTITY,
        ports=(25, 587),
        what_happened=(
            "The conversation went well and the server refused the mail anyway, as spam: its filter scored the "
            "message (its words, links, attachments, headers) or the reputation of the address and domain it "
            "came from, and the score was too high. No setting of your client caused it."
        ),
        why=(
            "Receivers filter every message (Gmail's 'this message is likely unsolicited mail', a very low "
            "reputation of the sending IP address or domain; Rspamd's and Exchange's content filters; NetEase's "
            "DT:SPM). Submission servers filter outgoing mail too, against stolen accounts. Mail from a new "
            "address or domain, with no SPF, DKIM or DMARC, many links, a shortened URL, or only HTML scores "
            "worst; the same text sent many times over scores as bulk."
        ),
        fix=(
            "Make the mail look like what it is: send from your domain through its provider (587, logged in), "
            "with SPF, DKIM and DMARC passing; give a plain-text part beside the HTML, a real From: and "
            "Message-ID, no shortened links; raise volume slowly from a new address. Look up the reply's link "
            "(Gmail's sender guidelines, Postmaster Tools) for what it measured; test with a message of plain words."
        ),
        fix_python='''\
from email.message import EmailMessage
from email.utils import make_msgid

message = EmailMessage()
message["From"] = "Alerts <alerts@example.com>"   # your domain, with SPF, DKIM and DMARC passing
message["To"] = "you@example.org"
message["Subject"] = "Backup finished"
message["Message-ID"] = make_msgid(domain="example.com")
message.set_content("The nightly backup finished at 02:10.")    # a plain-text part...
message.add_alternative("<p>The nightly backup finished at 02:10.</p>", subtype="html")  # ...beside the HTML
smtp.send_message(message)
''',
        fix_go='''\
// a real From: in your domain, a Message-ID, and plain text (with any HTML as a second part)
msgID := fmt.Sprintf("<%d@example.com>", time.Now().UnixNano())
msg := []byte("From: Alerts <alerts@example.com>\\r\\n" +
	"To: you@example.org\\r\\n" +
	"Subject: Backup finished\\r\\n" +
	"Message-ID: " + msgID + "\\r\\n" +
	"Content-Type: text/plain; charset=utf-8\\r\\n\\r\\n" +
	"The nightly backup finished at 02:10.\\r\\n")
if err := smtp.SendMail(addr, auth, "alerts@example.com", []string{"you@example.org"}, msg); err != nil {
	log.Fatal(err)
}
''',
        words=(
            SPAM_VERDICT,
            r"\b(?:very )?(?:low|poor|bad) reputation\b|\bspam (?:detected|score|probability)\b|\bdt:spm\b",
            # Yahoo's [PH01] ("Email not accepted for policy reasons": judged as spam or phishing), iCloud's [CS01]
            # ("Message rejected due to local policy": its filter's verdict on the message and its sender).
            r"\[ph0\d\]|\[cs01\]",
        ),
        clauses=((SPAM, REFUSED), (SPAM, JUDGED)),
        rfcs=(_RFC3463_38, _RFC6409_63),
        symptoms=(
            Symptom("gmail", "Our system has detected that this message is likely unsolicited mail", GMAIL_ERRORS,
                    note="550 5.7.1"),
            Symptom("gmail", "likely suspicious due to the very low reputation of the sending IP address",
                    "https://github.com/postalserver/postal/issues/477", note="550 5.7.1; or of the sending domain"),
            Symptom("server", "Spam message rejected", "https://github.com/seijikun/idlemail/issues/9",
                    note="554 5.7.1 (Rspamd's words)"),
            Symptom("server", "DT:SPM", "https://github.com/Vincedream/NodeMail/issues/20",
                    note="554, NetEase (163.com, 126.com): the content judged as spam"),
            Symptom("yahoo", "[PH01] Email not accepted for policy reasons",
                    "https://scottiestech.info/2015/03/22/why-yahoo-is-rejecting-your-mail/", note="554"),
        ),
    ),
    Entry(
        id="sending-account-blocked",
        title="The provider has stopped this account from sending (suspected spam or a stolen account)",
        group=Group.IDENTITY,
        ports=(587, 465),
        what_happened=(
            "Your provider refused the mail because of the account, not the message: it found the account "
            "sending spam (or too much, or to many addresses that bounce), took it for stolen, and stopped it "
            "from sending. The login may still succeed; web mail may still read mail."
        ),
        why=(
            "Providers restrict accounts that send spam, usually because the password was stolen: Microsoft 365 "
            "puts them on its restricted list ('550 5.1.8 Access denied, bad outbound sender', "
            "OutboundSpamException, '5.7.501 Access denied, spam abuse detected'), Zoho answers 'Sender Address "
            "Blocked', MailChannels '[SB01] blocked due to complaints', Yandex asks you to prove you are not a "
            "robot. New accounts that send a lot at once are held the same way."
        ),
        fix=(
            "Sign in on the provider's web mail and follow what it asks (a robot check, a phone number); if the "
            "account may be stolen, change its password and remove forwarding rules you did not set. An admin "
            "releases a Microsoft 365 user from Defender's Restricted entities page. Then send less, more "
            "slowly, and only to addresses that asked for it."
        ),
        fix_python='''\
import smtplib

try:
    smtp.send_message(message)
except smtplib.SMTPResponseException as error:
    # Not a password to retry: the account is held. Stop, and ask a person to release it.
    raise SystemExit(f"the provider holds this account: {error.smtp_code} {error.smtp_error!r}")
''',
        fix_go='''\
if err := smtp.SendMail(addr, auth, from, to, msg); err != nil {
	// Not a password to retry: the account is held. Stop, and ask a person to release it.
	log.Fatalf("the provider holds this account: %v", err)
}
''',
        words=(
            ACCOUNT_HELD,
            r"bad outbound sender|outboundspamexception|spam abuse detected|sender address blocked|"
            r"\boutgoing blocked\b|recognized as a valid sender|no longer allowed to send messages outside|"
            r"\[sb01\]|blocked due to complaints",
            # Exchange Online bans a whole tenant from sending when most of its mail looked suspicious: 5.7.705
            # "tenant has exceeded threshold", 5.7.708 "traffic not accepted from this IP".
            r"tenant has exceeded threshold|traffic not accepted from (?:this|your) ip",
        ),
        clauses=((ACCOUNT, SUSPENDED, SENDING),),
        rfcs=(_RFC3463_38,),
        replies=(Reply(None, "5.7.501"),),
        symptoms=(
            Symptom("microsoft365", "Access denied, bad outbound sender",
                    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-"
                    "exchange-online/fix-error-code-5-1-8-in-exchange-online",
                    note="550 5.1.8: the account is on Microsoft's restricted list"),
            Symptom("microsoft365", "STOREDRV.Submission.Exception:OutboundSpamException",
                    "https://github.com/nodemailer/nodemailer/issues/1486", note="554 5.2.0"),
            Symptom("microsoft365", "Access denied, spam abuse detected",
                    "https://github.com/microsoft/botframework-sdk/issues/2169", note="550 5.7.501"),
            Symptom("microsoft365", "Access denied, traffic not accepted from this IP",
                    "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/non-delivery-reports-in-"
                    "exchange-online/fix-error-code-5-7-700-through-5-7-750",
                    note="550 5.7.708: the tenant is banned from sending, most of its mail having looked suspicious"),
            Symptom("zoho", "Sender Address Blocked",
                    "https://help.zoho.com/portal/en/community/topic/issue-with-outgoing-mail", note="554 5.1.8"),
            Symptom("server", "[SB01] Your email address has been blocked due to complaints",
                    "https://support.mailchannels.com/hc/en-us/articles/202222810-Fixing-the-550-5-7-1-SB01-error",
                    note="550 5.7.1, MailChannels (many shared hosts' outgoing relay)"),
        ),
    ),
    # ---------------------------------------------------------------------------------- network
    Entry(
        id="dns-resolution-failed",
        title="The host name does not resolve",
        group=Group.NETWORK,
        ports=(25, 465, 587),
        what_happened=(
            "Your program could not turn the server's name into an address, so it never tried to connect: "
            "the name does not exist (a typo, a `.invalid` name), or no DNS server answered."
        ),
        why=(
            "\"Not found\" (NXDOMAIN: Python's `Name or service not known`, Go's `no such host`, Node's "
            "ENOTFOUND) means the name is wrong; \"temporary failure\" (EAI_AGAIN) means the resolver could "
            "not be reached or did not answer: a network problem, not a spelling one."
        ),
        fix=(
            "Check the host name against the provider's documentation (smtp.gmail.com, smtp.office365.com); "
            "if it is right, check the machine's DNS (resolv.conf, a container's network) and retry."
        ),
        fix_python='''\
import socket

try:
    socket.getaddrinfo("smtp.example.com", 587)
except socket.gaierror as error:
    if error.errno == socket.EAI_AGAIN:   # the resolver did not answer: retry later
        raise RuntimeError("DNS did not answer; check the network") from error
    raise RuntimeError("smtp.example.com does not exist; check the spelling") from error
''',
        fix_go='''\
if _, err := net.LookupHost(host); err != nil {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		log.Fatalf("%s does not exist; check the spelling", host)
	}
	log.Fatal(err) // the resolver did not answer: check the network, retry later
}
''',
        rfcs=(Rfc(6761, "6.4", "the .invalid top-level domain never resolves"),
              Rfc(5321, "5.1", "locating the target host: MX records, then the address")),
        network=(Network.NAME_NOT_FOUND, Network.NAME_TEMPORARY),
        words=(
            r"lookup [^\n]{1,100}(?:no such host|i/o timeout|server misbehaving)",  # Go's resolver, in dial's words
            # A relay's report (Postfix's bounce, Exchange's NDR) that the destination's name does not resolve.
            r"host or domain name not found|name service error for name|nonexistent ?domain",
        ),
        replies=(Reply(None, "5.4.4"), Reply(None, "4.4.3"), Reply(None, "5.1.2")),
        symptoms=(
            Symptom("go", "no such host", GO_SRC + "net/net.go#L621"),
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="egress-port-blocked",
        title="Connection attempt timed out: the port is filtered",
        group=Group.NETWORK,
        ports=(25, 465, 587),
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
        **_settings(465),
        rfcs=(_RFC6409_31, _RFC8314_33),
        network=(Network.CONNECT_TIMEOUT, Network.TIMEOUT),
        symptoms=(
            Symptom("python", "TimeoutError: timed out", PYTHON, whole_line=True, note="with timeout= set"),
            Symptom("go", "dial tcp …: i/o timeout", GO, note="with a net.Dialer Timeout"),
            Symptom("node", "Error: Connection timeout", NODE, whole_line=True, note="nodemailer's connectionTimeout"),
            Symptom("curl", "Connection timed out after", CURL),
            Symptom("curl", "Failed to connect to … Timeout was reached", CURL),
            Symptom("swaks", "IO::Socket::…: connect: timeout", SWAKS,
                    note="INET6, INET or IP, after the Perl socket module swaks found"),
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="connection-refused",
        title="Connection refused: nothing listens on that port",
        group=Group.NETWORK,
        ports=(468, 456, 465, 587, 25),
        what_happened=(
            "The machine answered at once that no program is listening on that port. Most often the port "
            "number is mistyped (the case study printed 468 for 465)."
        ),
        why="A typo in the port or host, a mail server that is not running, or a firewall that rejects.",
        fix="Check host and port: 465 (implicit TLS) or 587 (STARTTLS) for submission, 25 between servers.",
        **_settings(465),
        rfcs=(_RFC8314_33, _RFC6409_31),
        network=(Network.REFUSED,),
        words=(
            r"failed to connect to mailserver at",  # PHP's mail() on Windows: nothing listens at "SMTP", "smtp_port"
        ),
        symptoms=(
            Symptom("python", "ConnectionRefusedError: [Errno 111] Connection refused", PYTHON),
            Symptom("go", "dial tcp …: connect: connection refused", GO),
            Symptom("node", "connect ECONNREFUSED …", NODE),
            Symptom("curl", "Failed to connect to … Couldn't connect to server", CURL),
            Symptom("swaks", "IO::Socket::…: connect: Connection refused", SWAKS,
                    note="INET6, INET or IP, after the Perl socket module swaks found"),
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="network-unreachable",
        title="No route to the server: the network or host is unreachable",
        group=Group.NETWORK,
        ports=(25, 465, 587),
        what_happened=(
            "The connection failed at once, before any packet reached the server: this machine has no route "
            "to the server's address (ENETUNREACH, EHOSTUNREACH). (A connection this machine forbids fails at once "
            "too, with 'permission denied': see connection-forbidden.)"
        ),
        why=(
            "Most often the name resolved to an IPv6 address and this network has no IPv6 route (a container, "
            "a VPN, a home router without IPv6), or the machine is offline; a router or firewall that answers "
            "'unreachable' gives the same. Unlike a filtered port (egress-port-blocked) nothing waits: the "
            "error comes immediately."
        ),
        fix=(
            "See which addresses the name has and which of them this machine can reach (ip route, "
            "ping -4 and ping -6). Where only IPv4 works, connect over IPv4; inside a container, check that "
            "it has a network at all."
        ),
        fix_python='''\
import socket

# Which addresses the name has, and which this machine reaches: smtplib tries them in this order, and an
# IPv6 address on a network without IPv6 fails at once with "Network is unreachable".
for family, _, _, _, address in socket.getaddrinfo("smtp.example.com", 587, type=socket.SOCK_STREAM):
    try:
        socket.create_connection(address[:2], timeout=10).close()
        print(family.name, address[0], "reachable")
    except OSError as error:
        print(family.name, address[0], error)
''',
        fix_go='''\
// Which addresses the name has: an IPv6 one first, on a network without IPv6, fails like this.
addresses, err := net.LookupHost("smtp.example.com")
if err != nil {
	log.Fatal(err)
}
log.Println(addresses)

// Dial over IPv4 only ("tcp4"); the TLS check still uses the name.
dialer := net.Dialer{Timeout: 30 * time.Second}
conn, err := dialer.Dial("tcp4", "smtp.example.com:587")
if err != nil {
	log.Fatal(err)
}
client, err := smtp.NewClient(conn, "smtp.example.com")
''',
        rfcs=(Rfc(8305, "3", "Happy Eyeballs: try IPv6 and IPv4 addresses, not only the first one"),
              Rfc(4443, "3.1", "ICMPv6 destination unreachable: no route to destination")),
        network=(Network.UNREACHABLE,),
        symptoms=(
            Symptom("python", "OSError: [Errno 101] Network is unreachable",
                    "https://man7.org/linux/man-pages/man3/errno.3.html", note="ENETUNREACH, at once"),
            Symptom("go", "connect: network is unreachable", GO_SRC + "syscall/zerrors_linux_amd64.go"),
        ),
    ),
    Entry(
        id="connection-forbidden",
        title="This machine forbade the connection: SELinux, a local firewall or an antivirus",
        group=Group.NETWORK,
        ports=(25, 465, 587),
        what_happened=(
            "The connection failed at once with 'permission denied' (EACCES; on Windows WSAEACCES, 10013): "
            "something on your own machine stopped your program before a packet left."
        ),
        why=(
            "A security layer forbids this program that connection. SELinux (Red Hat, CentOS, Fedora) keeps web "
            "servers and PHP from connecting out unless the boolean httpd_can_network_connect (or "
            "httpd_can_sendmail, for the mail ports) is on; a firewall may reject outgoing connections per "
            "program; antivirus suites block port 25 for every program but known mail clients, to stop "
            "mass-mailing worms. The same code works from a shell, or on another machine."
        ),
        fix=(
            "Allow the program, not the whole machine: with SELinux, `setsebool -P httpd_can_network_connect 1` "
            "(the denial is in the audit log: `ausearch -m avc`); on Windows, an exception for the program in "
            "the firewall or in the antivirus's port rule. Submitting on 587 rather than 25 often avoids the "
            "antivirus rule. Never switch the whole security layer off."
        ),
        **_settings(587),
        network=(Network.FORBIDDEN,),
        symptoms=(
            Symptom("php", "SMTP ERROR: Failed to connect to server: Permission denied (13)",
                    "https://github.com/PHPMailer/PHPMailer/blob/4a489474e7ef8bbf03c1cb219d8939ea76a7fb40/src/SMTP.php",
                    note="stream_socket_client's errno and message, on SELinux"),
            Symptom("dotnet", "An attempt was made to access a socket in a way forbidden by its access permissions",
                    "https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2",
                    note="WSAEACCES (10013)"),
        ),
    ),
    Entry(
        id="ipv6-path",
        title="Connected over IPv6 to a server that listens on IPv4 only",
        group=Group.NETWORK,
        ports=(25, 465, 587),
        what_happened=(
            "The name (typically `localhost`) resolved to an IPv6 address (::1) first, and nothing listens "
            "there, or this network has no IPv6 route; the server is reachable over IPv4."
        ),
        why=(
            "Node 17 and later keep the resolver's order, which on many systems puts IPv6 first; a client "
            "that tries only the first address fails where IPv6 is not served or not routed."
        ),
        fix="Connect to the IPv4 address (127.0.0.1) explicitly, or make the server listen on both addresses.",
        **_settings(587, host="127.0.0.1"),
        rfcs=(Rfc(8305, "3", "Happy Eyeballs: try IPv6 and IPv4 addresses, not only the first one"),),
        network=(Network.REFUSED, Network.UNREACHABLE),
        symptoms=(
            Symptom("node", "connect ECONNREFUSED ::1:", NODE),
        ),
    ),
    Entry(
        id="connection-reset",
        title="The connection was reset",
        group=Group.NETWORK,
        ports=(25, 465, 587),
        what_happened=(
            "The other end (or something on the way) aborted the connection with a TCP reset instead of "
            "closing it: no reply, no goodbye."
        ),
        why=(
            "A firewall, antivirus or proxy that cuts SMTP or TLS it does not like; a server that refuses "
            "the client's TLS (an old TLS version, a client speaking TLS to a plaintext port); a server "
            "that dropped an idle or overloaded connection. It is the network's way of saying no."
        ),
        fix=(
            "Check the port and TLS mode pair (465 implicit, 587 STARTTLS), try from another network, and "
            "run the doctor; retry with back-off if it happens only now and then."
        ),
        **_settings(465),
        rfcs=(Rfc(9293, "3.5.3", "reset processing: a RST aborts the connection"), _RFC5321_3_8),
        network=(Network.RESET,),
    ),
    Entry(
        id="greeting-timeout",
        title="Connected, but no greeting before the timeout",
        group=Group.NETWORK,
        ports=(25, 587, 465),
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
            "Keep a timeout, but a patient one (60 s or more for the greeting); if it never answers, check "
            "host, port and TLS mode with the doctor."
        ),
        **_settings(587, timeout=60),
        rfcs=(_RFC5321_4532, Rfc(5321, "4.5.3.2.1", "the initial 220 message: wait 5 minutes")),
        network=(Network.READ_TIMEOUT, Network.TIMEOUT),
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
        group=Group.NETWORK,
        ports=(25, 587, 465),
        what_happened="Instead of `220` the server greeted with `421` (service not available) and hung up.",
        why=(
            "The server is overloaded, shutting down, or limiting connections from your address. 421 is "
            "temporary."
        ),
        fix="Retry later with back-off, or try the provider's other host; do not hammer it.",
        fix_python='''\
for delay in (0, 60, 300):
    time.sleep(delay)
    try:
        with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
            smtp.login("you@example.com", os.environ["SMTP_PASSWORD"])
            smtp.send_message(message)
        break
    except smtplib.SMTPConnectError as error:
        if error.smtp_code != 421:
            raise
''',
        fix_go='''\
for _, delay := range []time.Duration{0, time.Minute, 5 * time.Minute} {
	time.Sleep(delay)
	err := send()
	var reply *textproto.Error
	if err == nil || !errors.As(err, &reply) || reply.Code != 421 {
		return err
	}
}
''',
        words=(
            r"server (?:is )?(?:too )?busy|too busy|shutting down|(?:service|server) (?:is )?temporarily unavailable",
            r"temporary (?:system|server) (?:problem|error)",
        ),
        rfcs=(_RFC5321_3_8, _RFC5321_4541),
        replies=(Reply(421, None, Phase.GREETING), Reply(421, "4.3.2"), Reply(421, None)),
        symptoms=(
            Symptom("server", "Service not available, closing transmission channel",
                    "https://www.rfc-editor.org/rfc/rfc5321#section-4.2.3", note="421"),
            Symptom("python", "SMTPConnectError: (421, b'…", PYTHON),
            Symptom("node", "Invalid greeting. response=421", NODE, note="code EPROTOCOL"),
            Symptom("curl", "Got unexpected smtp-server response: 421", CURL),
            _JAVA_BAD_GREETING,
        ),
    ),
    Entry(
        id="not-smtp",
        title="Something other than a mail server answered",
        group=Group.NETWORK,
        ports=(25, 587, 465),
        what_happened=(
            "The first line from the server was not an SMTP greeting: another kind of server answered (a web "
            "server in HTTP, a mailbox server in IMAP or POP3, SSH, FTP)."
        ),
        why=(
            "A wrong port or host: a web server, a proxy, the provider's IMAP or POP3 port (143, 993, 110, 995) "
            "or another service listens there."
        ),
        fix="Check the host and the port in the provider's documentation: 465 or 587 for submission, not IMAP's.",
        **_settings(465),
        words=(
            r"http/1\.[01] \d{3}|<html|<!doctype",
        ),
        rfcs=(Rfc(5321, "3.1", "session initiation: the server's first reply is the 220 greeting"),),
        symptoms=(
            Symptom("python", "SMTPConnectError: (-1, b'", PYTHON, note="smtplib could not read a reply code"),
            Symptom("go", "short response: HTTP/", GO),
            Symptom("node", "Invalid greeting. response=HTTP/", NODE),
            Symptom("swaks", "<** HTTP/1.", SWAKS),
            Symptom("swaks", "<~* HTTP/1.", SWAKS),
            Symptom("server", "HTTP/1.1 400 Bad Request", LAB, note="a web server's answer to SMTP"),
            _JAVA_BAD_GREETING,
            _READ_FAILED_CURL,
        ),
    ),
    Entry(
        id="timeouts-and-idle-drops",
        title="Connection dropped mid-session, or reused after it closed",
        group=Group.NETWORK,
        ports=(25, 587, 465),
        what_happened=(
            "The conversation had started, then the connection was gone: the server hung up on an idle "
            "connection (Postfix first says `421 4.4.2 ... Error: timeout exceeded`), or your program reused "
            "an SMTP object after it was closed."
        ),
        why=(
            "Servers close connections that sit idle (Postfix after 300 s). smtplib objects cannot "
            "reconnect by themselves: after a drop they say `Connection unexpectedly closed`, after that "
            "or quit() `please run connect() first`. Without timeouts (smtplib's and Go's default) a "
            "dead connection hangs forever instead."
        ),
        fix="Open a connection per batch of mail (with ... as smtp:), always set timeouts, and reconnect on failure.",
        fix_python='''\
def send(message):
    with smtplib.SMTP_SSL("smtp.example.com", 465, context=context, timeout=30) as smtp:
        smtp.login("you@example.com", os.environ["SMTP_PASSWORD"])
        smtp.send_message(message)   # a fresh connection each time: nothing to go stale

for message in batch:
    send(message)
''',
        fix_go='''\
// A fresh connection for each batch, with a deadline: nothing stays open long enough to go stale, and
// nothing hangs forever on a dead one.
sendBatch := func(msgs [][]byte) error {
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", "smtp.example.com:465",
		&tls.Config{ServerName: "smtp.example.com"})
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	client, err := smtp.NewClient(conn, "smtp.example.com")
	if err != nil {
		return err
	}
	defer client.Close()
	auth := smtp.PlainAuth("", "you@example.com", os.Getenv("SMTP_PASSWORD"), "smtp.example.com")
	if err := client.Auth(auth); err != nil {
		return err
	}
	for _, msg := range msgs {
		if err := client.Mail(from); err != nil {
			return err
		}
		if err := client.Rcpt(to); err != nil {
			return err
		}
		w, err := client.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return client.Quit()
}
for _, batch := range batches {
	if err := sendBatch(batch); err != nil {
		log.Print(err) // the next batch gets a connection of its own
	}
}
''',
        words=(
            # A connection used again: pooled, reused, on a later message, or checked with RSET or NOOP, which clients
            # send only on a connection that carried a message before (nodemailer's pool, Jakarta Mail's isConnected).
            r"reused connection|re-?us(?:ing|e) (?:a |the )?(?:pooled |cached |existing )?connection|"
            r"(?:pooled|cached|persistent) (?:smtp )?(?:connection|transport)|(?:after|while) (?:being |sitting )?idle|"
            r"\b(?:second|next|2nd|subsequent) (?:message|email|e-mail|mail|send)|"
            r"(?:first|one) (?:message|email|e-mail|mail)\b[^\n]{0,40}\b(?:sent|went|works?|succeed\w*)\b[^\n]{0,60}"
            r"\b(?:second|next|subsequent)\b|"
            r"\b(?:rset|noop)\b[^\n]{0,40}(?:failed|closed|error|reset|eof|disconnect)|"
            r"(?:failed|closed|error|reset|eof)[^\n]{0,30}\b(?:sending|on|during|after) (?:rset|noop)\b",
            r"idle timeout|timeout exceeded|inactivity|lost input connection|run connect\(\) first|"
            r"server not connected",
            r"(?:is|was) not connected|must be connected|illegalstateexception: not connected",
            # The server gave up waiting for the client (Exchange's 451 4.7.0, Exim's 421, and others).
            r"time(?:d)? ?out (?:while )?waiting for [^\n]{0,30}\b(?:client|input)\b|"
            r"smtp (?:incoming data|command) timeout",
        ),
        rfcs=(_RFC5321_3_8, _RFC5321_4532),
        replies=(Reply(421, "4.4.2"),),
        network=(Network.CLOSED,),
        symptoms=(
            Symptom("python", "SMTPServerDisconnected: please run connect() first", PYTHON),
            Symptom("python", "SMTPServerDisconnected: Server not connected", CPYTHON_SMTPLIB,
                    note="smtplib, when sending on a socket that failed"),
            Symptom("postfix", "Error: timeout exceeded", POSTFIX_SMTPD + "#L5889",
                    note="421 4.4.2: Postfix closes a connection idle for smtpd_timeout (300 s)"),
            Symptom("exim", "lost input connection", EXIM_SMTP_IN + "#L5688", note="421"),
            Symptom("java", "java.lang.IllegalStateException: Not connected", JAKARTA_TRANSPORT,
                    note="SMTPTransport.checkConnected: a Transport used after close(), or before connect()"),
            _CLOSED_UNEXPECTEDLY_PY,
            _EOF_GO,
            _CLOSED_NODE,
            _CLOSED_SWAKS,
            _TIMEOUT_SWAKS,
        ),
    ),
    # ---------------------------------------------------------------------------------- certificates and TLS
    Entry(
        id="cert-untrusted",
        title="Certificate from a CA your program does not trust (or self-signed)",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened=(
            "The server showed a certificate, but nobody your program trusts vouches for it: it was signed "
            "by a private CA, by itself, or the server left out the intermediate certificate. Clients say "
            "the same words for all three; the doctor tells them apart (it reports an incomplete chain)."
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
        **_settings(465, ca_file="company-ca.pem"),
        words=(
            r"self[- ]signed|unknown (?:certificate )?(?:authority|issuer|ca)\b|"
            r"unable to get (?:local )?issuer certificate|sec e untrusted root|0x80090325\b",
            # Qt's QSslError::UnableToGetLocalIssuerCertificate, in its own words (qsslerror.cpp).
            r"issuer certificate of a locally looked up certificate",
            r"unable to verify the first certificate|certification path|pkix path|untrusted ?root|unknownissuer",
            r"untrusted issuer|unable to get issuer cert|unable to verify leaf signature",
            r"(?:authority|root certificate|ca|certificate) (?:that )?(?:is |was )?not trusted|not issued by a trusted",
            r"peer certificate cannot be authenticated",
            # .NET's chain status (X509ChainStatusFlags) and Windows' words for it.
            r"partialchain|notsignaturevalid|explicitdistrust|could not be built to a trusted root",
            # Go on macOS, where the system's verifier words it ("a private CA is not in the Keychain").
            r"certificate is not standards compliant",
            # No CA certificates at all to trust: a container image without them (OpenSSL 3 failing to read its
            # certificate directory, "calling stat(/usr/lib/ssl/certs)"), a CA bundle missing or empty.
            r"calling stat\([^)\n]*/certs\)|\bca[ -](?:bundle|store|certificates?)\b[^\n]{0,30}\b(?:not found|missing|"
            r"empty|does not exist)\b",
            # The client's alert, as the server logs it; a signature in the chain that does not verify.
            r"alert unknown ca|rxd alert: ca is unknown|alert read:fatal:unknown ca",
            r"rsa routines[^\n]{0,80}(?:bad signature|padding check failed|invalid padding|data too large for modulus|"
            r"wrong signature length|block type is not 01|first octet invalid|last octet invalid)",
            # A CA file that cannot be read trusts nothing (PHP's verify locations, swaks's CA path).
            r"unable to set (?:set )?(?:verify locations|ca path)|no certificate or crl found",
            # No CA store to verify with (Go's crypto/x509 root loading, Java's empty trust store, curl's CA bundle).
            r"failed to load system roots|no roots provided|system root pool is not available|"
            r"trustanchors parameter must be non-empty|error setting certificate verify locations",
        ),
        clauses=((CERTIFICATE, NOT_TRUSTED),),
        rfcs=(_RFC8314_5, _RFC8314_33),
        symptoms=(
            Symptom("python", "certificate verify failed: unable to get local issuer certificate", PYTHON),
            Symptom("python", "certificate verify failed: self-signed certificate", PYTHON),
            Symptom("python", "certificate verify failed: self signed certificate",
                    "https://github.com/openssl/openssl/blob/OpenSSL_1_1_1w/crypto/x509/x509_txt.c",
                    note="OpenSSL 1.1 wording"),
            Symptom("go", "x509: certificate signed by unknown authority", GO),
            Symptom("node", "unable to verify the first certificate", NODE),
            Symptom("node", "self-signed certificate", NODE),
            Symptom("curl", "SSL certificate problem: unable to get local issuer certificate", CURL),
            Symptom("curl", "SSL certificate problem: self-signed certificate", CURL),
            Symptom("server", "self signed certificate", "https://github.com/openssl/openssl/blob/OpenSSL_1_1_1w/"
                    "crypto/x509/x509_txt.c", note="OpenSSL 1.1's words, also 'self signed certificate in certificate "
                    "chain' (a private root CA)"),
            Symptom("java", "unable to find valid certification path to requested target", JAVA),
            Symptom("java", "PKIX path building failed", JAVA),
            Symptom("ruby", "certificate verify failed (unable to get local issuer certificate)", RUBY),
            Symptom("dotnet", "UntrustedRoot", "https://learn.microsoft.com/en-us/dotnet/api/"
                    "system.security.cryptography.x509certificates.x509chainstatusflags",
                    note="X509ChainStatusFlags, in MailKit's and .NET's messages"),
            _CERT_VERIFY_FAILED,
            _ALERT_CERT_UNKNOWN,
            _ALERT_BAD_CERT,
            _DOTNET_CHAIN_ERRORS,
            _MAILKIT_UNTRUSTED,
            Symptom("curl", "Peer certificate cannot be authenticated with given CA certificates",
                    "https://github.com/curl/curl/blob/curl-7_61_1/lib/strerror.c",
                    note="CURLE_SSL_CACERT, curl before 7.62"),
            _CURL_PEER_NOT_OK,
            _DOTNET_CERT,
            _DOTNET_CERT_REJECTED,
            _PHPMAILER_CONNECT,
            _PHPMAILER_CONNECT_FAILED,
        ),
    ),
    Entry(
        id="cert-name-mismatch",
        title="Certificate issued for another host name",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened=(
            "The certificate is genuine, but for a different name than the one your program connected to "
            "(often: connecting by IP address, or by an alias of the server)."
        ),
        why=(
            "A certificate lists the names (and IP addresses) it is valid for; a client must check that "
            "the name it dialled is one of them, or anyone with any valid certificate could pose as the "
            "server. A certificate that names its host only in the old Common Name field lists none, for a "
            "client that reads subjectAltName only (Go, browsers; Python with hostname_checks_common_name "
            "= False): see cert-cn-without-san."
        ),
        fix="Connect by the name on the certificate (the provider's documented host name); never skip the name check.",
        **_settings(465),
        words=(
            r"hostname mismatch|ip address mismatch|host ?name[^\n]{0,30}(?:does not|doesn't|did not) match",
            r"does not match (?:the )?(?:server |target )?(?:certificate|host)|did not match (?:the )?(?:expected|"
            r"target)",
            # Go's x509.HostnameError, also when a log cuts it before its ", not <host>".
            r"not valid for (?:name|any names)|certificate is valid for [^\n]{1,80}, not|certificate is not valid for|"
            r"x509: certificate is valid for\b",
            r"no alternative certificate subject name|subject ?alt(?:ernative)? ?name|altnames?|notvalidforname",
            r"name ?mismatch|target principal name is incorrect|cn name does not match|"
            r"host ?name (?:verification|validation|check) failed|failed to verify (?:the )?host ?name|"
            r"no (?:subject alternative )?(?:dns )?name matching|failed host verification",
            r"certificate name does not match",  # Go on macOS
            # GnuTLS (gnutls_certificate_verification_status_print): "The certificate is NOT trusted. The name in the
            # certificate does not match the expected."; mbed TLS: "The certificate Common Name (CN) does not match
            # with the expected CN"; NSS (Thunderbird, curl with NSS): SSL_ERROR_BAD_CERT_DOMAIN.
            r"does not match (?:with )?(?:the )?expected|bad cert domain",
            r"sec e wrong principal|0x80090322\b",  # Windows' Schannel (libcurl, .NET)
        ),
        clauses=((CERTIFICATE, HOST_NAME, MISMATCH),),
        within=("cert-untrusted",),
        rfcs=(_RFC5280_san, _RFC8314_33),
        symptoms=(
            Symptom("python", "certificate verify failed: IP address mismatch, certificate is not valid for", PYTHON),
            Symptom("python", "certificate verify failed: Hostname mismatch, certificate is not valid for",
                    "https://github.com/python/cpython/blob/v3.11.7/Modules/_ssl.c"),
            Symptom("go", "x509: cannot validate certificate for … because it doesn't contain any IP SANs", GO),
            Symptom("go", "x509: certificate is valid for …, not …", GO_SRC + "crypto/x509/verify.go#L126"),
            Symptom("go", "x509: certificate is not valid for any names, but wanted to match", GO),
            Symptom("node", "Hostname/IP does not match certificate's altnames", NODE),
            Symptom("curl", "SSL: no alternative certificate subject name matches target host name", CURL),
            Symptom("server", "hostname mismatch", RUBY, note="OpenSSL's words, as Ruby and PHP quote them"),
            Symptom("php", "Peer certificate subjectAltName did not match expected name", SYMFONY),
            Symptom("java", "Can't verify identity of server", JAVA),
            Symptom("java", "No subject alternative", "https://github.com/openjdk/jdk/blob/jdk-17%2B35/src/java.base/"
                    "share/classes/sun/security/util/HostnameChecker.java", note="...DNS name matching x found"),
            Symptom("dotnet", "RemoteCertificateNameMismatch", "https://learn.microsoft.com/en-us/dotnet/api/"
                    "system.net.security.sslpolicyerrors", note="SslPolicyErrors"),
            _CURL_PEER_NOT_OK,
            _DOTNET_CERT,
            _DOTNET_CERT_REJECTED,
            _ALERT_CERT_UNKNOWN,
            _ALERT_BAD_CERT,
            _MAILKIT_UNTRUSTED,
            # swaks 20201014.0 verifies the chain but not the name: it connects without complaint.
        ),
    ),
    Entry(
        id="cert-cn-without-san",
        title="Certificate with a Common Name but no subjectAltName",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened=(
            "The server's certificate names its host only in the old Common Name field, with no "
            "subjectAltName. Go (since 1.15) refuses it; Python, Node, curl and swaks still accept it (run "
            "against the lab's cn-only certificate), so the same server works from one program and not another."
        ),
        why=(
            "RFC 6125 made subjectAltName the place for host names; browsers and Go no longer read the "
            "Common Name. Old self-made certificates (openssl req without -addext) have none."
        ),
        fix=(
            "Reissue the server's certificate with the host name in subjectAltName (openssl req ... -addext "
            "\"subjectAltName=DNS:mail.example.com\", or any ACME client). Nothing to change in the code."
        ),
        **_settings(465),
        words=(
            r"legacy common name",
        ),
        rfcs=(_RFC6125_6, _RFC5280_san),
        symptoms=(
            Symptom("go", "x509: certificate relies on legacy Common Name field", GO_SRC + "crypto/x509/verify.go#L104",
                    note="Go 1.15 and later"),
            Symptom("go", "x509: certificate relies on legacy Common Name field, use SANs instead", GO,
                    note="the whole message, as Go 1.19 prints it against the lab"),
        ),
    ),
    Entry(
        id="cert-expired",
        title="Certificate expired (or not valid yet)",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened="The server's certificate is outside its validity dates: expired, or starting in the future.",
        why=(
            "The provider forgot to renew it, or the clock on your machine is wrong (a \"not yet valid\" "
            "certificate often means your clock is behind)."
        ),
        fix=(
            "Check your system clock (timedatectl); otherwise the provider must renew the certificate. "
            "Nothing to change in the code, and do not disable verification."
        ),
        **_settings(465),
        words=(
            r"certificate (?:has )?expired|expired certificate|not yet valid|certificate expired|nottimevalid|"
            r"notvalidyet|"
            r"invalid peer certificate: expired|invalidcertificate\(expired\)|not within its validity period|"
            r"validity check failed|cert has expired|certificateexpired|certexpired|rxd alert: certificate is expired|"
            r"certificate is expired|sec e cert expired|0x80090328\b",
            # GnuTLS (gnutls_certificate_verification_status_print) and msmtp's check of each certificate.
            r"uses (?:expired|not yet valid) certificate|certificate \d+ of \d+ (?:has expired|is not yet activated)",
            r"\bcert(?:ificate)?s?\b[^\n.():;,]{0,40}\bexpired\b|\bexpired\b[^\n.():;,]{0,30}\bcert(?:ificate)?s?\b",
        ),
        clauses=((CERTIFICATE, EXPIRED),),
        within=("cert-untrusted",),
        rfcs=(_RFC5280_validity, _RFC8314_5),
        symptoms=(
            Symptom("python", "certificate verify failed: certificate has expired", PYTHON),
            Symptom("python", "certificate verify failed: certificate is not yet valid", PYTHON),
            Symptom("go", "x509: certificate has expired or is not yet valid", GO),
            Symptom("node", "certificate has expired", NODE),
            Symptom("node", "certificate is not yet valid", NODE),
            Symptom("curl", "SSL certificate problem: certificate has expired", CURL),
            Symptom("curl", "SSL certificate problem: certificate is not yet valid", CURL),
            Symptom("java", "validity check failed", JAVA, note="CertPathValidatorException"),
            Symptom("gnutls", "The certificate chain uses expired certificate.", GNUTLS_STATUS,
                    note="GnuTLS's status text, after 'The certificate is NOT trusted.', as programs built on it "
                    "print it"),
            Symptom("msmtp", "certificate … of … has expired", MSMTP_TLS, note="msmtp built with GnuTLS"),
            Symptom("java", "CertificateExpiredException", "https://docs.oracle.com/en/java/javase/17/docs/api/"
                    "java.base/java/security/cert/CertificateExpiredException.html"),
            _CERT_VERIFY_FAILED,
            _CURL_PEER_NOT_OK,
            _DOTNET_CERT,
            _DOTNET_CERT_REJECTED,
            _DOTNET_CHAIN_ERRORS,
            _MAILKIT_UNTRUSTED,
        ),
    ),
    Entry(
        id="revocation-check-failed",
        title="The certificate's revocation status could not be checked",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened=(
            "Your program (typically .NET or MailKit on Windows) wanted to know whether the server's "
            "certificate was revoked, and could not find out: the revocation server (CRL or OCSP) was "
            "unreachable, so it refused the connection."
        ),
        why=(
            "Windows' certificate checks, .NET's and MailKit's (CheckCertificateRevocation) download the "
            "CA's revocation list over HTTP. A firewall or proxy that blocks outgoing HTTP, or a machine "
            "without internet access, makes that impossible. Python, Go and OpenSSL do not check "
            "revocation by default, so they do not fail here."
        ),
        fix=(
            "Let the machine reach the CRL and OCSP addresses named in the certificate (outgoing HTTP, port "
            "80), or configure the proxy for them. Do not switch certificate checks off."
        ),
        **_settings(465),
        words=(
            r"revocation (?:status|server|function|check)|unable to (?:get certificate crl|check revocation)|"
            r"revocationstatusunknown|offlinerevocation|\bocsp\b",
            # Windows' Schannel (libcurl, .NET): CRYPT_E_REVOCATION_OFFLINE, CRYPT_E_NO_REVOCATION_CHECK.
            r"crypt e (?:revocation offline|no revocation check)|0x8009201[23]\b",
        ),
        rfcs=(Rfc(5280, "6.3", "CRL validation"),
              Rfc(6960, "2", "OCSP: asking a responder for a certificate's status")),
        symptoms=(
            Symptom("dotnet", "unable to check revocation", "https://github.com/jstedfast/MailKit/issues/1132",
                    note="Windows CRYPT_E_NO_REVOCATION_CHECK, in .NET's and MailKit's words"),
            Symptom("dotnet", "revocation server was offline", "https://github.com/jstedfast/MailKit/issues/1227",
                    note="CRYPT_E_REVOCATION_OFFLINE"),
            Symptom("dotnet", "RevocationStatusUnknown", "https://learn.microsoft.com/en-us/dotnet/api/"
                    "system.security.cryptography.x509certificates.x509chainstatusflags"),
            Symptom("dotnet", "OfflineRevocation", "https://learn.microsoft.com/en-us/dotnet/api/"
                    "system.security.cryptography.x509certificates.x509chainstatusflags"),
            Symptom("server", "unable to get certificate CRL", "https://github.com/openssl/openssl/blob/openssl-3.0.0/"
                    "crypto/x509/x509_txt.c", note="OpenSSL, when CRL checks are on"),
        ),
    ),
    Entry(
        id="tls-version-mismatch",
        title="No TLS version or cipher in common",
        group=Group.CERTIFICATES,
        ports=(465, 587, 25),
        what_happened=(
            "The TLS handshake failed before any certificate was checked: your program and the server "
            "have no TLS version (or no cipher) in common. One side is too old, or pinned to an old "
            "version, for the other."
        ),
        why=(
            "TLS 1.0 and 1.1 are deprecated (RFC 8996) and refused by current OpenSSL, Go, Java and "
            "Microsoft 365; old servers that speak nothing newer, and old code that pins a version "
            "(ssl.PROTOCOL_TLSv1, maximum_version, an old .NET default), meet in no version at all."
        ),
        fix=(
            "Use TLS 1.2 or later on both sides: drop version pins from the code (create_default_context() "
            "already picks the best), and have an old server upgraded. Do not lower your client's security "
            "level to reach it."
        ),
        **_settings(465),
        words=(
            r"protocol ?version|unsupported protocol|no protocols available|no appropriate protocol",
            r"no (?:shared|common) cipher|no cipher suites? (?:supported|in common)|nociphersuitesincommon",
            r"handshake failure|handshakefailure|common algorithm|dh key too small|inappropriate fallback",
            r"insufficient security|did not support a suitable tls version|acceptable set of security parameters",
            r"tls ?(?:v|version )?1\.[01] (?:(?:is|are) )?(?:not supported|disabled|deprecated)",
            r"servers?doesnotsupporttls12or13|unsafe legacy renegotiation|legacy sigalg",
            r"message received was unexpected or badly formatted|sec e illegal message|0x80090326\b|"
            r"sec e algorithm mismatch|0x80090331\b|"
            r"the function requested is not supported|sec e unsupported function",
            # OpenSSL's reasons for keys, signatures and groups one side finds too weak or does not know
            # (ssl/ssl_err.c, crypto/x509/x509_txt.c).
            r"version too low|no suitable signature algorithm|no shared signature algorithms|no suitable key share|"
            r"legacy sigalg|(?:ee|ca) key too small|ca md too weak|(?:ee|ca) certificate key too weak|"
            r"ca signature digest algorithm too weak|"
            r"digest too big for rsa key|key size too small|no ciphers available|no cipher match|version too high|"
            r"(?:unknown|unsupported|wrong) ssl version",
            # GnuTLS (Exim's log, msmtp).
            r"could not negotiate a supported cipher suite|no supported cipher suites have been found|"
            r"illegal or unsupported version|insufficient security level|no common key share|"
            r"rxd alert: (?:handshake failed|error in protocol version|insufficient security)",
            # An alert by its name in any library's wording (RFC 8446 section 6.2): OpenSSL's
            # SSLV3_ALERT_HANDSHAKE_FAILURE, Erlang's "SERVER ALERT: Fatal - Handshake Failure", Java's and Go's
            # "handshake_failure" (read with "_" as a space), PHP's stream_socket_enable_crypto after STARTTLS.
            r"alert[^\n]{0,30}\b(?:handshake failure|protocol version|insufficient security)\b",
            # decode_error: one side could not parse the other's handshake, the mark of TLS stacks of different
            # ages (an old server given a modern ClientHello); not of plaintext, which reads as a wrong version.
            r"alert[^\n]{0,30}\bdecode error\b",
        ),
        clauses=((TLS_VERSION, OUTDATED),),
        rfcs=(Rfc(8996, "1", "TLS 1.0 and TLS 1.1 are deprecated"),
              Rfc(8446, "4.2.1", "supported_versions: how client and server agree on a TLS version")),
        replies=(Reply(421, "4.7.66"), Reply(None, "4.7.66")),
        symptoms=(
            Symptom("go", "tls: protocol version not supported", GO_SRC + "crypto/tls/alert.go#L72"),
            Symptom("go", "tls: server selected unsupported protocol version", GO_SRC +
                    "crypto/tls/handshake_client.go#L383"),
            Symptom("go", "tls: no supported versions satisfy MinVersion and MaxVersion",
                    GO_SRC + "crypto/tls/handshake_client.go#L59"),
            Symptom("go", "tls: no cipher suite supported by both client and server",
                    GO_SRC + "crypto/tls/handshake_server.go#L359"),
            Symptom("python", "[SSL: NO_PROTOCOLS_AVAILABLE] no protocols available", PYTHON,
                    note="the context allows no TLS version OpenSSL will still speak"),
            Symptom("server", "no protocols available", PYTHON, note="OpenSSL's words, as any client quotes them"),
            Symptom("server", "unsupported protocol", "https://github.com/openssl/openssl/blob/openssl-3.0.0/"
                    "crypto/err/openssl.txt", note="OpenSSL: the server offered only a version the client refuses"),
            Symptom("server", "alert protocol version", "https://github.com/openssl/openssl/blob/openssl-3.0.0/"
                    "crypto/err/openssl.txt", note="the server refused the client's TLS version"),
            Symptom("java", "No appropriate protocol (protocol is disabled or cipher suites are inappropriate)", JAVA),
            Symptom("java", "Received fatal alert: protocol_version", "https://github.com/openjdk/jdk/blob/jdk-17%2B35/"
                    "src/java.base/share/classes/sun/security/ssl/Alert.java", note="the server refused the version"),
            Symptom("dotnet", "do not possess a common algorithm",
                    "https://learn.microsoft.com/en-us/windows/win32/secauthn/schannel-error-codes-for-tls-and-ssl-alerts",
                    note="Windows SEC_E_ALGORITHM_MISMATCH: no TLS version or cipher in common"),
            Symptom("microsoft365", "TLS 1.0 and 1.1 are not supported", M365_LEGACY_TLS, note="421 4.7.66"),
            Symptom("microsoft365", "Please upgrade/update your client to support TLS 1.2",
                    "https://github.com/zehm/sendEmail/issues/1",
                    note="421 4.7.66, after a TLS 1.0 or 1.1 handshake; smtplib then says only 'Connection "
                         "unexpectedly closed' (the transcript shows the 421)"),
            # Against a server that speaks only TLS 1.0 and 1.1 (the lab's submissions-old-tls):
            Symptom("python", "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version", PYTHON,
                    note="the server refused every version the client offered (1.2 and 1.3)"),
            Symptom("go", "remote error: tls: protocol version not supported", GO),
            Symptom("node", "tlsv1 alert protocol version", NODE, note="code ESOCKET"),
            Symptom("curl", "legacy sigalg disallowed or unsupported", CURL,
                    note="curl offers TLS 1.0 too, then refuses the old server's SHA-1 signature (OpenSSL 3)"),
            Symptom("swaks", "*** TLS startup failed (connect(): error:0A00014D:SSL routines::legacy sigalg "
                    "disallowed or unsupported)", SWAKS),
            _CURL_SSL_CONNECT,
            _DOTNET_TLS_CLOSED,
        ),
    ),
    Entry(
        id="tls-handshake-aborted",
        title="The server hung up during the TLS handshake",
        group=Group.CERTIFICATES,
        ports=(465, 587),
        what_happened=(
            "Your program began the TLS handshake and the server closed the connection before finishing it, "
            "without saying why."
        ),
        why=(
            "No TLS version or cipher in common, a server that needs the host name (SNI) it did not get, a "
            "middlebox cutting TLS, or an overloaded server."
        ),
        fix="Connect by host name (so SNI is sent), keep Python/OpenSSL current, try the other submission port.",
        **_settings(587),
        words=(
            r"eof occurred in violation of protocol|disconnected before secure tls connection|"
            r"remote host terminated the handshake|handshake (?:was )?(?:aborted|terminated|interrupted)|"
            r"tls handshake eof",
            r"ssl error syscall|ssl connect syscall|unexpected eof or 0 bytes|unexpected eof while reading",
            r"handshake (?:operation )?timed out|handshake timeout",
            r"unrecognized ?name|tls/ssl connection has been closed",
            r"alert internal error|rxd alert: internal error|remote error: tls: internal error|"
            r"a tls packet with unexpected length was received|"
            r"non-properly terminated",
            r"errorcode\(5\), cause: none",  # rust-openssl's Debug form of SSL_ERROR_SYSCALL at EOF
        ),
        clauses=((HANDSHAKE_CUT_SHORT,),),
        rfcs=(_RFC8314_33,),
        network=(Network.CLOSED, Network.RESET),
        symptoms=(
            Symptom("python", "SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol",
                    PYTHON),
            Symptom("python", "EOF occurred in violation of protocol",
                    "https://github.com/python/cpython/blob/v3.9.18/Modules/_ssl.c", note="older OpenSSL"),
            _EOF_GO,
            Symptom("node", "Client network socket disconnected before secure TLS connection was established", NODE),
            Symptom("curl", "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to", CURL),
            Symptom("swaks", "*** TLS startup failed (connect(): error:0A000126:SSL routines::unexpected eof while "
                    "reading)", SWAKS),
            Symptom("ruby", "state=error: unexpected eof while reading", RUBY),
            Symptom("java", "Remote host terminated the handshake", JAVA),
            _CURL_SSL_CONNECT,
            _DOTNET_TLS_CLOSED,
            Symptom("php", "Failed to enable crypto", SYMFONY, generic=True,
                    note="PHP's words for any failed TLS start; the OpenSSL lines before it (if any) say why"),
        ),
    ),
    Entry(
        id="python-silent-no-verify",
        title="Python's smtplib does not verify certificates unless given a context",
        group=Group.CERTIFICATES,
        ports=(465, 587),
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
        **_settings(465),
        rfcs=(_RFC8314_5,),
    ),
    Entry(
        id="python-starttls-keyfile-removed",
        title="Python 3.12 removed starttls(keyfile=, certfile=)",
        group=Group.CERTIFICATES,
        ports=(587, 465, 25),
        what_happened=(
            "Code that worked on older Pythons passed keyfile= and certfile= (a client certificate) to "
            "starttls() or SMTP_SSL(); Python 3.12 removed those arguments, so the call itself fails."
        ),
        why=(
            "They were deprecated since Python 3.6 in favour of an SSLContext, which also verifies the "
            "server (the old arguments did not)."
        ),
        fix="Load the client certificate into a verifying context and pass context= instead.",
        fix_python='''\
context = ssl.create_default_context()
context.load_cert_chain(certfile="client.pem", keyfile="client.key")   # what keyfile=/certfile= did
smtp.starttls(context=context)       # or smtplib.SMTP_SSL(host, 465, context=context)
''',
        fix_go='''\
pair, err := tls.LoadX509KeyPair("client.pem", "client.key")
if err != nil {
	log.Fatal(err)
}
config := &tls.Config{ServerName: host, Certificates: []tls.Certificate{pair}}
''',
        words=(
            r"unexpected keyword argument '(?:keyfile|certfile)'",
        ),
        rfcs=(Rfc(8446, "4.4.2", "the client's certificate, when the server asks for one"),),
        symptoms=(
            Symptom("python", "starttls() got an unexpected keyword argument 'keyfile'", CPYTHON_312_SMTPLIB,
                    note="Python 3.12 and later"),
            Symptom("python", "starttls() got an unexpected keyword argument 'certfile'", CPYTHON_312_SMTPLIB),
            Symptom("python", "SMTP_SSL.__init__() got an unexpected keyword argument 'keyfile'", CPYTHON_312_SMTPLIB),
            Symptom("python", "SMTP_SSL.__init__() got an unexpected keyword argument 'certfile'",
                    CPYTHON_312_SMTPLIB),
        ),
    ),
    Entry(
        id="starttls-downgrade",
        title="Opportunistic STARTTLS quietly falls back to plaintext",
        group=Group.CERTIFICATES,
        ports=(587, 25),
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
        **_settings(587),
        rfcs=(_RFC3207_6, _RFC8314_33),
    ),
    Entry(
        id="go-plainauth-unencrypted",
        title="Go's PlainAuth refuses: unencrypted connection or wrong host name",
        group=Group.CERTIFICATES,
        ports=(587, 25),
        what_happened=(
            "Go's smtp.PlainAuth refused to send the password: the connection was not encrypted, or the "
            "host given to PlainAuth is not the one connected to."
        ),
        why=(
            "PlainAuth sends the password only over TLS (or to localhost, 127.0.0.1, ::1) and only to the "
            "server name it was given, as a guard against leaking it."
        ),
        fix="Use TLS (465, or StartTLS on 587) and pass PlainAuth the same host name you dial.",
        **_settings(587),
        rfcs=(_RFC4954_4,),
        within=("bad-credentials",),  # a login refused, by the client itself, before the password was sent
        symptoms=(
            Symptom("go", "unencrypted connection", GO_SRC + "net/smtp/auth.go#L68", whole_line=True),
            Symptom("go", "wrong host name", GO, whole_line=True),
        ),
    ),
    # ---------------------------------------------------------------------------------- content and volume
    Entry(
        id="message-too-large",
        title="Message larger than the server accepts",
        group=Group.CONTENT,
        ports=(587, 465, 25),
        what_happened="The message (with its attachments) is bigger than the server's size limit, so it refused it.",
        why=(
            "Servers announce their limit (SIZE in the EHLO reply); smtplib declares the message's size in "
            "MAIL FROM and the server refuses at once. Attachments grow by a third when encoded."
        ),
        fix="Send a link instead of a large attachment, or compress/split it; read smtp.esmtp_features['size'].",
        fix_python='''\
limit = int(smtp.esmtp_features.get("size", "0") or 0)
if limit and len(message.as_bytes()) > limit:
    raise ValueError(f"message is {len(message.as_bytes())} bytes; the server takes {limit}: send a link")
smtp.send_message(message)
''',
        fix_go='''\
// A bare SIZE, or SIZE 0, announces no limit (RFC 1870 section 3).
if ok, size := client.Extension("SIZE"); ok && size != "" {
	limit, err := strconv.Atoi(size)
	if err != nil {
		log.Printf("SIZE %q: %v; sending, and letting the server decide", size, err)
	} else if limit > 0 && len(msg) > limit {
		log.Fatalf("message is %d bytes; the server takes %d: send a link", len(msg), limit)
	}
}
''',
        words=(
            r"(?:message|mail|attachment|email|file|size)s? (?:size )?(?:is |was )?too (?:big|large)",
            r"size (?:exceeds|exceeded|limit)|exceeds? (?:the )?(?:maximum|max\.?|fixed|allowed|"
            r"permitted) (?:message )?size",
            r"maximum (?:message )?size|message length exceeds|exceeded storage allocation|size larger than allowed",
            # A size in bytes (or kB, MB) against a limit, however it is worded.
            # (Digits counted, not `\d+`: a run of a hundred thousand digits would cost its square.)
            r"(?<!\d)\d{1,15} ?(?:bytes|kb|mb|megabytes|kilobytes)\b[^\n]{0,40}"
            r"(?:exceed|too (?:big|large)|limit|max|larger)|"
            r"(?:exceeds?|larger than|bigger than|more than|limit of|max(?:imum)?(?: of)?)[^\n]{0,30}?"
            r"\d{1,15} ?(?:bytes|kb|mb|megabytes|kilobytes)\b|(?:message|mail|email)\b[^\n]{0,40}\btoo (?:big|large)",
        ),
        rfcs=(Rfc(1870, "6", "the SIZE parameter of MAIL and the 552 refusal"),
              Rfc(3463, "3.4", "X.3.4 message too big for system")),
        replies=(Reply(552, "5.3.4"), Reply(552, "5.2.3"), Reply(None, "5.3.4"), Reply(None, "5.2.3"),
                 Reply(552, None)),
        symptoms=(
            Symptom("postfix", "552 5.3.4 Message size exceeds fixed limit", POSTFIX_CHECK + "#L5490",
                    note="at MAIL FROM with SIZE="),
            Symptom("postfix", "552 5.3.4 Error: message file too big", POSTFIX_CLEANUP + "#L72",
                    note="at the end of the data"),
            Symptom("exim", "552 Message size exceeds maximum permitted", EXIM_SMTP_IN + "#L4876"),
            Symptom("server", "message size exceeds fixed maximium message size",
                    "https://www.rfc-editor.org/rfc/rfc1870#section-6", note="RFC 1870's wording, typo included"),
            Symptom("gmail", "Your message exceeded Google's message size limits", GMAIL_ERRORS, note="552 5.2.3"),
            Symptom("python", "SMTPSenderRefused: (552, b'5.3.4 Message size exceeds fixed limit', …)", PYTHON),
            Symptom("curl", "MAIL failed: 552", CURL, note="curl declares the size in MAIL FROM"),
            _WEIRD_REPLY_CURL,
        ),
    ),
    Entry(
        id="sending-quota-exceeded",
        title="Sending quota reached: too many messages or recipients today",
        group=Group.CONTENT,
        ports=(587, 465),
        what_happened=(
            "The provider refused to send more: this account reached its limit of messages or recipients "
            "for the day (Gmail: 500 recipients a day, 2,000 for Workspace; counted over a rolling 24 hours)."
        ),
        why=(
            "Mailbox providers cap what one account may send, against spam from stolen accounts. Mailing "
            "lists, newsletters or a loop that sends the same message again use the quota up."
        ),
        fix=(
            "Stop, and wait for the window to roll on (retrying only makes it longer); send bulk mail "
            "through a service made for it; check that nothing is sending in a loop."
        ),
        fix_python='''\
try:
    smtp.send_message(message)
except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
    if b"5.4.5" in error.smtp_error or b"quota" in error.smtp_error.lower():
        raise RuntimeError("daily sending quota reached: stop, and send again tomorrow") from error
    raise
''',
        fix_go='''\
if err := client.Mail(from); err != nil {
	var reply *textproto.Error
	if errors.As(err, &reply) && strings.Contains(reply.Msg, "5.4.5") {
		log.Fatalf("daily sending quota reached, stop and send again tomorrow: %v", err)
	}
	log.Fatal(err)
}
''',
        words=(
            r"(?:sending|send|daily|message|outbound|submission|recipient|user) (?:sending )?(?:quota|limit) "
            r"(?:exceeded|reached)|quotaexceeded|daily (?:user )?sending|(?:per day|24 hours?)[^\n]{0,30}(?:limit|"
            r"exceeded)",
            r"maximum credits? exceeded|credits? exceeded|daily message quota|outgoing messages? (?:limit|quota)|"
            r"number of (?:allowed )?outgoing messages",
            # A count per day (or longer): "300 emails per day", "500 recipients in 24 hours", "sent today".
            r"(?:messages?|e-?mails?|mails|recipients?|sends)\b[^\n]{0,20}(?:\b(?:per|a|each|in|within)|/)\s*"
            r"(?:the )?"
            r"(?:last |past )?(?:1 )?(?:day|24 ?h(?:ours?|rs?)?|week|month)\b",
            r"(?:sent|sending|messages?|limit|quota)[^\n]{0,30}\btoday\b",
            r"daily (?:limit|quota)|(?:limit|quota) (?:per|a) day",
            # Google Workspace's SMTP relay service: "550 5.7.1 Daily SMTP relay limit exceeded for user" (and for
            # customer), a count per day in other words.
            r"\bdaily\b[^\n]{0,30}\b(?:limit|quota)\b[^\n]{0,10}\b(?:exceeded|reached)",
            # "has exceeded its 24-hour sending limit" (an hourly one is a rate: diagnose reads the window).
            r"exceeded (?:its|the|your|their)\b[^\n]{0,30}\bsending (?:limit|quota)",
            # Outlook.com's verdict on an account that sent more than it may (in its OutboundSpamException: "Actual
            # verdict is RefuseQuota").
            r"\brefusequota\b",
        ),
        clauses=((QUOTA, REACHED),),
        within=("sending-account-blocked",),  # an account held for what it sent: the quota is which
        rfcs=(Rfc(3463, "3.5", "X.4.5 mail system congestion"), _RFC5321_4541),
        replies=(Reply(550, "5.4.5"), Reply(None, "5.4.5"), Reply(451, "4.4.5")),
        symptoms=(
            Symptom("gmail", "Daily user sending limit exceeded", GMAIL_ERRORS, note="550 5.4.5"),
            Symptom("gmail", "550-5.4.5 sending limits go to",
                    "https://github.com/onepub-dev/onepub/issues/543", note="550 5.4.5, answered to DATA"),
            Symptom("amazon-ses", "454 Throttling failure: Daily message quota exceeded", SES_QUOTAS,
                    note="a 454, but the 24-hour quota: retrying within the day does not help"),
            Symptom("gmail", "Daily sending quota exceeded", "http://blogjava.net/hwpok/archive/2010/05/28/322111.html",
                    note="550 5.4.5, the older wording"),
        ),
    ),
    Entry(
        id="rate-limited",
        title="Too much too fast: messages, connections or logins limited for a while",
        group=Group.CONTENT,
        # Receivers on 25 count too: Postfix's per-client limits, Yahoo's and Gmail's volume deferrals.
        ports=(587, 465, 25),
        what_happened=(
            "The server counted too much from you in a short time (messages, recipients, connections, or failed "
            "logins) and stopped accepting for a while."
        ),
        why=(
            "Providers throttle per account and per sending address, against spam and password guessing: "
            "Postfix's per-client limits, Gmail's and Yahoo's volume deferrals (421 4.7.0, 4.7.28, Yahoo's TSS04), "
            "Amazon SES's maximum sending rate, and a burst of failed logins. The refusal is temporary (4xx)."
        ),
        fix=(
            "Slow down: fewer messages per minute, over fewer connections, and retry a deferred message later with "
            "growing pauses, never at once in a loop (RFC 5321 section 4.5.4.1). If failed logins caused it, fix "
            "the password before the next try. If your volume is normal for you, ask the provider for a higher "
            "limit, or send through a service made for bulk mail."
        ),
        fix_python='''\
import smtplib
import time

# A 4xx refusal is temporary: try again later, with growing pauses, never in a tight loop.
delay = 60
for attempt in range(5):
    try:
        send_the_message()  # your sending code, unchanged
        break
    except smtplib.SMTPResponseException as error:
        if not 400 <= error.smtp_code < 500:
            raise  # permanent: retrying will not help
        time.sleep(delay)
        delay *= 2
''',
        fix_go='''\
// A 4xx refusal is temporary: try again later, with growing pauses, never in a tight loop.
delay := time.Minute
for attempt := 0; attempt < 5; attempt++ {
	err := sendTheMessage() // your sending code
	if err == nil {
		break
	}
	var reply *textproto.Error
	if !errors.As(err, &reply) || reply.Code/100 != 4 {
		log.Fatal(err) // permanent: retrying will not help
	}
	time.Sleep(delay)
	delay *= 2
}
''',
        words=(
            r"too many (?:login|auth|authentication|connections?|messages|emails|mails|requests|attempts|concurrent|"
            r"errors|invalid|bad|failed|sessions|commands)",
            r"rate ?limit|sending rate|rate exceeded|throttl|concurrent connections? limit|connection limit|slow down",
            r"unusual (?:rate|sending activity|volume)|unexpected volume|(?:thread|rate) limit exceeded|per (?:hour|"
            r"minute|second)|ratelimit",
            # A count per hour or less: "100 messages per hour", "10 messages/minute", "an hourly limit".
            r"(?:messages?|e-?mails?|mails|recipients?|connections?|requests?|commands)\b[^\n]{0,20}"
            r"(?:\b(?:per|a|an|each|in|within)|/)\s*(?:the )?(?:last |past )?(?:\d+ )?"
            r"(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hr)\b|"
            r"\bhourly\b[^\n]{0,30}(?:limit|quota|exceeded|reached)",
            r"\brate\b[^\n]{0,40}\bexceed|exceeded the configured limit|(?:receiving|sending) mail at a rate|"
            r"(?:mail|messages?) too (?:quickly|fast)",
            # Postfix's anvil limits, counted per client address and minute (smtpd.c: "450 4.7.1 Error: too much mail
            # from %s", "too many recipients from %s", "421 4.7.0 %s Error: too many new TLS sessions from %s"); a cap
            # on concurrent connections in Exchange's words ("421 4.3.2 The maximum number of concurrent server
            # connections has exceeded a limit"); QQ Mail's "550 Ip frequency limited" and its kin.
            r"too much mail from|too many (?:recipients|new tls sessions|new sessions) from|too many new\b",
            r"(?:maximum|max\.?) number of (?:concurrent |simultaneous )?(?:\w+ )?connections|"
            r"\bconnections?\b[^\n]{0,20}\b(?:has |have )?exceeded (?:a |the )?limit|\bfrequency (?:is )?limit",
        ),
        clauses=((TOO_MUCH,), (LIMIT, REACHED)),
        rfcs=(_RFC4954_6, _RFC5321_4541),
        replies=(Reply(454, "4.7.0", Phase.AUTH), Reply(421, "4.7.0"), Reply(None, "4.7.28"), Reply(421, "4.7.28")),
        symptoms=(
            Symptom("gmail", "454 4.7.0 Too many login attempts", GMAIL_ERRORS),
            Symptom("amazon-ses", "454 Throttling failure: Maximum sending rate exceeded", SES_QUOTAS,
                    note="the account's messages-per-second limit"),
            Symptom("gmail", "421-4.7.0 Try again later, closing connection.", GMAIL_ERRORS),
            Symptom("python", "SMTPAuthenticationError: (454, b'4.7.0 Too many login attempts…", PYTHON),
            Symptom("node", "Invalid login: 454 4.7.0 Too many login attempts", NODE),
        ),
    ),
    Entry(
        id="too-many-recipients",
        title="Too many recipients for one message",
        group=Group.CONTENT,
        ports=(25, 465, 587),
        what_happened=(
            "The server accepted as many recipients as it takes in one transaction and refused the next ones "
            "with `452 4.5.3` (or a 5xx where it treats that as final): the message named more recipients "
            "than the server allows at once."
        ),
        why=(
            "Servers limit recipients per message (RFC 5321 asks for at least 100; providers often allow "
            "fewer). 452 is temporary for the refused recipients only: the ones accepted before it get the "
            "message, the rest must be sent again in another transaction."
        ),
        fix=(
            "Send to the recipients in batches below the provider's limit (one message per batch, or a "
            "message per recipient for mailings), and never put a mailing list in To: or Cc:."
        ),
        fix_python='''\
BATCH = 50  # below the provider's limit of recipients per message

for first in range(0, len(recipients), BATCH):
    smtp.send_message(message, to_addrs=recipients[first:first + BATCH])
''',
        fix_go='''\
const batch = 50 // below the provider's limit of recipients per message

for first := 0; first < len(recipients); first += batch {
	last := first + batch
	if last > len(recipients) {
		last = len(recipients)
	}
	if err := smtp.SendMail(addr, auth, from, recipients[first:last], msg); err != nil {
		log.Fatal(err)
	}
}
''',
        words=(
            r"too many recipients(?! from)|recipients? limit (?:exceeded|reached)|exceeded (?:the )?(?:maximum|max) "
            r"(?:number of )?recipients|maximum (?:number of )?recipients (?:exceeded|reached)",
        ),
        rfcs=(Rfc(5321, "4.5.3.1.8", "a server MUST accept at least 100 recipients; 452 for the ones beyond its "
                                     "limit, which the client sends again later"),
              Rfc(3463, "3.6", "X.5.3 too many recipients")),
        replies=(Reply(452, "4.5.3"), Reply(None, "4.5.3"), Reply(None, "5.5.3"), Reply(452, None, Phase.RCPT)),
        symptoms=(
            Symptom("server", "Too many recipients", "https://www.rfc-editor.org/rfc/rfc5321#section-4.5.3.1.10",
                    note="452 4.5.3, the reply RFC 5321 gives for recipients beyond the limit"),
        ),
    ),
    Entry(
        id="greylisted",
        title="Greylisted: temporary refusal of a first-time sender",
        group=Group.CONTENT,
        ports=(25,),
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
            smtp.starttls(context=context)
            smtp.send_message(message)
        break
    except smtplib.SMTPRecipientsRefused as error:
        if not all(400 <= code < 500 for code, _ in error.recipients.values()):
            raise
''',
        fix_go='''\
for _, delay := range []time.Duration{0, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute} {
	time.Sleep(delay)
	err := send()
	var reply *textproto.Error
	if err == nil || !errors.As(err, &reply) || reply.Code >= 500 {
		return err
	}
}
''',
        words=(
            r"gr[ea]y ?-?list",
            # Mimecast's greylisting reply, as its error-code page names it.
            r"internal resource temporarily unavailable",
        ),
        rfcs=(Rfc(6647, "1", "greylisting: temporarily degraded service to unknown clients"), _RFC5321_4541),
        replies=(Reply(450, "4.2.0", Phase.RCPT), Reply(451, "4.7.1", Phase.RCPT), Reply(450, "4.7.1", Phase.RCPT),
                 Reply(451, None, Phase.RCPT), Reply(450, None, Phase.RCPT)),
        symptoms=(
            Symptom("lab", "Recipient address rejected: Greylisted", LAB),
            Symptom("server", "Greylisted", LAB, note="postgrey's and the lab's word, 450 or 451 at RCPT"),
            Symptom("python", "SMTPRecipientsRefused: {'…': (451, b'4.7.1 <…>: Recipient address rejected: "
                    "Greylisted, try again later')}", PYTHON),
            Symptom("curl", "RCPT failed: 451", CURL,
                    note="451 at RCPT is usually greylisting; add -v for the text"),
        ),
    ),
    Entry(
        id="non-ascii-address",
        title="Non-ASCII address, but the server lacks SMTPUTF8",
        group=Group.CONTENT,
        ports=(587, 465, 25),
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
smtp.send_message(message, to_addrs=[to])
''',
        fix_go='''\
if ok, _ := client.Extension("SMTPUTF8"); !ok {
	to = "joerg@example.com" // net/smtp adds SMTPUTF8 to MAIL only when the server offers it
}
''',
        words=(
            # SMTPUTF8 refused or missing, not the keyword in an EHLO reply that offers it.
            r"smtputf8 (?:not|is not|extension|capability|required|is required)|"
            r"(?:support|advertise|require)s?[^\n]{0,30}smtputf8",
            r"internationali[sz]ed (?:email|address)|non-ascii[^\n]{0,20}(?:address|envelope)|strict ascii",
            # A client's own check of the local part: .NET's System.Net.Mail ("The client or server is only configured
            # for E-mail addresses with ASCII local-parts: ..."), Symfony Mailer and SwiftMailer ("non-ASCII characters
            # not supported in local-part"). A server's: Postfix ("553 5.6.7 Must declare SMTPUTF8 to send unicode
            # address"), Exim ("501 SMTPUTF8 used when not advertised").
            r"ascii local[- ]parts?|non-ascii characters? (?:are )?not (?:supported|allowed) in (?:the )?local[- ]part|"
            r"declare smtputf8|unicode address|smtputf8 used when not advertised",
            # PHPMailer's "Invalid address:  (to): jörg@example.com": the address it refused holds a letter beyond
            # ASCII (PHPMailer::validateAddress allows none without SMTPUTF8).
            r"invalid (?:e-?mail )?address(?:es)?[^\w\n]{1,6}(?:\(\w+\)[^\w\n]{1,3})?"
            r"[^\s@]{0,64}[^\x00-\x7f][^\s@]{0,64}@",
        ),
        rfcs=(Rfc(5321, "2.4", "without an extension, envelope commands are US-ASCII only"),
              Rfc(6531, "3.1", "the SMTPUTF8 extension the server must offer"),
              Rfc(6531, "3.3", "the extended address syntax that allows UTF-8")),
        replies=(Reply(553, "5.6.7"), Reply(None, "5.6.7"), Reply(550, "5.6.7")),
        symptoms=(
            Symptom("python", "SMTPNotSupportedError: SMTPUTF8 not supported by server", CPYTHON_SMTPLIB),
            Symptom("php", "Server does not support SMTPUTF8 needed to send to Unicode addresses", PHPMAILER_SRC),
            Symptom("python", "One or more source or delivery addresses require internationalized email support, "
                    "but the server does not advertise the required SMTPUTF8 capability", PYTHON),
            Symptom("lab", "Error: strict ASCII mode", LAB, note="aiosmtpd's 500 reply, seen by Go and nodemailer"),
            _UNICODE_PY,
        ),
    ),
    Entry(
        id="non-ascii-body-as-str",
        title="Non-ASCII text passed to sendmail() as a str",
        group=Group.CONTENT,
        ports=(587, 465, 25),
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

message = EmailMessage()
message["From"], message["To"], message["Subject"] = "you@example.com", "jorg@example.net", "Grüße"
message.set_content("Hallo Jörg!")      # EmailMessage picks UTF-8 and a transfer encoding
smtp.send_message(message)
''',
        fix_go='''\
subject := mime.QEncoding.Encode("utf-8", "Grüße")
body := base64.StdEncoding.EncodeToString([]byte("Hallo Jörg!"))
msg := []byte("From: " + from + "\\r\\nTo: " + to + "\\r\\nSubject: " + subject + "\\r\\n" +
	"MIME-Version: 1.0\\r\\nContent-Type: text/plain; charset=UTF-8\\r\\n" +
	"Content-Transfer-Encoding: base64\\r\\n\\r\\n" + body + "\\r\\n")
''',
        words=(
            r"'ascii' codec can't encode|message contains non-ascii",
        ),
        rfcs=(Rfc(5321, "2.4", "unextended SMTP carries 7-bit US-ASCII only; 8BITMIME needs MIME encoding"),),
        symptoms=(_UNICODE_PY,),
    ),
    Entry(
        id="non-ascii-login",
        title="A user name or password with letters outside ASCII, which smtplib cannot send",
        group=Group.AUTHENTICATION,
        ports=(587, 465),
        what_happened=(
            "smtplib failed before it sent the login: the user name or the password holds a letter outside ASCII "
            "(ä, é, €), and smtplib encodes the login as ASCII."
        ),
        why=(
            "AUTH PLAIN carries UTF-8 (RFC 4616), and Go, Java and Node send it so; Python's smtplib still encodes "
            "the login as ASCII (python/cpython#73936). The server never saw the attempt: nothing is wrong on its "
            "side, and the same password works in a mail program."
        ),
        fix=(
            "Send AUTH PLAIN yourself with the UTF-8 bytes (below), or choose a password in ASCII. Never print the "
            "AUTH line: its base64 is the password."
        ),
        fix_python='''\
import base64
import os
import smtplib

# smtplib encodes the login as ASCII (python/cpython#73936); AUTH PLAIN itself carries UTF-8 (RFC 4616).
user, password = "jörg@example.com", os.environ["SMTP_PASSWORD"]
token = base64.b64encode(b"\\0" + user.encode() + b"\\0" + password.encode()).decode("ascii")
smtp.ehlo()                                  # after starttls(), as login() would
code, reply = smtp.docmd("AUTH", "PLAIN " + token)
if code != 235:
    raise smtplib.SMTPAuthenticationError(code, reply)
''',
        fix_go='''\
// net/smtp sends the user name and password as their UTF-8 bytes, as RFC 4616 wants: nothing to change.
auth := smtp.PlainAuth("", "jörg@example.com", os.Getenv("SMTP_PASSWORD"), host)
''',
        rfcs=(Rfc(4616, "2", "PLAIN: the authorization identity, user name and password are UTF-8"),
              Rfc(4954, "4", "AUTH: each response of the client is base64")),
        symptoms=(_UNICODE_PY,),
    ),
    Entry(
        id="long-lines",
        title="A line longer than 998 characters",
        group=Group.CONTENT,
        ports=(587, 465, 25),
        what_happened="A line of the message is longer than SMTP allows, so the server refused the message.",
        why=(
            "SMTP lines may be at most 1000 octets with CRLF. Raw HTML or base64 without line breaks, "
            "given to sendmail() as is, breaks that; EmailMessage encodes long lines for you. (Postfix "
            "accepts such lines and folds them; stricter servers refuse.)"
        ),
        fix="Build the message with EmailMessage (set_content wraps with quoted-printable or base64).",
        fix_python='''\
message = EmailMessage()
message["From"], message["To"], message["Subject"] = "you@example.com", to, "Report"
message.set_content(html_without_line_breaks, subtype="html")   # encoded in lines of at most 78 characters
smtp.send_message(message)
''',
        fix_go='''\
var body bytes.Buffer
w := quotedprintable.NewWriter(&body) // mime/quotedprintable wraps lines at 76 characters
if _, err := w.Write([]byte(html)); err != nil {
	log.Fatal(err)
}
if err := w.Close(); err != nil {
	log.Fatal(err)
}
''',
        words=(
            r"lines? (?:is |are )?too long|line length|lines? (?:longer than|exceed)|(?:maximum|max) line|"
            r"too long for transport",
            # Debian's Exim sets its SMTP transports' message_size_limit to 1 for a message with a line over 998
            # characters (exim4-config, remote_smtp): Exim then calls the message too big.
            r"message is too big \(transport limit = 1\)",
        ),
        rfcs=(Rfc(5321, "4.5.3.1.6", "a text line is at most 1000 octets including CRLF"),
              Rfc(5322, "2.1.1", "lines MUST be no more than 998 characters")),
        symptoms=(
            Symptom("lab", "line too long", LAB, note="any server's words for a line over 998 characters"),
            Symptom("python", "SMTPDataError: (500, b'5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)')", PYTHON),
            _WEIRD_REPLY_CURL,
        ),
    ),
    Entry(
        id="bare-lf",
        title="Bare line feeds: lines that end in LF without CR",
        group=Group.CONTENT,
        ports=(587, 465, 25),
        what_happened="The message's lines end in a bare line feed (\\n) instead of CR LF, so the server refused it.",
        why=(
            "SMTP lines end in CR LF. smtplib sends bytes exactly as given (it fixes line ends only in a str), so "
            "a message built with \\n goes out wrong. Since the SMTP smuggling attacks of 2023, which exploit "
            "servers that read bare line feeds differently, many servers refuse them."
        ),
        fix="Build the message with EmailMessage and send it with send_message(), which always writes CR LF.",
        fix_python='''\
message = EmailMessage()
message["From"], message["To"], message["Subject"] = "you@example.com", to, "Report"
message.set_content("first line\\nsecond line\\n")   # \\n in your text is fine: send_message writes CR LF
smtp.send_message(message)
''',
        fix_go='''\
w, err := client.Data()
if err != nil {
	log.Fatal(err)
}
// The DATA writer of net/smtp turns every \\n into \\r\\n: write the message through it, not around it.
if _, err := w.Write(msg); err != nil {
	log.Fatal(err)
}
if err := w.Close(); err != nil {
	log.Fatal(err)
}
''',
        words=(
            r"bare (?:<)?lf|bare line ?feed|barelinefeed|smtplf|naked (?:lf|line ?feed)|lone lf",
        ),
        rfcs=(Rfc(5321, "2.3.8", "lines end in CR LF; a bare CR or LF is not a line ending"),),
        replies=(Reply(550, "5.6.11"), Reply(None, "5.6.11")),
        symptoms=(
            Symptom("postfix", "bare <LF> received", POSTFIX_SMTPD + "#L3951",
                    note="with smtpd_forbid_bare_newline = reject (3.7.10, 3.8.5, 3.9 and later): 550 5.5.2 by default "
                         "(smtpd_forbid_bare_newline_reject_code); 3.9's default, normalize, accepts the message"),
            Symptom("microsoft365", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal",
                    "https://github.com/PHPMailer/PHPMailer/issues/3067"),
            Symptom("microsoft365", "bare line feed", "https://github.com/Kitura/Swift-SMTP/issues/128",
                    note="Microsoft 365's bounce: 'bare line feed characters'"),
            Symptom("server", "bare LF", "https://github.com/muquit/mailsend/issues/52",
                    note="hMailServer: 554 Rejected - Message containing bare LF's"),
            Symptom("server", "smtplf.html", "https://github.com/gen-smtp/gen_smtp/issues/253",
                    note="qmail: 451 See http://pobox.com/~djb/docs/smtplf.html."),
            _WEIRD_REPLY_CURL,
        ),
    ),
    Entry(
        id="ehlo-hostname-rejected",
        title="EHLO name refused: not a fully qualified host name",
        group=Group.CONTENT,
        ports=(25, 587),
        what_happened="The server refused your program's EHLO: the name it gave is not a real host name.",
        why=(
            "Go's net/smtp says EHLO localhost unless you call c.Hello; smtplib uses the machine's name, "
            "which may be a short one. Strict servers want a fully qualified name."
        ),
        fix="Introduce yourself with your host's real name: smtplib local_hostname=, Go c.Hello(name).",
        **_settings(587, ehlo_name="app1.example.com"),
        words=(
            r"(?:helo|ehlo)[^\n]{0,40}(?:rejected|invalid|not (?:a )?(?:fqdn|fully)|fully.qualified|malformed|forged)",
            # The name checked against the client's address: its PTR record (reverse DNS) or its A record.
            r"\b(?:helo|ehlo)\b(?:/(?:helo|ehlo))?(?: name| host ?name| argument| domain)?[^\n]{0,30}"
            r"(?:(?:does not|doesn't|did not) (?:match|resolve)|mismatch|\bptr\b|reverse dns|not (?:a )?valid)",
            # Not Postfix's "Sender address rejected: need fully-qualified address", which is the envelope's.
            r"(?<!address rejected: )need fully.qualified|invalid (?:helo|ehlo)|invalid [^\n]{0,30} in (?:helo|ehlo)",
            # sendmail's "501 5.0.0 HELO requires domain address"; a 501 (a bad argument) that calls the name no
            # domain, where no address is quoted ("501 5.5.4 Invalid domain name").
            r"syntax: (?:helo|ehlo) hostname|"
            r"(?:helo|ehlo) requires (?:a )?(?:domain|host)|\b501[ -](?:5\.\d\.\d{1,2} )?(?:invalid|bad|malformed) "
            r"(?:domain|host) ?name\b",
        ),
        clauses=((GREETING_COMMAND, rf"{WRONG}|\b(?:empty|malformed)\b"),),  # the greeting refused, in any words
        rfcs=(Rfc(5321, "4.1.1.1", "EHLO gives the client's fully qualified domain name (or an address literal)"),),
        replies=(Reply(504, "5.5.2", Phase.EHLO), Reply(501, None, Phase.EHLO), Reply(550, None, Phase.EHLO)),
        symptoms=(
            Symptom("postfix", "Helo command rejected: need fully-qualified hostname", POSTFIX_CHECK + "#L1474",
                    note="504 5.5.2"),
        ),
    ),
)
