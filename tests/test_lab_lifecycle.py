"""Starting and stopping the lab, failing to start it, and stopping it with clients connected leave nothing behind.

(200 start/stop cycles are in test_reliability.)
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import CLIENT_TIMEOUT, connect

from helpers.lab import Lab, LabError


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def temporary_folders() -> list[str]:
    return [name for name in os.listdir(tempfile.gettempdir()) if name.startswith("smtp-port-lab-")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_two_profiles_on_one_port() -> None:
    port = free_port()
    Lab(ports={"relay": port, "submission": port}).start()


def start_on_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        Lab(ports={"submission": busy.getsockname()[1]}).start()


def start_with_an_unwritable_ca_file() -> None:
    Lab(ca_file="/proc/lab-ca.pem").start()


@pytest.mark.parametrize(
    "start, says",
    [(start_two_profiles_on_one_port, "is asked for both relay and submission"),
     (start_on_a_busy_port, "Address already in use"),
     (start_with_an_unwritable_ca_file, "cannot write the CA file /proc/lab-ca.pem")],
    ids=["two-profiles-one-port", "busy-port", "unwritable-ca-file"],
)
def test_a_failed_start_raises_lab_error_and_leaves_nothing_behind(start, says, tmp_path, monkeypatch):
    # A temporary folder of our own: other test runs on the machine make and remove labs' folders in /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    Lab().start().stop()  # warm up imports and caches
    mail_log = logging.getLogger("mail.log")
    before = (threading.active_count(), open_fds(), temporary_folders(), list(mail_log.handlers), mail_log.propagate)
    for _ in range(5):
        with pytest.raises(LabError, match=says):
            start()
    after = (threading.active_count(), open_fds(), temporary_folders(), list(mail_log.handlers), mail_log.propagate)
    assert after == before
    with Lab() as lab, connect(lab, "relay", secure=False) as client:  # and the next lab starts as usual
        assert client.noop()[0] == 250


def test_stop_closes_connections_that_are_still_open():
    lab = Lab("submission", "silent").start()
    fds = open_fds()
    idle = connect(lab, "submission")
    silent = socket.create_connection(lab["silent"].address, timeout=CLIENT_TIMEOUT)
    lab.stop()
    with pytest.raises(smtplib.SMTPServerDisconnected):  # its server side is gone
        idle.noop()
    assert silent.recv(1) == b""
    idle.close()
    silent.close()
    assert open_fds() <= fds
    assert lab.events.settle(timeout=0)  # every connection was logged as closed


def test_notebook_06_starts_beside_itself_in_a_second_kernel(tmp_path, monkeypatch):
    """Notebook 06 fixes its lab's ports so that its printed commands stay the same; opened in a second kernel
    while the first still runs, it takes free ports and a CA file of its own, and its doctor cell follows."""
    path = Path(__file__).parent.parent / "notebooks" / "06_troubleshooting_playbook.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    start = next(source for source in code if "start_lab(" in source)
    doctor = next(source for source in code if "examine(" in source)
    monkeypatch.chdir(tmp_path)
    with Lab("submissions", ports={"submissions": 30465}):  # the first kernel's lab holds a port of the notebook's
        second: dict = {}
        exec(start, second)
        try:
            ports = {endpoint.port for endpoint in second["lab"].endpoints.values()}
            assert not ports & set(second["fixed"].values())
            assert second["lab"].ca_file.name == "lab-ca.pem" and second["lab"].ca_file.parent != tmp_path
            exec(doctor, second)
            assert f"{second['lab']['submissions'].port} (as 465)" in second["report"].text()
            assert second["report"].recommendation is not None
        finally:
            second["lab"].stop()
