"""Real Redis deployments on loopback, from the bundled `redis-server` and `redis-cli`.

- `sentinel_group`: a primary, a replica and 3 sentinels (`down-after-milliseconds` 1000);
- `redis_cluster`: 3 primaries made a cluster by `redis-cli --cluster create` (each port + 10000
  is the cluster bus, so both are checked free).
Every wait is bounded, every process is stopped (SIGKILL after a grace) when the block exits.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from api.embedded_redis import EXECUTABLE, free_port

CLI = EXECUTABLE.parent / "redis-cli"
MASTER = "iuc-primary"
START_TIMEOUT = 15.0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A port whose cluster-bus port (+10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Server:
    """One redis-server (or sentinel) process on 127.0.0.1."""

    workdir: Path
    port: int
    lines: list[str]
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / ("sentinel.conf" if self.sentinel else "redis.conf")
        base = ["bind 127.0.0.1", f"port {self.port}", f"dir {self.workdir}", "daemonize no", 'save ""']
        base += ["loglevel warning", f"logfile {self.workdir / 'server.log'}"]
        conf.write_text("\n".join(base + self.lines) + "\n")
        command = [str(EXECUTABLE), str(conf)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.client().ping(), START_TIMEOUT, f"redis at {self.address}")
        return self

    def kill(self) -> None:
        """SIGKILL: the server vanishes without a word, as a crashed host would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@dataclass
class SentinelGroup:
    primary: Server
    replica: Server
    sentinels: list[Server] = field(default_factory=list)
    master: str = MASTER

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(s.address for s in self.sentinels)

    def primary_address(self) -> str:
        host, port = self.sentinels[-1].client().sentinel_get_master_addr_by_name(self.master)
        return f"{host if isinstance(host, str) else host.decode()}:{int(port)}"

    def server_at(self, address: str) -> Server:
        return next(s for s in (self.primary, self.replica) if s.address == address)

    def settings(self) -> dict[str, object]:
        return {"redis_url": None, "redis_sentinels": self.addresses, "redis_sentinel_master": self.master}


@contextmanager
def sentinel_group(workdir: Path) -> Iterator[SentinelGroup]:
    with ExitStack() as stack:
        primary = Server(workdir / "primary", free_port(), [])
        stack.callback(primary.stop)
        primary.start()
        replica = Server(workdir / "replica", free_port(), [f"replicaof 127.0.0.1 {primary.port}"])
        stack.callback(replica.stop)
        replica.start()
        group = SentinelGroup(primary, replica)
        for n in range(3):
            sentinel = Server(
                workdir / f"sentinel{n}",
                free_port(),
                [
                    f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 2",
                    f"sentinel down-after-milliseconds {MASTER} 1000",
                    f"sentinel failover-timeout {MASTER} 5000",
                    f"sentinel parallel-syncs {MASTER} 1",
                ],
                sentinel=True,
            )
            stack.callback(sentinel.stop)
            group.sentinels.append(sentinel.start())

        def ready() -> bool:
            link = replica.client().info("replication").get("master_link_status") == "up"
            known = all(
                s.client().sentinel_master(MASTER)["num-other-sentinels"] >= 2 and s.client().sentinel_slaves(MASTER)
                for s in group.sentinels
            )
            return link and known

        wait_until(ready, 30.0, "the sentinels to find each other and the replica")
        yield group


@dataclass
class Cluster:
    nodes: list[Server]

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(n.address for n in self.nodes)

    def settings(self, huey_redis_url: str) -> dict[str, object]:
        return {"redis_url": None, "redis_cluster_nodes": self.addresses, "huey_redis_url": huey_redis_url}


@contextmanager
def redis_cluster(workdir: Path, size: int = 3) -> Iterator[Cluster]:
    with ExitStack() as stack:
        nodes = []
        for n in range(size):
            node = Server(
                workdir / f"node{n}",
                cluster_port(),
                [
                    "cluster-enabled yes",
                    "cluster-config-file nodes.conf",
                    "cluster-node-timeout 1000",
                    # the shards that are up keep serving while one is down
                    "cluster-require-full-coverage no",
                    "appendonly no",
                ],
            )
            stack.callback(node.stop)
            nodes.append(node.start())
        subprocess.run(
            [str(CLI), "--cluster", "create", *[n.address for n in nodes], "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )

        def ready() -> bool:
            return all(n.client().cluster("info").get("cluster_state") == "ok" for n in nodes)

        wait_until(ready, 30.0, "the cluster to agree on its slots")
        yield Cluster(nodes)
