"""API fuzzing with schemathesis against a live stack: gunicorn over a real Redis on loopback,
fuzzed through the `/openapi.json` it serves, by the `schemathesis run` command line (its time
budget, `--max-time`, bounds a run; the pytest plugin has none).

Used by tests/test_fuzz_api.py (about a minute in CI) and the benchmark row
tests/bench/bench_fuzz.py (a longer run). Rate limits are off on the fuzzed stack: a 429
would only hide the handlers behind it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from api.embedded_redis import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
CHECKS = "not_a_server_error,response_schema_conformance"
SEED = 7
IMAGES = {
    "gallery/red.png": b"\x89PNG\r\n\x1a\n" + b"r" * 2048,
    "gallery/green.jpg": b"\xff\xd8\xff" + b"g" * 4096,
    "private/secret.png": b"\x89PNG\r\n\x1a\n" + b"s" * 64,
}


@dataclass
class FuzzRun:
    """What one `schemathesis run` did: the counts of its summary and its exit status."""

    label: str
    returncode: int
    cases: int
    failures: int
    errors: int
    output: str

    @property
    def summary(self) -> str:
        return f"{self.label}: {self.cases} cases, {self.failures} failures, {self.errors} errors"


class FuzzStack:
    """Redis + one gunicorn node (2 workers), its access log in a file (a pipe nobody reads fills
    up and stalls the workers)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        for key, data in IMAGES.items():
            path = workdir / "images" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.redis = EmbeddedRedis(workdir / "redis", persist=False)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> FuzzStack:
        self.redis.start()
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "STORAGE_BACKEND"}}
        env.update(
            DATA_DIR=str(self.workdir),
            PORT=str(self.port),
            WEB_CONCURRENCY="2",
            REDIS_URL=self.redis.url,
            ADMIN_TOKEN=ADMIN_TOKEN,
            RATE_LIMIT_ENABLED="false",
            LOG_LEVEL="warning",
        )
        command = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf", "api.app:create_app()"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the fuzzed stack did not become ready")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.redis.stop()

    def server_errors_in_log(self) -> list[str]:
        """Access-log lines of 5xx answers (format `host "request" status ...`)."""
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if '" 5' in line]


def run_schemathesis(stack: FuzzStack, label: str, seconds: int, admin: bool, report: Path) -> FuzzRun:
    """One `schemathesis run` of `seconds`, with or without the admin token; counts from its
    JSON report (test cases, failures, errors)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{stack.base}/openapi.json",
        "--checks",
        CHECKS,
        "--seed",
        str(SEED),
        "--max-time",
        str(seconds),
        # One worker thread: hypothesis parses lambdas with ast.parse, and CPython 3.11 before
        # 3.11.8 can raise a spurious "AST constructor recursion depth mismatch" SystemError when
        # two threads do that at once (python/cpython#106905).
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
        "--suppress-health-check",
        "all",
    ]
    if admin:
        command += ["--header", f"Authorization: Bearer {ADMIN_TOKEN}"]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    done = subprocess.run(command, cwd=stack.workdir, env=env, capture_output=True, text=True, timeout=seconds + 180)
    cases, failures, errors = _counts(report)
    return FuzzRun(label, done.returncode, cases, failures, errors, done.stdout[-6000:] + done.stderr[-2000:])


def _counts(report: Path) -> tuple[int, int, int]:
    """(test cases, unique failures, errors) from the JSON run report."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return 0, 0, 0
    cases = data.get("test_cases", {})
    return int(cases.get("generated", 0)), len(data.get("failures") or []), len(data.get("errors") or [])
