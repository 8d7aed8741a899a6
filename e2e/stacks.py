"""The real stack, launched as `make run` launches it: `python -m api.launcher` (embedded Redis,
gunicorn API, Huey consumer, the built SPA) on a free loopback port with its own DATA_DIR and a
known admin token; waited for on /readyz and stopped with everything it started.

At the end a launcher is stopped with SIGTERM (it stops API, worker and Redis); anything of its
process tree still alive after that is killed by PID. honcho gives every child its own process
group and Redis its own session, so killing the launcher's group alone is not enough.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from api.embedded_redis import free_port

from .processes import descendants, end_leftovers, reap

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "e2e-admin-token-0123456789"
WINDOW_SECONDS = 20
STEADY_WINDOW_SECONDS = 24 * 3600


@dataclass
class Stack:
    name: str
    base_url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    window_seconds: int
    tree: dict[int, str] = field(default_factory=dict, repr=False)  # descendants seen while running

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

    def stats(self) -> dict:
        """The admin dashboard's numbers (`GET /api/v1/monitoring/stats`). Each process writes
        its counts every ACCESS_FLUSH_SECONDS, so a count can lag that long behind the traffic."""
        status, body = self.api("GET", "/api/v1/monitoring/stats", admin=True)
        assert status == 200, body
        return body

    def access_log(self, pattern: str) -> list[str]:
        """gunicorn access-log lines (honcho copies them into the stack log) matching `pattern`."""
        regex = re.compile(pattern)
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if regex.search(line)]

    def remember_tree(self) -> None:
        self.tree.update(descendants(self.process.pid))


def launch(
    name: str, data_dir: Path, window_seconds: int, min_remaining: int | None, extra_env: dict[str, str] | None = None
) -> Stack:
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
    env.update(extra_env or {})
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


def wait_ready(stack: Stack, timeout: float = 90.0) -> None:
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


def stop(stack: Stack) -> None:
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
    leftovers = end_leftovers(stack.tree)
    reap(stack.tree)
    if leftovers:
        raise RuntimeError(f"{stack.name} stack left processes behind: {leftovers}")


def keep_log(stack: Stack, output: Path) -> None:
    """Copy the stack's log (API access log, worker, launcher) into `output`, next to the test
    artifacts."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stack.log_path, output / f"stack-{stack.name}.log")
    except OSError:
        pass


@contextmanager
def own_stack(name: str, data_dir: Path, output: Path, extra_env: dict[str, str]) -> Iterator[Stack]:
    """A steady-window stack of one test module with its own settings: ready, then stopped and
    its log kept."""
    stack = launch(name, data_dir, STEADY_WINDOW_SECONDS, None, extra_env=extra_env)
    try:
        wait_ready(stack)
        yield stack
    finally:
        stop(stack)
        keep_log(stack, output)
