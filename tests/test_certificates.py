"""The lab's certificates: fixed names and dates, one of each kind a client can trip over."""

from __future__ import annotations

from helpers.certificates import KINDS, LabCertificates


def test_every_kind_has_fixed_names_and_dates():
    table = LabCertificates().table().splitlines()
    assert table[0].split() == ["kind", "valid", "for", "issued", "by", "not", "before", "not", "after"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert list(rows) == list(KINDS)
    assert "localhost, 127.0.0.1, ::1" in rows["valid"] and "OU=Lab CA,O=SMTP Port Lab" in rows["valid"]
    assert rows["wrong-host"].split()[1:3] == ["localhost", "OU=Lab"]
    assert rows["expired"].endswith("2020-01-01  2021-01-01")
    assert rows["not-yet-valid"].endswith("2990-01-01  3000-01-01")
    assert "OU=Untrusted CA,O=Nobody You Trust" in rows["untrusted"]
    assert rows["self-signed"].split()[1:5] == ["localhost,", "127.0.0.1,", "::1", "CN=localhost,OU=Self-signed,O=SMTP"]


def test_two_labs_describe_their_certificates_identically():
    assert LabCertificates().table() == LabCertificates().table()
