"""`make bench`: the kit's code against the bare library it wraps, measured side by side in one run.

Each comparison alternates the two sides round by round (so a busy moment hurts both alike) and reports
medians and their ratio. Client comparisons talk to a lab served by another process (`python -m
helpers.lab`), as a reader's app would: in one process the client and the server share one interpreter
lock, and every microsecond of client work would also delay the server. Nothing here is a test:
wall-clock numbers depend on the machine, so no test asserts on them; the README records a run and the
machine it ran on.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from helpers import doctor, scenarios
from helpers.client import EHLO_NAME, send
from helpers.lab import Endpoint, Lab
from helpers.profiles import PROFILES, USERS
from helpers.transcript import RecordingSMTP_SSL

ALICE = "alice@example.com"
ROUNDS = 15
MESSAGES_PER_CONNECTION = 100
THROUGHPUT_MESSAGES = 300
MESSAGE_BYTES = 10_000_000  # the "10 MB message" of the memory row, under the lab's 10,240,000-byte limit


def message(to: str = "bob@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ALICE, to, "benchmark"
    msg.set_content("x" * 2000)
    return msg


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def compare(ours: Callable[[], float], bare: Callable[[], float], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median seconds of each side; each callable runs one round and returns the seconds it measured."""
    ours_times, bare_times = [], []
    for _ in range(rounds):
        ours_times.append(ours())
        bare_times.append(bare())
    return statistics.median(ours_times), statistics.median(bare_times)


# -- the comparisons ------------------------------------------------------------------------------


def lab_start() -> tuple[float, float]:
    """Lab with every endpoint and certificate vs a bare aiosmtpd Controller with one trustme TLS listener."""

    def ours() -> float:
        lab = Lab(*PROFILES)
        seconds = timed(lab.start)
        lab.stop()
        return seconds

    def bare() -> float:
        def start() -> Controller:
            ca = trustme.CA()
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            controller = Controller(Sink(), hostname="127.0.0.1", port=free_port(), ssl_context=context,
                                    server_hostname="127.0.0.1")
            controller.start()
            return controller

        started = time.perf_counter()
        controller = start()
        seconds = time.perf_counter() - started
        controller.stop()
        return seconds

    return compare(ours, bare)


@contextlib.contextmanager
def served_lab() -> Iterator[tuple[dict[str, Endpoint], ssl.SSLContext, int]]:
    """The standard lab in its own process: its endpoints, a context trusting its CA, and its process id."""
    with subprocess.Popen([sys.executable, "-m", "helpers.lab", "--json"], stdout=subprocess.PIPE, text=True) as lab:
        try:
            described = json.loads(lab.stdout.readline())
            endpoints = {name: Endpoint(name, e["host"], e["port"], e["acts_as"], e["tls"], "")
                         for name, e in described["endpoints"].items()}
            yield endpoints, ssl.create_default_context(cafile=described["ca_file"]), lab.pid
        finally:
            lab.terminate()


def send_per_connection(endpoints: dict[str, Endpoint], context: ssl.SSLContext) -> tuple[float, float]:
    """send() (validation, recording, result) vs bare smtplib, one TLS connection per message on 465."""
    endpoint = endpoints["submissions"]
    msg = message()

    def ours() -> float:
        return timed(lambda: send(msg, endpoint, user=ALICE, password=USERS[ALICE], context=context).check())

    def bare() -> float:
        def once() -> None:
            with smtplib.SMTP_SSL(*endpoint.address, context=context, local_hostname=EHLO_NAME) as smtp:
                smtp.login(ALICE, USERS[ALICE])
                smtp.send_message(msg)

        return timed(once)

    return compare(ours, bare, rounds=ROUNDS * 4)


def send_on_one_connection(endpoints: dict[str, Endpoint], context: ssl.SSLContext) -> tuple[float, float]:
    """The transcript recorder vs bare smtplib: many messages on one connection, per message."""
    endpoint = endpoints["submissions"]
    msg = message()

    def run(client_class) -> float:
        with client_class(*endpoint.address, context=context, local_hostname=EHLO_NAME) as smtp:
            smtp.login(ALICE, USERS[ALICE])
            seconds = timed(lambda: [smtp.send_message(msg) for _ in range(MESSAGES_PER_CONNECTION)])
        return seconds / MESSAGES_PER_CONNECTION

    return compare(lambda: run(RecordingSMTP_SSL), lambda: run(smtplib.SMTP_SSL))


