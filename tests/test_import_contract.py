"""The layers the design states, held by import-linter's contracts in pyproject.toml:
domain <- jobs <- HTTP and CLI, the domain free of Flask, jobs free of the HTTP app."""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_jobs_and_the_http_app_form_no_cycle():
    graph = grimp.build_graph("api", "jobs")
    assert not graph.chain_exists(importer="jobs", imported="api.app", as_packages=True)
    assert not graph.chain_exists(importer="jobs", imported="api.http", as_packages=True)
    assert not graph.chain_exists(importer="api.services", imported="jobs", as_packages=True)
    assert graph.direct_import_exists(importer="api.http.tasks", imported="jobs")  # jobs at module top
