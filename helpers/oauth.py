"""OAuth 2.0 for SMTP without the internet: a token issuer that runs in your process, and the two SASL
mechanisms that carry its tokens (XOAUTH2, as Gmail and Microsoft 365 speak it, and OAUTHBEARER, RFC 7628).

    issuer = TokenIssuer()                                   # the lab has one: lab.tokens
    token = issuer.issue("alice@example.com", scope=GMAIL_SCOPE)
    smtp.auth("XOAUTH2", xoauth2("alice@example.com", token))  # after starttls(), instead of login()

A token is a JSON Web Token (RFC 7519) signed with HMAC-SHA256 under the issuer's own key: the lab can tell
a token it issued from anything else, and check its subject, its scope and its expiry, as a provider's
server does with the tokens its own identity service issues. Real tokens come from Google's and
Microsoft's identity services (the notebook 08 says how); only the way a server checks them is played here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["GMAIL_SCOPE", "M365_SCOPE", "TOKEN_LIFETIME", "TokenIssuer", "TokenProblem", "oauthbearer",
           "oauthbearer_response", "parse_oauthbearer", "parse_xoauth2", "xoauth2", "xoauth2_response"]

# The scope a token must carry to send mail over SMTP:
GMAIL_SCOPE = "https://mail.google.com/"  # https://developers.google.com/gmail/imap/xoauth2-protocol
# https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth
M365_SCOPE = "https://outlook.office365.com/SMTP.Send"
TOKEN_LIFETIME = 3600.0  # seconds: Google's and Microsoft's access tokens last about an hour
ISSUER = "https://oauth.lab.example.com"  # the "iss" of every token the lab issues
_HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenProblem(StrEnum):
    """Why a server refuses a token (it tells the client less: see helpers.providers)."""

    NOT_A_TOKEN = "not a token the issuer signed (a password sent where a token belongs?)"
    EXPIRED = "the token has expired"
    SCOPE = "the token lacks the scope this server needs"
    SUBJECT = "the token was issued for another user"


@dataclass(frozen=True)
class Claims:
    """What a valid token says: who it is for, what it allows, and until when (seconds since the epoch)."""

    subject: str
    scopes: tuple[str, ...]
    expires: float


class TokenIssuer:
    """Issues signed access tokens and checks them. Each issuer has its own random key, so a token from
    another lab (or one a reader typed) is not a token here. `clock` gives the time in seconds since the
    epoch (time.time by default); tokens expire by it."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._key = secrets.token_bytes(32)
        self._clock = clock

    def issue(self, subject: str, *, scope: str, lifetime: float = TOKEN_LIFETIME) -> str:
        """An access token for `subject` (the account's address) with this scope (several: space-separated),
        valid for `lifetime` seconds from now; a negative lifetime gives one that has already expired."""
        now = int(self._clock())
        claims = {"iss": ISSUER, "sub": subject, "scope": scope, "iat": now, "exp": now + int(lifetime)}
        signed = f"{_encode(_HEADER)}.{_encode(claims)}"
        return f"{signed}.{_b64(self._sign(signed))}"

    def claims(self, token: str) -> Claims | None:
        """What a token says, if this issuer signed it (expired or not); None for anything else."""
        signed, _, signature = token.rpartition(".")
        try:
            header, payload = (json.loads(_unb64(part)) for part in signed.split("."))
            valid = hmac.compare_digest(_unb64(signature), self._sign(signed))
        except (ValueError, binascii.Error):
            return None
        if not valid or header != _HEADER or not isinstance(payload, dict):
            return None
        try:
            return Claims(str(payload["sub"]), tuple(str(payload["scope"]).split()), float(payload["exp"]))
        except (KeyError, TypeError, ValueError):
            return None

    def problem(self, token: str, *, subject: str, scope: str) -> TokenProblem | None:
        """Why this token may not log `subject` in where `scope` is needed; None when it may."""
        claims = self.claims(token)
        if claims is None:
            return TokenProblem.NOT_A_TOKEN
        if claims.expires <= self._clock():
            return TokenProblem.EXPIRED
        if scope not in claims.scopes:
            return TokenProblem.SCOPE
        if claims.subject.lower() != subject.lower():
            return TokenProblem.SUBJECT
        return None

    def _sign(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode("ascii"), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "<TokenIssuer>"  # never the key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


# --------------------------------------------------------------------------------------------------
# The SASL mechanisms: what a client sends (before base64), and what a server reads from it

_SEPARATOR = "\x01"  # Control+A: between the key=value pairs of both mechanisms


def xoauth2_response(user: str, token: str) -> str:
    """XOAUTH2's initial client response: "user=" {User} "^Aauth=Bearer " {Access Token} "^A^A"
    (https://developers.google.com/gmail/imap/xoauth2-protocol; Microsoft uses the same)."""
    return f"user={user}{_SEPARATOR}auth=Bearer {token}{_SEPARATOR}{_SEPARATOR}"


def oauthbearer_response(user: str, token: str, *, host: str, port: int) -> str:
    """OAUTHBEARER's initial client response (RFC 7628 section 3.1): a GS2 header naming the user, then the
    host and port the client connected to, then the token."""
    pairs = [f"host={host}", f"port={port}", f"auth=Bearer {token}"]
    return f"n,a={user}," + _SEPARATOR + _SEPARATOR.join(pairs) + _SEPARATOR + _SEPARATOR


def xoauth2(user: str, token: str) -> Callable[..., str]:
    """An smtplib auth object for `smtp.auth("XOAUTH2", ...)`: the token at once, and the empty answer that
    Google's documentation asks for when the server replies with an error challenge (a 334 with JSON)."""

    def respond(challenge: bytes | None = None) -> str:
        return xoauth2_response(user, token) if challenge is None else ""

    return respond


def oauthbearer(user: str, token: str, *, host: str, port: int) -> Callable[..., str]:
    """An smtplib auth object for `smtp.auth("OAUTHBEARER", ...)`; to an error challenge it answers the
    single ^A that RFC 7628 section 3.2.3 asks for, so that the server can finish the exchange."""

    def respond(challenge: bytes | None = None) -> str:
        return oauthbearer_response(user, token, host=host, port=port) if challenge is None else _SEPARATOR

    return respond


def parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, token) from a decoded XOAUTH2 response; None if it is not one."""
    text = blob.decode("utf-8", "replace")
    if not text.endswith(_SEPARATOR * 2):
        return None
    fields = dict(pair.partition("=")[::2] for pair in text[:-2].split(_SEPARATOR))
    user, auth = fields.get("user", ""), fields.get("auth", "")
    scheme, _, token = auth.partition(" ")
    return (user, token) if user and scheme.lower() == "bearer" and token else None


def parse_oauthbearer(blob: bytes) -> tuple[str, str] | None:
    """(user, token) from a decoded OAUTHBEARER response (RFC 7628 section 3.1): the user is the GS2 header's
    authzid ("" when the client left it out); None if it is not one."""
    text = blob.decode("utf-8", "replace")
    header, separator, rest = text.partition(_SEPARATOR)
    if not separator or not header.startswith(("n,", "y,")) or not rest.endswith(_SEPARATOR * 2):
        return None
    authzid = header[2:].rstrip(",")
    # RFC 5801 section 4: in a saslname, "=2C" stands for "," and "=3D" for "=".
    user = authzid[2:].replace("=2C", ",").replace("=3D", "=") if authzid.startswith("a=") else ""
    fields = dict(pair.partition("=")[::2] for pair in rest[:-2].split(_SEPARATOR) if pair)
    scheme, _, token = fields.get("auth", "").partition(" ")
    return (user, token) if scheme.lower() == "bearer" and token else None
