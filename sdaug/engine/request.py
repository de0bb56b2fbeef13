"""GenerationRequest (every knob of one run, validated) and Result.

This module does not import torch, so the UI, the CLI and augmentation jobs can build and
validate requests without loading the engine.
"""

from __future__ import annotations

import math
import numbers
import random
from dataclasses import dataclass, field

from PIL import Image

from sdaug.engine.region import RegionStrength
from sdaug.errors import InputError
from sdaug.limits import check_prompt
from sdaug.prompts.compat import COMPAT_FLAGS
from sdaug.prompts.params import RNG_SOURCES

MODES = ("txt2img", "img2img", "controlnet")
MAX_SEED = 2**32 - 1

# Inclusive ranges: (low, high).
RANGES: dict[str, tuple[float, float]] = {
    "steps": (1, 150),
    "cfg_scale": (0.0, 30.0),
    "width": (8, 4096),
    "height": (8, 4096),
    "batch_size": (1, 64),
    "batch_count": (1, 10_000),
    "denoising_strength": (0.0, 1.0),
    "control_weight": (0.0, 2.0),
    "control_start": (0.0, 1.0),
    "control_end": (0.0, 1.0),
    "clip_skip": (1, 12),
}
# Number fields by type; validate() converts a value of another number type once, here:
# sliders and JSON send 20.0 for 20 (or 1 for 1.0), and diffusers refuses some of them, e.g.
# ``controlnet_conditioning_scale=1`` ("must be type float").
INT_FIELDS = ("steps", "width", "height", "batch_size", "batch_count", "clip_skip", "seed")
FLOAT_FIELDS = ("cfg_scale", "denoising_strength", "control_weight", "control_start", "control_end")
TEXT_FIELDS = ("mode", "prompt", "negative_prompt", "sampler", "schedule_type", "control_type", "model",
               "controlnet_model")


