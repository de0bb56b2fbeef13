"""GenerationRequest from an A1111 infotext: fields, local model and LoRA matching, kept keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sdaug.engine.infotext_request import infotext_fields, request_from_infotext
from sdaug.engine.request import GenerationRequest
from sdaug.prompts import format_infotext, infotext_params, lora_hash, model_hash, parse_infotext
from tests.spec import SPEC_EXAMPLE


def _lora(path: Path, seed: int) -> Path:
    save_file({"lora.down.weight": torch.randn(2, 4, generator=torch.Generator().manual_seed(seed))}, path)
    return path


def test_spec_example_maps_to_request_fields(settings):
    request, warnings = request_from_infotext(SPEC_EXAMPLE, settings)
    assert request.prompt.endswith("photorealistic,<lora:snowfall:0.8>,")
    assert request.negative_prompt == "Unrealistic,"
    assert (request.steps, request.sampler, request.schedule_type) == (20, "DPM++ 2M", "Karras")
    assert (request.cfg_scale, request.seed, request.width, request.height) == (7.0, 712934690, 500, 375)
    assert (request.denoising_strength, request.clip_skip) == (0.34, 2)
    assert request.mode == "txt2img"
    # Spec: v1.6.0-2 needs Downcast alphas_cumprod; no RNG key means A1111's default, GPU.
    assert (request.compat, request.rng) == (["Downcast alphas_cumprod"], "GPU")
    # Not on this machine: the default model, and both facts reported.
    assert request.model == ""
    assert any("realisticVisionV60B1_v60B1VAE" in w and "default model" in w for w in warnings)
    assert any("snowfall" in w and "not there" in w for w in warnings)


def test_unknown_keys_are_kept_and_written_back(settings):
    request, _ = request_from_infotext(SPEC_EXAMPLE.replace("Clip skip: 2", "Clip skip: 2, Hires upscale: 2"),
                                       settings)
    assert request.extra_params["VAE"] == "vae-ft-mse-840000-ema-pruned.safetensors"
    assert request.extra_params["Hires upscale"] == "2"
    assert "Lora hashes" not in request.extra_params  # the engine writes the hashes it used
    params = infotext_params(request, request.seed)
    assert params["VAE hash"] == "735e4c3a44" and params["Hires upscale"] == "2"
    assert "Model hash" not in params and params["Version"].startswith("sdaug")


def test_model_is_matched_to_a_local_file_by_name(settings):
    (settings.models_dir / "realisticVisionV60B1_v60B1VAE.safetensors").write_bytes(b"weights")
    request, warnings = request_from_infotext(SPEC_EXAMPLE, settings)
    assert request.model == "realisticVisionV60B1_v60B1VAE"
    assert not any("Model" in w for w in warnings)


def test_model_is_matched_by_hash_when_renamed(settings):
    local = settings.models_dir / "my_checkpoint.safetensors"
    local.write_bytes(b"some checkpoint bytes")
    text = SPEC_EXAMPLE.replace("fe7578cb5e", model_hash(local))
    request, warnings = request_from_infotext(text, settings)
    assert request.model == "my_checkpoint"
    assert any("my_checkpoint.safetensors" in w for w in warnings)


def test_lora_found_under_another_name_is_used_in_the_prompt(settings):
    local = _lora(settings.loras_dir / "snow_v2.safetensors", seed=1)
    text = SPEC_EXAMPLE.replace("f8324b7af7d9", lora_hash(local))
    request, warnings = request_from_infotext(text, settings)
    assert "<lora:snow_v2:0.8>" in request.prompt and "<lora:snowfall" not in request.prompt
    assert any("snow_v2.safetensors" in w for w in warnings)
    lyco, _ = request_from_infotext(text.replace("<lora:snowfall:0.8>", "<lyco:snowfall:0.8:unet=1>"), settings)
    assert "<lyco:snow_v2:0.8:unet=1>" in lyco.prompt


def test_lora_with_the_same_name_and_hash_needs_no_warning(settings):
    local = _lora(settings.loras_dir / "snowfall.safetensors", seed=1)
    request, warnings = request_from_infotext(SPEC_EXAMPLE.replace("f8324b7af7d9", lora_hash(local)), settings)
    assert "<lora:snowfall:0.8>" in request.prompt
    assert not any("LoRA" in w for w in warnings)


def test_lora_with_the_same_name_but_another_hash_is_reported(settings):
    _lora(settings.loras_dir / "snowfall.safetensors", seed=2)
    _, warnings = request_from_infotext(SPEC_EXAMPLE, settings)
    assert any("snowfall" in w and "different hash" in w for w in warnings)


def test_request_round_trips_through_its_infotext(settings):
    original = GenerationRequest(
        prompt='a street, "quoted": yes\nsecond line', negative_prompt="blurry, lowres", steps=7,
        sampler="Euler a", schedule_type="Automatic", cfg_scale=5.5, seed=42, width=500, height=375,
        clip_skip=3, mode="img2img", init_images=[object()], denoising_strength=0.25,
        extra_params={"Weather": "snow, heavy", "Note": 'has "quotes"'},
    )
    text = format_infotext(original.prompt, original.negative_prompt, infotext_params(original, original.seed))
    request, warnings = request_from_infotext(text.replace("\n", "\r\n"), settings)
    assert not warnings
    for name in ("prompt", "negative_prompt", "steps", "sampler", "schedule_type", "cfg_scale", "seed",
                 "width", "height", "clip_skip", "denoising_strength"):
        assert getattr(request, name) == getattr(original, name), name
    assert request.extra_params == {**original.extra_params, "Version": parse_infotext(text)["Version"]}


def test_bad_values_name_their_key(settings):
    with pytest.raises(ValueError, match="Steps"):
        request_from_infotext(SPEC_EXAMPLE.replace("Steps: 20", "Steps: many"), settings)
    with pytest.raises(ValueError, match="steps must be from 1 to 150"):
        request_from_infotext(SPEC_EXAMPLE.replace("Steps: 20", "Steps: 500"), settings)
    with pytest.raises(ValueError, match="unknown sampler 'Restart'.*DPM\\+\\+ 2M"):
        request_from_infotext(SPEC_EXAMPLE.replace("DPM++ 2M Karras", "Restart"), settings)


def test_prompt_only_text_gives_a_default_request(settings):
    request, warnings = request_from_infotext("a street at night", settings)
    assert request.prompt == "a street at night" and request.steps == GenerationRequest().steps
    assert not warnings


def test_model_names_the_engine_loads_itself_are_kept(settings):
    for name in ("tiny", "stable-diffusion-v1-5/stable-diffusion-v1-5"):
        request, warnings = request_from_infotext(SPEC_EXAMPLE.replace("realisticVisionV60B1_v60B1VAE", name),
                                                  settings)
        assert request.model == name
        assert not any("Model" in w for w in warnings)


def test_a_model_given_by_the_caller_replaces_the_infotext_model_without_a_warning(settings):
    request, warnings = request_from_infotext(SPEC_EXAMPLE, settings, model="tiny")
    assert request.model == "tiny"
    assert not any("Model" in w for w in warnings)
    assert any("snowfall" in w for w in warnings)  # LoRA warnings stay


def test_infotext_fields_holds_only_the_keys_the_text_names(settings):
    fields, warnings = infotext_fields("dusk\nSteps: 30, Sampler: DPM++ 2M Karras, Weather: rain", settings)
    assert fields == {"prompt": "dusk", "negative_prompt": "", "steps": 30, "sampler": "DPM++ 2M", "schedule_type": "Karras",
                      "extra_params": {"Weather": "rain"}, "rng": "GPU", "compat": []}
    assert not warnings
