"""Zero-shot box proposals from class names with OWLv2 (transformers, Apache-2.0).

``ZeroShotDetector.propose(images, texts, threshold)`` returns, per image, the boxes whose best
class text scores at least ``threshold``, after a per-class non-maximum suppression, and an
*uncertainty* in [0, 1]: the mean binary entropy of the scores of the plausible boxes (score at
least :data:`PLAUSIBLE`). A score near 0.5 is the detector at its least sure, so images with
many such boxes are the ones a person should label first (pool-based uncertainty sampling);
an image with no plausible box scores 0 (the detector is sure there is nothing).

Models: ``tiny`` (random weights built in code, for tests), a transformers OWLv2 folder (a path
or a folder in the data folder's ``models/``), or a hub id (default
``google/owlv2-base-patch16-ensemble``; downloaded on first use unless offline, with the same
mirror hint as the generator). They live in the pipeline manager's cache and are used under its
lock, like the diffusion pipelines. The image preprocessing is transformers' PIL processor, so
no torchvision is needed; the suppression is a few lines here for the same reason.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection

from sdaug.engine import sources
from sdaug.engine.manager import PipelineManager
from sdaug.engine.tiny import TINY_VISION, seeded, tiny_text_settings, tiny_tokenizer

try:  # transformers 5: the PIL processor has its own name (Owlv2ImageProcessor needs torchvision)
    from transformers import Owlv2ImageProcessorPil as _ImageProcessor
except ImportError:  # transformers 4: Owlv2ImageProcessor is the PIL one
    from transformers import Owlv2ImageProcessor as _ImageProcessor

DEFAULT_DETECTOR = "google/owlv2-base-patch16-ensemble"
TINY_DETECTOR_SIZE = 64
PLAUSIBLE = 0.05  # boxes scoring below this count as background for the uncertainty
NMS_IOU = 0.5


@dataclass(frozen=True)
class Proposal:
    """One proposed box: the index of its class text, its score and pixel xyxy."""

    class_index: int
    score: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Proposals:
    """What the detector says about one image."""

    boxes: list[Proposal]
    uncertainty: float


class ZeroShotDetector:
    """An open-vocabulary detector: boxes for any list of class texts."""

    def __init__(self, model: Owlv2ForObjectDetection, tokenizer: CLIPTokenizer, processor: Any, name: str,
                 lock: Any = None) -> None:
        self.model, self.tokenizer, self.processor, self.name = model.eval(), tokenizer, processor, name
        self.lock = lock

    @classmethod
    def load(cls, detector: str, manager: PipelineManager) -> ZeroShotDetector:
        """The detector ``detector`` (``tiny``, a folder or a hub id), kept in ``manager``'s cache."""
        source = sources.resolve_transformers(detector or DEFAULT_DETECTOR, manager.settings, "detector")
        return manager.auxiliary(("detector", source.location), lambda: cls._build(source, manager))

    @classmethod
    def _build(cls, source: sources.ModelSource, manager: PipelineManager) -> ZeroShotDetector:
        if source.kind == sources.TINY:
            return cls(tiny_detector(), tiny_tokenizer(), tiny_detector_processor(), sources.TINY, manager.lock)
        model = manager.load_pretrained(Owlv2ForObjectDetection, source).to(manager.device)
        tokenizer = manager.load_pretrained(CLIPTokenizer, source)
        processor = manager.load_pretrained(_ImageProcessor, source)
        return cls(model, tokenizer, processor, source.name, manager.lock)

    def propose(self, images: Sequence[Image.Image], texts: Sequence[str], threshold: float = 0.2) -> list[Proposals]:
        """Boxes for each of ``images`` (see the module docstring)."""
        # 1. Check the inputs.
        if not texts:
            raise ValueError("give at least one class to look for")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be above 0 and at most 1, got {threshold!r}")
        if not images:
            return []
        # 2. Run the model (under the GPU lock of the manager).
        rgb = [image.convert("RGB") for image in images]
        with self.lock if self.lock is not None else contextlib.nullcontext():
            outputs = self._forward(rgb, list(texts))
        # 3. Scores and boxes at each image's size; suppression; uncertainty.
        sizes = torch.tensor([(image.height, image.width) for image in rgb])
        found = self.processor.post_process_object_detection(outputs, threshold=PLAUSIBLE, target_sizes=sizes)
        return [proposals_from(detections, image.size, threshold) for image, detections in zip(rgb, found, strict=True)]

    @torch.no_grad()
    def _forward(self, images: list[Image.Image], texts: list[str]) -> Any:
        length = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer(texts, padding="max_length", truncation=True,
                                max_length=length, return_tensors="pt")
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"]
        device = self.model.device
        batch_ids = tokens["input_ids"].repeat(len(images), 1).to(device)
        batch_mask = tokens["attention_mask"].repeat(len(images), 1).to(device)
        return self.model(input_ids=batch_ids, attention_mask=batch_mask,
                          pixel_values=pixels.to(device, self.model.dtype))


