"""Initial noise and sampler noise per image seed, from A1111's three sources.

A1111's "Random number generator source" (spec/prompt-syntax.md, "Initial noise"):

- ``GPU``: a ``torch.Generator`` on the CUDA device, seeded with the image's seed. On a machine
  without CUDA (CPU, Apple MPS) A1111 uses the CPU generator instead, and so do we; the image's
  infotext then says ``RNG: CPU``, because that is where its numbers came from.
- ``CPU``: a CPU ``torch.Generator``: the same numbers on every machine.
- ``NV``: the numbers CUDA's ``torch.randn`` gives, computed on any device with Philox-4x32-10
  (:func:`philox_normal`, written here from the spec: no library makes CUDA's numbers on a CPU).

The default source is GPU where there is CUDA and CPU elsewhere (:func:`default_source`).

Each image has its own generator (``seed + i`` in a batch), so its noise does not depend on its
place in the batch. diffusers draws from the generators it is given: the initial noise first,
then (ancestral and SDE samplers) one draw per step, each image from its own generator. GPU and
CPU sources are real ``torch.Generator`` objects. An NV source is a :class:`PhiloxGenerator`;
:func:`drawing_from` makes diffusers draw from it by replacing ``randn_tensor`` in the modules
of the pipeline, its scheduler and the VAE for the duration of the call (``run`` holds the
manager's lock meanwhile). Each draw of an NV generator uses the next ``draw_index``.

Where A1111's reference values and the spec's wording differ, the reference values win: the
Box-Muller step uses float32 constants but float64 arithmetic, rounded to float32 at the end
(``rng-nv-vectors.json`` matches bit for bit only that way).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from sdaug.prompts.params import RNG_SOURCES

# Philox-4x32-10 constants.
_MULTIPLIERS = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_KEY_INCREMENTS = (0x9E3779B9, 0xBB67AE85)
_ROUNDS = 10
_LOW32 = np.uint64(0xFFFFFFFF)
# Box-Muller scale factors, as float32 values: 2^-32 and 2*pi*2^-32.
_UNIT = float(np.float32(2.0**-32))
_UNIT_2PI = float(np.float32(2 * math.pi * 2.0**-32))
# diffusers modules whose `randn_tensor` is replaced while an NV source is drawn from.
_VAE_MODULE = "diffusers.models.autoencoders.vae"


def default_source(device: str) -> str:
    """A1111's default for this device: ``GPU`` with CUDA, else ``CPU``."""
    return "GPU" if device == "cuda" else "CPU"


def effective_source(source: str, device: str) -> str:
    """The source the numbers really come from: ``""`` is the device's default, and ``GPU``
    without CUDA is the CPU generator (as in A1111)."""
    source = source or default_source(device)
    if source not in RNG_SOURCES:
        raise ValueError(f"RNG source must be one of {', '.join(RNG_SOURCES)}, got {source!r}")
    return "CPU" if source == "GPU" and device != "cuda" else source


def philox_normal(seed: int, count: int, draw_index: int = 0) -> np.ndarray:
    """``count`` standard normal float32 numbers of ``seed``'s draw ``draw_index``: what
    ``torch.randn(count, generator=torch.Generator("cuda").manual_seed(seed))`` gives."""
    # 1. Counters (draw_index, 0, k, 0) and the 64-bit seed as key (low word, high word).
    k = np.arange(count, dtype=np.uint32)
    zero = np.zeros(count, dtype=np.uint32)
    counter = [np.full(count, draw_index & 0xFFFFFFFF, dtype=np.uint32), zero, k, zero]
    key = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]

    # 2. Ten Philox rounds.
    for _ in range(_ROUNDS):
        product0 = _MULTIPLIERS[0] * counter[0].astype(np.uint64)
        product1 = _MULTIPLIERS[1] * counter[2].astype(np.uint64)
        high0, low0 = (product0 >> np.uint64(32)).astype(np.uint32), (product0 & _LOW32).astype(np.uint32)
        high1, low1 = (product1 >> np.uint64(32)).astype(np.uint32), (product1 & _LOW32).astype(np.uint32)
        counter = [high1 ^ counter[1] ^ np.uint32(key[0]), low1, high0 ^ counter[3] ^ np.uint32(key[1]), low0]
        key = [(key[0] + _KEY_INCREMENTS[0]) & 0xFFFFFFFF, (key[1] + _KEY_INCREMENTS[1]) & 0xFFFFFFFF]

    # 3. Box-Muller, sine branch, from the first two output words.
    u = counter[0] * _UNIT + _UNIT / 2
    v = counter[1] * _UNIT_2PI + _UNIT_2PI / 2
    return (np.sqrt(-2.0 * np.log(u)) * np.sin(v)).astype(np.float32)


class PhiloxGenerator:
    """A1111's NV source for one seed: each :meth:`randn` is the next draw of that seed."""

    device = torch.device("cpu")  # diffusers looks at a generator's device

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.draws = 0

    def randn(self, shape: Sequence[int]) -> torch.Tensor:
        numbers = philox_normal(self.seed, math.prod(shape), self.draws)
        self.draws += 1
        return torch.from_numpy(numbers).reshape(tuple(shape))


def generators(source: str, seeds: Sequence[int], device: str) -> list[Any]:
    """One generator per image seed for ``source`` on ``device`` (see the module docstring)."""
    source = effective_source(source, device)
    if source == "NV":
        return [PhiloxGenerator(seed) for seed in seeds]
    generator_device = "cuda" if source == "GPU" else "cpu"
    return [torch.Generator(generator_device).manual_seed(seed) for seed in seeds]


@contextlib.contextmanager
def drawing_from(pipe: Any, generator_list: Sequence[Any]) -> Iterator[None]:
    """Make ``pipe`` (and its scheduler and VAE) draw their noise from :class:`PhiloxGenerator`
    objects; with torch generators nothing changes."""
    if not any(isinstance(generator, PhiloxGenerator) for generator in generator_list):
        yield
        return
    names = {type(pipe).__module__, type(pipe.scheduler).__module__, _VAE_MODULE}
    modules = [sys.modules[name] for name in names if hasattr(sys.modules.get(name), "randn_tensor")]
    originals = [module.randn_tensor for module in modules]
    for module, original in zip(modules, originals, strict=True):
        module.randn_tensor = _philox_randn(original)
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.randn_tensor = original


def _philox_randn(original: Any) -> Any:
    """``randn_tensor`` that draws from :class:`PhiloxGenerator` objects (one per batch row)."""

    def randn_tensor(shape: Sequence[int], generator: Any = None, device: Any = None, dtype: Any = None,
                     layout: Any = None) -> torch.Tensor:
        if isinstance(generator, PhiloxGenerator):
            generator = [generator]
        if not (isinstance(generator, list) and isinstance(generator[0], PhiloxGenerator)):
            return original(shape, generator=generator, device=device, dtype=dtype, layout=layout)
        if len(generator) == 1:
            noise = generator[0].randn(shape)
        else:
            noise = torch.cat([g.randn((1, *shape[1:])) for g in generator[: shape[0]]])
        return noise.to(device=device or "cpu", dtype=dtype or torch.float32)

    return randn_tensor
