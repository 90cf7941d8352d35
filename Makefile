# make lab   set up .venv, then open JupyterLab on the notebooks
# make test  set up .venv, then run every test and every notebook under nbval
#
# .venv is (re)built from the pinned requirements.txt whenever it is missing or older than
# requirements.txt / pyproject.toml, so a fresh clone needs only Python 3.11 and pip.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 60

.PHONY: setup lab test unit notebooks run-notebooks browser-test bench lint clean

setup: $(READY)

$(READY): requirements.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	$(BIN)/python -m pytest tests $(wildcard notebooks/*.ipynb) $(NBVAL)

# Only the Python tests, or only the notebooks.
unit: setup
	$(BIN)/python -m pytest tests

notebooks: setup
	$(BIN)/python -m pytest $(wildcard notebooks/*.ipynb) $(NBVAL)

# Re-execute every notebook top to bottom in a fresh kernel and store the outputs in place (without
# timings or widget state, which change on every run and would only add noise to the diffs).
run-notebooks: setup
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=120 \
		--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb

# Every notebook in JupyterLab in headless Chromium (Debian's chromium package); screenshots in browser-screenshots/.
browser-test: setup
	$(BIN)/python -m pytest tests/test_browser.py -v -rs

# Our code against the bare libraries it wraps (aiosmtpd, smtplib), side by side, as ratios.
bench: setup
	$(BIN)/python tests/benchmarks.py

lint: setup
	$(BIN)/ruff check helpers tests

clean:
	rm -rf $(VENV) .pytest_cache browser-screenshots
