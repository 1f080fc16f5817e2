"""Servers a failover test starts and stops itself: Redis nodes, Sentinels, a PostgreSQL
cluster, the API, a worker.

Every one is started from the machine's Debian packages or this project's own interpreter,
on free loopback ports, in the test's own directories; `ProcessGroup` kills what is still
running when the test ends, and `postgres_cluster` stops and deletes its cluster, whatever
happened in the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import requests

from backend.config import PROJECT_ROOT
from tests.integration._intake_support import REDIS_SERVER, free_port

SENTINEL_MASTER = "enroll"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def require_binary(path: str, package: str) -> None:
    """Fail (never skip) when a server binary the test needs is missing."""
    assert Path(path).is_file() and os.access(path, os.X_OK), (
        f"{path} is missing: install the Debian package {package}")


def poll(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Call `condition` until it returns something true (errors count as false); bounded."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # a server still starting answers with errors
            last = exc
        else:
            if result:
                return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last!r})")


class ProcessGroup:
    """The processes of one test; `kill_all` SIGKILLs whatever still runs."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start one process, its output to `log` (a file: a chatty one never blocks)."""
        with log.open("ab") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                       env=env, cwd=cwd)
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        """SIGKILL every process still running and reap it."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


@contextmanager
def process_group() -> Iterator[ProcessGroup]:
    """A ProcessGroup whose processes are killed when the block ends, even on failure."""
    group = ProcessGroup()
    try:
        yield group
    finally:
        group.kill_all()


class RedisNode:
    """A redis-server (primary or replica) with no persistence of its own: `--save ''`,
    no AOF; in INTAKE_DURABILITY=wait mode the replica is what keeps a 202."""

    def __init__(self, group: ProcessGroup, directory: Path, name: str, password: str) -> None:
        self.group = group
        self.password = password
        self.directory = directory / name
        self.directory.mkdir(parents=True)
        self.name = name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, replica_of: int | None = None) -> RedisNode:
        """Start with empty data (a restarted node has lost everything) and wait for PING."""
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
                # A full sync streams at once instead of waiting 5 s for more replicas.
                "--repl-diskless-sync-delay", "0",
                "--requirepass", self.password, "--masterauth", self.password]
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        self.process = self.group.start(args, self.directory / "stdout.log")
        poll(self.client().ping, 10, f"redis {self.name} to answer")
        return self

    def kill(self) -> None:
        """SIGKILL: the process dies with whatever it had not sent its replica."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        """A direct client of this node (not through Sentinel)."""
        return redis.Redis(port=self.port, password=self.password, socket_timeout=2,
                           socket_connect_timeout=2)


class SentinelNode:
    """`redis-server sentinel.conf --sentinel` watching the primary under SENTINEL_MASTER."""

    def __init__(self, group: ProcessGroup, directory: Path, name: str, password: str) -> None:
        self.group = group
        self.directory = directory / name
        self.directory.mkdir(parents=True)
        self.port = free_port()
        self.password = password

    def start(self, primary_port: int, down_after_ms: int, failover_timeout_ms: int,
              data_password: str) -> None:
        """Write the configuration (Sentinel rewrites it as it learns) and start."""
        conf = self.directory / "sentinel.conf"
        conf.write_text("\n".join([
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {self.directory}",
            f"logfile {self.directory / 'sentinel.log'}",
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {primary_port} 2",
            f"sentinel down-after-milliseconds {SENTINEL_MASTER} {down_after_ms}",
            f"sentinel failover-timeout {SENTINEL_MASTER} {failover_timeout_ms}",
            f"sentinel parallel-syncs {SENTINEL_MASTER} 1",
            f"sentinel auth-pass {SENTINEL_MASTER} {data_password}",
            # The sentinels' own password; they also use it with each other.
            f"requirepass {self.password}",
            "",
        ]))
        self.group.start([REDIS_SERVER, str(conf), "--sentinel"], self.directory / "stdout.log")

    def client(self) -> redis.Redis:
        """A client of this sentinel."""
        return redis.Redis(port=self.port, password=self.password, socket_timeout=2,
                           socket_connect_timeout=2)

    def master_port(self) -> int:
        """The primary's port as this sentinel names it now."""
        _host, port = self.client().execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)
        return int(port)


