"""``<lora:NAME:W>`` in the prompt activates ``<home>/loras/NAME.safetensors`` through the manager;
the spec's parameter block (with its LoRA) generates an image whose infotext reads back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from PIL import Image

from sdaug.engine.conditioning import batch_loras, plan_prompts
from sdaug.engine.infotext_request import request_from_infotext
from sdaug.engine.manager import PipelineManager
from sdaug.engine.output import save_images
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.tiny import tiny_pipeline
from sdaug.prompts import lora_hash, parse_infotext, read_infotext, split_sampler_name
from sdaug.settings import Settings

SIZE = 32
# The spec's example block with the model swapped for the tiny one, 3 steps and a small size
# (3 steps at denoising strength 0.34 run one img2img step; 2 would run none).
SPEC_BLOCK = (
    "snowy,winter,(snowfall in background:1.2),(heavyfall:1.15),snow,very snowy,photorealistic,"
    "<lora:snowfall:0.8>,\n"
    "Negative prompt: Unrealistic,\n"
    "Steps: 3, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 712934690, Size: 64x48, "
    "Model hash: fe7578cb5e, Model: tiny, VAE hash: 735e4c3a44, "
    "VAE: vae-ft-mse-840000-ema-pruned.safetensors, Denoising strength: 0.34, Clip skip: 2, "
    'Lora hashes: "snowfall: {hash}", Version: v1.6.0-2-g4afaaf8a'
)
# Keys that describe the run that made an image, not its parameters: written anew.
RUN_KEYS = ("Model hash", "Version")


def _save_lora(folder: Path, name: str, seed: int) -> Path:
    """A random LoRA for the tiny UNet and text encoder, saved as diffusers saves trained ones."""
    pipe = tiny_pipeline()
    torch.manual_seed(seed)
    pipe.unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                     target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    pipe.text_encoder.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                             target_modules=["q_proj", "k_proj", "v_proj", "out_proj"]))
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=get_peft_model_state_dict(pipe.unet),
        text_encoder_lora_layers=get_peft_model_state_dict(pipe.text_encoder), weight_name=f"{name}.safetensors")
    return folder / f"{name}.safetensors"


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("loras")
    return [_save_lora(folder, "snowfall", seed=1), _save_lora(folder, "rain", seed=2)]


@pytest.fixture(autouse=True)
def installed_loras(settings: Settings, lora_files: list[Path]) -> None:
    """``snowfall`` and ``rain`` in the test's ``<home>/loras/``."""
    for path in lora_files:
        shutil.copyfile(path, settings.loras_dir / path.name)


def generate(manager: PipelineManager, prompt: str, **fields) -> tuple[np.ndarray, object]:
    request = GenerationRequest(prompt=prompt, model="tiny", steps=2, sampler="Euler", width=SIZE, height=SIZE,
                                seed=3, **fields)
    result = run(request, manager)
    return np.asarray(result.images[0], dtype=np.float32), result


def test_batch_loras_finds_the_files_of_the_tags(settings):
    plans = plan_prompts("snow <lora:snowfall:0.8>, <lyco:rain:0.5:0.25>", "", [0, 1])
    assert batch_loras(plans, settings) == ([
        (settings.loras_dir / "snowfall.safetensors", 0.8, 0.8), (settings.loras_dir / "rain.safetensors", 0.5, 0.25)],
        [])


@pytest.mark.parametrize("tag", ["<lora:nosuch:1>", "<lora: snowfall :1>", "<lyco:nosuch>"])
def test_a_missing_lora_is_a_warning_listing_the_lora_files(settings, tag):
    found, warnings = batch_loras(plan_prompts(f"snow {tag}", "", [0]), settings)
    assert found == []
    name = tag[1:-1].split(":")[1]
    [warning] = warnings
    assert f"LoRA {name!r} not found" in warning and "rain, snowfall" in warning and "going on without it" in warning


