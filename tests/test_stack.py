"""The real serving stack: gunicorn workers over a real Redis, reached over loopback HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api.embedded_redis import EmbeddedRedis, free_port

from .conftest import IMAGES, write_images

ROOT = Path(__file__).resolve().parents[1]
KEY = "gallery/red.png"
pytestmark = pytest.mark.slow


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(url: str, opener=OPENER):
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_ready(base: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if get(base + "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not become ready")


class Gunicorn:
    """One API node: `gunicorn --config python:api.gunicorn_conf`, as the Procfile runs it."""

    def __init__(self, data_dir: Path, redis_url: str | None, workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(DATA_DIR=str(data_dir), PORT=str(self.port), WEB_CONCURRENCY=str(workers), LOG_LEVEL="warning")
        if redis_url:
            env["REDIS_URL"] = redis_url
        self.env = env

    def start(self) -> Gunicorn:
        command = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf", "api.app:create_app()"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        wait_ready(self.base, self.process)
        return self

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(15)


@pytest.fixture
def stack(tmp_path):
    write_images(tmp_path / "images", IMAGES)
    redis_server = EmbeddedRedis(tmp_path / "redis", persist=False)
    redis_server.start()
    nodes: list[Gunicorn] = []

    def node(redis_url="default", workers=2) -> Gunicorn:
        started = Gunicorn(tmp_path, redis_server.url if redis_url == "default" else redis_url, workers).start()
        nodes.append(started)
        return started

    yield node
    for started in nodes:
        if started.process.poll() is None:
            started.stop()
    redis_server.stop()


def test_redirect_location_is_identical_across_workers_nodes_and_restarts(stack):
    first = stack(workers=2)
    locations = {get(f"{first.base}/i/{KEY}")[1]["Location"] for _ in range(30)}
    assert len(locations) == 1
    location = locations.pop()

    status, headers, body = get(first.base + location)
    assert status == 200 and headers["Content-Type"].startswith("image/")
    assert body == IMAGES[KEY]

    without_redis = stack(redis_url=None, workers=1)
    assert get(f"{without_redis.base}/i/{KEY}")[1]["Location"] == location

    first.stop()
    restarted = stack(workers=2)
    assert get(f"{restarted.base}/i/{KEY}")[1]["Location"] == location


def test_access_log_never_shows_signatures(stack):
    node = stack(workers=1)
    node.process.terminate()
    node.process.wait(15)
    node.env["LOG_LEVEL"] = "info"
    node.start()
    location = get(f"{node.base}/i/{KEY}")[1]["Location"]
    signature = location.split("sig=")[1]
    assert get(node.base + location)[0] == 200
    node.stop()
    log = node.process.stdout.read().decode()
    assert "/objects/gallery/red.png" in log
    assert signature not in log


@pytest.mark.parametrize("hops, logged", [("1", "203.0.113.9"), ("0", "127.0.0.1")])
def test_the_access_log_shows_the_client_a_trusted_proxy_saw(stack, hops, logged):
    node = stack(workers=1)
    node.stop()
    node.env.update(LOG_LEVEL="info", TRUSTED_PROXY_HOPS=hops)
    node.start()
    request = urllib.request.Request(f"{node.base}/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert get(request)[0] == 200
    node.stop()
    lines = [line for line in node.process.stdout.read().decode().splitlines() if "GET /healthz" in line]
    assert lines and all(line.startswith(logged + " ") for line in lines)
