"""Security is part of the lesson: verification on by default, no password in any output, no notebook
that teaches turning certificate checks off."""

from __future__ import annotations

import ast
import json
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALICE, CLIENT_TIMEOUT, connect, leaked, message, secret_forms

from helpers.client import _verifying_context, send
from helpers.profiles import USERS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HELPERS = sorted((ROOT / "helpers").glob("*.py"))

# Ways to switch certificate checks off, in Python, Go, Node and curl.
DISABLING = re.compile(
    r"CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context|InsecureSkipVerify\s*:\s*true"
    r"|rejectUnauthorized\s*:\s*false|verify\s*=\s*False|curl\s[^\n]*(\s-k\b|--insecure)"
)
# Inspecting a certificate that does not verify needs a non-verifying handshake; only the doctor does
# that, to report on the certificate, never to send anything.
MAY_INSPECT_UNVERIFIED = {"doctor_probe.py"}


def notebook_outputs(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return json.dumps([cell.get("outputs", []) for cell in cells if cell["cell_type"] == "code"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_password_in_stored_notebook_outputs(path):
    outputs = notebook_outputs(path)
    assert leaked(outputs) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_turns_certificate_checks_off(path):
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if not DISABLING.search(source):
            continue
        assert cell["cell_type"] == "markdown", f"code that disables certificate checks:\n{source}"
        assert re.search(r"\bnever\b", source, re.IGNORECASE), f"mentioned without saying never to do it:\n{source}"


def lines_turning_checks_off(source: str) -> list[int]:
    """Line numbers of code (not prose in strings) that turns certificate checks off."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "CERT_NONE":
            found.append(node.lineno)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False:
            found += [t.lineno for t in node.targets if isinstance(t, ast.Attribute) and t.attr == "check_hostname"]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("_create_unverified_context", "_create_stdlib_context"):
                found.append(node.lineno)
    return found


@pytest.mark.parametrize("path", HELPERS, ids=lambda p: p.name)
def test_helpers_never_turn_certificate_checks_off(path):
    lines = path.read_text().splitlines()
    for number in lines_turning_checks_off(path.read_text()):
        assert path.name in MAY_INSPECT_UNVERIFIED, f"{path.name}:{number} turns certificate checks off"
        context = "\n".join(lines[max(0, number - 5): number])
        assert "inspect" in context.lower(), f"{path.name}:{number}: say why (inspecting a certificate)"


def test_the_check_for_turning_checks_off_finds_code_not_prose():
    code = "import ssl\nc = ssl.create_default_context()\nc.check_hostname = False\nc.verify_mode = ssl.CERT_NONE\n"
    assert lines_turning_checks_off(code) == [3, 4]
    assert lines_turning_checks_off('why = "never set CERT_NONE or check_hostname = False"') == []


def test_default_tls_contexts_verify_certificates_and_host_names(lab):
    for context in (_verifying_context(None), _verifying_context(str(lab.ca_file)), lab.client_context()):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_no_password_in_the_event_log_or_any_transcript(lab):
    results = [send(message(), lab["submissions"], user=ALICE, password=pw, ca_file=lab.ca_file)
               for pw in (USERS[ALICE], USERS[ALICE] + "-wrong")]
    with connect(lab, "submission") as client:
        client.user, client.password = ALICE, USERS[ALICE]
        client.ehlo()
        client.auth("LOGIN", client.auth_login)
    texts = [lab.events.text()] + [r.transcript.text() + r.transcript.html() + r.transcript.json() for r in results]
    assert leaked(*texts) == []


def test_the_lab_command_line_table_shows_no_passwords():
    with subprocess.Popen([sys.executable, "-m", "helpers.lab"], stdout=subprocess.PIPE, text=True) as process:
        try:
            table = "".join(process.stdout.readline() for _ in range(6))
        finally:
            process.terminate()
            process.wait(timeout=CLIENT_TIMEOUT)
    assert "alice@example.com" in table
    assert leaked(table) == []


def test_no_command_line_prints_a_password():
    plain_blob = secret_forms()[2]  # the AUTH PLAIN blob, as a client would have sent it
    pasted = f"535 5.7.8 Error: authentication failed after AUTH PLAIN {plain_blob}"
    runs = [
        [sys.executable, "-m", "helpers.scenarios", "--run", "bad-credentials"],
        [sys.executable, "-m", "helpers.diagnose", pasted],
    ]
    outputs = [subprocess.run(command, capture_output=True, text=True, timeout=60) for command in runs]
    assert [run.returncode for run in outputs] == [0, 0]
    assert leaked(*(run.stdout + run.stderr for run in outputs)) == []
