"""Row 12: limits under the defaults. A gallery-sized burst from one client next to a hammering loop.

A fresh API node (2 gunicorn workers) with the production limits (not lifted as for the other
rows): delivery has a token bucket per client and worker (burst 1,000, then 50 a second). One
client asks for 500 images at once in redirect mode (`/i/`) and then in proxy mode (`/p/`), over
6 keep-alive connections as a browser opens them, as fast as the server answers: every 429 is
counted. Then a loop hammers one key over 4 connections for a few seconds: how much of it is
served (it should be held near 2 x 50 a second once its burst is spent) and how much refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import quote

from .context import DB_LIMITS, Context
from .load import PyLoad, get_request
from .node import Node
from .results import Result

ROW = "12"
NAME = "Limits: gallery burst vs hammering loop"
GALLERY = 500
CONNECTIONS = 6


async def _fetch_all(port: int, paths: list[str], connections: int) -> Counter[int]:
    """GET every path once over `connections` keep-alive connections, as fast as answered."""
    statuses: Counter[int] = Counter()
    queue = list(reversed(paths))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                writer.write(get_request(queue.pop()))
                head = await reader.readuntil(b"\r\n\r\n")
                statuses[int(head.split(b" ", 2)[1])] += 1
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


def run(ctx: Context) -> Result:
    keys = ctx.demo_keys
    paths = [quote(keys[n % len(keys)]) for n in range(GALLERY)]
    ctx.client(DB_LIMITS).flushdb()
    production = {
        "RATE_LIMIT_PUBLIC": "6000 per minute",
        "RATE_LIMIT_DELIVERY_BURST": "1000",
        "RATE_LIMIT_DELIVERY_RATE": "50",
        "RATE_LIMIT_STORAGE_MISSES": "1000 per minute; 10000 per hour",
    }
    node = Node(ctx.data_dir, ctx.redis.url(DB_LIMITS), workers=2, **production).start()
    try:
        started = time.perf_counter()
        redirect = asyncio.run(_fetch_all(node.port, [f"/i/{p}" for p in paths], CONNECTIONS))
        redirect_seconds = time.perf_counter() - started
        proxy = asyncio.run(_fetch_all(node.port, [f"/p/{p}" for p in paths], CONNECTIONS))
        time.sleep(1000 / 50 + 1)  # let the buckets refill: the loop starts from a full burst
        seconds = ctx.pick(8, 3)
        hammer, _ = PyLoad(node.port, lambda: (get_request(f"/i/{paths[0]}"), "hammer")).run(seconds, 4)
    finally:
        node.stop()
        ctx.client(DB_LIMITS).flushdb()
    refused = hammer.statuses.get(429, 0)
    served = hammer.statuses.get(302, 0)
    met = redirect.get(429, 0) == 0 and proxy.get(429, 0) == 0 and refused > 0
    return Result(
        ROW,
        NAME,
        ours=f"gallery: {redirect.get(429, 0)} + {proxy.get(429, 0)} x 429 of {2 * GALLERY}; "
        f"loop: {refused:,} of {hammer.requests:,} refused",
        goal="gallery burst 0 x 429 (redirect and proxy); a hammering loop is limited",
        met=met,
        details=[
            f"gallery, redirect mode: {GALLERY} requests over {CONNECTIONS} connections in {redirect_seconds:.2f} s, "
            f"statuses {dict(redirect)}",
            f"gallery, proxy mode: statuses {dict(proxy)}",
            f"hammering loop on one key, 4 connections for {hammer.seconds:.1f} s: {hammer.requests:,} requests, "
            f"{served:,} served ({served / hammer.seconds:,.0f}/s, the 2 workers' bursts then about 2 x 50/s), "
            f"{refused:,} refused with 429",
        ],
    )
