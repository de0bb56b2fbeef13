"""The prompt-encoder hook: how :func:`sdaug.engine.run.run` turns prompt text into what the
UNet sees.

``run`` never reads prompt text itself. For every batch (the images with ``seeds``) it asks
``manager.encoder``, an object with these methods (:class:`PromptEncoder`):

0. ``check(request) -> [warning, ...]``, once per run before any model loads: what can be
   told from the text alone (a LoRA without a file: the run goes on without it, as in A1111).
   A bad request raises ``ValueError`` here, before a model is loaded for nothing.
1. ``loras(request, seeds) -> {LoRA file: (text encoder weight, UNet weight)}``: the LoRAs the
   batch's prompts activate. ``run`` passes them to :meth:`PipelineManager.pipeline`, which loads
   and switches them before anything is encoded (LoRAs change the text encoder too).
2. ``encode(pipe, request, seeds) -> Conditioning``, called after the request's scheduler is
   set on ``pipe`` (so ``pipe.scheduler.order`` is known). ``run`` passes
   ``Conditioning.prompt_embeds`` / ``negative_prompt_embeds`` to the pipeline and enters
   ``Conditioning.wrap(pipe)`` around the pipeline call. Inside it the encoder may hook every
   model call, which is how the full prompt language works without ``run`` knowing it:

   a. prompt editing / alternation: a forward pre-hook on ``pipe.unet`` counts the calls and
      replaces ``encoder_hidden_states`` by the embeddings of the current step;
   b. composable diffusion (``a AND b:0.5``): the pre-hook expands the ``[uncond, cond]`` rows
      into ``[uncond, cond_1, cond_2, ...]`` and a forward hook mixes the outputs back into
      ``[uncond, uncond + Σ w_i·(cond_i − uncond)]``, so the pipeline's own CFG step gives
      ``uncond + cfg·Σ w_i·(cond_i − uncond)``. With a ControlNet the same pre-hook goes on
      ``pipe.controlnet``, so each ``cond_i`` gets its own residuals;
   c. caching: the encoder object lives as long as the manager and may cache encodings, keyed
      by the text encoder object and the LoRA set (both change the result).

   ``run`` holds ``manager.lock`` while sampling, so hooks on shared modules are safe; they
   must be removed when the context exits. ``Conditioning.prompts`` / ``negative_prompts`` are
   each image's text as its infotext records it (wildcards resolved, ``<lora:...>`` tags kept),
   ``extra_params`` extra infotext keys, ``warnings`` notes for the user (unknown tags, ...).

:class:`A1111PromptEncoder`, the default, plugs in :mod:`sdaug.engine.conditioning` (wildcards,
extra networks, ``AND``, schedules, emphasis, 75-token chunks, clip skip). Another encoder is
plugged in with ``manager.encoder = MyEncoder()``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from sdaug.engine import conditioning as a1111
from sdaug.engine.prompt_encoder import EmbeddingCache
from sdaug.engine.prompt_encoder import PromptEncoder as TextEncoder
from sdaug.engine.request import GenerationRequest
from sdaug.prompts.compat import OLD_PROMPT_EDITING, PAD_CONDS_KEY, PAD_CONDS_V0
from sdaug.settings import Settings


@dataclass
class Conditioning:
    """What one batch is sampled with: ``(batch, tokens, dim)`` embeddings and the hook context."""

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor
    prompts: list[str]
    negative_prompts: list[str]
    extra_params: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def wrap(self, pipe: Any) -> contextlib.AbstractContextManager[Any]:
        """Context around the pipeline call in which model calls may be hooked (none here)."""
        return contextlib.nullcontext()


class PromptEncoder(Protocol):
    """What ``run`` needs from a prompt encoder (see the module docstring)."""

    def check(self, request: GenerationRequest) -> list[str]:
        """Warnings about the request's prompts, found before any model loads."""
        ...

    def loras(self, request: GenerationRequest, seeds: list[int]) -> dict[Path, tuple[float, float]]:
        """LoRA files and (text encoder, UNet) weights the prompts of the images with ``seeds`` activate."""
        ...

    def encode(self, pipe: Any, request: GenerationRequest, seeds: list[int]) -> Conditioning:
        """Encode the prompts of the images with ``seeds`` (one batch) for ``pipe``."""
        ...


@dataclass
class _HookedConditioning(Conditioning):
    """Conditioning whose steps and ``AND`` parts are applied by hooks on the model calls."""

    hooks: a1111.Conditioning | None = None

    def wrap(self, pipe: Any) -> contextlib.AbstractContextManager[Any]:
        return a1111.apply_conditioning(pipe, self.hooks)


class A1111PromptEncoder:
    """AUTOMATIC1111's prompt language through :mod:`sdaug.engine.conditioning`."""

    def __init__(self, settings: Settings, cache: EmbeddingCache | None = None) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else EmbeddingCache()

    def check(self, request: GenerationRequest) -> list[str]:
        # Without wildcards every image has the same tags: one plan says it all.
        seeds = request.image_seeds()
        varies = "{" in request.prompt or "{" in request.negative_prompt
        plans = a1111.plan_prompts(request.prompt, request.negative_prompt, seeds if varies else seeds[:1])
        _, missing = a1111.find_loras((name for plan in plans for name, _, _ in plan.loras), self.settings)
        return list(dict.fromkeys([w for plan in plans for w in plan.warnings] + missing))

    def loras(self, request: GenerationRequest, seeds: list[int]) -> dict[Path, tuple[float, float]]:
        plans = a1111.plan_prompts(request.prompt, request.negative_prompt, seeds)
        return {path: (te, unet) for path, te, unet in a1111.batch_loras(plans, self.settings)[0]}

    def encode(self, pipe: Any, request: GenerationRequest, seeds: list[int]) -> Conditioning:
        # 1. Wildcards, tags and AND parts per image.
        plans = a1111.plan_prompts(request.prompt, request.negative_prompt, seeds)
        loras, lora_warnings = a1111.batch_loras(plans, self.settings)
        lora_key = tuple(sorted((str(path), te) for path, te, _ in loras))  # the text encoder's part
        # 2. Every schedule entry of every text, weighted and chunked (cached).
        text_encoder = TextEncoder(pipe.tokenizer, pipe.text_encoder, lora_key=lora_key, cache=self.cache)
        from_image = request.mode != "txt2img" and bool(request.init_images)
        strength = request.sampling_strength if from_image else None
        hooks = a1111.encode_conditioning(text_encoder, plans, request.steps, request.sampler, request.clip_skip,
                                          denoising_strength=strength, scheduler_order=pipe.scheduler.order,
                                          old_timelines=OLD_PROMPT_EDITING in request.compat,
                                          pad_v0=PAD_CONDS_V0 in request.compat)
        positive, negative = hooks.initial_embeds()
        device, dtype = pipe._execution_device, pipe.unet.dtype
        warnings = [w for plan in plans for w in plan.warnings] + lora_warnings
        extra = {PAD_CONDS_KEY: "True"} if hooks.padded and not hooks.pad_v0 else {}
        return _HookedConditioning(
            positive.to(device, dtype), negative.to(device, dtype),
            [plan.prompt for plan in plans], [plan.negative_prompt for plan in plans], extra_params=extra,
            warnings=list(dict.fromkeys(warnings)), hooks=hooks,
        )
