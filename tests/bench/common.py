"""What every benchmark row shares: results, the stack it runs against, load generators, timers.

Everything listens on 127.0.0.1 only, on free ports, and every load run is bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from api.embedded_redis import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "bench-signing-secret"
ADMIN_TOKEN = "bench-admin-token"
RATE_LIMIT_LIFTED = "100000000 per second"


# -- results ----------------------------------------------------------------------------------
@dataclass
class Result:
    """One row of the table. `met` is None when the row has no goal or was skipped."""

    row: str
    name: str
    ours: str = ""
    reference: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None
    details: list[str] = field(default_factory=list)
    skipped: str | None = None  # reason, when the row could not run here
    error: str | None = None  # the benchmark itself broke

    @property
    def verdict(self) -> str:
        if self.error:
            return "error"
        if self.skipped:
            return "skipped"
        if self.met is None:
            return "n/a"
        return "yes" if self.met else "**no**"


@dataclass
class Options:
    quick: bool
    work: Path  # scratch folder of this run
    tools: dict[str, str | None]  # wrk, nginx, chromium: path or None

    def pick(self, full, quick):
        return quick if self.quick else full


# -- statistics -------------------------------------------------------------------------------
def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.1f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of `fn`, timed over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleaved(candidates: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each candidate once per round, alternating the order, so drift hits all alike."""
    out: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            out[name].append(candidates[name]())
    return out


# -- Redis ------------------------------------------------------------------------------------
class RedisServer:
    """The bundled redis-server on a free loopback port, with no persistence."""

    def __init__(self, work: Path) -> None:
        self.server = EmbeddedRedis(work / "redis", persist=False)

    def start(self) -> RedisServer:
        self.server.start()
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.server.port}/{db}"

    def client(self, db: int = 0, **kwargs) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), **kwargs)

    def stop(self) -> None:
        self.server.stop()


def commandstats(client: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()}


class CountingConnection(redis.Connection):
    """A redis-py connection that counts round trips (packed sends) and commands sent."""

    round_trips = 0
    commands = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.round_trips += 1
        return super().send_packed_command(command, check_health)

    def send_command(self, *args, **kwargs):
        CountingConnection.commands += 1
        return super().send_command(*args, **kwargs)

    def pack_commands(self, commands):
        commands = list(commands)
        CountingConnection.commands += len(commands)
        return super().pack_commands(commands)


# -- the product, in process ------------------------------------------------------------------
def settings_for(data_dir: Path, redis_url: str | None, **overrides):
    from api.settings import Settings

    values = dict(
        data_dir=data_dir,
        redis_url=redis_url,
        local_signing_secret=SIGNING_SECRET,
        admin_token=ADMIN_TOKEN,
        log_level="warning",
    )
    values.update(overrides)
    return Settings.from_env({}, **values)


def url_cache_for(settings, storage, clock=None, client: redis.Redis | None = None):
    """A UrlCache wired the way `build_services` wires it, on a client with a bench-sized timeout."""
    from api.cache.url_cache import UrlCache
    from api.clock import system_clock

    if client is None and settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    return UrlCache(storage, client, settings, clock=clock or system_clock)


def local_storage(root: Path):
    from api.storage.local import LocalStorage

    return LocalStorage(root, secret=SIGNING_SECRET)


def write_files(root: Path, keys: Iterable[str], data: bytes = b"") -> None:
    made: set[Path] = set()
    for key in keys:
        path = root / key
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(data)


