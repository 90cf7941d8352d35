"""Shared fixtures: real labs on loopback and real smtplib clients."""

from __future__ import annotations

import shutil
import smtplib
from email.message import EmailMessage

import pytest

from helpers.lab import Lab
from helpers.profiles import USERS

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


def message(sender: str = ALICE, to: str = BOB, subject: str = "Hello from the lab", body: str = "Hi!\n"):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


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
