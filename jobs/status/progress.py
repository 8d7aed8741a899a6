"""Progress of batch and warm tasks: committed per chunk with its resume point, by the owner only.

A re-run continues where the last commit left off, and an execution that lost ownership (it
was presumed lost and re-enqueued) cannot add its counts to the newer one's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import redis
from huey.api import Task

from api.clock import Clock
from api.redis_keys import task_errors_key, task_key
from api.redis_replies import text
from api.settings import Settings

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

MAX_REPORTED_ERRORS = 100


class Progress(TypedDict):
    """Where a batch or warm resumes: its committed offset, counts and listing cursor."""

    offset: int
    done: int
    failed: int
    cursor: str | None


class KeyFailure(TypedDict):
    key: str
    code: str  # an ErrorCode: why refreshing the key failed


class Superseded(Exception):
    """This execution lost ownership of its task (it was presumed lost and re-enqueued)."""


def owner_of(task: Task) -> str | None:
    return getattr(task, "_iuc_owner", None)


class TaskProgress:
    def __init__(self, conn: redis.Redis, settings: Settings, clock: Clock) -> None:
        self.conn = conn
        self.settings = settings
        self.clock = clock

    def state(self, task_id: str) -> Progress:
        offset, done, failed, cursor = self.conn.hmget(task_key(task_id), ["offset", "done", "failed", "cursor"])
        return {
            "offset": int(offset or 0),
            "done": int(done or 0),
            "failed": int(failed or 0),
            "cursor": text(cursor) if cursor else None,
        }

    def advance(
        self,
        task: Task,
        offset: int,
        new_offset: int,
        done: int,
        failed: int,
        errors: dict[str, str] | None = None,
        cursor: str | None = None,
    ) -> None:
        """Commit one step of progress and its resume point; raises Superseded if not the owner."""
        key = task_key(task.id)
        errors_key = task_errors_key(task.id)
        now = self.clock()
        ttl = self.settings.task_history_seconds

        def txn(pipe: redis.client.Pipeline) -> bool:
            owner, current = pipe.hmget(key, ["owner", "offset"])
            if owner is None or text(owner) != owner_of(task) or int(current or 0) != offset:
                return False
            pipe.multi()
            fields: dict[FieldT, EncodableT] = {
                "offset": new_offset,
                "beat_at": now,
                **({"cursor": cursor} if cursor else {}),
            }
            pipe.hset(key, mapping=fields)
            pipe.hincrby(key, "done", done)
            pipe.hincrby(key, "failed", failed)
            if errors:
                # redis-py's `mapping` is invariant in its key type, so it refuses dict[str, str].
                pipe.hset(errors_key, mapping=errors)  # type: ignore[arg-type]
                pipe.expire(errors_key, ttl)
            return True

        if not self.conn.transaction(txn, key, value_from_callable=True):  # type: ignore[arg-type]  # see update
            raise Superseded(task.id)

    def errors_sample(self, task_id: str, limit: int = MAX_REPORTED_ERRORS) -> tuple[list[KeyFailure], int]:
        key = task_errors_key(task_id)
        total = self.conn.hlen(key)
        sample: list[KeyFailure] = []
        for k, v in self.conn.hscan_iter(key, count=limit):
            sample.append({"key": k.decode("utf-8"), "code": v.decode("utf-8")})
            if len(sample) >= limit:
                break
        return sample, total
