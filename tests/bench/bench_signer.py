"""Row 4: our COS signer vs the SDK's `get_presigned_url`, µs per URL.

Both sign a GET for the same keys with the same credentials and host; no I/O on either side
(`get_presigned_url` is local too). Ours is `CosStorage.sign`, the product path.
"""

from __future__ import annotations

import time

from .context import Context
from .results import Result
from .stats import fmt_ratio, fmt_us, interleaved, median

ROW = "4"
NAME = "COS signer"


def _storage():
    from api.storage.cos import CosStorage
    from api.storage.cos_credentials import CosCredential, StaticCredentials

    credential = CosCredential("AKIDbenchmark00000000000000000000000", "benchmarkSecretKey00000000000000")
    return CosStorage(
        credentials=StaticCredentials(credential),
        bucket="images-1250000000",
        region="ap-beijing",
        scheme="https",
    )


def keys(count: int = 200) -> list[str]:
    albums = ["travel/2024", "family/summer holidays", "产品/图片", "scans"]
    return [f"{albums[i % len(albums)]}/IMG_{i:05d}.jpg" for i in range(count)]


def run(ctx: Context) -> Result:
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
    result = Result(
        ROW,
        NAME + " (µs per URL)",
        ours=fmt_us(a),
        reference=f"SDK get_presigned_url: {fmt_us(b)}",
        ratio=f"{fmt_ratio(ratio)} faster",
        goal=">= 4x",
        met=ratio >= 4,
    )
    result.details.append(
        f"{len(runs['ours'])} alternating rounds of {len(names)} keys (ASCII, spaces, CJK); "
        f"medians. Per round, ours: {', '.join(fmt_us(x) for x in runs['ours'])}"
    )
    return result
