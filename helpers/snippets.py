"""The code the kit prints for a reader to paste, from one generator: the catalog's fixes and the doctor's
recommendation are made here, so they cannot disagree.

    python_code(465)                                   # smtplib.SMTP_SSL on smtp.example.com:465
    go_code(587, host="mail.example.org", ca_file="company-ca.pem")
    go_code(465, host="127.0.0.1", port=41465)         # the lab's port that acts as 465

Each is a complete program that sends one message: Python with smtplib, ssl.create_default_context() and
EmailMessage; Go with net/smtp and crypto/tls only, gofmt-clean, every error checked. Both verify the
server's certificate and host name (against the system's trust store, or the CA file given), bound every
wait (TIMEOUT seconds: neither smtplib nor net/smtp has a timeout of its own), start TLS at once on an
implicit-TLS port and refuse to go on without STARTTLS elsewhere, and read the password from the
environment (PASSWORD_VARIABLE), never from the code. Without a user they send without logging in, as a
server does on port 25.
"""

from __future__ import annotations

import json

from helpers.terms import Security, security_for_port

__all__ = ["EXAMPLE_HOST", "EXAMPLE_USER", "PASSWORD_VARIABLE", "TIMEOUT", "go_code", "python_code"]

TIMEOUT = 30  # seconds, for connecting and for the whole conversation
PASSWORD_VARIABLE = "SMTP_PASSWORD"  # the environment variable the code reads the password from
EXAMPLE_HOST = "smtp.example.com"
EXAMPLE_USER = "you@example.com"  # the login, and the sender when none is given

_q = json.dumps  # a JSON string is a valid string literal in Python and in Go


def python_code(
    acts_as: int,
    *,
    host: str = EXAMPLE_HOST,
    port: int | None = None,
    security: Security | None = None,
    user: str | None = EXAMPLE_USER,
    sender: str | None = None,
    to: str | None = None,
    ca_file: str | None = None,
    ehlo_name: str | None = None,
    timeout: int = TIMEOUT,
) -> str:
    """A Python program that sends one message to `host` on the port that acts as `acts_as` (465, 587, 25):
    `port` when the real port differs (the lab's are chosen by the OS). TLS as `security` says, or as the
    port calls for (implicit on 465, STARTTLS elsewhere). `user=None` sends without logging in."""
    security, port, sender, to = _settings(acts_as, port, security, user, sender, to)
    context = f"ssl.create_default_context(cafile={_q(ca_file)})" if ca_file else "ssl.create_default_context()"
    options = (f", local_hostname={_q(ehlo_name)}" if ehlo_name else "") + f", timeout={timeout}"
    if security == Security.IMPLICIT:
        connect = [f"with smtplib.SMTP_SSL({_q(host)}, {port}, context=context{options}) as smtp:"]
    else:
        connect = [f"with smtplib.SMTP({_q(host)}, {port}{options}) as smtp:",
                   "    smtp.starttls(context=context)  # raises if the server does not offer STARTTLS"]
    login = [f"    smtp.login({_q(user)}, os.environ[{_q(PASSWORD_VARIABLE)}])"] if user else []
    return "\n".join([
        *(["import os"] if user else []),
        "import smtplib",
        "import ssl",
        "from email.message import EmailMessage",
        "",
        "message = EmailMessage()",
        f'message["From"] = {_q(sender)}',
        f'message["To"] = {_q(to)}',
        'message["Subject"] = "Hello"',
        'message.set_content("Hi!")',
        "",
        "# Verifies the server's certificate and host name (smtplib without a context does not).",
        f"context = {context}",
        *connect,
        *login,
        "    smtp.send_message(message)",
    ]) + "\n"


