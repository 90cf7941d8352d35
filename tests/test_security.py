"""Security is part of the lesson: verification on by default, no password in any output, no notebook
that teaches turning certificate checks off."""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import re
import smtplib
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import pytest
from conftest import ALICE, CERTIFICATE_ERRORS, CLIENT_TIMEOUT, connect, leaked, message, secret_forms
from servers import echoes_credentials, peer, tls_for_127_0_0_1

from helpers.client import send
from helpers.diagnose import diagnose, explain
from helpers.doctor import examine
from helpers.profiles import USERS
from helpers.transcript import record

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


# What makes a TLS context, or smtplib, skip certificate checks, seen in code (not in prose in strings).
VERIFYING_SSL_CONTEXT = {"PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER"}  # a server does not verify its clients
UNVERIFIED = {"CERT_NONE", "_create_unverified_context", "_create_stdlib_context"}  # named at all: used


def _name(node: ast.AST) -> str:
    return getattr(node, "attr", getattr(node, "id", ""))


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _weakens(attribute: str, value: ast.AST) -> bool:
    """Setting check_hostname to anything but True, or verify_mode to anything but CERT_REQUIRED."""
    if attribute == "check_hostname":
        return not _is_true(value)
    return attribute == "verify_mode" and _name(value) != "CERT_REQUIRED"


def _skips_context(call: ast.Call) -> bool:
    """smtplib.SMTP_SSL(...) or .starttls(...) with no context: smtplib then makes one that verifies nothing."""
    if any(keyword.arg is None for keyword in call.keywords):  # **options: passed on, not decided here
        return False
    given = [k.value for k in call.keywords if k.arg == "context"]
    return not given or (isinstance(given[0], ast.Constant) and given[0].value is None)


def lines_turning_checks_off(source: str) -> list[int]:
    """Line numbers of code that turns certificate checks off, in every spelling hostile-clients.md
    section 1 found slipping past a simpler check."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute | ast.Name) and _name(node) in UNVERIFIED:
            found.append(node.lineno)  # ssl._create_default_https_context = ssl._create_unverified_context, too
        elif isinstance(node, ast.Assign):
            found += [t.lineno for t in node.targets if isinstance(t, ast.Attribute) and _weakens(t.attr, node.value)]
        elif isinstance(node, ast.Call):
            name, args = _name(node.func), node.args
            if name == "setattr" and len(args) == 3 and isinstance(args[1], ast.Constant):
                found += [node.lineno] if _weakens(str(args[1].value), args[2]) else []
            elif name == "SSLContext":
                protocol = args[0] if args else next((k.value for k in node.keywords if k.arg == "protocol"), None)
                found += [] if protocol is not None and _name(protocol) in VERIFYING_SSL_CONTEXT else [node.lineno]
            elif (name.endswith("SMTP_SSL") or name == "starttls") and _skips_context(node):
                found.append(node.lineno)
            elif name == "wrap_socket" and isinstance(node.func, ast.Attribute) and _name(node.func.value) == "ssl":
                found.append(node.lineno)  # ssl.wrap_socket(): no host name check, no CA by default (gone in 3.12)
    return sorted(set(found))


def code_cells(path: Path) -> str:
    """A notebook's code, its IPython magics and shell lines left out."""
    cells = json.loads(path.read_text())["cells"]
    lines = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return "\n".join(line for line in "\n".join(lines).splitlines() if not line.lstrip().startswith(("%", "!")))


def python_in_strings(source: str) -> list[str]:
    """The Python programs a module keeps as text to show (the catalog's fixes): string constants that
    parse as code and use smtplib or ssl."""
    programs = []
    for node in ast.walk(ast.parse(source)):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and re.search(r"\b(smtplib|ssl)\.", text):
            with contextlib.suppress(SyntaxError):
                ast.parse(textwrap.dedent(text))
                programs.append(textwrap.dedent(text))
    return programs


@pytest.mark.parametrize("path", HELPERS, ids=lambda p: p.name)
def test_helpers_never_turn_certificate_checks_off(path):
    lines = path.read_text().splitlines()
    for number in lines_turning_checks_off(path.read_text()):
        assert path.name in MAY_INSPECT_UNVERIFIED, f"{path.name}:{number} turns certificate checks off"
        context = "\n".join(lines[max(0, number - 5): number])
        assert "inspect" in context.lower(), f"{path.name}:{number}: say why (inspecting a certificate)"


