"""Rich outputs read right where a reader first sees them: in a notebook nobody has run or trusted
(JupyterLab's sanitizer), with no styles at all (GitHub), and as text (VS Code's plain view, terminals).

What JupyterLab's sanitizer keeps was measured in the browser (tests/test_browser.py checks the real
thing); SURVIVING_STYLES is that list, so a property it would drop fails here, in a second, instead.
"""

from __future__ import annotations

import re
import smtplib
from html.parser import HTMLParser

from conftest import ALICE, ALICE_PASSWORD, BOB, message
from IPython.core.interactiveshell import InteractiveShell

from helpers import display
from helpers.catalog import entry
from helpers.client import EHLO_NAME
from helpers.diagnose import Diagnosis, Match, explain
from helpers.transcript import record

# Inline style properties JupyterLab 4.6.6 keeps in an untrusted output (and the kit uses).
SURVIVING_STYLES = {
    "background", "border", "border-bottom", "border-collapse", "border-left", "border-radius", "border-right",
    "border-top", "color", "display", "flex", "font", "font-family", "font-size", "font-style", "font-weight",
    "grid-template-columns", "height", "justify-content", "align-items", "line-height", "margin", "margin-top",
    "max-width", "opacity", "overflow", "overflow-wrap", "overflow-x", "padding", "padding-left", "table-layout",
    "text-align", "vertical-align", "white-space", "width", "word-break",
}
DROPPED_VALUES = re.compile(r"var\(|\d+ch\b|^word-break:break-word|anywhere|^display:contents")


class _Reader(HTMLParser):
    """HTML as a reader sees it with every style stripped (GitHub): text, with a new line at each <br>
    and block; plus what a sanitizer would judge (tags and style declarations)."""

    BLOCKS = {"div", "p", "pre", "tr", "td", "th", "li", "table", "ul"}

    def __init__(self) -> None:
        super().__init__()
        self.text, self.tags, self.styles = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.styles += [value for name, value in attrs if name == "style"]
        if tag == "br" or tag in self.BLOCKS:
            self.text.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.text.append("\n")

    def handle_data(self, data):
        self.text.append(data)


def read(page: str) -> _Reader:
    reader = _Reader()
    reader.feed(page)
    return reader


def unstyled_lines(page: str) -> list[str]:
    return [line.strip() for line in "".join(read(page).text).splitlines() if line.strip()]


def assert_survives_untrusted(page: str) -> None:
    """No <style>, no SVG, and no style declaration JupyterLab's sanitizer would drop."""
    reader = read(page)
    assert not {"style", "svg", "script"} & set(reader.tags)
    for style in reader.styles:
        for declaration in filter(None, (part.strip() for part in style.split(";"))):
            name, _, value = declaration.partition(":")
            assert name.strip() in SURVIVING_STYLES, declaration
            assert not DROPPED_VALUES.search(f"{name.strip()}:{value.strip()}"), declaration


def connect(lab, name: str = "submission") -> smtplib.SMTP:
    """Plain smtplib, opened inside record() so that it is recorded."""
    return smtplib.SMTP(*lab[name].address, local_hostname=EHLO_NAME, timeout=10)


def bundle(obj) -> dict[str, str]:
    """What a notebook stores for `obj` as a cell's result."""
    data, _ = InteractiveShell.instance().display_formatter.format(obj)
    return data


def rows(page: str, kind: str) -> list[str]:
    """The diagram's rows of one kind (sent, received, note, error, boundary), as HTML."""
    return re.findall(rf'<div class="smtp-row {kind}[^"]*".*?(?=<div class="smtp-row |$)', page)


def test_a_conversation_is_two_lanes_with_an_arrow_per_command_and_per_reply(lab):
    with record(names=lab.names) as wire, connect(lab) as smtp:
        smtp.starttls(context=lab.client_context())
        smtp.login(ALICE, ALICE_PASSWORD)
        smtp.send_message(message())
    transcript = wire.transcript
    page = bundle(transcript)["text/html"]
    assert_survives_untrusted(page)
    replies, commands = rows(page, "received"), rows(page, "sent")
    assert len(replies) == len(transcript.replies()) == len(commands) + 1  # the greeting answers no command
    assert all("border-left:9px" in row for row in commands)  # the tip points at the server
    assert all("border-right:9px" in row for row in replies)  # and back at the client
    assert "submission (port 587)" in rows(page, "smtp-head")[0]
    ehlo_lines = next(text for _, text in transcript.replies() if "SIZE" in text)
    ehlo_reply = next(row for row in replies if "250-SIZE" in row)
    assert ehlo_reply.count("<br>") == ehlo_lines.count("\n") > 3  # a line each, not run together


def test_tls_rows_are_tinted_below_one_boundary_and_refusals_are_red(lab):
    with record(names=lab.names, catch=True) as wire, connect(lab) as smtp:
        smtp.starttls(context=lab.client_context())
        smtp.login(ALICE, ALICE_PASSWORD)
        smtp.send_message(message(sender=BOB))
    page = wire.transcript.html()
    (boundary,) = rows(page, "boundary")
    assert "TLS started: TLSv1.3" in boundary and "dashed" in boundary
    after = page[page.index(boundary):]
    assert all(f"background:{display.TLS_TINT}" in row for row in rows(after, "sent tls"))
    (refusal,) = rows(page, "received tls refused")
    assert "553 5.7.1" in refusal and f"color:{display.RED}" in refusal
    (error,) = rows(page, "error")
    assert "SMTPRecipientsRefused" in error and display.RED in error


