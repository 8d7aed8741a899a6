"""Numbers the journeys measure: printed at the end of the run and written to metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

METRICS: dict[str, object] = {}


def report(terminalreporter, output: Path) -> None:
    """Write METRICS to `output`/metrics.json and list them in the terminal summary."""
    if not METRICS:
        return
    output.mkdir(parents=True, exist_ok=True)
    path = output / "metrics.json"
    path.write_text(json.dumps(METRICS, indent=2, sort_keys=True) + "\n")
    terminalreporter.section("gallery numbers")
    for name, value in sorted(METRICS.items()):
        terminalreporter.write_line(f"{name:40} {value}")
    terminalreporter.write_line(f"(written to {path})")
