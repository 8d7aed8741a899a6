"""Row 7: Redis bytes per cached entry, and L1 bytes at its bound.

Entries are written by the product (`UrlCache.seed`, the listing path) for 10,000 realistic keys
of real files; `MEMORY USAGE` is averaged over them. The reference is what a naive "cache the URL"
design stores: Flask-Caching's default RedisCache (pickle) holding the full resolved answer with
its presigned COS URL, under Flask-Caching's default key prefix, for the same keys.
The expiry index and access sets cost memory per key too: reported apart, with used_memory.
L1 is filled to L1_MAX_ENTRIES through `resolve_many` (so each item holds its signed URL) and
measured with tracemalloc.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from flask_caching.backends.rediscache import RedisCache

from api.redis_keys import ACCESS_KEY, INDEX_KEY, L2_PREFIX

from .context import DB_MEMORY, DB_MEMORY_REF, Context
from .product import local_storage, settings_for, url_cache_for, write_files
from .results import Result

ROW = "7"
NAME = "Memory per entry"
GOAL_BYTES = 300


def keys(count: int) -> list[str]:
    return [f"photos/2024/{i % 120:03d}/IMG_{20240000 + i:08d}.jpg" for i in range(count)]


def _used(client) -> int:
    return int(client.info("memory")["used_memory"])


def run(ctx: Context) -> list[Result]:
    count = ctx.pick(10_000, 2_000)
    names = keys(count)
    write_files(ctx.images, names, b"\xff\xd8\xff" + b"m" * 4093)
    storage = local_storage(ctx.images)
    infos = [storage.head(k) for k in names]

    ours_client, ref_client = ctx.client(DB_MEMORY), ctx.client(DB_MEMORY_REF)
    ours_client.flushdb()
    ref_client.flushdb()
    settings = settings_for(ctx.data_dir, ctx.redis.url(DB_MEMORY))
    cache = url_cache_for(settings, storage, client=ours_client)
    used_before = _used(ours_client)
    for start in range(0, count, 500):
        cache.seed(infos[start : start + 500])
    cache.flush()
    pipe = ours_client.pipeline(transaction=False)
    now = time.time()
    pipe.zadd(ACCESS_KEY, {k: now for k in names})  # as after every key was requested once
    pipe.execute()
    used_after = _used(ours_client)

    def usage(client, names_):
        total = 0
        for start in range(0, len(names_), 1000):
            pipe = client.pipeline(transaction=False)
            for name in names_[start : start + 1000]:
                pipe.memory_usage(name, samples=0)
            total += sum(n or 0 for n in pipe.execute())
        return total

    entry_bytes = usage(ours_client, [L2_PREFIX + k for k in names]) / count
    index_bytes = (ours_client.memory_usage(INDEX_KEY, samples=0) or 0) / count
    access_bytes = (ours_client.memory_usage(ACCESS_KEY, samples=0) or 0) / count
    value_len = sum(ours_client.strlen(L2_PREFIX + k) for k in names[:1000]) / min(1000, count)

    # The naive design: the resolved answer with a presigned COS URL, pickled (Flask-Caching's default).
    from .bench_signer import _storage as cos_storage

    cos = cos_storage()
    naive = RedisCache(host=ref_client, key_prefix="flask_cache_", default_timeout=3600)
    stamp = int(now)
    for start in range(0, count, 500):
        naive.set_many(
            {
                f"resolve:{info.key}": {
                    "key": info.key,
                    "url": cos.sign(info.key, stamp, stamp + 7200),
                    "expires_at": stamp + 7200,
                    "refresh_at": stamp + 3600,
                    "etag": info.etag,
                    "content_type": info.content_type,
                    "size": info.size,
                }
                for info in infos[start : start + 500]
            }
        )
    naive_bytes = usage(ref_client, [f"flask_cache_resolve:{k}" for k in names]) / count
    ours_client.flushdb()
    ref_client.flushdb()

    redis_row = Result(
        ROW,
        NAME + f" in Redis (MEMORY USAGE, {count:,} entries)",
        ours=f"{entry_bytes:.0f} B per entry (value {value_len:.0f} B, key {len(L2_PREFIX) + len(names[0])} B)",
        reference=f"naive URL cache (pickle, full COS URL): {naive_bytes:.0f} B",
        ratio=f"{naive_bytes / entry_bytes:.2f}x smaller",
        goal=f"<= {GOAL_BYTES} B per entry",
        met=entry_bytes <= GOAL_BYTES,
    )
    redis_row.details += [
        f"per key, the expiry index adds {index_bytes:.0f} B and the access set {access_bytes:.0f} B: "
        f"{entry_bytes + index_bytes + access_bytes:.0f} B all told; used_memory grew "
        f"{(used_after - used_before) / count:.0f} B per key",
        "the bundled redis-server is built with libc malloc (not jemalloc): allocator overheads differ from a stock Redis",
    ]

    # L1 at its bound, with signed URLs, measured by tracemalloc.
    bound = settings.l1_max_entries
    more = keys(bound + 1000)[count:]
    write_files(ctx.images, more[: max(0, bound - count)], b"\xff\xd8\xff" + b"m" * 4093)
    l1_keys_all = (names + more)[:bound]
    seeder = url_cache_for(settings, storage, client=ours_client)
    for start in range(0, bound, 500):
        seeder.seed(storage.head(k) for k in l1_keys_all[start : start + 500])
    seeder.close()
    fresh = url_cache_for(settings_for(ctx.data_dir, ctx.redis.url(DB_MEMORY), access_flush_seconds=0.0), storage)
    gc.collect()
    tracemalloc.start()
    first = tracemalloc.take_snapshot()
    wanted = [str(k) + "" for k in l1_keys_all]  # the keys as a request would bring them
    for start in range(0, bound, 500):
        fresh.resolve_many(wanted[start : start + 500])
    fresh.flush()
    del wanted
    gc.collect()
    second = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in second.compare_to(first, "filename"))
    held = len(fresh.memory)
    fresh.close()
    cache.close()
    ours_client.flushdb()
    l1_row = Result(
        ROW + "b",
        NAME + f" in L1 at its bound (L1_MAX_ENTRIES={bound:,})",
        ours=f"{grown / 1e6:.1f} MB for {held:,} entries ({grown / max(1, held):.0f} B each, with signed URL)",
        reference="(no reference)",
        ratio="",
        goal="(context)",
    )
    l1_row.details.append(
        "per worker process; tracemalloc over filling L1 by resolve_many, after gc, counters and access buffer flushed"
    )
    return [redis_row, l1_row]
