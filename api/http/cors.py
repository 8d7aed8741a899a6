"""CORS, by flask-cors: a page on an allowed origin (CORS_ORIGINS) may call the public API and
fetch images; the admin endpoints answer CORS only when CORS_ADMIN is set.

Preflights get the methods and request headers a client needs (`Content-Type` for JSON
bodies, `If-None-Match`/`If-Range`/`Range` for the proxy, `Authorization` only on admin routes)
and a Max-Age, so a browser asks once an hour per URL, not before every request. Every
response says `Vary: Origin`, CORS or not: a shared cache must not hand the answer for one
origin to another (flask-cors adds it only when several origins are configured).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_cors import CORS

from ..settings import Settings

PREFLIGHT_MAX_AGE = 3600
EXPOSED = ["Accept-Ranges", "Content-Length", "Content-Range", "ETag", "Retry-After"]
PUBLIC_ROUTES = (r"/(i|p|objects)/.*", r"/api/v1/(urls|images)(/.*)?")
ADMIN_ROUTES = (r"/api/v1/(tasks|cache|monitoring)(/.*)?", r"/metrics")


def _resources(settings: Settings) -> dict[str | re.Pattern[str], dict[str, Any]]:
    origins = list(settings.cors_origins)
    public = {
        "origins": origins,
        "methods": ["GET", "HEAD", "POST", "OPTIONS"],
        "allow_headers": ["Content-Type", "If-None-Match", "If-Range", "Range"],
    }
    admin = {
        "origins": origins,
        "methods": ["GET", "POST", "DELETE", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type"],
    }
    resources: dict[str | re.Pattern[str], dict[str, Any]] = {pattern: public for pattern in PUBLIC_ROUTES}
    if settings.cors_admin:
        resources.update({pattern: admin for pattern in ADMIN_ROUTES})
    return resources


def init_app(app: Flask, settings: Settings) -> None:
    if settings.cors_origins:
        CORS(
            app,
            resources=_resources(settings),
            expose_headers=EXPOSED,
            max_age=PREFLIGHT_MAX_AGE,
            supports_credentials=False,  # bearer tokens travel in a header, cookies are not used
            send_wildcard=False,  # `*` answers with the request's origin, as one origin is allowed
            vary_header=False,  # added to every response below
        )

    @app.after_request
    def _vary_on_origin(response):
        response.headers.add("Vary", "Origin")  # not response.vary: it parses and rebuilds the header
        return response
