"""Fine-tune a small detector on a project's own labels: RT-DETR with its ResNet backbone
(transformers, Apache-2.0), and its held-out mAP with pycocotools' COCOeval.

- :func:`build_detector`: ``tiny`` (a few hundred thousand random weights, built in code, for
  tests and CPU runs), or a transformers RT-DETR folder / hub id to start from (for example
  ``PekingU/rtdetr_r18vd``; its class head is replaced to fit the project's classes).
- :func:`train`: epochs of AdamW over the training images, a checkpoint (weights, optimizer,
  epoch) after every epoch, so a stopped or killed run resumes from the last finished epoch.
- :func:`evaluate`: COCO mAP@0.5 and mAP@0.5:0.95 of the model on held-out images.
- :class:`TrainedDetector`: proposals of a trained model, for the auto-label jobs.

Images are resized to a square of ``image_size`` pixels by transformers' RT-DETR processor (its
PIL version: no torchvision), which also turns the boxes into the model's normalised targets.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrResNetConfig

from sdaug.engine.detect import PLAUSIBLE, Proposals, proposals_from
from sdaug.engine.tiny import seeded
from sdaug.errors import InputError

try:  # transformers 5: the PIL processor has its own name
    from transformers import RTDetrImageProcessorPil as _ImageProcessor
except ImportError:  # transformers 4: RTDetrImageProcessor is the PIL one
    from transformers import RTDetrImageProcessor as _ImageProcessor

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"  # optimizer state and the last finished epoch, beside the weights


@dataclass(frozen=True)
class Example:
    """One training or validation image: pixel xyxy boxes and their class numbers (0-based)."""

    image: Image.Image
    boxes: Sequence[tuple[float, float, float, float]]
    labels: Sequence[int]


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    loss: float
    seconds: float


def tiny_config(num_labels: int) -> RTDetrConfig:
    """A tiny RT-DETR (ResNet backbone of four basic stages), about 0.4 M parameters."""
    backbone = RTDetrResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64, 64], depths=[1, 1, 1, 1],
                                  layer_type="basic", out_features=["stage2", "stage3", "stage4"])
    return RTDetrConfig(backbone_config=backbone, num_labels=num_labels, d_model=32, encoder_hidden_dim=32,
                        encoder_in_channels=[32, 64, 64], decoder_in_channels=[32, 32, 32], encoder_ffn_dim=64,
                        decoder_ffn_dim=64, num_queries=30, decoder_layers=2, encoder_layers=1,
                        decoder_attention_heads=4, encoder_attention_heads=4, num_denoising=10)


def build_detector(base: str, class_names: Sequence[str], load: Callable[[Any], Any] | None = None) -> Any:
    """A detector for ``class_names``: ``tiny`` (random, seeded) or a pretrained RT-DETR loaded by
    ``load(cls, **kwargs)`` (the pipeline manager's cache-then-download loader)."""
    if not class_names:
        raise InputError("train.no_classes")
    names = {i: name for i, name in enumerate(class_names)}
    if base == "tiny":
        config = tiny_config(len(class_names))
        config.id2label, config.label2id = names, {name: i for i, name in names.items()}
        return seeded(11, lambda: RTDetrForObjectDetection(config))
    if load is None:
        raise ValueError(f"cannot load {base!r} without a model loader")
    return load(RTDetrForObjectDetection, id2label=names, label2id={n: i for i, n in names.items()},
                ignore_mismatched_sizes=True)


def processor(image_size: int) -> Any:
    """RT-DETR's preprocessing at ``image_size`` (square) pixels."""
    return _ImageProcessor(size={"height": image_size, "width": image_size})


def _coco_targets(examples: Sequence[Example]) -> list[dict[str, Any]]:
    return [{"image_id": i, "annotations": [
        {"bbox": [x0, y0, x1 - x0, y1 - y0], "category_id": label, "area": (x1 - x0) * (y1 - y0), "iscrowd": 0}
        for (x0, y0, x1, y1), label in zip(example.boxes, example.labels, strict=True)]}
        for i, example in enumerate(examples)]


def train(model: Any, examples: Sequence[Example], folder: Path, *, epochs: int, batch_size: int = 8,
          image_size: int = 128, learning_rate: float = 1e-3, seed: int = 0,
          on_epoch: Callable[[EpochReport], None] | None = None, stop: threading.Event | None = None) -> int:
    """Train ``model`` for up to ``epochs`` epochs, resuming from ``folder``'s checkpoint; returns
    the number of finished epochs. Saves the weights and the checkpoint after every epoch."""
    import time

    # 1. Check the inputs; resume where a checkpoint says.
    if not examples:
        raise InputError("train.no_train_images")
    if not 1 <= epochs <= 10_000:
        raise ValueError(f"epochs must be from 1 to 10000, got {epochs!r}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    start = 0
    if (folder / CHECKPOINT).is_file():
        state = torch.load(folder / CHECKPOINT, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["epoch"])
    prepare = processor(image_size)
    # 2. Epochs of shuffled batches (the order depends on the seed and the epoch only).
    model.train()
    for epoch in range(start, epochs):
        if stop is not None and stop.is_set():
            break
        began, losses = time.perf_counter(), []
        order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        for first in range(0, len(order), batch_size):
            batch = [examples[i] for i in order[first:first + batch_size]]
            inputs = prepare(images=[e.image.convert("RGB") for e in batch], annotations=_coco_targets(batch),
                             return_tensors="pt")
            loss = model(pixel_values=inputs["pixel_values"], labels=inputs["labels"]).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(float(loss.detach()))
        # 3. Weights and checkpoint of the finished epoch (written whole, then renamed).
        folder.mkdir(parents=True, exist_ok=True)
        _save_quietly(model, folder)
        _save_atomic(folder / CHECKPOINT, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                           "epoch": epoch + 1})
        if on_epoch is not None:
            on_epoch(EpochReport(epoch + 1, epochs, sum(losses) / len(losses), time.perf_counter() - began))
        start = epoch + 1
    model.eval()
    return start


def _save_quietly(model: Any, folder: Path) -> None:
    """``save_pretrained`` without its progress bar (one bar per epoch would drown the report)."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(folder)
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def _save_atomic(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    tmp.replace(path)


@torch.no_grad()
def predict(model: Any, images: Sequence[Image.Image], image_size: int, threshold: float = PLAUSIBLE) -> list[dict]:
    """Scores, labels and pixel xyxy boxes per image (transformers' post-processing)."""
    model.eval()
    prepare = processor(image_size)
    inputs = prepare(images=[image.convert("RGB") for image in images], return_tensors="pt")
    outputs = model(pixel_values=inputs["pixel_values"].to(model.device, model.dtype))
    sizes = [(image.height, image.width) for image in images]
    return prepare.post_process_object_detection(outputs, threshold=threshold, target_sizes=sizes)


def evaluate(model: Any, examples: Sequence[Example], image_size: int, batch_size: int = 8) -> dict[str, float]:
    """COCO mAP of ``model`` on ``examples``: ``{"map50": ..., "map": ...}`` (pycocotools' COCOeval)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not examples:
        raise InputError("train.no_val_images")
    truth = {"images": [], "annotations": [], "categories": []}
    labels = {label for e in examples for label in e.labels}
    truth["categories"] = [{"id": label + 1, "name": str(label)} for label in sorted(labels | {0})]
    detections = []
    for first in range(0, len(examples), batch_size):
        batch = examples[first:first + batch_size]
        for offset, (example, found) in enumerate(zip(batch, predict(model, [e.image for e in batch], image_size),
                                                      strict=True)):
            image_id = first + offset + 1
            truth["images"].append({"id": image_id, "width": example.image.width, "height": example.image.height})
            for (x0, y0, x1, y1), label in zip(example.boxes, example.labels, strict=True):
                truth["annotations"].append({"id": len(truth["annotations"]) + 1, "image_id": image_id,
                                             "category_id": label + 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                             "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
            for score, label, box in zip(found["scores"], found["labels"], found["boxes"], strict=True):
                x0, y0, x1, y1 = (float(v) for v in box)
                detections.append({"image_id": image_id, "category_id": int(label) + 1,
                                   "bbox": [x0, y0, x1 - x0, y1 - y0], "score": float(score)})
    if not detections:
        return {"map50": 0.0, "map": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its table
        coco = COCO()
        coco.dataset = truth
        coco.createIndex()
        check = COCOeval(coco, coco.loadRes(detections), "bbox")
        check.evaluate()
        check.accumulate()
        check.summarize()
    return {"map50": max(0.0, float(check.stats[1])), "map": max(0.0, float(check.stats[0]))}


class TrainedDetector:
    """Proposals of a fine-tuned detector (its classes are the project's, in order)."""

    def __init__(self, model: Any, image_size: int, name: str) -> None:
        self.model, self.image_size, self.name = model.eval(), image_size, name

    @classmethod
    def load(cls, folder: Path) -> TrainedDetector:
        info = json.loads((folder / "lineage.json").read_text(encoding="utf-8"))
        model = RTDetrForObjectDetection.from_pretrained(folder, local_files_only=True)
        return cls(model, int(info["image_size"]), f"{folder.name} (trained)")

    def propose(self, images: Sequence[Image.Image], texts: Sequence[str] = (), threshold: float = 0.2) -> list[Proposals]:
        """Boxes of the classes it was trained on (``texts`` is not used: the classes are its own)."""
        return [proposals_from(found, image.size, threshold)
                for image, found in zip(images, predict(self.model, images, self.image_size), strict=True)]