@dataclass
class GenerationRequest:
    """One generation: ``batch_count`` batches of ``batch_size`` images.

    ``seed = -1`` picks a random seed; :meth:`resolve_seed` records the chosen one. Image ``i``
    of the whole run uses ``seed + i`` unless ``seeds`` lists one seed per image explicitly
    (augmentation jobs do, so every work item keeps its own deterministic seed).

    ``init_images`` (img2img, controlnet) holds one image, used for every image of the run, or
    one image per image of a batch. ``width``/``height`` need not be multiples of 8: the engine
    works at :attr:`work_size` and returns images at the requested size.

    ``rng`` is A1111's random number source of the noise: ``GPU``, ``CPU`` or ``NV``, or ``""``
    for the machine's default (GPU with CUDA, else CPU); see :mod:`sdaug.engine.noise`.
    ``compat`` lists A1111 compatibility flags to apply (:data:`sdaug.prompts.compat.COMPAT_FLAGS`,
    as pasted infotexts of older A1111 versions set them).
    """

    mode: str = "txt2img"
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 20
    sampler: str = "DPM++ 2M"
    schedule_type: str = "Automatic"
    cfg_scale: float = 7.0
    seed: int = -1
    seeds: list[int] | None = None
    width: int = 512
    height: int = 512
    batch_size: int = 1
    batch_count: int = 1
    init_images: list[Image.Image] = field(default_factory=list)
    denoising_strength: float = 0.75
    control_image: Image.Image | None = None
    control_type: str = "canny"
    control_weight: float = 1.0
    control_start: float = 0.0
    control_end: float = 1.0
    clip_skip: int = 1
    model: str = ""
    controlnet_model: str = ""
    # Region-aware strength (img2img, ControlNet img2img): ``box_strength`` inside the boxes of
    # ``region_boxes`` (one list of pixel xyxy boxes per input image, in the requested size's
    # pixels), ``background_strength`` elsewhere (``denoising_strength`` when None), with a soft
    # edge of ``box_feather`` pixels. None: plain img2img. See :mod:`sdaug.engine.region`.
    box_strength: float | None = None
    background_strength: float | None = None
    box_feather: int = 32
    region_boxes: list[list[tuple[float, float, float, float]]] = field(default_factory=list)
    # Infotext keys sdaug does not interpret: kept and written back.
    extra_params: dict[str, str] = field(default_factory=dict)
    rng: str = ""
    compat: list[str] = field(default_factory=list)

    @property
    def n_images(self) -> int:
        return self.batch_size * self.batch_count

    @property
    def work_size(self) -> tuple[int, int]:
        """(width, height) rounded to the nearest multiple of 8 (at least 8)."""
        return _round8(self.width), _round8(self.height)

    @property
    def region(self) -> RegionStrength | None:
        """The region-aware strength of this request, or None for plain img2img."""
        if self.box_strength is None:
            return None
        background = self.denoising_strength if self.background_strength is None else self.background_strength
        return RegionStrength(self.box_strength, background, self.box_feather)

    @property
    def sampling_strength(self) -> float:
        """Denoising strength given to the img2img sampler: at least one step always runs.

        diffusers runs ``int(steps * strength)`` steps, so 2 steps at 0.4 would run none; like
        AUTOMATIC1111 we run one step instead. The infotext keeps ``denoising_strength``. With a
        region-aware strength the sampler starts at the higher of the two strengths.
        """
        region = self.region
        strength = region.highest if region is not None else self.denoising_strength
        return max(strength, 1 / self.steps)

    def resolve_seed(self) -> int:
        """Replace ``seed = -1`` by a random seed (recorded in the request) and return it."""
        if self.seed == -1:
            self.seed = random.randint(0, MAX_SEED)
        return self.seed

    def image_seeds(self) -> list[int]:
        """Seed of every image of the run, in order."""
        if self.seeds is not None:
            return list(self.seeds)
        base = self.resolve_seed()
        return [(base + i) % (MAX_SEED + 1) for i in range(self.n_images)]

    def validate(self) -> None:
        """Convert the number fields to their types, then raise ``ValueError`` naming the first bad
        field and what is allowed.

        A whole-number float becomes an ``int`` for an int field (``steps=20.0`` -> ``20``) and an
        ``int`` a ``float`` for a float field (``control_weight=1`` -> ``1.0``), so the engine gets
        one type whatever the caller sent (UI sliders, JSON, TOML, the CLI).
        """
        self._convert()
        check_prompt(self.prompt, "prompt")  # cheap, and bounds everything after
        check_prompt(self.negative_prompt, "negative prompt")
        if self.mode not in MODES:
            raise InputError("value.choice", field="mode", allowed=", ".join(MODES), value=self.mode)
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise InputError("value.range", field=name, low=low, high=high, value=value)
        if not -1 <= self.seed <= MAX_SEED:
            raise InputError("request.seed", high=MAX_SEED, value=self.seed)
        if self.seeds is not None:
            if len(self.seeds) != self.n_images:
                raise InputError("request.seeds_count", count=len(self.seeds), images=self.n_images)
            bad = [s for s in self.seeds if not 0 <= s <= MAX_SEED]
            if bad:
                raise InputError("request.seeds_range", high=MAX_SEED, value=bad[0])
        if self.rng not in ("", *RNG_SOURCES):
            raise InputError("request.rng", allowed=", ".join(RNG_SOURCES), value=self.rng)
        unknown = [flag for flag in self.compat if flag not in COMPAT_FLAGS]
        if unknown:
            raise InputError("request.compat", flag=unknown[0], known=", ".join(COMPAT_FLAGS))
        if self.control_start >= self.control_end:
            raise InputError("request.control_order", start=self.control_start, end=self.control_end)
        if self.mode == "img2img" and not self.init_images:
            raise InputError("request.img2img_no_image")
        if self.init_images and len(self.init_images) not in (1, self.batch_size):
            raise InputError("request.init_count", count=len(self.init_images), batch_size=self.batch_size)
        if self.mode == "controlnet" and self.control_image is None and not self.init_images:
            raise InputError("request.controlnet_no_image")
        self._validate_region()

    def _validate_region(self) -> None:
        region = self.region
        if region is None:
            if self.background_strength is not None:
                raise InputError("request.background_needs_box")
            return
        region.validate()
        if not self.init_images:
            raise InputError("request.box_needs_image")
        if len(self.region_boxes) not in (1, len(self.init_images)):
            raise InputError("request.region_count", count=len(self.region_boxes), images=len(self.init_images))
        for boxes in self.region_boxes:
            for box in boxes:
                if len(box) != 4 or not box[0] < box[2] or not box[1] < box[3]:
                    raise InputError("request.region_box", box=box)

    def _convert(self) -> None:
        """Check the text fields; give every number field its type, or raise ``ValueError`` naming it."""
        for name in TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InputError("value.text", field=name, value=value)
        for name in INT_FIELDS:
            setattr(self, name, _whole(name, getattr(self, name)))
        for name in FLOAT_FIELDS:
            setattr(self, name, float(_number(name, getattr(self, name))))
        if self.seeds is not None:
            self.seeds = [_whole("seeds", seed) for seed in self.seeds]


@dataclass
class Result:
    """What a run returns: images at the requested size, their seeds and infotexts."""

    images: list[Image.Image] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    infotexts: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False
    control_images: list[Image.Image] = field(default_factory=list)
    # Notes for the user that did not stop the run (e.g. an unknown <hypernet:...> tag ignored).
    warnings: list[str] = field(default_factory=list)


def _number(name: str, value: object) -> numbers.Real:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError("value.number", field=name, value=value)
    return value


def _whole(name: str, value: object) -> int:
    number = _number(name, value)
    if not math.isfinite(number) or number != int(number):
        low, high = RANGES.get(name, (-1 if name == "seed" else 0, MAX_SEED))
        raise InputError("value.whole_range", field=name, low=low, high=high, value=value)
    return int(number)


def _round8(value: int) -> int:
    """Nearest multiple of 8, halves rounded up (500 -> 504), at least 8."""
    return max(8, (int(value) + 4) // 8 * 8)
