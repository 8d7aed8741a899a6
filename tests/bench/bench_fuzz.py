"""Row 11: API fuzzing, longer than CI's minute: schemathesis against a live stack (gunicorn over
a real Redis), anonymous and with the admin token, checking for server errors and responses
that break the published schema. Fixed seed; see tests/fuzz.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..fuzz import SEED, FuzzStack, run_schemathesis
from .context import Context
from .results import Result

ROW = "11"
NAME = "API fuzzing (schemathesis)"


def run(ctx: Context) -> Result:
    seconds = ctx.pick(300, 20)
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as workdir:
        stack = FuzzStack(Path(workdir)).start()
        try:
            runs = [
                run_schemathesis(stack, label, seconds, admin, Path(workdir) / f"{label}.json")
                for label, admin in (("anonymous", False), ("admin token", True))
            ]
            server_errors = len(stack.server_errors_in_log())
        finally:
            stack.stop()
    cases = sum(r.cases for r in runs)
    problems = sum(r.failures + r.errors for r in runs)
    result = Result(
        ROW,
        NAME,
        ours=f"{cases} cases, {problems} failures",
        reference=f"{server_errors} 5xx in the access log",
        goal="0 failures, 0 5xx",
        met=problems == 0 and server_errors == 0,
    )
    result.details.append(f"seed {SEED}, {seconds} s per run; " + "; ".join(r.summary for r in runs))
    return result
