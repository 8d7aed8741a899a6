"""The real stack (embedded Redis, gunicorn API, Huey consumer, built SPA) in real Chromium.

One session fixture starts `python -m api.launcher` — the same path `make run` takes — on a
free loopback port with its own DATA_DIR, short signing windows and a known admin token, waits
for /readyz, and stops the whole process group at the end.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
WINDOW_SECONDS = 20
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Stack:
    base_url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    def api(self, method: str, path: str, body: object | None = None, admin: bool = False) -> tuple[int, dict]:
        """Call the API like a script would (not through the browser)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if admin:
            request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def chromium_executable() -> str | None:
    """PLAYWRIGHT_CHROMIUM_EXECUTABLE, else Debian's chromium, else Playwright's own browser."""
    explicit = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _wait_ready(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stack exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(base_url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"stack not ready after {timeout}s:\n{log_path.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the launcher (it stops API, worker and Redis), then make sure the group is gone."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything left behind by a crash
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    if not (ROOT / "web" / "dist" / "index.html").exists():
        pytest.fail("web/dist is not built: run `make build` (make e2e does)")
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "STORAGE_BACKEND"}}
    env.update(
        DATA_DIR=str(data_dir),
        PORT=str(port),
        ADMIN_TOKEN=ADMIN_TOKEN,
        URL_WINDOW_SECONDS=str(WINDOW_SECONDS),
        URL_MIN_REMAINING_SECONDS=str(WINDOW_SECONDS),
        WEB_CONCURRENCY="2",
        LOG_LEVEL="warning",
    )
    log_path = data_dir / "stack.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.launcher"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown can reap everything
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base_url, process, log_path)
        yield Stack(base_url, data_dir, process, log_path)
    finally:
        _stop(process)


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


class ConsoleWatch:
    """Console errors and uncaught page errors seen by a page; tests may allow expected ones."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (e.g. a resource this test breaks on purpose)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(page, console: ConsoleWatch):
    """Every test fails on a console error or an uncaught page error it did not expect."""
    page.on("console", lambda m: m.type == "error" and console.problems.append(f"console: {m.text} @ {m.location}"))
    page.on("pageerror", lambda error: console.problems.append(f"pageerror: {error}"))
    yield page
    assert console.unexpected() == [], "\n".join(console.unexpected())
