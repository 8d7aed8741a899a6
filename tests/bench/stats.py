"""Side-by-side timing (alternating order, medians) and how figures are written in the table."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.1f} µs"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def interleaved(candidates: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each candidate once per round, alternating the order, so drift hits all alike."""
    out: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            out[name].append(candidates[name]())
    return out
