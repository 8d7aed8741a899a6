"""/metrics: Prometheus text that prometheus-client parses, summed over gunicorn workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.embedded_redis import free_port

from .conftest import IMAGES, write_images
from .jobs_fixtures import AUTH, TOKEN

ROOT = Path(__file__).resolve().parents[1]
KEY = "gallery/red.png"


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def value(parsed: dict, name: str, **labels) -> float:
    return sum(s.value for s in parsed.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def scrape(client) -> dict:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def test_metrics_count_requests_per_route_cache_events_and_latency(client):
    before = scrape(client)
    for _ in range(3):
        client.get(f"/api/v1/urls/{KEY}")
    client.get("/api/v1/urls/../x")
    after = scrape(client)
    route = "/api/v1/urls/<key:key>"
    counted = lambda p, **kw: value(p, "iuc_http_requests_total", endpoint=route, method="GET", **kw)
    assert counted(after, status="200") - counted(before, status="200") == 3
    assert counted(after, status="400") - counted(before, status="400") == 1
    latency = lambda p: value(p, "iuc_http_request_duration_seconds_count", endpoint=route)
    assert latency(after) - latency(before) == 4
    hits = lambda p: value(p, "iuc_cache_events_total", event="l1_hits")
    assert hits(after) - hits(before) == 2
    assert value(after, "iuc_queue_pending") == 0 and value(after, "iuc_workers_alive") == 0


def test_metrics_need_the_admin_token(client):
    assert client.get("/metrics").status_code == 401


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


@pytest.mark.slow
def test_metrics_sum_the_requests_of_two_gunicorn_workers(tmp_path, redis_url):
    write_images(tmp_path / "images", IMAGES)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR"}}
    env.update(
        DATA_DIR=str(tmp_path), REDIS_URL=redis_url, ADMIN_TOKEN=TOKEN, PORT=str(port), WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), LOG_LEVEL="warning",
    )  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf", "api.app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while get(base + "/readyz")[0] != 200:
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.05)
        served = 0
        with ThreadPoolExecutor(8) as pool:
            for _ in range(50):  # until both workers have answered some (each writes its own files)
                served += sum(status == 200 for status, _ in pool.map(get, [base + "/healthz"] * 16))
                pids = {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}
                if len(pids) >= 2:
                    break
        assert len(pids) == 2, "one worker answered everything"
        status, text = get(base + "/metrics", TOKEN)
        assert status == 200
        parsed = samples(text)
        assert value(parsed, "iuc_http_requests_total", endpoint="/healthz", status="200") == served
        assert value(parsed, "iuc_http_request_duration_seconds_count", endpoint="/healthz") == served
    finally:
        server.terminate()
        server.wait(15)
