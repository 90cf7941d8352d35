"""`python -m helpers.lab`: how a reader points their own app, in any language, at the lab."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time

import pytest
import trustme
from conftest import ALICE, ALICE_PASSWORD, BOB, CLIENT_TIMEOUT, message

from helpers.profiles import PROFILES

LAB = [sys.executable, "-m", "helpers.lab"]
PROCESS_TIMEOUT = 60  # seconds a lab process may take to start, answer or stop: a hang, not a slow machine, fails
# The same command as started from a terminal, whatever runs the tests (`nohup make test` ignores SIGHUP, and a
# child inherits that): every signal at its default, as in a shell, until the lab takes it.
_FROM_A_TERMINAL = ("import runpy, signal; "
                    "[signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]; ")
LAB_FROM_A_TERMINAL = [sys.executable, "-c", _FROM_A_TERMINAL + "runpy.run_module('helpers.lab', run_name='__main__')"]
# ...and saying when Python has started running code.
LAB_ONCE_PYTHON_RUNS = [sys.executable, "-c", _FROM_A_TERMINAL + "print('python runs', flush=True); "
                        "runpy.run_module('helpers.lab', run_name='__main__')"]


@contextlib.contextmanager
def serving(*args: str, stop_with: int = signal.SIGTERM):
    """Run the lab command; yield the process; interrupt it at the end and check it exited 0."""
    process = subprocess.Popen([*LAB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with process:
        try:
            yield process
        finally:
            process.send_signal(stop_with)
            try:
                process.wait(timeout=PROCESS_TIMEOUT)
            finally:
                process.kill()
        assert process.returncode == 0, process.stderr.read()


def first_line_json(process: subprocess.Popen) -> dict:
    return json.loads(process.stdout.readline())


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_json_all_describes_every_endpoint_and_serves_until_signalled(tmp_path, how):
    ca_file = tmp_path / "lab-ca.pem"
    with serving("--json", "--all", "--ca-file", str(ca_file), stop_with=how) as process:
        lab = first_line_json(process)
        assert lab["ca_file"] == str(ca_file) and lab["domain"] == "example.com"
        assert lab["users"][ALICE] == ALICE_PASSWORD
        assert set(lab["endpoints"]) == set(PROFILES)
        submissions = lab["endpoints"]["submissions"]
        assert (submissions["acts_as"], submissions["tls"], submissions["host"]) == (465, "implicit", "127.0.0.1")
        context = ssl.create_default_context(cafile=lab["ca_file"])
        address = submissions["host"], submissions["port"]
        with smtplib.SMTP_SSL(*address, context=context, timeout=CLIENT_TIMEOUT) as client:
            client.login(ALICE, ALICE_PASSWORD)
            assert client.send_message(message()) == {}


def test_readable_table_without_json():
    with serving() as process:
        lines = [process.stdout.readline() for _ in range(4)]
    assert lines[0].split()[:5] == ["endpoint", "acts", "as", "TLS", "address"]
    assert [line.split()[0] for line in lines[1:]] == ["relay", "submission", "submissions"]
    assert "implicit" in lines[3] and "465" in lines[3]


def test_fixed_ports_by_acts_as_and_by_name():
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    with serving("--json", "--ports", f"587={ports[0]},submissions={ports[1]}") as process:
        lab = first_line_json(process)
    assert lab["endpoints"]["submission"]["port"] == ports[0]
    assert lab["endpoints"]["submissions"]["port"] == ports[1]


def run_failing(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LAB, *args], capture_output=True, text=True, timeout=PROCESS_TIMEOUT)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--ports", "587"], "bad --ports item '587': use ACTS_AS=PORT"),
        (["--ports", "999=1"], "bad --ports item '999=1'"),
        (["--ports", "587=http"], "'http' is not a port number"),
        (["--ports", "587=70000"], "'70000' is not a port number"),
        (["--ports", "25=²"], "'²' is not a port number"),
        (["--ports", "25=2525,25=2526"], "relay already has port 2525"),
        (["--ports", "25=2525,587=2525"], "port 2525 is asked for both relay and submission"),
        (["--all", "--ports", "blackhole=2525,25=2525"], "port 2525 is asked for both"),
        (["--ca-file", "/proc/lab-ca.pem"], "cannot write the CA file /proc/lab-ca.pem"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(args, says):
    result = run_failing(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and says in result.stderr


@pytest.mark.parametrize("folder, problem", [("nonexistent/dir", "does not exist"), ("a-file", "is not a directory")])
def test_a_ca_file_in_no_directory_is_one_clear_line_and_creates_nothing(tmp_path, folder, problem):
    (tmp_path / "a-file").touch()
    ca_file = tmp_path / folder / "ca.pem"
    result = run_failing("--ca-file", str(ca_file))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: cannot write the CA file {ca_file}: its directory {ca_file.parent} {problem}\n"
    assert [path.name for path in tmp_path.iterdir()] == ["a-file"]


def test_a_ca_file_that_is_no_labs_is_one_clear_line_and_left_as_it_was(tmp_path):
    # The doctor's --ca-file reads a CA to trust; the lab's writes one. Given the system's bundle by mistake,
    # the lab must not replace it.
    bundle = tmp_path / "ca-certificates.crt"
    bundle.write_bytes(b"".join(trustme.CA().cert_pem.bytes() for _ in range(3)))
    before = bundle.read_bytes()
    result = run_failing("--ca-file", str(bundle))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"error: will not write over {bundle}: it is no CA file a lab wrote. The lab writes its "
                             "CA there for your client to trust; give a path where no file is yet\n")
    assert bundle.read_bytes() == before


def test_the_readme_command_run_again_writes_its_new_ca_over_its_own_earlier_one(tmp_path):
    ca_file = tmp_path / "lab-ca.pem"
    written = []
    for _ in range(2):
        with serving("--json", "--ca-file", str(ca_file)) as process:
            submissions = first_line_json(process)["endpoints"]["submissions"]
            written.append(ca_file.read_bytes())
            context = ssl.create_default_context(cafile=ca_file)
            with smtplib.SMTP_SSL(submissions["host"], submissions["port"], context=context,
                                  timeout=CLIENT_TIMEOUT) as client:
                client.login(ALICE, ALICE_PASSWORD)
    assert written[0] != written[1]


def test_a_busy_port_is_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_failing("--ports", f"587={port}")
    assert result.returncode == 2
    assert result.stderr == (f"error: cannot listen on 127.0.0.1 port {port} for submission: Address already in use "
                             "(another program holds it, perhaps another lab: a notebook's kernel or python -m "
                             "helpers.lab; stop that one, or choose other ports)\n")


def test_help_names_the_options():
    result = subprocess.run([*LAB, "--help"], capture_output=True, text=True, timeout=PROCESS_TIMEOUT)
    assert result.returncode == 0
    for option in ("--json", "--all", "--ca-file", "--ports"):
        assert option in result.stdout
    assert BOB not in result.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.6])
def test_a_signal_at_any_moment_of_start_up_stops_quietly_and_leaves_no_files(tmp_path, signum, delay):
    # Ctrl-C, kill, or the terminal closing while the lab starts: no traceback, no temporary folder left.
    # The moments are counted from when Python runs code, as `python -m helpers.lab` does once the interpreter
    # is up: a Ctrl-C while CPython itself still starts (on a busy machine that can take longer than 0.05 s)
    # ends it with CPython's own message, before any code of the kit's could run.
    with subprocess.Popen(LAB_ONCE_PYTHON_RUNS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)}) as process:
        try:
            assert process.stdout.readline() == "python runs\n"
            time.sleep(delay)
            process.send_signal(signum)
            _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
        finally:
            process.kill()
    assert stderr == ""
    assert process.returncode in (0, -signum)  # -signum: it came before Python could take it
    assert list(tmp_path.iterdir()) == []


def connected_once_listening(process: subprocess.Popen, port: int) -> smtplib.SMTP:
    """smtplib connected to the lab process's port on loopback, as soon as it listens there."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while True:
        try:
            return smtplib.SMTP("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        except ConnectionRefusedError:
            assert process.poll() is None, f"the lab exited with {process.returncode}: {process.stderr.read()}"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_reader_that_goes_away_leaves_the_lab_serving_quietly_until_ctrl_c():
    # `python -m helpers.lab | head -1`: head exits after its line; the lab's writes after it find no reader.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = subprocess.Popen([*LAB_FROM_A_TERMINAL, "--ports", f"25={port}"], stdout=writer,
                                   stderr=subprocess.PIPE, text=True)
    finally:
        os.close(writer)
    with process:
        try:
            # Served after its table was written (to no reader), and still serving: a whole conversation.
            with connected_once_listening(process, port) as client:
                assert client.noop()[0] == 250
            assert process.poll() is None
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=PROCESS_TIMEOUT) == 0
        finally:
            process.kill()
        assert process.stderr.read() == ""


