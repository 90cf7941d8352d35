"""How the kit shows things: HTML that reads right in a notebook nobody has run or trusted, and text
that reads right in a terminal.

A notebook someone cloned is untrusted, and JupyterLab sanitizes the HTML stored in it before showing
it: `<style>` blocks, SVG, `id` and `data-` attributes go, and so does every inline style property or
value off its list. Tested with JupyterLab 4.6.6 (tests/test_browser.py opens committed notebooks the
way a reader first sees them), an inline `style=` keeps: grid and flex layout, borders (transparent
ones too), backgrounds, colours as #hex or rgb(), fonts by name, white-space, `word-break:normal`,
`overflow-wrap:break-word`, widths in px, em, % and calc(). It loses: `var(--jp-...)` theme colours,
`ch` units, `tab-size`, `word-break:break-word`, `overflow-wrap:anywhere`, transforms, clip-path,
pseudo-elements and `display:contents`. So everything here is built from what survives, and sets a
text colour wherever it sets a background (theme colours are out of reach, and a dark theme would
otherwise put light text on a light box).

GitHub drops every style, so the markup reads right without any: line breaks are `<br>`, never CSS,
and a sequence diagram carries the swaks marks (`->`, `<-`) in spans that the styled view hides.
Every rich object also has a text form (its repr, which is the text/plain of its output bundle) for
VS Code's plain view, GitHub and terminals.
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from helpers.transcript import ERROR, NOTE, RECEIVED, SENT, Line, Transcript

INK = "#222222"
MUTED = "#666666"
PAPER = "#ffffff"
RED = "#a61b1b"  # refusals and errors: text
RED_LINE = "#c0392b"
RED_TINT = "#fde8e8"
GREEN = "#1e7b34"  # what worked
TLS_LINE = "#2e8b57"
TLS_TINT = "#e8f5ec"
BLUE = "#2a6ebb"  # the diagnosis cards' edge
LANE = "#8a8a8a"
ARROW = "#444444"
CODE_TINT = "#f4f4f4"

MONOSPACE = "ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace"
# JupyterLab's own CSS breaks <pre> text anywhere (word-break: break-all); these wrap prose at spaces
# and break a word only when it is longer than the whole line.
WRAP_AT_SPACES = "word-break:normal;overflow-wrap:break-word"
TAB_WIDTH = "2.4em"  # four columns of a monospace font; `tab-size` and `ch` do not survive the sanitizer


@dataclass(frozen=True)
class View:
    """Something to show: HTML for a notebook, the same in text for a terminal (and for the text/plain
    of the output bundle, which VS Code, GitHub and `print` fall back on)."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


@dataclass(frozen=True)
class Markdown:
    """Markdown for a notebook, whose source is also its text form (IPython's own Markdown object
    leaves a terminal or a plain viewer only `<IPython.core.display.Markdown object>`)."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def wrapped(text: str) -> View:
    """Plain text such as a report or a log, unchanged, that a notebook wraps at spaces: printed, it
    would sit in JupyterLab's <pre>, which breaks a long line in the middle of a word."""
    style = f"margin:0;white-space:pre-wrap;{WRAP_AT_SPACES};font-family:{MONOSPACE};font-size:13px"
    return View(f'<pre style="{style}">{escape(text)}</pre>', text)


def escape(text: str) -> str:
    return html.escape(text, quote=True)


_BACKTICKS = re.compile(r"`([^`\n]+)`")


def prose(text: str) -> str:
    """Catalog prose as HTML: escaped, with its `backticked` spans as code."""
    return _BACKTICKS.sub(lambda found: f"<code>{found.group(1)}</code>", escape(text))


