"""AppContext: errors become translated gr.Error, Stop flags per session, served folders, and the
named presets of the Advanced accordion."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import gradio as gr
import pytest

from sdaug.engine.errors import OutOfMemoryError
from sdaug.settings import Settings
from sdaug.ui import common
from sdaug.ui.app import PageScriptMiddleware, page_script
from sdaug.ui.context import AppContext


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    return AppContext(Settings(home=tmp_path / "home"), model="tiny", forced_lang="en")


def chinese_request() -> gr.Request:
    return gr.Request(headers={"accept-language": "zh-CN"})


def test_value_errors_become_translated_messages(ctx: AppContext) -> None:
    @ctx.handle_errors
    def handler(steps: int, request: gr.Request) -> None:
        raise ValueError(f"steps must be from 1 to 150, got {steps}")

    with pytest.raises(gr.Error) as english:
        handler(0, gr.Request(headers={"accept-language": "en-US"}))
    assert english.value.message == "Steps must be from 1 to 150; got 0."
    with pytest.raises(gr.Error) as chinese:
        handler(0, chinese_request())
    assert chinese.value.message == "步数必须在 1 到 150 之间，当前为 0。" and chinese.value.title == "出错了"


def test_out_of_memory_says_what_to_change(ctx: AppContext) -> None:
    error = ctx.error(OutOfMemoryError.for_batch(4, 512, 512, "auto"), "en")
    assert error.message.startswith("Out of GPU memory. Make fewer images per batch")
    assert "a smaller batch size (now 4)" in error.message
    assert "显存不足" in ctx.error(OutOfMemoryError("x"), "zh").message


def test_unexpected_errors_are_shown_briefly(ctx: AppContext) -> None:
    @ctx.handle_errors
    def broken(request: gr.Request) -> None:
        raise RuntimeError("tensor sizes differ")

    with pytest.raises(gr.Error, match="出现意外错误（RuntimeError: tensor sizes differ）"):
        broken(chinese_request())


def test_gr_errors_pass_through(ctx: AppContext) -> None:
    @ctx.handle_errors
    def refuse(request: gr.Request) -> None:
        raise ctx.user_error("error.no_input", request)

    with pytest.raises(gr.Error, match="请先添加至少一张输入照片"):
        refuse(chinese_request())


def test_stop_sets_only_the_sessions_flag(ctx: AppContext) -> None:
    assert not ctx.stop("a")  # nothing running
    flag_a, flag_b = ctx.begin_run("a"), ctx.begin_run("b")
    assert ctx.stop("a")
    assert flag_a.is_set() and not flag_b.is_set()
    assert ctx.cancel_flag("a") is flag_a  # a run that starts after Stop sees it at once
    ctx.end_run("a")
    assert not ctx.cancel_flag("a").is_set()  # the next run starts fresh
    assert isinstance(flag_b, threading.Event)


def test_only_the_outputs_folder_is_served(tmp_path: Path) -> None:
    # Project folders never are: their images go to gradio one file at a time, project.sqlite never.
    settings = Settings(home=tmp_path / "home")
    assert AppContext(settings).allowed_paths() == [str(settings.outputs_dir)]
    project = settings.projects_dir / "bins"
    assert AppContext(settings, project=project).allowed_paths() == [str(settings.outputs_dir)]


def test_named_presets() -> None:
    assert common.size_name(768, 512) == "landscape_768" and common.size_name(64, 64) == "custom"
    assert common.quality_name(10) == "fast" and common.quality_name(11) == "custom"
    assert common.whole(20.0) == 20 and common.whole(2.5) == 2.5


def test_forced_language_is_in_the_page_script(tmp_path: Path) -> None:
    forced = AppContext(Settings(home=tmp_path), forced_lang="zh")
    assert '"zh-CN"' in page_script(forced)
    assert ": null;" in page_script(AppContext(Settings(home=tmp_path)))
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        AppContext(Settings(home=tmp_path), forced_lang="fr")


def test_page_script_middleware_touches_only_html() -> None:
    async def app(scope, receive, send) -> None:
        kind = b"text/html; charset=utf-8" if scope["path"] == "/" else b"application/json"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", b"24")]})
        await send({"type": "http.response.body", "body": b"<html><head>", "more_body": True})
        await send({"type": "http.response.body", "body": b"</head></html"})

    async def call(path: str) -> list[dict]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        await PageScriptMiddleware(app, "<script>x</script>")({"type": "http", "method": "GET", "path": path},
                                                               None, send)
        return sent

    page = asyncio.run(call("/"))
    assert page[1]["body"] == b"<html><head><script>x</script></head></html"
    assert dict(page[0]["headers"])[b"content-length"] == str(len(page[1]["body"])).encode()
    other = asyncio.run(call("/config"))
    assert [m.get("body") for m in other[1:]] == [b"<html><head>", b"</head></html"]


def test_core_refusals_are_shown_in_chinese(ctx: AppContext, tmp_path: Path) -> None:
    """A keyed refusal of the core (here: exporting a project without classes) is shown in the
    user's language, not as 出错了：<English text>."""
    from sdaug.dataset.exporters import export_project
    from sdaug.dataset.store import Project

    @ctx.handle_errors
    def export(request: gr.Request) -> None:
        with Project.open(tmp_path / "p") as project:
            export_project(project, "yolo", tmp_path / "out")

    with pytest.raises(gr.Error) as chinese:
        export(chinese_request())
    assert chinese.value.message == "项目还没有类别，请先添加类别并标注图片，再导出。"
    with pytest.raises(gr.Error) as english:
        export(gr.Request(headers={"accept-language": "en-US"}))
    assert english.value.message == "the project has no classes; add classes and label images before exporting"
