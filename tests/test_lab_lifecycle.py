"""Starting and stopping the lab, many times, leaves nothing behind."""

from __future__ import annotations

import os
import smtplib
import threading

from conftest import ALICE, ALICE_PASSWORD, CLIENT_TIMEOUT, connect, message

from helpers.lab import Lab

CYCLES = 100


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_start_stop_cycles_leave_no_threads_or_file_descriptors():
    warm = Lab().start()  # the first start loads modules and caches; measure after it
    warm.stop()
    threads, fds = threading.active_count(), open_fds()
    for _ in range(CYCLES):
        lab = Lab().start()
        with connect(lab, "submissions") as client:
            client.login(ALICE, ALICE_PASSWORD)
            client.send_message(message())
        lab.stop()
    assert threading.active_count() == threads
    assert open_fds() == fds


def test_stop_closes_connections_that_are_still_open():
    lab = Lab("submission", "silent").start()
    fds = open_fds()
    idle = connect(lab, "submission")
    silent = smtplib.SMTP()
    silent.sock = __import__("socket").create_connection(lab["silent"].address, timeout=CLIENT_TIMEOUT)
    lab.stop()
    assert idle.noop == idle.noop  # the client object survives; its server side is gone
    try:
        idle.noop()
    except smtplib.SMTPServerDisconnected:
        pass
    else:
        raise AssertionError("the lab kept a connection open after stop()")
    idle.close()
    silent.close()
    assert open_fds() <= fds
