"""Benchmarks: the product measured side by side against its floor, its ceiling and the naive design.

Not tests: `python -m tests.bench [--quick]` (or `make bench` / `make bench-quick`) runs every row
and writes `docs/BENCHMARKS.md`. Every figure is a ratio between two things measured in the same
run, on 127.0.0.1, bounded in time. One module per row (`bench_*.py`), so pytest never collects
them (see `conftest.py` here as well).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout
