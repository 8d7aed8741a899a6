"""The built single-page app: hashed assets cached for good, index.html always revalidated.

index.html, as served here, carries the gallery's first page (the listing with signed URLs
of one grid width, and the variant ladder the app snaps widths to) in `<script
type="application/json" id="first-page">`, so the app shows its first images with no wait for
the listing and a resolve. JSON is not executed, so the Content-Security-Policy needs no hash
for it. The first few of those URLs are also `<link rel="preload" as="image"
fetchpriority="high">`: they load while the bundle is still on its way.
"""

from __future__ import annotations

import html as html_escape
import json
import logging
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, send_from_directory

from ..keys import InvalidKey
from ..storage import StorageError
from . import context, variant_args
from .images import list_page

log = logging.getLogger(__name__)
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
API_PREFIXES = ("api/", "i/", "p/", "objects/", "docs", "openapi.json", "metrics", "healthz", "readyz")
FIRST_PAGE_ID = "first-page"
FIRST_PAGE_FORMAT = "auto"  # the navigation's Accept names the formats its images may use
# About the first row or two of the grid at common viewports: preloading more competes with the
# bundle for bandwidth, and the app starts the rest as soon as it runs anyway.
FIRST_PAGE_PRELOADS = 8

bp = Blueprint("web", __name__)


def _dist() -> Path:
    return Path(current_app.config.get("WEB_DIST", WEB_DIST))


def first_page() -> dict | None:
    """The gallery's first page for this request's `?prefix=`, or None when it cannot be had
    (bad prefix, storage down): the app then fetches it itself, as without the embedding."""
    settings = context.settings()
    if settings.first_page_limit == 0:
        return None
    prefix = request.args.get("prefix", "")
    try:
        asked = variant_args.want(settings.first_page_width, FIRST_PAGE_FORMAT, ("width", "format"))
        listing = list_page(prefix, None, settings.first_page_limit, asked)
    except (InvalidKey, StorageError) as error:
        log.info("index.html without a first page: %s", error)
        return None
    return {
        "prefix": prefix,
        "limit": settings.first_page_limit,
        "width": settings.first_page_width,
        "format": FIRST_PAGE_FORMAT,
        "widths": list(settings.variant_widths),
        "listing": listing,
    }


def _script(payload: dict) -> str:
    # `<`, `>` and `&` escaped: no key or URL can close the element or open a comment in it.
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{FIRST_PAGE_ID}">{text}</script>'


def _preloads(payload: dict) -> str:
    """`<link rel="preload">` of the first images' URLs, the ones the grid's first cells use;
    not of an object the server could not read as an image (no size): its variant would fail."""
    items = payload["listing"]["items"]
    urls = [item["url"] for item in items if item.get("url") and item.get("width")][:FIRST_PAGE_PRELOADS]
    return "".join(
        f'<link rel="preload" as="image" href="{html_escape.escape(url, quote=True)}" fetchpriority="high">'
        for url in urls
    )


def _index(gallery: bool = False):
    index = _dist() / "index.html"
    if not index.exists():
        abort(404, "the web app is not built: run `make run` (or `npm run build`)")
    html = index.read_text(encoding="utf-8")
    payload = first_page() if gallery else None
    if payload is not None:
        html = html.replace("</head>", _preloads(payload) + _script(payload) + "</head>", 1)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    if payload is not None:
        response.vary.add("Accept")  # the embedded URLs' format follows Accept
    return response


@bp.route("/")
def index():
    return _index(gallery=True)


@bp.route("/assets/<path:filename>")
def assets(filename: str):
    response = send_from_directory(_dist() / "assets", filename)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.route("/<path:path>")
def history_fallback(path: str):
    """Client-side routes get index.html; files at the top of dist are served as they are."""
    if path.startswith(API_PREFIXES):
        abort(404)
    candidate = _dist() / path
    if "/" not in path and candidate.is_file():
        response = send_from_directory(_dist(), path)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response
    return _index()
