"""`make run`: the one owner process of the embedded stack.

It validates settings, prepares the embedded Redis (unless REDIS_URL,
REDIS_SENTINELS or REDIS_CLUSTER_NODES is set), creates demo
images in an empty local store and prints the banner, then runs supervisord, which runs
Redis and the Procfile's processes (API and worker) with one environment and restarts whichever
exits (see `api.supervision`). A signal to the launcher stops everything, Redis last.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

from honcho.environ import parse_procfile

from .demo import ensure_demo_images
from .embedded_redis import EmbeddedRedis
from .settings import Settings, SettingsError
from .supervision import Program, procfile_programs, run_supervisord, write_config

ROOT = Path(__file__).resolve().parents[1]
REDIS_PRIORITY = 10  # starts before and stops after the Procfile's programs (priority 100)


def _environment(settings: Settings, redis_url: str | None) -> dict[str, str]:
    metrics_dir = settings.data_dir.resolve() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # multiprocess files of a previous run
    metrics_dir.mkdir(parents=True)
    env = dict(os.environ)
    if redis_url:  # the embedded one, or the configured URL; Sentinel/cluster settings pass as they are
        env["REDIS_URL"] = redis_url
    env.update(
        DATA_DIR=str(settings.data_dir.resolve()),
        ADMIN_TOKEN=settings.effective_admin_token,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PYTHONUNBUFFERED="1",
    )
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def _token_line(settings: Settings, to_terminal: bool) -> str:
    """The token goes to a terminal only: piped or redirected output often ends up in a log file."""
    if to_terminal:
        return settings.effective_admin_token
    if settings.admin_token:
        return "from ADMIN_TOKEN (not shown: output is not a terminal)"
    return f"in {settings.data_dir.resolve() / 'admin-token.secret'} (not shown: output is not a terminal)"


def _banner(settings: Settings, demo_count: int, to_terminal: bool) -> str:
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        f"  Image URL Cache  {url}",
        f"  gallery          {url}/",
        f"  admin            {url}/admin",
        f"  API docs         {url}/docs",
        f"  admin token      {_token_line(settings, to_terminal)}",
        f"  storage          {settings.storage_backend}"
        + (f" ({settings.images_dir}, {demo_count} demo images created)" if demo_count else ""),
        f"  processes        supervisorctl -c {settings.data_dir.resolve() / 'supervisord.conf'} status",
        "",
    ]
    return "\n".join(lines)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _programs(settings: Settings) -> tuple[list[Program], str | None]:
    """The supervised programs and the Redis URL they share (None: a Sentinel group or a
    cluster is configured, which every program reads from the same environment)."""
    programs = procfile_programs(parse_procfile((ROOT / "Procfile").read_text()).processes)
    if settings.redis_configured:
        return programs, settings.redis_url
    embedded = EmbeddedRedis(
        settings.data_dir / "redis",
        maxmemory_bytes=settings.embedded_redis_maxmemory,
        avoid_ports=frozenset({settings.port}),  # the API's port is not bound yet
    )
    embedded.prepare()
    return [Program("redis", embedded.command, REDIS_PRIORITY), *programs], embedded.url


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if _port_in_use(settings.host, settings.port):
        print(f"port {settings.port} on {settings.host} is in use: set PORT or stop that process", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    demo_count = ensure_demo_images(settings.images_dir) if settings.storage_backend == "local" else 0
    programs, redis_url = _programs(settings)
    env = _environment(settings, redis_url)
    config = write_config(programs, settings.data_dir, ROOT)
    print(_banner(settings, demo_count, sys.stdout.isatty()), flush=True)
    return run_supervisord(config, env)


if __name__ == "__main__":
    sys.exit(main())
