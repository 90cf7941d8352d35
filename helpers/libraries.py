"""The 465 and 587 settings of the mail libraries people use, as data: notebook 07 shows them as a table,
and the doctor writes the line for the reader's own library once it knows the host, the port and the TLS.

    print(table())                                          # Markdown: one row per library
    line("nodemailer", host="smtp.gmail.com", port=465, security=Security.IMPLICIT)
    # nodemailer.createTransport({ host: "smtp.gmail.com", port: 465, secure: true })
    line("swaks", host="127.0.0.1", port=10465, security=Security.IMPLICIT, ca_file="lab-ca.pem")
    # swaks --server 127.0.0.1 --port 10465 --tls-on-connect --tls-verify --tls-ca-path lab-ca.pem

Each setting was run against the lab by the programs in tests/clients/ (those not installed here say so);
notebook 07 gives the sources for each.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from dataclasses import dataclass

from helpers.terms import Security

__all__ = ["LIBRARIES", "Library", "line", "named", "table"]


@dataclass(frozen=True)
class Library:
    """One library's settings: for 465 (TLS from the first byte), for 587 (STARTTLS, and fail without it),
    to trust a private CA with checks on, and its timeouts, as the table says them; and the line of code
    for a given server (`implicit` and `starttls`, with {host} and {port} to fill in, {host_q}: the host
    as a quoted string, {address}: host:port as a URL writes it, {ca}: `trusting` when a CA file is given,
    else nothing). `trusting` has {ca_file}, quoted as a string {ca_file_q}, or for a shell {ca_file_sh}."""

    name: str  # as readers know it
    key: str  # as the doctor's --library option takes it
    for_465: str
    for_587: str
    trust: str
    timeouts: str
    implicit: str
    starttls: str
    trusting: str
    # Its check of the server's identity reads the certificate's DNS names only, so it refuses a server
    # reached by IP address, whatever the certificate says (README: Jakarta Mail on Java 17)
    names_only: bool = False


LIBRARIES = (
    Library(
        "Python smtplib", "smtplib",
        "`SMTP_SSL(host, 465, context=ctx)`", "`SMTP(host, 587)`, then `starttls(context=ctx)`",
        '`ctx = ssl.create_default_context(cafile="ca.pem")`', "`timeout=` (none: waits as long as the server)",
        "smtplib.SMTP_SSL({host_q}, {port}, context=ssl.create_default_context({ca}), timeout=30)",
        "smtplib.SMTP({host_q}, {port}, timeout=30), then .starttls(context=ssl.create_default_context({ca}))",
        "cafile={ca_file_q}",
    ),
    Library(
        "Django", "django",
        "`EMAIL_USE_SSL = True`", "`EMAIL_USE_TLS = True`",
        "no setting: `SSL_CERT_FILE=ca.pem` in the environment", "`EMAIL_TIMEOUT` (`None`)",
        "EMAIL_HOST = {host_q}; EMAIL_PORT = {port}; EMAIL_USE_SSL = True; EMAIL_TIMEOUT = 30{ca}",
        "EMAIL_HOST = {host_q}; EMAIL_PORT = {port}; EMAIL_USE_TLS = True; EMAIL_TIMEOUT = 30{ca}",
        "; SSL_CERT_FILE={ca_file_sh} in the environment",
    ),
    Library(
        "Go net/smtp", "go",
        "`tls.Dial`, then `smtp.NewClient`", "`smtp.Dial`, then `c.StartTLS(config)`",
        "`tls.Config{RootCAs: pool}`; `SSL_CERT_FILE=ca.pem` for `smtp.SendMail`",
        "none in net/smtp: `net.Dialer{Timeout: ...}`, `conn.SetDeadline`",
        'tls.DialWithDialer(&net.Dialer{{Timeout: 30 * time.Second}}, "tcp", "{address}", '
        "&tls.Config{{ServerName: {host_q}}}), then smtp.NewClient(conn, {host_q}){ca}",
        'smtp.Dial("{address}"), then c.StartTLS(&tls.Config{{ServerName: {host_q}}}){ca}',
        "; in the tls.Config, RootCAs: a pool of the certificates in {ca_file_q} (x509.NewCertPool, "
        "AppendCertsFromPEM)",
    ),
    Library(
        "nodemailer", "nodemailer",
        "`secure: true`", "`secure: false, requireTLS: true`",
        '`tls: { ca: fs.readFileSync("ca.pem") }`',
        "`connectionTimeout` (2 min), `greetingTimeout` (30 s), `socketTimeout` (10 min)",
        "nodemailer.createTransport({{ host: {host_q}, port: {port}, secure: true{ca} }})",
        "nodemailer.createTransport({{ host: {host_q}, port: {port}, secure: false, requireTLS: true{ca} }})",
        ", tls: {{ ca: fs.readFileSync({ca_file_q}) }}",
    ),
    Library(
        "PHPMailer", "phpmailer",
        "`SMTPSecure = PHPMailer::ENCRYPTION_SMTPS`", "`SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS`",
        "`SMTPOptions = ['ssl' => ['cafile' => 'ca.pem']]`", "`Timeout` (300 s)",
        "$mail->Host = {host_q}; $mail->Port = {port}; $mail->SMTPSecure = PHPMailer::ENCRYPTION_SMTPS;{ca}",
        "$mail->Host = {host_q}; $mail->Port = {port}; $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS;{ca}",
        " $mail->SMTPOptions = ['ssl' => ['cafile' => {ca_file_q}]];",
    ),
    Library(
        "Symfony Mailer 5.4", "symfony",
        "DSN `smtps://...:465`",
        "DSN `smtp://...:587` (STARTTLS only when offered; `require_tls=true` from 7.3)",
        "`$transport->getStream()->setStreamOptions(['ssl' => ['cafile' => 'ca.pem']])`",
        "`getStream()->setTimeout()` (PHP's `default_socket_timeout`, 60 s)",
        "MAILER_DSN=smtps://USER:PASSWORD@{address}{ca}",
        "MAILER_DSN=smtp://USER:PASSWORD@{address}?require_tls=true (Symfony 7.3 and later){ca}",
        "; then $transport->getStream()->setStreamOptions(['ssl' => ['cafile' => {ca_file_q}]])",
    ),
    Library(
        "Ruby Net::SMTP", "ruby-net-smtp",
        "`Net::SMTP.new(host, 465, tls: true)`", "`Net::SMTP.new(host, 587, starttls: :always)`",
        '`ssl_context_params: { ca_file: "ca.pem" }`', "`open_timeout` (30 s), `read_timeout` (60 s)",
        "Net::SMTP.new({host_q}, {port}, tls: true{ca})",
        "Net::SMTP.new({host_q}, {port}, starttls: :always{ca})",
        ", ssl_context_params: {{ ca_file: {ca_file_q} }}",
    ),
    Library(
        "mail gem, Rails Action Mailer", "rails",
        "`tls: true` (or `ssl: true`)", "`enable_starttls: true`",
        '`ca_file: "ca.pem"`', "`open_timeout:`, `read_timeout:` (Net::SMTP's)",
        "smtp_settings = {{ address: {host_q}, port: {port}, tls: true{ca} }}",
        "smtp_settings = {{ address: {host_q}, port: {port}, enable_starttls: true{ca} }}",
        ", ca_file: {ca_file_q}",
    ),
    Library(
        "Jakarta Mail", "jakarta-mail",
        "`mail.smtp.ssl.enable=true`", "`mail.smtp.starttls.enable=true` and `mail.smtp.starttls.required=true`",
        "`mail.smtp.ssl.socketFactory` built from a trust store holding the CA; and "
        "`mail.smtp.ssl.checkserveridentity=true`",
        "`mail.smtp.connectiontimeout`, `.timeout`, `.writetimeout` (none)",
        "mail.smtp.host={host}, mail.smtp.port={port}, mail.smtp.ssl.enable=true, "
        "mail.smtp.ssl.checkserveridentity=true{ca}",
        "mail.smtp.host={host}, mail.smtp.port={port}, mail.smtp.starttls.enable=true, "
        "mail.smtp.starttls.required=true, mail.smtp.ssl.checkserveridentity=true{ca}",
        ", and mail.smtp.ssl.socketFactory set to an SSLSocketFactory whose trust store holds the certificate "
        "in {ca_file}",
        names_only=True,
    ),
    Library(
        "curl", "curl",
        "`smtps://host:465`", "`smtp://host:587 --ssl-reqd`", "`--cacert ca.pem`", "`--connect-timeout`, `--max-time`",
        "curl smtps://{address} --max-time 30{ca}",
        "curl smtp://{address} --ssl-reqd --max-time 30{ca}",
        " --cacert {ca_file_sh}",
    ),
    Library(
        "swaks", "swaks",
        "`--tls-on-connect`", "`--tls`",
        "`--tls-verify --tls-ca-path ca.pem` (without `--tls-verify`, no check at all)", "`--timeout` (30 s)",
        "swaks --server {host} --port {port} --tls-on-connect --tls-verify{ca}",
        "swaks --server {host} --port {port} --tls --tls-verify{ca}",
        " --tls-ca-path {ca_file_sh}",
    ),
    Library(
        ".NET System.Net.Mail (not run here)", "system-net-mail",
        "not possible", "`EnableSsl = true`", "the system's trust store", "`Timeout` (100 s)",
        "not possible: System.Net.Mail cannot do TLS from the first byte; use MailKit, or port 587",
        "new SmtpClient({host_q}, {port}) {{ EnableSsl = true }}{ca}",
        "; with the CA in {ca_file} added to the system's trust store (System.Net.Mail takes no CA file)",
    ),
    Library(
        ".NET MailKit (not run here)", "mailkit",
        "`SecureSocketOptions.SslOnConnect`", "`SecureSocketOptions.StartTls`",
        "a `ServerCertificateValidationCallback` that checks the chain against your CA", "`Timeout` (milliseconds)",
        "client.Connect({host_q}, {port}, SecureSocketOptions.SslOnConnect){ca}",
        "client.Connect({host_q}, {port}, SecureSocketOptions.StartTls){ca}",
        "; first, a client.ServerCertificateValidationCallback that checks the chain against the CA in {ca_file}",
    ),
    Library(
        "Rust lettre (not run here)", "lettre",
        "`SmtpTransport::relay(host)`", "`SmtpTransport::starttls_relay(host)`",
        "`TlsParameters::builder(host).add_root_certificate(...)`", "`.timeout(Some(...))` (60 s)",
        "SmtpTransport::relay({host_q})?.port({port}){ca}",
        "SmtpTransport::starttls_relay({host_q})?.port({port}){ca}",
        "; trusting {ca_file}: .tls() given TlsParameters::builder({host_q}.into()).add_root_certificate("
        "Certificate::from_pem(&pem)?).build()?, pem read from that file",
    ),
)
_BY_KEY = {library.key: library for library in LIBRARIES}


def table() -> str:
    """Every library's settings as a Markdown table (notebook 07's)."""
    rows = ["| library | 465: TLS from the first byte | 587: STARTTLS, and fail without it | trust a private CA, "
            "checks on | timeouts (default) |", "|---|---|---|---|---|"]
    rows += [f"| {lib.name} | {lib.for_465} | {lib.for_587} | {lib.trust} | {lib.timeouts} |" for lib in LIBRARIES]
    return "\n".join(rows)


def named(key: str) -> Library:
    """The library with this key, in any case ("PHPMailer" is phpmailer); KeyError naming the keys if none."""
    try:
        return _BY_KEY[key.lower()]
    except KeyError:
        raise KeyError(f"unknown library {key!r}; choose one of: {', '.join(_BY_KEY)}") from None


def line(library: str, *, host: str, port: int, security: Security, ca_file: str | None = None) -> str:
    """The setting for `library` (a key of LIBRARIES, in any case) to reach `host` on `port` with this TLS:
    implicit on 465, STARTTLS on 587 (Security.IMPLICIT or Security.STARTTLS), trusting the CA in `ca_file`
    if given (else the system's trust store)."""
    chosen = named(library)
    security = Security(security)
    if security not in (Security.IMPLICIT, Security.STARTTLS):
        raise ValueError(f"no setting is written for security={security.value!r}: use implicit or starttls")
    template = chosen.implicit if security == Security.IMPLICIT else chosen.starttls
    note = ""
    if chosen.names_only and _is_address(host):
        note = f" ({chosen.name} checks the names in the certificate, never its IP addresses: connect by name"
        if ipaddress.ip_address(host).is_loopback:
            # The lab's certificate names localhost, as README says (Jakarta Mail refuses 127.0.0.1).
            host, note = "localhost", f"{note}, here localhost)"
        else:
            note += ", one its certificate holds)"
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address in brackets
    server = dict(host=host, port=port, host_q=json.dumps(host), address=address)
    trusting = dict(ca_file=ca_file, ca_file_q=json.dumps(ca_file), ca_file_sh=shlex.quote(ca_file)) if ca_file else {}
    ca = chosen.trusting.format(**server, **trusting) if ca_file else ""
    return template.format(**server, ca=ca) + note


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
