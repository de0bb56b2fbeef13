"""The GPU fast path for batch jobs, the low-VRAM mode, and LoRAs baked into the weights.

:func:`apply_fast_path` switches on, for a pipeline already on a CUDA device, what makes
Stable Diffusion fast there: half precision, SDPA (or xformers) attention, channels-last
convolutions, the cuDNN autotuner, VAE decode of a whole batch at once (one image at a time
when memory is short) and, when Settings ask for it, ``torch.compile`` of the UNet and the VAE
decoder. :func:`apply_low_vram` trades speed for memory instead: model CPU offload, VAE tiling
and slicing (SD1.5 at 512x512 with a ControlNet stays under 4 GB). On any other device both are
no-ops that say what they skipped.

Compiled models are built so that a job never waits for a recompile when the LoRA or the
ControlNet changes:

- the ControlNet is not compiled; it hands the UNet its residuals as ordinary tensor inputs, so
  the UNet compiles once with residuals and once without, whichever ControlNet produced them;
- LoRAs are fused into the weights in place by :func:`bake_loras` (and the previous LoRAs'
  weights restored in place first), so the compiled UNet sees the same modules and the same
  parameter tensors, only new values. diffusers' own answer, ``enable_lora_hotswap`` plus
  ``load_lora_weights(..., hotswap=True)``, needs every later LoRA to target the same layers as
  the first and cannot swap text-encoder LoRAs; baking has neither limit and, once baked, a LoRA
  costs nothing per step. This is written here rather than taken from diffusers because diffusers
  has no "restore the weights a fused LoRA changed" operation after ``unload_lora_weights``.

Each function returns one line per switch: the switches it turned on, and ``"skipped: ..."``
lines saying what it did not turn on and why. The pipeline manager shows them in its memory
report.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

# torch.compile settings. No CUDA graphs: LoRA baking writes new weight values in place and the
# scheduler keeps earlier UNet outputs, both of which CUDA graphs' static buffers would break.
# dynamic=False: a job runs one batch size, so each batch size gets its own specialised kernels.
COMPILE_OPTIONS: dict[str, Any] = {"mode": "max-autotune-no-cudagraphs", "fullgraph": False, "dynamic": False}
# Batch sizes x CFG on/off x ControlNet on/off, each a separate static graph.
RECOMPILE_LIMIT = 64
# Inductor settings from the diffusers "accelerate inference" guide for SD UNets.
INDUCTOR_CONFIG = {
    "conv_1x1_as_mm": True,
    "coordinate_descent_tuning": True,
    "coordinate_descent_check_all_directions": True,
    "epilogue_fusion": False,
}
# Estimated peak memory of a half-precision SD VAE decode per output pixel (about 0.75 GiB for
# one 512x512 image); below room for DECODE_BATCH such images, decode one image at a time.
VAE_DECODE_BYTES_PER_PIXEL = 3072
DECODE_BATCH = 8
DECODE_PIXELS = 512 * 512

_CONV_COMPONENTS = ("unet", "vae", "controlnet")
_LORA_COMPONENTS = ("unet", "text_encoder")
_BAKED_ATTR = "_sdaug_baked_originals"


def apply_fast_path(pipe: Any, settings: Any, device: str | torch.device) -> list[str]:
    """Switch on the fast path for ``pipe`` (already moved to ``device``) as ``settings`` ask.

    Safe to call again on the same pipeline or on one derived from it with ``from_pipe``: what is
    already on stays on and nothing is compiled twice.
    """
    device = torch.device(device)
    # 1. Only CUDA gains from these switches; elsewhere change nothing.
    if device.type != "cuda":
        skipped = [f"skipped: {name} (needs a CUDA GPU, device is {device.type})" for name in _requested(settings)]
        logger.info("fast path off: %s", "; ".join(skipped))
        return skipped
    # 2. Precision, attention, memory layout, cuDNN autotuner.
    notes = _half_precision(pipe, settings.dtype)
    notes += _attention(pipe, settings.attention, settings.attention_slicing)
    notes += set_channels_last(pipe) if settings.channels_last else ["skipped: channels-last (off in Settings)"]
    torch.backends.cudnn.benchmark = True
    notes.append("cuDNN autotuner")
    # 3. VAE decode: the whole batch at once unless memory is short.
    notes += _vae_decode(pipe, settings.vae_tiling, device)
    # 4. Compile last, once everything that changes the modules is done.
    notes += compile_pipeline(pipe) if settings.compile else ["skipped: torch.compile (off in Settings)"]
    logger.info("fast path: %s", "; ".join(notes))
    return notes


def apply_low_vram(pipe: Any, device: str | torch.device | None = None) -> list[str]:
    """Fit ``pipe`` in a small GPU: model CPU offload, VAE tiling and slicing.

    Call it instead of moving the pipeline to the GPU (``pipe`` stays on the CPU; each model
    moves to ``device`` while it runs). ``device`` defaults to the first CUDA GPU. Attention
    slicing is not switched on: diffusers' SDPA attention already avoids the large attention
    matrix, and slicing would replace it with a slower kernel that saves nothing.
    """
    device = torch.device(device) if device is not None else torch.device("cuda")
    if device.type != "cuda" or not torch.cuda.is_available():
        skipped = [f"skipped: {name} (needs a CUDA GPU, device is {device.type})"
                   for name in ("model CPU offload", "VAE tiling", "VAE slicing")]
        logger.info("low-VRAM mode off: %s", "; ".join(skipped))
        return skipped
    pipe.enable_model_cpu_offload(device=device)
    pipe.vae.enable_tiling()
    pipe.vae.enable_slicing()
    notes = ["model CPU offload", "VAE tiling", "VAE slicing",
             "skipped: attention slicing (SDPA attention already uses little memory)"]
    logger.info("low-VRAM mode: %s", "; ".join(notes))
    return notes


def set_channels_last(pipe: Any) -> list[str]:
    """Store the UNet, VAE and ControlNet weights channels-last (faster convolutions on GPUs)."""
    names = [name for name in _CONV_COMPONENTS if isinstance(getattr(pipe, name, None), torch.nn.Module)]
    for name in names:
        getattr(pipe, name).to(memory_format=torch.channels_last)
    return [f"channels-last: {', '.join(names)}"]


def compile_pipeline(pipe: Any, **compile_options: Any) -> list[str]:
    """``torch.compile`` the UNet and the VAE decoder in place (once; later calls do nothing).

    ``compile_options`` replace :data:`COMPILE_OPTIONS` (tests pass a counting ``backend``).
    The ControlNet stays eager so that changing it never recompiles; see the module docstring.
    """
    options = compile_options or COMPILE_OPTIONS
    if options.get("backend", "inductor") == "inductor":
        import torch._inductor.config as inductor_config

        for key, value in INDUCTOR_CONFIG.items():
            setattr(inductor_config, key, value)
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    compiled = []
    for label, module in (("UNet", pipe.unet), ("VAE decoder", pipe.vae.decoder)):
        if getattr(module, "_compiled_call_impl", None) is None:
            # Frozen now, as peft leaves base weights after a LoRA, so no guard sees a change.
            module.requires_grad_(False)
            module.compile(**options)
        compiled.append(label)
    described = ", ".join(f"{k}={v}" for k, v in options.items() if k != "backend")
    return [f"torch.compile: {', '.join(compiled)} ({described or options.get('backend')})"]


def bake_loras(pipe: Any, loras: Sequence[tuple[str | Path, float | tuple[float, float]]]) -> list[str]:
    """Fuse ``loras`` ((file, weight) pairs) into the UNet and text encoder weights in place.

    A weight is one number for both, or a (text encoder, UNet) pair as A1111 tags give them.

    The weights a previous call changed are restored first, so calling it with each preset's
    LoRAs (or with none) always gives the base model plus exactly those LoRAs. The modules and
    parameter tensors stay the same objects, so a compiled UNet does not recompile.
    """
    # 1. Check the files before touching the weights.
    for path, weight in loras:
        if not Path(path).is_file():
            raise ValueError(f"LoRA file not found: {path}")
        parts = weight if isinstance(weight, tuple) else (weight,)
        if not all(isinstance(part, int | float) and not isinstance(part, bool) for part in parts):
            raise ValueError(f"LoRA weight must be a number, got {weight!r} for {path}")
    # 2. Back to the base weights.
    restore_baked_weights(pipe)
    if not loras:
        return ["LoRA: none"]
    # 3. Load every LoRA as a peft adapter, remember the weights it touches, fuse, unload.
    names = [f"sdaug_bake_{i}" for i in range(len(loras))]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Already found a `peft_config`")  # several LoRAs: meant
        for name, (path, _) in zip(names, loras, strict=True):
            pipe.load_lora_weights(str(Path(path).parent), weight_name=Path(path).name, adapter_name=name)
    pipe.set_adapters(names, adapter_weights=[adapter_weight(weight) for _, weight in loras])
    for component in _lora_components(pipe):
        setattr(component, _BAKED_ATTR, _touched_weights(component))
    pipe.fuse_lora(components=[n for n in _LORA_COMPONENTS if getattr(pipe, n, None) is not None],
                   adapter_names=names)
    pipe.unload_lora_weights()
    return [f"LoRA baked: {Path(path).stem} x{adapter_weight(weight)}" for path, weight in loras]


def adapter_weight(weight: float | tuple[float, float]) -> float | dict[str, float]:
    """A LoRA weight for peft's ``set_adapters``: one number for every component, or A1111's
    (text encoder, UNet) pair as a weight per component."""
    if isinstance(weight, tuple):
        return {"text_encoder": float(weight[0]), "unet": float(weight[1])}
    return float(weight)


def restore_baked_weights(pipe: Any) -> None:
    """Put back the weights :func:`bake_loras` changed (in place); nothing if none are baked."""
    with torch.no_grad():
        for component in _lora_components(pipe):
            for param, original in getattr(component, _BAKED_ATTR, ()):
                param.copy_(original)
            setattr(component, _BAKED_ATTR, [])


def _lora_components(pipe: Any) -> list[torch.nn.Module]:
    return [m for m in (getattr(pipe, n, None) for n in _LORA_COMPONENTS) if isinstance(m, torch.nn.Module)]


def _touched_weights(module: torch.nn.Module) -> list[tuple[torch.nn.Parameter, torch.Tensor]]:
    """(parameter, CPU copy) for every base-layer parameter under a peft LoRA layer."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    saved = []
    for layer in module.modules():
        if isinstance(layer, BaseTunerLayer):
            for param in layer.get_base_layer().parameters(recurse=False):
                saved.append((param, param.detach().to("cpu", copy=True)))
    return saved


