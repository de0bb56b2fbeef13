"""The fast path and the low-VRAM mode on a CUDA GPU (``pytest -m gpu``)."""

import pytest
import torch
from diffusers import StableDiffusionControlNetImg2ImgPipeline
from PIL import Image

from sdaug.bench.models import sd15_random_controlnet, sd15_random_pipeline
from sdaug.engine.fastpath import apply_fast_path, apply_low_vram
from sdaug.engine.tiny import tiny_pipeline
from sdaug.settings import Settings

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
GIB = 1024**3


def _generate(pipe):
    return pipe("snow", num_inference_steps=4, height=64, width=64, output_type="np",
                generator=torch.Generator().manual_seed(0)).images


def test_fast_path_switches_on_compiles_once_and_keeps_the_image() -> None:
    pipe = tiny_pipeline().to("cuda")
    reference = _generate(pipe)
    notes = apply_fast_path(pipe, Settings(compile=True), "cuda")
    assert {"float16 weights", "SDPA attention", "channels-last: unet, vae", "cuDNN autotuner"} <= set(notes)
    assert any(line.startswith("torch.compile: UNet, VAE decoder") for line in notes)
    assert pipe.dtype == torch.float16
    assert abs(_generate(pipe) - reference).mean() < 0.02
    compiled = pipe.unet._compiled_call_impl
    apply_fast_path(pipe, Settings(compile=True), "cuda")
    assert pipe.unet._compiled_call_impl is compiled


def test_fast_path_respects_float32_and_switches_that_are_off() -> None:
    pipe = tiny_pipeline().to("cuda")
    notes = apply_fast_path(pipe, Settings(dtype="float32", channels_last=False), "cuda")
    assert "skipped: half precision (dtype is float32 in Settings)" in notes
    assert "skipped: channels-last (off in Settings)" in notes
    assert pipe.dtype == torch.float32 and pipe.unet._compiled_call_impl is None


def test_low_vram_runs_sd15_controlnet_img2img_at_512_in_4_gib() -> None:
    base = sd15_random_pipeline("cuda", torch.float16)
    pipe = StableDiffusionControlNetImg2ImgPipeline.from_pipe(
        base, controlnet=sd15_random_controlnet("cuda", torch.float16))
    notes = apply_low_vram(pipe, "cuda")
    assert notes[:3] == ["model CPU offload", "VAE tiling", "VAE slicing"]
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    image = Image.new("RGB", (512, 512), (90, 120, 150))
    pipe("snow", image=image, control_image=image, strength=0.35, num_inference_steps=20,
         generator=torch.Generator().manual_seed(0))
    assert torch.cuda.max_memory_allocated() < 4 * GIB
