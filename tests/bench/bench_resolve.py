"""Row 2: one batch of 500 L2-cached keys vs 500 single resolves; Redis work per batch.

Over HTTP against the shared API node: `POST /api/v1/urls` with 500 keys vs 500 sequential
`GET /api/v1/urls/<key>` on one keep-alive connection (as a client without batching would).
Every key is in Redis (L2) and in no worker's L1: each iteration uses keys never asked before,
seeded into Redis the way the gallery listing seeds them. Redis round trips and commands per
batch are counted in process, on the same UrlCache code, with a counting redis-py connection.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import quote

import redis

from .context import DB_NODE, Context
from .node import Node
from .product import local_storage, settings_for, url_cache_for, write_files
from .redis_server import CountingConnection, commandstats
from .results import Result
from .stats import fmt_ms, fmt_ratio, median

ROW = "2"
NAME = "Batch resolve"
BATCH = 500


def _keys(count: int) -> list[str]:
    return [f"bench/resolve/{i // 1000:02d}/photo-{i:05d}.jpg" for i in range(count)]


def _seed(ctx: Context, keys: list[str], db: int) -> None:
    storage = local_storage(ctx.images)
    cache = url_cache_for(settings_for(ctx.data_dir, ctx.redis.url(db)), storage)
    for start in range(0, len(keys), 500):
        cache.seed(storage.head(k) for k in keys[start : start + 500])
    cache.close()


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def batch(self, keys: list[str]) -> float:
        body = json.dumps({"keys": keys}).encode()
        start = time.perf_counter()
        status, data = self.request("POST", "/api/v1/urls", body)
        elapsed = time.perf_counter() - start
        answer = json.loads(data)
        if status != 200 or len(answer["items"]) != len(keys) or answer["errors"]:
            raise RuntimeError(f"batch resolve failed: {status} {data[:300]!r}")
        return elapsed

    def singles(self, keys: list[str]) -> float:
        start = time.perf_counter()
        for key in keys:
            status, data = self.request("GET", "/api/v1/urls/" + quote(key, safe="/"))
            if status != 200:
                raise RuntimeError(f"single resolve failed: {status} {data[:300]!r}")
        return time.perf_counter() - start


def _in_process(ctx: Context, keys: list[str], db: int) -> dict:
    """Round trips and commands for one batch, and the domain-level timing without HTTP."""
    pool = redis.ConnectionPool.from_url(ctx.redis.url(db), connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    client.ping()  # connect (and its handshake) before counting
    settings = settings_for(ctx.data_dir, ctx.redis.url(db), access_flush_seconds=3600.0)
    cache = url_cache_for(settings, local_storage(ctx.images), client=client)
    batch = keys[:BATCH]
    before = CountingConnection.round_trips, CountingConnection.commands
    found, errors = cache.resolve_many(batch)
    trips = CountingConnection.round_trips - before[0]
    commands = CountingConnection.commands - before[1]
    if len(found) != len(batch) or errors:
        raise RuntimeError("in-process batch resolve failed")

    def batch_time() -> float:
        cache.memory.clear()  # L1 cold: every key comes from L2, as in the HTTP figure
        start = time.perf_counter()
        cache.resolve_many(batch)
        return time.perf_counter() - start

    def singles_time() -> float:
        cache.memory.clear()
        start = time.perf_counter()
        for key in batch:
            cache.resolve(key)
        return time.perf_counter() - start

    rounds = ctx.pick(5, 3)
    b, s = [], []
    for index in range(rounds):
        pair = (batch_time, singles_time) if index % 2 == 0 else (singles_time, batch_time)
        for fn in pair:
            (b if fn is batch_time else s).append(fn())
    flush_before = CountingConnection.round_trips, CountingConnection.commands
    cache.flush()
    flush = (CountingConnection.round_trips - flush_before[0], CountingConnection.commands - flush_before[1])
    cache.close()
    return {"trips": trips, "commands": commands, "batch": median(b), "singles": median(s), "flush": flush}


def run(ctx: Context) -> Result:
    return _run(ctx, ctx.node())


def _run(ctx: Context, node: Node) -> Result:
    iterations = ctx.pick(8, 2)
    per_node = BATCH * 2 * iterations
    keys = _keys(per_node + BATCH * 2 + 100)
    write_files(ctx.images, keys, b"\xff\xd8\xff" + b"x" * 61)
    _seed(ctx, keys, DB_NODE)

    clients = {"ours": Client(node.port)}
    warm, keys = keys[:100], keys[100:]
    clients["ours"].batch(warm[:50])
    clients["ours"].singles(warm[50:])

    times = {name: {"batch": [], "singles": []} for name in clients}  # one client: kept general
    fresh = iter(range(0, per_node, BATCH))
    for index in range(iterations):
        for name in clients:
            client = clients[name]
            first = keys[next(fresh) :][:BATCH]
            second = keys[next(fresh) :][:BATCH]
            if index % 2 == 0:
                times[name]["batch"].append(client.batch(first))
                times[name]["singles"].append(client.singles(second))
            else:
                times[name]["singles"].append(client.singles(first))
                times[name]["batch"].append(client.batch(second))
    rest = keys[per_node:]

    # Redis commands the node ran for one more batch (server-side count, both workers).
    probe = rest[:BATCH]
    admin = ctx.client(DB_NODE)
    before = commandstats(admin)
    clients["ours"].batch(probe)
    after = commandstats(admin)
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    delta["info"] = delta.get("info", 0) - 1  # our own INFO call
    server_side = {name: n for name, n in delta.items() if n > 0}

    inproc = _in_process(ctx, rest[BATCH:], DB_NODE)

    batch, singles = median(times["ours"]["batch"]), median(times["ours"]["singles"])
    pairs = [s_ / b_ for s_, b_ in zip(times["ours"]["singles"], times["ours"]["batch"])]
    speedup = median(pairs)  # per iteration: its batch and its singles ran back to back
    result = Result(
        ROW,
        NAME + f" ({BATCH} L2-cached keys, HTTP)",
        ours=f"1 batch: {fmt_ms(batch)}; cache: {inproc['trips']} Redis round trip, {inproc['commands']} command(s)"
        + (" (+ the rate limiter's EVALSHA)" if server_side.get("evalsha") else ""),
        reference=f"{BATCH} singles: {fmt_ms(singles)}",
        ratio=f"{fmt_ratio(speedup)} faster",
        goal=">= 50x, 1 round trip",
        met=speedup >= 50 and inproc["trips"] == 1,
    )
    result.details += [
        f"HTTP: {iterations} alternating iterations on one keep-alive connection, fresh keys each time "
        f"(L1 cold in both workers, all in L2); batches {', '.join(fmt_ms(t) for t in times['ours']['batch'])}; "
        f"singles {', '.join(fmt_ms(t) for t in times['ours']['singles'])}; ratio = median of per-iteration ratios "
        f"(range {min(pairs):.1f}-{max(pairs):.1f})",
        "Redis commands the node ran for one batch (INFO commandstats, cache and rate limiter): "
        + (", ".join(f"{name} {n}" for name, n in sorted(server_side.items())) or "none"),
        f"in process (UrlCache.resolve_many vs {BATCH} x resolve, L1 cleared, no HTTP): batch {fmt_ms(inproc['batch'])}, "
        f"singles {fmt_ms(inproc['singles'])}: {fmt_ratio(inproc['singles'] / inproc['batch'])}",
        f"access times and counters are written apart from requests: one pipeline of {inproc['flush'][1]} commands in "
        f"{inproc['flush'][0]} round trip per ACCESS_FLUSH_SECONDS (5 s) per process",
    ]
    return result
