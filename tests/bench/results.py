"""One row of the benchmark table, as a row module returns it and the report writes it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """One row of the table. `met` is None when the row has no goal or was skipped."""

    row: str
    name: str
    ours: str = ""
    reference: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None
    details: list[str] = field(default_factory=list)
    skipped: str | None = None  # reason, when the row could not run here
    error: str | None = None  # the benchmark itself broke

    @property
    def verdict(self) -> str:
        if self.error:
            return "error"
        if self.skipped:
            return "skipped"
        if self.met is None:
            return "n/a"
        return "yes" if self.met else "**no**"