def go_code(
    acts_as: int,
    *,
    host: str = EXAMPLE_HOST,
    port: int | None = None,
    security: Security | None = None,
    user: str | None = EXAMPLE_USER,
    sender: str | None = None,
    to: str | None = None,
    ca_file: str | None = None,
    ehlo_name: str | None = None,
    timeout: int = TIMEOUT,
    plain_auth: bool = True,
) -> str:
    """The same program in Go. `plain_auth=False` says the server offers no AUTH PLAIN (net/smtp has
    PlainAuth and CRAMMD5Auth only), so that the code warns the reader."""
    security, port, sender, to = _settings(acts_as, port, security, user, sender, to)
    check = ["\tif err != nil {", "\t\tlog.Fatal(err)", "\t}"]

    def must(call: str, results: str = "err") -> list[str]:
        return [f"\tif {results} := {call}; err != nil {{", "\t\tlog.Fatal(err)", "\t}"]

    trust = [
        "\t// Trusts the CA in this file (SSL_CERT_FILE would do too, but only on Linux and other Unixes).",
        f"\tpem, err := os.ReadFile({_q(ca_file)})",
        *check,
        "\tconfig.RootCAs = x509.NewCertPool()",
        "\tif !config.RootCAs.AppendCertsFromPEM(pem) {",
        '\t\tlog.Fatal("no certificate in the CA file")',
        "\t}",
    ] if ca_file else []
    address, dialer = f"net.JoinHostPort(host, {_q(str(port))})", "&net.Dialer{Timeout: timeout}"
    if security == Security.IMPLICIT:
        dial = f'\tconn, err := tls.DialWithDialer({dialer}, "tcp", {address}, config)'
    else:
        dial = f'\tconn, err := ({dialer}).Dial("tcp", {address})'
    hello = must(f"client.Hello({_q(ehlo_name)})") if ehlo_name else []
    starttls = [
        "\t// Required, not opportunistic: smtp.SendMail would carry on in plaintext without STARTTLS.",
        *must("client.StartTLS(config)"),
    ] if security == Security.STARTTLS else []
    login = [
        *([] if plain_auth else ["\t// This server offers no AUTH PLAIN, which PlainAuth needs: AUTH may fail."]),
        *must(f"client.Auth(smtp.PlainAuth(\"\", {_q(user)}, os.Getenv({_q(PASSWORD_VARIABLE)}), host))"),
    ] if user else []
    imports = ["crypto/tls", *(["crypto/x509"] if ca_file else []), "log", "net", "net/smtp",
               *(["os"] if user or ca_file else []), "time"]
    return "\n".join([
        "package main",
        "",
        "import (",
        *(f'\t"{name}"' for name in imports),
        ")",
        "",
        "func main() {",
        f"\thost := {_q(host)}",
        f"\tfrom := {_q(sender)}",
        f"\tto := {_q(to)}",
        f"\ttimeout := {timeout} * time.Second",
        '\tmsg := []byte("From: " + from + "\\r\\nTo: " + to + "\\r\\nSubject: Hello\\r\\n" +',
        '\t\t"Date: " + time.Now().Format(time.RFC1123Z) + "\\r\\n\\r\\nHi!\\r\\n")',
        "",
        "\t// Verifies the server's certificate and host name, as crypto/tls does unless told otherwise.",
        "\tconfig := &tls.Config{ServerName: host}",
        *trust,
        dial,
        *check,
        "\t// net/smtp has no timeouts of its own: one deadline bounds the whole conversation.",
        *must("conn.SetDeadline(time.Now().Add(timeout))"),
        "\tclient, err := smtp.NewClient(conn, host)",
        *check,
        *hello,
        *starttls,
        *login,
        *must("client.Mail(from)"),
        *must("client.Rcpt(to)"),
        "\tw, err := client.Data()",
        *check,
        *must("w.Write(msg)", results="_, err"),
        "\t// The server judges the message once it has all of it: its refusal is Close's error.",
        *must("w.Close()"),
        *must("client.Quit()"),
        "}",
    ]) + "\n"


def _settings(acts_as: int, port: int | None, security: Security | None, user: str | None, sender: str | None,
              to: str | None) -> tuple[Security, int, str, str]:
    security = Security(security) if security is not None else security_for_port(acts_as)
    if security not in (Security.IMPLICIT, Security.STARTTLS):
        raise ValueError(f"no code is printed for security={security.value!r}: use implicit or starttls")
    sender = sender or user or EXAMPLE_USER
    return security, port or acts_as, sender, to or sender
