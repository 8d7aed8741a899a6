"""The HTTP application factory: the domain's services behind Flask blueprints."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import PathConverter

import jobs

from . import cli, logs
from .clock import Clock, system_clock
from .http import (
    admin_cache,
    auth,
    cors,
    delivery,
    docs,
    guards,
    health,
    images,
    instrumentation,
    monitoring,
    objects,
    rate_limit,
    security_headers,
    tasks,
    urls,
    web,
)
from .http.errors import JsonErrorApi, register_error_handlers
from .services import Services, build_services
from .settings import Settings
from .storage import Capability, Storage

__all__ = ["create_app"]


class KeyConverter(PathConverter):
    """Like `path`, but also matches keys with a leading slash so they get a 400, not a 404."""

    regex = "(?s:.+)"  # `.` alone stops at a newline: `%0d%0a` in a key must reach the 400, not 404
    part_isolating = False  # werkzeug infers True from a regex without "/", which breaks paths


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    clock: Clock = system_clock,
    services: Services | None = None,
) -> Flask:
    """Build the app on `services`, or on services built from `settings` (default: the
    environment), `storage` and `clock`: tests pass their own."""
    services = services or build_services(settings, storage=storage, clock=clock)
    settings = services.settings
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.url_map.converters["key"] = KeyConverter
    app.url_map.merge_slashes = False  # `/i//etc` is a bad key (400), not a redirect
    app.config.update(
        MAX_BATCH_KEYS=settings.max_batch_keys,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        API_TITLE="Image URL Cache",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        JSON_SORT_KEYS=False,
    )
    app.extensions.update(
        services=services,
        settings=settings,
        storage=services.storage,
        redis=services.redis,
        url_cache=services.cache,
        huey=jobs.huey,
    )
    jobs.connect(settings)
    _trust_proxies(app, settings.trusted_proxy_hops)
    _register_http(app, services)
    cors.init_app(app, settings)
    security_headers.init_app(app, services.storage.url_origin)
    cli.register(app)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind `hops` reverse proxies, the client, scheme, host and prefix are what the outermost
    trusted one saw; with none, X-Forwarded-* are ignored, so no client can pick its own address."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)  # type: ignore[method-assign]


def _register_http(app: Flask, services: Services) -> None:
    api = JsonErrorApi(app)
    api.register_converter(KeyConverter, lambda converter: {"type": "string", "description": "object key"})
    auth.document(api)
    app.extensions["openapi"] = api
    for module in (urls, images, delivery, health, tasks, admin_cache, monitoring):
        api.register_blueprint(module.bp)
    delivered = [delivery.bp]
    if Capability.SELF_SERVED_URLS in services.storage.capabilities:
        api.register_blueprint(objects.bp)
        delivered.append(objects.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(monitoring.metrics_bp)
    app.register_blueprint(web.bp)
    register_error_handlers(app, api)
    instrumentation.init_app(app)  # before the limiter, so a 429 is timed too
    rate_limit.init_app(app, services.settings, services.cache.breaker, [urls.bp, images.bp], delivered, services.clock)
    guards.init_app(app)  # after the limiter: junk input is limited like any other request
