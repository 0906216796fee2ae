# The two commands of the README's quick start:
#   make demo   install everything, build the demo workspace from real NHS data and serve it
#   make test   install everything and run the whole test suite
# Each creates .venv if it is missing and installs the pinned requirements (name==version, no URLs).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.uptake-installed
WORKSPACE ?= uptake-workspace
PYTEST_ARGS ?=

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/uptake demo --workspace $(WORKSPACE)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache
