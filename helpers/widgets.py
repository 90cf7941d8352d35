"""ipywidgets front ends for the playbook notebook: the scenario explorer, a send form, an error-text box
for diagnose, and the doctor with live progress.

Each widget is a thin layout around a plain function that does the work and returns HTML; the functions
are what the tests call (nbval cannot look inside a widget, and neither should a test have to). Results
go into an HTML widget, not an Output widget, so they can be read back from Python and from a browser.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Mapping

import ipywidgets as w

from helpers import doctor, scenarios
from helpers.client import SECURITY_MODES, send
from helpers.diagnose import explain
from helpers.lab import Lab

PORT_CHOICES = (("not known", 0), ("25", 25), ("465", 465), ("587", 587), ("2525", 2525))
WIDE = w.Layout(width="95%")


# --------------------------------------------------------------------------------------------------
# The work, as plain functions


def scenario_view(scenario_id: str, lab: Lab) -> str:
    """Run one failure scenario against the lab: its code, raw error, diagram, diagnosis and fix, as HTML."""
    return scenarios.run(scenario_id, lab).html()


def explanation_view(text: str, port: int | None = None) -> str:
    """What a pasted error text means, as HTML: the best catalog entry with its fix, or a hint."""
    if not text.strip():
        return "<p>Paste an error message above: from Python, Go, Node (nodemailer), curl or swaks.</p>"
    return explain(text, port=port).html()


def send_view(lab: Lab, fields: Mapping[str, str]) -> str:
    """Send one message with the form's fields through helpers.client.send; the result (and, when it
    failed, the diagnosis) as HTML. The password is used, never shown."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = fields["sender"], fields["to"], fields["subject"]
    message.set_content(fields["body"] or "\n")
    try:
        result = send(message, lab[fields["endpoint"]], security=fields["security"],
                      user=fields["user"] or None, password=fields["password"] or None,
                      ca_file=lab.ca_file, timeout=5)
    except ValueError as mistake:  # caught before connecting: say what to change
        return f'<p style="color:#a61b1b"><b>Not sent:</b> {html.escape(str(mistake))}</p>'
    return result._repr_html_() + ("" if result.ok else explain(result).html())


def doctor_line(result: doctor.PortResult) -> str:
    """One line of the doctor's progress, as HTML."""
    colour = "#1e7b34" if result.works else "#555555"
    return f'<div style="font-family:monospace;color:{colour}">{html.escape(result.summary())}</div>'


# --------------------------------------------------------------------------------------------------
# The widgets


def scenario_explorer(lab: Lab) -> w.VBox:
    """Pick a failure, press Run, and see it happen against the lab (which needs scenarios.PROFILES)."""
    choice = w.Dropdown(options=[(f"{s.id} (port {s.port})", s.id) for s in scenarios.SCENARIOS],
                        description="Failure:", layout=WIDE)
    button = w.Button(description="Run", button_style="primary", icon="play")
    result = w.HTML()

    def run(_: w.Button) -> None:
        result.value = "<p><i>running...</i></p>"
        result.value = scenario_view(choice.value, lab)

    button.on_click(run)
    return w.VBox([w.HBox([choice, button]), result])


def diagnose_box() -> w.VBox:
    """Paste an error from any client, get the explanation and the fix."""
    text = w.Textarea(placeholder="e.g.  EOF   or   x509: certificate signed by unknown authority",
                      description="Error:", layout=w.Layout(width="95%", height="80px"))
    port = w.Dropdown(options=PORT_CHOICES, description="Port:")
    button = w.Button(description="Explain", button_style="primary", icon="search")
    result = w.HTML()

    def run(_: w.Button) -> None:
        result.value = explanation_view(text.value, port.value or None)

    button.on_click(run)
    return w.VBox([text, w.HBox([port, button]), result])


def send_form(lab: Lab, *, user: str = "", sender: str = "", to: str = "bob@example.com") -> w.VBox:
    """A form that sends one message to a lab endpoint with helpers.client.send."""
    fields = {
        "endpoint": w.Dropdown(options=list(lab.endpoints), description="Endpoint:"),
        "security": w.Dropdown(options=SECURITY_MODES, description="Security:"),
        "user": w.Text(value=user, description="User:"),
        "password": w.Password(description="Password:"),
        "sender": w.Text(value=sender or user, description="From:"),
        "to": w.Text(value=to, description="To:"),
        "subject": w.Text(value="Hello from the form", description="Subject:"),
        "body": w.Textarea(value="Hello.\n", description="Body:"),
    }
    button = w.Button(description="Send", button_style="primary", icon="paper-plane")
    result = w.HTML()

    def run(_: w.Button) -> None:
        result.value = send_view(lab, {name: field.value for name, field in fields.items()})

    button.on_click(run)
    return w.VBox([*fields.values(), button, result])


def doctor_panel(host: str, *, ports: Mapping[int, int] | tuple[int, ...] = doctor.DEFAULT_PORTS,
                 **options) -> w.VBox:
    """Press Examine to run the doctor on `host` in the background, with a progress bar and a line per port
    as each finishes, then the whole report. `options` go to helpers.doctor.examine (timeout, ca_file...)."""
    button = w.Button(description=f"Examine {host}", button_style="primary", icon="stethoscope",
                      layout=w.Layout(width="auto"))
    bar = w.IntProgress(value=0, min=0, max=len(ports), description="Ports:")
    lines = w.HTML()
    report = w.HTML()
    lock = threading.Lock()

    def port_done(result: doctor.PortResult) -> None:
        with lock:
            bar.value += 1
            lines.value += doctor_line(result)

    def work() -> None:
        done = doctor.examine(host, ports=ports, on_port_done=port_done, **options)
        report.value = f"<pre>{html.escape(done.text())}</pre>"
        button.disabled = False

    def start(_: w.Button) -> None:
        button.disabled = True
        bar.value, lines.value, report.value = 0, "", ""
        threading.Thread(target=work, name="doctor", daemon=True).start()

    button.on_click(start)
    return w.VBox([button, bar, lines, report])
