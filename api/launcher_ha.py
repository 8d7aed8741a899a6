"""`make run-ha`: a whole HA deployment on one machine, through the same code paths as production.

A Sentinel group from the bundled `redis-server` (primary, replica, 3 sentinels), two API nodes
(PORT and PORT + 1) and two job consumers, all supervised like `make run`. The programs find
Redis through REDIS_SENTINELS / REDIS_SENTINEL_MASTER only, as a production deployment would,
so killing the primary shows a failover in the admin console.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from honcho.environ import parse_procfile

from .demo import ensure_demo_images
from .embedded_redis import EXECUTABLE
from .launcher import REDIS_PRIORITY, ROOT, _environment, _port_in_use, _token_line
from .settings import Settings, SettingsError
from .supervision import Program, procfile_programs, run_supervisord, write_config

MASTER = "iuc-ha"
REDIS_PORTS = (6390, 6391)  # primary, replica
SENTINEL_PORTS = (26390, 26391, 26392)
SENTINEL_PRIORITY = REDIS_PRIORITY + 5  # after the servers they watch, before the programs


def _server(name: str, workdir: Path, port: int, lines: list[str], sentinel: bool = False) -> Program:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / ("sentinel.conf" if sentinel else "redis.conf")
    base = ["bind 127.0.0.1", f"port {port}", f"dir {workdir}", "daemonize no", 'save ""', "loglevel warning"]
    conf.write_text("\n".join(base + lines) + "\n")  # rewritten on each start: sentinels rewrite it too
    command = [str(EXECUTABLE), str(conf)] + (["--sentinel"] if sentinel else [])
    return Program(name, command, SENTINEL_PRIORITY if sentinel else REDIS_PRIORITY)


def sentinel_programs(state: Path) -> list[Program]:
    primary, replica = REDIS_PORTS
    programs = [
        _server("redis-primary", state / "primary", primary, []),
        _server("redis-replica", state / "replica", replica, [f"replicaof 127.0.0.1 {primary}"]),
    ]
    for n, port in enumerate(SENTINEL_PORTS):
        lines = [
            f"sentinel monitor {MASTER} 127.0.0.1 {primary} 2",
            f"sentinel down-after-milliseconds {MASTER} 1000",
            f"sentinel failover-timeout {MASTER} 5000",
        ]
        programs.append(_server(f"sentinel-{n}", state / f"sentinel{n}", port, lines, sentinel=True))
    return programs


def node_programs(port: int) -> list[Program]:
    """Two API nodes and two consumers from the Procfile's lines."""
    procfile = parse_procfile((ROOT / "Procfile").read_text()).processes
    web, worker = (p for p in procfile_programs(procfile) if p.name in ("web", "worker"))
    return [
        Program("web-a", ["env", f"PORT={port}", *web.command]),
        Program("web-b", ["env", f"PORT={port + 1}", *web.command]),
        Program("worker-a", worker.command),
        Program("worker-b", worker.command),
    ]


OTHER_REDIS = ("REDIS_URL", "REDIS_CLUSTER_NODES", "HUEY_REDIS_URL")


def sentinel_env(environ: dict[str, str]) -> dict[str, str]:
    """`environ` with this deployment's Sentinel settings in place of any other Redis settings."""
    env = {k: v for k, v in environ.items() if k not in OTHER_REDIS}
    env["REDIS_SENTINELS"] = ",".join(f"127.0.0.1:{p}" for p in SENTINEL_PORTS)
    env["REDIS_SENTINEL_MASTER"] = MASTER
    return env


def _banner(settings: Settings, to_terminal: bool) -> str:
    a, b = settings.port, settings.port + 1
    primary, replica = REDIS_PORTS
    cli = EXECUTABLE.parent / "redis-cli"
    return "\n".join(
        [
            "",
            f"  Image URL Cache (HA)  nodes http://{settings.host}:{a} and http://{settings.host}:{b}",
            f"  admin                 http://{settings.host}:{a}/admin (Redis topology in /readyz)",
            f"  admin token           {_token_line(settings, to_terminal)}",
            f"  Sentinel group        primary :{primary}, replica :{replica}, sentinels "
            + ", ".join(f":{p}" for p in SENTINEL_PORTS),
            # stopped through the supervisor, which would otherwise restart it before Sentinel acts
            f"  kill the primary      supervisorctl -c {settings.data_dir.resolve() / 'supervisord.conf'} stop redis-primary",
            f"  who is primary now    {cli} -p {SENTINEL_PORTS[0]} SENTINEL get-master-addr-by-name {MASTER}",
            f"  watch                 curl -s http://{settings.host}:{a}/readyz",
            "",
        ]
    )


def main() -> int:
    try:
        settings = Settings.from_env(sentinel_env(dict(os.environ)))
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    ports = (settings.port, settings.port + 1, *REDIS_PORTS, *SENTINEL_PORTS)
    busy = [str(p) for p in ports if _port_in_use(settings.host, p)]
    if busy:
        print(f"ports in use on {settings.host}: {', '.join(busy)}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.storage_backend == "local":
        ensure_demo_images(settings.images_dir)
    programs = sentinel_programs(settings.data_dir.resolve() / "ha") + node_programs(settings.port)
    config = write_config(programs, settings.data_dir, ROOT)
    env = sentinel_env(_environment(settings, None))
    print(_banner(settings, sys.stdout.isatty()), flush=True)
    return run_supervisord(config, env)


if __name__ == "__main__":
    sys.exit(main())
