"""A synthetic detection dataset built in code: coloured shapes of three classes on textured
backgrounds, for measuring the detectors (``tests/bench/bench_autolabel.py``) and for tests.

Classes: ``square`` (red), ``disc`` (green), ``triangle`` (blue); one to three objects per image,
sizes and places drawn from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("square", "disc", "triangle")
_COLOURS = ((210, 40, 40), (40, 180, 60), (50, 70, 220))

Box = tuple[float, float, float, float]


def shapes_image(seed: int, size: int = 128) -> tuple[Image.Image, list[Box], list[int]]:
    """One image with its pixel xyxy boxes and class numbers."""
    rng = np.random.default_rng(seed)
    texture = np.clip(rng.normal(128, 35, (size // 4, size // 4, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(texture).resize((size, size), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    draw = ImageDraw.Draw(image)
    boxes: list[Box] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, 4))):
        side = float(rng.uniform(0.18, 0.4) * size)
        x0, y0 = (float(v) for v in rng.uniform(0, size - side, 2))
        box = (x0, y0, x0 + side, y0 + side)
        if any(_overlap(box, other) > 0.1 for other in boxes):
            continue
        label = int(rng.integers(0, len(CLASSES)))
        colour = tuple(int(c) for c in np.clip(np.array(_COLOURS[label]) + rng.integers(-25, 26, 3), 0, 255))
        if label == 0:
            draw.rectangle(box, fill=colour)
        elif label == 1:
            draw.ellipse(box, fill=colour)
        else:
            draw.polygon([(x0 + side / 2, y0), (x0, y0 + side), (x0 + side, y0 + side)], fill=colour)
        boxes.append(box)
        labels.append(label)
    return image, boxes, labels


def _overlap(a: Box, b: Box) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return width * height / ((a[2] - a[0]) * (a[3] - a[1]))
