"""Seeds like A1111 (issue 13 item 7): GPU / CPU / NV noise sources, the NV numbers bit for bit
against the reference values beside the spec, and the ``RNG`` infotext key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sdaug.engine import noise
from sdaug.engine.infotext_request import request_from_infotext
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.prompts import parse_infotext

# ../shared/spec beside the repository (the worktree layout, and CI's).
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "rng-nv-vectors.json"


def _cases() -> list[dict]:
    if not VECTORS.is_file():
        pytest.skip(f"reference values not found at {VECTORS} (the spec folder ../shared beside the repo)")
    return json.loads(VECTORS.read_text())["cases"]


def test_nv_numbers_equal_the_reference_values_exactly() -> None:
    cases = _cases()
    assert {case["seed"] for case in cases} >= {0, 712934690, 2**32 - 1}
    for case in cases:
        count = int(np.prod(case["shape"]))
        for draw, key in enumerate(("first_draw", "second_draw")):
            expected = np.array(case[key], dtype=np.float32)
            assert np.array_equal(noise.philox_normal(case["seed"], count, draw), expected), (case["seed"], key)


def test_the_spec_quotes_the_first_numbers_of_seed_0() -> None:
    np.testing.assert_array_equal(noise.philox_normal(0, 4),
                                  np.array([-0.9246624, -0.42534396, -2.6438458, 0.14518388], dtype=np.float32))


def test_an_nv_generator_draws_the_next_draw_index_each_time() -> None:
    case = _cases()[0]
    generator = noise.PhiloxGenerator(case["seed"])
    first, second = generator.randn(case["shape"]), generator.randn(case["shape"])
    assert first.shape == tuple(case["shape"]) and first.dtype == torch.float32
    assert np.array_equal(first.flatten().numpy(), np.array(case["first_draw"], dtype=np.float32))
    assert np.array_equal(second.flatten().numpy(), np.array(case["second_draw"], dtype=np.float32))


@pytest.mark.parametrize(
    ("source", "device", "expected"),
    [
        ("", "cuda", "GPU"),  # the default: GPU where there is CUDA
        ("", "cpu", "CPU"),  # and CPU elsewhere
        ("", "mps", "CPU"),
        ("GPU", "cpu", "CPU"),  # A1111 uses the CPU generator without CUDA
        ("GPU", "cuda", "GPU"),
        ("CPU", "cuda", "CPU"),
        ("NV", "cpu", "NV"),
        ("NV", "cuda", "NV"),
    ],
)
def test_effective_source(source: str, device: str, expected: str) -> None:
    assert noise.effective_source(source, device) == expected


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="rng must be one of GPU, CPU, NV"):
        GenerationRequest(rng="cuda").validate()


def _first_unet_input(manager, **fields) -> tuple[torch.Tensor, object]:
    """The latents of the first model call (DDIM: the initial noise itself) and the result."""
    seen: list[torch.Tensor] = []
    values = {"model": "tiny", "prompt": "a street", "steps": 2, "sampler": "DDIM", "width": 64, "height": 64,
              "seed": 712934690, "cfg_scale": 1.0}
    values.update(fields)
    manager.pipeline("txt2img", "tiny")
    handle = manager._base.unet.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    try:
        result = run(GenerationRequest(**values), manager)
    finally:
        handle.remove()
    return seen[0], result


def test_nv_initial_noise_is_the_first_draw_of_each_image_seed(manager) -> None:
    latents, result = _first_unet_input(manager, rng="NV", batch_size=2)
    count = latents[0].numel()
    for row, seed in enumerate((712934690, 712934691)):
        expected = noise.philox_normal(seed, count).reshape(latents.shape[1:])
        assert np.array_equal(latents[row].numpy(), expected)
    assert parse_infotext(result.infotexts[0])["RNG"] == "NV"


def test_cpu_initial_noise_is_torch_randn_of_a_cpu_generator(manager) -> None:
    latents, result = _first_unet_input(manager, rng="CPU")
    expected = torch.randn((1, *latents.shape[1:]), generator=torch.Generator("cpu").manual_seed(712934690))
    assert torch.equal(latents, expected)
    assert parse_infotext(result.infotexts[0])["RNG"] == "CPU"


def test_the_default_on_a_cpu_machine_is_the_cpu_generator_and_says_so(manager) -> None:
    default, result = _first_unet_input(manager)
    cpu, _ = _first_unet_input(manager, rng="CPU")
    assert torch.equal(default, cpu)
    assert parse_infotext(result.infotexts[0])["RNG"] == "CPU"
    assert result.warnings == []


def test_gpu_without_cuda_uses_the_cpu_generator_with_a_warning(manager) -> None:
    gpu, result = _first_unet_input(manager, rng="GPU")
    cpu, _ = _first_unet_input(manager, rng="CPU")
    assert torch.equal(gpu, cpu)
    assert parse_infotext(result.infotexts[0])["RNG"] == "CPU"
    assert any("Choose NV" in warning for warning in result.warnings)


def test_nv_ancestral_sampler_repeats_and_restores_diffusers(manager) -> None:
    import diffusers.schedulers.scheduling_euler_ancestral_discrete as euler_a
    from diffusers.utils.torch_utils import randn_tensor

    def make() -> np.ndarray:
        result = run(GenerationRequest(model="tiny", prompt="a street", steps=3, sampler="Euler a", width=64,
                                       height=64, seed=5, rng="NV"), manager)
        return np.asarray(result.images[0])

    first, again = make(), make()
    assert np.array_equal(first, again)
    assert euler_a.randn_tensor is randn_tensor  # the NV draw is only patched in during the run
    cpu = run(GenerationRequest(model="tiny", prompt="a street", steps=3, sampler="Euler a", width=64, height=64,
                                seed=5, rng="CPU"), manager)
    assert not np.array_equal(first, np.asarray(cpu.images[0]))


@pytest.mark.parametrize(("mode", "sampler"), [("img2img", "Euler a"), ("controlnet", "DPM++ 2M SDE"),
                                               ("controlnet-img2img", "DPM2 a"), ("txt2img", "LCM")])
def test_nv_runs_and_repeats_in_every_mode(manager, mode: str, sampler: str) -> None:
    from PIL import Image

    photo = Image.new("RGB", (64, 64), (120, 80, 40))
    fields = {"mode": mode, "model": "tiny", "prompt": "rain", "steps": 3, "sampler": sampler, "width": 64,
              "height": 64, "seed": 9, "rng": "NV", "denoising_strength": 0.7}
    if mode in ("img2img", "controlnet-img2img"):
        fields["init_images"] = [photo]
    if mode.startswith("controlnet"):
        fields.update(mode="controlnet", control_image=photo)
    first = run(GenerationRequest(**fields), manager)
    again = run(GenerationRequest(**fields), manager)
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
    assert parse_infotext(first.infotexts[0])["RNG"] == "NV"


@pytest.mark.parametrize(("line", "expected"), [("", "GPU"), (", RNG: CPU", "CPU"), (", RNG: NV", "NV")])
def test_the_rng_key_is_read_into_the_request(settings, line: str, expected: str) -> None:
    request, _ = request_from_infotext(f"cat\nSteps: 3, Sampler: Euler, Seed: 1{line}", settings)
    assert request.rng == expected


def test_a_bad_rng_value_names_the_key(settings) -> None:
    with pytest.raises(ValueError, match="RNG must be one of GPU, CPU, NV, got 'TPU'"):
        request_from_infotext("cat\nSteps: 3, Sampler: Euler, RNG: TPU", settings)


def test_an_image_made_with_nv_reproduces_from_its_infotext(manager, settings) -> None:
    fields = {"model": "tiny", "prompt": "a street", "steps": 2, "sampler": "Euler a", "width": 64, "height": 64,
              "seed": 11, "rng": "NV"}
    made = run(GenerationRequest(**fields), manager)
    request, _ = request_from_infotext(made.infotexts[0], settings)
    again = run(request, manager)
    assert np.array_equal(np.asarray(made.images[0]), np.asarray(again.images[0]))
    assert again.infotexts == made.infotexts