def test_closing_the_terminal_stops_the_lab_and_removes_its_files(tmp_path):
    process = subprocess.Popen(LAB_FROM_A_TERMINAL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(tmp_path)})
    assert process.stdout.readline().startswith("endpoint")  # serving
    assert [path.name[:14] for path in tmp_path.iterdir()] == ["smtp-port-lab-"]
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=PROCESS_TIMEOUT) == 0
    assert process.stderr.read() == ""
    assert list(tmp_path.iterdir()) == []
    process.stdout.close()
    process.stderr.close()


def test_a_lab_started_with_nohup_outlives_its_terminal_and_stops_on_kill(tmp_path):
    nohup = [sys.executable, "-c", "import runpy, signal; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
             "runpy.run_module('helpers.lab', run_name='__main__')", "--json"]
    with subprocess.Popen(nohup, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)}) as process:
        try:
            relay = first_line_json(process)["endpoints"]["relay"]
            process.send_signal(signal.SIGHUP)  # the terminal closes
            with smtplib.SMTP(relay["host"], relay["port"], timeout=CLIENT_TIMEOUT) as client:
                assert client.noop()[0] == 250  # still serving
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=PROCESS_TIMEOUT) == 0
            assert process.stderr.read() == ""
        finally:
            process.kill()
    assert list(tmp_path.iterdir()) == []
