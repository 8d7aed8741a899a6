"""Row 13: variants of real-sized photos: bytes saved, render time, and a worker's memory.

Twenty different 3000x2000 photo-like JPEGs (the demo album) are asked for at once, as a grid
of first requests would, through the product's own path (`/objects/` variant URLs of an app
built by `create_app`, the local store rendering with Pillow in its bounded pool). The app runs
in a child process so its RSS is its own: sampled every 10 ms while the renders run, then read
again after they end. The reference is what the same page costs with the originals.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from .context import Context
from .results import Result

ROW = "13"
NAME = "Variants of 3000x2000 photos"
PHOTOS = 20
WIDTH = 480
GOAL_RSS_MB = 300
GOAL_RATIO = 0.10


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(data_dir: str) -> dict:
    """In the child: render PHOTOS variants at once, report bytes, time and RSS."""
    import gc

    from api.app import create_app
    from api.demo_photos import ALBUM

    from .product import settings_for

    app = create_app(settings_for(Path(data_dir), None))
    client = app.test_client()
    keys = [f"{ALBUM}/photo-{i:03d}.jpg" for i in range(PHOTOS)]
    urls = [client.get(f"/api/v1/urls/{k}?w={WIDTH}&f=webp").json["url"] for k in keys]
    originals = sum((Path(data_dir) / "images" / k).stat().st_size for k in keys)
    gc.collect()
    before = _rss_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.01)

    sizes: list[int] = []
    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=lambda u=u: sizes.append(len(app.test_client().get(u).data))) for u in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    gc.collect()
    time.sleep(0.5)
    after = _rss_mb()
    app.extensions["url_cache"].close()
    return {
        "originals": originals,
        "variants": sum(sizes),
        "elapsed": elapsed,
        "before": before,
        "peak": peak[0],
        "after": after,
        "workers": app.extensions["settings"].variant_render_workers,
    }


def run(ctx: Context) -> list[Result]:
    from api.demo_photos import generate_photos

    generate_photos(ctx.images, PHOTOS)
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_variants", str(ctx.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = m["variants"] / m["originals"]
    growth = m["peak"] - m["before"]
    settled = m["after"] - m["before"]
    row = Result(
        ROW,
        NAME + f" ({PHOTOS} first requests at once, w={WIDTH} WebP)",
        ours=f"{m['variants'] / PHOTOS / 1024:.0f} KB per image, RSS +{growth:.0f} MB at peak",
        reference=f"originals: {m['originals'] / PHOTOS / 1024:.0f} KB per image",
        ratio=f"{ratio:.3f}x the bytes",
        goal=f"<= {GOAL_RATIO}x bytes; RSS growth <= {GOAL_RSS_MB} MB, back within 10% after",
        met=ratio <= GOAL_RATIO and growth <= GOAL_RSS_MB and settled <= 0.1 * m["before"],
    )
    row.details.append(
        f"{PHOTOS} renders in {m['elapsed']:.2f} s on {m['workers']} render workers "
        f"({m['elapsed'] / PHOTOS * m['workers']:.2f} s each); RSS {m['before']:.0f} -> peak {m['peak']:.0f} "
        f"-> {m['after']:.0f} MB after"
    )
    return [row]


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
