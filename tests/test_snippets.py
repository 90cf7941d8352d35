"""The code the kit prints (helpers.snippets): it builds, it is clean, and run as printed against the lab it
sends mail over verified TLS, or fails for the right reason. The catalog's fixes and the doctor's
recommendation both come from here."""

from __future__ import annotations

import os
import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB

from helpers.catalog import CATALOG
from helpers.lab import Lab
from helpers.snippets import PASSWORD_VARIABLE, go_code, python_code
from helpers.terms import Security

RUN_TIMEOUT = 120  # seconds for one go build, vet or run: a cold build cache takes a few seconds

VARIANTS = {  # what the catalog and the doctor ask of the generator
    "465": dict(acts_as=465),
    "587": dict(acts_as=587),
    "25-no-login": dict(acts_as=25, user=None),
    "465-ca-ehlo": dict(acts_as=465, ca_file="company-ca.pem", ehlo_name="app1.example.com"),
    "587-no-plain": dict(acts_as=587, plain_auth=False),
    "2525-implicit": dict(acts_as=2525, security=Security.IMPLICIT, port=12465, timeout=60),
}


@pytest.fixture(scope="module")
def go(tmp_path_factory):
    """Runs the go tool with a private build cache and no module downloads."""
    if shutil.which("go") is None or shutil.which("gofmt") is None:
        pytest.skip("Go is not installed (apt-get install golang-go)")
    folder = tmp_path_factory.mktemp("go")
    env = {**os.environ, "GOCACHE": str(folder / "cache"), "GOPATH": str(folder / "gopath"), "GOPROXY": "off",
           "GOFLAGS": "", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}

    def run(*command: str, cwd: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=cwd, env={**env, **(extra or {})}, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)

    return run


