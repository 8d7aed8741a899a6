"""API fuzzing: schemathesis against a live stack (gunicorn over a real Redis, loopback), with
and without the admin token, checking `not_a_server_error` and response-schema conformance.

Seed fixed (tests.fuzz.SEED), about 25 s per run (FUZZ_SECONDS overrides it; the benchmark row
tests/bench/bench_fuzz.py runs longer). Nothing is excluded: the admin operations (cache flush,
task revoke, enqueueing) only touch this throw-away stack.
"""

from __future__ import annotations

import os

import pytest

from .fuzz import FuzzStack, run_schemathesis

pytestmark = pytest.mark.slow
SECONDS = int(os.environ.get("FUZZ_SECONDS", "25"))


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    stack = FuzzStack(tmp_path_factory.mktemp("fuzz")).start()
    yield stack
    stack.stop()


@pytest.mark.timeout(SECONDS + 240)
@pytest.mark.parametrize("admin", [False, True], ids=["anonymous", "admin-token"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(fuzz_stack, tmp_path, admin):
    label = "admin token" if admin else "anonymous"
    run = run_schemathesis(fuzz_stack, label, SECONDS, admin, tmp_path / "report.json")
    print(run.summary)
    assert run.cases > 100, run.output  # it really ran
    assert (run.failures, run.errors, run.returncode) == (0, 0, 0), run.output
    assert fuzz_stack.server_errors_in_log() == []
