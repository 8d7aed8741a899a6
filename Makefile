# Two commands on a fresh machine: `make run` and `make test`. Each installs what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
WEB_SOURCES := $(shell find web -path web/dist -prune -o -type f -print 2>/dev/null) package.json vite.config.ts

.PHONY: install run test lint mypy test-py test-web e2e chromium build clean openapi

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

## A Sentinel group (primary, replica, 3 sentinels), two API nodes (PORT, PORT+1) and two consumers.
run-ha: install build
	$(PY) -m api.launcher_ha

## Lint gates, unit and integration tests, the web app's typecheck and tests, then the browser journeys.
test: lint test-py test-web e2e

## ruff (lint and format), the import contract (layers), mypy, ESLint. Also run by pre-commit.
lint: $(PY_STAMP) $(NODE_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	npm run lint

## The OpenAPI document the web app's types are generated from (a test holds the copy current).
openapi: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m api.openapi > web/src/api/openapi.json
	npm run gen:api

## mypy over api/ and jobs/ (strict on api/storage, api/cache and jobs); also part of `lint`.
mypy: $(PY_STAMP)
	$(VENV)/bin/mypy

test-py: $(PY_STAMP)
	$(PY) -m pytest tests

test-web: $(NODE_STAMP)
	npm run typecheck
	npm test

## Browser journeys against the real stack in Chromium; screenshots and traces of failures
## are kept in e2e-artifacts/.
e2e: $(PY_STAMP) build chromium
	$(PY) -m pytest e2e -p no:cacheprovider --screenshot only-on-failure \
		--tracing retain-on-failure --output e2e-artifacts

## Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@if [ -z "$$PLAYWRIGHT_CHROMIUM_EXECUTABLE" ] && ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

clean:
	rm -rf web/dist .pytest_cache e2e-artifacts

## Benchmarks: every row side by side in one run (a few minutes plus a 5-minute soak);
## writes docs/BENCHMARKS.md. Installs wrk, nginx and Chromium with apt when missing; without
## them the Python load generator is used and the nginx and browser rows say they were skipped.
.PHONY: bench bench-quick bench-tools
bench: $(PY_STAMP) bench-tools
	$(MAKE) build || echo "bench: web build failed: the browser row will be skipped"
	$(PY) -m tests.bench

## About a minute: shorter runs, smaller data; fails only if a benchmark itself breaks.
bench-quick: $(PY_STAMP)
	$(PY) -m tests.bench --quick

bench-tools:
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "bench: installing$$missing with apt"; \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing) \
			|| echo "bench: could not install$$missing: falling back (Python load generator, rows skipped)"; \
	fi