def memory_of(pid: int, field: str) -> int:
    """Bytes a process holds now (VmRSS) or at most since its peak was reset (VmHWM), from Linux's /proc."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field + ":"))


def data_memory(endpoints: dict[str, Endpoint], pid: int) -> tuple[float, float]:
    """Peak memory the lab process adds while it receives a message of MESSAGE_BYTES, the worst of three shapes
    (aiosmtpd alone keeps an object per line), against the message's size."""
    peaks = []
    for line in (b"\r\n", b"x" * 998 + b"\r\n", b"x" * MESSAGE_BYTES):
        content = b"Subject: big\r\n\r\n" + line * (MESSAGE_BYTES // len(line)) + b"\r\n.\r\n"
        with socket.create_connection(endpoints["relay"].address, timeout=60) as sock:
            reader = sock.makefile("rb")
            sock.sendall(b"EHLO bench.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
            while not reader.readline().startswith(b"354"):
                pass
            before = memory_of(pid, "VmRSS")
            with open(f"/proc/{pid}/clear_refs", "w") as reset:
                reset.write("5")  # VmHWM starts again from VmRSS
            sock.sendall(content)
            assert reader.readline().startswith(b"250"), "the lab refused the message"
            peaks.append(memory_of(pid, "VmHWM") - before)
    return max(peaks), MESSAGE_BYTES


def throughput() -> tuple[float, float]:
    """Messages per second into the lab's relay vs into a bare aiosmtpd Sink, both in this process, same
    plain smtplib client."""
    lab = Lab("relay").start()
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, server_hostname="127.0.0.1")
    controller.start()
    msg = message(to=ALICE)

    def run(address: tuple[str, int]) -> float:
        with smtplib.SMTP(*address, local_hostname=EHLO_NAME) as smtp:
            seconds = timed(lambda: [smtp.send_message(msg) for _ in range(THROUGHPUT_MESSAGES)])
        return THROUGHPUT_MESSAGES / seconds

    try:
        return compare(lambda: run(lab["relay"].address), lambda: run(("127.0.0.1", port)), rounds=7)
    finally:
        controller.stop()
        lab.stop()


def scenario_times() -> tuple[float, float, list[tuple[str, float]]]:
    """The whole catalog of scenarios on one fresh lab: total seconds, median seconds, the slowest."""
    with Lab(*scenarios.PROFILES) as lab:
        started = time.perf_counter()
        results = scenarios.run_all(lab)
        total = time.perf_counter() - started
    times = sorted(((r.scenario.id, r.seconds) for r in results), key=lambda pair: -pair[1])
    return total, statistics.median(seconds for _, seconds in times), times


def doctor_with_a_silent_port(timeout: float = 1.0) -> tuple[float, float]:
    """The doctor over four ports, one of them silent, against the timeout it was given."""
    with Lab("relay", "submission", "submissions", "silent") as lab:
        ports = {lab["relay"].port: 25, lab["submissions"].port: 465, lab["submission"].port: 587,
                 lab["silent"].port: 2525}
        seconds = timed(lambda: doctor.examine("127.0.0.1", ports=ports, timeout=timeout, ca_file=lab.ca_file))
    return seconds, timeout


# -- report ---------------------------------------------------------------------------------------


def machine() -> str:
    with open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "unknown CPU")
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}")


def row(what: str, ours: float, bare: float, unit: str, target: str) -> str:
    scale = {"ms": 1000, "MiB": 1 / (1 << 20)}.get(unit, 1)
    return f"{what:<62} {ours * scale:>9.2f} {unit:<5} {bare * scale:>9.2f} {unit:<5} {ours / bare:>6.2f}x  {target}"


def main() -> int:
    print(f"machine: {machine()}\n")
    print(f"{'comparison':<62} {'ours':>15} {'bare':>15} {'ratio':>7}  target")
    print(row("lab start: all endpoints + certificates vs Controller", *lab_start(), "ms", "<= 2x"))
    with served_lab() as (endpoints, context, pid):
        print(row("send() vs smtplib, one TLS connection per message", *send_per_connection(endpoints, context),
                  "ms", "<= 1.15x"))
        print(row("transcript recorder vs smtplib, per message on one connection",
                  *send_on_one_connection(endpoints, context), "ms", "<= 1.15x"))
        print(row("lab's peak memory receiving a 10 MB message vs its size", *data_memory(endpoints, pid),
                  "MiB", "<= 3x"))
    print(row("lab relay vs aiosmtpd Sink, messages per second", *throughput(), "msg/s", ">= 0.8x"))
    print(row("doctor, 4 ports with one silent, vs its timeout", *doctor_with_a_silent_port(), "ms", "about 1x"))

    total, median, times = scenario_times()
    print(f"\nscenarios: {len(times)} in {total:.2f} s on one lab, median {median * 1000:.0f} ms; the slowest:")
    for scenario_id, seconds in times[:6]:
        print(f"  {scenario_id:<32} {seconds * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
