"""Checks made before connecting, shared by `send()` and the doctor: an email address, a host name, a timeout.

Each raises ValueError saying what is wrong and what to do instead, so a mistake is named before any
socket opens, in the same words on every supported Python.
"""

from __future__ import annotations

import email.errors
import math
import re
import socket
from email.headerregistry import Address

MAX_TIMEOUT = 3600.0  # seconds; RFC 5321 section 4.5.3.2's longest wait is 10 minutes, so more is a slip

_NOT_IN_ADDRESSES = re.compile(r"[\s<>,]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def check_address(address: str) -> None:
    """Raise ValueError unless `address` is one plain address, like alice@example.com: an addr-spec (RFC
    5322 section 3.4.1) as email.headerregistry reads it, with a domain that has a dot (or is localhost,
    or an address literal in brackets), and no spaces, angle brackets or commas, which mean a display
    name or a list crept in."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        problem = "it needs a local part, an @ and a domain"
    elif _NOT_IN_ADDRESSES.search(address):
        problem = "spaces, angle brackets, commas and line breaks do not belong in an address"
    elif "." not in domain and domain != "localhost" and not domain.startswith("["):
        problem = f"the domain {domain!r} has no dot"
    else:
        problem = _syntax_problem(address)
    if problem:
        raise ValueError(f"{address!r} is not an email address: {problem} (like alice@example.com)")


def _syntax_problem(address: str) -> str | None:
    # Letters outside ASCII are allowed (RFC 6531, with SMTPUTF8, which smtplib asks the server for),
    # but email.headerregistry refuses them in a local part: check the rest of the syntax without them.
    try:
        Address(addr_spec=_NON_ASCII.sub("x", address))
    except (ValueError, IndexError, email.errors.HeaderParseError) as error:  # its defects are ValueErrors
        return str(error) or "the address cannot be parsed"
    return None


def resolve(host: str) -> list[tuple[int, tuple]]:
    """The host's addresses as (family, socket address), in the resolver's order. Raises ValueError when
    the name does not resolve, saying whether it does not exist or the resolver could not answer."""
    if host.rstrip(".").lower().endswith(".invalid") or host.lower() == "invalid":
        # RFC 6761 section 6.4: resolvers SHOULD answer such names "no" at once; glibc asks DNS anyway.
        raise ValueError(f"cannot resolve host {host!r}: names under .invalid never exist (RFC 6761 section 6.4); "
                         "use the mail host's real name")
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise ValueError(f"cannot resolve host {host!r}: it is not a valid host name; check the spelling") from None
    except socket.gaierror as error:
        raise ValueError(f"cannot resolve host {host!r} ({error.strerror}): {_why(error)}") from None
    return list(dict.fromkeys((family, address) for family, _, _, _, address in found))


def _why(error: socket.gaierror) -> str:
    if error.errno == socket.EAI_AGAIN:
        return ("the resolver could not answer just now, which says nothing about the name; "
                "check this machine's DNS settings and network, then try again")
    if error.errno in _NO_SUCH_NAME:
        return "no such name; check the spelling"
    return "check the name and this machine's DNS settings"


def check_timeout(timeout: float) -> float:
    """`timeout` as float seconds; ValueError unless it is a number above 0 and at most MAX_TIMEOUT."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout):
        raise ValueError(f"timeout {timeout!r} should be a number of seconds, like 10")
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"timeout {timeout!r} should be a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return float(timeout)
