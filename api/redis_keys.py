"""Every Redis key name the product writes, in one place (all under `iuc:`).

Cache db (REDIS_URL's db): URL cache entries, the expiry index, access times and counters.
Queue db (HUEY_REDIS_DB): task records, history, running set, worker heartbeats, periodic claims.
Rate limits live under their own prefix in the cache db.
"""

from __future__ import annotations

# -- cache db ------------------------------------------------------------------------------
L2_PREFIX = "iuc:url:"  # + key: one cache entry (JSON)
NEGATIVE_PREFIX = "iuc:neg:"  # + digest of a key: when it was last seen missing (int seconds)
INDEX_KEY = "iuc:index"  # sorted set: key -> time its metadata lapses
ACCESS_KEY = "iuc:access"  # sorted set: key -> last access time
STATS_KEY = "iuc:stats"  # hash: counter name -> total
SERIES_PREFIX = "iuc:series:"  # + epoch minute: hash of that minute's counters
SERIES_TTL = 25 * 3600  # seconds a minute of the series is kept (a day, plus slack)
RATE_LIMIT_PREFIX = "iuc-limits"
INVALIDATE_CHANNEL = "iuc:invalidate"  # pub/sub: flushes and changed etags, to every node's L1
FLIGHT_PREFIX = "iuc:flight:"  # + key: which node is asking storage for it now (short-lived lock)

# -- queue db ------------------------------------------------------------------------------
TASK_PREFIX = "iuc:task:"  # + task id: hash of its record
HISTORY_KEY = "iuc:tasks"  # sorted set: admin-started task id -> enqueued time
PERIODIC_HISTORY_KEY = "iuc:tasks:periodic"  # the same for periodic tasks
RUNNING_KEY = "iuc:tasks:running"  # sorted set: task id -> start time
WORKER_PREFIX = "iuc:worker:"  # + worker id: heartbeat (expires)
WORKERS_KEY = "iuc:workers"  # set of worker ids seen
NODE_PREFIX = "iuc:node:"  # + node id: an API node's heartbeat (expires)
NODES_KEY = "iuc:nodes"  # set of API node ids seen
PERIODIC_CLAIM_PREFIX = "iuc:periodic:"  # + name:minute: which worker ran a periodic task


def task_key(task_id: str) -> str:
    return TASK_PREFIX + task_id


def task_errors_key(task_id: str) -> str:
    """Hash of a batch's per-key errors (key -> code)."""
    return TASK_PREFIX + task_id + ":errors"


def series_key(minute_start: int) -> str:
    return f"{SERIES_PREFIX}{minute_start}"


def periodic_claim_key(name: str, minute: int) -> str:
    return f"{PERIODIC_CLAIM_PREFIX}{name}:{minute}"
