"""run() against the stock diffusers pipelines, pixel for pixel.

The expected images come from diffusers' own ``StableDiffusionPipeline``,
``StableDiffusionImg2ImgPipeline`` and ``StableDiffusionControlNetImg2ImgPipeline``, built here
from the same tiny weights (:mod:`sdaug.engine.tiny`, fresh copies: nothing is shared with the
manager's pipelines), given a plain prompt (no emphasis, so A1111's weighting is neutral and
the stock text encoding is the reference), the same scheduler built from the same config, and
one CPU generator per image seeded ``seed + i``. sdaug decodes the latents itself; the stock
pipelines decode their own, so a lost VAE scaling factor, a CFG scale that does not reach the
sampler, a strength or ControlNet weight that is dropped, or images paired with the wrong
seeds or input photos show as different pixels.

Tolerance: at most 1 of 255 per channel (float rounding at the uint8 boundary).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest
import torch
from diffusers import StableDiffusionControlNetImg2ImgPipeline, StableDiffusionImg2ImgPipeline
from PIL import Image

from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.engine.samplers import make_scheduler
from sdaug.engine.tiny import tiny_controlnet, tiny_pipeline
from sdaug.settings import Settings

SIZE = 64
STEPS = 3
SEED = 21
PROMPT = "a photo of a snowy street at night, street lamps"
NEGATIVE = "blurry, low quality"
# Sampler name -> the diffusers scheduler class it must be (the mapping is tested in test_samplers).
SAMPLERS = {"Euler": "EulerDiscreteScheduler", "DDIM": "DDIMScheduler", "DPM++ 2M": "DPMSolverMultistepScheduler",
            "Euler a": "EulerAncestralDiscreteScheduler"}
CFG_SCALES = (1.0, 6.0)
STRENGTHS = (0.5, 0.8)
BATCHES = (1, 3)
CANNY_LOW, CANNY_HIGH = 100, 200  # A1111's canny defaults


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> object:
    from sdaug.engine.manager import PipelineManager

    return PipelineManager(Settings(home=tmp_path_factory.mktemp("home"), device="cpu"))


@pytest.fixture(scope="module")
def stock() -> dict[str, object]:
    """The stock pipelines on their own copy of the tiny weights, and the model's scheduler config."""
    txt2img = tiny_pipeline()
    config = dict(txt2img.scheduler.config)
    img2img = StableDiffusionImg2ImgPipeline(**txt2img.components, requires_safety_checker=False)
    controlnet = StableDiffusionControlNetImg2ImgPipeline(**txt2img.components, controlnet=tiny_controlnet(),
                                                          requires_safety_checker=False)
    for pipe in (txt2img, img2img, controlnet):
        pipe.set_progress_bar_config(disable=True)
    return {"txt2img": txt2img, "img2img": img2img, "controlnet": controlnet, "config": config}


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    """Three different photos with edges (smooth noise upscaled, so canny finds contours)."""
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((SIZE, SIZE),
                                                                                      Image.Resampling.BICUBIC)
            for _ in range(3)]


def stock_images(stock, mode: str, sampler: str, batch: int, cfg: float, **inputs: object) -> list[Image.Image]:
    pipe, seeds = stock[mode], [SEED + i for i in range(batch)]
    pipe.scheduler = make_scheduler(sampler, "Automatic", stock["config"], seeds=seeds)
    assert type(pipe.scheduler).__name__ == SAMPLERS[sampler]
    return pipe(prompt=[PROMPT] * batch, negative_prompt=[NEGATIVE] * batch, num_inference_steps=STEPS,
                guidance_scale=cfg, generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
                **inputs).images


def sdaug_images(manager, sampler: str, batch: int, cfg: float, **fields: object) -> list[Image.Image]:
    request = GenerationRequest(model="tiny", prompt=PROMPT, negative_prompt=NEGATIVE, steps=STEPS, sampler=sampler,
                                cfg_scale=cfg, seed=SEED, width=SIZE, height=SIZE, batch_size=batch, **fields)
    return run(request, manager).images


def assert_same_pixels(ours: Sequence[Image.Image], expected: Sequence[Image.Image]) -> None:
    assert len(ours) == len(expected)
    for index, (a, b) in enumerate(zip(ours, expected, strict=True)):
        a_pixels, b_pixels = np.asarray(a, dtype=np.int16), np.asarray(b, dtype=np.int16)
        assert a_pixels.shape == b_pixels.shape == (SIZE, SIZE, 3)
        assert b_pixels.std() > 5, "the reference image is flat: the comparison would prove nothing"
        difference = int(np.abs(a_pixels - b_pixels).max())
        assert difference <= 1, f"image {index}: max abs difference {difference} (of 255)"


def canny(image: Image.Image) -> Image.Image:
    edges = cv2.Canny(np.asarray(image.convert("RGB")), CANNY_LOW, CANNY_HIGH)
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("cfg", CFG_SCALES)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_txt2img_matches_stock_pipeline(manager, stock, sampler: str, cfg: float, batch: int) -> None:
    expected = stock_images(stock, "txt2img", sampler, batch, cfg, width=SIZE, height=SIZE)
    ours = sdaug_images(manager, sampler, batch, cfg, mode="txt2img")
    assert_same_pixels(ours, expected)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("strength", STRENGTHS)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_img2img_matches_stock_pipeline(manager, stock, photos, sampler: str, strength: float, batch: int) -> None:
    cfg = CFG_SCALES[batch == 1]  # both CFG scales, without doubling the test count
    inputs = photos[:batch]
    expected = stock_images(stock, "img2img", sampler, batch, cfg, image=inputs, strength=strength)
    ours = sdaug_images(manager, sampler, batch, cfg, mode="img2img", init_images=inputs,
                        denoising_strength=strength)
    assert_same_pixels(ours, expected)


# (strength, CFG, batch, control type, weight, guidance start, guidance end)
CONTROLNET_CASES = [
    pytest.param(0.5, 1.0, 1, "none", 0.7, 0.0, 1.0, id="none-w0.7-cfg1-batch1"),
    pytest.param(0.8, 6.0, 3, "canny", 1.0, 0.25, 0.75, id="canny-w1-cfg6-batch3"),
]


@pytest.mark.parametrize(("strength", "cfg", "batch", "control_type", "weight", "start", "end"), CONTROLNET_CASES)
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_controlnet_img2img_matches_stock_pipeline(manager, stock, photos, sampler: str, strength: float,
                                                   cfg: float, batch: int, control_type: str, weight: float,
                                                   start: float, end: float) -> None:
    inputs = photos[:batch]
    if control_type == "none":  # the given control image is used as it is
        control = photos[2]
        fields: dict[str, object] = {"control_image": control}
        controls = [control] * batch
    else:  # canny edges of each input photo
        fields = {}
        controls = [canny(photo) for photo in inputs]
    expected = stock_images(stock, "controlnet", sampler, batch, cfg, image=inputs, control_image=controls,
                            strength=strength, controlnet_conditioning_scale=weight, control_guidance_start=start,
                            control_guidance_end=end)
    ours = sdaug_images(manager, sampler, batch, cfg, mode="controlnet", init_images=inputs,
                        denoising_strength=strength, control_type=control_type, control_weight=weight,
                        control_start=start, control_end=end, **fields)
    assert_same_pixels(ours, expected)
