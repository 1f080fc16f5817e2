"""Consume → dispatch → commit → ack, with reclaiming, dead-lettering and a clean stop."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import InterfaceError, OperationalError

from backend.core.db import db
from backend.core.redis import redis_store
from backend.worker.queue import DEAD_LETTER_STREAM, GROUP, stream_key
from backend.worker.registry import Handler

logger = logging.getLogger(__name__)


@dataclass
class WorkerSettings:
    """Tuning knobs; the defaults suit one county on one machine."""

    batch_size: int = 200
    block_ms: int = 1000
    # After a short batch wait a little, so the next batch is bigger and intake stays fast.
    linger_ms: int = 100
    claim_idle_ms: int = 60_000
    claim_every_s: float = 15.0
    max_deliveries: int = 5


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Worker:
    """One consumer in the `workers` group; several may run at once."""

    def __init__(self, handlers: dict[str, Handler], name: str | None = None,
                 settings: WorkerSettings | None = None) -> None:
        self.handlers = handlers
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.settings = settings or WorkerSettings()
        self.stop_event = threading.Event()
        self.processed = 0
        self.dead_lettered = 0
        self._last_claim = 0.0
        self._group_ready = False

    @property
    def redis(self) -> redis.Redis:
        """The shared Redis client."""
        return redis_store.client

    def ensure_group(self) -> None:
        """Create the stream and the consumer group if they do not exist yet."""
        try:
            self.redis.xgroup_create(stream_key(), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and return."""
        self.stop_event.set()

    def run(self) -> None:
        """Process jobs until stop() (SIGTERM) is called."""
        logger.info("worker started name=%s", self.name)
        backoff = 0.0
        while not self.stop_event.is_set():
            try:
                if backoff:
                    self.ensure_group()  # the stream may be gone after a Redis restart
                handled = self.run_once()
                backoff = 0.0
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # A Redis blip (failover, restart) must not kill the worker: retry slower.
                backoff = min(backoff * 2 or 0.5, 30.0)
                logger.warning("redis unavailable, retrying in %.1f s error=%s", backoff,
                               type(exc).__name__)
                self.stop_event.wait(backoff)
                continue
            if 0 < handled < self.settings.batch_size and self.settings.linger_ms:
                self.stop_event.wait(self.settings.linger_ms / 1000)
        logger.info("worker stopped name=%s processed=%s", self.name, self.processed)

    def run_once(self, block_ms: int | None = None) -> int:
        """Reclaim stale messages if due, then read and handle one batch; returns its size."""
        if not self._group_ready:
            self.ensure_group()
        now = time.monotonic()
        batch: list[tuple[str, dict[bytes, bytes]]] = []
        if now - self._last_claim >= self.settings.claim_every_s:
            self._last_claim = now
            batch.extend(self.reclaim())
        if not batch:
            response: Any = self.redis.xreadgroup(
                GROUP, self.name, {stream_key(): ">"}, count=self.settings.batch_size,
                block=self.settings.block_ms if block_ms is None else block_ms,
            )
            for _stream, messages in response or []:
                batch.extend((_decode(mid), fields) for mid, fields in messages)
        if batch:
            self.handle_batch(batch)
        return len(batch)

    def reclaim(self) -> list[tuple[str, dict[bytes, bytes]]]:
        """Take over messages a dead consumer left pending longer than claim_idle_ms."""
        claimed: list[tuple[str, dict[bytes, bytes]]] = []
        start = "0-0"
        while True:
            result: Any = self.redis.execute_command(
                "XAUTOCLAIM", stream_key(), GROUP, self.name, self.settings.claim_idle_ms,
                start, "COUNT", self.settings.batch_size,
            )
            start = _decode(result[0])
            for mid, fields in result[1]:
                if fields is None:  # deleted while pending: nothing left to do
                    self.redis.xack(stream_key(), GROUP, mid)
                    continue
                flat = dict(zip(fields[::2], fields[1::2], strict=True)) \
                    if isinstance(fields, list) else fields
                claimed.append((_decode(mid), flat))
            if start == "0-0" or len(claimed) >= self.settings.batch_size:
                break
        if claimed:
            logger.info("worker reclaimed name=%s count=%s", self.name, len(claimed))
        return claimed

    def _deliveries(self, message_id: str) -> int:
        info = self.redis.xpending_range(stream_key(), GROUP, min=message_id, max=message_id,
                                         count=1)
        return int(info[0]["times_delivered"]) if info else 1

    def handle_batch(self, batch: list[tuple[str, dict[bytes, bytes]]]) -> None:
        """Run each job in its own savepoint, commit the batch once, then ack what succeeded."""
        done: list[str] = []
        dead: list[tuple[str, dict[bytes, bytes], str]] = []
        session = db.session_factory()
        try:
            # Connect first: with the database down the whole batch waits, no job is blamed.
            session.connection()
            for message_id, fields in batch:
                job_type = _decode(fields.get(b"type", b""))
                handler_fn = self.handlers.get(job_type)
                if handler_fn is None:
                    dead.append((message_id, fields, f"unknown job type {job_type!r}"))
                    continue
                try:
                    payload = json.loads(fields.get(b"payload", b"{}"))
                    with session.begin_nested():
                        handler_fn(session, payload, message_id)
                    done.append(message_id)
                except (OperationalError, InterfaceError):
                    raise  # the database went away mid-batch: not this job's fault
                except Exception as exc:
                    logger.exception("job failed type=%s message_id=%s", job_type, message_id)
                    if self._deliveries(message_id) >= self.settings.max_deliveries:
                        dead.append((message_id, fields, type(exc).__name__))
            session.commit()
        except Exception:
            # The database is unhappy: ack nothing; every message will be delivered again.
            session.rollback()
            logger.exception("batch failed, nothing acknowledged size=%s", len(batch))
            return
        finally:
            session.close()
        with self.redis.pipeline() as pipe:
            for message_id, fields, reason in dead:
                pipe.xadd(stream_key(DEAD_LETTER_STREAM), {
                    **{k.decode(): v for k, v in fields.items()},
                    "original_id": message_id, "reason": reason,
                    "failed_at": str(int(time.time())),
                })
            acked = done + [mid for mid, _f, _r in dead]
            if acked:
                pipe.xack(stream_key(), GROUP, *acked)
                # Acked jobs are removed so the stream stays small.
                pipe.xdel(stream_key(), *acked)
            pipe.execute()
        self.processed += len(done)
        self.dead_lettered += len(dead)
        if dead:
            logger.warning("jobs dead-lettered count=%s", len(dead))
