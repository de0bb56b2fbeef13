"""Issue 14 item 10: Weather / Lighting variants added to a project like a job's, and the job
form saying that variants add up across jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageEnhance
from PIL.PngImagePlugin import PngInfo

from sdaug.augment.attach import add_variants_to_project
from sdaug.augment.jobs import DEFAULT_SOURCE_STATUSES, create_job, runner_for
from sdaug.augment.presets import DriftThresholds
from sdaug.dataset.store import Box, ImageFilter, Project
from sdaug.settings import Settings
from sdaug.ui import augment_tab, common
from sdaug.ui.context import AppContext


def photo(path: Path, color: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (96, 64), color)
    image.paste((250, 250, 250), (20, 10, 60, 50))  # the object the box is on
    image.save(path)
    return path


def variant_of(source: Path, target: Path, seed: int, factor: float) -> Path:
    """What the Weather tab saves: a changed copy, as PNG with its parameters."""
    info = PngInfo()
    info.add_text("parameters", f"rain\nSteps: 20, Seed: {seed}, Size: 96x64")
    with Image.open(source) as opened:
        ImageEnhance.Brightness(opened.convert("RGB")).enhance(factor).save(target, pnginfo=info)
    return target


def test_variants_of_project_photos_carry_their_boxes_and_new_photos_come_without(tmp_path: Path) -> None:
    project = Project.open(tmp_path / "project")
    person = project.add_class("person")
    labelled = photo(tmp_path / "labelled.png", (30, 60, 90))
    source = project.add_image(labelled, boxes=[Box(person.id, 20, 10, 60, 50)]).record
    other = photo(tmp_path / "other.png", (90, 20, 20))
    pairs = [(labelled, variant_of(labelled, tmp_path / "v1.png", 7, 0.9)),
             (other, variant_of(other, tmp_path / "v2.png", 8, 0.9))]
    report = add_variants_to_project(project, pairs, preset="rain", thresholds=DriftThresholds())
    assert (report.added, report.new_sources, report.skipped) == (2, 1, [])
    first = project.variants(source.id)[0]
    assert (first.preset, first.condition, first.seed, first.status) == ("rain", "rain", 7, "labelled")
    carried = project.boxes(first.id)
    assert [(b.origin, b.x1, b.y1, b.x2, b.y2) for b in carried] == [("carried", 20, 10, 60, 50)]
    assert carried[0].drift is not None and not carried[0].needs_review
    # The same variants again are refused one by one, with the reason; nothing is doubled.
    again = add_variants_to_project(project, pairs, preset="rain", thresholds=DriftThresholds())
    assert again.added == 0 and len(again.skipped) == 2 and "not added twice" in again.skipped[0]
    with pytest.raises(ValueError, match="no variants"):
        add_variants_to_project(project, [], preset="rain", thresholds=DriftThresholds())


def test_job_form_says_variants_add_up_across_jobs(tmp_path: Path) -> None:
    """2 variants per source, then 4, gave 6 per source without a word: the form now says so."""
    settings = Settings(home=tmp_path / "home")
    ctx = AppContext(settings=settings)
    ctx.add_translations(augment_tab.STRINGS)
    common.add_preset_titles(ctx)
    project = Project.open(tmp_path / "project")
    person = project.add_class("person")
    for i in range(2):
        project.add_image(photo(tmp_path / f"{i}.png", (40 * i, 80, 120)), boxes=[Box(person.id, 20, 10, 60, 50)])
    job = create_job(project, augment_tab.make_spec(["fog"], 2, "classic", "", ""), settings)
    runner = runner_for(project, job.id, settings)
    runner.start()
    assert runner.join(timeout=60)
    where = ImageFilter(status=DEFAULT_SOURCE_STATUSES, kind="source")
    assert augment_tab.per_source_note(ctx, "en", project, ["fog"], 4, where) == (
        "This job adds 4 more per source image and preset: Fog 2 → 6 per source.")
    assert augment_tab.per_source_note(ctx, "zh", project, ["fog"], 4, where) == (
        "本任务为每张原图每个预设再追加 4 个：雾 每张原图 2 → 6 个。")


def test_job_progress_messages_are_translated() -> None:
    ctx = AppContext(settings=Settings())
    ctx.add_translations(augment_tab.STRINGS)
    common.add_preset_titles(ctx)
    assert augment_tab.job_message(ctx, "zh", "fog: generating 4 image(s)") == "雾：正在生成 4 张图片"
    assert augment_tab.job_message(ctx, "zh", "step 3/20") == "第 3/20 步"
    assert augment_tab.job_message(ctx, "zh", "loading model tiny …") == "正在加载模型 tiny …"