def test_a_missing_lora_warns_before_the_model_loads_and_the_run_goes_on(manager):
    """Issue 14 item 7: found before the (slow) model load; A1111 warns and goes on."""
    events: list[str] = []
    request = GenerationRequest(prompt="a street <lora:rainfall:1>", model="tiny", steps=2, sampler="Euler",
                                width=SIZE, height=SIZE, seed=3)
    result = run(request, manager, on_progress=lambda progress: events.append(progress.message))
    loading = next(i for i, message in enumerate(events) if message.startswith("loading model"))
    warned = next(i for i, message in enumerate(events) if "'rainfall' not found" in message)
    assert warned < loading
    assert any("'rainfall' not found" in w and "rain, snowfall" in w for w in result.warnings)
    plain, _ = generate(manager, "a street")
    np.testing.assert_array_equal(np.asarray(result.images[0], dtype=np.float32), plain)
    assert "Lora hashes" not in parse_infotext(result.infotexts[0])


def test_one_lora_with_two_weights_in_a_batch_is_an_error(settings):
    plans = plan_prompts("{<lora:snowfall:0.8>|<lora:snowfall:0.5>}", "", range(8))
    with pytest.raises(ValueError, match="snowfall.*one set of LoRA weights"):
        batch_loras(plans, settings)
    with pytest.raises(ValueError, match=r"'snowfall' has weights 0\.8 and 0\.5"):
        batch_loras(plan_prompts("<lora:snowfall:0.8> <lora:snowfall:0.5>", "", [0]), settings)
    with pytest.raises(ValueError, match=r"weights 1\.0 and 1\.0 \(text encoder\) / 2\.0 \(UNet\)"):
        batch_loras(plan_prompts("<lora:snowfall:1> <lora:snowfall:1:2>", "", [0]), settings)


def test_a_bad_weight_stops_the_run_before_the_model_loads(manager):
    with pytest.raises(ValueError, match="<lora:snowfall:abc>: weight 'abc' is not a number"):
        generate(manager, "a street <lora:snowfall:abc>")
    assert manager.source is None


def test_lyco_is_another_name_for_lora(manager):
    lora, _ = generate(manager, "a street <lora:snowfall:0.8>")
    lyco, result = generate(manager, "a street <lyco:snowfall:0.8>")
    np.testing.assert_array_equal(lyco, lora)
    assert "snowfall" in parse_infotext(result.infotexts[0])["Lora hashes"]


def _component_outputs(manager, weights):
    """(text encoder output, UNet output) of fixed inputs with the snowfall LoRA at ``weights``."""
    pipe = manager.pipeline("txt2img", "tiny", loras={"snowfall": weights} if weights else None)
    ids = torch.arange(10).unsqueeze(0)
    with torch.no_grad():
        text = pipe.text_encoder(ids)[0]
        latents = torch.ones(1, 4, 4, 4)
        unet = pipe.unet(latents, 10, encoder_hidden_states=text.new_ones(1, 77, text.shape[-1])).sample
    return text, unet


def test_text_encoder_and_unet_weights_are_applied_separately(manager):
    plain_text, plain_unet = _component_outputs(manager, None)
    text_only = _component_outputs(manager, (1.0, 0.0))
    unet_only = _component_outputs(manager, (0.0, 1.0))
    both = _component_outputs(manager, (1.0, 1.0))
    torch.testing.assert_close(text_only[1], plain_unet)  # UNet weight 0: the UNet is the plain one
    torch.testing.assert_close(unet_only[0], plain_text)  # text encoder weight 0: the plain text encoder
    torch.testing.assert_close(text_only[0], both[0])
    torch.testing.assert_close(unet_only[1], both[1])
    assert not torch.allclose(both[0], plain_text) and not torch.allclose(both[1], plain_unet)


