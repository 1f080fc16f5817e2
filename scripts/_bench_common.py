"""What the benchmark scripts (scripts/bench_*) share; see docs/BENCHMARKS.md.

The re-execution under the project's virtualenv, progress lines, the loopback PostgreSQL and
Redis they use, the servers and workers they start and stop, wrk and its figures, how busy the
machine was, and where the raw figures go. Each script keeps what it measures.

A script imports this module before anything that is not in the standard library, and first
calls `use_project_venv(__file__)`: it may be running under the system Python, so this module
imports psycopg and requests only inside the functions that need them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
OUT_DIR = ROOT / "instance" / "bench"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def use_project_venv(script: str) -> None:
    """Re-execute `script` under the project's virtualenv unless it already runs there."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve() and VENV_PYTHON.exists():
        os.execv(str(VENV_PYTHON),  # noqa: S606 - re-exec under the project's virtualenv
                 [str(VENV_PYTHON), str(Path(script).resolve()), *sys.argv[1:]])


def log(message: str) -> None:
    """Progress on stderr, with a timestamp."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_script(name: str) -> Any:
    """scripts/<name> as a module (the scripts have no .py suffix)."""
    loader = SourceFileLoader(name, str(ROOT / "scripts" / name))
    spec = importlib.util.spec_from_loader(name, loader)
    if spec is None:
        raise SystemExit(f"cannot load scripts/{name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


# --- PostgreSQL and Redis on loopback ----------------------------------------------------

def database_urls(name: str) -> tuple[str, str]:
    """(SQLAlchemy URL, libpq URL) of database `name` on the loopback server."""
    return (f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            f"postgresql://postgres@127.0.0.1:5432/{name}")


def recreate_database(name: str) -> None:
    """DROP and CREATE a benchmark's own database (never `test`)."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def unlink_all(r: redis.Redis, keys: Iterable[str | bytes]) -> None:
    """Delete `keys`, 5,000 at a time (they may come from a SCAN still going on)."""
    batch: list[str | bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= 5000:
            r.unlink(*batch)
            batch = []
    if batch:
        r.unlink(*batch)


# --- the processes a benchmark starts ----------------------------------------------------

def process_env(settings: dict[str, str], log_level: str) -> dict[str, str]:
    """The environment every process of a benchmark runs with: this one's, the development
    app with `settings`, LOG_LEVEL (`log_level` unless set) and the project on PYTHONPATH."""
    env = dict(os.environ)
    env.update({"APP_ENV": "development", **settings,
                "LOG_LEVEL": os.environ.get("LOG_LEVEL", log_level), "PYTHONPATH": str(ROOT)})
    return env


def export_env(env: dict[str, str]) -> None:
    """The benchmark's settings for this process too (the app it creates in-process)."""
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log_path: Path,
          children: list[subprocess.Popen[bytes]], *,
          stdout_too: bool = False) -> subprocess.Popen[bytes]:
    """`python <args>` (the virtualenv's) in the project, its stderr (and stdout if
    `stdout_too`, else none) to `log_path`; added to `children`, to be stopped."""
    log_file = open(log_path, "wb")  # noqa: SIM115 - the child keeps it open
    process = subprocess.Popen(
        [str(VENV_PYTHON), *args], env=env, cwd=ROOT,
        stdout=log_file if stdout_too else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if stdout_too else log_file)
    children.append(process)
    return process


def start_gunicorn(port: int, app: str, env: dict[str, str], log_path: Path,
                   children: list[subprocess.Popen[bytes]], what: str,
                   workers: int = 2) -> subprocess.Popen[bytes]:
    """gunicorn as scripts/server runs it (2 workers unless `workers`, gthread × 4), access
    log off, serving `app` on loopback `port`; returns once /healthz answers."""
    process = spawn(["-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                     "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
                     "--access-logfile", "/dev/null", app], env, log_path, children)
    wait_http(f"http://127.0.0.1:{port}/healthz", process, what)
    return process


def wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    """Wait until `url` answers (below 500) or fail."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited during start-up (code {process.returncode})")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, last started first; wait up to 15 s for each, then kill it."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# --- wrk ------------------------------------------------------------------------------------

def require_wrk() -> None:
    """Stop here unless wrk is installed."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is required (apt-get install -y wrk)")


def wrk_output(url: str, seconds: int, connections: int, threads: int, *,
                  script: Path | None = None, headers: dict[str, str] | None = None,
               env: dict[str, str] | None = None) -> str:
    """One wrk run with --latency (5 s timeout), optionally a Lua `script` or `headers`; its
    output (read it with wrk_latency, wrk_non_2xx)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    return subprocess.run([*cmd, url], env=env, capture_output=True, text=True,
                          timeout=seconds + 60, check=True).stdout


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk_latency(out: str) -> dict[str, Any]:
    """Requests/s, requests and the latency percentiles (ms) of a wrk run's output."""
    result: dict[str, Any] = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore
    }
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(found.group(1)), 2) if found else None
    return result


def wrk_non_2xx(out: str) -> int:
    """How many responses of a wrk run were neither 2xx nor 3xx."""
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return int(non2xx.group(1)) if non2xx else 0


# --- figures --------------------------------------------------------------------------------

def median_of(runs: list[dict[str, Any]], key: str) -> float:
    """The median of one figure over the runs."""
    return float(statistics.median(r[key] for r in runs))


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, to show how loaded the box was."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class MachineLoad:
    """`with MachineLoad() as machine:` how busy the whole machine was during the block
    (`machine.busy`, 0 to 1) and its 1-minute load average before it (`loadavg_before`)."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.loadavg_before = 0.0
        self._start = (0, 0)

    def __enter__(self) -> MachineLoad:
        self._start = cpu_times()
        self.loadavg_before = round(os.getloadavg()[0], 2)
        return self

    def __exit__(self, *exc: object) -> None:
        busy, total = cpu_times()
        self.busy = round((busy - self._start[0]) / max(total - self._start[1], 1), 3)


def print_targets(targets: dict[str, bool]) -> None:
    """The table of targets met, on stdout."""
    print("\n| target | met |\n|---|---|")
    for key, value in targets.items():
        print(f"| {key} | {'yes' if value else 'NO'} |")


def stamp() -> str:
    """The local time, as it ends the name of a raw figures file."""
    return time.strftime("%Y%m%d-%H%M%S")


def new_report(args: argparse.Namespace, **about: Any) -> dict[str, Any]:
    """The head of a benchmark's raw figures: when, with which options, how many CPUs."""
    return {"started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "args": vars(args),
            "cpus": os.cpu_count(), **about}


def write_report(kind: str, when: str, report: dict[str, Any], **json_options: Any) -> Path:
    """Write the raw figures to instance/bench/<kind>-<when>.json; the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{kind}-{when}.json"
    path.write_text(json.dumps(report, **json_options), encoding="utf-8")
    return path
