"""Fixtures for the app tests: the app started as a user would (``python app.py --model tiny``)
in a subprocess on a free port, once per test session, with its data folder in a temp dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120


@dataclass
class Server:
    url: str
    home: Path
    log: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(home: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """Start ``python app.py --model tiny --home HOME --port P ARGS`` and wait until it answers."""
    port = free_port()
    log = home.parent / f"server-{port}.log"
    command = [sys.executable, str(REPO / "app.py"), "--model", "tiny", "--home", str(home), "--port", str(port),
               *args]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
                   **(env or {})}
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, env=environment)
    server = Server(f"http://127.0.0.1:{port}/", home, log, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{server.log_text()}")
        try:
            urllib.request.urlopen(server.url, timeout=2)
            return server
        except urllib.error.HTTPError:
            return server  # it answers (for example 401 when a login is required)
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S} s:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def error_toasts(page: object) -> list[str]:
    """The texts of the error pop-ups on a Playwright page (none should show in a normal walk)."""
    return page.locator(".toast-body.error").all_inner_texts()


@pytest.fixture
def start_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """``start_app(*args, env=None, home=None)``: another app with its own data folder (``home``, or a
    new one), stopped after the test."""
    servers: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None, home: Path | None = None) -> Server:
        if home is None:
            home = tmp_path_factory.mktemp("app") / "home"
        home.mkdir(exist_ok=True)
        servers.append(start_server(home, *args, env=env))
        return servers[-1]

    yield start
    for server in servers:
        stop_server(server)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app with the tiny model, shared by the gradio_client and browser tests."""
    home = tmp_path_factory.mktemp("app") / "home"
    home.mkdir()
    server = start_server(home)
    yield server
    stop_server(server)
