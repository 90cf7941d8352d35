"""The playbook's widgets: the functions behind them, the widgets answering a click, and what a notebook
stores for them when nobody has run it."""

from __future__ import annotations

import time

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB
from IPython.core.interactiveshell import InteractiveShell
from test_display import assert_survives_untrusted

from helpers import scenarios, widgets
from helpers.lab import Lab
from helpers.profiles import USERS

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def lab():
    with Lab(*scenarios.PROFILES, "silent") as lab:
        yield lab


def history(*widgets_and_names) -> list[tuple[str, object]]:
    """Every change of the named traits, in order, as (name, new value)."""
    changes = []
    for widget, name in widgets_and_names:
        widget.observe(lambda change: changes.append((change["name"], change["new"])), names=name)
    return changes


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds  # generous: the doctor's own timeouts are a second here
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


# --------------------------------------------------------------------------------------------------
# The functions behind the widgets


def test_scenario_view_shows_code_error_diagram_diagnosis_and_fix(lab):
    view = widgets.scenario_view("plaintext-to-implicit-tls", lab)
    assert "smtplib.SMTPServerDisconnected: Connection unexpectedly closed" in view.html
    assert 'class="smtp-seq"' in view.html and 'class="smtp-diagnosis"' in view.html
    assert "<code>plaintext-to-implicit-tls</code>" in view.html and "it worked" in view.html
    assert "=== Trying submissions (port 465)..." in str(view)  # the same, as text


def test_explanation_view_names_the_entry_or_says_what_to_paste():
    assert "<code>plaintext-to-implicit-tls</code>" in widgets.explanation_view("err: EOF", 465).html
    untrusted = widgets.explanation_view("x509: certificate signed by unknown authority")
    assert "<code>cert-untrusted</code>" in untrusted.html
    assert "Paste an error message" in widgets.explanation_view("   ").html
    nothing = widgets.explanation_view("\x00\x01 nothing known here")
    assert "no catalog entry" in nothing.html.lower() and "record()" in nothing.html  # and a next step


def form(**changes) -> dict:
    fields = {"endpoint": "submissions", "security": "auto", "user": ALICE, "password": ALICE_PASSWORD,
              "sender": ALICE, "to": "bob@example.com", "subject": "Hi", "body": "Hello.\n"}
    return {**fields, **changes}


def test_send_view_sends_reports_failures_with_a_diagnosis_and_never_shows_the_password(lab):
    sent = widgets.send_view(lab, form())
    assert "sent via submissions (port 465)" in sent.html and 'class="smtp-seq"' in sent.html
    refused = widgets.send_view(lab, form(password="wrong-password"))
    assert "535 5.7.8" in refused.html and "<code>bad-credentials</code>" in refused.html
    assert "[bad-credentials]" in str(refused)
    mistake = widgets.send_view(lab, form(to="nobody"))
    assert "Not sent:" in mistake.html and "&#x27;nobody&#x27; is not an email address" in mistake.html
    for view in (sent, refused, mistake):
        assert ALICE_PASSWORD not in view.html + view.text


def test_doctor_ports_reads_plain_and_stand_in_ports():
    assert widgets.doctor_ports("25, 465 587") == {25: 25, 465: 465, 587: 587}
    assert widgets.doctor_ports("10465=465,10587=587") == {10465: 465, 10587: 587}
    assert widgets.doctor_ports("465=10465") == {10465: 465}  # the lab's order, as the command reads it
    for wrong, why in [("", "at least one port"), ("465x", "'465x' is not a port"), ("70000", "out of range"),
                       ("10465=0", "out of range"), ("10465=465 10465=587", "given already")]:
        with pytest.raises(ValueError, match=why):
            widgets.doctor_ports(wrong)


# --------------------------------------------------------------------------------------------------
# The widgets, clicked


def test_scenario_explorer_offers_titles_and_runs_the_chosen_failure_on_click(lab):
    explorer = widgets.scenario_explorer(lab)
    (choice, button), result = explorer.children[0].children, explorer.children[1]
    assert ("Relaying refused: the server takes mail only for its own domains (port 25)", "relay-denied") in \
        choice.options
    changes = history((button, "disabled"), (result, "value"))
    choice.value = "relay-denied"
    button.click()
    assert changes[:2] == [("disabled", True), ("value", "<p><i>running...</i></p>")]
    assert changes[-1] == ("disabled", False)
    assert "554 5.7.1" in result.value and 'class="smtp-seq"' in result.value
    assert "<code>relay-denied</code>" in result.value


def test_a_widget_whose_work_fails_says_so_and_gives_its_button_back():
    with Lab("submission") as small:  # lacks the endpoints most scenarios need
        explorer = widgets.scenario_explorer(small)
        (choice, button), result = explorer.children[0].children, explorer.children[1]
        choice.value = "relay-denied"
        button.click()
    assert "It failed: ValueError: this lab lacks the endpoints relay, submissions" in result.value
    assert not button.disabled


def test_diagnose_box_explains_pasted_text_on_click():
    box = widgets.diagnose_box()
    text, (port, button), result = box.children[0], box.children[1].children, box.children[2]
    text.value = "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
    port.value = 587
    button.click()
    assert "<code>implicit-tls-to-starttls-port</code>" in result.value and not button.disabled


