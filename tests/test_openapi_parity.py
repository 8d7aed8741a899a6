"""The web app's types are generated from web/src/api/openapi.json: it must be what the API
serves, so a changed error code, task status or field fails here until `make openapi` runs."""

from __future__ import annotations

import json
from pathlib import Path

from api import openapi
from api.vocabulary import ErrorCode, TaskStatus

COMMITTED = Path(__file__).resolve().parents[1] / "web" / "src" / "api" / "openapi.json"


def test_the_committed_schema_is_the_served_one(client):
    served = client.get("/openapi.json").json
    assert json.loads(COMMITTED.read_text()) == served == openapi.document()


def test_the_vocabulary_is_published_as_enums():
    schemas = json.loads(COMMITTED.read_text())["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["code"]["enum"] == [code.value for code in ErrorCode]
    assert schemas["KeyError"]["properties"]["code"]["enum"] == [code.value for code in ErrorCode]
    assert schemas["Task"]["properties"]["status"]["enum"] == [status.value for status in TaskStatus]
