"""Starting the app safely: --share needs a login, logins work, a failed share link leaves the
local server running, uploads are limited, and the page starts without torch."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from sdaug.cli import main
from sdaug.settings import Settings
from sdaug.ui.context import AppContext
from sdaug.ui.launch import SHARE_REFUSED, LaunchOptions, launch, parse_auth, read_auth_file

REPO = Path(__file__).resolve().parents[2]


def run_app(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "app.py"), "--home", str(home), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_share_without_login_refuses_to_start(tmp_path: Path) -> None:
    done = run_app("--share", "--model", "tiny", home=tmp_path)

    assert done.returncode == 1
    assert "anyone who gets it could run models" in done.stderr and "--auth" in done.stderr
    assert not (tmp_path / "outputs").exists()  # refused before touching anything


def test_bad_auth_file_line_is_named(tmp_path: Path) -> None:
    logins = tmp_path / "logins.txt"
    logins.write_text("# team\nalice:secret\nbob\n")
    done = run_app("--auth-file", str(logins), home=tmp_path)

    assert done.returncode == 1
    assert f"{logins} line 3 must be USER:PASSWORD" in done.stderr


def test_unknown_model_is_refused_at_start(tmp_path: Path) -> None:
    done = run_app("--model", "no-such-model", home=tmp_path)

    assert done.returncode == 1 and "no-such-model" in done.stderr and "not found" in done.stderr


def test_auth_parsing() -> None:
    assert parse_auth(["alice:se:cret", " bob :pw"]) == [("alice", "se:cret"), ("bob", "pw")]
    for bad in ("alice", ":pw", "alice:"):
        with pytest.raises(ValueError, match="USER:PASSWORD"):
            parse_auth([bad])


def test_auth_file(tmp_path: Path) -> None:
    path = tmp_path / "logins.txt"
    path.write_text("\n# comment\nalice:one\n  bob:two  \n")
    assert read_auth_file(path) == [("alice", "one"), ("bob", "two")]
    path.write_text("# only comments\n")
    with pytest.raises(ValueError, match="holds no USER:PASSWORD"):
        read_auth_file(path)
    with pytest.raises(ValueError, match="cannot read the --auth-file"):
        read_auth_file(tmp_path / "missing.txt")


def test_launch_options() -> None:
    LaunchOptions(share=True, auth=[("a", "b")]).validate()
    LaunchOptions(share=True, share_without_auth=True).validate()
    with pytest.raises(ValueError, match="--share makes a public link") as refused:
        LaunchOptions(share=True).validate()
    assert str(refused.value) == SHARE_REFUSED
    with pytest.raises(ValueError, match="--port"):
        LaunchOptions(port=0).validate()
    with pytest.raises(ValueError, match="--max-queue must be at least 1, got 0"):
        LaunchOptions(max_queue=0).validate()


def test_max_queue_reaches_the_queue_and_the_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `sdaug ui --max-queue 3` -> LaunchOptions -> AppContext.max_queue and the gradio queue's size.
    import sdaug.ui.app
    import sdaug.ui.launch

    monkeypatch.setenv("SDAUG_HOME", str(tmp_path))  # `sdaug ui --home` sets it; undone below
    launched: list[LaunchOptions] = []
    monkeypatch.setattr(sdaug.ui.launch, "launch", lambda settings, options, **kw: launched.append(options))
    assert main(["ui", "--home", str(tmp_path), "--model", "tiny", "--max-queue", "3"]) == 0
    assert main(["ui", "--home", str(tmp_path), "--model", "tiny"]) == 0
    assert [options.max_queue for options in launched] == [3, 16]
    monkeypatch.undo()

    contexts: list[AppContext] = []

    def small_app(ctx: AppContext) -> gr.Blocks:
        contexts.append(ctx)
        with gr.Blocks() as demo:
            gr.Markdown("sdaug")
        demo.launch = lambda **options: None  # no server needed to see the queue
        return demo

    monkeypatch.setattr(sdaug.ui.app, "build_app", small_app)
    demo = launch(Settings(home=tmp_path), LaunchOptions(max_queue=3), model="tiny", block=False)
    assert contexts[0].max_queue == 3 and demo._queue.max_size == 3


def test_building_the_page_imports_no_torch(tmp_path: Path) -> None:
    code = ("import sys; from sdaug.settings import Settings; from sdaug.ui.app import build_app, page_options; "
            "from sdaug.ui.context import AppContext; "
            f"ctx = AppContext(Settings(home={str(tmp_path)!r}), model='tiny'); build_app(ctx); page_options(ctx); "
            "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_login_share_failure_and_upload_limit(start_app, tmp_path: Path) -> None:
    # A share server that cannot be reached, so the link fails the same way with or without internet.
    server = start_app("--share", "--auth", "alice:secret", "--max-upload-mb", "1",
                       env={"GRADIO_SHARE_SERVER_ADDRESS": "127.0.0.1:9"})
    # 1. The share link failed with a clear note, and the local server keeps serving.
    deadline = time.monotonic() + 60
    while "The public share link could not be created" not in server.log_text():
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.2)
    assert server.process.poll() is None
    # 2. Nothing without logging in.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.url + "config")
    assert refused.value.code == 401
    with pytest.raises(Exception, match="(?i)login|auth|401"):
        Client(server.url, verbose=False)
    # 3. With the login, the API works.
    client = Client(server.url, auth=("alice", "secret"), verbose=False)
    small = tmp_path / "small.png"
    Image.new("RGB", (8, 8)).save(small)
    assert client.predict(handle_file(str(small)), api_name="/pnginfo")[0] == ""
    # 4. Uploads above --max-upload-mb are refused.
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (800, 800, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 1024 * 1024
    with pytest.raises(Exception, match="(?i)too large|exceeds|maximum"):
        client.predict(handle_file(str(big)), api_name="/pnginfo")
