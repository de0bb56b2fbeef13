import numpy as np
import pytest
from PIL import Image, ImageDraw

from sdaug.augment.classic import EFFECTS, apply_classic, validate_classic
from sdaug.augment.presets import load_all_presets


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    image = Image.new("RGB", (80, 64), (120, 170, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 36, 80, 64], fill=(90, 90, 95))
    draw.rectangle([10, 30, 28, 58], fill=(30, 110, 40))
    draw.ellipse([45, 35, 70, 60], fill=(200, 200, 190))
    return image


def test_every_preset_is_deterministic_keeps_the_size_and_differs_by_seed(scene: Image.Image) -> None:
    for preset in load_all_presets().values():
        first = apply_classic(scene, preset, seed=3)
        assert first.size == scene.size and first.mode == "RGB", preset.name
        assert np.array_equal(np.asarray(first), np.asarray(apply_classic(scene, preset, seed=3))), preset.name
        assert not np.array_equal(np.asarray(first), np.asarray(apply_classic(scene, preset, seed=4))), preset.name
        assert np.abs(np.asarray(first, float) - np.asarray(scene, float)).mean() > 2.0, preset.name


def test_presets_look_different_from_each_other(scene: Image.Image) -> None:
    presets = load_all_presets()
    outputs = {name: np.asarray(apply_classic(scene, presets[name], 1), float)
               for name in ("light_rain", "heavy_snow", "fog", "haze", "sandstorm", "dusk", "night",
                            "night_streetlamps", "overcast")}
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(outputs[a] - outputs[b]).mean() > 2.0, (a, b)


def test_effects_move_the_image_the_expected_way(scene: Image.Image) -> None:
    presets = load_all_presets()
    source = np.asarray(scene, float)
    night = np.asarray(apply_classic(scene, presets["night"], 1), float)
    fog = np.asarray(apply_classic(scene, presets["dense_fog"], 1), float)
    sand = np.asarray(apply_classic(scene, presets["sandstorm"], 1), float)
    assert night.mean() < 0.6 * source.mean()
    assert night[..., 2].mean() > night[..., 0].mean()  # blue shift
    assert fog.std() < 0.7 * source.std()  # contrast loss
    assert fog[:10].mean() > fog[-10:].mean() or fog[:10].std() < fog[-10:].std()  # thicker far away
    assert sand[..., 0].mean() > sand[..., 2].mean() + 20  # orange/brown
    # Geometry preserved: the bright ellipse is still where it was (no shift, no warp).
    lamp = np.asarray(apply_classic(scene, presets["overcast"], 1).convert("L"), float)
    assert lamp[47, 57] > lamp[47, 20] + 20


def test_a_classic_table_works_without_a_preset_and_bad_settings_are_refused(scene: Image.Image) -> None:
    assert set(EFFECTS) >= {"rain", "snow", "fog", "haze", "sandstorm", "tone", "streetlamps"}
    out = apply_classic(scene, {"effect": "snow", "density": 20.0}, seed=0)
    assert out.size == scene.size
    assert validate_classic({"effect": "fog"})["density"] == 0.5  # defaults filled in
    with pytest.raises(ValueError, match=r"\[classic\] color must be a list of 3 numbers"):
        validate_classic({"effect": "fog", "color": 3})
    with pytest.raises(ValueError, match=r"\[classic\] thickness must be a whole number"):
        validate_classic({"effect": "rain", "thickness": 1.5})
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        apply_classic(scene, {"effect": "fog"}, seed=-1)