# -- gunicorn ---------------------------------------------------------------------------------
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
            RATE_LIMIT_DELIVERY=RATE_LIMIT_LIFTED,
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def http_get(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10.0):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# -- nginx (the ceiling) ----------------------------------------------------------------------
class Nginx:
    """nginx answering a fixed 302 on a free loopback port, 2 workers like gunicorn."""

    def __init__(self, binary: str, work: Path, location: str) -> None:
        self.binary = binary
        self.prefix = work / f"nginx-{os.getpid()}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.location = location
        self.process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        (self.prefix / "logs").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        temp = self.prefix / "tmp"
        temp.mkdir(exist_ok=True)
        conf.write_text(f"""
daemon off;
master_process on;
worker_processes 2;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {temp};
  proxy_temp_path {temp};
  fastcgi_temp_path {temp};
  uwsgi_temp_path {temp};
  scgi_temp_path {temp};
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      add_header Cache-Control "private, max-age=3600" always;
      return 302 "{self.location}";
    }}
  }}
}}
""")
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read().decode()[-1000:]}")
            try:
                if http_get(self.base + "/x")[0] == 302:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("nginx did not start")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # graceful: master waits for its workers
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- load generators --------------------------------------------------------------------------
@dataclass
class Load:
    """What one bounded load run measured."""

    tool: str
    seconds: float
    requests: int
    rps: float
    p50: float  # seconds
    p99: float
    errors: int  # socket errors, timeouts, and (with `expect`) unexpected statuses
    statuses: dict[int, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)

    def brief(self) -> str:
        return f"{self.rps:,.0f} req/s, p50 {fmt_ms(self.p50)}, p99 {fmt_ms(self.p99)}"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _duration(text: str) -> float:
    matched = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not matched:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(matched[1]) * _UNITS[matched[2]]


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def wrk_paths_script(paths: list[str]) -> str:
    """A wrk script that cycles through `paths` (each thread from its own offset)."""
    items = ",\n".join(lua_string(p) for p in paths)
    return f"""
local paths = {{ {items} }}
local i = 0
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end
init = function(args)
  i = offset or 0
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def run_wrk(
    wrk: str,
    base: str,
    script: str,
    seconds: float,
    connections: int,
    work: Path,
    threads: int = 1,
    timeout: str = "5s",
) -> Load:
    """Run wrk against `base` with a Lua `script`; parse its summary (and our `STATUS` lines)."""
    path = work / f"wrk-{time.monotonic_ns()}.lua"
    path.write_text(script)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        f"--timeout={timeout}",
        "-s",
        str(path),
        base,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr[-1000:]}")
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text)[1])
    total = int(re.search(r"(\d+) requests in ([\d.]+\w+)", text)[1])
    elapsed = _duration(re.search(r"\d+ requests in ([\d.]+\w+)", text)[1])
    dist = dict(re.findall(r"^\s+(50|99)\.?0*%\s+([\d.]+\w+)", text, re.M))
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    statuses = {int(code): int(n) for code, n in re.findall(r"^STATUS (\d+) (\d+)$", text, re.M)}
    extra = {name: int(n) for name, n in re.findall(r"^COUNT (\w+) (\d+)$", text, re.M)}
    load = Load("wrk", elapsed, total, rps, _duration(dist["50"]), _duration(dist["99"]), errors, statuses, extra)
    if non and not statuses:
        load.extra["non_2xx_3xx"] = int(non[1])
        load.errors += int(non[1])
    path.unlink(missing_ok=True)
    return load


class PyLoad:
    """A small asyncio HTTP/1.1 keep-alive load generator, for machines without wrk.

    `next_request()` returns (raw request bytes, kind); statuses are counted per kind.
    On 2 cores it is slower than wrk and may bound the figures it measures: the report says so.
    """

    def __init__(self, port: int, next_request: Callable[[], tuple[bytes, str]]) -> None:
        self.port = port
        self.next_request = next_request

    async def _worker(self, deadline: float, latencies: list[float], statuses: dict, kinds: dict, errors: list) -> None:
        reader = writer = None
        while time.monotonic() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                raw, kind = self.next_request()
                start = time.perf_counter()
                writer.write(raw)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                status = int(head.split(b" ", 2)[1])
                length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                if length:
                    await asyncio.wait_for(reader.readexactly(int(length[1])), 5)
                latencies.append(time.perf_counter() - start)
                statuses[status] = statuses.get(status, 0) + 1
                kinds[(kind, status)] = kinds.get((kind, status), 0) + 1
                if not length or re.search(rb"\r\nconnection:\s*close", head, re.I):
                    writer.close()
                    reader = writer = None
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors.append(1)
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    def run(self, seconds: float, connections: int) -> tuple[Load, dict]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        kinds: dict = {}
        errors: list = []

        async def main() -> float:
            deadline = time.monotonic() + seconds
            start = time.perf_counter()
            await asyncio.gather(
                *(self._worker(deadline, latencies, statuses, kinds, errors) for _ in range(connections))
            )
            return time.perf_counter() - start

        elapsed = asyncio.run(main())
        latencies.sort()
        n = len(latencies)
        p50 = latencies[n // 2] if n else float("nan")
        p99 = latencies[min(n - 1, int(n * 0.99))] if n else float("nan")
        return Load("python", elapsed, n, n / elapsed, p50, p99, len(errors), statuses), kinds


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def post_request(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="iuc-bench-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- pre-refresh ------------------------------------------------------------------------------
def pre_refresh_for(app) -> tuple[Callable[[], dict], str]:
    """The jobs' pre-refresh as a plain call on `app`'s services (whose cache carries the
    clock), and what it is."""
    from jobs.tasks import run_pre_refresh

    services = app.extensions["services"]
    return (lambda: run_pre_refresh(services)), "jobs.tasks.run_pre_refresh (the periodic task's body)"


def cleanup_for(app) -> Callable[[], object]:
    """What the periodic cleanup does to the cache: trim lapsed index and stale access entries."""
    cache = app.extensions["url_cache"]
    s = app.extensions["settings"]
    return lambda: cache.trim(cache.clock(), s.hot_horizon_seconds)