def test_send_form_fills_in_the_lab_password_and_says_sending_while_it_works(lab):
    panel = widgets.send_form(lab, user=ALICE)
    *fields, button, result = panel.children
    by_label = {field.description: field for field in fields}
    assert by_label["Password:"].value == ALICE_PASSWORD  # a fake lab password, as the README shows
    by_label["User:"].value = BOB
    assert by_label["Password:"].value == USERS[BOB]
    by_label["User:"].value, by_label["From:"].value = ALICE, ALICE
    by_label["Endpoint:"].value = "submission"
    result.value = "the previous result"
    changes = history((button, "disabled"), (result, "value"))
    button.click()
    assert changes[:2] == [("disabled", True), ("value", "<p><i>sending...</i></p>")]  # the old result is gone
    assert changes[-1] == ("disabled", False)
    assert "sent via submission (port 587)" in result.value
    assert ALICE_PASSWORD not in result.value


def test_send_form_says_why_it_did_not_send(lab):
    panel = widgets.send_form(lab, user="someone@example.net")  # not a lab user: no password to fill in
    *fields, button, result = panel.children
    assert {field.description: field for field in fields}["Password:"].value == ""
    button.click()
    assert "Not sent: give both user and password, or neither" in result.value and not button.disabled


def doctor(panel):
    (host, button), ports, bar, lines, report = panel.children[0].children, *panel.children[1:]
    return host, ports, button, bar, lines, report


def test_doctor_panel_fills_in_a_line_per_port_and_the_verdict(lab):
    ports = {lab["submissions"].port: 465, lab["silent"].port: 2525}
    panel = widgets.doctor_panel("127.0.0.1", ports=ports, timeout=0.5, ca_file=lab.ca_file)
    host, port_field, button, bar, lines, report = doctor(panel)
    assert (host.value, bar.value, lines.value, report.value) == ("127.0.0.1", 0, "", "")  # nothing before the click
    assert port_field.value == f"{lab['submissions'].port}=465, {lab['silent'].port}=2525"
    button.click()
    assert button.disabled
    wait_until(lambda: not button.disabled)
    assert bar.value == bar.max == 2
    assert lines.value.count("<div") == 2 and "(as 465): " in lines.value and "(as 2525): " in lines.value
    verdict, whole = report.value.split("<details>")
    assert f"Recommendation: port {lab['submissions'].port} (as 465) with implicit TLS" in verdict
    assert "SMTP doctor for 127.0.0.1" not in verdict
    assert "SMTP doctor for 127.0.0.1" in whole  # the report itself, once, folded


def test_doctor_panel_examines_the_host_and_ports_typed_in(lab):
    panel = widgets.doctor_panel("example.invalid", ports=(25,), timeout=0.5, ca_file=lab.ca_file)
    host, port_field, button, bar, lines, report = doctor(panel)
    host.value, port_field.value = "127.0.0.1", f"{lab['submission'].port}=587"
    button.click()
    wait_until(lambda: not button.disabled)
    assert bar.value == bar.max == 1 and f"port {lab['submission'].port} (as 587): " in lines.value
    assert f"Recommendation: port {lab['submission'].port} (as 587) with STARTTLS" in report.value


@pytest.mark.parametrize(("host", "ports", "options", "said"), [
    ("nothing.invalid", "587", {}, "Not examined: cannot resolve host &#x27;nothing.invalid&#x27;"),  # RFC 2606
    ("127.0.0.1", "587", {"timeout": -1}, "Not examined: timeout -1 should be a number of seconds above 0"),
    ("127.0.0.1", "five", {}, "Not examined: &#x27;five&#x27; is not a port"),
])
def test_doctor_panel_gives_its_button_back_with_a_message_when_it_cannot_start(host, ports, options, said):
    # hostile-clients.md D17: a usage error in the worker left the button disabled for good, silently.
    panel = widgets.doctor_panel(host, ports=(587,), **options)
    host_field, port_field, button, bar, lines, report = doctor(panel)
    port_field.value = ports
    button.click()
    wait_until(lambda: not button.disabled)
    assert said in report.value


# --------------------------------------------------------------------------------------------------
# What a notebook stores, to be seen before anyone runs it


def test_each_widget_says_what_it_is_where_it_cannot_be_drawn(lab):
    made = {
        "Scenario explorer": widgets.scenario_explorer(lab),
        "Diagnose box": widgets.diagnose_box(),
        "Send form": widgets.send_form(lab, user=ALICE),
        "Doctor panel": widgets.doctor_panel("127.0.0.1"),
    }
    for name, widget in made.items():
        data, _ = InteractiveShell.instance().display_formatter.format(widget)
        assert WIDGET_VIEW in data  # drawn live, once the cell runs
        assert data["text/plain"].startswith(f"[{name}: ") and "Run this cell to use it" in data["text/plain"]
        assert "VBox" not in data["text/plain"] + data["text/html"]
        assert "Run this cell to use it" in data["text/html"]
        assert_survives_untrusted(data["text/html"])
