# Two commands on a fresh machine: `make run` and `make test`. Each installs what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
WEB_SOURCES := $(shell find web -path web/dist -prune -o -type f -print 2>/dev/null) package.json vite.config.ts

.PHONY: install run test test-py test-web build clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

web/dist/index.html: $(NODE_STAMP) $(WEB_SOURCES)
	npm run build

build: web/dist/index.html

## Start embedded Redis + API + worker on http://127.0.0.1:8080 (prints the admin token).
run: install build
	$(PY) -m api.launcher

## Unit and integration tests, then the web app's typecheck and tests.
test: test-py test-web

test-py: $(PY_STAMP)
	$(PY) -m pytest tests

test-web: $(NODE_STAMP)
	npm run typecheck
	npm test

clean:
	rm -rf web/dist .pytest_cache
