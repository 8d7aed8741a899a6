"""One JSON error shape for every 4xx/5xx: {"error": {"code", "message", "details"}}.

Each kind of failure is mapped to its status here, once: ApiError (views), InvalidKey and InvalidVariant (400),
StorageError (its own status), RedisError (503), anything else (500, logged).
"""

from __future__ import annotations

import logging
import re

import marshmallow as ma
import redis
from flask import Flask, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..keys import InvalidKey
from ..storage import StorageError
from ..storage.variants import InvalidVariant
from ..vocabulary import ErrorCode

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An expected failure with its HTTP status; raised by views, rendered once here."""

    def __init__(
        self, status: int, code: ErrorCode, message: str, details: object = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


class ErrorBodySchema(ma.Schema):
    code = ma.fields.Enum(ErrorCode, by_value=True, metadata={"description": "Machine-readable reason"})
    message = ma.fields.String(metadata={"description": "What went wrong, for people"})
    details = ma.fields.Raw(allow_none=True, metadata={"description": "Field errors or context"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


def error_response(status: int, code: ErrorCode, message: str, details: object = None, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"  # errors are never cached (invariant 3)
    response.headers.update(headers or {})
    return response


def http_error_code(error: HTTPException) -> ErrorCode:
    """werkzeug's name for the status (`Not Found` -> not_found) when it is in the vocabulary."""
    name = re.sub(r"[^a-z0-9]+", "_", (error.name or "").lower()).strip("_")
    try:
        return ErrorCode(name)
    except ValueError:
        return ErrorCode.HTTP_ERROR


def _validation_message(messages: object) -> str:
    """First field error as a sentence: `keys: Longer than maximum length 500.`"""
    if isinstance(messages, dict):
        for location in messages.values():  # webargs nests errors under their location
            if isinstance(location, dict):
                for field, errors in location.items():
                    first = errors[0] if isinstance(errors, list) and errors else errors
                    return f"{field}: {first}"
            if isinstance(location, list) and location:
                return str(location[0])
    return "The request is not valid."


class JsonErrorApi(Api):
    """flask-smorest's Api with our error shape instead of its own."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # webargs / marshmallow validation
            messages = data["messages"]
            return error_response(400, ErrorCode.VALIDATION_ERROR, _validation_message(messages), messages)
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        message = data.get("message") or error.description or error.name
        return error_response(error.code or 500, http_error_code(error), message, None, headers)


def register_error_handlers(app: Flask, api: JsonErrorApi) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(InvalidKey)
    def _invalid_key(error: InvalidKey):
        return error_response(400, error.code, error.message)

    @app.errorhandler(InvalidVariant)
    def _invalid_variant(error: InvalidVariant):
        return error_response(400, ErrorCode.VALIDATION_ERROR, error.message, {error.field: [error.message]})

    @app.errorhandler(StorageError)
    def _storage_error(error: StorageError):
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(redis.RedisError)
    def _redis_error(error: redis.RedisError):
        return error_response(503, ErrorCode.REDIS_UNAVAILABLE, "Redis does not answer; try again shortly.",
                              headers={"Retry-After": "5"})  # fmt: skip

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        log.exception("unhandled error")
        return error_response(500, ErrorCode.INTERNAL_ERROR, "unexpected server error")
