"""`python -m api.openapi`: the OpenAPI document, as `/openapi.json` serves it, on stdout.

`make openapi` writes it to web/src/api/openapi.json, which the web app's types are generated
from; a test fails while the committed copy differs from what the app serves.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .app import create_app
from .settings import Settings


def document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings.from_env(
            {}, data_dir=Path(data_dir), redis_url=None, admin_token="-", local_signing_secret="-"
        )
        app = create_app(settings)
        try:
            return app.extensions["openapi"].spec.to_dict()
        finally:
            app.extensions["services"].close()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
