"""Swagger UI assets for `/docs`, served from the swagger-ui-bundle wheel (no CDN)."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)


@bp.route("/docs/assets/<path:filename>")
def swagger_asset(filename: str):
    response = send_from_directory(swagger_ui_path, filename)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
