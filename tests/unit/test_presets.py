from pathlib import Path

import pytest

from sdaug.augment.presets import (
    KINDS,
    DriftThresholds,
    builtin_presets_dir,
    get_preset,
    load_all_presets,
    load_preset_file,
    load_presets,
)
from sdaug.settings import Settings

WEATHER = {"light_rain", "heavy_rain", "light_snow", "heavy_snow", "fog", "haze", "sandstorm"}
LIGHTING = {"dusk", "night", "night_streetlamps", "overcast"}

GOOD = """
title_en = "Wet"
title_zh = "湿"
prompt = "wet street, photorealistic"
strength = 0.3
[loras]
rain = 0.6
[drift]
box_min = 0.4
[classic]
effect = "rain"
density = 5.0
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_builtin_preset_is_valid() -> None:
    problems: list[str] = []
    presets = {kind: {p.name: p for p in load_presets(kind, None, problems)} for kind in KINDS}
    assert problems == []
    assert set(presets["weather"]) >= WEATHER
    assert set(presets["lighting"]) >= LIGHTING
    for preset in presets["weather"].values():
        assert preset.builtin and preset.path is not None and preset.path.parent.name == "weather"
        assert preset.title_en and preset.title_zh != preset.title_en
        assert 0.25 <= preset.strength <= 0.45
        assert preset.control_type == ""
    for preset in presets["lighting"].values():
        assert preset.control_type == "canny" and 0 < preset.control_weight <= 2
    assert builtin_presets_dir().name == "presets"


def test_heavy_snow_keeps_the_users_prompt_and_builds_an_img2img_request() -> None:
    preset = get_preset("heavy_snow")
    assert "(snowfall in background:1.2)" in preset.prompt
    request = preset.to_request(seed=7, width=64, height=64)
    assert request.mode == "img2img"
    assert request.denoising_strength == preset.strength
    assert (request.sampler, request.schedule_type, request.clip_skip) == ("DPM++ 2M", "Karras", 2)
    assert (request.seed, request.width) == (7, 64)


def test_lighting_request_uses_controlnet() -> None:
    request = get_preset("lighting/night").to_request()
    assert request.mode == "controlnet"
    assert request.control_type == "canny"
    assert request.control_weight == get_preset("night").control_weight


def test_loras_become_prompt_tags_and_unknown_override_is_refused(tmp_path: Path) -> None:
    preset = load_preset_file(_write(tmp_path / "weather", "wet", GOOD), "weather")
    assert preset.loras == {"rain": 0.6}
    assert preset.to_request().prompt == "wet street, photorealistic, <lora:rain:0.6>"
    assert preset.drift == DriftThresholds(box_min=0.4, image_min=DriftThresholds.image_min)
    with pytest.raises(ValueError, match="no field 'strenght'"):
        preset.to_request(strenght=0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("strength = 0.3", "strength = 1.5"), "strength must be from 0 to 1, got 1.5"),
        (GOOD.replace("strength = 0.3", "strenght = 0.3"), "unknown key 'strenght' .did you mean 'strength'"),
        (GOOD.replace("strength = 0.3", "strength = \"high\""), "strength must be a number"),
        (GOOD.replace('effect = "rain"', 'effect = "lava"'), r"\[classic\] effect must be one of rain"),
        (GOOD.replace("density = 5.0", "densty = 5.0"), r"has no setting 'densty'"),
        (GOOD.replace("box_min = 0.4", "box_min = 2"), r"\[drift\] box_min must be from 0 to 1"),
        (GOOD.replace('title_en = "Wet"\n', ""), "missing key 'title_en'"),
        (GOOD + "\n[classic\n", "not valid TOML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "bad", text)
    with pytest.raises(ValueError, match=message) as info:
        load_preset_file(path, "weather")
    assert str(path) in str(info.value)


def test_broken_user_file_is_reported_and_skipped_and_user_files_add_and_override(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    user = settings.user_presets_dir / "weather"
    _write(user, "wet", GOOD)
    _write(user, "fog", GOOD.replace("Wet", "My fog"))
    _write(user, "broken", GOOD.replace("strength = 0.3", "strength = -1"))
    problems: list[str] = []
    presets = {p.name: p for p in load_presets("weather", settings, problems)}
    assert "wet" in presets and not presets["wet"].builtin
    assert presets["fog"].title_en == "My fog"  # the user file replaces the built-in one
    assert "broken" not in presets
    assert len(problems) == 1 and "broken.toml" in problems[0] and "strength" in problems[0]
    assert set(presets) >= WEATHER  # the others still load
    assert "night" in load_all_presets(settings)


def test_unknown_preset_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown preset 'heavy_snw'\. Did you mean 'heavy_snow'\?.*Known presets:.*fog"):
        get_preset("heavy_snw")
    with pytest.raises(ValueError, match="preset kind must be one of weather, lighting"):
        load_presets("season")
