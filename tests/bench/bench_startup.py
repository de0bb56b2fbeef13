"""Seconds from ``python app.py --model tiny`` to the first page (GET / answering 200).

A script, not a test (timings depend on the machine): ``python tests/bench/bench_startup.py
[--runs N]``. Each run starts the app on a free port with a fresh data folder, polls ``/``
until it answers 200, prints the seconds, and stops the app. The issue's target is 5 s on a
2-core machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_page_seconds() -> float:
    """Start the app, wait for GET / to return 200, stop it; the seconds it took."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sdaug-startup-") as home:
        env = {**os.environ, "SDAUG_HOME": home, "GRADIO_ANALYTICS_ENABLED": "False"}
        start = time.perf_counter()
        app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--model", "tiny", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while time.perf_counter() - start < TIMEOUT_S:
                if app.poll() is not None:
                    raise SystemExit(f"app.py exited with code {app.returncode}:\n{app.stderr.read()}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                        if response.status == 200:
                            return time.perf_counter() - start
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                time.sleep(0.05)
            raise SystemExit(f"no answer from app.py on port {port} within {TIMEOUT_S:.0f} s")
        finally:
            app.terminate()
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="how many starts to time (default 3)")
    args = parser.parse_args()
    times = []
    for run in range(1, args.runs + 1):
        times.append(first_page_seconds())
        print(f"run {run}: first page after {times[-1]:.2f} s", flush=True)
    print(f"median {statistics.median(times):.2f} s, best {min(times):.2f} s over {len(times)} runs "
          f"on {os.cpu_count()} CPU cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
