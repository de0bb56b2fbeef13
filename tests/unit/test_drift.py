import numpy as np
import pytest
from PIL import Image, ImageDraw

from sdaug.augment.classic import apply_classic
from sdaug.augment.drift import check_variant, structure_similarity
from sdaug.augment.presets import DriftThresholds, get_preset

BOXES = [(20, 60, 60, 150), (100, 80, 150, 160), (170, 100, 230, 160)]


@pytest.fixture(scope="module")
def source() -> Image.Image:
    """A textured street scene: objects with edges inside them, in the three boxes."""
    rng = np.random.default_rng(0)
    base = np.full((180, 240, 3), 110.0)
    base[:60] = (120, 170, 230)
    base += rng.normal(0, 6, base.shape)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle(BOXES[0], fill=(30, 110, 40))
    for x in range(25, 60, 6):
        draw.line([(x, 70), (x, 145)], fill=(10, 60, 20), width=2)
    draw.rectangle(BOXES[1], fill=(30, 60, 160))
    draw.rectangle([110, 70, 140, 90], fill=(20, 40, 120))
    draw.ellipse(BOXES[2], fill=(200, 200, 190))
    draw.ellipse([185, 115, 215, 145], fill=(120, 120, 110))
    return image


def _paint(image: Image.Image, box: tuple[int, int, int, int], texture: bool) -> Image.Image:
    pixels = np.asarray(image).copy()
    x0, y0, x1, y1 = box
    fill = np.random.default_rng(1).integers(0, 256, (y1 - y0, x1 - x0, 3)) if texture else 128
    pixels[y0:y1, x0:x1] = fill
    return Image.fromarray(pixels)


def test_unchanged_image_scores_one(source: Image.Image) -> None:
    report = check_variant(source, source, BOXES, DriftThresholds(0.5, 0.5))
    assert report.box_scores == pytest.approx([1.0, 1.0, 1.0])
    assert report.image_score == pytest.approx(1.0)
    assert report.passed


@pytest.mark.parametrize("preset", ["fog", "light_rain", "light_snow", "haze", "dusk", "night", "overcast"])
def test_intended_weather_and_light_changes_pass(source: Image.Image, preset: str) -> None:
    thresholds = get_preset(preset).drift
    report = check_variant(source, apply_classic(source, get_preset(preset), 5), BOXES, thresholds)
    assert report.passed, (preset, report.box_scores, report.image_score)


@pytest.mark.parametrize("texture", [False, True], ids=["flat", "random-texture"])
def test_a_painted_over_object_is_flagged_and_the_others_pass(source: Image.Image, texture: bool) -> None:
    variant = apply_classic(_paint(source, BOXES[1], texture), get_preset("fog"), 5)
    report = check_variant(source, variant, BOXES, get_preset("fog").drift)
    assert report.box_passed == [True, False, True], report.box_scores
    assert report.box_scores[1] < 0.35
    assert not report.passed


def test_whole_image_score_catches_a_different_scene(source: Image.Image) -> None:
    other = source.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    report = check_variant(source, other, [], DriftThresholds(0.5, 0.45))
    assert report.image_score < 0.3 and not report.image_passed


def test_sizes_may_differ_and_bad_boxes_are_refused(source: Image.Image) -> None:
    bigger = source.resize((480, 360))
    scaled = [tuple(2 * v for v in box) for box in BOXES]
    assert min(check_variant(source, bigger, scaled).box_scores) > 0.8
    with pytest.raises(ValueError, match="has no area"):
        check_variant(source, source, [(10, 10, 10, 20)])
    with pytest.raises(ValueError, match="outside"):
        check_variant(source, source, [(500, 500, 600, 600)])
    with pytest.raises(ValueError, match="differ in shape"):
        structure_similarity(np.zeros((4, 4)), np.zeros((5, 5)))


def test_flat_scenes_pass_when_only_the_weather_changes() -> None:
    """Large flat areas hold only sensor noise: they must not fail the whole-image score."""
    flat = Image.new("RGB", (160, 120), (110, 110, 105))
    ImageDraw.Draw(flat).rectangle((0, 0, 160, 30), fill=(140, 170, 220))
    ImageDraw.Draw(flat).rectangle((10, 60, 40, 100), fill=(30, 110, 40))
    for preset in ("fog", "heavy_rain", "sandstorm"):
        report = check_variant(flat, apply_classic(flat, get_preset(preset), 3), [(10, 60, 40, 100)],
                               get_preset(preset).drift)
        assert report.passed, (preset, report.box_scores, report.image_score)
    assert check_variant(Image.new("L", (64, 64), 90), Image.new("L", (64, 64), 20), []).image_score == 1.0
