"""Per-pixel denoising strength inside img2img / ControlNet img2img (see :mod:`.region`).

img2img at strength ``s`` noises the source latent to the step ``T - int(T * s)`` of ``T`` steps
and denoises from there. With a strength per pixel, each latent pixel gets its own start step:
the sampler starts at the highest strength, and a pixel whose own strength is lower *follows the
source image's noised latent* (the same source latent and the same noise the pipeline drew, at
the current step's noise level) until its start step comes; from then on the sampler denoises it.
A pixel of strength 0 ends as the source latent itself. Where every pixel has the sampler's
strength nothing is replaced, so the output equals plain img2img bit for bit.

The idea is the one of "Differential Diffusion" (Levin & Fried, 2023) and of diffusers' inpainting
pipeline, which keeps unmasked latents on the noised source; it is written here as a
step-end callback because the stock img2img pipelines have no per-pixel strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from sdaug.engine.region import Box, RegionStrength, scale_boxes, strength_map


class RegionDenoiser:
    """Holds the per-pixel start steps of one batch and replaces frozen latents after each step."""

    def __init__(self, pipe: Any, region: RegionStrength, boxes: Sequence[Sequence[Box]], box_space: tuple[int, int],
                 steps: int, sampling_strength: float) -> None:
        self.pipe, self.region, self.boxes, self.box_space, self.steps = pipe, region, boxes, box_space, steps
        # The sampler's own step count at its (highest) strength, as diffusers computes it.
        self.started = min(int(steps * sampling_strength), steps)
        self.first = steps - self.started  # index of the first step run in the full schedule
        self.frozen = torch.zeros(1)
        self.source: torch.Tensor | None = None
        self.noise: torch.Tensor | None = None
        self._add_noise = pipe.scheduler.add_noise

    def _frozen_steps(self, latent_size: tuple[int, int]) -> torch.Tensor:
        """(images, 1, h, w): for how many steps each latent pixel follows the noised source."""
        # The feather is in image pixels: the same soft edge at the latents' resolution.
        region = replace(self.region, feather=round(self.region.feather * latent_size[0] / self.box_space[0]))
        frozen = []
        for image_boxes in self.boxes:
            strength = strength_map(latent_size, scale_boxes(image_boxes, self.box_space, latent_size), region)
            own = np.floor(self.steps * strength + 1e-9).astype(np.int64)
            frozen.append(self.started - np.clip(own, 0, self.started))
        return torch.from_numpy(np.stack(frozen)[:, None])

    def capture(self) -> None:
        """Record the source latents and noise the pipeline noises its start latents with."""
        add_noise = self._add_noise

        def capturing(original: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
            if self.source is None:
                self.source, self.noise = original, noise
                self.frozen = self._frozen_steps((original.shape[-1], original.shape[-2]))
            return add_noise(original, noise, timesteps)

        self.pipe.scheduler.add_noise = capturing

    def on_step_end(self, pipe: Any, i: int, tensors: dict[str, Any]) -> dict[str, Any]:
        """After model call ``i``: put the pixels not yet started back on the noised source.

        A pixel frozen for ``f`` steps enters step ``f`` as the source noised to that step's
        level, so the sampler denoises it for exactly its own number of steps.
        """
        order = getattr(pipe.scheduler, "order", 1)
        if self.source is None or (i + 1) % order:
            return {}
        done = (i + 1) // order  # sampler steps finished
        latents = tensors["latents"]
        frozen = self.frozen.to(latents.device).expand(latents.shape[0], 1, *latents.shape[2:])
        keep = frozen >= done
        if not keep.any():
            return {}
        if done >= self.started:  # strength 0: the source itself
            return {"latents": torch.where(keep, self.source.to(latents.dtype), latents)}
        index = (self.first + done) * order
        timestep = pipe.scheduler.timesteps[index:index + 1].repeat(latents.shape[0])
        noised = self._add_noise(self.source, self.noise, timestep).to(latents.dtype)
        return {"latents": torch.where(keep, noised, latents)}