def code_block(code: str) -> str:
    """Code in a grey box, never wrapped (it scrolls sideways), tabs four columns wide."""
    # Each tab stays a tab character, so copied code keeps gofmt's indentation; a box of fixed width
    # around it sets how wide it shows.
    tab = f'<span style="display:inline-block;width:{TAB_WIDTH};overflow:hidden;vertical-align:bottom">\t</span>'
    body = escape(code.rstrip("\n")).replace("\t", tab)
    return (f'<pre class="smtp-code" style="margin:4px 0 8px;padding:6px 8px;background:{CODE_TINT};color:{INK};'
            f'font-family:{MONOSPACE};font-size:12px;line-height:1.4;white-space:pre;word-break:normal;'
            f'overflow-x:auto;text-align:left">{body}</pre>')


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned columns of text; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Sequence[str],
               caption: str = "") -> str:
    """An HTML table of the given column widths (cells are HTML already); it wraps inside its cells,
    at spaces, rather than growing wider than about 950 px."""
    cell = f"text-align:left;vertical-align:top;padding:3px 8px;{WRAP_AT_SPACES}"
    columns = "".join(f'<col style="width:{width}">' for width in widths)
    head = "".join(f'<th style="{cell}">{escape(name)}</th>' for name in header)
    body = "".join("<tr>" + "".join(f'<td style="{cell}">{value}</td>' for value in row) + "</tr>" for row in rows)
    below = f'<p style="margin:4px 0">{caption}</p>' if caption else ""
    return (f'<table class="smtp-table" style="table-layout:fixed;width:100%;max-width:950px;'
            f'border-collapse:collapse;font-size:13px;margin:4px 0">'
            f"<colgroup>{columns}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{below}")


def notice(text: str, *, colour: str | None = None, quiet: bool = False) -> str:
    """A paragraph (of HTML) that wraps at spaces, in the theme's colour unless given one. `quiet` is
    small print: smaller and fainter, by opacity, so it stays readable on a dark theme too."""
    style = f"margin:4px 0;{WRAP_AT_SPACES}"
    style += f";color:{colour}" if colour else ""
    style += ";font-size:12px;opacity:0.75" if quiet else ""
    return f'<p style="{style}">{text}</p>'


# --------------------------------------------------------------------------------------------------
# The sequence diagram


def sequence_diagram(transcript: Transcript) -> str:
    """The conversation as two lanes, the client's and the server's, with one arrow per command or
    reply pointing the way it went; the TLS boundary as a dashed line, what crossed inside TLS tinted
    green, refusals and errors in red."""
    lane = _lane_width(transcript.peer or "server")
    rows = [_head(lane, transcript.peer or "server")]
    for kind, lines in _groups(transcript.lines):
        if kind == NOTE and lines[0].text.startswith("TLS started"):
            rows.append(_boundary(lane, lines[0]))
        elif kind == NOTE:
            rows.append(_row(lane, "note", _note(lines[0])))
        elif kind == ERROR:
            rows.append(_row(lane, "error", _error(lines[0])))
        else:
            rows.append(_message(lane, lines))
    if not transcript.lines:
        rows.append(_row(lane, "note", _note(Line(NOTE, "(no connection was made)"))))
    return (f'<div class="smtp-seq" style="font:12px/1.45 {MONOSPACE};color:{INK};background:{PAPER};'
            f'max-width:900px;margin:6px 0;padding:6px 0 8px;{WRAP_AT_SPACES}">{"".join(rows)}</div>')


def _lane_width(peer: str) -> str:
    """Wide enough for the longer of the two lane labels on one line, within reason."""
    return f"{min(max(len(peer), len('client')) * 0.62 + 1.6, 18):.1f}em"


def _groups(lines: Sequence[Line]) -> list[tuple[str, list[Line]]]:
    """One group per arrow: the lines of one reply (a multi-line reply ends with `250 ` after `250-`),
    consecutive lines the client sent (a command, or the message after DATA), or one note or error."""
    groups: list[tuple[str, list[Line]]] = []
    for line in lines:
        if groups and line.direction in (SENT, RECEIVED):
            kind, group = groups[-1]
            last = group[-1]
            same_way = kind == line.direction and last.tls == line.tls
            reply_goes_on = line.direction == RECEIVED and last.text[3:4] == "-"
            if same_way and (line.direction == SENT or reply_goes_on):
                group.append(line)
                continue
        groups.append((line.direction, [line]))
    return groups


