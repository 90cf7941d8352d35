"""The lab under load, broken clients, garbage and restarts: nothing lost, nothing leaked, always serving."""

from __future__ import annotations

import os
import random
import re
import resource
import smtplib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from email.utils import make_msgid

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB, CLIENT_TIMEOUT, OUTSIDER, message

from helpers.client import send
from helpers.lab import Lab

CLIENTS = 50
MESSAGES_PER_CLIENT = 20
DROPPING_CLIENTS = 100
FUZZ_LINES = 3000
FUZZ_SEED = 20261128
CYCLES = 200
REPLY_LINE = re.compile(rb"^[2-5][0-9][0-9][ -]")


def test_fifty_concurrent_clients_twenty_messages_each_nothing_lost_or_doubled(lab):
    def client(number: int) -> list:
        endpoint = lab["submissions" if number % 2 else "submission"]
        results = []
        for _ in range(MESSAGES_PER_CLIENT):
            msg = message(subject=f"client {number}")
            msg["Message-ID"] = make_msgid(domain="example.com")
            results.append(send(msg, endpoint, user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file))
        return results

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = [r for batch in pool.map(client, range(CLIENTS)) for r in batch]

    total = CLIENTS * MESSAGES_PER_CLIENT
    assert [r.accepted for r in results] == [[BOB]] * total, [str(r) for r in results if not r.ok][:3]
    stored_ids = [m.email["Message-ID"] for m in lab.mailbox]
    assert len(stored_ids) == total
    assert len(set(stored_ids)) == total


def test_clients_that_vanish_in_the_middle_of_data_leave_no_partial_message(lab):
    def vanish(_: int) -> None:
        smtp = smtplib.SMTP(*lab["relay"].address, timeout=CLIENT_TIMEOUT)
        smtp.ehlo()
        smtp.mail(OUTSIDER)
        smtp.rcpt(ALICE)
        assert smtp.docmd("DATA")[0] == 354
        smtp.send(b"Subject: half a message\r\n\r\nthe first half and then")
        smtp.close()  # no final "." line: the message never ended

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(vanish, range(DROPPING_CLIENTS)))

    assert lab.events.settle(timeout=CLIENT_TIMEOUT)
    assert len(lab.mailbox) == 0
    result = send(message(sender=OUTSIDER, to=ALICE), lab["relay"], ca_file=lab.ca_file)
    assert result.ok and len(lab.mailbox) == 1


def fuzz_lines(rng: random.Random):
    verbs = ["EHLO", "HELO", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
             "AUTH", "AUTH PLAIN", "AUTH LOGIN", "BDAT", "ETRN", "", "mail from:<", "RCPT TO:<>", "\x00", "\xff"]
    alphabet = [bytes([b]) for b in range(256) if b not in (10, 13)]
    for _ in range(FUZZ_LINES):
        kind = rng.random()
        if kind < 0.5:
            arg = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
            line = rng.choice(verbs).encode("latin-1") + b" " + arg
        elif kind < 0.8:
            line = b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
        elif kind < 0.95:
            line = rng.choice(verbs).encode("latin-1") + b" " + b"x" * rng.choice([999, 1001, 4096, 70_000])
        else:
            line = b"A" * rng.randint(100_000, 300_000)  # one endless line
        yield line + rng.choice([b"\r\n", b"\n", b"\r\n\r\n"])


def read_replies(reader) -> list[bytes]:
    """Read one whole reply (multi-line or not); [] if the server closed the connection."""
    lines = []
    while True:
        line = reader.readline(100_000)
        if not line:
            return lines
        lines.append(line)
        if line[3:4] != b"-":
            return lines


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@pytest.mark.parametrize("name", ["relay", "submission"])
def test_fuzzed_command_lines_get_valid_replies_or_a_close_and_the_lab_survives(lab, name):
    rng = random.Random(FUZZ_SEED)
    baseline = max_rss_kib()
    sock = reader = None
    closes = replies = 0

    def connect():
        s = socket.create_connection(lab[name].address, timeout=CLIENT_TIMEOUT)
        r = s.makefile("rb")
        assert REPLY_LINE.match(r.readline())
        return s, r

    try:
        sock, reader = connect()
        for line in fuzz_lines(rng):
            try:
                sock.sendall(line)
                reply = read_replies(reader)
            except (ConnectionError, TimeoutError):
                reply = []
            if not reply:
                closes += 1
                reader.close()
                sock.close()
                sock, reader = connect()
                continue
            replies += 1
            assert all(REPLY_LINE.match(r) for r in reply), (line[:80], reply)
            if reply[-1].startswith(b"354"):
                sock.sendall(b"\r\n.\r\n")
                assert REPLY_LINE.match(read_replies(reader)[-1])
            elif reply[-1].startswith(b"220 2.0.0 Ready to start TLS") or reply[-1].startswith(b"221"):
                reader.close()
                sock.close()
                sock, reader = connect()
    finally:
        if reader:
            reader.close()
        if sock:
            sock.close()

    assert replies > FUZZ_LINES // 2 and closes < FUZZ_LINES // 4
    assert [str(e) for e in lab.events if e.kind in ("error", "library")] == []  # no exception inside the lab
    # aiosmtpd drops what does not fit in a line instead of buffering it: memory stays flat.
    assert max_rss_kib() - baseline < 50_000
    assert send(message(sender=OUTSIDER, to=ALICE), lab["relay"], ca_file=lab.ca_file).ok


def listening_inodes() -> set[str]:
    """Inodes of this process's sockets that are in the LISTEN state."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    listening.add(fields[9])
    return mine & listening


def test_two_hundred_start_stop_cycles_leak_no_threads_descriptors_or_listeners():
    Lab().start().stop()  # warm up imports and caches
    threads, fds, listeners = threading.active_count(), len(os.listdir("/proc/self/fd")), listening_inodes()
    for _ in range(CYCLES):
        lab = Lab().start()
        assert len(listening_inodes() - listeners) == 3
        lab.stop()
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds
    assert listening_inodes() == listeners


def test_every_listener_is_bound_to_loopback():
    from helpers.profiles import PROFILES

    with Lab(*PROFILES) as lab:
        bound = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    if fields[3] == "0A" and fields[9] in listening_inodes():
                        bound.add(fields[1].split(":")[0])
        assert bound == {"0100007F"}  # 127.0.0.1, little-endian hex
        assert {e.host for e in lab.endpoints.values()} == {"127.0.0.1"}
