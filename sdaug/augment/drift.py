"""Drift check: does each carried box of a variant still show the source's object?

For every box the source and variant crops (with a small margin) are compared on *structure*
only, so the intended change of colour, brightness, fog or rain does not count against them:

1. grayscale, a light blur (rain streaks, snow flakes and sensor noise are fine texture);
2. gradient magnitude (Sobel), i.e. where the edges are;
3. local contrast normalisation: each gradient map is divided by its local RMS, so fog or night
   that weakens every edge by the same factor changes nothing; a flat region stays flat;
4. SSIM of the two normalised maps, averaged over the crop weighted by edge strength (the
   larger raw gradient of the two images), and clipped to [0, 1]. Flat areas, where the
   normalised maps are mostly sensor noise, weigh little; a crop with no edges in either image
   scores 1 (nothing there could have drifted).

An object painted over (flat colour, or random texture) has no edges where the source had them,
or edges elsewhere, and scores low. The same score on the whole image (downscaled) catches a
denoising strength set too high, where the scene itself moved.

SSIM is written here (a few lines of OpenCV) rather than taken from scikit-image so that the
project does not need that dependency for one function; the formula is the standard one of
Wang et al. (2004) with a Gaussian window (sigma 1.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from sdaug.augment.presets import DriftThresholds

Box = Sequence[float]  # pixel (x0, y0, x1, y1)

_MARGIN = 0.1  # of the box size, each side
_MIN_CROP = 32  # crops are upscaled to at least this many pixels on their short side
_MAX_SIDE = 256  # and downscaled to at most this on their long side (speed)
_EDGE_FLOOR = 0.1  # local gradient RMS (Sobel of gray in [0, 1]) below this counts as flat
_FLAT = 0.02  # a crop whose strongest (smoothed) gradient is below this has no structure at all


@dataclass
class DriftReport:
    """Scores in [0, 1] (1 = same structure): one per box, in the order given, and the image's."""

    box_scores: list[float] = field(default_factory=list)
    image_score: float = 1.0
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    @property
    def box_passed(self) -> list[bool]:
        return [score >= self.thresholds.box_min for score in self.box_scores]

    @property
    def image_passed(self) -> bool:
        return self.image_score >= self.thresholds.image_min

    @property
    def passed(self) -> bool:
        """True when every box and the whole image reach their thresholds."""
        return self.image_passed and all(self.box_passed)


def check_variant(source_img: Image.Image, variant_img: Image.Image, boxes: Sequence[Box],
                  thresholds: DriftThresholds | None = None) -> DriftReport:
    """Score every box (pixel xyxy in the *variant's* coordinates) and the whole image.

    The source is resized to the variant's size first if they differ, so boxes carried to a
    variant of another size are compared at the same place.
    """
    # 1. Both images as grayscale float at the variant's size.
    thresholds = thresholds or DriftThresholds()
    width, height = variant_img.size
    source = _gray(source_img.resize((width, height), Image.Resampling.BILINEAR)
                   if source_img.size != variant_img.size else source_img)
    variant = _gray(variant_img)

    # 2. One score per box, on the crop plus a margin.
    scores = []
    for box in boxes:
        x0, y0, x1, y1 = _crop_window(box, width, height)
        scores.append(structure_similarity(source[y0:y1, x0:x1], variant[y0:y1, x0:x1]))

    # 3. The whole image.
    return DriftReport(box_scores=scores, image_score=structure_similarity(source, variant), thresholds=thresholds)


def structure_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Structure score in [0, 1] of two grayscale float arrays of the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"the two crops differ in shape: {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("the crop is empty (a box of zero width or height)")
    (map_a, strength_a), (map_b, strength_b) = _edge_map(_rescale(a)), _edge_map(_rescale(b))
    weight = np.maximum(strength_a, strength_b)
    if float(weight.max()) < _FLAT:
        return 1.0
    # The weighted mean in float64, then rounded to float32: a float32 sum depends on the
    # array's memory alignment, which made the same variant score differently run to run.
    score = np.average(_ssim_map(map_a, map_b).astype(np.float64), weights=weight.astype(np.float64))
    return float(np.float32(np.clip(score, 0.0, 1.0)))


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _crop_window(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    if len(box) != 4:
        raise ValueError(f"a box must be (x0, y0, x1, y1) in pixels, got {box!r}")
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {box!r} has no area (x1 must be > x0 and y1 > y0)")
    mx, my = max(2.0, (x1 - x0) * _MARGIN), max(2.0, (y1 - y0) * _MARGIN)
    left, top = max(0, int(np.floor(x0 - mx))), max(0, int(np.floor(y0 - my)))
    right, bottom = min(width, int(np.ceil(x1 + mx))), min(height, int(np.ceil(y1 + my)))
    if right - left < 2 or bottom - top < 2:
        raise ValueError(f"box {box!r} lies outside the {width}x{height} image")
    return left, top, right, bottom


def _rescale(gray: np.ndarray) -> np.ndarray:
    """Bring a crop to a size where the 7-pixel SSIM window means the same thing everywhere."""
    h, w = gray.shape
    scale = max(_MIN_CROP / min(h, w), 1.0) if min(h, w) < _MIN_CROP else min(_MAX_SIDE / max(h, w), 1.0)
    if scale == 1.0:
        return gray
    size = (max(2, round(w * scale)), max(2, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)


def _edge_map(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The locally contrast-normalised gradient magnitude, and the raw magnitude (its weight)."""
    smooth = cv2.GaussianBlur(gray, (0, 0), 1.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy)
    local_rms = np.sqrt(cv2.GaussianBlur(magnitude * magnitude, (0, 0), 4.0))
    return magnitude / np.maximum(local_rms, _EDGE_FLOOR), cv2.GaussianBlur(magnitude, (7, 7), 1.5)


def _ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    c1, c2 = 0.01**2, 0.03**2  # dynamic range 1: the normalised maps are mostly in [0, 2]
    mu_x, mu_y = cv2.GaussianBlur(x, (7, 7), 1.5), cv2.GaussianBlur(y, (7, 7), 1.5)
    var_x = cv2.GaussianBlur(x * x, (7, 7), 1.5) - mu_x * mu_x
    var_y = cv2.GaussianBlur(y * y, (7, 7), 1.5) - mu_y * mu_y
    cov = cv2.GaussianBlur(x * y, (7, 7), 1.5) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
