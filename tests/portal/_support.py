"""A real portal server for headless Chromium, and Chromium itself.

The page is served by a separate process (`python -m tests.portal._support`) with its own
SQLite file holding the Lin County demo data (with its fictional families' registrations
and announcements), so the browser's requests never touch the suite's per-test transaction.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PUBLIC_BASE_URL = "https://enroll.example.gov.cn"
ROOT = Path(__file__).resolve().parents[2]


def chromium_binary() -> str:
    """Debian's chromium (scripts/test installs it when missing)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("headless Chromium is missing: apt-get install chromium "
                       "(scripts/test installs it)")


def chromium(url: str, *args: str, width: int = 1280, height: int = 2000,
             timeout: float = 90) -> str:
    """Run headless Chromium on `url` with extra switches; return what it printed."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "--virtual-time-budget=8000",
            "--lang=zh-CN", *args, url,
        ]
        result = subprocess.run(command, capture_output=True, timeout=timeout,  # noqa: S603
                                check=False)  # the browser, with fixed switches
    if result.returncode != 0:
        raise RuntimeError(f"chromium failed ({result.returncode}): "
                           f"{result.stderr.decode(errors='replace')[-2000:]}")
    return result.stdout.decode("utf-8", errors="replace")


def _seed() -> None:
    """Lin County's demo data: schools, zones, the open sample season, fictional families
    with registrations (the live counts) and county announcements."""
    from backend.core.db import db
    from backend.demo.seed import load_demo_data

    load_demo_data()
    db.session.commit()


def serve(database_path: str) -> None:
    """Migrate, seed and serve the app; print the URL, serve until killed."""
    from werkzeug.serving import make_server

    from backend import create_app
    from backend.core.db import db
    from backend.migrations.runner import upgrade

    url = f"sqlite:///{database_path}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "PUBLIC_BASE_URL": PUBLIC_BASE_URL})
    with app.app_context():
        _seed()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"READY http://127.0.0.1:{server.server_port}/", flush=True)
    server.serve_forever()


@contextmanager
def portal_server(redis_url: str, prefix: str) -> Iterator[str]:
    """Start the portal process; yield its base URL; stop it."""
    with tempfile.TemporaryDirectory(prefix="portal-") as folder:
        env = dict(os.environ, APP_ENV="development", REDIS_URL=redis_url,
                   REDIS_KEY_PREFIX=prefix, PUBLIC_BASE_URL=PUBLIC_BASE_URL,
                   UPLOAD_DIR=str(Path(folder) / "uploads"), LOG_LEVEL="WARNING")
        env.pop("DATABASE_URL", None)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.portal._support", str(Path(folder) / "portal.db")],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode()
            if not line.startswith("READY "):
                process.kill()
                _, err = process.communicate(timeout=10)
                raise RuntimeError(f"portal server did not start: {err.decode()[-3000:]}")
            yield line.split()[1]
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the portal with sample data.")
    parser.add_argument("database", help="SQLite file to create")
    serve(parser.parse_args().database)
