"""`make run`: the one owner process of the embedded stack.

It validates settings, starts the embedded Redis (unless REDIS_URL is set), creates demo images
in an empty local store, prints the admin token, then runs the Procfile's processes (API and
worker) under honcho with a shared environment, and stops everything, Redis last, on exit.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager

from .demo import ensure_demo_images
from .embedded_redis import EmbeddedRedis
from .settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def _environment(settings: Settings, redis_url: str) -> dict[str, str]:
    metrics_dir = settings.data_dir.resolve() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # multiprocess files of a previous run
    metrics_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        DATA_DIR=str(settings.data_dir.resolve()),
        ADMIN_TOKEN=settings.effective_admin_token,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PYTHONUNBUFFERED="1",
    )
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def _banner(settings: Settings, demo_count: int) -> str:
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        f"  Image URL Cache  {url}",
        f"  gallery          {url}/",
        f"  admin            {url}/admin",
        f"  API docs         {url}/docs",
        f"  admin token      {settings.effective_admin_token}",
        f"  storage          {settings.storage_backend}"
        + (f" ({settings.images_dir}, {demo_count} demo images created)" if demo_count else ""),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    demo_count = ensure_demo_images(settings.images_dir) if settings.storage_backend == "local" else 0
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        redis_url = embedded.start()
    try:
        env = _environment(settings, redis_url)
        print(_banner(settings, demo_count), flush=True)
        manager = Manager()
        procfile = parse_procfile((ROOT / "Procfile").read_text())
        for name, command in procfile.processes.items():
            manager.add_process(name, command, env=env, cwd=str(ROOT))
        manager.loop()  # returns when any process exits or on SIGINT/SIGTERM
        return manager.returncode or 0
    finally:
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
