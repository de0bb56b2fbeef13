"""Run a :class:`GenerationRequest`: txt2img, img2img, ControlNet (txt2img or img2img).

``run(request, manager, on_progress=None, cancel=None, on_image=None) -> Result``:

- ``on_progress(Progress)`` after every model call, and with ``Progress.message`` set for phases
  such as "loading model …".
- ``cancel`` (a ``threading.Event``) is checked after every model call and before every batch:
  the run stops within one step, keeps the images already finished and sets
  ``Result.cancelled``.
- ``on_image(index, image, infotext)`` as each image is finished (index within the run).

Images are made at ``request.work_size`` (multiples of 8) and returned at the requested size
(LANCZOS). Image ``i`` uses seed ``seed + i`` (or ``request.seeds[i]``) through its own generator
of the request's RNG source (GPU, CPU or NV, as in A1111: :mod:`sdaug.engine.noise`), so its noise
does not depend on its position in a batch; the same request and seed give the same pixels. The
source used is written as ``RNG: CPU`` / ``RNG: NV`` in the infotext (nothing for GPU), and the
request's compatibility flags (``Downcast alphas_cumprod``, ...) are applied and written too.
A batch that runs out of GPU memory is retried at half the batch size; at batch size 1 the run
fails with :class:`~sdaug.engine.errors.OutOfMemoryError`, whose message says what to change.

The encoder hook. ``run`` never parses prompt text; per batch it calls ``manager.encoder``
(any object with these methods, :class:`sdaug.engine.encoding.PromptEncoder`):

- ``check(request) -> [warning, ...]`` (optional), once before anything loads: a LoRA tag
  without a file is reported here and the run goes on without it (as in A1111);
- ``loras(request, seeds) -> {file: (text encoder weight, UNet weight)}``: the LoRAs the batch's
  prompts name; ``run`` hands them to ``manager.pipeline`` before encoding (LoRAs change the
  text encoder too);
- ``encode(pipe, request, seeds) -> Conditioning``, after the request's scheduler is set on
  ``pipe``: ``prompt_embeds`` / ``negative_prompt_embeds`` go to the pipeline call, which runs
  inside ``with conditioning.wrap(pipe):``. In that context the encoder may hook every UNet and
  ControlNet call: give each call the embeddings of its step (prompt editing, alternation),
  expand ``[uncond, cond]`` into several conds and mix their outputs (composable diffusion,
  ``AND``); its cache lives with the encoder. ``Conditioning.prompts`` / ``negative_prompts``
  are each image's text for its infotext, ``warnings`` go to ``Result.warnings``.

The default encoder (:class:`~sdaug.engine.encoding.A1111PromptEncoder`) plugs in
:mod:`sdaug.engine.conditioning`; ``manager.encoder = other`` swaps it without touching ``run``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from sdaug.engine import noise, sources
from sdaug.engine.control import make_control_image
from sdaug.engine.encoding import Conditioning
from sdaug.engine.errors import OutOfMemoryError
from sdaug.engine.manager import PipelineManager, free_memory
from sdaug.engine.region_denoise import RegionDenoiser
from sdaug.engine.request import GenerationRequest, Result
from sdaug.engine.samplers import make_scheduler
from sdaug.prompts import format_infotext, infotext_params, lora_hash
from sdaug.prompts.compat import DOWNCAST_ALPHAS_CUMPROD
from sdaug.prompts.params import RNG_KEY

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where a run is. ``step``/``total_steps`` count model calls of the current batch."""

    step: int = 0
    total_steps: int = 0
    batch_index: int = 0
    batch_count: int = 0
    images_done: int = 0
    images_total: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""


ProgressCallback = Callable[[Progress], None]
ImageCallback = Callable[[int, Image.Image, str], None]


class _Cancelled(Exception):
    """Raised inside the step callback to leave the pipeline at once."""


@dataclass
class _Run:
    """State shared by the steps of one run."""

    request: GenerationRequest
    manager: PipelineManager
    seeds: list[int]
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    on_image: ImageCallback | None
    start: float = field(default_factory=time.perf_counter)
    result: Result = field(default_factory=Result)
    controlnet_name: str = ""
    controls: dict[int, Image.Image] = field(default_factory=dict)  # id(source image) -> control image
    batch_index: int = 0
    batch_count: int = 0
    batch_images: int = 0  # images in the batch being made

    def report(self, step: int = 0, total_steps: int = 0, message: str = "") -> None:
        if self.on_progress is None:
            return
        done = len(self.result.images)
        elapsed = time.perf_counter() - self.start
        fraction = (done + (step / total_steps * self.batch_images if total_steps else 0.0)) / len(self.seeds)
        eta = elapsed / fraction - elapsed if fraction > 0 else None
        self.on_progress(Progress(step, total_steps, self.batch_index, self.batch_count, done, len(self.seeds),
                                  elapsed, eta, message))

    def warn(self, message: str) -> None:
        """A note for the user that does not stop the run: logged, reported, in the result once."""
        if message not in self.result.warnings:
            self.result.warnings.append(message)
            logger.warning("%s", message)
            self.report(message=message)

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


def run(request: GenerationRequest, manager: PipelineManager, on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None, on_image: ImageCallback | None = None) -> Result:
    """Generate the images of ``request`` with ``manager``'s pipelines (see the module docstring)."""
    # 1. Check the request; fix the seeds.
    request.validate()
    seeds = request.image_seeds()
    state = _Run(request, manager, seeds, on_progress, cancel, on_image)
    for key in ("load", "encode", "denoise", "decode"):
        state.result.timings[key] = 0.0
    # What the prompts ask for that is not here (a LoRA file) is said before any model loads.
    check = getattr(manager.encoder, "check", None)
    for warning in check(request) if check is not None else []:
        state.warn(warning)
    if request.rng == "GPU" and manager.device != "cuda":
        state.warn("RNG source GPU needs a CUDA GPU: this machine draws the noise with the CPU generator "
                   "(RNG: CPU). Choose NV for A1111's imitation of a CUDA GPU's numbers")

    with manager.lock:
        # 2. The ControlNet: the request's, or the default one for its control type.
        if request.mode == "controlnet":
            model = sources.resolve_model(request.model, manager.settings)
            state.controlnet_name = request.controlnet_model or sources.default_controlnet(request.control_type, model)

        # 3. The batches; a batch that runs out of memory is split in two and retried.
        pending = deque(_chunks(list(range(len(seeds))), request.batch_size))
        batches_done = 0
        while pending and not state.cancelled():
            indices = pending.popleft()
            state.batch_index, state.batch_count = batches_done + 1, batches_done + 1 + len(pending)
            state.batch_images = len(indices)
            try:
                images, conditioning, loras = _generate(state, indices)
            except _Cancelled:
                break
            except Exception as error:
                if not _is_out_of_memory(error):
                    raise
                free_memory(manager.device)
                if len(indices) == 1:
                    width, height = request.work_size
                    raise OutOfMemoryError.for_batch(1, width, height, manager.memory_mode) from error
                batch_size = len(indices) // 2
                logger.warning("out of GPU memory with %d images per batch; retrying with %d", len(indices),
                               batch_size)
                state.report(message=f"out of GPU memory: retrying with batch size {batch_size}")
                pending = deque(_chunks([*indices, *(i for chunk in pending for i in chunk)], batch_size))
                continue
            # 4. Record the finished images with their infotexts.
            batches_done += 1
            extra = {**_infotext_extra(state, loras), **conditioning.extra_params}
            for position, (index, image) in enumerate(zip(indices, images, strict=True)):
                _finish_image(state, index, image, conditioning, position, extra)
        state.result.control_images = list(state.controls.values())

    state.result.cancelled = state.cancelled() and len(state.result.images) < len(seeds)
    state.result.timings["total"] = time.perf_counter() - state.start
    return state.result


def _generate(state: _Run, indices: list[int]) -> tuple[list[Image.Image], Conditioning,
                                                       dict[Path, tuple[float, float]]]:
    """Encode, denoise and decode the images ``indices`` of the run as one batch."""
    request, manager = state.request, state.manager
    seeds = [state.seeds[i] for i in indices]
    timings = state.result.timings

    # 1. The pipeline with this batch's LoRAs (loads the model / ControlNet / LoRAs on change).
    started = time.perf_counter()
    loras = manager.encoder.loras(request, seeds)
    from_image = request.mode != "txt2img" and bool(request.init_images)  # img2img, ControlNet img2img
    mode = "img2img" if from_image else request.mode
    pipe = manager.pipeline(mode, request.model, controlnet=state.controlnet_name or None, loras=loras,
                            on_status=lambda message: state.report(message=message))
    timings["load"] += time.perf_counter() - started

    # 2. A fresh scheduler, one generator per image, then the prompts through the encoder hook.
    pipe.scheduler = make_scheduler(request.sampler, request.schedule_type, manager.scheduler_config, seeds=seeds,
                                    downcast_alphas_cumprod=DOWNCAST_ALPHAS_CUMPROD in request.compat)
    generators = noise.generators(request.rng, seeds, manager.device)
    started = time.perf_counter()
    conditioning = manager.encoder.encode(pipe, request, seeds)
    timings["encode"] += time.perf_counter() - started
    for warning in conditioning.warnings:
        state.warn(warning)

    # 3. The inputs of this mode at the working size.
    width, height = request.work_size
    kwargs: dict[str, Any] = {"num_inference_steps": request.steps, "guidance_scale": request.cfg_scale,
                              "generator": generators, "output_type": "latent"}
    if from_image:
        kwargs["image"] = [_fit(_init_image(request, i), width, height) for i in indices]
        kwargs["strength"] = request.sampling_strength
    else:
        kwargs.update(width=width, height=height)
    if state.controlnet_name:
        controls = [_control_image(state, i, width, height) for i in indices]
        kwargs["control_image" if from_image else "image"] = controls
        kwargs.update(controlnet_conditioning_scale=request.control_weight,
                      control_guidance_start=request.control_start, control_guidance_end=request.control_end)

    # 4. Denoise; the step callback reports progress, checks cancel and holds back the boxes.
    region = _region_denoiser(state, pipe, indices) if from_image else None

    def on_step_end(pipe: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        state.report(i + 1, pipe.num_timesteps)
        if state.cancelled():
            raise _Cancelled
        return region.on_step_end(pipe, i, tensors) if region is not None else {}

    started = time.perf_counter()
    try:
        with conditioning.wrap(pipe), noise.drawing_from(pipe, generators):
            latents = pipe(prompt_embeds=conditioning.prompt_embeds,
                           negative_prompt_embeds=conditioning.negative_prompt_embeds,
                           callback_on_step_end=on_step_end, **kwargs).images
    finally:
        timings["denoise"] += time.perf_counter() - started

    # 5. Decode the latents and bring the images back to the requested size.
    started = time.perf_counter()
    with torch.no_grad():
        decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
    images = pipe.image_processor.postprocess(decoded, output_type="pil")
    pipe.maybe_free_model_hooks()
    timings["decode"] += time.perf_counter() - started
    size = (request.width, request.height)
    images = [image if image.size == size else image.resize(size, Image.Resampling.LANCZOS) for image in images]
    return images, conditioning, loras


def _finish_image(state: _Run, index: int, image: Image.Image, conditioning: Conditioning, position: int,
                  extra: dict[str, str]) -> None:
    request, manager = state.request, state.manager
    seed = state.seeds[index]
    params = infotext_params(request, seed, model_name=manager.source.name, model_hash=manager.model_hash,
                             extra=extra)
    infotext = format_infotext(conditioning.prompts[position], conditioning.negative_prompts[position], params)
    state.result.images.append(image)
    state.result.seeds.append(seed)
    state.result.infotexts.append(infotext)
    if state.on_image is not None:
        state.on_image(len(state.result.images) - 1, image, infotext)


def _region_denoiser(state: _Run, pipe: Any, indices: list[int]) -> RegionDenoiser | None:
    """The per-pixel strength of this batch, or None when boxes and background get the same."""
    request = state.request
    region = request.region
    if region is None or region.uniform:
        return None
    boxes = request.region_boxes
    batch_boxes = [boxes[0] if len(boxes) == 1 else boxes[i % request.batch_size] for i in indices]
    denoiser = RegionDenoiser(pipe, region, batch_boxes, (request.width, request.height), request.steps,
                              request.sampling_strength)
    denoiser.capture()
    return denoiser


def _infotext_extra(state: _Run, loras: dict[Path, tuple[float, float]]) -> dict[str, str]:
    """Infotext keys of a batch beyond the request's: the RNG source, the ControlNet unit, LoRA
    hashes and the region-aware strength."""
    request = state.request
    extra: dict[str, str] = {}
    source = noise.effective_source(request.rng, state.manager.device)
    if source != "GPU":
        extra[RNG_KEY] = source
    region = request.region
    if region is not None and request.init_images:
        extra.update({"Box strength": f"{region.box_strength:g}",
                      "Background strength": f"{region.background_strength:g}",
                      "Box feather": str(region.feather)})
    if state.controlnet_name:
        extra["ControlNet 0"] = (f"Module: {request.control_type}, Model: {state.controlnet_name}, "
                                 f"Weight: {request.control_weight:g}, Guidance Start: {request.control_start:g}, "
                                 f"Guidance End: {request.control_end:g}")
    if loras:
        extra["Lora hashes"] = ", ".join(f"{path.stem}: {lora_hash(path)}" for path in loras)
    return extra


def _init_image(request: GenerationRequest, index: int) -> Image.Image:
    images = request.init_images
    return images[0] if len(images) == 1 else images[index % request.batch_size]


def _control_image(state: _Run, index: int, width: int, height: int) -> Image.Image:
    """The control image of image ``index``: the request's, or made from its input image."""
    request = state.request
    source = request.control_image if request.control_image is not None else _init_image(request, index)
    if id(source) not in state.controls:
        state.controls[id(source)] = make_control_image(_fit(source, width, height), request.control_type)
    return state.controls[id(source)]


def _fit(image: Image.Image, width: int, height: int) -> Image.Image:
    image = image.convert("RGB")
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.LANCZOS)


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())
