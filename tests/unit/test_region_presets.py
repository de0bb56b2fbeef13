"""Region-aware strength in presets and in the classic engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.augment.classic import apply_classic
from sdaug.augment.presets import get_preset, load_preset_file
from sdaug.engine.region import box_mask

BOX = (40.0, 30.0, 120.0, 90.0)


@pytest.fixture
def photo() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((160, 120))


def _change(a: Image.Image, b: Image.Image) -> np.ndarray:
    return np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean(axis=2)


@pytest.mark.parametrize("name", ["fog", "heavy_rain", "night"])
def test_classic_effect_is_weaker_inside_the_boxes(photo: Image.Image, name: str) -> None:
    preset = replace(get_preset(name), box_strength=0.1, background_strength=0.5, box_feather=0)
    delta = _change(photo, apply_classic(photo, preset, seed=3, boxes=[BOX]))
    inside = box_mask(photo.size, [BOX]) > 0
    # Boxes get 0.1 / 0.5 of the effect; dithering adds up to one level everywhere.
    assert delta[inside].mean() < 0.35 * delta[~inside].mean()


def test_classic_without_boxes_or_with_equal_strengths_is_unchanged(photo: Image.Image) -> None:
    preset = get_preset("fog")
    plain = np.asarray(apply_classic(photo, preset, seed=3))
    assert np.array_equal(plain, np.asarray(apply_classic(photo, preset, seed=3, boxes=[BOX])))
    equal = replace(preset, box_strength=0.35, background_strength=0.35)
    assert np.array_equal(plain, np.asarray(apply_classic(photo, equal, seed=3, boxes=[BOX])))


def test_preset_file_with_region_strength_builds_the_request(tmp_path: Path) -> None:
    text = (Path(get_preset("fog").path).read_text(encoding="utf-8")
            .replace("strength = 0.35", "strength = 0.5\nbox_strength = 0.1\nbox_feather = 8"))
    path = tmp_path / "fog_safe.toml"
    path.write_text(text, encoding="utf-8")
    preset = load_preset_file(path, "weather")
    request = preset.to_request(init_images=[Image.new("RGB", (64, 64))], region_boxes=[[BOX]])
    assert (request.box_strength, request.background_strength, request.box_feather) == (0.1, 0.5, 8)
    assert request.sampling_strength == 0.5


@pytest.mark.parametrize(("line", "message"), [
    ("box_strength = 1.5", "box_strength must be from 0 to 1"),
    ("box_feather = 2.5", "box_feather must be a whole number"),
    ("box_strenght = 0.1", "did you mean 'box_strength'"),
])
def test_bad_region_keys_say_what_is_wrong(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(Path(get_preset("fog").path).read_text(encoding="utf-8").replace(
        "strength = 0.35", f"strength = 0.35\n{line}"), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_preset_file(path, "weather")
