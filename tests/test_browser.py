"""The notebooks where readers use them: JupyterLab from this project's .venv, in headless Chromium.

nbval proves the kernel side. This proves what a reader sees:

- first, a notebook as it is committed, opened WITHOUT running it, as a reader who has just cloned the
  repository sees it: untrusted, so JupyterLab sanitizes its stored HTML (no <style>, no widget state).
  Every sequence diagram must still read as a conversation, every diagnosis card as prose, every widget
  must say what it is instead of `VBox(children=(...`;
- then each notebook run top to bottom without an error, and the same checks on its fresh outputs;
- and the playbook's widgets answering clicks (nbval cannot look at widgets at all).

Screenshots go to browser-screenshots/: first-open-NN_name.png as committed, NN_name.png after running.
To check notebooks re-executed elsewhere (the committed outputs lag behind the code until someone
re-executes them), point BROWSER_TEST_NOTEBOOKS at their folder.

It drives Debian's Chromium (/usr/bin/chromium) through Playwright; Playwright's own browser download
is not used. Without Chromium the tests are skipped with the command that installs it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = Path(os.environ.get("BROWSER_TEST_NOTEBOOKS") or ROOT / "notebooks").resolve()
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SCREENSHOTS = ROOT / "browser-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STEP_TIMEOUT_MS = 60_000  # any one step: opening JupyterLab, a notebook, running it
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    # This machine has no route to the internet: keep Chromium from trying.
    "--disable-background-networking", "--disable-component-update",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MARKS = ("<~*", "<**", " ->", " ~>", "<- ", "<~ ", "===", "***")  # helpers.transcript's, swaks style
REFUSAL_RED = "rgb(166, 27, 27)"  # helpers.display.RED

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Chromium is not installed: sudo apt-get install chromium (then run make browser-test)"),
]

NOTEBOOK = "window.jupyterapp.shell.currentWidget"
CODE_CELLS = f"{NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code')"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings(home: Path, plugin: str, values: dict) -> None:
    package, name = plugin.split(":")
    folder = home / "settings" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab from .venv on a free loopback port, token required, no browser, no news or update checks,
    and nothing trusted: its trust database is in memory, so every notebook opens as a reader's clone does."""
    home = tmp_path_factory.mktemp("jupyter")
    settings(home, "@jupyterlab/apputils-extension:notification", {"fetchNews": "false", "checkForUpdates": False})
    # Every cell in the page, not only those in view, so that every output can be checked.
    settings(home, "@jupyterlab/notebook-extension:tracker", {"windowingMode": "none"})
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={NOTEBOOK_DIR}",
        "--LabApp.expose_app_in_browser=True", "--NotebookNotary.db_file=:memory:", "--allow-root",
    ]
    log = (home / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"JupyterLab did not start; see {log.name}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    yield page
    page.close()


def cells_as_held(page) -> list[dict]:
    """Per code cell, its tags and outputs as JupyterLab holds them."""
    return page.evaluate(f"{CODE_CELLS}.map(c => ({{tags: c.model.getMetadata('tags') || [],"
                         " outputs: c.model.outputs.toJSON()}))")


def joined(outputs: list[dict]) -> list[dict]:
    """Outputs as JupyterLab holds them: multi-line strings (a file stores lists of lines) as one string,
    and a stream's consecutive pieces as one output."""
    def join(value):
        if isinstance(value, dict):
            return {key: join(item) for key, item in value.items()}
        return "".join(value) if isinstance(value, list) and all(isinstance(i, str) for i in value) else value

    merged: list[dict] = []
    for output in map(join, outputs):
        if merged and output.get("name") and output.get("name") == merged[-1].get("name"):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + output["text"]}
        else:
            merged.append(output)
    return merged


