"""Dataset tab: statistics table, charts, tiny-box warning, and the Augment section's job flow."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from PIL import Image

from sdaug.augment.jobs import create_job, runner_for
from sdaug.dataset.stats import project_stats
from sdaug.dataset.store import Box, Project
from sdaug.settings import Settings
from sdaug.ui import annotate, augment_tab, common, dataset_tab
from sdaug.ui.context import AppContext


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    context = AppContext(settings=Settings(home=tmp_path / "home"), project=tmp_path / "home" / "projects" / "project",
                         model="tiny")
    for table in (dataset_tab.STRINGS, augment_tab.STRINGS, annotate.STRINGS):
        context.add_translations(table)
    return context


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """3 labelled 64x48 photos (one with a tiny box), 1 unlabelled, and a fog variant."""
    project = Project.open(tmp_path / "home" / "projects" / "project")  # the project named "project"
    bin_id, garbage_id = (c.id for c in project.ensure_classes(["bin", "垃圾"]))
    for i in range(4):
        path = tmp_path / f"p{i}.png"
        Image.new("RGB", (64, 48), (40 * i, 90, 200 - 30 * i)).save(path)
        boxes = [Box(bin_id, 4, 4, 40, 40), Box(garbage_id, 30, 10, 60, 44)] if i < 3 else []
        if i == 2:
            boxes.append(Box(garbage_id, 50, 2, 53, 5))  # 3x3 px: tiny
        project.add_image(path, boxes=boxes, split="val" if i == 1 else "train")
    source = project.image_ids()[0]
    project.add_variant(source, Image.new("RGB", (64, 48), (9, 9, 9)), preset="fog", seed=1, params="",
                        boxes=[Box(bin_id, 4, 4, 40, 40, origin="carried")], status="review", condition="fog")
    return project


def test_stat_rows_are_translated(ctx: AppContext, project: Project) -> None:
    stats = project_stats(project)
    rows = dataset_tab.stat_rows(ctx, "zh", stats)
    assert ["总计", "图片", 5] in rows
    assert ["状态", "待审核", 1] in rows
    assert ["类别框数", "垃圾", 4] in rows
    assert ["警告", "过小的框", 1] in rows
    english = dataset_tab.stat_rows(ctx, "en", stats)
    assert ["condition", "fog", 1] in english and ["condition", "original photos", 4] in english


def test_preset_ids_show_as_titles_in_the_table_and_chart(ctx: AppContext, project: Project) -> None:
    """Issue 14 item 6: raw preset ids ("fog") in 中文 mode; now the preset's own title."""
    common.add_preset_titles(ctx)
    stats = project_stats(project)
    assert ["条件", "雾", 1] in dataset_tab.stat_rows(ctx, "zh", stats)
    per_condition = dataset_tab.plots(ctx, "zh", stats)[1]
    assert "雾" in per_condition.iloc[:, 0].tolist()


def test_plots_hold_the_counts(ctx: AppContext, project: Project) -> None:
    per_class, per_condition, per_image, per_group = dataset_tab.plots(ctx, "en", project_stats(project))
    assert per_class.values.tolist() == [["bin", 4], ["垃圾", 4]]
    assert dict(per_condition.values.tolist()) == {"fog": 1, "original photos": 4}
    assert dict(per_image.values.tolist())["2"] == 2
    assert ["split", "val", 1] in per_group.values.tolist()


def test_summary_warns_about_tiny_boxes(ctx: AppContext, project: Project) -> None:
    text = dataset_tab.summary(ctx, "en", 2, project_stats(project))
    assert "**5** images" in text and "1 tiny boxes" in text and "3×3 px" in text
    empty = Project.open(project.folder.parent / "empty")
    assert "No tiny boxes" in dataset_tab.summary(ctx, "en", 0, project_stats(empty))


def test_make_spec_checks_the_form() -> None:
    spec = augment_tab.make_spec(["fog", "dusk"], 2.0, "classic", "val", "some/model")
    assert (spec.presets, spec.variants, spec.model, spec.split) == (("fog", "dusk"), 2, "", "val")
    assert augment_tab.make_spec(["fog"], 1, "diffusion", "", "tiny").model == "tiny"
    with pytest.raises(ValueError, match="preset"):
        augment_tab.make_spec([], 1, "classic", "", "")


