"""The settings table (helpers.libraries): notebook 07 shows it, the doctor writes a line of it."""

from __future__ import annotations

import pytest

from helpers.libraries import LIBRARIES, line, named, table
from helpers.terms import Security


def test_the_table_has_a_row_per_library_and_five_columns():
    rows = table().splitlines()
    assert len(rows) == 2 + len(LIBRARIES)
    assert all(row.count(" | ") == 4 for row in rows if not row.startswith("|---"))
    assert "| nodemailer | `secure: true` | `secure: false, requireTLS: true` |" in table()


@pytest.mark.parametrize("library", [library.key for library in LIBRARIES])
def test_each_library_has_a_line_for_each_port_naming_the_host_and_port(library):
    implicit = line(library, host="smtp.example.org", port=1465, security=Security.IMPLICIT)
    starttls = line(library, host="smtp.example.org", port=1587, security=Security.STARTTLS)
    assert "1587" in starttls and "smtp.example.org" in starttls
    assert ("1465" in implicit and "smtp.example.org" in implicit) or implicit.startswith("not possible")


def test_the_lines_say_what_the_table_says():
    assert line("nodemailer", host="h", port=465, security="implicit") == (
        'nodemailer.createTransport({ host: "h", port: 465, secure: true })')
    assert line("rails", host="h", port=587, security="starttls") == (
        'smtp_settings = { address: "h", port: 587, enable_starttls: true }')
    assert line("curl", host="h", port=587, security="starttls") == "curl smtp://h:587 --ssl-reqd --max-time 30"


@pytest.mark.parametrize("library", [library.key for library in LIBRARIES])
def test_with_a_ca_file_each_line_trusts_it_and_without_names_none(library):
    for security in (Security.IMPLICIT, Security.STARTTLS):
        trusting = line(library, host="smtp.example.org", port=1465, security=security, ca_file="company ca.pem")
        plain = line(library, host="smtp.example.org", port=1465, security=security)
        assert "company ca.pem" in trusting or trusting.startswith("not possible")
        assert "ca.pem" not in plain and "cafile" not in plain.lower() and "--cacert" not in plain


def test_the_ca_file_is_written_as_each_language_quotes_it():
    assert line("smtplib", host="h", port=465, security="implicit", ca_file="lab-ca.pem") == (
        'smtplib.SMTP_SSL("h", 465, context=ssl.create_default_context(cafile="lab-ca.pem"), timeout=30)')
    assert line("nodemailer", host="h", port=587, security="starttls", ca_file="lab-ca.pem") == (
        'nodemailer.createTransport({ host: "h", port: 587, secure: false, requireTLS: true, '
        'tls: { ca: fs.readFileSync("lab-ca.pem") } })')
    assert line("swaks", host="h", port=465, security="implicit", ca_file="my lab/ca.pem") == (
        "swaks --server h --port 465 --tls-on-connect --tls-verify --tls-ca-path 'my lab/ca.pem'")
    assert line("curl", host="h", port=587, security="starttls", ca_file="lab-ca.pem") == (
        "curl smtp://h:587 --ssl-reqd --max-time 30 --cacert lab-ca.pem")


def test_jakarta_mail_connects_by_name_since_it_checks_no_ip_address_in_a_certificate():
    # README: given 127.0.0.1, Jakarta Mail with checkserveridentity fails against the lab; localhost works.
    lab = line("jakarta-mail", host="127.0.0.1", port=10465, security="implicit", ca_file="lab-ca.pem")
    assert lab.startswith("mail.smtp.host=localhost, mail.smtp.port=10465, ")
    assert lab.endswith("in lab-ca.pem (Jakarta Mail checks the names in the certificate, never its IP addresses: "
                        "connect by name, here localhost)")
    elsewhere = line("jakarta-mail", host="192.0.2.7", port=465, security="implicit")
    assert elsewhere.startswith("mail.smtp.host=192.0.2.7, ") and elsewhere.endswith(
        "connect by name, one its certificate holds)")
    by_name = line("jakarta-mail", host="smtp.example.org", port=465, security="implicit")
    assert by_name.startswith("mail.smtp.host=smtp.example.org, ") and "connect by name" not in by_name


def test_an_ipv6_address_is_bracketed_where_a_url_or_address_holds_it():
    assert line("curl", host="::1", port=10465, security="implicit") == "curl smtps://[::1]:10465 --max-time 30"
    assert 'smtp.Dial("[::1]:10587")' in line("go", host="::1", port=10587, security="starttls")
    assert line("swaks", host="::1", port=10465, security="implicit").startswith("swaks --server ::1 --port 10465 ")


def test_a_library_is_named_in_any_case():
    assert named("PHPMailer") is named("phpmailer")
    assert line("Curl", host="h", port=465, security="implicit") == "curl smtps://h:465 --max-time 30"


def test_unknown_libraries_and_modes_are_refused():
    with pytest.raises(KeyError, match="unknown library 'perl'"):
        line("perl", host="h", port=1, security="implicit")
    with pytest.raises(ValueError, match="no setting is written for security='none'"):
        line("curl", host="h", port=1, security="none")


def test_notebook_07_shows_this_table():
    import json
    from pathlib import Path

    notebook = json.loads((Path(__file__).parent.parent / "notebooks" / "07_your_language.ipynb").read_text())
    shown = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"
             and "libraries.table()" in "".join(cell["source"])]
    assert len(shown) == 1
    assert "".join(shown[0]["outputs"][0]["data"]["text/markdown"]) == table()
