"""`python -m backend.worker`: run one worker process until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from backend import create_app
from backend.worker.consumer import Worker, WorkerSettings
from backend.worker.registry import load_batch_handlers, load_handlers

logger = logging.getLogger("backend.worker")


def main() -> None:
    """Parse options, build the app and consume until told to stop."""
    parser = argparse.ArgumentParser(description="Run a queue worker.")
    parser.add_argument("--name", help="consumer name (default: host-pid)")
    parser.add_argument("--batch-size", type=int, default=WorkerSettings.batch_size)
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        worker = Worker(load_handlers(), name=args.name,
                        settings=WorkerSettings(batch_size=args.batch_size),
                        batch_handlers=load_batch_handlers())

        def _stop(signum: int, _frame: FrameType | None) -> None:
            logger.info("signal %s received, finishing the batch in hand", signum)
            worker.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        worker.run()


if __name__ == "__main__":
    main()
