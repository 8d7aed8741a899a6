"""What a page fetched: its URL lookups and image responses as Playwright sees them, and what
the browser's own network stack did for each request (CDP), down to cache hits and bytes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from playwright.sync_api import Page, Request

LOOKUP_PATH = "/api/v1/urls"
IMAGE_PREFIXES = ("/objects/", "/p/", "/i/")
IMAGE_KINDS = {"/objects/": "signed", "/p/": "proxy", "/i/": "redirect"}


def image_key(url: str) -> str:
    """The key an image URL (signed, proxy or redirect; absolute or a path) is for, else ""."""
    path = urlsplit(url).path
    for prefix in IMAGE_PREFIXES:
        if path.startswith(prefix):
            return unquote(path[len(prefix) :])
    return ""


def url_expiry(url: str) -> int | None:
    """The `exp` of a local signed URL (`/objects/<key>?exp=..&sig=..`)."""
    values = parse_qs(urlsplit(url).query).get("exp")
    return int(values[0]) if values else None


def max_batches(n: int, batch: int = 100) -> int:
    return max(1, math.ceil(n / batch))


@dataclass
class Lookup:
    """One `POST /api/v1/urls` the page sent."""

    keys: list[str]
    refresh: bool
    at: float
    request: Request = field(repr=False)

    def errors(self) -> dict[str, str]:
        """Key -> error code, of the keys the backend answered with an error (waits for the answer)."""
        response = self.request.response()
        if response is None or not response.ok:
            return {}
        return {error["key"]: error["code"] for error in response.json().get("errors", [])}


@dataclass
class ImageResponse:
    status: int
    url: str
    path: str
    at: float

    @property
    def key(self) -> str:
        return image_key(self.path)

    @property
    def kind(self) -> str:
        return IMAGE_KINDS[self.path[: self.path.index("/", 1) + 1]]


@dataclass
class Network:
    """URL lookups and image responses of one page, as the browser made them."""

    lookups: list[Lookup] = field(default_factory=list)
    images: list[ImageResponse] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)

    @classmethod
    def watch(cls, page: Page) -> Network:
        network = cls()
        page.on("request", network._on_request)
        page.on("response", network._on_response)
        return network

    def _on_request(self, request: Request) -> None:
        self.last_activity = time.monotonic()
        if request.method == "POST" and urlsplit(request.url).path == LOOKUP_PATH:
            body = request.post_data_json or {}
            self.lookups.append(Lookup(list(body.get("keys", [])), bool(body.get("refresh")), time.time(), request))

    def _on_response(self, response) -> None:
        self.last_activity = time.monotonic()
        path = urlsplit(response.url).path
        # HEAD requests are SmartImage's probes of a failed <img> (is it a 429?), not image loads.
        if path.startswith(IMAGE_PREFIXES) and response.request.method == "GET":
            self.images.append(ImageResponse(response.status, response.url, path, time.time()))

    def clear(self) -> None:
        self.lookups.clear()
        self.images.clear()

    def looked_up_keys(self) -> set[str]:
        return {key for lookup in self.lookups for key in lookup.keys}

    def settle(self, page: Page, quiet: float = 1.0, timeout: float = 15.0) -> None:
        """Wait until the page made no request for `quiet` seconds (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_activity < quiet:
            assert time.monotonic() < deadline, f"the page kept making requests for {timeout}s"
            page.wait_for_timeout(100)


class WireLog:
    """Every request of a page as Chromium's network stack handled it (CDP), by request id:
    `url`, `path`, `key`, then `status`, `disk` (answered from the disk cache), `memory`
    (from the memory cache) and `bytes` (encoded bytes received) as they become known."""

    def __init__(self, page: Page) -> None:
        self.requests: dict[str, dict] = {}
        self._cdp = page.context.new_cdp_session(page)
        self._cdp.send("Network.enable")
        self._cdp.on("Network.requestWillBeSent", self._on_request)
        self._cdp.on("Network.requestServedFromCache", lambda e: self._update(e, memory=True))
        self._cdp.on("Network.responseReceived", self._on_response)
        self._cdp.on("Network.loadingFinished", lambda e: self._update(e, bytes=e["encodedDataLength"]))

    def _on_request(self, event: dict) -> None:
        url = event["request"]["url"]
        self.requests[event["requestId"]] = {"url": url, "path": urlsplit(url).path, "key": image_key(url)}

    def _on_response(self, event: dict) -> None:
        response = event["response"]
        self._update(event, status=response["status"], disk=response.get("fromDiskCache", False))

    def _update(self, event: dict, **values: object) -> None:
        entry = self.requests.get(event["requestId"])
        if entry is not None:
            entry.update(values)
