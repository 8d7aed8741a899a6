"""The admission hook of storage calls on misses: who pays for a lookup that asks storage.

The cache knows how many storage calls a lookup is about to make (keys with neither a fresh
positive nor a fresh negative entry); the caller decides whether its client may spend them.
The HTTP layer counts them per client (RATE_LIMIT_STORAGE_MISSES); jobs and the CLI pass none.
"""

from __future__ import annotations

from collections.abc import Callable

Admit = Callable[[int], None]  # called with the number of storage calls; raises to refuse


class StorageBudgetExceeded(Exception):
    """A client spent its budget of storage calls; nothing reached storage for this lookup."""

    def __init__(self, limit: str, retry_after: float) -> None:
        super().__init__(f"storage call budget exceeded ({limit})")
        self.limit = limit
        self.retry_after = retry_after