def test_a_separate_unet_weight_changes_the_image(manager):
    same, _ = generate(manager, "a street <lora:snowfall:1>")
    explicit, _ = generate(manager, "a street <lora:snowfall:1:1>")
    unet_two, _ = generate(manager, "a street <lora:snowfall:1:2>")
    named, _ = generate(manager, "a street <lora:snowfall:1:unet=2>")
    np.testing.assert_array_equal(same, explicit)
    np.testing.assert_array_equal(unet_two, named)
    assert np.abs(unet_two - same).max() > 1


def test_tags_in_the_negative_prompt_are_text_and_activate_nothing(manager, settings):
    [plan] = plan_prompts("a street", "blurry, <lora:snowfall:1>, <lora:bad:abc>", [0])
    assert plan.negative == "blurry, <lora:snowfall:1>, <lora:bad:abc>" and plan.loras == [] and plan.warnings == []
    assert batch_loras([plan], settings) == ([], [])
    plain, _ = generate(manager, "a street", negative_prompt="blurry, ")
    tagged, result = generate(manager, "a street", negative_prompt="blurry, <lora:snowfall:1>")
    assert np.abs(tagged - plain).max() > 0  # the tag is encoded as words
    params = parse_infotext(result.infotexts[0])
    assert "Lora hashes" not in params and params["Negative prompt"] == "blurry, <lora:snowfall:1>"
    assert result.warnings == []


def test_lora_tag_changes_the_image_and_is_recorded(manager, settings):
    plain, _ = generate(manager, "a street")
    with_lora, result = generate(manager, "a street <lora:snowfall:0.8>")
    assert np.abs(with_lora - plain).max() > 1
    params = parse_infotext(result.infotexts[0])
    assert params["Prompt"] == "a street <lora:snowfall:0.8>"
    assert params["Lora hashes"] == f"snowfall: {lora_hash(settings.loras_dir / 'snowfall.safetensors')}"


def test_lora_weight_zero_equals_no_lora(manager):
    plain, _ = generate(manager, "a street")
    zero, _ = generate(manager, "a street <lora:snowfall:0>")
    np.testing.assert_allclose(zero, plain, atol=1)


def test_several_loras_at_once(manager):
    snow, _ = generate(manager, "a street <lora:snowfall:0.8>")
    rain, _ = generate(manager, "a street <lora:rain:0.8>")
    both, result = generate(manager, "a street <lora:snowfall:0.8> <lora:rain:0.8>")
    assert np.abs(both - snow).max() > 1 and np.abs(both - rain).max() > 1
    assert parse_infotext(result.infotexts[0])["Lora hashes"].count(":") == 2


def test_unknown_network_type_is_reported_not_dropped_silently(manager):
    _, result = generate(manager, "a street <hypernet:old:1>")
    assert any("<hypernet:old:1>" in w for w in result.warnings)


def test_spec_parameter_block_generates_an_image_whose_infotext_reads_back(manager, settings, tmp_path):
    text = SPEC_BLOCK.format(hash=lora_hash(settings.loras_dir / "snowfall.safetensors"))
    request, notes = request_from_infotext(text, settings)
    assert notes == []
    # A weather-augmentation run: img2img at the block's denoising strength.
    request.mode, request.init_images = "img2img", [Image.new("RGB", (64, 48), (90, 100, 110))]
    result = run(request, manager)
    assert result.images[0].size == (64, 48)
    [path] = save_images(result, tmp_path)
    written = parse_infotext(read_infotext(path))
    original = parse_infotext(text)
    for key, value in original.items():
        if key == "Sampler":
            assert (written["Sampler"], written["Schedule type"]) == split_sampler_name(value)
        elif key not in RUN_KEYS:
            assert written[key] == value, key
    # And the written block builds the same request again.
    again, _ = request_from_infotext(read_infotext(path), settings)
    for name in ("prompt", "negative_prompt", "steps", "sampler", "schedule_type", "cfg_scale", "seed", "width",
                 "height", "denoising_strength", "clip_skip", "model"):
        assert getattr(again, name) == getattr(request, name), name
