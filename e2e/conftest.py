"""The real stack (embedded Redis, gunicorn API, Huey consumer, built SPA) in real Chromium.

Three session stacks, each `python -m api.launcher` (the same path `make run` takes) on a free
loopback port with its own DATA_DIR and a known admin token, started side by side and waited
for on /readyz:

- `stack`: 20 s signing windows (URL_WINDOW_SECONDS=20, URL_MIN_REMAINING_SECONDS=20), for the
  expiry scenarios: a URL rolls over every 20 s and dies 20 s later.
- `steady_stack`: one-day windows, for journeys that must happen *within* one window (a warm
  reload that needs no lookup, a retry that must not be rescued by a rollover). With 20 s
  windows and a per-key phase, some on-screen key rolls over during almost any few seconds.
- `admin_stack`: one-day windows and nobody else's traffic, so its counters start at zero.

At the end each launcher is stopped with SIGTERM (it stops API, worker and Redis); anything of
its process tree still alive after that is killed by PID. honcho gives every child its own
process group and Redis its own session, so killing the launcher's group alone is not enough.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from api.embedded_redis import free_port

from . import support

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
WINDOW_SECONDS = 20
STEADY_WINDOW_SECONDS = 24 * 3600
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ---- processes ------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live, non-zombie process, from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), fields[19])
    return table


def _descendants(root: int) -> dict[int, str]:
    """Live descendants of `root` -> their start time (so a reused PID is never mistaken)."""
    table = _process_table()
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier and pid not in found}
        found.update({pid: table[pid][1] for pid in frontier})
    return found


def _still_ours(pid: int, started: str) -> bool:
    entry = _process_table().get(pid)
    return entry is not None and entry[1] == started


@dataclass
class Stack:
    name: str
    base_url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    window_seconds: int
    tree: dict[int, str] = field(default_factory=dict)  # descendants seen while running

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

    def access_log(self, pattern: str) -> list[str]:
        """gunicorn access-log lines (honcho copies them into the stack log) matching `pattern`."""
        regex = re.compile(pattern)
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if regex.search(line)]

    def remember_tree(self) -> None:
        self.tree.update(_descendants(self.process.pid))


def chromium_executable() -> str | None:
    """PLAYWRIGHT_CHROMIUM_EXECUTABLE, else Debian's chromium, else Playwright's own browser."""
    explicit = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _launch(name: str, data_dir: Path, window_seconds: int, min_remaining: int | None) -> Stack:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "STORAGE_BACKEND"}}
    env.update(
        DATA_DIR=str(data_dir),
        PORT=str(port),
        ADMIN_TOKEN=ADMIN_TOKEN,
        URL_WINDOW_SECONDS=str(window_seconds),
        WEB_CONCURRENCY="2",
        LOG_LEVEL="warning",
    )
    if min_remaining is not None:
        env["URL_MIN_REMAINING_SECONDS"] = str(min_remaining)
    log_path = data_dir / "stack.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.launcher"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Stack(name, f"http://127.0.0.1:{port}", data_dir, process, log_path, window_seconds)


def _wait_ready(stack: Stack, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(
                f"{stack.name} stack exited with {stack.process.returncode}:\n{stack.log_path.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(stack.base_url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    stack.remember_tree()
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{stack.name} stack not ready after {timeout}s:\n{stack.log_path.read_text()[-4000:]}")


def _stop(stack: Stack) -> None:
    """SIGTERM the launcher (it stops API, worker and Redis), then kill what is left, by PID."""
    process = stack.process
    if process.poll() is None:
        stack.remember_tree()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the launcher's own group (honcho's threads)
    except (ProcessLookupError, PermissionError):
        pass
    leftovers = {pid: started for pid, started in stack.tree.items() if _still_ours(pid, started)}
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if not leftovers:
            break
        for pid in leftovers:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            leftovers = {pid: s for pid, s in leftovers.items() if _still_ours(pid, s)}
            if not leftovers:
                break
            time.sleep(0.1)
    _reap(stack.tree)
    if leftovers:
        raise RuntimeError(f"{stack.name} stack left processes behind: {sorted(leftovers)}")


def _become_subreaper() -> None:
    """Make orphans of the stacks our children instead of PID 1's.

    On shutdown honcho's `sh -c` wrappers exit before gunicorn and huey_consumer finish, so those
    are orphaned; a lazy PID 1 then leaves them as `<defunct>` zombies for a while after the run.
    As their subreaper the session reaps them itself (see `_reap`).
    """
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to do
        pass


def _reap(pids) -> None:
    """Collect the exit status of those of `pids` that are our (dead) children; never waits."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (or already collected)
            pass


