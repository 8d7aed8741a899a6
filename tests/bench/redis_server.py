"""The benchmarks' Redis: the bundled server on a free port, and counting what reaches it."""

from __future__ import annotations

from pathlib import Path

import redis

from api.embedded_redis import EmbeddedRedis


class RedisServer:
    """The bundled redis-server on a free loopback port, with no persistence."""

    def __init__(self, work: Path) -> None:
        self.server = EmbeddedRedis(work / "redis", persist=False)

    def start(self) -> RedisServer:
        self.server.start()
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.server.port}/{db}"

    def client(self, db: int = 0, **kwargs) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), **kwargs)

    def stop(self) -> None:
        self.server.stop()


def commandstats(client: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()}


class CountingConnection(redis.Connection):
    """A redis-py connection that counts round trips (packed sends) and commands sent."""

    round_trips = 0
    commands = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.round_trips += 1
        return super().send_packed_command(command, check_health)

    def send_command(self, *args, **kwargs):
        CountingConnection.commands += 1
        return super().send_command(*args, **kwargs)

    def pack_commands(self, commands):
        commands = list(commands)
        CountingConnection.commands += len(commands)
        return super().pack_commands(commands)
