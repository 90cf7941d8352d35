"""Gmail and Microsoft 365 as the lab plays them: their ports, how they greet, what they offer, and their
exact replies when they refuse, each with its public source.

    Lab("gmail-like-587", "m365-like-587", today=datetime.date(2027, 1, 15)).start()

The personas are *like* the providers, and say so in their host names (smtp.gmail-like.example.com): they
are the lab, on loopback, with the lab's accounts (helpers.profiles: USERS, APP_PASSWORDS, SEND_AS), its
certificate and its token issuer (helpers.oauth). Where they differ from the real servers, on purpose:
they leave out what the lab does not implement (CHUNKING, BINARYMIME, DSN; Gmail's PLAIN-CLIENTTOKEN and
XOAUTH mechanisms), they put a fixed tag where the providers put a session id, and a message they accept
gets the lab's own reply (a queue id). What each provider offers, for the doctor, is in PROVIDERS.

    persona          port  TLS                 logs in with                          refuses with
    gmail-like-465   465   from the first byte app password, OAuth token           534 5.7.9 for the account password
    gmail-like-587   587   STARTTLS            the same                              the same; 550 5.4.5 past the quota
    m365-like-587    587   STARTTLS, TLS 1.0+  password (until the end of Dec 2026), 535 5.7.139 after; 421 4.7.66 on
                                               OAuth token                           TLS 1.0/1.1; 554 5.2.0 SendAs
"""

from __future__ import annotations

import datetime
import email.utils
import re
from dataclasses import dataclass, replace

from helpers.oauth import GMAIL_SCOPE, M365_SCOPE
from helpers.profiles import (
    Attempt,
    AuthBeforeMail,
    Logins,
    Profile,
    Received,
    Recent,
    Secret,
    Session,
    TlsFirst,
    Voice,
    from_addresses,
)
from helpers.terms import Phase, TlsMode

__all__ = ["GMAIL", "MICROSOFT_365", "PERSONAS", "PROVIDERS", "Provider", "recognise"]

# --------------------------------------------------------------------------------------------------
# Sources

GMAIL_ERRORS = "https://support.google.com/a/answer/3726730"  # "Gmail SMTP errors and codes"
GMAIL_LIMITS = "https://support.google.com/a/answer/166852"  # "Gmail sending limits in Google Workspace"
GMAIL_XOAUTH2 = "https://developers.google.com/gmail/imap/xoauth2-protocol"
GMAIL_APP_PASSWORDS = "https://support.google.com/accounts/answer/185833"  # "Sign in with app passwords"
GMAIL_SEND_AS = "https://support.google.com/mail/answer/22370"  # "Send emails from a different address or alias"
GMAIL_FROM_REWRITE = "https://nodemailer.com/usage/using-gmail/"  # "...replaces the sender with the authenticated user"
GMAIL_SETTINGS = "https://support.google.com/mail/answer/7126229"  # smtp.gmail.com, 465 (SSL) and 587 (TLS)
M365_SMTP_AUTH = ("https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/"
                  "authenticated-client-smtp-submission")
M365_OAUTH = ("https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/"
              "how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth")
M365_LEGACY_TLS = ("https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/"
                   "opt-in-exchange-online-endpoint-for-legacy-tls-using-smtp-auth")
M365_TIMELINE = ("https://techcommunity.microsoft.com/blog/exchange/"
                 "updated-exchange-online-smtp-auth-basic-authentication-deprecation-timeline/4489835")
M365_RETIREMENT = ("https://techcommunity.microsoft.com/blog/exchange/"
                   "exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750")

# --------------------------------------------------------------------------------------------------
# Gmail's replies. Each ends in Gmail's mark, "<session id> - gsmtp" (GMAIL_ERRORS: "gsmtp ... is added to all
# errors"); the persona writes a fixed tag where Gmail writes the session's id.

