"""Is this interpreter one the kit supports? Run by the Makefile before it builds a virtual environment.

    python3 tests/check_python.py            # exit 0 if supported, 1 if not; silent
    python3 tests/check_python.py --explain  # the same, saying in one line what it found and what to do

Kept to what Python 2.7 and every Python 3 can run, so that an old interpreter gets this message, not a
SyntaxError.
"""

from __future__ import print_function

import platform
import sys

OLDEST, NEWEST = (3, 11), (3, 13)  # as requires-python in pyproject.toml says; the pins install on each


def problem():
    found = "Python %s at %s" % (platform.python_version(), sys.executable)
    if platform.python_implementation() != "CPython":
        return found + " is %s; the kit needs CPython" % platform.python_implementation()
    if not OLDEST <= sys.version_info[:2] <= NEWEST:
        return found + " is not supported; the kit needs CPython %d.%d to %d.%d" % (OLDEST + NEWEST)
    try:
        import ensurepip  # noqa: F401  (Debian ships it apart, in the python3.X-venv package)
    except ImportError:
        minor = "python3.%d" % sys.version_info[1]
        return found + " cannot make virtual environments: install its venv module (apt install %s-venv)" % minor
    return None


def main():
    explain = "--explain" in sys.argv[1:]
    why = problem()
    if why is None:
        if explain:
            print("Using Python %s (%s); supported: CPython %d.%d to %d.%d"
                  % ((platform.python_version(), sys.executable) + OLDEST + NEWEST))
        return 0
    if explain:
        print("error: %s. Choose another with PYTHON=, e.g. make test PYTHON=python3.12" % why, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
