"""Random-weight SD1.5-size models for the benchmark, and their compute cost in FLOPs.

``sd15-random`` is Stable Diffusion 1.5's architecture (UNet 860M, VAE 84M, CLIP text encoder
123M parameters; ControlNet 361M) built from the configs in ``sdaug/assets/sd15/`` with random
weights: no weights are downloaded, and the time a model takes does not depend on its weight
values. The tokenizer is the tiny model's small CLIP tokenizer (prompts always pad to 77
tokens, so the text encoder's cost is SD1.5's).

FLOPs are counted with ``torch.utils.flop_counter`` on copies of the models built on the
``meta`` device (no memory, no compute), so the compute floor follows whatever architecture
is benchmarked. For SD1.5 at 512x512 they give UNet 0.80, ControlNet 0.28, VAE decoder 2.51
and VAE encoder 1.12 TFLOP per image.

torch, diffusers and transformers are imported inside the functions (only ``sdaug/engine/``
imports torch at module level).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sdaug.bench.report import FlopCounts
from sdaug.resources import package_path

if TYPE_CHECKING:
    import torch
    from diffusers import ControlNetModel, StableDiffusionPipeline, UNet2DConditionModel

SD15_CONFIGS = package_path("assets", "sd15")
TEXT_TOKENS = 77


def load_config(component: str) -> dict[str, Any]:
    """The SD1.5 config of ``component`` (unet, vae, text_encoder, controlnet or scheduler)."""
    name = "scheduler_config.json" if component == "scheduler" else "config.json"
    path = SD15_CONFIGS / component / name
    if not path.is_file():
        raise ValueError(f"SD1.5 config not found: {path} (is the assets/ folder of sdaug there?)")
    return json.loads(path.read_text(encoding="utf-8"))


def sd15_random_pipeline(device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                         seed: int = 0) -> StableDiffusionPipeline:
    """A txt2img pipeline of SD1.5's size with random weights (same weights for the same seed;
    ``dtype`` float32 unless given)."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from sdaug.engine.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    text_config = CLIPTextConfig.from_dict(load_config("text_encoder"))
    text_config.bos_token_id, text_config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    text_config.pad_token_id = tokenizer.pad_token_id
    return StableDiffusionPipeline(
        vae=_build(lambda: AutoencoderKL.from_config(load_config("vae")), device, dtype, seed + 1),
        text_encoder=_build(lambda: CLIPTextModel(text_config), device, dtype, seed + 2),
        tokenizer=tokenizer,
        unet=_build(lambda: UNet2DConditionModel.from_config(load_config("unet")), device, dtype, seed),
        scheduler=PNDMScheduler.from_config(load_config("scheduler")),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def sd15_random_controlnet(device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                           seed: int = 0) -> ControlNetModel:
    """An SD1.5 ControlNet (canny-style config) with random weights."""
    from diffusers import ControlNetModel

    return _build(lambda: ControlNetModel.from_config(load_config("controlnet")), device, dtype, seed + 3)


def controlnet_for(unet: UNet2DConditionModel) -> ControlNetModel:
    """A random-weight ControlNet shaped for ``unet`` (any SD1.x-style model), on its device."""
    from diffusers import ControlNetModel

    return ControlNetModel.from_unet(unet, load_weights_from_unet=False).to(unet.device, unet.dtype).eval()


def parameter_counts(pipe: StableDiffusionPipeline, controlnet: torch.nn.Module | None = None) -> dict[str, int]:
    """Parameters per component: unet, vae, text_encoder and (if given) controlnet."""
    parts = {"unet": pipe.unet, "vae": pipe.vae, "text_encoder": pipe.text_encoder, "controlnet": controlnet}
    return {name: sum(p.numel() for p in m.parameters()) for name, m in parts.items() if m is not None}


def count_flops(unet_config: dict[str, Any], vae_config: dict[str, Any], text_config: dict[str, Any],
                size: int, controlnet_config: dict[str, Any] | None = None) -> FlopCounts:
    """FLOPs per image at ``size`` x ``size`` of each model, counted on the meta device.

    Without ``controlnet_config``, the ControlNet counted is the one ``ControlNetModel.from_unet``
    derives from the UNet (for SD1.5, the architecture of ``sdaug/assets/sd15/controlnet``).
    """
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    if size % 8:
        raise ValueError(f"size must be a multiple of 8, got {size}")
    with torch.device("meta"), torch.no_grad():
        # 1. Build the models; nothing is allocated on the meta device.
        unet = UNet2DConditionModel.from_config(unet_config)
        vae = AutoencoderKL.from_config(vae_config)
        controlnet = (ControlNetModel.from_config(controlnet_config) if controlnet_config
                      else ControlNetModel.from_unet(unet, load_weights_from_unet=False))
        text_encoder = CLIPTextModel(CLIPTextConfig.from_dict(text_config))
        # 2. Inputs of one image.
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        image = torch.empty(1, 3, size, size)
        latents = torch.empty(1, unet.config.in_channels, size // scale, size // scale)
        text = torch.empty(1, TEXT_TOKENS, unet.config.cross_attention_dim)
        timestep = torch.tensor(500)
        # 3. Count each forward pass.
        counts = {
            "unet": _flops(lambda: unet(latents, timestep, text)),
            "controlnet": _flops(lambda: controlnet(latents, timestep, text, controlnet_cond=image)),
            "vae_decode": _flops(lambda: vae.decode(latents)),
            "vae_encode": _flops(lambda: vae.encode(image)),
            "text_encoder": _flops(lambda: text_encoder(torch.zeros(1, TEXT_TOKENS, dtype=torch.long))),
        }
    return FlopCounts(size=size, **counts)


def pipeline_flops(pipe: StableDiffusionPipeline, size: int, controlnet: ControlNetModel | None = None) -> FlopCounts:
    """:func:`count_flops` for the architecture of ``pipe`` (and of ``controlnet`` if given)."""
    return count_flops(dict(pipe.unet.config), dict(pipe.vae.config), pipe.text_encoder.config.to_dict(), size,
                       dict(controlnet.config) if controlnet is not None else None)


def _flops(forward: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        forward()
    return float(counter.get_total_flops())


def _build(make: Any, device: str | torch.device, dtype: torch.dtype | None, seed: int) -> Any:
    """Build a model with its default initialisation directly on ``device`` (fast on a GPU)."""
    import torch

    from sdaug.engine.manager import quiet_dtype_casts

    device = torch.device(device)
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        with torch.device(device):
            model = make()
    if dtype not in (None, torch.float32):
        with quiet_dtype_casts():
            model = model.to(dtype=dtype)
    return model.eval()
