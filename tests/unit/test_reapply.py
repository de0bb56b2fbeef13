"""Applying a source's boxes to its variants again: scaled, re-checked for drift against each
variant's preset (default thresholds for an unknown preset), status from the check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.augment.presets import DriftThresholds, builtin_presets_dir
from sdaug.augment.reapply import reapply_source_boxes
from sdaug.dataset.store import Box, Project


def scene(width: int, height: int) -> Image.Image:
    """Bright blocks on a dark ground: structure for the drift check to compare."""
    pixels = np.full((height, width, 3), 30, np.uint8)
    for i in range(0, width, 16):
        pixels[4:height - 4, i + 2:i + 10] = (220, 200 - i, 60 + i)
    return Image.fromarray(pixels)


def noisy(image: Image.Image, std: float, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, np.float32) + rng.normal(0, std, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project.open(tmp_path / "project")
    project.add_class("bin")
    path = tmp_path / "source.png"
    scene(64, 32).save(path)
    project.add_image(path)
    return project


def add_variant(project: Project, image: Image.Image, preset: str, status: str = "review") -> int:
    source = project.image_ids()[0]
    old = Box(project.classes()[0].id, 0, 0, 5, 5, origin="carried", drift=0.1, needs_review=True)
    return project.add_variant(source, image, preset=preset, seed=1, params="", boxes=[old], status=status).id


def test_boxes_are_scaled_and_get_fresh_drift_scores(project: Project) -> None:
    source = project.image_ids()[0]
    bin_id = project.classes()[0].id
    same = add_variant(project, noisy(scene(64, 32), 2), "fog")
    bigger = add_variant(project, noisy(scene(64, 32).resize((128, 64), Image.Resampling.NEAREST), 2), "fog")
    lost = add_variant(project, noisy(Image.new("RGB", (64, 32), (128, 128, 128)), 80), "fog")
    project.set_boxes(source, [Box(bin_id, 0, 2, 32, 30), Box(bin_id, 32, 2, 64, 30)])

    updated = reapply_source_boxes(project, source)

    assert [v.id for v in updated] == [same, bigger, lost]
    assert [(b.x1, b.y1, b.x2, b.y2) for b in project.boxes(bigger)] == [(0, 4, 64, 60), (64, 4, 128, 60)]
    for variant_id in (same, bigger):
        boxes = project.boxes(variant_id)
        assert all(b.origin == "carried" and b.drift > 0.9 and not b.needs_review for b in boxes)
        assert project.get_image(variant_id).status == "labelled"
    assert all(b.drift < 0.45 and b.needs_review for b in project.boxes(lost))
    assert project.get_image(lost).status == "review"


def test_the_variants_preset_thresholds_decide(project: Project, settings) -> None:
    strict = (builtin_presets_dir() / "weather" / "fog.toml").read_text(encoding="utf-8")
    strict = strict.replace("box_min = 0.45", "box_min = 0.999").replace("image_min = 0.45", "image_min = 0.999")
    (settings.user_presets_dir / "weather").mkdir(parents=True, exist_ok=True)
    (settings.user_presets_dir / "weather" / "strict.toml").write_text(strict, encoding="utf-8")
    source = project.image_ids()[0]
    under_strict = add_variant(project, noisy(scene(64, 32), 30, seed=1), "strict", status="labelled")
    under_unknown = add_variant(project, noisy(scene(64, 32), 30, seed=2), "made-elsewhere")
    rejected = add_variant(project, noisy(scene(64, 32), 30, seed=3), "made-elsewhere", status="rejected")
    project.set_boxes(source, [Box(project.classes()[0].id, 0, 2, 32, 30)])

    reapply_source_boxes(project, source, settings)

    [strict_box] = project.boxes(under_strict)
    [default_box] = project.boxes(under_unknown)
    for box in (strict_box, default_box):
        assert DriftThresholds().box_min < box.drift < 0.999
    assert strict_box.needs_review and project.get_image(under_strict).status == "review"
    assert not default_box.needs_review and project.get_image(under_unknown).status == "labelled"
    assert project.get_image(rejected).status == "rejected" and project.boxes(rejected)[0].drift is not None


def test_a_variant_is_not_a_source(project: Project) -> None:
    variant = add_variant(project, noisy(scene(64, 32), 2), "fog")
    with pytest.raises(ValueError, match=f"#{variant} is a variant"):
        reapply_source_boxes(project, variant)