def _requested(settings: Any) -> list[str]:
    """Names of the switches ``settings`` turn on (for the 'skipped' report)."""
    names = ["half precision", f"{'SDPA' if settings.attention == 'auto' else settings.attention} attention",
             "cuDNN autotuner", "batched VAE decode"]
    flags = (("channels-last", settings.channels_last), ("torch.compile", settings.compile),
             ("VAE tiling", settings.vae_tiling), ("attention slicing", settings.attention_slicing))
    return names + [name for name, on in flags if on]


def _half_precision(pipe: Any, dtype_setting: str) -> list[str]:
    if dtype_setting == "float32":
        return ["skipped: half precision (dtype is float32 in Settings)"]
    if pipe.dtype == torch.float32:
        pipe.to(dtype=torch.bfloat16 if dtype_setting == "bfloat16" else torch.float16)
    return [f"{str(pipe.dtype).removeprefix('torch.')} weights"]


def _attention(pipe: Any, attention: str, slicing: bool) -> list[str]:
    if slicing:
        pipe.enable_attention_slicing()
        return ["attention slicing (slower; switch it off in Settings unless memory is short)"]
    if attention == "xformers":
        try:
            import xformers  # noqa: F401
        except ImportError:
            return ["skipped: xformers attention (xformers is not installed); SDPA attention"]
        pipe.enable_xformers_memory_efficient_attention()
        return ["xformers attention"]
    from diffusers.models.attention_processor import AttnProcessor2_0

    for name in _CONV_COMPONENTS:
        module = getattr(pipe, name, None)
        if hasattr(module, "attn_processors") and not all(
            isinstance(p, AttnProcessor2_0) for p in module.attn_processors.values()
        ):
            module.set_attn_processor(AttnProcessor2_0())
    return ["SDPA attention"]


def _vae_decode(pipe: Any, tiling: bool, device: torch.device) -> list[str]:
    notes = []
    if tiling:
        pipe.vae.enable_tiling()
        notes.append("VAE tiling")
    free_bytes, _ = torch.cuda.mem_get_info(device)
    if free_bytes < DECODE_BATCH * DECODE_PIXELS * VAE_DECODE_BYTES_PER_PIXEL:
        pipe.vae.enable_slicing()
        notes.append(f"VAE decode one image at a time ({free_bytes / 2**30:.1f} GiB free)")
    else:
        pipe.vae.disable_slicing()
        notes.append("VAE decode batched")
    return notes
