"""`make run` on a fresh data dir: demo images, embedded Redis, API and worker; a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from api import launcher
from api.embedded_redis import free_port
from api.settings import Settings

from .fault_drill import LaunchedStack, alive, descendants
from .test_stack import ROOT, get, wait_ready

pytestmark = pytest.mark.slow


def test_fresh_data_dir_serves_the_demo_gallery_and_stops_cleanly(tmp_path):
    port = free_port()
    (tmp_path / "data" / "redis").mkdir(parents=True)
    foreign = subprocess.Popen(["sleep", "120"])  # a stale PID file naming someone else's process
    (tmp_path / "data" / "redis" / "redis.pid").write_text(str(foreign.pid))
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "ADMIN_TOKEN"}}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), WEB_CONCURRENCY="2", LOG_LEVEL="warning")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.launcher"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, timeout=60)
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
        children = descendants(process.pid)
        assert len(children) >= 4  # gunicorn master + 2 workers, consumer (+ shells)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    secret = tmp_path / "data" / "admin-token.secret"
    assert secret.read_text().strip() not in output  # output that is not a terminal may end up in a log file
    assert f"admin token      in {secret}" in output
    deadline = time.monotonic() + 10
    while (alive(redis_pid) or any(map(alive, children))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(redis_pid)
    assert [pid for pid in children if alive(pid)] == []
    assert foreign.poll() is None, "the launcher signalled a process it does not own"
    foreign.kill()


def test_a_launcher_killed_with_9_leaves_no_process_behind(tmp_path):
    stack = LaunchedStack(tmp_path / "data").start()
    assert stack.process is not None
    children = descendants(stack.process.pid)
    assert len(children) >= 5  # supervisord, redis, gunicorn master + 2 workers, consumer
    os.kill(stack.process.pid, signal.SIGKILL)  # supervisord is told by the kernel (PR_SET_PDEATHSIG)
    deadline = time.monotonic() + 20
    while any(map(alive, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []


def test_the_token_is_shown_on_a_terminal_only(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path), "ADMIN_TOKEN": "s3cret-token"})
    assert "s3cret-token" in launcher._banner(settings, 0, to_terminal=True)
    piped = launcher._banner(settings, 0, to_terminal=False)
    assert "s3cret-token" not in piped and "from ADMIN_TOKEN" in piped


def test_a_port_in_use_stops_the_launch_with_a_message(tmp_path, monkeypatch, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("DATA_DIR", str(tmp_path))
        monkeypatch.setenv("PORT", str(port))
        monkeypatch.delenv("REDIS_URL", raising=False)
        assert launcher.main() == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
    assert not (tmp_path / "redis").exists()  # nothing was started
