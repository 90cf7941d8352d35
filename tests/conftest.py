"""Shared fixtures: real labs on loopback and real smtplib clients."""

from __future__ import annotations

import base64
import shutil
import smtplib

import pytest

from helpers.lab import Lab
from helpers.profiles import USERS
from helpers.scenarios import hello

ALICE = "alice@example.com"
ALICE_PASSWORD = USERS[ALICE]
BOB = "bob@example.com"
OUTSIDER = "someone@example.net"
CLIENT_TIMEOUT = 10  # generous: a test that relies on the server closing first must never hit it


@pytest.fixture
def make_lab():
    """Start labs with the given profiles; every lab is stopped when the test ends."""
    labs: list[Lab] = []

    def make(*profiles: str, **options) -> Lab:
        lab = Lab(*profiles, **options).start()
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab(make_lab) -> Lab:
    """The three standard endpoints: relay (25), submission (587), submissions (465)."""
    return make_lab()


message = hello  # a small, well-formed EmailMessage: message(sender=..., to=..., subject=..., body=...)

# What Python's ssl says about each of the lab's bad certificates (helpers.certificates.KINDS).
CERTIFICATE_ERRORS = {
    "expired": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid",
    "untrusted": "unable to get local issuer certificate",
    "self-signed": "self-signed certificate",
    "wrong-host": "IP address mismatch, certificate is not valid for '127.0.0.1'",
}


def secret_forms() -> list[str]:
    """Every form in which a lab credential could leak into an output: each password, raw and in base64,
    the AUTH PLAIN blob around it, and the user name line AUTH LOGIN sends in base64."""
    forms = []
    for login, password in USERS.items():
        forms += [
            password,
            base64.b64encode(password.encode()).decode(),
            base64.b64encode(f"\0{login}\0{password}".encode()).decode(),
            base64.b64encode(login.encode()).decode(),
        ]
    return forms


def leaked(*texts: str) -> list[str]:
    """The credential forms found in any of the texts (an empty list is the only good answer)."""
    return [form for form in secret_forms() for text in texts if form in text]


def connect(lab: Lab, name: str, *, timeout: float = CLIENT_TIMEOUT, secure: bool = True) -> smtplib.SMTP:
    """An smtplib connection to an endpoint, TLS set up the way the endpoint expects (verifying the lab CA)."""
    endpoint = lab[name]
    if endpoint.tls == "implicit":
        client = smtplib.SMTP_SSL(*endpoint.address, timeout=timeout, context=lab.client_context())
    else:
        client = smtplib.SMTP(*endpoint.address, timeout=timeout)
        if secure and endpoint.tls == "starttls":
            client.starttls(context=lab.client_context())
    return client


def needs(program: str):
    missing = shutil.which(program) is None
    return pytest.mark.skipif(missing, reason=f"{program} is not installed (apt install {program})")
