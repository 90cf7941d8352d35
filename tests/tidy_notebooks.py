"""Take what changes from run to run out of executed notebooks (make run-notebooks runs it): this machine's
paths in stored tracebacks, and the random ids of widget views.

A cell that raises on purpose keeps its traceback, so a reader sees which call raised; IPython prints each
frame's file as an absolute path ("/home/you/smtp-port-lab/helpers/transcript.py", "~/.pyenv/versions/3.11.7/
lib/python3.11/smtplib.py"), which says nothing about the lesson and would differ on every machine. Paths
under the repository become relative to it; the standard library's become "lib/python3.X/...".

A cell's printed lines reach the notebook in as many pieces as the kernel happened to flush them in; consecutive
pieces of one stream are joined into one output, as they read.

A widget's view is stored as a reference to a model id that IPython draws at random on every run. The
models themselves are not stored (nbconvert runs with store_widget_state=False), so the id points nowhere in
any case and a reader sees the output's HTML or text placeholder; numbering the ids by cell keeps the diffs of
a re-run to what really changed.

    python tests/tidy_notebooks.py notebooks/*.ipynb
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _replacements() -> list[tuple[str, str]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    short = f"{stdlib.parent.name}/{stdlib.name}"  # lib/python3.11
    pairs = []
    for path, shown in ((stdlib, short), (ROOT, "")):
        for spelling in (str(path), str(path).replace(os.path.expanduser("~"), "~", 1)):
            pairs.append((spelling + "/", shown + "/" if shown else ""))
    return pairs


def tidy(path: Path) -> bool:
    """Rewrite `path` in place if a traceback in it holds a machine path or a widget view a random id;
    True if it changed."""
    notebook = nbformat.read(path, as_version=4)
    replacements, changed = _replacements(), False
    for number, cell in enumerate(notebook.cells):
        joined = _joined_streams(cell.get("outputs", []))
        if "outputs" in cell and joined != cell["outputs"]:
            cell["outputs"], changed = joined, True
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view is not None:
                model_id = f"{path.stem}-cell-{number}"
                changed |= view.get("model_id") != model_id
                view["model_id"] = model_id
            if output.get("output_type") != "error":
                continue
            lines = []
            for line in output["traceback"]:
                for old, new in replacements:
                    line = line.replace(old, new)
                lines.append(line)
            changed |= lines != output["traceback"]
            output["traceback"] = lines
    if changed:
        nbformat.write(notebook, path)
    return changed


def _joined_streams(outputs: list) -> list:
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
            joined[-1] = nbformat.from_dict({**previous, "text": previous["text"] + output["text"]})
        else:
            joined.append(output)
    return joined


if __name__ == "__main__":
    for name in sys.argv[1:]:
        if tidy(Path(name)):
            print(f"tidied {name}")
