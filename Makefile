# make lab   set up .venv, then open JupyterLab on the notebooks
# make test  set up .venv, then run every test and every notebook under nbval
#
# .venv is (re)built from the pinned requirements.txt whenever it is missing, older than requirements.txt /
# pyproject.toml, or made by another interpreter than $(PYTHON). Supported: CPython 3.11 to 3.13.
# Another interpreter:       make test PYTHON=python3.12
# Several side by side:      make unit PYTHON=python3.13 VENV=.venv-3.13

PYTHON ?= $(firstword $(foreach p,python3 python3.13 python3.12 python3.11,$(if $(shell $(p) tests/check_python.py >/dev/null 2>&1 && echo ok),$(p))) python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# Which interpreter .venv was built with: a different PYTHON rebuilds it.
PYVER  := $(shell $(PYTHON) -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)
READY  := $(VENV)/.ready-$(or $(PYVER),none)
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 60

.PHONY: setup clients lab test unit notebooks run-notebooks browser-test stress bench lint clean which-python

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) tests/check_python.py --explain
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# nodemailer for the real-client tests, at the version tests/clients/node/package-lock.json names, from the npm
# registry: an install step, as pip's is, so that no test or notebook reaches past loopback. Without Node.js and
# npm (or if the install fails) the nodemailer tests are skipped, saying so.
NODEMAILER := tests/clients/node/node_modules/nodemailer/package.json
clients:
	@if [ ! -f $(NODEMAILER) ] && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error) \
	    || echo "warning: npm ci failed in tests/clients/node; the nodemailer tests will be skipped" >&2; \
	fi

test: setup clients
	$(BIN)/python -m pytest -rs tests $(wildcard notebooks/*.ipynb) $(NBVAL)

# The Python tests without the browser (which drives JupyterLab in Chromium), on any supported interpreter.
unit: setup clients
	$(BIN)/python -m pytest -rs tests -m "not browser"

notebooks: setup clients
	$(BIN)/python -m pytest $(wildcard notebooks/*.ipynb) $(NBVAL)

# Re-execute every notebook top to bottom in a fresh kernel and store the outputs in place (without
# timings or widget state, which change on every run and would only add noise to the diffs, and without
# this machine's paths in the tracebacks of cells that raise on purpose).
run-notebooks: setup clients
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=120 \
		--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb
	$(BIN)/python tests/tidy_notebooks.py notebooks/*.ipynb

# Every notebook in JupyterLab in headless Chromium (Debian's chromium package); screenshots in browser-screenshots/.
browser-test: setup
	$(BIN)/python -m pytest tests/test_browser.py -v -rs

# The timing-sensitive tests, three times in a row, while two processes keep both cores busy.
stress: setup
	$(BIN)/python tests/stress.py

# Our code against the bare libraries it wraps (aiosmtpd, smtplib), side by side, as ratios.
bench: setup
	$(BIN)/python tests/benchmarks.py

lint: setup
	$(BIN)/ruff check helpers tests

# The interpreter the other targets use (CI prints it).
which-python:
	@echo $(PYTHON)

clean:
	rm -rf .venv .venv-* .pytest_cache browser-screenshots