GSMTP = "lab-session - gsmtp"
GMAIL_HOST = "smtp.gmail-like.example.com"
# The wording of 2023 on (earlier: "Learn more at"), as reported in
# https://github.com/dawidd6/action-send-mail/issues/205; the texts are GMAIL_ERRORS'.
GMAIL_BAD_CREDENTIALS = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    f"535 5.7.8  https://support.google.com/mail/?p=BadCredentials {GSMTP}"
)
GMAIL_APP_PASSWORD_REQUIRED = (
    "534-5.7.9 Application-specific password required. For more information, go to\r\n"
    f"534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor {GSMTP}"
)
GMAIL_AUTH_REQUIRED = (
    "530-5.7.0 Authentication Required. For more information, go to\r\n"
    f"530 5.7.0  https://support.google.com/mail/?p=WantAuthError {GSMTP}"
)
GMAIL_STARTTLS_FIRST = f"530 5.7.0 Must issue a STARTTLS command first. {GSMTP}"
# At DATA ("DATA command failed: 550 5.4.5", https://github.com/PHPMailer/PHPMailer/issues/1370); this whole
# text from https://github.com/onepub-dev/onepub/issues/543.
GMAIL_DAILY_LIMIT = (
    "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail\r\n"
    "550-5.4.5 sending limits go to\r\n"
    f"550 5.4.5  {GMAIL_LIMITS} {GSMTP}"
)
# XOAUTH2's error challenge, base64-encoded in a 334 reply, then 535 once the client has answered it with an
# empty line (GMAIL_XOAUTH2, "Error Response"). Google's page shows status 401 and schemes "bearer mac";
# what Gmail sends for a token it will not take, whatever is wrong with it, is this (reported in
# https://github.com/PHPMailer/PHPMailer/issues/1664 and https://github.com/jstedfast/MailKit/issues/27).
GMAIL_XOAUTH2_ERROR = '{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'

# --------------------------------------------------------------------------------------------------
# Microsoft 365's replies. Each ends in "[<front-end server> <time> <id>]"; the persona writes its host.

M365_HOST = "LAB0PR01CA0001.m365-like.example.com"
_M365 = f"[{M365_HOST}]"
# https://github.com/HChaoHui/msOauth2api/issues/3 (a refused token), https://github.com/jstedfast/MailKit/issues/700
M365_AUTH_UNSUCCESSFUL = f"535 5.7.3 Authentication unsuccessful {_M365}"
# https://github.com/rpremraj/mailR/issues/107: a tenant that turned password login off. Microsoft has not
# published what it will answer once the default changes at the end of 2026; the persona answers this.
M365_BASIC_AUTH_DISABLED = f"535 5.7.139 Authentication unsuccessful, basic authentication is disabled. {_M365}"
# M365_RETIREMENT: once password login is removed for good.
M365_BASIC_AUTH_REMOVED = "550 5.7.30 Basic authentication is not supported for Client Submission."
# https://github.com/tarickb/sasl-xoauth2/issues/96 (to MAIL, from a client that had not logged in)
M365_NOT_AUTHENTICATED = f"530 5.7.57 Client not authenticated to send mail. {_M365}"
# https://github.com/zehm/sendEmail/issues/1; M365_LEGACY_TLS. Answered after a TLS 1.0 or 1.1 handshake.
M365_LEGACY_TLS_REFUSED = (
    "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2. "
    f"Visit https://aka.ms/smtp_auth_tls. {_M365}"
)
# https://github.com/MicrosoftDocs/OfficeDocs-Support/issues/1187: after the message, for a From the login may
# not use (newer servers say "554 5.2.252 SendAsDenied; <login> not allowed to send as <address>; ...").
M365_SEND_AS_DENIED = (
    "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; "
    "Failed to process message due to a permanent exception with message Cannot submit message."
)

# --------------------------------------------------------------------------------------------------
# The providers' own rules, as policies (helpers.profiles: each returns a reply line, or None to go on)


@dataclass(frozen=True)
class AppPasswordRequired:
    """Gmail: an account with 2-Step Verification on may not log in to SMTP with its own password; Gmail
    asks for an app password instead (GMAIL_APP_PASSWORDS). Every lab account is taken to have it on."""

    reply: str = GMAIL_APP_PASSWORD_REQUIRED
    stage: str = Phase.AUTH

    def check(self, session: Session, attempt: Attempt) -> str | None:
        if attempt.with_token:
            return None
        return self.reply if session.secret(attempt) is Secret.PASSWORD else None