@pytest.mark.parametrize("path", HELPERS, ids=lambda p: p.name)
def test_no_code_the_kit_shows_turns_certificate_checks_off(path):
    for program in python_in_strings(path.read_text()):
        assert lines_turning_checks_off(program) == [], program


# Notebook cells that leave checks off, unlabelled (a labelled one is a lesson: see below).
UNLABELLED: dict[str, str] = {}


@pytest.mark.parametrize("path", [
    pytest.param(path, marks=pytest.mark.xfail(reason=UNLABELLED[path.name], strict=True))
    if path.name in UNLABELLED else path for path in NOTEBOOKS], ids=lambda p: p.name)
def test_no_notebook_code_turns_certificate_checks_off_unless_labelled_as_the_lesson(path):
    # A notebook may show the mistake it teaches (smtplib.SMTP_SSL without context=, which verifies
    # nothing), if the line says so in a comment: "# no context=: unverified".
    lines = code_cells(path).splitlines()
    unlabelled = [lines[number - 1] for number in lines_turning_checks_off(code_cells(path))
                  if "unverified" not in lines[number - 1].partition("#")[2]]
    assert unlabelled == []


@pytest.mark.parametrize("name", ["submissions", "submission"])
def test_the_doctors_recommended_code_verifies(lab, name):
    report = examine("127.0.0.1", ports={lab[name].port: lab[name].acts_as}, ca_file=lab.ca_file, timeout=2)
    assert lines_turning_checks_off(report.recommendation.python) == []


@pytest.mark.parametrize("code", [
    "c.check_hostname = False",
    "c.check_hostname = 0",
    "c.check_hostname = None",
    "c.verify_mode = ssl.CERT_NONE",
    "c.verify_mode = 0",
    "c.verify_mode = ssl.VerifyMode(0)",
    "setattr(c, 'check_hostname', False)",
    "setattr(c, 'verify_mode', 0)",
    "ssl._create_default_https_context = ssl._create_unverified_context",
    "c = ssl._create_unverified_context()",
    "c = ssl.SSLContext(ssl.PROTOCOL_TLS)",
    "c = ssl.SSLContext()",
    "c = ssl.SSLContext(protocol=ssl.PROTOCOL_SSLv23)",
    "s = smtplib.SMTP_SSL(host, 465)",
    "s = smtplib.SMTP_SSL(host, 465, context=None)",
    "smtp.starttls()",
    "smtp.starttls(context=None)",
    "s = ssl.wrap_socket(sock)",
], ids=lambda code: code)
def test_the_check_finds_every_way_of_turning_checks_off(code):
    assert lines_turning_checks_off(f"import smtplib, ssl\n{code}\n") == [2]


@pytest.mark.parametrize("code", [
    "c.check_hostname = True",
    "c.verify_mode = ssl.CERT_REQUIRED",
    "c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)",
    "c = ssl.create_default_context(cafile='ca.pem')",
    "s = smtplib.SMTP_SSL(host, 465, context=context)",
    "smtp.starttls(context=ssl.create_default_context())",
    "super().starttls(*args, **kwargs)",
    'why = "never set CERT_NONE or check_hostname = False"',
], ids=lambda code: code)
def test_the_check_lets_verifying_code_and_prose_through(code):
    assert lines_turning_checks_off(f"import smtplib, ssl\n{code}\n") == []


def test_tls_is_verified_by_default_certificates_and_host_names_both(make_lab):
    lab = make_lab("submissions-untrusted-cert", "submissions-wrong-host-cert")
    login = {"user": ALICE, "password": USERS[ALICE]}
    untrusted = send(message(), lab["submissions-untrusted-cert"], ca_file=lab.ca_file, **login)
    wrong_host = send(message(), lab["submissions-wrong-host-cert"], ca_file=lab.ca_file, **login)
    given = send(message(), lab["submissions-wrong-host-cert"], context=lab.client_context(), **login)
    assert CERTIFICATE_ERRORS["untrusted"] in str(untrusted.error)
    assert CERTIFICATE_ERRORS["wrong-host"] in str(wrong_host.error) and CERTIFICATE_ERRORS["wrong-host"] in str(
        given.error)
    assert not lab.events.wait_for("login", timeout=0.2)


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


# -- no password in any output, whatever it is made of ----------------------------------------------

PASSWORDS = {  # the kinds hostile-clients.md tried
    "wrong": USERS[ALICE] + "-wrong",
    "non-ascii": "s3cret-pässword",
    "emoji": "key-\N{KEY}-secret",
    "blob-like": base64.b64encode(b"\0alice@example.com\0pw").decode(),
    "auth-words": "AUTH PLAIN hunter2x",
}


