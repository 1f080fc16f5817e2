"""`python -m backend.worker`: run one worker process until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from backend import create_app
from backend.notices.sender import start_sender_thread
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.periodic import start_ticker_thread
from backend.worker.registry import load_batch_handlers, load_handlers

logger = logging.getLogger("backend.worker")


def main() -> None:
    """Parse options, build the app and consume until told to stop."""
    parser = argparse.ArgumentParser(description="Run a queue worker.")
    parser.add_argument("--name", help="consumer name (default: host-pid)")
    parser.add_argument("--batch-size", type=int, default=WorkerSettings.batch_size)
    parser.add_argument("--no-sender", action="store_true",
                        help="do not send notices from this process (NOTICE_SENDER_ENABLED)")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        worker = Worker(load_handlers(), name=args.name,
                        settings=WorkerSettings(batch_size=args.batch_size),
                        batch_handlers=load_batch_handlers())
        # The notice sender runs beside the consumer in its own thread, so a slow WeChat
        # never holds up the queue (docs/NOTICES.md).
        sender = None
        if app.config["NOTICE_SENDER_ENABLED"] and not args.no_sender:
            sender, sender_thread = start_sender_thread(app, name=args.name)

        # Chores on a clock (scheduled announcements, overdue offers): one worker per round.
        ticker, _ticker_thread = start_ticker_thread(app, name=worker.name)

        def _stop(signum: int, _frame: FrameType | None) -> None:
            logger.info("signal %s received, finishing the batch in hand", signum)
            worker.stop()
            ticker.stop()
            if sender is not None:
                sender.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        worker.run()
        if sender is not None:
            sender.stop()
            # A send in flight finishes and is recorded (at most 4 WeChat timeouts).
            sender_thread.join(timeout=4 * app.config["WECHAT_TIMEOUT_SECONDS"] + 5)


if __name__ == "__main__":
    main()
