"""`scripts/server`: the whole platform on one machine, with demo data, for newcomers.

Starts (and stops on Ctrl-C) an embedded Redis when REDIS_URL is unset, the WeChat
simulator when WECHAT_API_BASE_URL is unset, the government data simulator (with the demo
county's GOVDATA_SOURCES pointing at it) when GOVDATA_SOURCES is unset, the queue worker and
the API (gunicorn).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

import requests

from backend.config import DEFAULT_WECHAT_APPID, INSTANCE_DIR, load_settings
from backend.core.redis import EmbeddedRedis
from backend.demo.families import COUNTY_CODE
from backend.govdata.settings import simulator_sources
from backend.govdata.simulator import DEFAULT_APP_KEY, DEFAULT_APP_SECRET


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
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


def _start_simulator(children: list[tuple[str, subprocess.Popen[bytes]]], what: str,
                     module: str, port: int, env: dict[str, str]) -> None:
    """Start a simulator on a loopback port (stopped with the rest) and wait for it."""
    process = subprocess.Popen([sys.executable, "-m", module, "--host", "127.0.0.1",
                                "--port", str(port)], env=env)
    children.append((what, process))
    _wait_http(f"http://127.0.0.1:{port}/sim/health", process, what)


def main() -> None:
    """Bring everything up, print where it is, and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run the platform with demo data.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--sim-port", type=int, default=int(os.environ.get("SIM_PORT", "8090")))
    parser.add_argument("--gov-sim-port", type=int,
                        default=int(os.environ.get("GOV_SIM_PORT", "8091")))
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    args = parser.parse_args()

    env = dict(os.environ)
    settings = load_settings(env)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    embedded: EmbeddedRedis | None = None

    # The simulator stands in for WeChat only while no real credentials are configured.
    use_simulator = not env.get("WECHAT_API_BASE_URL") and (
        settings["WECHAT_APPID"] == DEFAULT_WECHAT_APPID)
    # Likewise the government data simulator, while no data-sharing platform is configured.
    use_gov_simulator = not env.get("GOVDATA_SOURCES")
    ports = [(args.port, "API", "port"), (args.sim_port, "simulator", "sim-port"),
             (args.gov_sim_port, "government data simulator", "gov-sim-port")]
    for port, what, option in ports:
        if (what == "simulator" and not use_simulator) or (
                what == "government data simulator" and not use_gov_simulator):
            continue
        if not _port_free(port):
            raise SystemExit(f"port {port} for the {what} is in use; pass --{option} N")

    def shutdown(*_: object) -> None:
        for name, process in reversed(children):
            if process.poll() is None:
                print(f"stopping {name}", flush=True)
                process.terminate()
        for _name, process in children:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        if embedded is not None:
            print("stopping embedded Redis", flush=True)
            embedded.shutdown()

    try:
        if not env.get("REDIS_URL"):
            embedded = EmbeddedRedis(settings["REDIS_EMBEDDED_PATH"])
            env["REDIS_URL"] = embedded.url
        env.setdefault("DATABASE_URL", settings["DATABASE_URL"])

        sim_url = ""
        if use_simulator:
            sim_url = f"http://127.0.0.1:{args.sim_port}/"
            env["WECHAT_API_BASE_URL"] = sim_url
            # Credentials travel in the environment, not in argv where `ps` shows them.
            env.setdefault("WECHAT_APPID", settings["WECHAT_APPID"])
            env.setdefault("WECHAT_SECRET", settings["WECHAT_SECRET"])
            _start_simulator(children, "WeChat simulator", "backend.wechat.simulator",
                             args.sim_port, env)

        gov_sim_url = ""
        if use_gov_simulator:
            gov_sim_url = f"http://127.0.0.1:{args.gov_sim_port}/"
            env["GOVDATA_SOURCES"] = simulator_sources(gov_sim_url, COUNTY_CODE)
            env.setdefault("GOVDATA_SIM_APP_KEY", DEFAULT_APP_KEY)
            env.setdefault("GOVDATA_SIM_APP_SECRET", DEFAULT_APP_SECRET)
            _start_simulator(children, "government data simulator",
                             "backend.govdata.simulator", args.gov_sim_port, env)

        # The same CLI commands an operator uses: migrate, then (re)load the demo data.
        flask = [sys.executable, "-m", "flask", "--app", "backend"]
        subprocess.run([*flask, "db-upgrade"], env=env, check=True)
        if not args.no_demo:
            subprocess.run([*flask, "seed-demo"], env=env, check=True)

        worker = subprocess.Popen([sys.executable, "-m", "backend.worker"], env=env)
        children.append(("worker", worker))
        api_url = f"http://127.0.0.1:{args.port}/"
        api = subprocess.Popen([
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{args.port}",
            "--workers", "2", "--worker-class", "gthread", "--threads", "4",
            "--access-logfile", "-" if env.get("GUNICORN_ACCESS_LOG") else "/dev/null",
            "backend:create_app()",
        ], env=env)
        children.append(("API", api))
        _wait_http(api_url + "healthz", api, "API")

        print("\n" + "=" * 72)
        print("义务教育入学信息服务平台 is running (demo data is SAMPLE data)")
        print(f"  PC page        {api_url}")
        print(f"  Staff console  {api_url}console/   (the accounts above)")
        print(f"  API            {api_url}api/v1/")
        print(f"  OpenAPI        {api_url}api/v1/openapi.json")
        print(f"  Health         {api_url}healthz   {api_url}readyz")
        if sim_url:
            print(f"  WeChat sim     {sim_url}   (control: {sim_url}sim/...)")
        if gov_sim_url:
            print(f"  Gov data sim   {gov_sim_url}   (GOVDATA_SOURCES {COUNTY_CODE}, app key "
                  f"{DEFAULT_APP_KEY}; control: {gov_sim_url}sim/...)")
        else:
            print("  Gov data       GOVDATA_SOURCES (as configured)")
        print(f"  Database       {env['DATABASE_URL'].split('@')[-1]}")
        redis_note = f"embedded ({env['REDIS_URL']})" if embedded else "REDIS_URL"
        print(f"  Redis          {redis_note}")
        print("Press Ctrl-C to stop everything.")
        print("=" * 72, flush=True)

        stop = False

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        while not stop:
            for name, process in children:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping", flush=True)
                    stop = True
            time.sleep(0.5)
    finally:
        shutdown()


if __name__ == "__main__":
    main()
