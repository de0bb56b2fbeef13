"""The engine on a CUDA GPU with the tiny model: half precision, the memory modes, LoRA baking.

Marked ``gpu`` (not in the default run) and skipped without CUDA.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def tiny_request(**fields: object):
    from sdaug.engine.request import GenerationRequest

    values: dict[str, object] = {"model": "tiny", "prompt": "a snowy street", "steps": 4, "width": 64,
                                 "height": 64, "seed": 7, "batch_size": 2}
    values.update(fields)
    return GenerationRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("memory_mode", ["full", "model-offload", "sequential-offload"])
def test_every_memory_mode_generates(settings, memory_mode: str) -> None:
    from sdaug.engine.manager import PipelineManager
    from sdaug.engine.run import run

    manager = PipelineManager(dataclasses.replace(settings, device="auto", memory_mode=memory_mode))
    assert manager.device == "cuda" and manager.dtype == torch.float16
    result = run(tiny_request(), manager)
    assert [image.size for image in result.images] == [(64, 64)] * 2
    assert np.asarray(result.images[0]).std() > 1
    assert f"memory mode {memory_mode}" in manager.memory_report()
    again = run(tiny_request(), manager)
    assert np.array_equal(np.asarray(result.images[0]), np.asarray(again.images[0]))


def test_controlnet_img2img_on_the_gpu(settings) -> None:
    from PIL import Image

    from sdaug.engine.manager import PipelineManager
    from sdaug.engine.run import run

    manager = PipelineManager(dataclasses.replace(settings, device="auto"))
    photo = Image.effect_noise((64, 64), 60).convert("RGB")
    result = run(tiny_request(mode="controlnet", init_images=[photo], width=60, height=44), manager)
    assert [image.size for image in result.images] == [(60, 44)] * 2


def test_the_gpu_rng_source_draws_on_the_cuda_generator(settings) -> None:
    """Issue 13 item 7: the default source on CUDA is A1111's GPU one, written as no RNG key."""
    from sdaug.engine.manager import PipelineManager
    from sdaug.engine.run import run
    from sdaug.prompts import parse_infotext

    manager = PipelineManager(dataclasses.replace(settings, device="auto", dtype="float32"))
    seen: list = []
    manager.pipeline("txt2img", "tiny")
    handle = manager._base.unet.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    try:
        result = run(tiny_request(sampler="DDIM", cfg_scale=1.0, batch_size=1), manager)
    finally:
        handle.remove()
    expected = torch.randn((1, *seen[0].shape[1:]), generator=torch.Generator("cuda").manual_seed(7), device="cuda")
    assert torch.equal(seen[0], expected)
    assert "RNG" not in parse_infotext(result.infotexts[0])
