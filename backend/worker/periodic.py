"""Chores the workers run on a clock: a scheduled announcement's time comes, an offer's
deadline passes. Every worker process runs a ticker thread; a Redis lock per chore and
interval makes exactly one of them do each round, however many workers there are.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask

from backend.core.db import db
from backend.core.jobs import PERIODIC
from backend.core.redis import redis_store

logger = logging.getLogger(__name__)


class Ticker:
    """Runs the registered chores that are due, each under its own lock."""

    def __init__(self, app: Flask, name: str) -> None:
        from backend.worker.registry import load_handlers

        load_handlers()  # the domains' jobs modules register their chores on import
        self.app = app
        self.name = name
        self.stop_event = threading.Event()
        self._next: dict[str, float] = {}

    def run_due(self, now: float | None = None) -> list[str]:
        """Run every chore whose interval has passed and whose lock this worker won."""
        now = time.time() if now is None else now
        ran = []
        for chore in list(PERIODIC.values()):
            if now < self._next.get(chore.name, 0.0):
                continue
            self._next[chore.name] = now + chore.every_seconds
            # One round per interval across all workers: the key lives for the interval.
            window = int(now // chore.every_seconds)
            key = redis_store.key("periodic", chore.name, window)
            client: Any = redis_store.client
            if not client.set(key, self.name, nx=True, ex=int(chore.every_seconds) + 60):
                continue
            with self.app.app_context():
                try:
                    count = chore.run()
                    logger.info("periodic chore=%s done count=%s", chore.name, count)
                    ran.append(chore.name)
                except Exception:
                    db.session.rollback()
                    logger.exception("periodic chore=%s failed", chore.name)
                finally:
                    db.session.remove()
        return ran

    def loop(self, tick_seconds: float = 5.0) -> None:
        """Check for due chores every few seconds until stopped."""
        while not self.stop_event.is_set():
            try:
                self.run_due()
            except Exception:  # Redis away: try again next tick
                logger.exception("periodic tick failed")
            self.stop_event.wait(tick_seconds)

    def stop(self) -> None:
        """Finish the chore in hand and return."""
        self.stop_event.set()


def start_ticker_thread(app: Flask, name: str) -> tuple[Ticker, threading.Thread]:
    """A daemon thread running `Ticker.loop` for this worker process."""
    ticker = Ticker(app, name)
    thread = threading.Thread(target=ticker.loop, name="periodic", daemon=True)
    thread.start()
    return ticker, thread
