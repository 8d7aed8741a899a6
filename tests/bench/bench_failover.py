"""Row 14: Sentinel failover under load. SIGKILL the primary: what did users see, and when do
cache writes resume?

A real Sentinel group from the bundled binaries (primary, replica, 3 sentinels with
`down-after-milliseconds` 1000; tests.redis_topologies) and one API node (gunicorn, 2 workers)
configured by REDIS_SENTINELS and REDIS_SENTINEL_MASTER only, with the product's defaults
(REDIS_TIMEOUT_SECONDS 0.5, REDIS_RETRY_SECONDS 2, the rate limiter on Sentinel too).

- Known keys: 4 paced clients request `/i/<key>` for 40 keys resolved before the kill, each on a
  fresh connection. A request fails on a non-302, a socket error, or a Location other than the
  key's before the run (or after it, should the signing window roll over meanwhile).
- Writes: one client asks `/api/v1/urls/<new key>` for a key never seen before every 50 ms. A
  key asked after the kill whose entry is then on the promoted primary was written there by
  that request; writes resume at the end of the first such request.
- Failover time: from the SIGKILL until a sentinel publishes `+switch-master` (this process is
  subscribed to that channel on one sentinel before the kill).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis

from api.redis_keys import L2_PREFIX

from ..fault_drill import request
from ..redis_topologies import MASTER, sentinel_group
from .context import Context
from .node import Node
from .product import write_files
from .results import Result

ROW = "14"
NAME = "Sentinel failover under load"
KNOWN = 40
CLIENTS = 4
INTERVAL = 0.05
AFTER_RESUME = 3.0  # keep loading this long after writes resumed: nothing may fail then either
GIVE_UP = 30.0


@dataclass
class Run:
    known: dict[str, str]  # key -> Location before the run
    requests: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    locations: dict[str, set[str]] = field(default_factory=dict)
    asked: list[tuple[float, str]] = field(default_factory=list)  # (end of the request, new key)
    write_errors: int = 0
    longest: float = 0.0  # the slowest request's seconds, known or new
    stop: threading.Event = field(default_factory=threading.Event)


def _known_client(port: int, run: Run, offset: int) -> None:
    keys = list(run.known)
    index = offset
    while not run.stop.is_set():
        key = keys[index % len(keys)]
        index += CLIENTS
        started = time.monotonic()
        try:
            status, headers, _ = request(port, "GET", f"/i/{key}")
            outcome = "" if status == 302 else f"status {status}"
            if status == 302:
                run.locations.setdefault(key, set()).add(headers["Location"])
        except OSError as error:
            outcome = type(error).__name__
        run.longest = max(run.longest, time.monotonic() - started)
        run.requests += 1
        if outcome:
            run.failures.append((time.monotonic(), outcome))
        run.stop.wait(INTERVAL)


def _writer(port: int, run: Run, images) -> None:
    n = 0
    while not run.stop.is_set():
        key = f"bench/failover/new-{n:05d}.png"
        n += 1
        write_files(images, [key], b"\x89PNG\r\n\x1a\n" + key.encode())
        started = time.monotonic()
        try:
            status = request(port, "GET", f"/api/v1/urls/{key}")[0]
        except OSError:
            status = 0
        run.longest = max(run.longest, time.monotonic() - started)
        if status != 200:
            run.write_errors += 1
        run.asked.append((time.monotonic(), key))
        run.stop.wait(INTERVAL)


def _watch_switch(sentinel: redis.Redis, seen: dict[str, float], ready: threading.Event, stop: threading.Event):
    pubsub = sentinel.pubsub()
    pubsub.subscribe("+switch-master")
    ready.set()
    while not stop.is_set():
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
        if message is not None and "switch" not in seen:
            seen["switch"] = time.monotonic()
    pubsub.close()


def run(ctx: Context) -> Result:
    work = ctx.work / "failover"
    data = work / "data"
    images = data / "images"
    keys = [f"bench/failover/known-{i:03d}.png" for i in range(KNOWN)]
    write_files(images, keys, b"\x89PNG\r\n\x1a\n")
    with sentinel_group(work / "redis") as group:
        node = Node(data, None, workers=2, REDIS_SENTINELS=",".join(group.addresses), REDIS_SENTINEL_MASTER=MASTER)
        node.start()
        seen: dict[str, float] = {}
        ready, stop_watch = threading.Event(), threading.Event()
        watcher = threading.Thread(
            target=_watch_switch, args=(group.sentinels[0].client(), seen, ready, stop_watch), daemon=True
        )
        try:
            known = {}
            for _ in range(3):  # in L2 and in both workers' L1
                for key in keys:
                    status, headers, _ = request(node.port, "GET", f"/i/{key}")
                    if status != 302:
                        raise RuntimeError(f"warm-up of {key} answered {status}")
                    known[key] = headers["Location"]
            old = group.primary_address()
            replica = group.replica.client()
            deadline = time.monotonic() + 10
            while not replica.exists(L2_PREFIX + keys[-1]) and time.monotonic() < deadline:
                time.sleep(0.05)
            watcher.start()
            ready.wait(5)
            result = Run(known)
            threads = [threading.Thread(target=_known_client, args=(node.port, result, n)) for n in range(CLIENTS)]
            threads.append(threading.Thread(target=_writer, args=(node.port, result, images)))
            for thread in threads:
                thread.start()
            time.sleep(ctx.pick(2.0, 1.0))
            group.server_at(old).kill()
            killed = time.monotonic()
            resumed = None
            try:
                while time.monotonic() - killed < GIVE_UP:
                    time.sleep(0.1)
                    now_primary = group.primary_address()
                    if now_primary == old:
                        continue
                    promoted = group.server_at(now_primary).client()
                    after = [(t, k) for t, k in list(result.asked) if t > killed]
                    if after:
                        present = promoted.exists  # one call per key: a few hundred at most
                        written = next(((t, k) for t, k in after if present(L2_PREFIX + k)), None)
                        if written is not None:
                            resumed = written[0] - killed
                            break
                if resumed is not None:
                    time.sleep(AFTER_RESUME)
            finally:
                result.stop.set()
                for thread in threads:
                    thread.join(10)
            after_locations = {key: request(node.port, "GET", f"/i/{key}")[1]["Location"] for key in keys}
        finally:
            stop_watch.set()
            node.stop()
    changed = sum(
        1
        for key, seen_here in result.locations.items()
        for loc in seen_here
        if loc not in (known[key], after_locations[key])
    )
    failed = len(result.failures) + changed
    switch = seen.get("switch")
    failover = switch - killed if switch is not None else None
    met = failed == 0 and resumed is not None and failover is not None and resumed <= failover + 2.0
    outcomes: dict[str, int] = {}
    for _, outcome in result.failures:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return Result(
        ROW,
        NAME,
        ours=f"{failed} of {result.requests} known-key requests failed; writes resumed after "
        + (f"{resumed:.2f} s" if resumed is not None else f"> {GIVE_UP:.0f} s (never)"),
        reference=f"failover (kill to +switch-master): {failover:.2f} s"
        if failover is not None
        else "no +switch-master",
        ratio=f"resume - failover = {resumed - failover:+.2f} s"
        if resumed is not None and failover is not None
        else "",
        goal="0 failed on known keys; writes resume <= failover + 2 s",
        met=met,
        details=[
            f"known keys: {result.requests} requests by {CLIENTS} paced clients ({INTERVAL * 1000:.0f} ms apart, fresh "
            f"connections) over {len(keys)} keys; failures by kind {outcomes or 'none'}, {changed} with another "
            f"Location than before (or after) the run; the slowest request (known or new) took "
            f"{result.longest * 1000:.0f} ms",
            f"new keys: {len(result.asked)} asked one by one, {result.write_errors} not answered 200 (a resolve "
            "answers from storage while Redis is away); writes resume = end of the first request after the kill "
            "whose entry is on the promoted primary",
            "failover time = SIGKILL of the primary until +switch-master reached this process's subscription on a "
            "sentinel (down-after-milliseconds 1000, quorum 2 of 3); node: gunicorn 2 workers, "
            "REDIS_TIMEOUT_SECONDS 0.5 and REDIS_RETRY_SECONDS 2 (defaults), rate limiter on Sentinel",
        ],
    )
