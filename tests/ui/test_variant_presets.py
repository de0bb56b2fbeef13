"""Every built-in preset through the Weather and Lighting tabs' own handlers, the way a click
reaches them: choosing the preset runs the tab's ``fill`` event, the browser holds those values
and sends them back as JSON (a whole number such as a ControlNet weight of 1.0 comes back as
the integer 1), gradio's components preprocess them, and the tab's run handler gets them.

The tabs are built in-process (no server): the handlers are looked up in the ``gr.Blocks`` by
name and called with a ``gr.Request``, with the tiny model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from PIL import Image

from sdaug.augment.presets import builtin_presets_dir
from sdaug.prompts import parse_infotext
from sdaug.settings import Settings
from sdaug.ui import lighting, weather
from sdaug.ui.context import AppContext

PRESET_FILES = sorted(builtin_presets_dir().glob("*/*.toml"))


@dataclass
class Tab:
    view: Any  # the tab's VariantTab
    fill: Any  # BlockFunction: preset name -> field values
    handler: Any  # BlockFunction: the run endpoint (/weather, /lighting)


@pytest.fixture(scope="module")
def tabs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tab]:
    ctx = AppContext(Settings(home=tmp_path_factory.mktemp("home"), device="cpu"), model="tiny", forced_lang="en")
    with gr.Blocks() as demo:
        with gr.Tab("weather"):
            views = {"weather": weather.build(ctx)}
        with gr.Tab("lighting"):
            views["lighting"] = lighting.build(ctx)
    functions = list(demo.fns.values())

    def find(name: str, first_input: Any) -> Any:
        return next(f for f in functions if f.name == name and f.inputs and f.inputs[0] is first_input)

    return {kind: Tab(view, find("fill", view.preset), find(kind, view.photos)) for kind, view in views.items()}


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("photos") / "street.png"
    Image.new("RGB", (56, 48), (90, 120, 160)).save(path)
    return str(path)


def as_browser_sends(value: Any) -> Any:
    """A value after the round trip through the browser: JavaScript has one number type, so
    ``JSON.stringify`` writes 1.0 as ``1`` and gradio reads it back as an int."""
    text = json.dumps(value)
    return json.loads(text, parse_float=lambda number: int(float(number)) if float(number).is_integer()
                      else float(number))


def handler_inputs(tab: Tab, preset: str, photo: str) -> list[Any]:
    """What the run handler gets after ``preset`` was chosen and a photo added."""
    filled = dict(zip((c._id for c in tab.fill.outputs), tab.fill.fn(preset), strict=True))
    values = []
    for component in tab.handler.inputs:
        if component is tab.view.photos:
            values.append([(photo, None)])
            continue
        value = filled.get(component._id, component.value)
        values.append(component.preprocess(as_browser_sends(value)))
    return values


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_preset_runs_through_its_tab(tabs: dict[str, Tab], photo: str, path: Path) -> None:
    tab = tabs[path.parent.name]
    assert path.stem in tab.view.presets
    request = gr.Request(headers={"accept-language": "en"})

    outputs = tab.handler.fn(*handler_inputs(tab, path.stem, photo), request=request)

    gallery, status, info = outputs[:3]
    assert len(gallery) == 1
    with Image.open(gallery[0][0]) as image:
        assert image.size == (56, 48)
    params = parse_infotext(info)
    preset = tab.view.presets[path.stem]
    assert (params["Steps"], params["Sampler"]) == (str(preset.steps), preset.sampler)
    if preset.kind == "lighting":
        assert f"Weight: {preset.control_weight:g}," in params["ControlNet 0"]


def test_control_labels_are_the_engines_control_types() -> None:
    from sdaug.engine.control import CONTROL_TYPES

    assert set(lighting.CONTROL_NAMES) == set(CONTROL_TYPES)  # no label for a type that does not exist


def test_a_broken_preset_file_is_reported_in_the_pages_language(tmp_path: Path) -> None:
    """A user preset file that cannot be read is named above the tab, in English and in 中文."""
    settings = Settings(home=tmp_path / "home", device="cpu")
    (settings.user_presets_dir / "weather").mkdir(parents=True)
    (settings.user_presets_dir / "weather" / "wet.toml").write_text('title_en = "Wet"\nstrenght = 0.3\n')
    ctx = AppContext(settings, model="tiny", forced_lang="en")
    with gr.Blocks():
        weather.build(ctx)
    en, zh = ctx.extra_translations["preset.weather.problem.0"]
    assert "wet.toml: unknown key 'strenght' (did you mean 'strength'?)" in en
    assert "wet.toml 有误：未知的键 'strenght'（您是否要写 'strength'？）" in zh