def forms_of(password: str) -> list[str]:
    """Every form the password could show in: itself, its base64, the AUTH PLAIN blob around it; and for
    one outside ASCII, what smtplib's UnicodeEncodeError would quote (the character, escaped or not,
    and its position)."""
    raw = password.encode()
    forms = [password, base64.b64encode(raw).decode(), base64.b64encode(b"\0" + ALICE.encode() + b"\0" + raw).decode()]
    outside = [c for c in password if not c.isascii()]
    return forms + outside + [c.encode("unicode_escape").decode() for c in outside] + ["in position"] * bool(outside)


def shown(password: str, outputs: list[str]) -> list[str]:
    return [form for form in forms_of(password) if any(form in output for output in outputs)]


def traceback_of(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize("name", ["submissions", "submission"])
@pytest.mark.parametrize("kind", PASSWORDS)
def test_no_password_of_any_kind_shows_in_what_send_gives_back(lab, kind, name):
    password = PASSWORDS[kind]
    if not password.isascii():  # smtplib cannot send it: said before connecting, in words
        with pytest.raises(ValueError, match="ASCII only") as refused:
            send(message(), lab[name], user=ALICE, password=password, ca_file=lab.ca_file)
        outputs = [str(refused.value), repr(refused.value), traceback_of(refused.value)]
    else:
        result = send(message(), lab[name], user=ALICE, password=password, ca_file=lab.ca_file)
        with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
            send(message(), lab[name], user=ALICE, password=password, ca_file=lab.ca_file, check=True)
        diagnosis = explain(result)
        outputs = [str(result), repr(result), result._repr_html_(), result.transcript.json(), repr(result.error),
                   repr(result.error.args), diagnosis.html(), diagnosis.text(), repr(diagnose(result)),
                   traceback_of(raised.value)]
    assert shown(password, [*outputs, lab.events.text()]) == []


@pytest.mark.parametrize("kind", PASSWORDS)
def test_no_password_of_any_kind_shows_in_a_recording_of_your_own_code(lab, kind, capsys):
    password = PASSWORDS[kind]
    address, context = lab["submissions"].address, lab.client_context()
    with record(names=lab.names, catch=True) as wire, smtplib.SMTP_SSL(*address, context=context) as smtp:
        smtp.login(ALICE, password)
    assert wire.error is not None
    diagnosis = explain(wire)
    outputs = [capsys.readouterr().out, wire.text(), wire._repr_html_(), wire.transcript.json(), diagnosis.html(),
               diagnosis.text()]
    assert shown(password, outputs) == []


@pytest.mark.parametrize("kind", PASSWORDS)
def test_no_password_of_any_kind_shows_in_the_doctors_report(lab, kind):
    password = PASSWORDS[kind]
    ports = {lab[name].port: lab[name].acts_as for name in ("submissions", "submission")}
    report = examine("127.0.0.1", ports=ports, ca_file=lab.ca_file, timeout=2, user=ALICE, password=password)
    assert [result.auth.startswith("failed: ") for result in report.ports] == [True, True]
    assert shown(password, [report.text(), report.to_json(), repr(report)]) == []


def test_credentials_a_server_quotes_back_show_nowhere(tmp_path):
    # hostile-clients D13: a server whose 535 quotes the AUTH line, and the password it decodes.
    tls, ca_file = tls_for_127_0_0_1(tmp_path)
    login = {"user": ALICE, "password": USERS[ALICE]}
    with peer(echoes_credentials, tls=tls) as port:
        endpoint = ("127.0.0.1", port)
        result = send(message(), endpoint, security="implicit", ca_file=ca_file, **login)
        with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
            send(message(), endpoint, security="implicit", ca_file=ca_file, check=True, **login)
        report = examine("127.0.0.1", ports={port: 465}, ca_file=ca_file, timeout=CLIENT_TIMEOUT, **login)
    diagnosis = explain(result)
    outputs = [str(result), repr(result), result._repr_html_(), result.transcript.json(), repr(result.error),
               repr(result.error.args), diagnosis.html(), diagnosis.text(), traceback_of(raised.value),
               report.text(), report.to_json()]
    assert "535 5.7.8 authentication failed for ********" in result.transcript.text()  # the reply itself is kept
    assert leaked(*outputs) == []
