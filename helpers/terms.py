"""The words every part of the kit shares: where a conversation is, how TLS is used, which ports mean what.

Each is a `StrEnum`, so a member equals its plain string (`Phase.MAIL == "mail"`) and prints as one:
code that takes "starttls" keeps working, and a typo fails at once instead of matching nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where an SMTP conversation is, or where it stopped: the stage a server judges, the step a client
    failed at. In the order a conversation reaches them."""

    CONNECT = "connect"  # the TCP connection
    TLS = "tls"  # a TLS handshake: at once on an implicit-TLS port, or after STARTTLS
    GREETING = "greeting"  # the server's 220 banner
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"  # MAIL FROM: the envelope sender
    RCPT = "rcpt"  # RCPT TO: each envelope recipient
    DATA = "data"  # the DATA command, before the message is sent
    END_OF_DATA = "end_of_data"  # the message has been sent; the server judges it

    @property
    def label(self) -> str:
        """As a transcript or report names it: 'END OF DATA'."""
        return self.value.upper().replace("_", " ")


class TlsMode(StrEnum):
    """How an endpoint uses TLS."""

    NONE = "none"  # plaintext only
    STARTTLS = "starttls"  # plaintext first, upgraded by the STARTTLS command (RFC 3207): ports 587 and 25
    IMPLICIT = "implicit"  # TLS from the first byte (RFC 8314): port 465


class Security(StrEnum):
    """What a client asks for: a TLS mode, or AUTO to choose by port."""

    AUTO = "auto"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"
    NONE = "none"


IMPLICIT_TLS_PORTS = frozenset({465})  # RFC 8314 section 7.3: "submissions"
SUBMISSION_PORTS = frozenset({465, 587})  # RFC 8314 and RFC 6409: where a mail program submits with a login
RELAY_PORT = 25  # RFC 5321: server to server (MX); a cloud host often cannot reach it


def security_for_port(port: int) -> Security:
    """The TLS mode a port calls for: implicit TLS on 465, STARTTLS everywhere else."""
    return Security.IMPLICIT if port in IMPLICIT_TLS_PORTS else Security.STARTTLS
