"""Bounded load runs: wrk with a Lua script when installed, else a small asyncio generator.

Both return a `Load`; every run stops by itself after the seconds it was given.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .stats import fmt_ms


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
