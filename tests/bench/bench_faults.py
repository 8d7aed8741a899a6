"""Row 10: faults. Each child of `make run` is killed with SIGKILL under load: what did users see?

The stack is the launcher's (supervisord over the embedded Redis, gunicorn with 2 workers and
the Huey consumer) on its own data dir and port. Four paced clients request `/i/<key>` for 40
keys resolved before (about 80 requests a second, on fresh connections). For each kill: the
requests that failed, how many failed after the process was back, the seconds until it was back,
and the seconds until a refresh job succeeded again. Goals (issue 10): 0 failed for the consumer
and for Redis, at most the killed worker's 4 threads for a gunicorn worker, each back within 15 s.
"""

from __future__ import annotations

from ..fault_drill import LaunchedStack, kill_under_load
from .context import Context
from .results import Result

ROW = "10"
NAME = "Faults (SIGKILL under load)"
THREADS_PER_WORKER = 4
ALLOWED = {"worker": 0, "web-worker": THREADS_PER_WORKER, "redis": 0}


def run(ctx: Context) -> Result:
    stack = LaunchedStack(ctx.work / "faults").start()
    try:
        keys = stack.known_keys()
        results, job_seconds = [], {}
        for program in ALLOWED:
            results.append(kill_under_load(stack, program, keys, settle=ctx.pick(3.0, 1.0)))
            stack.wait_ready()
            job_seconds[program] = stack.job_succeeds(keys[len(results)])
    finally:
        stack.stop()
    met = all(
        r.failed <= ALLOWED[r.killed] and r.failed_after_recovery == 0 and r.recovered_seconds < 15 for r in results
    )
    summary = ", ".join(f"{r.killed}: {r.failed} failed, back in {r.recovered_seconds:.1f} s" for r in results)
    details = [
        f"{r.killed}: {r.requests} requests, {r.failed} failed ({r.failed_after_recovery} after recovery), "
        f"process back in {r.recovered_seconds:.2f} s, a refresh job succeeded {job_seconds[r.killed]:.2f} s later"
        for r in results
    ]
    return Result(
        ROW,
        NAME,
        ours=summary,
        goal="consumer, Redis: 0 failed; gunicorn worker: <= 4 (its threads); each back < 15 s",
        met=met,
        details=details,
    )
