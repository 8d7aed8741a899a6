"""Task status and history: records, their store, recovery of lost tasks, Huey's signals."""

from __future__ import annotations

from .progress import Superseded
from .recovery import requeue_lost, trim_history
from .signals import describe, store_for
from .store import TaskStore

__all__ = ["Superseded", "TaskStore", "describe", "requeue_lost", "store_for", "trim_history"]
