"""SMTP Port Lab helpers: the machinery the notebooks stand on.

The names notebooks use most are importable from here; each lives in the module named beside it.
Imports are lazy so that `python -m helpers.lab` (and the other command lines) start cleanly.
"""

from importlib import import_module

_EXPORTS = {
    "Lab": "helpers.lab",
    "start_lab": "helpers.lab",
    "send": "helpers.client",
    "EHLO_NAME": "helpers.client",
    "record": "helpers.transcript",
    "diagnose": "helpers.diagnose",
    "explain": "helpers.diagnose",
    "examine": "helpers.doctor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
