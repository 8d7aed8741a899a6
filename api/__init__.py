"""Image URL Cache: the Flask application factory."""
from __future__ import annotations

import redis
from flask import Flask, request
from flask_caching import Cache
from werkzeug.routing import PathConverter

from . import logs
from .cache.url_cache import L2_PREFIX, UrlCache
from .clock import Clock, system_clock
from .errors import JsonErrorApi, register_error_handlers
from .settings import Settings
from .storage import Storage, build_storage

__all__ = ["create_app"]


class KeyConverter(PathConverter):
    """Like `path`, but also matches keys with a leading slash so they get a 400, not a 404."""

    regex = ".+"
    part_isolating = False  # werkzeug infers True from a regex without "/", which breaks paths


def redis_client(settings: Settings) -> redis.Redis | None:
    if not settings.redis_url:
        return None
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
    )


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    clock: Clock = system_clock,
) -> Flask:
    """Build the app. Tests pass their own settings, storage or clock; production reads env."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.url_map.converters["key"] = KeyConverter
    app.url_map.merge_slashes = False  # `/i//etc` is a bad key (400), not a redirect
    app.config.update(
        MAX_BATCH_KEYS=settings.max_batch_keys,
        API_TITLE="Image URL Cache",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        JSON_SORT_KEYS=False,
    )
    client = redis_client(settings)
    l2 = _shared_cache(app, client, settings) if client else None
    storage = storage or build_storage(settings)
    app.extensions.update(
        settings=settings,
        storage=storage,
        redis=client,
        url_cache=UrlCache(storage, l2, client, settings, clock=clock),
    )
    _register_http(app)
    _register_cors(app, settings)
    return app


def _shared_cache(app: Flask, client: redis.Redis, settings: Settings):
    """Flask-Caching's Redis backend (JSON values) on our connection pool."""
    cache = Cache()
    cache.init_app(
        app,
        config={
            "CACHE_TYPE": "api.cache.l2.JsonRedisCache",
            "CACHE_REDIS_HOST": client,
            "CACHE_KEY_PREFIX": L2_PREFIX,
            "CACHE_DEFAULT_TIMEOUT": settings.cache_ttl_seconds,
        },
    )
    with app.app_context():
        return cache.cache


def _register_http(app: Flask) -> None:
    import jobs

    from . import auth, cli, metrics, rate_limit
    from .http import admin_cache, delivery, docs, health, images, monitoring, objects, tasks, urls, web

    api = JsonErrorApi(app)
    api.register_converter(KeyConverter, lambda converter: {"type": "string", "description": "object key"})
    auth.document(api)
    for module in (urls, images, delivery, health, tasks, admin_cache, monitoring):
        api.register_blueprint(module.bp)
    delivered = [delivery.bp]
    if app.extensions["storage"].name == "local":
        api.register_blueprint(objects.bp)
        delivered.append(objects.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(monitoring.metrics_bp)
    app.register_blueprint(web.bp)
    register_error_handlers(app)
    metrics.init_app(app)  # before the limiter, so a 429 is timed too
    admin = [tasks.bp, admin_cache.bp, monitoring.bp, monitoring.metrics_bp]
    rate_limit.init_app(app, app.extensions["settings"], [urls.bp, images.bp], delivered, admin)
    jobs.init_app(app)
    cli.register(app)


def _register_cors(app: Flask, settings: Settings) -> None:
    origins = set(settings.cors_origins)

    @app.after_request
    def cors(response):
        """Images and URLs may be used from other origins; caches must key on Origin."""
        response.headers.add("Vary", "Origin")  # not response.vary: it parses and rebuilds the header
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Content-Length, Content-Range, ETag"
        return response