class RedisWithSentinels:
    """A primary, one replica and three Sentinels (quorum 2), all on loopback, each kind
    with its own password."""

    password = "data-node-password"  # a test's own servers
    sentinel_password = "sentinel-password"

    def __init__(self, group: ProcessGroup, directory: Path, *, down_after_ms: int = 1000,
                 failover_timeout_ms: int = 5000) -> None:
        require_binary(REDIS_SERVER, "redis-server (7.0; it also runs as redis-sentinel)")
        self.primary = RedisNode(group, directory, "node-a", self.password)
        self.replica = RedisNode(group, directory, "node-b", self.password)
        self.sentinels = [SentinelNode(group, directory, f"sentinel-{n}", self.sentinel_password)
                          for n in range(3)]
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms

    @property
    def setting(self) -> str:
        """REDIS_SENTINELS for the app."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The sentinels' addresses."""
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def start(self) -> RedisWithSentinels:
        """Start every node; return once each sentinel knows the replica and its peers."""
        self.primary.start()
        self.replica.start(replica_of=self.primary.port)
        poll(lambda: self.replica.client().info("replication")["master_link_status"] == "up",
             10, "the replica to sync")
        for sentinel in self.sentinels:
            sentinel.start(self.primary.port, self.down_after_ms, self.failover_timeout_ms,
                           self.password)
        for sentinel in self.sentinels:
            # Peers are found through the primary's hello channel (every 2 s): a failover
            # needs a majority of them to agree.
            poll(lambda s=sentinel: len(s.client().execute_command(
                "SENTINEL", "SENTINELS", SENTINEL_MASTER)) == 2 and s.client().execute_command(
                "SENTINEL", "REPLICAS", SENTINEL_MASTER), 20, "the sentinels to meet")
        return self

    def wait_for_failover(self, timeout: float = 20) -> None:
        """Until every sentinel names the replica as the primary."""
        poll(lambda: all(s.master_port() == self.replica.port for s in self.sentinels),
             timeout, "the sentinels to promote the replica")

    def wait_for_replica(self, node: RedisNode, timeout: float = 30) -> None:
        """Until `node` replicates from the promoted primary, in sync."""
        def synced() -> bool:
            info = node.client().info("replication")
            return (info["role"] == "slave" and info["master_port"] == self.replica.port
                    and info["master_link_status"] == "up")
        poll(synced, timeout, f"{node.name} to rejoin as a replica", every=0.2)


def wait_until_serving(base_url: str, timeout: float = 60) -> None:
    """Until the API answers /readyz with 200 (database and Redis both reachable)."""
    poll(lambda: requests.get(base_url + "readyz", timeout=2).status_code == 200, timeout,
         "the API to be ready", every=0.2)


def api_process(group: ProcessGroup, env: dict[str, str], port: int,
                log: Path) -> subprocess.Popen[bytes]:
    """The API as docs/DEPLOY.md runs it: gunicorn, gthread workers."""
    return group.start([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread",
                        "--threads", "4", "-b", f"127.0.0.1:{port}", "backend:create_app()"],
                       log, env=env, cwd=PROJECT_ROOT)


def worker_process(group: ProcessGroup, env: dict[str, str], name: str,
                   log: Path, batch_size: int = 500) -> subprocess.Popen[bytes]:
    """`python -m backend.worker`, as the product runs it (without the notice sender)."""
    return group.start([sys.executable, "-m", "backend.worker", "--name", name,
                        "--batch-size", str(batch_size), "--no-sender"],
                       log, env=env, cwd=PROJECT_ROOT)


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (Debian's binaries), on a free loopback port,
    so that it can be stopped hard and started again without touching the machine's one.

    As root the server runs as the `postgres` OS user (it refuses to run as root).
    """

    def __init__(self) -> None:
        for binary in ("initdb", "pg_ctl", "postgres"):
            require_binary(str(POSTGRES_BIN / binary), "postgresql-15")
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            require_binary("/usr/sbin/runuser", "util-linux")
            self.as_postgres = ["/usr/sbin/runuser", "-u", "postgres", "--"]
        # Not pytest's tmp_path: its parents are closed to the postgres user.
        self.directory = Path(tempfile.mkdtemp(prefix="enroll-pg-"))
        if self.as_postgres:
            shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_postgres, *args], capture_output=True,  # noqa: S603
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> PostgresCluster:
        """initdb: trust on loopback only, UTF-8, no fsync of the new files (a test's)."""
        self._run(str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
        return self

    def start(self) -> None:
        """pg_ctl start, waiting until it accepts connections."""
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30",
                  "-l", str(self.directory / "postgres.log"),
                  "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
                  "start")

    def stop(self, mode: str = "immediate") -> None:
        """pg_ctl stop; `immediate` is a crash: no checkpoint, connections cut."""
        self._run(str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode,
                  "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started private cluster, stopped and deleted when the block ends, even on failure."""
    cluster = PostgresCluster()
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.remove()
