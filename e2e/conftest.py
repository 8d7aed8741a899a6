"""Fixtures of the browser journeys: the real stack (see `stacks`) in real Chromium.

Three session stacks, started side by side and waited for on /readyz:

- `stack`: 20 s signing windows (URL_WINDOW_SECONDS=20, URL_MIN_REMAINING_SECONDS=20), for the
  expiry scenarios: a URL rolls over every 20 s and dies 20 s later.
- `steady_stack`: one-day windows, for journeys that must happen *within* one window (a warm
  reload that needs no lookup, a retry that must not be rescued by a rollover). With 20 s
  windows and a per-key phase, some on-screen key rolls over during almost any few seconds.
- `admin_stack`: one-day windows and nobody else's traffic, so its counters start at zero.

Every page fails its test on a console error or an uncaught page error the test did not expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from . import metrics
from .browser import CHROMIUM_ARGS, chromium_executable
from .console import ConsoleWatch
from .processes import become_subreaper
from .stacks import ROOT, STEADY_WINDOW_SECONDS, WINDOW_SECONDS, Stack, keep_log, launch, stop, wait_ready


@pytest.fixture(scope="session")
def _stacks(tmp_path_factory, pytestconfig) -> Iterator[dict[str, Stack]]:
    """All stacks, launched together (about 6 s each, mostly demo images) and stopped together."""
    if not (ROOT / "web" / "dist" / "index.html").exists():
        pytest.fail("web/dist is not built: run `make build` (make e2e does)")
    become_subreaper()
    launched: dict[str, Stack] = {}
    try:
        launched["short"] = launch("short", tmp_path_factory.mktemp("e2e-short"), WINDOW_SECONDS, WINDOW_SECONDS)
        launched["steady"] = launch("steady", tmp_path_factory.mktemp("e2e-steady"), STEADY_WINDOW_SECONDS, None)
        launched["admin"] = launch("admin", tmp_path_factory.mktemp("e2e-admin"), STEADY_WINDOW_SECONDS, None)
        yield launched
    finally:
        errors = []
        for stack in launched.values():
            try:
                # A launcher still starting up dies on SIGTERM without stopping its Redis: let it
                # finish first (a no-op for the stacks the tests used).
                wait_ready(stack, timeout=60)
            except Exception:
                pass
            try:
                stop(stack)
            except Exception as error:  # stop the other one anyway
                errors.append(error)
            keep_log(stack, Path(pytestconfig.getoption("--output")))
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def stack(_stacks) -> Stack:
    """20 s signing windows: URLs roll over every 20 s and expire 20 s after that."""
    wait_ready(_stacks["short"])
    return _stacks["short"]


@pytest.fixture(scope="session")
def steady_stack(_stacks) -> Stack:
    """One-day signing windows: a test's few seconds stay inside one window."""
    wait_ready(_stacks["steady"])
    return _stacks["steady"]


@pytest.fixture(scope="session")
def admin_stack(_stacks) -> Stack:
    """A stack of its own for the admin journey: its counters start at zero, its tasks table holds
    only the periodic jobs and what the journey enqueues, whatever ran before."""
    wait_ready(_stacks["admin"])
    return _stacks["admin"]


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    executable = chromium_executable()
    if executable:
        args["executable_path"] = executable
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # English first, whatever the machine's locale: the language journey switches it itself.
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 720}}


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(page: Page, console: ConsoleWatch) -> Iterator[Page]:
    """Every test fails on a console error or an uncaught page error it did not expect."""
    console.watch(page)
    yield page
    assert console.unexpected() == [], "\n".join(console.unexpected())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    metrics.report(terminalreporter, Path(config.getoption("--output", default="test-results")))
