"""`make run` on a fresh data dir: demo images, embedded Redis, API and worker; a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from api.embedded_redis import free_port

from .test_stack import ROOT, get, wait_ready

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def descendants(root: int) -> set[int]:
    """Live (non-zombie) descendants of `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_fresh_data_dir_serves_the_demo_gallery_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "ADMIN_TOKEN"}}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="warning")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "api.launcher"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, launcher, timeout=60)
        status, _, body = get(base + "/api/v1/images?prefix=demo/&limit=200")
        assert status == 200
        import json

        items = json.loads(body)["items"]
        assert len(items) == 200
        key = items[0]["key"]
        locations = {get(f"{base}/i/{key}")[1]["Location"] for _ in range(10)}
        assert len(locations) == 1
        status, headers, image = get(base + locations.pop())
        assert status == 200 and headers["Content-Type"].startswith("image/") and len(image) > 1000
        redis_pid = int((tmp_path / "data" / "redis" / "redis.pid").read_text())
        assert alive(redis_pid)
        children = descendants(launcher.pid)
        assert len(children) >= 4  # gunicorn master + 2 workers, consumer (+ shells)
    finally:
        launcher.send_signal(signal.SIGTERM)
        output = launcher.communicate(timeout=30)[0].decode()
    token = (tmp_path / "data" / "admin-token.secret").read_text().strip()
    assert token in output  # printed for the operator
    deadline = time.monotonic() + 10
    while (alive(redis_pid) or any(map(alive, children))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(redis_pid)
    assert [pid for pid in children if alive(pid)] == []
