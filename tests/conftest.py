"""Shared fixtures: real labs on loopback and real smtplib clients."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.lab import Endpoint, Lab
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


# The lab in a process of its own: it prints where it listens, then answers "errors" on stdin with the
# errors and library tracebacks its event log holds, one JSON line each time.
_SERVE = """
import json, sys
from helpers.lab import Lab
profiles, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])
with Lab(*profiles, **options) as lab:
    endpoints = {e.name: [e.host, e.port, e.acts_as, e.tls, e.summary] for e in lab.endpoints.values()}
    print(json.dumps({"ca_file": str(lab.ca_file), "endpoints": endpoints}), flush=True)
    for line in sys.stdin:
        print(json.dumps([str(e) for e in lab.events if e.kind in ("error", "library")]), flush=True)
"""


class LabProcess:
    """A lab served by another Python process, so that what it costs is measured apart from the test's own
    client (as a reader's app meets it): its endpoints, its CA file, its memory and its errors."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        described = json.loads(process.stdout.readline())
        self.ca_file = described["ca_file"]
        self.endpoints = {name: Endpoint(name, *fields) for name, fields in described["endpoints"].items()}

    def __getitem__(self, name: str) -> Endpoint:
        return self.endpoints[name]

    def memory(self, field: str = "VmRSS") -> int:
        """Bytes of memory the lab process holds now (VmRSS), or at most since reset_peak() (VmHWM)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith(field + ":"))
        return int(kib) * 1024

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS

    def errors(self) -> list[str]:
        self.process.stdin.write("errors\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())


@contextlib.contextmanager
def lab_process(*profiles: str, **options) -> Iterator[LabProcess]:
    command = [sys.executable, "-c", _SERVE, json.dumps(profiles), json.dumps(options)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        try:
            yield LabProcess(process)
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=CLIENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


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
