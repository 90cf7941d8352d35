"""Each mail library's settings for 465 and 587, run for real: every program in tests/clients, in every
case of clients.matrix.CASES, against the lab.

- The right settings send: the program exits 0 and the lab holds its message, received over TLS after a
  login. The same program with the same settings fails against a certificate from a CA it was not told to
  trust, so the TLS it used was verified.
- The settings swapped, and the untrusted certificate, fail for the right reason: the lab saw the client
  miss the TLS handshake (465), send a handshake where SMTP was expected (587), or reject the certificate,
  and never a login; the client printed exactly what tests/clients/results.json stored from its last run.

A program whose library is missing is skipped with the command that installs it. When a change to a
program, the lab or a library changes what a client prints, store the new texts with one command:

    .venv/bin/python tests/clients/matrix.py --refresh
"""

from __future__ import annotations

import pytest
from clients.matrix import CASES, CLIENTS, PROFILES, RESULTS, USER, Case, Client, comparable, run, stored

from helpers.lab import Lab

pytestmark = pytest.mark.clients

REFRESH = ".venv/bin/python tests/clients/matrix.py --refresh"
STORED = {(entry["client"], entry["case"]): entry for entry in stored()}
# What the lab logs when each case fails the way it should: what it saw instead of a good handshake.
SERVER_SAW = {"swapped-465": "tls-failed", "swapped-587": "refused", "untrusted-465": "tls-failed",
              "untrusted-587": "tls-failed"}


@pytest.fixture(scope="module")
def lab():
    with Lab(*PROFILES) as lab:
        yield lab


@pytest.fixture(scope="module")
def ready(tmp_path_factory):
    """Prepare a client once (build, install) and say where it runs from, or skip it with the reason."""
    build = tmp_path_factory.mktemp("client-matrix")
    reasons: dict[str, str | None] = {}

    def prepare(client: Client):
        if client.name not in reasons:
            reasons[client.name] = client.ready(build)
        if reasons[client.name]:
            pytest.skip(reasons[client.name])
        return build

    return prepare


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
@pytest.mark.parametrize("client", CLIENTS.values(), ids=lambda client: client.name)
def test_client(lab: Lab, ready, client: Client, case: Case):
    build = ready(client)
    seen = len(lab.events)
    result = run(client, case, lab, build)
    lab.events.settle()
    server = [event for event in list(lab.events)[seen:] if event.endpoint == case.profile]
    kinds = [event.kind for event in server]

    if case.sends:
        assert result.outcome == "sent", result.error
        delivered = result.delivered
        assert delivered is not None, lab.events.text(server)
        assert (delivered.endpoint, delivered.login) == (case.profile, USER)
        assert delivered.tls_version in ("TLSv1.2", "TLSv1.3")
    else:
        assert result.outcome == "failed" and result.error and result.delivered is None
        assert SERVER_SAW[case.id] in kinds and "login" not in kinds, lab.events.text(server)

    expected = STORED.get((client.name, case.id))
    assert expected is not None, f"{RESULTS.name} has no result for {client.name} {case.id}: run {REFRESH}"
    version = client.version()
    assert (result.outcome, comparable(result.error)) == (expected["outcome"], comparable(expected["error"])), (
        f"{client.library} {version} no longer prints what {RESULTS.name} stored from {expected['version']}; "
        f"if the new text is right, run {REFRESH}"
    )


def test_every_stored_result_is_one_the_matrix_runs():
    # A client or case removed from the matrix must leave the stored data too.
    assert set(STORED) == {(client, case.id) for client in CLIENTS for case in CASES}