@dataclass(frozen=True)
class BasicAuthRetirement:
    """Microsoft 365: password ("Basic") login to SMTP AUTH, on the timeline Microsoft revised on 2026-01-27
    (M365_TIMELINE): unchanged until the end of December 2026; then off by default for existing tenants (an
    admin can turn it back on) and not available for new ones; a final removal date to be announced in the
    second half of 2027 (`removed_from`, then M365_BASIC_AUTH_REMOVED). The lab's date decides
    (Lab(today=...)); tokens are never affected."""

    disabled_from: datetime.date = datetime.date(2026, 12, 31)
    removed_from: datetime.date | None = None
    stage: str = Phase.AUTH

    def check(self, session: Session, attempt: Attempt) -> str | None:
        if attempt.with_token:
            return None
        if self.removed_from is not None and session.today >= self.removed_from:
            return M365_BASIC_AUTH_REMOVED
        return M365_BASIC_AUTH_DISABLED if session.today >= self.disabled_from else None


@dataclass(frozen=True)
class LegacyTlsRefused:
    """Microsoft 365: a client that negotiated TLS 1.0 or 1.1 gets 421 4.7.66 to its next command, and the
    connection closes (M365_LEGACY_TLS). The handshake itself succeeds: the refusal is in SMTP."""

    stage: str = "command"

    def check(self, session: Session, command: str) -> str | None:
        return M365_LEGACY_TLS_REFUSED if session.tls_version in ("TLSv1", "TLSv1.1") else None


@dataclass(frozen=True)
class SendAsPermission:
    """Microsoft 365: the mailbox may send as itself and as the addresses it has Send As permission for
    (SEND_AS); any other address in From: or MAIL FROM is refused once the message is in."""

    stage: str = Phase.END_OF_DATA

    def check(self, session: Session, message: Received) -> str | None:
        allowed = {address.lower() for address in (session.login or "", *session.aliases)}
        used = [*from_addresses(message), session.mail_from or ""]
        return None if all(address.lower() in allowed for address in used) else M365_SEND_AS_DENIED


@dataclass(frozen=True)
class DailySendingLimit:
    """Gmail: recipients per account per day (500 for gmail.com accounts, 2,000 for Workspace; GMAIL_LIMITS),
    counted in the lab's day when DATA is asked for; past the limit, DATA gets 550 5.4.5."""

    limit: int = 500
    stage: str = Phase.DATA

    def check(self, session: Session, recipients: int) -> str | None:
        counts = session.memory.setdefault("sent", Recent(10_000))
        key = ((session.login or "").lower(), session.today)
        if counts.get(key, 0) + recipients > self.limit:
            return GMAIL_DAILY_LIMIT
        counts[key] = counts.get(key, 0) + recipients
        return None


_FROM_HEADER = re.compile(rb"(?im)^From:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n")


@dataclass(frozen=True)
class FromRewrittenToLogin:
    """Gmail takes a message whose From: is not the account's own address nor one of its verified "Send
    mail as" addresses (GMAIL_SEND_AS), and replaces that address with the account's, keeping the name:
    "if you authenticate as foo@example.com and set bar@example.com as the from: address, then Gmail
    reverts this and replaces the sender with the authenticated user" (GMAIL_FROM_REWRITE). Nothing is
    refused; the recipient sees the account's address. The envelope sender is the account's too."""

    def rewrite(self, session: Session, message: Received) -> Received:
        login = session.login or ""
        allowed = {address.lower() for address in (login, *session.aliases)}
        header_end = message.raw.find(b"\r\n\r\n") + 2
        found = _FROM_HEADER.search(message.raw, 0, header_end)
        if found is None or all(address.lower() in allowed for address in from_addresses(message)):
            return message
        unfolded = found.group().decode("utf-8", "surrogateescape")[len("From:"):].replace("\r\n", "")
        name = email.utils.parseaddr(unfolded)[0]
        header = f"From: {email.utils.formataddr((name, login))}\r\n".encode("utf-8", "surrogateescape")
        raw = message.raw[:found.start()] + header + message.raw[found.end():]
        return replace(message, raw=raw, sender=login)


# --------------------------------------------------------------------------------------------------
# How each greets and what it offers