def open_notebook(page, jupyterlab, notebook: Path) -> None:
    """Open the notebook and wait until every cell and every stored output is on the page."""
    url, token = jupyterlab
    cells = len(json.loads(notebook.read_text())["cells"])
    page.goto(f"{url}/lab/tree/{notebook.name}?token={token}&reset")  # reset: no tabs from an earlier test
    page.wait_for_function(f"window.jupyterapp && {NOTEBOOK}?.content?.widgets?.length === {cells}"
                           f" && {CODE_CELLS}.every(c => c.outputArea.widgets.length === c.model.outputs.length)")


def open_and_run(page, jupyterlab, notebook: Path) -> list[dict]:
    """Open the notebook, clear its stored outputs, run every cell in a fresh kernel (as Restart Kernel
    and Run All does: a test before may have run it already), and wait for the kernel to finish."""
    open_notebook(page, jupyterlab, notebook)
    # A kernel's status can miss the one message that says it is idle again (seen after a restart on a
    # busy machine); asking for its info makes it report again.
    idle = (f"(() => {{ const kernel = {NOTEBOOK}.sessionContext?.session?.kernel;"
            " if (kernel && kernel.status !== 'idle' && kernel.connectionStatus === 'connected')"
            " kernel.requestKernelInfo().catch(() => null);"
            " return kernel?.status === 'idle'; })()")
    page.wait_for_function(idle, polling=1000)
    page.evaluate(f"{NOTEBOOK}.sessionContext.session.kernel.restart()")
    page.wait_for_function(idle, polling=1000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(f"{CODE_CELLS}.every(c => c.model.outputs.length === 0)")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Run All stops at a cell that raises: then the test reports that cell's error.
    page.wait_for_function(f"({CODE_CELLS}.every(c => c.model.executionCount !== null)"
                           # an error stops the wait, unless its cell is tagged to raise on purpose
                           f" || {CODE_CELLS}.some(c => !(c.model.getMetadata('tags') || [])"
                           f".includes('raises-exception') && c.model.outputs.toJSON()"
                           f".some(o => o.output_type === 'error')))"
                           f" && {NOTEBOOK}.sessionContext.session.kernel.status === 'idle'")
    return cells_as_held(page)


def screenshot(page, name: str, capsys, *, element=None) -> None:
    """The whole notebook (the viewport grown to its height), or just one element of it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if element is None:
        height = page.evaluate(f"{NOTEBOOK}.content.node.querySelector('.jp-WindowedPanel-outer').scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(max(height + 200, 1000), 16_000)})
        page.screenshot(path=str(path))
    else:
        height = element.bounding_box()["height"]
        page.set_viewport_size({"width": 1400, "height": min(max(int(height) + 400, 1000), 16_000)})
        element.screenshot(path=str(path))
    with capsys.disabled():
        print(f"\n  screenshot: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


# --------------------------------------------------------------------------------------------------
# What "reads right" means, checked on the page


def conversation_lines(text: str) -> list[str]:
    """The lines a transcript's text form carries (`<- 250 ...`), without their marks: each must be a
    line of its own in the rendered diagram, or the diagram has collapsed what the server said."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line[:3] in MARKS and line[:3] not in ("===", "***") and line[3:].strip():
            lines.append(line[3:].strip())
    return lines


READ_DIAGRAMS = """outputs => outputs.map(o => [...o.querySelectorAll('.smtp-seq')].map(d => {
  const rows = [...d.querySelectorAll('.smtp-row')];
  const middle = r => r.children[1].getBoundingClientRect();
  const tips = side => [...d.querySelectorAll(`.smtp-row.${side}`)].map(r => {
    const tip = r.querySelector('.smtp-tip'), box = middle(r);
    if (!tip) return 'none';
    const at = tip.getBoundingClientRect();
    return at.width < 5 ? 'invisible' : at.left > box.left + box.width / 2 ? 'right' : 'left';
  });
  const lifelines = rows.filter(r => !r.classList.contains('smtp-head'))
                        .map(r => getComputedStyle(r.children[0]).borderRightWidth);
  return {
    grid: rows.every(r => getComputedStyle(r).display === 'grid'),
    lifelines: [...new Set(lifelines)],
    sent: tips('sent'), received: tips('received'),
    lines: d.innerText.split('\\n').map(l => l.trim()).filter(Boolean),
    tls: [...d.querySelectorAll('.smtp-row.tls')].map(r => getComputedStyle(r.children[1]).backgroundColor),
    refused: [...d.querySelectorAll('.smtp-row.refused .smtp-text')].map(t => getComputedStyle(t).color),
  };
}))"""

READ_CARDS = """() => [...document.querySelectorAll('.jp-OutputArea-output .smtp-diagnosis')].map(card => ({
  text: card.innerText,
  edge: getComputedStyle(card).borderLeftWidth,
  full: card.querySelector('.smtp-code') !== null,
  id: (card.querySelector('p code') || {}).innerText,
  code: [...card.querySelectorAll('.smtp-code')].map(c => getComputedStyle(c))
                                                 .map(style => [style.wordBreak, style.whiteSpace]),
}))"""


def problems_reading(page, cells: list[dict]) -> list[str]:
    """Everything that does not read right in the notebook on the page, given its cells' outputs."""
    problems = []
    outputs = [output for cell in cells for output in cell["outputs"]]
    nodes = page.locator(".jp-OutputArea-output")
    diagrams_stored = [o for o in outputs if "smtp-seq" in "".join(o.get("data", {}).get("text/html", ""))]
    rendered = page.evaluate(READ_DIAGRAMS, [node for node in nodes.element_handles()
                                             if node.evaluate("n => n.querySelector('.smtp-seq') !== null")])
    if len(rendered) != len(diagrams_stored):
        problems.append(f"{len(diagrams_stored)} outputs hold diagrams, {len(rendered)} show any")
    for number, (output, diagrams) in enumerate(zip(diagrams_stored, rendered, strict=False), 1):
        where = f"diagram output {number}"
        for d in diagrams:
            if not d["grid"] or d["lifelines"] != ["2px"]:
                problems.append(f"{where}: no lanes (grid {d['grid']}, lifelines {d['lifelines']})")
            if set(d["sent"]) - {"right"} or set(d["received"]) - {"left"}:
                problems.append(f"{where}: arrows do not tell sent from received: {d['sent']} / {d['received']}")
            if "rgba(0, 0, 0, 0)" in d["tls"]:
                problems.append(f"{where}: a row inside TLS is not tinted")
            if set(d["refused"]) - {REFUSAL_RED}:
                problems.append(f"{where}: a refusal is not red: {d['refused']}")
        shown = [line for d in diagrams for line in d["lines"]]
        text = "".join(output["data"].get("text/plain", ""))
        missing = [line for line in conversation_lines(text) if line not in shown]
        if missing:
            problems.append(f"{where}: lines run together or missing, first {missing[0]!r}")
    full_cards = {}
    for card in page.evaluate(READ_CARDS):
        if "`" in card["text"]:
            problems.append(f"card {card['id']}: a stray backtick")
        if card["edge"] != "4px":
            problems.append(f"card {card['id']}: unstyled")
        if any(code != ["normal", "pre"] for code in card["code"]):
            problems.append(f"card {card['id']}: code wraps mid-word: {card['code']}")
        if card["full"]:
            full_cards[card["id"]] = full_cards.get(card["id"], 0) + 1
    problems += [f"card {id} shown in full {count} times (brief=True after the first)"
                 for id, count in full_cards.items() if count > 1]
    widgets = sum(WIDGET_VIEW in o.get("data", {}) for o in outputs)
    placeholders = page.locator(".jp-OutputArea-output .smtp-widget", has_text="Run this cell to use it").count()
    live = page.locator(".jp-OutputArea-output .widget-vbox").count()
    if placeholders + live != widgets:
        problems.append(f"{widgets} widgets, {placeholders} say what they are, {live} are drawn")
    if page.locator(".jp-OutputArea-output", has_text="VBox(children=").count():
        problems.append("a widget shows as VBox(children=...)")
    return problems


# --------------------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_reads_right_when_first_opened_unrun_and_untrusted(page, jupyterlab, notebook, capsys):
    open_notebook(page, jupyterlab, notebook)
    assert page.evaluate(f"{CODE_CELLS}.filter(c => c.model.outputs.length).some(c => c.model.trusted)") is False
    cells = cells_as_held(page)
    stored = [c["outputs"] for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    assert [joined(cell["outputs"]) for cell in cells] == [joined(outputs) for outputs in stored]  # nothing ran
    screenshot(page, f"first-open-{notebook.stem}", capsys)
    problems = problems_reading(page, cells)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_jupyterlab_and_reads_right(page, jupyterlab, notebook, capsys):
    cells = open_and_run(page, jupyterlab, notebook)
    errors = [
        (cell["tags"], output.get("ename") or "".join(output.get("text", ""))[:200])
        for cell in cells
        for output in cell["outputs"]
        if output["output_type"] == "error" or output.get("name") == "stderr"
    ]
    assert [e for e in errors if "raises-exception" not in e[0]] == []
    screenshot(page, notebook.stem, capsys)
    problems = problems_reading(page, cells)
    assert not problems, "\n".join(problems)


def test_playbook_widgets_answer_clicks_in_jupyterlab(page, jupyterlab, capsys):
    open_and_run(page, jupyterlab, NOTEBOOK_DIR / "06_troubleshooting_playbook.ipynb")
    widget = ".jp-OutputArea-output .widget-vbox"
    relay = "Relaying refused: the server takes mail only for its own domains (port 25)"

    explorer = page.locator(widget).filter(has=page.locator("option", has_text=relay))
    explorer.locator("select").select_option(label=relay)
    explorer.locator("button", has_text="Run").click()
    explorer.locator(".smtp-diagnosis", has_text="relay-denied").wait_for()
    assert explorer.locator(".smtp-seq").count() >= 1
    assert "554 5.7.1" in explorer.locator(".smtp-seq").first.inner_text()
    screenshot(page, "06-scenario-explorer", capsys, element=explorer)

    box = page.locator(widget).filter(has=page.locator("textarea[placeholder*='x509']"))
    box.locator("textarea").fill("x509: certificate signed by unknown authority")
    box.locator("button", has_text="Explain").click()
    box.locator(".smtp-diagnosis", has_text="cert-untrusted").wait_for()
    screenshot(page, "06-diagnose-box", capsys, element=box)

    form = page.locator(widget).filter(has=page.locator("button", has_text="Send"))
    send = form.locator("button", has_text="Send")
    send.click()  # the defaults: alice, her lab password filled in, port 465
    form.get_by_text("sent via submissions (port 465)").wait_for()
    form.locator("select").first.select_option("blackhole")  # a filtered port: the send waits out its timeout
    send.click()
    form.get_by_text("sending...").wait_for()
    assert send.is_disabled() and form.get_by_text("sent via submissions").count() == 0  # the old result went
    form.locator(".smtp-diagnosis", has_text="egress-port-blocked").wait_for()
    assert send.is_enabled()
    screenshot(page, "06-send-form", capsys, element=form)

    doctor = page.locator(widget).filter(has=page.locator("button", has_text="Examine"))
    doctor.locator("button", has_text="Examine").click()
    doctor.locator("pre", has_text="(as 465) with implicit TLS").first.wait_for()
    assert doctor.locator("details pre", has_text="SMTP doctor for 127.0.0.1").count() == 1  # folded, once
    screenshot(page, "06-doctor", capsys, element=doctor)
    doctor.locator("input[type='text']").first.fill("nothing.invalid")  # RFC 2606: never resolves
    doctor.locator("button", has_text="Examine").click()
    doctor.get_by_text("Not examined: cannot resolve host 'nothing.invalid'").wait_for()
    assert doctor.locator("button", has_text="Examine").is_enabled()
    screenshot(page, "06-doctor-unknown-host", capsys, element=doctor)
