"""Process trees by PID: who descends from whom, whether a PID is still the process we saw,
ending what is left of a tree, and collecting the exit status of orphans we adopted."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live, non-zombie process, from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """Live descendants of `root` -> their start time (so a reused PID is never mistaken)."""
    table = _process_table()
    found: dict[int, str] = {}
    frontier = {root}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier and pid not in found}
        found.update({pid: table[pid][1] for pid in frontier})
    return found


def _still_ours(pid: int, started: str) -> bool:
    entry = _process_table().get(pid)
    return entry is not None and entry[1] == started


def end_leftovers(tree: dict[int, str]) -> list[int]:
    """SIGTERM, then SIGKILL, whatever of `tree` (pid -> start time) still runs; returns the PIDs
    that survived both."""
    leftovers = {pid: started for pid, started in tree.items() if _still_ours(pid, started)}
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if not leftovers:
            break
        for pid in leftovers:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            leftovers = {pid: s for pid, s in leftovers.items() if _still_ours(pid, s)}
            if not leftovers:
                break
            time.sleep(0.1)
    return sorted(leftovers)


def become_subreaper() -> None:
    """Make orphans of the stacks our children instead of PID 1's.

    On shutdown honcho's `sh -c` wrappers exit before gunicorn and huey_consumer finish, so those
    are orphaned; a lazy PID 1 then leaves them as `<defunct>` zombies for a while after the run.
    As their subreaper the session reaps them itself (see `reap`).
    """
    try:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: nothing to do
        pass


def reap(pids: Iterable[int]) -> None:
    """Collect the exit status of those of `pids` that are our (dead) children; never waits."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (or already collected)
            pass
