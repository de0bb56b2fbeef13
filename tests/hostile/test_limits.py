"""Size limits (issue 11 item 2): a 20 MB prompt, a prompt of too many CLIP tokens, a 10 MB
infotext, 50,000 boxes on one image. Each is refused at once with the limit and the option
that raises it; the limits come from ``SDAUG_*`` variables and ``--limit NAME=VALUE``."""

from __future__ import annotations

import time

import pytest
from PIL import Image, PngImagePlugin

from sdaug import limits
from sdaug.dataset.store import Box, Project
from sdaug.engine.request import GenerationRequest
from sdaug.settings import Settings


def test_a_20_mb_prompt_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"^The prompt is 20000000 characters long, more than the limit of 10000\. "
                                         r"Shorten it, or start sdaug with --limit max_prompt_chars=N"):
        GenerationRequest(prompt="a" * 20_000_000).validate()
    with pytest.raises(ValueError, match="negative prompt is 20000000 characters"):
        GenerationRequest(prompt="ok", negative_prompt="b" * 20_000_000).validate()
    assert time.perf_counter() - started < 1.0


def test_a_prompt_of_too_many_tokens_is_refused():
    prompt = "snowy street, " * 600  # 8,400 characters (under the limit), 1,800 CLIP tokens
    assert len(prompt) < limits.Limits().max_prompt_chars
    with pytest.raises(ValueError, match=r"The prompt is 1800 CLIP tokens long, more than the limit of 1000"):
        GenerationRequest(prompt=prompt).validate()
    GenerationRequest(prompt="snowy street, " * 60).validate()  # 180 tokens: fine


def test_a_20_mb_infotext_file_is_refused_before_any_model_work(tmp_path, run_cli, unchanged, one_line_error):
    (tmp_path / "big.txt").write_text("a" * 20_000_000)
    with unchanged(tmp_path):
        done = run_cli("generate", "--model", "tiny", "--infotext", tmp_path / "big.txt", "--out", tmp_path / "o",
                       timeout=60)
    line = one_line_error(done)
    assert "big.txt: the generation parameters stored in it are 100001 characters long, more than the limit of " \
           "100000; they were not read." in line, line


def test_a_10_mb_png_infotext_is_refused_by_sdaug_info(tmp_path, run_cli, unchanged, one_line_error):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "x" * 10_000_000)
    Image.new("RGB", (8, 8)).save(tmp_path / "big.png", pnginfo=info)
    with unchanged(tmp_path):
        done = run_cli("info", tmp_path / "big.png", timeout=30)
    line = one_line_error(done)
    assert "big.png: the generation parameters stored in it are 10000000 characters long, more than the limit " \
           "of 100000" in line, line
    raised = run_cli("info", "--limit", "max_infotext_chars=20000000", tmp_path / "big.png", timeout=30)
    assert raised.returncode == 0 and len(raised.stdout) > 10_000_000


def test_50000_boxes_on_one_image_are_refused_by_the_store(project_dir):
    with Project.open(project_dir, create=False) as project:
        image = project.list_images()[0]
        before = project.boxes(image.id)
        class_id = project.classes()[0].id
        boxes = [Box(class_id, 1, 1, 5, 5)] * 50_000
        with pytest.raises(ValueError, match=rf"image id {image.id}: 50000 boxes, more than the limit of 2000"):
            project.set_boxes(image.id, boxes)
        assert project.boxes(image.id) == before
        project.set_boxes(image.id, boxes[:2000])  # at the limit: fine
        with pytest.raises(ValueError, match="2001 boxes"):
            project.add_box(image.id, boxes[0])


def test_limits_come_from_the_environment_and_the_cli(tmp_path, run_cli, one_line_error, monkeypatch):
    assert limits.Limits.from_env({"SDAUG_MAX_BOXES_PER_IMAGE": "5"}).max_boxes_per_image == 5
    assert limits.Limits.from_env({}, ["max-classes=7"]).max_classes == 7
    with pytest.raises(ValueError, match="SDAUG_MAX_CLASSES must be a whole number, got 'lots'"):
        limits.Limits.from_env({"SDAUG_MAX_CLASSES": "lots"})
    monkeypatch.setattr(limits, "_active", limits.Limits(max_prompt_chars=3))
    assert Settings().limits.max_prompt_chars == 3  # Settings carries the limits in force
    done = run_cli("stats", "--limit", "max_nonsense=3", "--project", tmp_path)
    assert "--limit takes NAME=VALUE with NAME one of max_prompt_chars" in one_line_error(done)


def test_an_input_image_over_pillows_bomb_limit_is_one_line(tmp_path, cli, one_line_error):
    Image.new("1", (15_000, 12_000)).save(tmp_path / "huge.png")  # 180 MP: Pillow refuses to open it
    done = cli("generate", "--model", "tiny", "--prompt", "x", "--init", tmp_path / "huge.png", "--out", tmp_path)
    assert "Image size (180000000 pixels) exceeds limit" in one_line_error(done)
