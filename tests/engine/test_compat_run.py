"""A1111 compatibility flags applied by the engine (issue 13 item 1): a request built from the
spec's example infotext (A1111 v1.6.0-2) samples on float16-rounded alphas_cumprod; old prompt
editing timelines and "Pad conds v0" change what the model sees."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdaug.engine.conditioning import pad_to_same_length
from sdaug.engine.encoding import A1111PromptEncoder
from sdaug.engine.infotext_request import request_from_infotext
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.prompts import parse_infotext
from tests.spec import SPEC_EXAMPLE

STEPS = 3


def _expected_karras_sigmas(steps: int) -> np.ndarray:
    """Karras sigmas (rho 7) over the noise levels of SD1.5's alphas_cumprod rounded to float16."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2
    rounded = np.cumprod(1 - betas).astype(np.float32).astype(np.float16).astype(np.float64)
    levels = np.sqrt((1 - rounded) / rounded)
    ramp = np.linspace(0, 1, steps)
    low, high = levels[0] ** (1 / 7), levels[-1] ** (1 / 7)
    return (high + ramp * (low - high)) ** 7


def _sigmas_of_run(manager, settings, text: str) -> tuple[np.ndarray, object]:
    request, _ = request_from_infotext(text, settings, model="tiny")
    request.steps, request.width, request.height = STEPS, 64, 48
    result = run(request, manager)
    return manager.pipeline("txt2img", "tiny").scheduler.sigmas[:-1].double().numpy(), result


def test_the_spec_example_samples_on_float16_alphas_cumprod(manager, settings):
    request, _ = request_from_infotext(SPEC_EXAMPLE, settings, model="tiny")
    assert request.compat == ["Downcast alphas_cumprod"]
    sigmas, result = _sigmas_of_run(manager, settings, SPEC_EXAMPLE)
    np.testing.assert_allclose(sigmas, _expected_karras_sigmas(STEPS), rtol=2e-5)
    params = parse_infotext(result.infotexts[0])
    assert params["Downcast alphas_cumprod"] == "True"  # written, so the image reproduces
    assert any("'snowfall' not found" in w for w in result.warnings)  # and the missing LoRA did not stop it

    recent, _ = _sigmas_of_run(manager, settings, SPEC_EXAMPLE.replace("v1.6.0-2-g4afaaf8a", "v1.10.1"))
    assert abs(recent[-1] / _expected_karras_sigmas(STEPS)[-1] - 1) > 0.01


def _hooks(pipe, settings, **fields):
    from sdaug.engine.samplers import make_scheduler

    request = GenerationRequest(model="tiny", steps=10, sampler="Euler", **fields)
    pipe.scheduler = make_scheduler("Euler", "Automatic", dict(pipe.scheduler.config))
    return A1111PromptEncoder(settings).encode(pipe, request, [1])


def test_old_prompt_editing_timelines_flag_reaches_the_schedule(pipe, settings):
    new = _hooks(pipe, settings, prompt="[cat:dog:1.0]")
    old = _hooks(pipe, settings, prompt="[cat:dog:1.0]", compat=["Old prompt editing timelines"])
    assert new.hooks.images[0].parts[0][1].ends == [10]
    assert old.hooks.images[0].parts[0][1].ends == [1, 10]


def test_pad_conds_v0_repeats_the_negative_prompts_last_vector(pipe, settings):
    long_prompt = " ".join(["street"] * 100)
    padded = _hooks(pipe, settings, prompt=long_prompt, negative_prompt="rain")
    v0 = _hooks(pipe, settings, prompt=long_prompt, negative_prompt="rain", compat=["Pad conds v0"])
    assert padded.negative_prompt_embeds.shape == v0.negative_prompt_embeds.shape == v0.prompt_embeds.shape
    negative = v0.negative_prompt_embeds
    torch.testing.assert_close(negative[:, :77], padded.negative_prompt_embeds[:, :77])
    torch.testing.assert_close(negative[:, 77:], negative[:, 76:77].expand(-1, negative.shape[1] - 77, -1))
    assert not torch.equal(negative, padded.negative_prompt_embeds)  # the default pads with empty chunks


def test_pad_conds_v0_cuts_a_longer_negative_prompt(pipe, settings):
    v0 = _hooks(pipe, settings, prompt="street", negative_prompt=" ".join(["rain"] * 100), compat=["Pad conds v0"])
    assert v0.prompt_embeds.shape == v0.negative_prompt_embeds.shape == (1, 77, 32)


@pytest.mark.parametrize(("lengths", "uncond", "expected"), [((2, 1), [1], 2), ((1, 3), [1], 1), ((1, 2), [], 2)])
def test_pad_to_same_length_v0(lengths, uncond, expected):
    rows = [torch.arange(n * 2, dtype=torch.float32).reshape(1, n, 2) for n in lengths]
    padded = pad_to_same_length(rows, torch.zeros(1, 1, 2), uncond_rows=uncond, v0=True)
    assert padded.shape == (len(rows), expected, 2)
    for row, original in zip(padded, rows, strict=True):
        kept = min(expected, original.shape[1])
        torch.testing.assert_close(row[:kept], original[0, :kept])
        torch.testing.assert_close(row[kept:], original[0, -1:].expand(expected - kept, -1))


@pytest.mark.parametrize(
    ("prompt", "compat", "pad_conds", "pad_v0"),
    [
        ("street", [], None, None),  # one chunk each: nothing padded
        (" ".join(["street"] * 100), [], "True", None),  # padded with empty chunks: A1111's "Pad conds"
        (" ".join(["street"] * 100), ["Pad conds v0"], None, "True"),
    ],
)
def test_padding_is_written_as_a1111_writes_it(manager, settings, prompt, compat, pad_conds, pad_v0):
    request = GenerationRequest(model="tiny", prompt=prompt, negative_prompt="rain", steps=2, sampler="Euler",
                                width=64, height=64, seed=1, compat=compat)
    params = parse_infotext(run(request, manager).infotexts[0])
    assert (params.get("Pad conds"), params.get("Pad conds v0")) == (pad_conds, pad_v0)
    again, _ = request_from_infotext(run(request, manager).infotexts[0], settings)
    assert "Pad conds" not in again.extra_params  # what sdaug always does: not kept as an unknown key
