"""Weather / Lighting: "protect the labelled boxes" turns a project photo's boxes into region strength."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.dataset.store import Box
from sdaug.settings import Settings
from sdaug.ui import variants
from sdaug.ui.context import AppContext


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    context = AppContext(settings=Settings(home=tmp_path / "home"), model="tiny")
    context.add_translations(variants.STRINGS)
    return context


def photo(path: Path, seed: int) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def requests_for(ctx: AppContext, paths: list[Path], region: variants.RegionChoice | None) -> list:
    _, requests = variants.photo_requests(ctx, None, [str(p) for p in paths], mode="img2img", prompt="fog",
                                          negative_prompt="", strength=0.6, steps=4, sampler="Euler",
                                          schedule_type="Automatic", cfg_scale=7, seed=1, variants=1, clip_skip=1,
                                          region=region)
    return requests


def test_a_project_photo_gets_its_boxes_protected_and_another_photo_does_not(ctx: AppContext, tmp_path: Path) -> None:
    project = ctx.projects.create("bins", ["bin"])
    labelled = photo(tmp_path / "labelled.png", 0)
    record = project.add_image(labelled, boxes=[Box(project.classes()[0].id, 4, 6, 30, 40)]).record
    stored = project.image_path(record)  # what "Use this project's labelled photos" puts in the gallery
    stranger = photo(tmp_path / "other.png", 1)
    region = variants.region_choice(True, 0.1, 16, "bins")
    inside, outside = requests_for(ctx, [stored, stranger], region)
    assert (inside.box_strength, inside.background_strength, inside.box_feather) == (0.1, 0.6, 16)
    assert inside.region_boxes == [[(4.0, 6.0, 30.0, 40.0)]] and inside.region.box_strength == 0.1
    assert outside.box_strength is None and outside.region is None
    # Off: plain img2img for every photo.
    assert all(r.region is None for r in requests_for(ctx, [stored], variants.region_choice(False, 0.1, 16, "bins")))


def test_protecting_without_a_project_says_what_to_do(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="choose the project the photos come from"):
        requests_for(ctx, [photo(tmp_path / "a.png", 2)], variants.region_choice(True, 0.1, 16, None))
