"""``Train a detector on my labels``: fine-tune RT-DETR on the project's labelled images.

The training images are the labelled and reviewed *source* images of the train split, with
every box a person made or accepted (a detector's unaccepted proposals are left out); the
held-out mAP is measured on the val split. The model lives in ``<project>/detectors/<name>/``
beside ``lineage.json`` (base model, classes, which images, when, epochs, mAP), and a checkpoint
after every epoch lets a stopped or killed run resume: run the same command again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sdaug.dataset.records import ImageFilter
from sdaug.dataset.store import Project
from sdaug.errors import InputError
from sdaug.prompts.metadata import write_atomic

logger = logging.getLogger(__name__)

DETECTORS_DIR = "detectors"
TRAINED_PREFIX = "trained:"  # --detector trained:NAME picks a detector trained in the project
TRAINED_STATUSES = ("labelled", "reviewed")


@dataclass(frozen=True)
class TrainSpec:
    """How to train. ``base``: ``tiny`` or an RT-DETR folder / hub id to start from."""

    name: str = "detector"
    base: str = "PekingU/rtdetr_r18vd"
    epochs: int = 20
    batch_size: int = 8
    image_size: int = 320
    learning_rate: float = 1e-3

    def validate(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise InputError("train.name", name=self.name)
        for field, low, high in (("epochs", 1, 10_000), ("batch_size", 1, 256), ("image_size", 64, 1536)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError("value.whole_range", field=field, low=low, high=high, value=value)
        if not 0 < self.learning_rate < 1:
            raise InputError("train.learning_rate", value=self.learning_rate)


@dataclass
class TrainResult:
    folder: Path
    epochs: int
    map50: float
    map: float
    train_images: int
    val_images: int


def detector_folder(project: Project, name: str) -> Path:
    return Path(project.folder) / DETECTORS_DIR / name


def examples(project: Project, split: str) -> tuple[list, list[int]]:
    """The labelled source images of ``split`` as training examples, and their image ids."""
    from PIL import Image

    from sdaug.engine.finetune import Example

    position = {record.id: index for index, record in enumerate(project.classes())}
    where = ImageFilter(status=TRAINED_STATUSES, split=split, kind="source")
    records = project.list_images(0, max(1, project.count_images(where)), where)
    boxes = project.boxes_by_image(record.id for record in records)
    found, ids = [], []
    for record in records:
        kept = [box for box in boxes.get(record.id, []) if box.origin != "auto"]
        with Image.open(project.image_path(record)) as opened:
            image = opened.convert("RGB")
        found.append(Example(image, [(b.x1, b.y1, b.x2, b.y2) for b in kept], [position[b.class_id] for b in kept]))
        ids.append(record.id)
    return found, ids


def train_detector(project: Project, spec: TrainSpec, manager: object,
                   on_epoch: Callable[[object], None] | None = None,
                   stop: threading.Event | None = None) -> TrainResult:
    """Train (or resume training) the detector ``spec.name`` of ``project``; see the module docstring."""
    from sdaug.engine import finetune, sources

    # 1. Check the spec and the data; a resumed run must be the same training.
    spec.validate()
    classes = [record.name for record in project.classes()]
    train_set, train_ids = examples(project, "train")
    val_set, val_ids = examples(project, "val")
    if not train_set:
        raise InputError("train.no_images")
    folder = detector_folder(project, spec.name)
    lineage_path = folder / "lineage.json"
    if lineage_path.is_file():
        before = json.loads(lineage_path.read_text(encoding="utf-8"))
        if before["classes"] != classes or before["base"] != spec.base or before["image_size"] != spec.image_size:
            raise InputError("train.other_classes", name=spec.name)

    # 2. The model: the last checkpoint, else the base.
    def load(cls: object, **kwargs: object) -> object:
        source = sources.resolve_transformers(spec.base, manager.settings, "detector")  # type: ignore[attr-defined]
        return manager.load_pretrained(cls, source, None, **kwargs)  # type: ignore[attr-defined]

    model = finetune.build_detector(spec.base, classes, load)
    epochs = finetune.train(model, train_set, folder, epochs=spec.epochs, batch_size=spec.batch_size,
                            image_size=spec.image_size, learning_rate=spec.learning_rate, on_epoch=on_epoch,
                            stop=stop)

    # 3. Held-out mAP and the lineage.
    scores = finetune.evaluate(model, val_set, spec.image_size) if val_set else {"map50": 0.0, "map": 0.0}
    lineage = {**asdict(spec), "classes": classes, "train_image_ids": train_ids, "val_image_ids": val_ids,
               "epochs_done": epochs, "trained_at": time.time(), **scores}
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(lineage, indent=1, ensure_ascii=False).encode("utf-8")
    write_atomic(lineage_path, lambda handle: handle.write(text))
    return TrainResult(folder, epochs, scores["map50"], scores["map"], len(train_set), len(val_set))
