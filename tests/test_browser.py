"""The notebooks where readers use them: JupyterLab from this project's .venv, in headless Chromium.

nbval proves the kernel side. This proves that JupyterLab opens each notebook, runs it top to bottom
without an error, renders the sequence diagrams, and that the playbook's widgets answer clicks (nbval
cannot look at widgets at all). Screenshots of every notebook go to browser-screenshots/.

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
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOTS = ROOT / "browser-screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STEP_TIMEOUT_MS = 60_000  # any one step: opening JupyterLab, a notebook, running it
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    # This machine has no route to the internet: keep Chromium from trying.
    "--disable-background-networking", "--disable-component-update",
]

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


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab from .venv on a free loopback port, token required, no browser, no news or update checks."""
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                           "checkForUpdates": False}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
        "--LabApp.expose_app_in_browser=True", "--allow-root",
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


def open_and_run(page, jupyterlab, notebook: Path) -> list[dict]:
    """Open the notebook, clear its stored outputs, run every cell, and wait for the kernel to finish.
    Returns, per code cell, its tags and outputs as JupyterLab holds them."""
    url, token = jupyterlab
    page.goto(f"{url}/lab/tree/{notebook.name}?token={token}&reset")  # reset: no tabs from an earlier test
    page.wait_for_function(f"window.jupyterapp && {NOTEBOOK} && {NOTEBOOK}.sessionContext?.session?.kernel"
                           f" && {NOTEBOOK}.sessionContext.session.kernel.status === 'idle'")
    page.evaluate("window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(f"{CODE_CELLS}.every(c => c.model.outputs.length === 0)")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"{CODE_CELLS}.every(c => c.model.executionCount !== null)"
                           f" && {NOTEBOOK}.sessionContext.session.kernel.status === 'idle'")
    return page.evaluate(f"{CODE_CELLS}.map(c => ({{tags: c.model.getMetadata('tags') || [],"
                         " outputs: c.model.outputs.toJSON()}))")


def stored_diagrams(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    return sum("smtp-seq" in "".join(o.get("data", {}).get("text/html", "")) for o in outputs)


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
        print(f"\n  screenshot: {path.relative_to(ROOT)}")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_jupyterlab_and_renders_its_diagrams(page, jupyterlab, notebook, capsys):
    cells = open_and_run(page, jupyterlab, notebook)
    errors = [
        (cell["tags"], output.get("ename") or "".join(output.get("text", ""))[:200])
        for cell in cells
        for output in cell["outputs"]
        if output["output_type"] == "error" or output.get("name") == "stderr"
    ]
    assert [e for e in errors if "raises-exception" not in e[0]] == []
    rendered = page.evaluate(f"{NOTEBOOK}.node.querySelectorAll('.smtp-seq .row.head').length")
    assert rendered == stored_diagrams(notebook)
    screenshot(page, notebook.stem, capsys)


def test_playbook_widgets_answer_clicks_in_jupyterlab(page, jupyterlab, capsys):
    open_and_run(page, jupyterlab, ROOT / "notebooks" / "06_troubleshooting_playbook.ipynb")
    widget = ".jp-OutputArea-output .widget-vbox"

    explorer = page.locator(widget).filter(has=page.locator("option", has_text="relay-denied (port 25)"))
    explorer.locator("select").select_option(label="relay-denied (port 25)")
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

    doctor = page.locator(widget).filter(has=page.locator("button", has_text="Examine 127.0.0.1"))
    doctor.locator("button", has_text="Examine").click()
    doctor.locator("pre", has_text="Recommendation: port 465 with implicit TLS").wait_for()
    screenshot(page, "06-doctor", capsys, element=doctor)
