"""The prompt-encoder hook: how :func:`sdaug.engine.run.run` turns prompt text into embeddings.

``run`` never encodes text itself. For every batch it calls ``manager.encoder.encode(pipe,
request, seeds)`` and gets a :class:`Conditioning` back, which it uses three ways:

1. ``embeddings_at(step)`` gives the ``(positive, negative)`` embeddings for model call ``step``.
   ``run`` asks for the first call before sampling and again after every call (from the
   pipeline's step callback); when the returned tensors are not the same objects as before, the
   new ones are used from the next call on. That is all prompt editing (``[from:to:when]``)
   and alternation (``[a|b]``) need. ``step`` counts model calls from the start of the *full*
   schedule: an img2img run of 20 steps at strength 0.5 asks for steps 10, 11, ... (A1111
   computes schedules on the full step count). Samplers that call the model twice per step
   (:func:`sdaug.engine.samplers.calls_per_step`) count both calls, as A1111's counter does.
   Positive and negative tensors must have the same number of tokens at every step (pad them;
   the pipeline concatenates them for classifier-free guidance).
2. ``wrap(pipe)`` is a context manager entered around sampling. An encoder that needs more than
   one positive embedding per image — composable diffusion, ``a AND b:0.5`` — replaces
   ``pipe.unet.forward`` there (and restores it on exit): the pipeline calls the UNet with the
   batch ``[uncond, cond]``; the wrapper runs the UNet on every ``cond_i`` as well and returns
   ``[uncond, uncond + Σ w_i·(cond_i − uncond)]`` in place of ``cond``, so the pipeline's own CFG
   step gives ``uncond + cfg·Σ w_i·(cond_i − uncond)``. With a ControlNet the pipeline calls
   ``pipe.controlnet`` first with the same ``[uncond, cond]`` embeddings and passes the residuals
   to the UNet; the wrapper either wraps ``pipe.controlnet.forward`` too (exact: one ControlNet
   call per ``cond_i``) or reuses the ``cond`` half's residuals for every ``cond_i``. The run
   holds ``manager.lock`` while sampling, so patching shared modules is safe.
3. ``prompts`` / ``negative_prompts`` / ``extra_params`` are written to each image's infotext:
   the text of each image as A1111 writes it (wildcards resolved, ``<lora:...>`` tags kept) and
   keys such as ``Template``.

Encoders live as long as the manager (``manager.encoder``) and may cache encodings; the manager
calls ``clear_cache()`` whenever the weights change (another model, other LoRAs or weights).
To plug in another encoder: ``manager.encoder = MyEncoder()``, or make it the default in
:class:`sdaug.engine.manager.PipelineManager`.

:class:`PlainPromptEncoder` is the default: ``pipe.encode_prompt`` (CLIP's 77 tokens, the rest
is cut), extra-network tags such as ``<lora:snow:0.8>`` removed, clip skip applied.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from sdaug.engine.request import GenerationRequest

# Extra-network tags, e.g. <lora:name:0.8> (the spec's regex).
NETWORK_TAG = re.compile(r"<(\w+):([^>]+)>")


@dataclass
class Conditioning:
    """Embeddings for one batch: ``(batch, tokens, dim)`` tensors on the pipeline's device."""

    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor
    prompts: list[str]
    negative_prompts: list[str]
    extra_params: dict[str, str] = field(default_factory=dict)

    def embeddings_at(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(positive, negative)`` embeddings for model call ``step``; the same for every step
        here. Subclasses return other tensors where the prompt changes."""
        return self.prompt_embeds, self.negative_prompt_embeds

    def wrap(self, pipe: Any) -> contextlib.AbstractContextManager[None]:
        """Context around sampling in which model calls may be replaced (nothing here)."""
        return contextlib.nullcontext()


class PromptEncoder(Protocol):
    """What ``run`` needs from a prompt encoder (see the module docstring)."""

    def encode(self, pipe: Any, request: GenerationRequest, seeds: list[int]) -> Conditioning:
        """Encode the prompts of the images with ``seeds`` (one batch) for ``pipe``."""
        ...

    def clear_cache(self) -> None:
        """Forget cached encodings (the model's weights changed)."""
        ...


def split_networks(prompt: str) -> tuple[str, dict[str, float]]:
    """Remove extra-network tags from ``prompt``; return the text and the LoRAs they name.

    ``"snow <lora:snowfall:0.8>"`` -> ``("snow ", {"snowfall": 0.8})``. Tags of other network
    types are removed too and raise ``ValueError`` naming them, as sdaug cannot apply them.
    """
    loras: dict[str, float] = {}
    unknown: list[str] = []
    for kind, args in NETWORK_TAG.findall(prompt):
        if kind != "lora":
            unknown.append(f"<{kind}:{args}>")
            continue
        name, _, rest = args.partition(":")
        weight_text = rest.split(":")[0] or "1"
        try:
            loras[name] = float(weight_text)
        except ValueError:
            raise ValueError(f"LoRA tag <lora:{args}> has weight {weight_text!r}; write a number, "
                             f"e.g. <lora:{name}:0.8>") from None
    if unknown:
        raise ValueError(f"sdaug can only apply LoRA tags (<lora:NAME:WEIGHT>); remove {', '.join(unknown)}")
    return NETWORK_TAG.sub("", prompt), loras


class PlainPromptEncoder:
    """``pipe.encode_prompt`` on the prompt without its network tags (77 tokens at most)."""

    def encode(self, pipe: Any, request: GenerationRequest, seeds: list[int]) -> Conditioning:
        layers = pipe.text_encoder.config.num_hidden_layers
        if request.clip_skip > layers:
            raise ValueError(f"clip_skip must be from 1 to {layers} for this model, got {request.clip_skip}")
        n = len(seeds)
        positive_embeds, negative_embeds = pipe.encode_prompt(
            [split_networks(request.prompt)[0]] * n, pipe._execution_device, 1, True,
            [NETWORK_TAG.sub("", request.negative_prompt)] * n, clip_skip=request.clip_skip - 1 or None,
        )
        return Conditioning(positive_embeds, negative_embeds, [request.prompt] * n, [request.negative_prompt] * n)

    def clear_cache(self) -> None:
        """Nothing is cached."""