def test_without_any_style_the_diagram_reads_as_the_text_transcript(lab):
    with record(names=lab.names, catch=True) as wire, connect(lab, "relay") as smtp:
        smtp.send_message(message(to="someone@example.net"))
    transcript = wire.transcript
    unstyled = unstyled_lines(transcript.html())
    assert unstyled[:2] == ["client", "relay (port 25)"]
    expected = [line.strip() for line in transcript.text().splitlines()]
    assert [line.replace("✗ ", "") for line in unstyled[2:]] == expected
    assert "<** 554 5.7.1 <someone@example.net>: Relay access denied" in expected
    assert bundle(transcript)["text/plain"] == transcript.text()  # VS Code's plain view and terminals


def test_a_transcript_without_a_connection_still_shows_both_lanes():
    with record() as wire:
        pass
    page = wire.transcript.html()
    assert unstyled_lines(page) == ["client", "server", "=== (no connection was made)"]


def test_a_card_shows_catalog_code_as_code_and_says_how_it_recognised_the_error():
    card = explain("EOF", port=465)
    page = bundle(card)["text/html"]
    assert_survives_untrusted(page)
    assert "`" not in page and "Go says <code>EOF</code>" in page
    assert re.search(r"Recognised by <code>EOF</code>, in (Go's words|the words of Go)\b", page)
    assert "<i>decided by the port: 465 speaks TLS from the first byte" in page
    assert re.search(r"Recognised by \"EOF\", in (Go's words|the words of Go)\b", bundle(card)["text/plain"])
    assert "matched:" not in page + repr(card)


def test_go_code_keeps_its_tabs_drawn_four_columns_wide():
    page = explain("EOF", port=465).html()
    go = re.findall(r'<pre class="smtp-code"[^>]*>(.*?)</pre>', page, re.S)[1]
    tab = (f'<span style="display:inline-block;width:{display.TAB_WIDTH};overflow:hidden;'
           f'vertical-align:bottom">\t</span>')
    assert go.count("\t") == go.count(tab) > 0  # copied, each is still a tab, as gofmt writes it
    assert re.search(f"\n{re.escape(tab)}\\w", go)  # an indented line, four columns in
    assert "word-break:normal" in page and "white-space:pre" in page


def test_evidence_quoted_from_the_input_is_escaped():
    quoted = Match(entry("bad-credentials"), 100.0, ("535 <script>alert(1)</script>",), ("server",))
    page = Diagnosis((quoted,)).html()
    assert "<script>" not in page and "<code>535 &lt;script&gt;alert(1)&lt;/script&gt;</code>" in page


def test_a_brief_card_has_the_cause_and_fix_without_code():
    full, brief = explain("EOF", port=465), explain("EOF", port=465, brief=True)
    assert "smtp-code" in full.html() and "smtp-code" not in brief.html()
    for page in (brief.html(), repr(brief)):
        assert "Start TLS at once on 465" in page and "decided by the port" in page and "Recognised by" in page


def test_no_match_says_what_to_do_next():
    card = Diagnosis(())  # what explain() shows when diagnose() found nothing at all
    assert "No catalog entry matches this error text." in card.html() and "record the conversation" in card.html()
    assert "three-digit reply code" in repr(card)


def test_text_tables_align_and_html_tables_fit_their_width():
    assert display.text_table([["id", "port"], ["relay-denied", "25"]]) == "id            port\nrelay-denied  25"
    page = display.html_table(["a", "b"], [["<code>x</code>", "y"]], widths=["30%", "70%"], caption="one row")
    assert_survives_untrusted(page)
    assert "table-layout:fixed" in page and "max-width:950px" in page and "<code>x</code>" in page
    assert unstyled_lines(page) == ["a", "b", "x", "y", "one row"]


def test_a_card_names_whose_words_it_recognised_and_copes_with_none():
    words = Match(entry("bad-credentials"), 100.0, ("535 5.7.8", "Username and Password not accepted"),
                  ("gmail", "dotnet"))
    assert "in the words of Gmail and .NET." in Diagnosis((words,)).html()
    silent = Match(entry("bad-credentials"), 100.0, (), ())
    for shown in (Diagnosis((silent,)).html(), repr(Diagnosis((silent,))), repr(Diagnosis((silent,), brief=True))):
        assert "Recognised" not in shown and "User name or password refused" in shown


def test_markdown_keeps_its_source_as_the_text_a_terminal_shows():
    shown = bundle(display.Markdown("| library | 465 |\n|---|---|\n| smtplib | `SMTP_SSL` |"))
    assert shown["text/markdown"] == shown["text/plain"] == "| library | 465 |\n|---|---|\n| smtplib | `SMTP_SSL` |"


def test_wrapped_text_wraps_at_spaces_in_a_notebook_and_stays_unchanged_as_text():
    report = "port 587: works\n  note    " + "a provider's long sentence, " * 8 + "<and markup>"
    shown = bundle(display.wrapped(report))
    assert shown["text/plain"] == report
    assert_survives_untrusted(shown["text/html"])
    assert "white-space:pre-wrap" in shown["text/html"] and display.WRAP_AT_SPACES in shown["text/html"]
    assert "&lt;and markup&gt;" in shown["text/html"]