def write_go(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.go").write_text(code)
    return folder


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_go_code_is_gofmt_clean_and_passes_go_vet(go, tmp_path, variant):
    options = dict(VARIANTS[variant])
    folder = write_go(tmp_path, go_code(options.pop("acts_as"), **options))
    formatted = go("gofmt", "-l", "main.go", cwd=folder)
    assert formatted.returncode == 0 and formatted.stdout == "", formatted.stderr
    vetted = go("go", "vet", "main.go", cwd=folder)
    assert vetted.returncode == 0, vetted.stderr


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_python_code_compiles(variant):
    options = {k: v for k, v in VARIANTS[variant].items() if k != "plain_auth"}
    compile(python_code(options.pop("acts_as"), **options), f"<{variant}>", "exec")


def test_every_catalog_fix_in_python_compiles():
    for entry in CATALOG:
        compile(entry.fix_python, f"<{entry.id}>", "exec")


def test_the_code_follows_the_port_it_acts_as_and_connects_to_the_real_one():
    implicit = python_code(465, host="127.0.0.1", port=41465)
    assert 'smtplib.SMTP_SSL("127.0.0.1", 41465, context=context, timeout=30)' in implicit
    starttls = go_code(587, port=41587)
    assert 'net.JoinHostPort(host, "41587")' in starttls and "client.StartTLS(config)" in starttls
    assert "SMTP_SSL" not in python_code(25, user=None) and "smtp.login" not in python_code(25, user=None)
    with pytest.raises(ValueError, match="no code is printed for security='none'"):
        python_code(587, security=Security.NONE)


def test_nothing_printed_turns_verification_off_or_holds_a_password():
    for variant, options in VARIANTS.items():
        options = dict(options)
        acts_as = options.pop("acts_as")
        for code in (go_code(acts_as, **options), python_code(acts_as, **{k: v for k, v in options.items()
                                                                          if k != "plain_auth"})):
            assert "InsecureSkipVerify" not in code and "CERT_NONE" not in code and "check_hostname" not in code
            assert ALICE_PASSWORD not in code
            if options.get("user", "x") is not None:
                assert PASSWORD_VARIABLE in code, variant


# -- run as printed, against the lab --------------------------------------------------------------


@pytest.fixture(scope="module")
def lab():
    with Lab("relay", "submission", "submissions", "submission-no-starttls") as lab:
        yield lab


CASES = {  # endpoint: the settings a reader of that endpoint's documentation would pass
    "submissions": dict(acts_as=465, user=ALICE),
    "submission": dict(acts_as=587, user=ALICE),
    "relay": dict(acts_as=25, user=None, sender="someone@example.net", to=BOB),
}


def settings(lab: Lab, name: str, *, like: str | None = None, trusted: bool = True) -> dict:
    """The settings for an endpoint (as for the one it is `like`), with its real address."""
    endpoint = lab[name]
    return dict(CASES[like or name], host=endpoint.host, port=endpoint.port,
                ca_file=str(lab.ca_file) if trusted else None)


@pytest.mark.parametrize("name", list(CASES))
def test_the_python_code_sends_mail_over_verified_tls(lab, monkeypatch, name):
    monkeypatch.setenv(PASSWORD_VARIABLE, ALICE_PASSWORD)
    options = settings(lab, name)
    before = len(lab.mailbox)
    exec(python_code(options.pop("acts_as"), **options), {})
    assert lab.mailbox.wait_for(before + 1)
    stored = lab.mailbox[-1]
    assert (stored.endpoint, stored.tls_version) == (name, "TLSv1.3")
    assert stored.login == CASES[name]["user"]


def test_the_python_code_without_the_ca_fails_on_the_certificate(lab, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, ALICE_PASSWORD)
    options = settings(lab, "submissions", trusted=False)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        exec(python_code(options.pop("acts_as"), **options), {})


def test_the_python_code_will_not_go_on_without_starttls(lab, monkeypatch):
    monkeypatch.setenv(PASSWORD_VARIABLE, ALICE_PASSWORD)
    options = settings(lab, "submission-no-starttls", like="submission")
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS extension not supported"):
        exec(python_code(options.pop("acts_as"), **options), {})


@pytest.mark.clients
@pytest.mark.parametrize("name", list(CASES))
def test_the_go_code_sends_mail_over_verified_tls(lab, go, tmp_path, name):
    options = settings(lab, name)
    folder = write_go(tmp_path, go_code(options.pop("acts_as"), **options))
    before = len(lab.mailbox)
    ran = go("go", "run", "main.go", cwd=folder, extra={PASSWORD_VARIABLE: ALICE_PASSWORD})
    assert ran.returncode == 0, ran.stderr
    assert lab.mailbox.wait_for(before + 1)
    stored = lab.mailbox[-1]
    assert (stored.endpoint, stored.tls_version, stored.login) == (name, "TLSv1.3", CASES[name]["user"])


@pytest.mark.clients
def test_the_go_code_fails_without_the_ca_and_without_starttls(lab, go, tmp_path):
    options = settings(lab, "submissions", trusted=False)
    untrusted = go("go", "run", "main.go", cwd=write_go(tmp_path / "a", go_code(options.pop("acts_as"), **options)),
                   extra={PASSWORD_VARIABLE: ALICE_PASSWORD, "SSL_CERT_FILE": os.devnull})
    assert untrusted.returncode == 1 and "x509: certificate signed by unknown authority" in untrusted.stderr

    options = settings(lab, "submission-no-starttls", like="submission")
    before = len(lab.mailbox)
    stripped = go("go", "run", "main.go", cwd=write_go(tmp_path / "b", go_code(options.pop("acts_as"), **options)),
                  extra={PASSWORD_VARIABLE: ALICE_PASSWORD})
    assert stripped.returncode == 1 and ("TLS not available" in stripped.stderr or "5.5.1" in stripped.stderr)
    assert len(lab.mailbox) == before  # StartTLS failed, so no password and no mail went in plaintext


def test_every_catalog_fix_in_go_is_gofmt_clean(go, tmp_path):
    """Whole programs as they are; fragments (a retry loop, a size check) inside a function, as a reader
    would paste them: gofmt reads their syntax and their layout, which is all a fragment has on its own."""
    for entry in CATALOG:
        code = entry.fix_go
        if not code.startswith("package main"):
            body = "".join(f"\t{line}\n" if line else "\n" for line in code.splitlines())
            code = f"package fragment\n\nfunc fix() {{\n{body}}}\n"
        folder = write_go(tmp_path / entry.id, code)
        formatted = go("gofmt", "-l", "-e", "main.go", cwd=folder)
        assert formatted.returncode == 0 and formatted.stdout == "", (entry.id, formatted.stderr, code)
