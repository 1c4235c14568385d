# pagedesk — the two set-up commands are `make demo` and `make test`; the rest are for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8100
export PAGEDESK_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo install install-test browser system-tools test test-fast check fmt bench serve simulator clean

$(BIN)/pagedesk: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/pagedesk

install: $(BIN)/pagedesk

## demo: install, migrate, load demo data (idempotent), start the app, print the URLs and logins.
demo: install
	BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) SIM_PORT=$(SIM_PORT) ./scripts/demo.sh

## browser: Debian's chromium for the Playwright tests (Playwright never downloads its own browser here).
# The colour-emoji font lets the emoji picker render in headless chromium (screenshots).
browser:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="chromium"; \
	dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages for the browser tests:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq $$missing; fi; \
	fi

## system-tools: Debian's nginx for tests/system/, which run the shipped deploy/nginx/pagedesk.conf in front of
# several pagedesk processes (nginx is started there from a temporary folder, never as a service).
system-tools:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
		echo "Installing Debian packages for the system tests: nginx"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nginx; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq nginx; fi; \
	fi

## test: everything the tests need, then every test (unit, integration, browser, system).
test: install browser system-tools
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -m "not e2e and not slow and not system" $(PYTEST_ARGS)

## check: lint, format, types and the layer contracts (docs/architecture.md).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy pagedesk
	$(BIN)/lint-imports --no-cache

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

serve: install
	$(BIN)/pagedesk serve --host $(HOST) --port $(PORT)

simulator: install
	$(BIN)/pagedesk simulator --host $(HOST) --port $(SIM_PORT) --pagedesk-url http://$(HOST):$(PORT)

clean:
	rm -rf $(VENV) build *.egg-info test-results
