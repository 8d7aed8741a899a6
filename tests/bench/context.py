"""What the rows of one run share: options, scratch folder, one Redis server, demo images, one API node."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import redis

from .node import Node
from .redis_server import RedisServer

# Redis dbs: each row keeps to its own so none sees another's keys.
DB_NODE = 0  # the shared API node (rows 1, 2, 8)
DB_NAIVE = 5
DB_NAIVE_NODE = 6
DB_MEMORY = 7
DB_MEMORY_REF = 8
DB_HITRATE = 9
DB_PRE_SMALL = 10
DB_PRE_LARGE = 11
DB_SOAK = 12
DB_LIMITS = 13
DB_GALLERY = 3  # row 18's node, on the photo album


@dataclass
class Options:
    quick: bool
    work: Path  # scratch folder of this run
    tools: dict[str, str | None]  # wrk, nginx, chromium: path or None

    def pick(self, full, quick):
        return quick if self.quick else full


class Context:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.quick = options.quick
        self.work = options.work
        self.redis = RedisServer(self.work).start()
        self.data_dir = self.work / "data"
        self.images = self.data_dir / "images"
        self.images.mkdir(parents=True, exist_ok=True)
        self._node: Node | None = None
        self.soak_seconds: int | None = None  # --soak-seconds
        self._demo_keys: list[str] | None = None

    def pick(self, full, quick):
        return self.options.pick(full, quick)

    def client(self, db: int) -> redis.Redis:
        return self.redis.client(db)

    @property
    def demo_keys(self) -> list[str]:
        """200 generated demo images (the gallery of row 8), created once per run."""
        if self._demo_keys is None:
            from api.demo import generate

            generate(self.images, 200)
            self._demo_keys = sorted(
                p.relative_to(self.images).as_posix() for p in (self.images / "demo").rglob("*") if p.is_file()
            )
        return self._demo_keys

    def node(self) -> Node:
        """The shared API node: 2 gunicorn workers (gthread, 4 threads) on Redis db 0, local storage."""
        if self._node is None:
            self.demo_keys  # noqa: B018 - the gallery must exist before the node lists it
            self._node = Node(self.data_dir, self.redis.url(DB_NODE), workers=2).start()
        return self._node

    def close(self) -> None:
        if self._node is not None:
            self._node.stop()
        self.redis.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def new_context(quick: bool, tools: dict) -> Context:
    return Context(Options(quick=quick, work=Path(tempfile.mkdtemp(prefix="iuc-bench-")), tools=tools))
