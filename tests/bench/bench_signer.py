"""Row 4: our COS signer vs the SDK's `get_presigned_url`, µs per URL.

Both sign a GET for the same keys with the same credentials and host; no I/O on either side
(`get_presigned_url` is local too). Ours is `CosStorage.sign`, the product path.
"""
from __future__ import annotations

import time

from .common import Result, fmt_ratio, fmt_us, interleaved, median
from .context import Context

ROW = "4"
NAME = "COS signer"


def _storage():
    from api.storage.cos import CosStorage

    return CosStorage(secret_id="AKIDbenchmark00000000000000000000000", secret_key="benchmarkSecretKey00000000000000",
                      bucket="images-1250000000", region="ap-beijing", scheme="https")


def keys(count: int = 200) -> list[str]:
    albums = ["travel/2024", "family/summer holidays", "产品/图片", "scans"]
    return [f"{albums[i % len(albums)]}/IMG_{i:05d}.jpg" for i in range(count)]


def run(ctx: Context) -> list[Result]:
    storage = _storage()
    client = storage.client
    names = keys()
    start = int(time.time())

    def ours() -> float:
        t = time.perf_counter()
        for key in names:
            storage.sign(key, start, start + 7200)
        return (time.perf_counter() - t) / len(names)

    def sdk() -> float:
        t = time.perf_counter()
        for key in names:
            client.get_presigned_url(Bucket=storage.bucket, Key=key, Method="GET", Expired=7200)
        return (time.perf_counter() - t) / len(names)

    ours(), sdk()  # warm
    runs = interleaved({"ours": ours, "sdk": sdk}, ctx.pick(15, 5))
    a, b = median(runs["ours"]), median(runs["sdk"])
    ratio = b / a
    result = Result(ROW, NAME + " (µs per URL)", ours=fmt_us(a), reference=f"SDK get_presigned_url: {fmt_us(b)}",
                    ratio=f"{fmt_ratio(ratio)} faster", goal=">= 4x", met=ratio >= 4)
    result.details.append(f"{len(runs['ours'])} alternating rounds of {len(names)} keys (ASCII, spaces, CJK); "
                          f"medians. Per round, ours: {', '.join(fmt_us(x) for x in runs['ours'])}")
    return [result, _candidate(ctx, storage, client, names, start)]


def _outcome(fn, args):
    try:
        return fn(**args)
    except Exception as error:  # e.g. a lone surrogate: both must refuse it the same way
        return type(error).__name__


def _candidate(ctx: Context, storage, client, names: list[str], start: int) -> Result:
    """4b: the candidate signer of proposals.py, byte-checked against ours, timed against both."""
    from api.storage import cos_signer

    from .proposals import TRICKY_KEYS, presigned_url

    same = True
    for token in (None, "sts token/+=="):
        for host in (storage.public_host, "127.0.0.1:9000", "IMG.Example.com"):
            for key in names + [k for k in TRICKY_KEYS if k]:
                args = dict(scheme="https", host=host, key=key, secret_id="AKID x+y", secret_key="sk",
                            start=start, expires=start + 7200, token=token)
                same = same and _outcome(presigned_url, args) == _outcome(cos_signer.presigned_url, args)
    fixed = dict(scheme=storage.scheme, host=storage.public_host, secret_id=storage._secret_id,
                 secret_key=storage._secret_key, token=storage._token)

    def candidate() -> float:
        t = time.perf_counter()
        for key in names:
            presigned_url(key=key, start=start, expires=start + 7200, **fixed)
        return (time.perf_counter() - t) / len(names)

    def ours() -> float:
        t = time.perf_counter()
        for key in names:
            storage.sign(key, start, start + 7200)
        return (time.perf_counter() - t) / len(names)

    def sdk() -> float:
        t = time.perf_counter()
        for key in names:
            client.get_presigned_url(Bucket=storage.bucket, Key=key, Method="GET", Expired=7200)
        return (time.perf_counter() - t) / len(names)

    candidate()
    runs = interleaved({"candidate": candidate, "ours": ours, "sdk": sdk}, ctx.pick(15, 5))
    c, a, b = median(runs["candidate"]), median(runs["ours"]), median(runs["sdk"])
    return Result(
        ROW + "b", "COS signer, candidate (tests/bench/proposals.py)",
        ours=f"{fmt_us(c)} ({fmt_ratio(a / c)} faster than today's {fmt_us(a)})",
        reference=f"SDK get_presigned_url: {fmt_us(b)}",
        ratio=f"{fmt_ratio(b / c)} faster",
        goal="(proposal)",
        details=[f"same bytes as api.storage.cos_signer.presigned_url for every key of the row and "
                 f"{len(TRICKY_KEYS) - 1} tricky ones, with and without an STS token, on 3 hosts: {same}; "
                 "constant parts (hostname, canonical header/param strings, fixed query fields) computed once "
                 "per store, the query assembled without urlencode"],
    )
