"""The lab under load, hostile clients, garbage and restarts: nothing lost, nothing leaked, always serving.

The hostile cases are the reproductions of review hostile-clients.md (D1-D4, D8, D10, D11), each a client
a reader's buggy program could be. Memory is measured as the growth of a lab serving from its own
process (conftest.lab_process), never as this process's peak.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import smtplib
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import make_msgid

import pytest
from conftest import ALICE, ALICE_PASSWORD, BOB, CLIENT_TIMEOUT, OUTSIDER, connect, lab_process, message

from helpers.client import send
from helpers.lab import Lab
from helpers.mailbox import EVENT_LOG_LIMIT, MAILBOX_BYTES
from helpers.profiles import MAX_CONNECTIONS, PROFILES, LoginRateLimit, Profile, TlsFirst
from helpers.terms import TlsMode

CLIENTS = 50
MESSAGES_PER_CLIENT = 20
TLS_CLIENTS_AT_ONCE = 200
DROPPING_CLIENTS = 100
FUZZ_SEEDS = range(int(os.environ.get("FUZZ_SEEDS", "24")))  # FUZZ_SEEDS=1000 for a long run
FUZZ_LINES = 200  # per seed
CYCLES = 200
MESSAGE_SIZE = 9_900_000  # just under the lab's 10,240,000-byte limit
REPLY_LINE = re.compile(rb"^[2-5][0-9][0-9][ -]")
ENHANCED_CODE = re.compile(rb"^[2-5][0-9][0-9] [245]\.[0-9]{1,3}\.[0-9]{1,3} ")
MIB = 1 << 20


def read_reply(reader) -> list[bytes]:
    """Read one whole reply (multi-line or not); [] if the server closed the connection."""
    lines = []
    while True:
        try:
            line = reader.readline(100_000)
        except (ConnectionError, TimeoutError):
            return []
        if not line:
            return lines
        lines.append(line)
        if line[3:4] != b"-":
            return lines


class Raw:
    """A client that writes whatever it is told, as a buggy or hostile program does."""

    def __init__(self, address: tuple[str, int], *, context: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(address, timeout=CLIENT_TIMEOUT)
        self.sock = context.wrap_socket(sock, server_hostname=address[0]) if context else sock
        self.reader = self.sock.makefile("rb")
        self.greeting = read_reply(self.reader)

    def say(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        return read_reply(self.reader)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


# -- load ---------------------------------------------------------------------------------------------


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


def test_two_hundred_tls_clients_at_once_all_get_through(lab):
    # Each handshake waits its turn on a busy machine; none is taken for a plaintext client.
    start = threading.Barrier(TLS_CLIENTS_AT_ONCE)

    def client(number: int) -> dict:
        start.wait(CLIENT_TIMEOUT)
        with smtplib.SMTP_SSL(*lab["submissions"].address, timeout=60, context=lab.client_context()) as smtp:
            smtp.login(ALICE, ALICE_PASSWORD)
            return smtp.send_message(message(subject=f"at once {number}"))

    with ThreadPoolExecutor(max_workers=TLS_CLIENTS_AT_ONCE) as pool:
        refused = list(pool.map(client, range(TLS_CLIENTS_AT_ONCE)))
    assert refused == [{}] * TLS_CLIENTS_AT_ONCE
    assert len(lab.mailbox) == TLS_CLIENTS_AT_ONCE
    assert [e.detail for e in lab.events if e.kind == "tls-failed"] == []


def test_a_plaintext_client_on_465_still_gets_the_close_while_tls_clients_are_served(lab):
    with pytest.raises(smtplib.SMTPServerDisconnected, match=r"^Connection unexpectedly closed$"):
        smtplib.SMTP(*lab["submissions"].address, timeout=CLIENT_TIMEOUT)
    assert send(message(), lab["submissions"], user=ALICE, password=ALICE_PASSWORD, ca_file=lab.ca_file).ok


# -- clients that vanish, stall, or never read ---------------------------------------------------------


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


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_close_is_logged_on_every_profile(make_lab, name):
    # hostile-clients.md D8: clients that reset the connection at once were never logged as gone.
    lab = make_lab(name)
    if PROFILES[name].listening and not PROFILES[name].black_hole:
        for _ in range(3):
            sock = socket.create_connection(lab[name].address, timeout=CLIENT_TIMEOUT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # a reset, at once
        assert lab.events.wait_for("connect", 3, timeout=CLIENT_TIMEOUT)  # or settle() could hold before any
    assert lab.events.settle(timeout=CLIENT_TIMEOUT)
    kinds = [e.kind for e in lab.events]
    assert kinds.count("connect") == kinds.count("disconnect")


def test_a_client_that_never_reads_is_disconnected_at_the_idle_limit(make_lab):
    # hostile-clients.md D1: the lab's replies pile up unread; closing politely would wait for ever.
    lab = make_lab("relay", idle_timeout=1)
    sock = socket.create_connection(lab["relay"].address, timeout=60)  # it gives up on nothing: only the lab can
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def flood() -> None:
        with contextlib.suppress(OSError):  # the lab's reset ends it
            while True:
                sock.sendall(b"NOOP\r\n" * 1000)

    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    try:
        assert lab.events.wait_for("timeout", timeout=30)
        flooding.join(CLIENT_TIMEOUT)
        assert not flooding.is_alive()
    finally:
        sock.close()
    assert lab.events.settle(timeout=CLIENT_TIMEOUT)


def test_the_idle_limit_never_cuts_a_message_that_is_still_arriving(make_lab):
    # hostile-clients.md D3: a slow upload is not an idle client.
    lab = make_lab("relay", idle_timeout=1.5)
    with connect(lab, "relay", secure=False) as client:
        client.ehlo()
        client.mail(OUTSIDER)
        client.rcpt(ALICE)
        assert client.docmd("DATA")[0] == 354
        client.send(b"Subject: slowly\r\n\r\n")
        for number in range(16):  # 4 s in all, more than twice the idle limit
            client.send(b"line %d\r\n" % number)
            time.sleep(0.25)
        client.send(b".\r\n")
        assert client.getreply()[0] == 250
    assert lab.mailbox[-1].raw.count(b"\r\nline ") == 16


def test_logins_started_at_once_cannot_outrun_the_rate_limit(make_lab):
    # hostile-clients.md D4: 30 clients reach the password prompt, then all answer at once.
    limited = Profile("limited", acts_as=587, tls=TlsMode.STARTTLS, auth=True, summary="test",
                      policies=(LoginRateLimit(limit=3, window=60), TlsFirst()))
    lab = make_lab(limited)
    clients = []
    for _ in range(30):
        raw = Raw(lab["limited"].address)
        raw.say(b"EHLO x\r\n")
        assert raw.say(b"STARTTLS\r\n")[0].startswith(b"220")
        raw.sock = lab.client_context().wrap_socket(raw.sock, server_hostname="127.0.0.1")
        raw.reader = raw.sock.makefile("rb")
        raw.say(b"EHLO x\r\n")
        assert raw.say(b"AUTH LOGIN\r\n") == [b"334 VXNlcm5hbWU6\r\n"]
        assert raw.say(base64.b64encode(ALICE.encode()) + b"\r\n") == [b"334 UGFzc3dvcmQ6\r\n"]
        clients.append(raw)
    for number, raw in enumerate(clients):
        password = ALICE_PASSWORD if number == len(clients) - 1 else f"guess {number}"
        raw.sock.sendall(base64.b64encode(password.encode()) + b"\r\n")
    codes = [read_reply(raw.reader)[0][:3] for raw in clients]
    for raw in clients:
        raw.close()
    assert codes == [b"535"] * 3 + [b"454"] * 27  # the right password, last, meets the block too


# -- input that is not what a mail server expects ----------------------------------------------------


def data_of(shape: bytes, size: int) -> bytes:
    """About `size` bytes of message content (after the server's CR LF normalising) made of one shape."""
    stored = len(shape) + shape.endswith(b"\n") - shape.endswith(b"\r\n")
    return b"Subject: shaped\r\n\r\n" + shape * (size // stored)


@pytest.mark.parametrize("shape", [b"\r\n", b"\n", b"x" * 998 + b"\r\n", b"x" * MESSAGE_SIZE],
                         ids=["empty-lines", "bare-lf-lines", "1000-character-lines", "one-line"])
def test_data_memory_stays_within_a_few_times_the_message_size_whatever_its_shape(shape):
    # hostile-clients.md D2: 10 MB of empty lines cost 846 MiB when aiosmtpd kept an object per line.
    with lab_process("relay") as lab:
        raw = Raw(lab["relay"].address)
        raw.say(b"EHLO x\r\n")
        raw.say(f"MAIL FROM:<{OUTSIDER}>\r\nRCPT TO:<{ALICE}>\r\n".encode())
        read_reply(raw.reader)
        assert raw.say(b"DATA\r\n")[0].startswith(b"354")
        before = lab.memory()
        lab.reset_peak()
        reply = raw.say(data_of(shape, MESSAGE_SIZE) + b"\r\n.\r\n")
        growth = lab.memory("VmHWM") - before
        raw.close()
        assert reply[0].startswith(b"250 2.0.0 Ok: queued as"), reply
        assert growth < 3 * MESSAGE_SIZE, f"{growth / MIB:.1f} MiB for {MESSAGE_SIZE / MIB:.1f} MiB"
        assert lab.errors() == []


@pytest.mark.parametrize(
    "line, reply",
    [(b"VRFY <", b"501 5.1.3"), (b'VRFY "', b"501 5.1.3"), (b"VRFY <@", b"501 5.1.3"),
     (b"MAIL FROM:<a@[", b"501 5.1.7"), (b"MAIL FROM:<a@[1.2.3.4", b"501 5.1.7"),
     ("MAIL FROM:<a@example.com> SIZE=²".encode(), b"501 5.5.4")],
)
def test_malformed_commands_get_a_syntax_error_not_an_internal_error(lab, line, reply):
    # hostile-clients.md D11: each of these made the lab answer 451 4.3.0 after an exception.
    raw = Raw(lab["relay"].address)
    raw.say(b"EHLO x\r\n")
    assert raw.say(line + b"\r\n")[0].startswith(reply)
    raw.close()
    assert [e for e in lab.events if e.kind == "error"] == []


def test_an_endless_auth_answer_and_starttls_inside_tls(lab):
    raw = Raw(lab["submissions"].address, context=lab.client_context())
    raw.say(b"EHLO x\r\n")
    assert raw.say(b"AUTH PLAIN\r\n") == [b"334 \r\n"]
    assert raw.say(b"A" * 100_000 + b"\r\n") == [b"500 5.5.6 SASL response limit exceeded\r\n"]
    assert raw.say(b"STARTTLS\r\n") == [b"554 5.5.1 Error: TLS already active\r\n"]
    assert raw.say(b"NOOP\r\n") == [b"250 2.0.0 Ok\r\n"]
    raw.close()
    assert [e for e in lab.events if e.kind == "error"] == []


def test_connections_beyond_the_limit_are_told_so(make_lab):
    lab = make_lab("relay")
    held = [Raw(lab["relay"].address) for _ in range(MAX_CONNECTIONS)]
    try:
        assert all(raw.greeting[0].startswith(b"220 ") for raw in held)
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP(*lab["relay"].address, timeout=CLIENT_TIMEOUT)
        assert refused.value.smtp_code == 421
        assert refused.value.smtp_error == b"4.7.0 mail.example.com Error: too many connections from 127.0.0.1"
    finally:
        for raw in held:
            raw.close()
    assert send(message(sender=OUTSIDER, to=ALICE), lab["relay"], ca_file=lab.ca_file).ok


def test_the_event_log_keeps_only_its_last_entries(lab):
    raw = Raw(lab["relay"].address)
    raw.say(b"EHLO x\r\n")
    raw.say(f"MAIL FROM:<{OUTSIDER}>\r\n".encode())
    refusals = EVENT_LOG_LIMIT + 500
    raw.sock.sendall(b"".join(b"RCPT TO:<u%d@example.net>\r\n" % n for n in range(refusals)))  # relay denied
    replies = {read_reply(raw.reader)[0][:10] for _ in range(refusals)}
    raw.close()
    assert replies == {b"554 5.7.1 "}
    assert lab.events.settle()
    assert len(lab.events) == EVENT_LOG_LIMIT
    assert list(lab.events)[-1].kind == "disconnect"


def test_the_mailbox_keeps_the_newest_messages_within_its_size(lab):
    big = data_of(b"x" * 998 + b"\r\n", MESSAGE_SIZE)
    with connect(lab, "relay", secure=False) as client:
        for _ in range(MAILBOX_BYTES // MESSAGE_SIZE + 1):
            assert client.sendmail(OUTSIDER, [ALICE], big) == {}
    kept = [m.queue_id for m in lab.mailbox]
    assert kept == [f"MSG{n:04d}" for n in range(2, MAILBOX_BYTES // MESSAGE_SIZE + 2)]


def fuzz_lines(rng: random.Random, count: int):
    verbs = ["EHLO", "HELO", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
             "AUTH", "AUTH PLAIN", "AUTH LOGIN", "BDAT", "ETRN", "STARTTLS", "", "mail from:<", "RCPT TO:<>", "\x00",
             "\xff", "MAIL FROM:<a@example.com> SIZE=", "RCPT TO:<b@[", "VRFY <"]
    alphabet = [bytes([b]) for b in range(256) if b not in (10, 13)]
    for _ in range(count):
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
        yield line, rng.choice([b"\r\n", b"\n", b"\r\n\r\n"])


def fuzz(lab, name: str, seed: int) -> tuple[int, int]:
    """Send one seed's lines, each answered before the next; (replies, closes). A line gets one reply per line
    end (unless DATA made the rest of it a message), and every reply is a valid one."""
    context = lab_context(lab) if lab[name].tls == TlsMode.IMPLICIT else None
    raw, replies, closes, in_auth = None, 0, 0, False
    for line, end in fuzz_lines(random.Random(seed), FUZZ_LINES):
        raw = raw or Raw(lab[name].address, context=context)
        start_again = False
        try:
            raw.sock.sendall(line + end)
        except OSError:  # the lab had hung up (too many unknown commands, say)
            start_again = True
        for _ in range(0 if start_again else 2 if end == b"\r\n\r\n" else 1):
            reply = read_reply(raw.reader)
            if not reply:
                start_again = True
                break
            replies += 1
            code = reply[-1][:3]
            assert all(REPLY_LINE.match(r) for r in reply), (seed, line[:80], reply)
            exempt = code in (b"334", b"354") or (line[:4].upper() in (b"HELO", b"EHLO") and not in_auth)
            assert exempt or ENHANCED_CODE.match(reply[-1]), (seed, line[:80], reply)  # RFC 2034
            in_auth = code == b"334"
            if code == b"354":
                raw.sock.sendall(b".\r\n")  # whatever followed DATA on this line is now the message
                assert read_reply(raw.reader)[-1][:3] in (b"250", b"552"), (seed, line[:80])
                break
            if code in (b"220", b"221"):  # STARTTLS said yes, or QUIT: start again
                start_again = True
                break
        if start_again:
            raw.close()
            raw, closes, in_auth = None, closes + 1, False
    if raw:
        raw.close()
    return replies, closes


def lab_context(lab) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=lab.ca_file)


@pytest.mark.parametrize("name", ["relay", "submission", "submissions"])
def test_fuzzed_command_lines_get_valid_replies_and_the_lab_survives_any_seed(name):
    with lab_process(name) as lab:
        fuzz(lab, name, seed=-1)  # warm up: the first connections allocate what every later one reuses
        before = lab.memory()
        totals = [fuzz(lab, name, seed) for seed in FUZZ_SEEDS]
        growth = lab.memory() - before
        assert lab.errors() == []  # no exception inside the lab, for any seed
        assert growth < 32 * MIB, f"{growth / MIB:.1f} MiB"
        replies = sum(r for r, _ in totals)
        assert replies > FUZZ_LINES * len(FUZZ_SEEDS) // 2
        client = Raw(lab[name].address, context=lab_context(lab) if name == "submissions" else None)
        assert client.say(b"NOOP\r\n") == [b"250 2.0.0 Ok\r\n"]
        client.close()


# -- starting and stopping ------------------------------------------------------------------------------


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
    return {inode for inode, _ in listening_sockets() if inode in mine}


def listening_sockets() -> list[tuple[str, str]]:
    """(inode, local address in the kernel's hex) of every listening TCP socket on the machine."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    found.append((fields[9], fields[1].split(":")[0]))
    return found


def test_two_hundred_start_stop_cycles_leak_no_threads_descriptors_or_listeners():
    Lab().start().stop()  # warm up imports and caches
    threads, fds, listeners = threading.active_count(), len(os.listdir("/proc/self/fd")), listening_inodes()
    for cycle in range(CYCLES):
        lab = Lab().start()
        if cycle in (0, CYCLES - 1):  # reading the kernel's tables every time would take most of the time
            assert len(listening_inodes() - listeners) == 3
        lab.stop()
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds
    assert listening_inodes() == listeners


def test_every_listener_is_bound_to_loopback():
    with Lab(*PROFILES) as lab:
        mine = listening_inodes()
        bound = {address for inode, address in listening_sockets() if inode in mine}
        assert bound == {"0100007F"}  # 127.0.0.1, little-endian hex
        assert len(mine) == sum(p.listening for p in lab.profiles.values())
