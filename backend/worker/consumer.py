"""Consume → dispatch → commit → effects → ack, with reclaiming, dead letters and a clean stop."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.core.db import db
from backend.core.jobs import (
    DEAD_LETTER_HOOKS,
    GROUP,
    STREAMS,
    BatchHandler,
    Effects,
    Handler,
    dead_letter_key,
    stream_key,
)
from backend.core.redis import redis_store

logger = logging.getLogger(__name__)

Message = tuple[str, dict[bytes, bytes]]
_INFRASTRUCTURE = (OperationalError, InterfaceError)


@dataclass
class WorkerSettings:
    """Tuning knobs; the defaults suit one county on one machine."""

    batch_size: int = 500
    block_ms: int = 1000
    # After a short batch wait a little, so the next batch is bigger and intake stays fast.
    linger_ms: int = 100
    claim_idle_ms: int = 60_000
    claim_every_s: float = 15.0
    max_deliveries: int = 5


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Worker:
    """One consumer in the `workers` group of every stream; several may run at once."""

    def __init__(self, handlers: dict[str, Handler], name: str | None = None,
                 settings: WorkerSettings | None = None,
                 batch_handlers: dict[str, BatchHandler] | None = None,
                 streams: Iterable[str] = STREAMS) -> None:
        self.handlers = handlers
        self.batch_handlers = batch_handlers or {}
        self.streams = tuple(streams)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.settings = settings or WorkerSettings()
        self.stop_event = threading.Event()
        self.processed = 0
        self.dead_lettered = 0
        self._last_claim = 0.0
        self._group_ready = False
        # After a failed batch, this consumer's own pending messages are read again first,
        # instead of waiting for claim_idle_ms to pass.
        self._retry_own_pending = False

    @property
    def redis(self) -> redis.Redis:
        """The shared Redis client."""
        return redis_store.client

    def ensure_group(self) -> None:
        """Create the streams and the consumer group if they do not exist yet."""
        for stream in self.streams:
            try:
                self.redis.xgroup_create(stream_key(stream), GROUP, id="0", mkstream=True)
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
                    self.ensure_group()  # the streams may be gone after a Redis restart
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
        try:
            return self._run_once(block_ms)
        except (redis.ConnectionError, redis.TimeoutError):
            # What this consumer read but did not acknowledge is still its own after Redis
            # comes back (on a promoted replica too: reads are replicated): take it up
            # first, instead of leaving it until claim_idle_ms has passed.
            self._retry_own_pending = True
            raise

    def _run_once(self, block_ms: int | None) -> int:
        if not self._group_ready:
            self.ensure_group()
        now = time.monotonic()
        batches: dict[str, list[Message]] = {}
        if now - self._last_claim >= self.settings.claim_every_s:
            self._last_claim = now
            for stream in self.streams:
                claimed = self.reclaim(stream)
                if claimed:
                    batches[stream] = claimed
        if not batches and self._retry_own_pending:
            batches = self._read("0", block_ms=None)
            self._retry_own_pending = bool(batches)
        if not batches:
            batches = self._read(">", self.settings.block_ms if block_ms is None else block_ms)
        failed = False
        for stream, batch in batches.items():
            failed = not self.handle_batch(batch, stream) or failed
        if failed:
            self._retry_own_pending = True
            # The database is away: wait a little instead of spinning on it.
            self.stop_event.wait(min(1.0, self.settings.block_ms / 1000))
        return sum(len(b) for b in batches.values())

    def _read(self, start: str, block_ms: int | None) -> dict[str, list[Message]]:
        # start ">" reads new messages; "0" re-reads this consumer's own pending ones.
        response: Any = self.redis.xreadgroup(
            GROUP, self.name, {stream_key(s): start for s in self.streams},
            count=self.settings.batch_size, block=block_ms if start == ">" else None,
        )
        keys = {stream_key(s): s for s in self.streams}
        batches: dict[str, list[Message]] = {}
        for key, messages in response or []:
            if messages:
                batches[keys[_decode(key)]] = [(_decode(mid), f) for mid, f in messages
                                               if f is not None]
        return {s: b for s, b in batches.items() if b}

    def reclaim(self, stream: str) -> list[Message]:
        """Take over messages a dead consumer left pending longer than claim_idle_ms."""
        claimed: list[Message] = []
        start = "0-0"
        while True:
            result: Any = self.redis.execute_command(
                "XAUTOCLAIM", stream_key(stream), GROUP, self.name,
                self.settings.claim_idle_ms, start, "COUNT", self.settings.batch_size,
            )
            start = _decode(result[0])
            for mid, fields in result[1]:
                if fields is None:  # deleted while pending: nothing left to do
                    self.redis.xack(stream_key(stream), GROUP, mid)
                    continue
                flat = dict(zip(fields[::2], fields[1::2], strict=True)) \
                    if isinstance(fields, list) else fields
                claimed.append((_decode(mid), flat))
            if start == "0-0" or len(claimed) >= self.settings.batch_size:
                break
        if len(claimed) >= self.settings.batch_size:
            self._last_claim = 0.0  # more may be waiting: claim again on the next round
        if claimed:
            logger.info("worker reclaimed name=%s stream=%s count=%s", self.name, stream,
                        len(claimed))
        return claimed

    def _deliveries(self, stream: str, message_id: str) -> int:
        info: Any = self.redis.xpending_range(stream_key(stream), GROUP, min=message_id,
                                              max=message_id, count=1)
        return int(info[0]["times_delivered"]) if info else 1

    def _run_batch_handler(self, session: Session, fn: BatchHandler,
                           items: list[tuple[str, dict[str, Any]]], effects: Effects) -> None:
        staged: Effects = []
        with session.begin_nested():
            fn(session, items, staged)
        effects.extend(staged)

    def handle_batch(self, batch: list[Message], stream: str = STREAMS[-1]) -> bool:
        """Run the jobs, commit once, run their effects, then ack; False if nothing could."""
        done: list[str] = []
        dead: list[tuple[str, dict[bytes, bytes], str]] = []
        failed: list[tuple[str, Exception]] = []
        effects: Effects = []
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        raw: dict[str, dict[bytes, bytes]] = {}
        for message_id, fields in batch:
            raw[message_id] = fields
            job_type = _decode(fields.get(b"type", b""))
            try:
                payload = json.loads(fields.get(b"payload", b"{}"))
            except ValueError:
                dead.append((message_id, fields, "payload is not JSON"))
                continue
            if job_type not in self.handlers and job_type not in self.batch_handlers:
                dead.append((message_id, fields, f"unknown job type {job_type!r}"))
                continue
            groups.setdefault(job_type, []).append((message_id, payload))

        session = db.session_factory()
        try:
            # Connect first: with the database down the whole batch waits, no job is blamed.
            session.connection()
            for job_type, items in groups.items():
                batch_fn = self.batch_handlers.get(job_type)
                if batch_fn is not None:
                    try:
                        self._run_batch_handler(session, batch_fn, items, effects)
                        done.extend(mid for mid, _p in items)
                        continue
                    except _INFRASTRUCTURE:
                        raise
                    except Exception:
                        # Find the poison message: run the batch's messages one by one.
                        logger.warning("batch of %s failed, retrying one by one", job_type)
                for message_id, payload in items:
                    try:
                        if batch_fn is not None:
                            self._run_batch_handler(session, batch_fn, [(message_id, payload)],
                                                    effects)
                        else:
                            with session.begin_nested():
                                self.handlers[job_type](session, payload, message_id)
                        done.append(message_id)
                    except _INFRASTRUCTURE:
                        raise  # the database went away mid-batch: not this job's fault
                    except Exception as exc:
                        logger.exception("job failed type=%s message_id=%s", job_type,
                                         message_id)
                        failed.append((message_id, exc))
            session.commit()
        except Exception:
            # The database is unhappy: ack nothing; every message will be delivered again.
            session.rollback()
            logger.exception("batch failed, nothing acknowledged size=%s", len(batch))
            return False
        finally:
            session.close()
        for message_id, error in failed:
            if self._deliveries(stream, message_id) >= self.settings.max_deliveries:
                dead.append((message_id, raw[message_id], type(error).__name__))
        for _message_id, fields, reason in dead:
            hook = DEAD_LETTER_HOOKS.get(_decode(fields.get(b"type", b"")))
            if hook is not None:
                effects.append(functools.partial(hook, fields, reason))
        for effect in effects:
            effect()  # Redis writes the jobs asked for; a failure leaves the batch unacked
        with self.redis.pipeline() as pipe:
            for message_id, fields, reason in dead:
                pipe.xadd(dead_letter_key(stream), {
                    **{k.decode(): v for k, v in fields.items()},
                    "original_id": message_id, "reason": reason,
                    "failed_at": str(int(time.time())),
                    "attempts": str(self._deliveries(stream, message_id)),
                })
            acked = done + [mid for mid, _f, _r in dead]
            if acked:
                pipe.xack(stream_key(stream), GROUP, *acked)
                # Acked jobs are removed so the stream's length is the backlog.
                pipe.xdel(stream_key(stream), *acked)
            pipe.execute()
        self.processed += len(done)
        self.dead_lettered += len(dead)
        if dead:
            logger.warning("jobs dead-lettered stream=%s count=%s", stream, len(dead))
        return True