def _row(lane: str, kind: str, middle: str, *, style: str = "") -> str:
    """A row of the diagram: the client's lifeline, the middle, the server's lifeline."""
    lifeline = f"border-right:2px solid {LANE}"
    return (f'<div class="smtp-row {kind}" style="display:grid;grid-template-columns:{lane} minmax(0,1fr) {lane};'
            f'{style}"><div style="{lifeline}"></div>{middle}<div style="border-left:2px solid {LANE}"></div></div>')


def _head(lane: str, peer: str) -> str:
    box = (f"margin:0 6px 0 0;padding:3px 6px;border:1px solid {LANE};border-radius:4px;background:{CODE_TINT};"
           f"color:{INK};font-weight:bold;text-align:center")
    return (f'<div class="smtp-row smtp-head" style="display:grid;grid-template-columns:{lane} minmax(0,1fr) {lane}">'
            f'<div style="{box}">client</div><div></div><div style="{box};margin:0 0 0 6px">{escape(peer)}</div></div>')


def _marks(line: Line) -> str:
    """The line's swaks mark, shown only where styles are dropped (GitHub): the arrows say it otherwise."""
    return f'<span style="display:none">{escape(line.mark)} </span>'


def _message(lane: str, lines: list[Line]) -> str:
    first = lines[0]
    sent = first.direction == SENT
    refused = any(line.unexpected for line in lines)
    ink, shaft = (RED, RED_LINE) if refused else (INK, ARROW)
    tint = RED_TINT if refused else TLS_TINT if first.tls else ""
    text = "<br>".join(_marks(line) + escape(line.text) for line in lines)
    # The text sits at the sender's end of its arrow: a reply's lines hug the server's lane.
    block = (f'<div style="display:flex;justify-content:{"flex-start" if sent else "flex-end"};padding:0 12px">'
             f'<div class="smtp-text" style="white-space:pre-wrap;text-align:left;color:{ink}">{text}</div></div>')
    # An arrow is a line and a triangle drawn with borders (no pseudo-elements, no SVG: neither survives).
    tip = (f'<div class="smtp-tip" style="width:0;height:0;border-top:5px solid transparent;'
           f'border-bottom:5px solid transparent;{"border-left" if sent else "border-right"}:9px solid {shaft}"></div>')
    shaft_line = f'<div style="flex:1 1 0;border-top:2px solid {shaft}"></div>'
    parts = shaft_line + tip if sent else tip + shaft_line
    arrow = f'<div class="smtp-arrow" style="display:flex;align-items:center">{parts}</div>'
    classes = " ".join(filter(None, [first.direction, "tls" if first.tls else "", "refused" if refused else ""]))
    background = f"background:{tint};" if tint else ""
    # Padding, not margin, between arrows: consecutive rows inside TLS make one green band.
    return _row(lane, classes, f'<div style="{background}padding:5px 0 3px">{block}{arrow}</div>')


def _note(line: Line) -> str:
    return (f'<div style="padding:2px 12px;text-align:center;font-style:italic;color:{MUTED}">'
            f"{_marks(line)}{escape(line.text)}</div>")


def _error(line: Line) -> str:
    return (f'<div style="margin:3px 8px;padding:2px 6px;border:1px solid {RED_LINE};background:{RED_TINT};'
            f'color:{RED};text-align:left">{_marks(line)}&#10007; {escape(line.text)}</div>')


def _boundary(lane: str, line: Line) -> str:
    text = (f'<div style="padding:1px 12px 3px;text-align:center;color:{TLS_LINE}">'
            f"{_marks(line)}{escape(line.text)}: encrypted from here on</div>")
    return _row(lane, "boundary", text, style=f"border-top:2px dashed {TLS_LINE};margin-top:4px")


def reader_gone() -> None:
    """After a BrokenPipeError on standard output (a command piped into `head`, which stopped reading): what is
    left in its buffer goes nowhere, where Python's last flush would print "Exception ignored ... BrokenPipeError"
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
