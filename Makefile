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

.PHONY: demo test install chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Front-end assets (NHS.UK frontend, HTMX, axe-core) from the npm registry, exact versions from the lock.
node_modules/.uptake-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests and the board pack's PDF (uptake.web.pdf; Playwright's own browser
# download does not work offline).
CHROMIUM := $(shell command -v chromium 2>/dev/null)
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)
chromium:
ifeq ($(CHROMIUM),)
	$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
		|| echo "could not install chromium: the browser tests will be skipped and board packs (PDF) cannot be made"
endif

install: $(STAMP) node_modules/.uptake-installed

demo: install chromium
	$(BIN)/uptake demo --workspace $(WORKSPACE)

test: install chromium
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache
