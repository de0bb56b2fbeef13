"""Prompt conditioning of a run: per-image prompts, schedules over the steps, ``AND`` parts.

The order of processing is the spec's (``spec/prompt-syntax.md`` § "Order of processing"):

1. :func:`plan_prompts` (no torch): ``{a|b}`` wildcards with each image's seed, extra-network
   tags removed from the prompt (``<lora:...>`` / ``<lyco:...>`` collected with their text
   encoder and UNet weights; other types are reported in ``warnings``), ``AND`` split with
   weights. The negative prompt only gets its wildcards: as in A1111 its ``<...>`` tags stay in
   the text (CLIP encodes them as words) and activate nothing.
   :func:`batch_loras` turns the LoRA tags of a batch into the set to activate through
   :class:`~sdaug.engine.manager.PipelineManager`; a LoRA that has no file is left out with a
   warning, and the run goes on (as in A1111).
2. :func:`encode_conditioning`: prompt editing / alternation (:func:`sdaug.prompts.schedules`)
   of every part, each text encoded with :class:`~sdaug.engine.prompt_encoder.PromptEncoder`
   (weights, 75-token chunks, clip skip, cached).
3. :func:`apply_conditioning` (context manager around the pipeline call): forward hooks on the
   UNet (and ControlNet) give each model call the embeddings its step asks for, and combine the
   ``AND`` parts as composable diffusion, ``denoised = uncond + sum_i w_i * cfg * (cond_i -
   uncond)``: the hook returns ``uncond + sum_i w_i * (cond_i - uncond)`` as the "text" half and
   the pipeline's own guidance step multiplies by cfg. Without guidance (cfg <= 1) the result is
   ``uncond + sum_i w_i * (cond_i - uncond)``, or just ``cond`` for a single part of weight 1.

Step counter: A1111's counter counts model calls from 0, and the text used is the first
schedule entry with ``counter <= end_step``. Schedules are computed on ``steps *
calls_per_step`` (Heun and the other two-call samplers count doubled steps). A diffusers
scheduler of order k makes k model calls per step, so each call advances the counter by
``calls_per_step / k`` (1 for Heun in both; 2 for ``DPM++ 2S a``, whose diffusers solver calls
the model once per step). img2img computes the schedule on the full step count and starts the
counter at the first step actually run.

Batches: all rows of one model call must have the same token length, so shorter embeddings are
padded with the encoding of an empty chunk (A1111 does the same for cond / uncond); the first
embeddings given to the pipeline (:meth:`Conditioning.initial_embeds`) are padded the same way,
so the positive and negative prompts have the same chunk count. With A1111's ``Pad conds v0``
compatibility flag (``pad_v0``) padding is as A1111 did before 1.6 instead: shorter prompts
repeat their last token vector up to the longest prompt, and a negative prompt is cut to the
prompts' length when it is longer (A1111's ``pad_cond_uncond_v0``).

Old prompt editing timelines (``old_timelines``, A1111's compatibility flag): a ``when`` below
1 is a fraction of the steps and 1 or more a step, with or without a ``.``.

LoRAs are activated per batch: a batch uses the LoRA tags of all its images (wildcards may
differ per image); a LoRA named with two different weights in one batch is an error, because
the batch runs with one set of weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sdaug.engine.errors import ModelNotFoundError
from sdaug.engine.prompt_encoder import PromptEncoder
from sdaug.engine.samplers import calls_per_step
from sdaug.engine.sources import find_lora
from sdaug.errors import InputError
from sdaug.prompts import expand_wildcards, extract_networks, schedules, split_and, unknown_networks
from sdaug.settings import Settings

# One LoRA of a batch: (file, text encoder weight, UNet weight).
LoraWeights = tuple[Path, float, float]


# 1. Prompt texts (no torch) ------------------------------------------------------------------
@dataclass
class PromptPlan:
    """One image's prompts after wildcards and extra-network tags.

    ``prompt`` / ``negative_prompt`` are the wildcard-expanded texts with their tags (what the
    image's infotext records); ``parts`` are the ``AND`` parts of the prompt without tags, with
    their weights; ``negative`` is the negative prompt as it is encoded (tags kept as text);
    ``loras`` lists the ``(name, text encoder weight, UNet weight)`` of its LoRA tags.
    """

    prompt: str
    negative_prompt: str
    parts: list[tuple[str, float]]
    negative: str
    loras: list[tuple[str, float, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_prompts(prompt: str, negative_prompt: str, seeds: Sequence[int]) -> list[PromptPlan]:
    """Expand wildcards with each image's seed, collect LoRA tags and split ``AND`` parts."""
    plans = []
    for seed in seeds:
        # 1. Wildcards, with the image's seed (the same seed for the negative prompt).
        positive = expand_wildcards(prompt, seed)
        negative = expand_wildcards(negative_prompt, seed)

        # 2. Extra-network tags of the prompt: LoRAs are collected, everything else is reported.
        text, networks = extract_networks(positive)
        warnings = [
            f"{tag}: unknown extra network type, ignored (sdaug applies <lora:NAME:WEIGHT> tags)"
            for tag in unknown_networks(networks)
        ]
        loras = [(n.name, n.te_weight, n.unet_weight) for n in networks if n.is_lora]
        warnings += [f"{n.tag}: the dynamic rank (dyn) is ignored; the LoRA is applied at full rank"
                     for n in networks if n.is_lora and n.dyn is not None]

        # 3. AND parts (positive prompt only).
        plans.append(PromptPlan(positive, negative, split_and(text), negative, loras, warnings))
    return plans


def batch_loras(plans: Sequence[PromptPlan], settings: Settings) -> tuple[list[LoraWeights], list[str]]:
    """The LoRAs one batch activates and the warnings about the others: ``([(file, te, unet),
    ...], warnings)``.

    A name without a file in ``<home>/loras/`` is left out with a warning that lists the LoRA
    files found (A1111 goes on without it too). Tags of the batch that give one LoRA two
    different weights raise ``ValueError``: a batch runs with one set of LoRA weights.
    """
    wanted: dict[str, tuple[float, float]] = {}
    for name, te, unet in (lora for plan in plans for lora in plan.loras):
        if wanted.setdefault(name, (te, unet)) != (te, unet):
            raise InputError("lora.batch_weights", name=name, first=_weights(wanted[name]),
                             second=_weights((te, unet)))
    paths, warnings = find_loras(wanted, settings)
    return [(paths[name], te, unet) for name, (te, unet) in wanted.items() if name in paths], warnings


def find_loras(names: Iterable[str], settings: Settings) -> tuple[dict[str, Path], list[str]]:
    """The files of the LoRA ``names`` found in ``<home>/loras/``, and a warning for each one
    that is not there (listing the LoRA files found): ``({name: file}, warnings)``."""
    paths: dict[str, Path] = {}
    warnings: list[str] = []
    for name in dict.fromkeys(names):
        try:
            paths[name] = find_lora(name, settings)
        except ModelNotFoundError as error:
            warnings.append(f"{error}; going on without it")
    return paths, warnings


def _weights(weights: tuple[float, float]) -> str:
    te, unet = weights
    return f"{te}" if te == unet else f"{te} (text encoder) / {unet} (UNet)"


# 2. Embeddings over the steps ----------------------------------------------------------------
@dataclass
class ScheduledEmbedding:
    """One prompt over the sampling: entry i is used while ``counter <= ends[i]``."""

    ends: list[int]
    embeddings: list[torch.Tensor]

    def at(self, counter: int) -> torch.Tensor:
        for end, embedding in zip(self.ends, self.embeddings, strict=True):
            if counter <= end:
                return embedding
        return self.embeddings[-1]


@dataclass
class ImageConditioning:
    """The ``AND`` parts ``[(weight, prompt), ...]`` and the negative prompt of one image."""

    parts: list[tuple[float, ScheduledEmbedding]]
    negative: ScheduledEmbedding

    @property
    def plain(self) -> bool:
        """One part of weight 1: no composable-diffusion mixing needed."""
        return len(self.parts) == 1 and self.parts[0][0] == 1.0


@dataclass
class Conditioning:
    """Everything the model calls of one batch need: per-image embeddings over the steps.

    ``start`` is the counter of the first model call, ``increment`` what each call adds;
    ``empty`` is the encoding of one empty chunk, used to pad rows to a common length.
    """

    images: list[ImageConditioning]
    empty: torch.Tensor
    start: int = 0
    increment: int = 1
    pad_v0: bool = False

    @property
    def static(self) -> bool:
        """True when every model call would get the same embeddings as the pipeline's inputs."""
        scheduled = [part for image in self.images for _, part in image.parts]
        scheduled += [image.negative for image in self.images]
        return all(image.plain for image in self.images) and all(len(s.ends) == 1 for s in scheduled)

    @property
    def padded(self) -> bool:
        """True when prompts of different lengths are padded to one (A1111 then writes ``Pad conds:
        True``: its option that pads with empty chunks as sdaug does, so the image reproduces there)."""
        scheduled = [part for image in self.images for _, part in image.parts]
        scheduled += [image.negative for image in self.images]
        return len({embedding.shape[1] for s in scheduled for embedding in s.embeddings}) > 1

    def initial_embeds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(prompt_embeds, negative_prompt_embeds)`` ``[batch, tokens, dim]`` for the pipeline:
        the first part of each image at the first call, padded to one length."""
        rows = [image.parts[0][1].at(self.start) for image in self.images]
        rows += [image.negative.at(self.start) for image in self.images]
        uncond = range(len(self.images), len(rows))
        padded = pad_to_same_length(rows, self.empty, uncond_rows=uncond, v0=self.pad_v0)
        return padded[: len(self.images)], padded[len(self.images) :]


def pad_to_same_length(rows: Sequence[torch.Tensor], empty: torch.Tensor, uncond_rows: Sequence[int] = (),
                       v0: bool = False) -> torch.Tensor:
    """Stack ``[1, tokens_i, dim]`` rows into ``[n, max tokens, dim]``, appending empty chunks.

    ``v0`` (A1111's ``Pad conds v0``): every row is brought to the longest row that is not in
    ``uncond_rows`` by repeating its last token vector, or cut to it.
    """
    if v0:
        conds = [row for index, row in enumerate(rows) if index not in uncond_rows] or list(rows)
        length = max(row.shape[1] for row in conds)
        return torch.cat([
            row[:, :length] if row.shape[1] >= length
            else torch.cat([row, row[:, -1:].repeat(1, length - row.shape[1], 1)], dim=1)
            for row in rows
        ])
    longest = max(row.shape[1] for row in rows)
    chunk = empty.shape[1]
    padded = [
        torch.cat([row, empty.repeat(1, (longest - row.shape[1]) // chunk, 1)], dim=1) if row.shape[1] < longest
        else row
        for row in rows
    ]
    return torch.cat(padded)


def encode_conditioning(
    encoder: PromptEncoder,
    plans: Sequence[PromptPlan],
    steps: int,
    sampler: str,
    clip_skip: int = 1,
    denoising_strength: float | None = None,
    scheduler_order: int = 1,
    old_timelines: bool = False,
    pad_v0: bool = False,
) -> Conditioning:
    """Encode every schedule entry of every image's prompts (cached by the encoder).

    ``denoising_strength`` is given for runs that start from an image (img2img, ControlNet
    img2img): the counter then starts at the first step actually run. ``scheduler_order`` is
    the diffusers scheduler's ``order`` (model calls per step). ``old_timelines`` and ``pad_v0``
    are A1111's compatibility flags (see the module docstring).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps!r}")
    # 1. Counter units: A1111 model calls.
    multiplier = calls_per_step(sampler)
    total = steps * multiplier
    start = 0
    if denoising_strength is not None:
        start = (steps - min(int(steps * denoising_strength), steps)) * multiplier

    # 2. Encode each text of each schedule once (the encoder caches across batches).
    def scheduled(text: str) -> ScheduledEmbedding:
        entries = schedules(text, total, old_timelines=old_timelines)
        return ScheduledEmbedding(
            [end for end, _ in entries], [encoder.encode(part, clip_skip) for _, part in entries]
        )

    images = [
        ImageConditioning([(weight, scheduled(text)) for text, weight in plan.parts], scheduled(plan.negative))
        for plan in plans
    ]
    empty = encoder.encode("", clip_skip)
    return Conditioning(images, empty, start, max(1, multiplier // scheduler_order), pad_v0)


# 3. Sampling hooks ---------------------------------------------------------------------------
@dataclass
class _Layout:
    """How one model call's pipeline rows expand into uncond / ``AND``-part rows.

    Pipeline rows are ``[uncond_0..uncond_B-1, cond_0..cond_B-1]`` with guidance and
    ``[cond_0..cond_B-1]`` without. Expanded rows keep that order and put each image's parts in
    place of its cond row (plus an uncond row without guidance when an image mixes parts), so a
    batch with one plain part per image maps onto itself.
    """

    guided: bool
    sources: list[int] = field(default_factory=list)  # pipeline row of each expanded row
    rows: list[torch.Tensor] = field(default_factory=list)  # embeddings of each expanded row
    uncond: list[int | None] = field(default_factory=list)  # expanded uncond row of each image
    parts: list[slice] = field(default_factory=list)  # expanded part rows of each image

    def add(self, source: int, embedding: torch.Tensor) -> int:
        self.sources.append(source)
        self.rows.append(embedding)
        return len(self.rows) - 1


def _layout(conditioning: Conditioning, counter: int, n_rows: int) -> _Layout:
    images = conditioning.images
    batch = len(images)
    if n_rows not in (batch, 2 * batch):
        raise ValueError(f"the model got {n_rows} rows for a batch of {batch} images")
    layout = _Layout(guided=n_rows == 2 * batch)
    cond_offset = batch if layout.guided else 0
    for b, image in enumerate(images):
        needs_uncond = layout.guided or not image.plain
        layout.uncond.append(layout.add(b, image.negative.at(counter)) if needs_uncond else None)
    for b, image in enumerate(images):
        first = len(layout.rows)
        for _, part in image.parts:
            layout.add(cond_offset + b, part.at(counter))
        layout.parts.append(slice(first, len(layout.rows)))
    return layout


def _combine(conditioning: Conditioning, layout: _Layout, output: torch.Tensor) -> torch.Tensor:
    """Model output of the expanded rows -> pipeline rows, mixing ``AND`` parts."""
    mixed = []
    for image, uncond_row, part_rows in zip(conditioning.images, layout.uncond, layout.parts, strict=True):
        parts = output[part_rows]
        if image.plain:
            mixed.append(parts[0])
            continue
        uncond = output[uncond_row]
        weights = torch.tensor([w for w, _ in image.parts], dtype=output.dtype, device=output.device)
        mixed.append(uncond + (weights.view(-1, *[1] * uncond.dim()) * (parts - uncond)).sum(dim=0))
    cond = torch.stack(mixed)
    # With guidance the uncond rows come first, one per image, as in the pipeline's rows.
    return torch.cat([output[: len(mixed)], cond]) if layout.guided else cond


def _expand(value: Any, sources: torch.Tensor, n_rows: int) -> Any:
    """Index the batch rows of every tensor with ``n_rows`` rows (lists and tuples inside too)."""
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n_rows:
        return value.index_select(0, sources.to(value.device))
    if isinstance(value, list | tuple):
        return type(value)(_expand(item, sources, n_rows) for item in value)
    return value


@contextlib.contextmanager
def apply_conditioning(pipe: Any, conditioning: Conditioning) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Give each model call of ``pipe`` the embeddings of its step, and mix ``AND`` parts.

    Yields ``(prompt_embeds, negative_prompt_embeds)`` to pass to the pipeline call. When every
    call would get those same embeddings (no schedule, one part of weight 1 per image) no hook
    is installed. The ControlNet (if any) gets the same expanded rows as the UNet.
    """
    embeds = conditioning.initial_embeds()
    if conditioning.static:
        yield embeds
        return
    counter = conditioning.start
    current: dict[str, _Layout] = {}

    def expand_call(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        n_rows = args[0].shape[0]
        layout = _layout(conditioning, counter, n_rows)
        current["layout"] = layout
        index = torch.tensor(layout.sources, dtype=torch.long)
        hidden = kwargs["encoder_hidden_states"]
        args = tuple(_expand(value, index, n_rows) for value in args)
        kwargs = {key: _expand(value, index, n_rows) for key, value in kwargs.items()}
        uncond = [row for row in layout.uncond if row is not None]
        padded = pad_to_same_length(layout.rows, conditioning.empty.to(hidden.device), uncond, conditioning.pad_v0)
        kwargs["encoder_hidden_states"] = padded.to(device=hidden.device, dtype=hidden.dtype)
        return args, kwargs

    def mix_output(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
        nonlocal counter
        counter += conditioning.increment
        if isinstance(output, tuple):
            return (_combine(conditioning, current["layout"], output[0]), *output[1:])
        output.sample = _combine(conditioning, current["layout"], output.sample)
        return output

    handles = [
        pipe.unet.register_forward_pre_hook(expand_call, with_kwargs=True),
        pipe.unet.register_forward_hook(mix_output, with_kwargs=True),
    ]
    controlnet = getattr(pipe, "controlnet", None)
    if controlnet is not None:
        handles.append(controlnet.register_forward_pre_hook(expand_call, with_kwargs=True))
    try:
        yield embeds
    finally:
        for handle in handles:
            handle.remove()
