"""ipywidgets front ends for the playbook notebook: the scenario explorer, an error-text box for
diagnose, a send form, and the doctor with live progress.

Each widget is a thin layout around a plain function that does the work and returns a
`helpers.display.View` (HTML for the widget, text for a terminal); those functions are what the tests
call (nbval cannot look inside a widget, and neither should a test have to). Results go into an HTML
widget, not an Output widget, so they can be read back from Python and from a browser. While one
works, its button is disabled and the result says so; whatever happens, the button comes back.

A notebook stores no widget state, so a notebook opened without being run cannot draw its widgets:
each one (a `Panel`) leaves a line there instead that says what it does and to run the cell.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from email.message import EmailMessage

import ipywidgets as w

from helpers import display, doctor, scenarios
from helpers.client import SECURITY_MODES, send
from helpers.diagnose import explain
from helpers.lab import Lab
from helpers.transcript import describe_error

PORT_CHOICES = (("not known", 0), ("25", 25), ("465", 465), ("587", 587), ("2525", 2525))
WIDE = w.Layout(width="95%")


# --------------------------------------------------------------------------------------------------
# The work, as plain functions


def scenario_view(scenario_id: str, lab: Lab) -> display.View:
    """Run one failure scenario against the lab: its code, raw error, diagram, diagnosis and fix."""
    result = scenarios.run(scenario_id, lab)
    return display.View(result.html(), result.text())


def explanation_view(text: str, port: int | None = None) -> display.View:
    """What a pasted error text means: the best catalog entry with its fix, or what to do next."""
    if not text.strip():
        hint = "Paste an error message above: from Python, Go, Node (nodemailer), curl or swaks."
        return display.View(display.notice(hint), hint)
    card = explain(text, port=port)
    return display.View(card.html(), card.text())


def send_view(lab: Lab, fields: Mapping[str, str]) -> display.View:
    """Send one message with the form's fields through helpers.client.send: the result, the
    conversation and, when it failed, the diagnosis. The password is used, never shown."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = fields["sender"], fields["to"], fields["subject"]
    message.set_content(fields["body"] or "\n")
    try:
        result = send(message, lab[fields["endpoint"]], security=fields["security"],
                      user=fields["user"] or None, password=fields["password"] or None,
                      ca_file=lab.ca_file, timeout=5)
    except ValueError as mistake:  # caught before connecting: say what to change
        said = f"Not sent: {mistake}"
        return display.View(display.notice(display.escape(said), colour=display.RED), said)
    if result.ok:
        return display.View(result._repr_html_(), f"{result}\n\n{result.transcript.text()}")
    card = explain(result)
    return display.View(result._repr_html_() + card.html(), f"{result}\n\n{result.transcript.text()}\n\n{card.text()}")


def doctor_ports(text: str) -> dict[int, int]:
    """The doctor panel's ports field: '25, 465, 587' or, for ports that stand in for others (as the
    lab's do), '10465=465'. The same forms as `python -m helpers.doctor --port`."""
    return doctor.parse_ports(filter(None, (part.strip() for part in text.replace(" ", ",").split(","))))


def doctor_line(result: doctor.PortResult) -> str:
    """One line of the doctor's progress, as HTML."""
    look = f"color:{display.GREEN}" if result.works else "opacity:0.7"  # faint, in the theme's own colour
    return f'<div style="font-family:{display.MONOSPACE};{look}">{display.escape(result.summary())}</div>'


def doctor_view(report: doctor.Report) -> display.View:
    """The doctor's verdict, with the whole report (and its code to paste) folded away below it."""
    text = report.text()
    verdict = next((paragraph for paragraph in text.split("\n\n")
                    if paragraph.startswith(("Recommendation", "No working"))), "")
    if not verdict:
        return display.View(f'<pre style="white-space:pre;word-break:normal">{display.escape(text)}</pre>', text)
    first, _, rest = verdict.partition("\n")
    whole = (f'<details><summary>The whole report, with code to paste</summary><pre style="white-space:pre;'
             f'word-break:normal;overflow-x:auto">{display.escape(text)}</pre></details>')
    page = (f'<pre style="margin:6px 0;white-space:pre-wrap;{display.WRAP_AT_SPACES}"><b>{display.escape(first)}</b>'
            f"\n{display.escape(rest)}</pre>{whole}")
    return display.View(page, text)


# --------------------------------------------------------------------------------------------------
# The widgets


class Panel(w.VBox):
    """A VBox that says what it is where it cannot be drawn: in a notebook opened without being run,
    JupyterLab shows the output's HTML instead (it never draws widgets from an untrusted notebook, and
    has no state to draw them from), VS Code and GitHub its HTML or text. Without this, the text would
    be the VBox's repr: `VBox(children=(HBox(...`."""

    def __init__(self, children: list[w.Widget], *, about: str) -> None:
        super().__init__(children)
        self._about = about

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        line = f"{self._about} Run this cell to use it: widgets need the notebook's kernel."
        bundle["text/plain"] = f"[{line}]"
        bundle["text/html"] = (f'<div class="smtp-widget" style="margin:4px 0;padding:6px 10px;border:1px dashed '
                               f'{display.LANE};{display.WRAP_AT_SPACES}">{display.escape(line)}</div>')
        return bundle


@contextlib.contextmanager
def _working(button: w.Button, result: w.HTML, doing: str) -> Iterator[None]:
    """The button off and the old result replaced while the work runs; an error shown, not lost in a log."""
    button.disabled = True
    result.value = f"<p><i>{display.escape(doing)}</i></p>"
    try:
        yield
    except Exception as error:  # a widget's handler has nobody else to tell
        result.value = display.notice(display.escape(f"It failed: {describe_error(error)}"), colour=display.RED)
    finally:
        button.disabled = False


