"""The playbook's widgets: the functions behind them, and the widgets answering a click."""

from __future__ import annotations

import time

import pytest
from conftest import ALICE, ALICE_PASSWORD

from helpers import scenarios, widgets
from helpers.lab import Lab


@pytest.fixture(scope="module")
def lab():
    with Lab(*scenarios.PROFILES, "silent") as lab:
        yield lab


def test_scenario_view_shows_code_error_diagram_diagnosis_and_fix(lab):
    page = widgets.scenario_view("plaintext-to-implicit-tls", lab)
    assert "smtplib.SMTPServerDisconnected: Connection unexpectedly closed" in page
    assert 'class="smtp-seq"' in page and 'class="smtp-diagnosis"' in page
    assert "<code>plaintext-to-implicit-tls</code>" in page and "it worked" in page


def test_explanation_view_names_the_entry_or_says_what_to_paste():
    assert "<code>plaintext-to-implicit-tls</code>" in widgets.explanation_view("err: EOF", 465)
    assert "<code>cert-untrusted</code>" in widgets.explanation_view("x509: certificate signed by unknown authority")
    assert "Paste an error message" in widgets.explanation_view("   ")
    assert "no catalog entry matches" in widgets.explanation_view("\x00\x01 nothing known here")


def form(**changes) -> dict:
    fields = {"endpoint": "submissions", "security": "auto", "user": ALICE, "password": ALICE_PASSWORD,
              "sender": ALICE, "to": "bob@example.com", "subject": "Hi", "body": "Hello.\n"}
    return {**fields, **changes}


def test_send_view_sends_reports_failures_with_a_diagnosis_and_never_shows_the_password(lab):
    sent = widgets.send_view(lab, form())
    assert "sent via submissions (port 465)" in sent
    refused = widgets.send_view(lab, form(password="wrong-password"))
    assert "535 5.7.8" in refused and "<code>bad-credentials</code>" in refused
    mistake = widgets.send_view(lab, form(to="nobody"))
    assert "Not sent:" in mistake and "&#x27;nobody&#x27; is not an email address" in mistake
    assert all(ALICE_PASSWORD not in page for page in (sent, refused, mistake))


def test_scenario_explorer_runs_the_chosen_failure_on_click(lab):
    explorer = widgets.scenario_explorer(lab)
    (choice, button), result = explorer.children[0].children, explorer.children[1]
    choice.value = "relay-denied"
    button.click()
    assert "554 5.7.1" in result.value and 'class="smtp-seq"' in result.value
    assert "<code>relay-denied</code>" in result.value


def test_diagnose_box_explains_pasted_text_on_click():
    box = widgets.diagnose_box()
    text, (port, button), result = box.children[0], box.children[1].children, box.children[2]
    text.value = "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
    port.value = 587
    button.click()
    assert "<code>implicit-tls-to-starttls-port</code>" in result.value


def test_send_form_sends_on_click(lab):
    panel = widgets.send_form(lab, user=ALICE)
    *fields, button, result = panel.children
    by_label = {field.description: field for field in fields}
    by_label["Endpoint:"].value = "submission"
    by_label["Password:"].value = ALICE_PASSWORD
    button.click()
    assert "sent via submission (port 587)" in result.value
    assert ALICE_PASSWORD not in result.value


def test_doctor_panel_fills_in_a_line_per_port_and_the_report(lab):
    ports = {lab["submissions"].port: 465, lab["silent"].port: 2525}
    panel = widgets.doctor_panel("127.0.0.1", ports=ports, timeout=0.5, ca_file=lab.ca_file)
    button, bar, lines, report = panel.children
    assert (bar.value, lines.value, report.value) == (0, "", "")  # nothing runs before the click
    button.click()
    deadline = time.monotonic() + 10
    while not report.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bar.value == bar.max == 2
    assert lines.value.count("<div") == 2 and "port 465" in lines.value and "port 2525" in lines.value
    assert "Recommendation: port 465 with implicit TLS" in report.value
