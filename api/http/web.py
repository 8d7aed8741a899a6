"""The built single-page app: hashed assets cached for good, index.html always revalidated."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
API_PREFIXES = ("api/", "i/", "p/", "objects/", "docs", "openapi.json", "metrics", "healthz", "readyz")

bp = Blueprint("web", __name__)


def _index():
    if not (WEB_DIST / "index.html").exists():
        abort(404, "the web app is not built: run `make run` (or `npm run build`)")
    response = send_from_directory(WEB_DIST, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/")
def index():
    return _index()


@bp.route("/assets/<path:filename>")
def assets(filename: str):
    response = send_from_directory(WEB_DIST / "assets", filename)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.route("/<path:path>")
def history_fallback(path: str):
    """Client-side routes get index.html; files at the top of dist are served as they are."""
    if path.startswith(API_PREFIXES):
        abort(404)
    candidate = WEB_DIST / path
    if "/" not in path and candidate.is_file():
        response = send_from_directory(WEB_DIST, path)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response
    return _index()
