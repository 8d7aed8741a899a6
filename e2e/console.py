"""Console errors and uncaught page errors, which fail a journey unless it expected them."""

from __future__ import annotations

import re

from playwright.sync_api import Page


class ConsoleWatch:
    """Console errors and uncaught page errors seen by a page; tests may allow expected ones."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow(self, pattern: str) -> None:
        """Expect console errors matching `pattern` (e.g. a resource this test breaks on purpose)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def watch(self, page: Page) -> None:
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text} @ {m.location}"))
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