# Gmail's greeting, EHLO replies before and after TLS, and replies on the way: https://github.com/PHPMailer/
# PHPMailer/issues/1076 (465), https://github.com/SuiteCRM/SuiteCRM/issues/4146 (587),
# https://github.com/simonrob/email-oauth2-proxy/issues/23; "235 2.7.0 Accepted": GMAIL_XOAUTH2.
GMAIL_VOICE = Voice(
    hostname=GMAIL_HOST,
    greeting=f"ESMTP {GSMTP}",
    hello="{hostname} at your service, [{peer}]",
    keywords=("SIZE", "8BITMIME", "STARTTLS", "AUTH", "ENHANCEDSTATUSCODES", "PIPELINING", "SMTPUTF8"),
    mechanisms=("LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"),
    size_limit=35_882_577,
    replies=(
        ("235 2.7.0 Authentication successful", "235 2.7.0 Accepted"),
        ("250 2.1.0 Ok", f"250 2.1.0 OK {GSMTP}"),
        ("250 2.1.5 Ok", f"250 2.1.5 OK {GSMTP}"),
        ("354 End data with <CR><LF>.<CR><LF>", f"354  Go ahead {GSMTP}"),
        ("221 2.0.0 Bye", f"221 2.0.0 closing connection {GSMTP}"),
    ),
)
GMAIL_LOGINS = Logins(
    accepts=frozenset({Secret.APP_PASSWORD, Secret.TOKEN}),
    refused=GMAIL_BAD_CREDENTIALS,
    token_refused=GMAIL_BAD_CREDENTIALS,
    token_challenge=GMAIL_XOAUTH2_ERROR,
    scope=GMAIL_SCOPE,
)

# Microsoft 365's greeting and EHLO replies: https://github.com/datawookie/emayili/issues/147 (before TLS),
# https://github.com/simonrob/email-oauth2-proxy/issues/95; after STARTTLS "250-AUTH LOGIN XOAUTH2" (M365_OAUTH).
M365_VOICE = Voice(
    hostname=M365_HOST,
    greeting="Microsoft ESMTP MAIL Service ready at {date:%a}, {date.day} {date:%b %Y %H:%M:%S} +0000",
    hello="{hostname} Hello [{peer}]",
    keywords=("SIZE", "PIPELINING", "ENHANCEDSTATUSCODES", "STARTTLS", "AUTH", "8BITMIME", "SMTPUTF8"),
    mechanisms=("LOGIN", "XOAUTH2"),
    size_limit=157_286_400,
    replies=(
        ("220 2.0.0 Ready to start TLS", "220 2.0.0 SMTP server ready"),
        # A mechanism it does not offer (PLAIN: Go's smtp.PlainAuth), in the words of a Microsoft engineer in
        # https://github.com/mattermost/mattermost/issues/954
        ("504 5.5.4 Unrecognized authentication type", "504 5.7.4 Unrecognized authentication type"),
        ("250 2.1.0 Ok", "250 2.1.0 Sender OK"),
        ("250 2.1.5 Ok", "250 2.1.5 Recipient OK"),
        ("354 End data with <CR><LF>.<CR><LF>", "354 Start mail input; end with <CRLF>.<CRLF>"),
        ("221 2.0.0 Bye", "221 2.0.0 Service closing transmission channel"),
    ),
)
M365_LOGINS = Logins(
    accepts=frozenset({Secret.PASSWORD, Secret.TOKEN}),
    refused=M365_AUTH_UNSUCCESSFUL,
    token_refused=M365_AUTH_UNSUCCESSFUL,  # at once: no error challenge first
    scope=M365_SCOPE,
)

_GMAIL_POLICIES = (AppPasswordRequired(), AuthBeforeMail(reply=GMAIL_AUTH_REQUIRED), DailySendingLimit())


def _gmail(name: str, acts_as: int, tls: TlsMode, summary: str, policies: tuple = _GMAIL_POLICIES) -> Profile:
    return Profile(name, acts_as=acts_as, tls=tls, summary=summary, auth=True, voice=GMAIL_VOICE,
                   logins=GMAIL_LOGINS, policies=policies, rewrites=(FromRewrittenToLogin(),))


PERSONAS = (
    _gmail("gmail-like-465", 465, TlsMode.IMPLICIT,
           "like smtp.gmail.com:465: TLS at once; app passwords and OAuth tokens, not the account password"),
    _gmail("gmail-like-587", 587, TlsMode.STARTTLS,
           "like smtp.gmail.com:587: STARTTLS first; app passwords and OAuth tokens, not the account password",
           policies=(TlsFirst(reply=GMAIL_STARTTLS_FIRST), *_GMAIL_POLICIES)),
    _gmail("gmail-like-587-quota", 587, TlsMode.STARTTLS,
           "like smtp.gmail.com:587 for an account near its daily limit: 3 more recipients today",
           policies=(TlsFirst(reply=GMAIL_STARTTLS_FIRST), *_GMAIL_POLICIES[:2], DailySendingLimit(limit=3))),
    Profile(
        "m365-like-587", acts_as=587, tls=TlsMode.STARTTLS, auth=True, voice=M365_VOICE, logins=M365_LOGINS,
        summary="like smtp.office365.com:587: STARTTLS (TLS 1.0 and 1.1 refused); password login until the "
                "end of 2026, OAuth tokens",
        # TLS 1.0 and 1.1 complete their handshake, to be refused in SMTP as Microsoft refuses them.
        tls_versions=("TLSv1", "TLSv1_3"),
        policies=(LegacyTlsRefused(), BasicAuthRetirement(), AuthBeforeMail(reply=M365_NOT_AUTHENTICATED),
                  SendAsPermission()),
    ),
)


