"""Fault drills on the stack `make run` starts: kill one process under load, measure what users saw.

Shared by the fault tests (which assert the bounds) and the `faults` benchmark row (which
reports them). Everything runs on loopback and stops by itself.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from api.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[1]
RECOVERY_TIMEOUT = 15.0  # seconds within which a killed process must be back


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def descendants(root: int) -> set[int]:
    """Live (non-zombie) descendants of `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    """One request on a fresh connection: (status, headers, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class LaunchedStack:
    """`python -m api.launcher` on its own data dir and port, as `make run` starts it."""

    def __init__(self, data_dir: Path, web_concurrency: int = 2) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "ADMIN_TOKEN"}}
        env.update(
            DATA_DIR=str(data_dir), PORT=str(self.port), WEB_CONCURRENCY=str(web_concurrency), LOG_LEVEL="warning"
        )
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.output = b""

    def start(self, timeout: float = 60.0) -> LaunchedStack:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.launcher"],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._drain, daemon=True).start()  # a full pipe would block the stack
        self.wait_ready(timeout)
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.output += line

    def wait_ready(self, timeout: float = RECOVERY_TIMEOUT) -> float:
        """Seconds until /readyz says ok."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            assert self.process is not None and self.process.poll() is None, self.output.decode()[-3000:]
            try:
                status, _, body = request(self.port, "GET", "/readyz")
                if status == 200 and json.loads(body)["status"] == "ok":
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"not ready within {timeout} s:\n{self.output.decode()[-3000:]}")

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        return self.output.decode()

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-token.secret").read_text().strip()

    @property
    def redis(self) -> redis.Redis:
        conf = (self.data_dir / "redis" / "redis.conf").read_text()
        port = next(line.split()[1] for line in conf.splitlines() if line.startswith("port "))
        return redis.Redis(host="127.0.0.1", port=int(port), socket_timeout=2)

    def ctl(self, *args: str) -> str:
        supervisorctl = Path(sys.executable).parent / "supervisorctl"
        config = self.data_dir / "supervisord.conf"
        return subprocess.run(
            [str(supervisorctl), "-c", str(config), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program))

    def wait_new_pid(self, program: str, old: int) -> float:
        """Seconds until `program` runs again under a new PID."""
        started = time.monotonic()
        while time.monotonic() - started < RECOVERY_TIMEOUT:
            try:
                pid = self.pid(program)
                if pid not in (0, old) and "RUNNING" in self.ctl("status", program):
                    return time.monotonic() - started
            except ValueError:  # supervisorctl printed an error while it restarts
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{program} not restarted within {RECOVERY_TIMEOUT} s")

    def web_workers(self) -> set[int]:
        return descendants(self.pid("web"))

    def known_keys(self, count: int = 40) -> list[str]:
        _, _, body = request(self.port, "GET", f"/api/v1/images?prefix=demo/&limit={count}")
        keys = [item["key"] for item in json.loads(body)["items"]]
        for key in keys:  # every entry in L2, and in the L1 of whichever worker answered
            assert request(self.port, "GET", f"/i/{key}")[0] == 302
        return keys

    def job_succeeds(self, key: str) -> float:
        """Seconds for a refresh job to be taken and to succeed."""
        started = time.monotonic()
        status, _, body = request(self.port, "POST", "/api/v1/tasks/refresh", {"image_key": key}, self.token)
        assert status == 202, body
        task_id = json.loads(body)["task_id"]
        while time.monotonic() - started < RECOVERY_TIMEOUT:
            status, _, body = request(self.port, "GET", f"/api/v1/tasks/{task_id}", token=self.token)
            if status == 200 and json.loads(body)["status"] == "succeeded":
                return time.monotonic() - started
            time.sleep(0.2)
        raise TimeoutError(f"refresh task {task_id} did not succeed within {RECOVERY_TIMEOUT} s: {body!r}")


@dataclass
class Load:
    """Clients requesting `/i/<key>` for known keys, each request on a fresh connection.

    Each client paces itself (`interval`), as a browser loading images does, under the default
    per-client rate limits: the drill measures faults, not limits.
    """

    port: int
    keys: list[str]
    clients: int = 4
    interval: float = 0.05
    requests: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _client(self, offset: int) -> None:
        index = offset
        while not self._stop.is_set():
            key = self.keys[index % len(self.keys)]
            index += self.clients
            try:
                status = request(self.port, "GET", f"/i/{key}")[0]
                outcome = "" if status == 302 else f"status {status}"
            except OSError as error:
                outcome = type(error).__name__
            self.requests += 1
            if outcome:
                self.failures.append((time.monotonic(), outcome))
            self._stop.wait(self.interval)

    def __enter__(self) -> Load:
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


@dataclass
class DrillResult:
    """What one kill cost: failed requests during the load, seconds until the process was back."""

    killed: str
    requests: int
    failed: int
    recovered_seconds: float
    failed_after_recovery: int = 0
    notes: dict[str, float] = field(default_factory=dict)


def kill_under_load(stack: LaunchedStack, program: str, keys: list[str], settle: float = 2.0) -> DrillResult:
    """SIGKILL `program` ("worker", "redis", or "web-worker": one gunicorn worker) while a load runs."""
    with Load(stack.port, keys) as load:
        time.sleep(settle)
        if program == "web-worker":
            before = stack.web_workers()
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            recovered = _wait_workers_back(stack, len(before), victim)
        else:
            victim = stack.pid(program)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            recovered = stack.wait_new_pid(program, victim)
        time.sleep(settle)  # keep loading after the recovery: nothing may fail any more
    back_at = killed_at + recovered
    late = [failure for failure in load.failures if failure[0] > back_at]
    return DrillResult(program, load.requests, len(load.failures), recovered, len(late))


def _wait_workers_back(stack: LaunchedStack, count: int, victim: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_TIMEOUT:
        workers = stack.web_workers()
        if len(workers) >= count and victim not in workers:
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not replace worker {victim} within {RECOVERY_TIMEOUT} s")
