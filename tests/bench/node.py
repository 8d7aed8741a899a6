"""One API node as the Procfile runs it (gunicorn) on a free loopback port, and its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from api.embedded_redis import free_port

from . import ROOT
from .client import http_get
from .product import ADMIN_TOKEN, SIGNING_SECRET

RATE_LIMIT_LIFTED = "100000000 per second"


class Node:
    """One API node as the Procfile runs it (gunicorn, api.gunicorn_conf), with the bench routes."""

    def __init__(self, data_dir: Path, redis_url: str | None, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")}
        self.env.update(
            DATA_DIR=str(data_dir),
            HOST="127.0.0.1",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            LOG_LEVEL="warning",
            LOCAL_SIGNING_SECRET=SIGNING_SECRET,
            ADMIN_TOKEN=ADMIN_TOKEN,
            PYTHONDONTWRITEBYTECODE="1",
            # All load comes from one address: lift the per-client limits so requests are served, not
            # refused with 429, while the limiters still do their per-request work as in production.
            RATE_LIMIT_PUBLIC=RATE_LIMIT_LIFTED,
            RATE_LIMIT_DELIVERY_BURST="100000000",
            RATE_LIMIT_DELIVERY_RATE="100000000",
            RATE_LIMIT_STORAGE_MISSES=RATE_LIMIT_LIFTED,
        )
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.env.update(env)
        self.process: subprocess.Popen | None = None
        self.log = data_dir / f"gunicorn-{self.port}.log"

    def start(self, timeout: float = 30.0) -> Node:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:api.gunicorn_conf",
            "tests.bench.app:create_bench_app()",
        ]
        # The access log (one line per request, like production) goes to a file nobody reads.
        with open(os.devnull, "wb") as sink, open(self.log, "wb") as errors:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=sink, stderr=errors)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if http_get(self.base + "/healthz")[0] == 200 and len(self.worker_pids()) >= int(
                    self.env["WEB_CONCURRENCY"]
                ):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        except OSError:
            return []
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def rss_bytes(pid: int) -> int | None:
    """Resident memory of process `pid`, from /proc (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
