"""The settings table (helpers.libraries): notebook 07 shows it, the doctor writes a line of it."""

from __future__ import annotations

import pytest

from helpers.libraries import LIBRARIES, line, table
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