def proposals_from(found: dict[str, torch.Tensor], size: tuple[int, int], threshold: float) -> Proposals:
    """A detector's post-processed output for one image (``scores``, ``labels``, pixel xyxy ``boxes``
    down to :data:`PLAUSIBLE`) as :class:`Proposals`: suppressed, thresholded, clipped, with the
    image's uncertainty."""
    scores, labels, boxes = found["scores"], found["labels"], found["boxes"]
    uncertainty = float(entropy(scores).mean()) if len(scores) else 0.0
    keep = [i for i in suppress(boxes, scores, labels) if scores[i] >= threshold]
    candidates = [Proposal(int(labels[i]), float(scores[i]), _clip(boxes[i], size)) for i in keep]
    return Proposals([p for p in candidates if _has_area(p.box)], uncertainty)


def entropy(scores: torch.Tensor) -> torch.Tensor:
    """Binary entropy in bits (1 at a score of 0.5, 0 at 0 or 1)."""
    p = scores.clamp(1e-6, 1 - 1e-6)
    return -(p * p.log2() + (1 - p) * (1 - p).log2())


def suppress(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor) -> list[int]:
    """Indices kept by greedy non-maximum suppression per class, best first."""
    kept: list[int] = []
    for index in scores.argsort(descending=True).tolist():
        if all(labels[k] != labels[index] or _iou(boxes[k], boxes[index]) < NMS_IOU for k in kept):
            kept.append(index)
    return kept


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    width = (torch.minimum(a[2], b[2]) - torch.maximum(a[0], b[0])).clamp(min=0)
    height = (torch.minimum(a[3], b[3]) - torch.maximum(a[1], b[1])).clamp(min=0)
    inter = float(width * height)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def _has_area(box: tuple[float, float, float, float]) -> bool:
    """At least one pixel wide and high (boxes of the image's edge clip to nothing)."""
    return box[2] - box[0] >= 1 and box[3] - box[1] >= 1


def _clip(box: torch.Tensor, size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = size
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height))


@functools.lru_cache(maxsize=1)
def _tiny_detector_weights() -> Owlv2ForObjectDetection:
    vision = {**TINY_VISION, "image_size": TINY_DETECTOR_SIZE, "patch_size": 16}
    return seeded(7, lambda: Owlv2ForObjectDetection(Owlv2Config(
        text_config=tiny_text_settings(max_positions=16), vision_config=vision, projection_dim=32)))


def tiny_detector() -> Owlv2ForObjectDetection:
    """A tiny OWLv2 with random weights, built in code, on the tiny tokenizer."""
    return copy.deepcopy(_tiny_detector_weights())


def tiny_detector_processor() -> Any:
    """OWLv2's image preprocessing at the tiny detector's size."""
    return _ImageProcessor(size={"height": TINY_DETECTOR_SIZE, "width": TINY_DETECTOR_SIZE})
