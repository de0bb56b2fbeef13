"""Share mode end to end (issue 11, item 6): ``python app.py --listen --auth alice --auth bob``
(listening on 127.0.0.1 only), two logged-in users through gradio_client and plain HTTP.

Neither user reaches a path outside the data folder, neither can change the model or the
settings, both work on the same project at once, and a 20 MB prompt is refused at once while
the other user's generation runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from sdaug.dataset.store import Box, Project

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-secret")
# txt2img inputs: prompt, negative, steps, sampler, schedule, cfg, seed, width, height, batch size, count, clip skip
SLOW_TXT2IMG = ("a garbage bin", "", 4, "Euler", "Automatic", 7.0, 1, 64, 64, 1, 8, 1)


def fn_indices(client: Client) -> dict[str, int]:
    """Event names (the handler's name) -> index, for events not listed on the API page."""
    found: dict[str, int] = {}
    for index, dependency in enumerate(client.config["dependencies"]):
        name = (dependency.get("api_name") or "").strip("/")
        if name:
            found.setdefault(name, dependency.get("id", index))
    return found


def logged_in(url: str, login: tuple[str, str]) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=30)
    answer = http.post("login", data={"username": login[0], "password": login[1]})
    assert answer.status_code == 200, answer.text
    return http


@pytest.fixture
def server(start_app, tmp_path: Path):
    return start_app("--listen", "--host", "127.0.0.1", "--auth", ":".join(ALICE), "--auth", ":".join(BOB))


def test_two_users_share_mode(server, tmp_path: Path) -> None:
    home = server.home
    alice = Client(server.url, auth=ALICE, verbose=False)
    bob = Client(server.url, auth=BOB, verbose=False)
    fns = fn_indices(alice)

    # 1. No server-wide setting can be changed: those endpoints do not exist off-local.
    assert "set_model" not in fns and "set_memory_mode" not in fns
    with pytest.raises(Exception, match="(?i)set_model|api_name|not found|cannot find"):
        alice.predict("/etc/passwd", "", api_name="/set_model")

    # 2. Alice creates a project by name; a path as a name is refused and creates nothing.
    alice.predict("bins", "bin not full, bin overflowing, garbage", {}, fn_index=fns["on_create"])
    project_folder = home / "projects" / "bins"
    assert (project_folder / "project.sqlite").is_file()
    for hostile in [str(tmp_path / "evil"), "../../evil", "/etc", ".hidden"]:
        with pytest.raises(Exception, match="(?i)project name|no project named|outside"):
            alice.predict(hostile, "bin", {}, fn_index=fns["on_create"])
        # The Dataset and Augment events take a project name too.
        with pytest.raises(Exception, match="(?i)project name|no project named"):
            bob.predict(hostile, fn_index=fns["on_refresh"])
        with pytest.raises(Exception, match="(?i)project name|no project named"):
            bob.predict(hostile, ["fog"], [], 1, "classic", "", "in-process", fn_index=fns["on_start"])
    assert not (tmp_path / "evil").exists() and not (home.parent / "evil").exists()
    assert sorted(p.name for p in (home / "projects").iterdir()) == ["bins"]

    # 3. Both add photos to the same project at the same time, and both see all of them.
    def upload(client: Client, shade: int) -> None:
        files = []
        for i in range(3):
            path = tmp_path / f"{shade}-{i}.png"
            Image.new("RGB", (48, 32), (shade, 20 * i, 90)).save(path)
            files.append(handle_file(str(path)))
        client.predict(files, None, "images", fn_index=fns["on_add"])

    bob.predict("bins", {}, fn_index=fns["on_open"])
    workers = [threading.Thread(target=upload, args=(client, shade)) for client, shade in ((alice, 10), (bob, 200))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    with Project.open(project_folder, create=False) as project:
        assert project.count_images() == 6
        first = project.image_ids()[0]  # one box, as if drawn, so that there is something to export
        project.set_boxes(first, [Box(project.classes()[0].id, 2, 2, 30, 20)])
    assert "**6** images" in alice.predict("bins", fn_index=fns["on_refresh"])[0]
    assert "**6** images" in bob.predict("bins", fn_index=fns["on_refresh"])[0]

    # 4. No URL reaches project.sqlite or a file outside the data folder, for either user.
    for login in (ALICE, BOB):
        http = logged_in(server.url, login)
        for path in [project_folder / "project.sqlite", Path("/etc/passwd"), project_folder / "images"]:
            assert http.get(f"gradio_api/file={path}").status_code == 403, path
        http.close()
    # The export leaves as a download of its zip.
    report, download = alice.predict("yolo", "", 0, False, fn_index=fns["on_export"])
    assert "Exported" in report and Path(download["value"]).name == "bins-yolo.zip"
    assert str(home) not in report

    # 5. A 20 MB prompt is refused at once while Bob's generation runs; Bob's run finishes.
    job = bob.submit(*SLOW_TXT2IMG, api_name="/txt2img")
    time.sleep(1.0)
    started = time.monotonic()
    with pytest.raises(Exception, match="(?i)413|too large"):
        alice.predict("x" * 20_000_000, *SLOW_TXT2IMG[1:], api_name="/txt2img")
    refused_in = time.monotonic() - started
    assert refused_in < 5, refused_in
    assert not job.done()
    gallery, status, _ = job.result(timeout=300)
    assert len(gallery) == 8
    assert server.process.poll() is None


def test_request_size_limit_refuses_before_the_app_and_speaks_the_users_language() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from sdaug.ui.launch import RequestSizeLimit

    reached: list[int] = []

    async def echo(request: Request) -> PlainTextResponse:
        body = await request.body()
        reached.append(len(body))
        return PlainTextResponse(str(len(body)))

    app = Starlette(routes=[Route("/gradio_api/queue/join", echo, methods=["POST"]),
                            Route("/gradio_api/upload", echo, methods=["POST"])])
    client = TestClient(RequestSizeLimit(app, max_bytes=1024))
    assert client.post("/gradio_api/queue/join", content=b"x" * 1024).text == "1024"
    refused = client.post("/gradio_api/queue/join", content=b"x" * 5000)
    assert refused.status_code == 413 and "too large (5 KB" in refused.json()["detail"]
    chunked = client.post("/gradio_api/queue/join", content=iter([b"x" * 800, b"x" * 800]))  # no length given
    assert chunked.status_code == 413
    chinese = client.post("/gradio_api/queue/join", content=b"x" * 5000, headers={"Cookie": "sdaug_lang=zh-CN"})
    assert chinese.json()["detail"].startswith("请求过大")
    assert client.post("/gradio_api/upload", content=b"x" * 5000).text == "5000"  # uploads: gradio's own limit
    assert reached == [1024, 5000]
