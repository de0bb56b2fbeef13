"""Region-aware strength: the boxes of a photo get a lower denoising strength than the rest.

A weather or lighting variant should change the scene, not the labelled objects. With
``box_strength`` below ``background_strength`` the pixels inside the carried boxes change less,
so their boxes stay valid and fewer variants need a person's review.

This module is numpy only (no torch), so the classic engine and the request can use it:

- :class:`RegionStrength`: the three numbers of a preset or request;
- :func:`box_mask`: 1 inside the boxes, 0 far from them, a linear ramp ``feather`` pixels wide
  outside each box edge (so the box itself is fully protected);
- :func:`strength_map`: the per-pixel strength, ``background`` where the mask is 0 and exactly
  ``box`` where it is 1.

How the diffusion engine uses the map is in :mod:`sdaug.engine.region_denoise`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sdaug.errors import InputError

Box = Sequence[float]  # pixel (x0, y0, x1, y1)
MAX_FEATHER = 512


@dataclass(frozen=True)
class RegionStrength:
    """Denoising strength inside the boxes and outside them, and the soft edge in pixels."""

    box_strength: float
    background_strength: float
    feather: int = 32

    def validate(self) -> None:
        for name in ("box_strength", "background_strength"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise InputError("value.number_range", field=name, low=0, high=1, value=value)
        if isinstance(self.feather, bool) or not isinstance(self.feather, int) or not 0 <= self.feather <= MAX_FEATHER:
            raise InputError("region.feather", high=MAX_FEATHER, value=self.feather)

    @property
    def uniform(self) -> bool:
        """True when boxes and background get the same strength (plain img2img)."""
        return self.box_strength == self.background_strength

    @property
    def highest(self) -> float:
        return max(self.box_strength, self.background_strength)


def box_mask(size: tuple[int, int], boxes: Sequence[Box], feather: int = 0) -> np.ndarray:
    """A float64 (height, width) mask: 1 inside any box, falling linearly to 0 over ``feather`` px."""
    width, height = size
    inside = np.zeros((height, width), dtype=np.uint8)
    for x0, y0, x1, y1 in boxes:
        left, top = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
        right, bottom = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
        if right > left and bottom > top:
            inside[top:bottom, left:right] = 1
    if feather <= 0 or not inside.any():
        return inside.astype(np.float64)
    # Distance of each outside pixel to the nearest box pixel (0 inside a box).
    distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5).astype(np.float64)
    return np.clip(1.0 - distance / feather, 0.0, 1.0)


def strength_map(size: tuple[int, int], boxes: Sequence[Box], region: RegionStrength) -> np.ndarray:
    """Per-pixel strength (height, width): ``background`` where the mask is 0, ``box`` where it is 1."""
    mask = box_mask(size, boxes, region.feather)
    # (1 - m) * a + m * b is exact at both ends (a + m * (b - a) is not).
    return (1.0 - mask) * region.background_strength + mask * region.box_strength


def scale_boxes(boxes: Sequence[Box], source: tuple[int, int], target: tuple[int, int]) -> list[tuple[float, ...]]:
    """Boxes in ``source`` pixels moved to an image of size ``target``."""
    sx, sy = target[0] / source[0], target[1] / source[1]
    return [(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1 in boxes]