def scenario_explorer(lab: Lab) -> Panel:
    """Pick a failure, press Run, and see it happen against the lab (which needs scenarios.PROFILES)."""
    choice = w.Dropdown(options=[(f"{s.title} (port {s.port})", s.id) for s in scenarios.SCENARIOS],
                        description="Failure:", layout=WIDE)
    button = w.Button(description="Run", button_style="primary", icon="play")
    result = w.HTML()

    def run(_: w.Button) -> None:
        with _working(button, result, "running..."):
            result.value = scenario_view(choice.value, lab).html

    button.on_click(run)
    return Panel([w.HBox([choice, button]), result],
                 about="Scenario explorer: pick one of the kit's failures and watch it happen against the lab.")


def diagnose_box() -> Panel:
    """Paste an error from any client, get the explanation and the fix."""
    text = w.Textarea(placeholder="e.g.  EOF   or   x509: certificate signed by unknown authority",
                      description="Error:", layout=w.Layout(width="95%", height="80px"))
    port = w.Dropdown(options=PORT_CHOICES, description="Port:")
    button = w.Button(description="Explain", button_style="primary", icon="search")
    result = w.HTML()

    def run(_: w.Button) -> None:
        with _working(button, result, "looking it up..."):
            result.value = explanation_view(text.value, port.value or None).html

    button.on_click(run)
    return Panel([text, w.HBox([port, button]), result],
                 about="Diagnose box: paste an error text from any client and get its cause and fix.")


def send_form(lab: Lab, *, user: str = "", sender: str = "", to: str = "bob@example.com") -> Panel:
    """A form that sends one message to a lab endpoint with helpers.client.send. The password of a lab
    user is filled in (they are the lab's fake passwords, listed in the README)."""
    fields = {
        "endpoint": w.Dropdown(options=list(lab.endpoints), description="Endpoint:"),
        "security": w.Dropdown(options=SECURITY_MODES, description="Security:"),
        "user": w.Text(value=user, description="User:"),
        "password": w.Password(value=lab.users.get(user, ""), description="Password:"),
        "sender": w.Text(value=sender or user, description="From:"),
        "to": w.Text(value=to, description="To:"),
        "subject": w.Text(value="Hello from the form", description="Subject:"),
        "body": w.Textarea(value="Hello.\n", description="Body:"),
    }
    button = w.Button(description="Send", button_style="primary", icon="paper-plane")
    result = w.HTML()

    def user_changed(change: dict) -> None:
        if change["new"] in lab.users:
            fields["password"].value = lab.users[change["new"]]

    def run(_: w.Button) -> None:
        with _working(button, result, "sending..."):
            result.value = send_view(lab, {name: field.value for name, field in fields.items()}).html

    fields["user"].observe(user_changed, names="value")
    button.on_click(run)
    return Panel([*fields.values(), button, result],
                 about="Send form: send a test message through one of the lab's endpoints and see the conversation.")


def doctor_panel(host: str, *, ports: Mapping[int, int] | tuple[int, ...] = doctor.DEFAULT_PORTS,
                 **options) -> Panel:
    """Give a host and its ports and press Examine: the doctor runs in the background, with a progress
    bar and a line per port as each finishes, then its verdict (the whole report folded below it).
    `options` go to helpers.doctor.examine (timeout, ca_file...)."""
    named = ports if isinstance(ports, Mapping) else {port: port for port in ports}
    host_field = w.Text(value=host, description="Host:")
    ports_field = w.Text(value=", ".join(str(port) if port == acts_as else f"{port}={acts_as}"
                                         for port, acts_as in named.items()),
                         description="Ports:", layout=WIDE)
    button = w.Button(description="Examine", button_style="primary", icon="stethoscope")
    bar = w.IntProgress(value=0, min=0, max=len(named), description="Done:")
    lines = w.HTML()
    report = w.HTML()
    lock = threading.Lock()

    def port_done(result: doctor.PortResult) -> None:
        with lock:
            bar.value += 1
            lines.value += doctor_line(result)

    def work(chosen_host: str, chosen: dict[int, int]) -> None:
        try:
            report.value = doctor_view(doctor.examine(chosen_host, ports=chosen, on_port_done=port_done,
                                                      **options)).html
        except doctor.BadUsage as mistake:  # found before connecting: an unknown host, a bad timeout
            report.value = display.notice(display.escape(f"Not examined: {mistake}"), colour=display.RED)
        except Exception as error:  # in a thread nobody else would see it
            report.value = display.notice(display.escape(f"The doctor stopped: {describe_error(error)}"),
                                          colour=display.RED)
        finally:
            button.disabled = False

    def start(_: w.Button) -> None:
        bar.value, lines.value, report.value = 0, "", ""
        try:
            chosen = doctor_ports(ports_field.value)
        except ValueError as mistake:
            report.value = display.notice(display.escape(f"Not examined: {mistake}"), colour=display.RED)
            return
        button.disabled, bar.max = True, len(chosen)
        report.value = f"<p><i>examining {display.escape(host_field.value.strip())}...</i></p>"
        threading.Thread(target=work, args=(host_field.value.strip(), chosen), name="doctor", daemon=True).start()

    button.on_click(start)
    return Panel([w.HBox([host_field, button]), ports_field, bar, lines, report],
                 about="Doctor panel: examine a mail host's ports, with a line per port as each one answers.")
