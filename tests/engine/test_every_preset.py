"""Every built-in preset file runs through both engines: diffusion (the tiny model, with the
preset's own sampler, schedule, steps, CFG, strength and ControlNet settings) and classic.

The files are globbed from the package's ``presets/`` folder, so a preset added later is covered
without editing this test. The UI's Weather and Lighting handlers get the same presets in
``tests/ui/test_variant_presets.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.augment.classic import apply_classic
from sdaug.augment.presets import builtin_presets_dir, load_preset_file
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.prompts import parse_infotext
from sdaug.settings import Settings

PRESET_FILES = sorted(builtin_presets_dir().glob("*/*.toml"))
SIZE = 64


def preset_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> object:
    """One manager for the module: the tiny model loads once (runs never change its weights)."""
    from sdaug.engine.manager import PipelineManager

    return PipelineManager(Settings(home=tmp_path_factory.mktemp("home"), device="cpu"))


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((SIZE, SIZE), Image.Resampling.BICUBIC)


def test_the_builtin_presets_are_found() -> None:
    names = {preset_id(path) for path in PRESET_FILES}
    assert {"weather/fog", "lighting/night", "lighting/night_streetlamps"} <= names
    assert len(names) >= 16


@pytest.mark.parametrize("path", PRESET_FILES, ids=preset_id)
def test_preset_runs_through_the_diffusion_engine(manager, photo: Image.Image, path: Path) -> None:
    preset = load_preset_file(path, path.parent.name, builtin=True)
    request = preset.to_request(model="tiny", init_images=[photo], width=SIZE, height=SIZE, seed=11)
    result = run(request, manager)

    assert [image.size for image in result.images] == [(SIZE, SIZE)]
    params = parse_infotext(result.infotexts[0])
    assert (params["Steps"], params["Sampler"]) == (str(preset.steps), preset.sampler)
    assert params["Denoising strength"] == f"{preset.strength:g}"
    assert ("ControlNet 0" in params) == (preset.kind == "lighting")
    assert np.abs(np.asarray(result.images[0], dtype=np.int16) - np.asarray(photo, dtype=np.int16)).mean() > 1


@pytest.mark.parametrize("path", PRESET_FILES, ids=preset_id)
def test_preset_runs_through_the_classic_engine(photo: Image.Image, path: Path) -> None:
    preset = load_preset_file(path, path.parent.name, builtin=True)
    variant = apply_classic(photo, preset, seed=11)

    assert variant.size == photo.size and variant.mode == "RGB"
    assert np.abs(np.asarray(variant, dtype=np.int16) - np.asarray(photo, dtype=np.int16)).mean() > 1


def test_a_whole_number_control_weight_runs(manager, photo: Image.Image) -> None:
    """Sliders and JSON send 1 for 1.0; diffusers refuses an int controlnet_conditioning_scale."""
    request = GenerationRequest(mode="controlnet", model="tiny", prompt="night", init_images=[photo], steps=2,
                                width=SIZE, height=SIZE, seed=1, control_weight=1, cfg_scale=7,
                                denoising_strength=1)
    result = run(request, manager)
    assert len(result.images) == 1
    assert "Weight: 1," in parse_infotext(result.infotexts[0])["ControlNet 0"]