# --------------------------------------------------------------------------------------------------
# What the doctor knows: how to recognise each provider, and what to say about it


@dataclass(frozen=True)
class Provider:
    """A mail provider as the doctor meets it: the host names and greetings that give it away, the ports it
    offers for submission (port: TLS mode), and what a reader should know, with sources."""

    name: str
    hosts: re.Pattern[str]
    greetings: re.Pattern[str]
    ports: dict[int, TlsMode]
    notes: tuple[tuple[str, str], ...]  # (what to know, its source)
    oauth: bool = False  # the code to recommend logs in with an OAuth token (password login is on its way out)

    def matches(self, host: str, greeting: str = "") -> bool:
        return bool(self.hosts.search(host.lower()) or (greeting and self.greetings.search(greeting)))


GMAIL = Provider(
    "Gmail",
    hosts=re.compile(r"(?:^|\.)(?:gmail|googlemail|google)\.com\.?$"),
    greetings=re.compile(r" - gsmtp\s*$"),
    ports={465: TlsMode.IMPLICIT, 587: TlsMode.STARTTLS},
    notes=(
        ("smtp.gmail.com offers 465 (TLS from the first byte) and 587 (STARTTLS); both need a login.",
         GMAIL_SETTINGS),
        ("The account's own password does not log in to SMTP: use an app password (16 letters, made once 2-Step "
         "Verification is on) or an OAuth 2.0 token (XOAUTH2, scope https://mail.google.com/). With the account "
         "password Gmail answers 534 5.7.9 Application-specific password required.", GMAIL_APP_PASSWORDS),
        ("A From: address that is not yours, nor a verified 'Send mail as' address, is not refused: Gmail "
         "replaces it with your own.", GMAIL_SEND_AS),
        ("About 500 recipients a day (2,000 with Workspace); past that, 550 5.4.5 Daily user sending limit "
         "exceeded.", GMAIL_LIMITS),
    ),
)

MICROSOFT_365 = Provider(
    "Microsoft 365",
    # Not outlook.com's own smtp-mail.outlook.com: Outlook.com accounts are not Microsoft 365 tenants.
    hosts=re.compile(r"(?:^|\.)office365\.com\.?$|\.protection\.outlook\.com\.?$"),
    greetings=re.compile(r"Microsoft ESMTP MAIL Service ready"),
    ports={587: TlsMode.STARTTLS, 25: TlsMode.STARTTLS},
    notes=(
        ("smtp.office365.com takes client submission on 587 with STARTTLS (25 too); it has no port 465.",
         M365_SMTP_AUTH),
        ("SMTP AUTH must be on for the tenant and the mailbox (else 535 5.7.139 SmtpClientAuthentication is "
         "disabled for the Tenant).", M365_SMTP_AUTH),
        ("Password (Basic) login is being retired: unchanged until the end of December 2026, then off by default "
         "for existing tenants (an admin can turn it back on) and unavailable for new ones; the final removal "
         "date is to be announced in the second half of 2027. Move to OAuth 2.0 (XOAUTH2, scope "
         "https://outlook.office365.com/SMTP.Send).", M365_TIMELINE),
        ("TLS 1.2 or later: TLS 1.0 and 1.1 get 421 4.7.66.", M365_LEGACY_TLS),
        ("A From: the mailbox has no Send As permission for is refused after the message: 554 5.2.0 "
         "SendAsDeniedException.", "https://github.com/MicrosoftDocs/OfficeDocs-Support/issues/1187"),
    ),
    oauth=True,
)

PROVIDERS = (GMAIL, MICROSOFT_365)


def recognise(host: str, greeting: str = "") -> Provider | None:
    """The provider a host name or an SMTP greeting belongs to, if it is one the kit knows."""
    return next((provider for provider in PROVIDERS if provider.matches(host, greeting)), None)