def test_classic_job_progress_and_report(ctx: AppContext, project: Project) -> None:
    job = create_job(project, augment_tab.make_spec(["fog"], 1, "classic", "train", ""), ctx.settings)
    runner = runner_for(project, job.id, ctx.settings)
    runner.start()
    assert runner.join(timeout=60)
    params = augment_tab.status_params(runner.status())
    assert (params["done"], params["total"], params["failed"]) == (2, 2, 0)
    common.add_preset_titles(ctx)
    assert augment_tab.report_rows(ctx, "en", project, job.id)[0][:3] == ["Fog", "2/2", 0]
    assert augment_tab.report_rows(ctx, "zh", project, job.id)[0][:3] == ["雾", "2/2", 0]  # the preset's own title
    assert augment_tab.latest_job(project) == job.id


def test_tabs_build_with_localised_preset_titles(ctx: AppContext) -> None:
    with gr.Blocks(), gr.Tab("Dataset"):
        dataset_tab.build(ctx)
    assert ctx.extra_translations[augment_tab.preset_key("weather", "fog")] == ("Fog", "雾")
    assert ctx.tr(augment_tab.preset_key("lighting", "dusk"), "zh") == "黄昏"


@contextlib.contextmanager
def served(ctx: AppContext) -> Iterator[tuple[Any, dict[str, int]]]:
    """The Dataset tab served by a real Gradio server: a gradio_client ``Client`` and the
    handlers' ``fn_index`` by name."""
    from gradio_client import Client

    with gr.Blocks() as demo, gr.Tab("Dataset"):
        dataset_tab.build(ctx)
    fns = {fn.name: index for index, fn in demo.fns.items()}
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, i18n=ctx.build_i18n())
    try:
        yield Client(url, verbose=False), fns
    finally:
        demo.close()


def poll_until(client: Any, fns: dict[str, int], name: str, text: str) -> tuple[Any, ...]:
    """Poll the job status (the timer's handler) until it holds ``text``."""
    deadline = time.monotonic() + 60
    while text not in (status := client.predict(name, fn_index=fns["on_tick"]))[0]:
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    return status


def test_start_runs_in_the_background_and_the_timer_follows_it(ctx: AppContext, project: Project) -> None:
    """Start (classic engine) returns at once; polling (the timer's handler) sees the job finish."""
    with served(ctx) as (client, fns):
        started = client.predict(project.folder.name, ["fog"], [], 1, "classic", "", "in-process", fn_index=fns["on_start"])
        assert started[0].startswith("Job #1")
        status = poll_until(client, fns, project.folder.name, " · done · ")
        assert "3/3 done" in status[0]
        assert status[2] == {"active": False, "__type__": "update"} or not status[2].get("active", True)
        resumed = client.predict(project.folder.name, [], [], 1, "classic", "", "in-process", fn_index=fns["on_start"])
        assert resumed[0].startswith("Job #1")  # no preset ticked: the job shown is resumed, no new job
        assert len(project.jobs()) == 1


def test_a_job_with_a_spoiled_image_shows_it_and_the_retry_button_finishes_it(ctx: AppContext,
                                                                            project: Project) -> None:
    path = project.image_path(project.image_ids()[0])
    original = path.read_bytes()
    path.write_bytes(original[: len(original) // 2])  # truncated behind the store's back
    with served(ctx) as (client, fns):
        client.predict(project.folder.name, [], ["dusk"], 1, "classic", "", "in-process", fn_index=fns["on_start"])
        status = poll_until(client, fns, project.folder.name, " · finished with failures · ")
        assert "2/3 done" in status[0] and "1 failed" in status[0]
        assert "1 image(s) failed" in status[0] and str(path) in status[0] and "Press Start" in status[0]
        assert status[1]["value"]["data"][0][:3] == ["Dusk", "2/3", 1]  # the preset's title
        path.write_bytes(original)
        client.predict(project.folder.name, fn_index=fns["on_retry"])
        status = poll_until(client, fns, project.folder.name, " · done · ")
        assert "3/3 done" in status[0] and "failed:" not in status[0]