@pytest.fixture(scope="session")
def _stacks(tmp_path_factory, pytestconfig) -> Iterator[dict[str, Stack]]:
    """All stacks, launched together (about 6 s each, mostly demo images) and stopped together."""
    if not (ROOT / "web" / "dist" / "index.html").exists():
        pytest.fail("web/dist is not built: run `make build` (make e2e does)")
    _become_subreaper()
    launched: dict[str, Stack] = {}
    try:
        launched["short"] = _launch("short", tmp_path_factory.mktemp("e2e-short"), WINDOW_SECONDS, WINDOW_SECONDS)
        launched["steady"] = _launch("steady", tmp_path_factory.mktemp("e2e-steady"), STEADY_WINDOW_SECONDS, None)
        launched["admin"] = _launch("admin", tmp_path_factory.mktemp("e2e-admin"), STEADY_WINDOW_SECONDS, None)
        yield launched
    finally:
        errors = []
        for stack in launched.values():
            try:
                # A launcher still starting up dies on SIGTERM without stopping its Redis: let it
                # finish first (a no-op for the stacks the tests used).
                _wait_ready(stack, timeout=60)
            except Exception:
                pass
            try:
                _stop(stack)
            except Exception as error:  # stop the other one anyway
                errors.append(error)
            _keep_log(pytestconfig, stack)
        if errors:
            raise errors[0]


def _keep_log(pytestconfig, stack: Stack) -> None:
    """Copy the stack's log (API access log, worker, launcher) next to the test artifacts."""
    output = Path(pytestconfig.getoption("--output"))
    try:
        output.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stack.log_path, output / f"stack-{stack.name}.log")
    except OSError:
        pass


@pytest.fixture(scope="session")
def stack(_stacks) -> Stack:
    """20 s signing windows: URLs roll over every 20 s and expire 20 s after that."""
    _wait_ready(_stacks["short"])
    return _stacks["short"]


@pytest.fixture(scope="session")
def steady_stack(_stacks) -> Stack:
    """One-day signing windows: a test's few seconds stay inside one window."""
    _wait_ready(_stacks["steady"])
    return _stacks["steady"]


@pytest.fixture(scope="session")
def admin_stack(_stacks) -> Stack:
    """A stack of its own for the admin journey: its counters start at zero, its tasks table holds
    only the periodic jobs and what the journey enqueues, whatever ran before."""
    _wait_ready(_stacks["admin"])
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


# ---- console ---------------------------------------------------------------------------------


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

    def watch(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text} @ {m.location}"))
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(page, console: ConsoleWatch):
    """Every test fails on a console error or an uncaught page error it did not expect."""
    console.watch(page)
    yield page
    assert console.unexpected() == [], "\n".join(console.unexpected())


# ---- measured numbers ------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not support.METRICS:
        return
    output = Path(config.getoption("--output", default="test-results"))
    output.mkdir(parents=True, exist_ok=True)
    path = output / "metrics.json"
    path.write_text(json.dumps(support.METRICS, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("gallery numbers")
    for name, value in sorted(support.METRICS.items()):
        terminalreporter.write_line(f"{name:40} {value}")
    terminalreporter.write_line(f"(written to {path})")
