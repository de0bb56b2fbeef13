"""Proposal jobs: run a zero-shot detector over a project's images, resumably.

A job is one work item per image (the same job tables as augmentation jobs). Each finished
image stores its proposals and marks its item done in one transaction, so a job stopped,
killed (kill -9) or run again continues where it was and never duplicates a proposal (an
image's proposals are replaced, not added to). An image that cannot be read fails its own item.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sdaug.autolabel.train import TRAINED_PREFIX, detector_folder
from sdaug.dataset.records import Box, ImageFilter, Job, JobItemSpec, JobProgress
from sdaug.dataset.store import Project
from sdaug.errors import InputError, failure, record

logger = logging.getLogger(__name__)

DEFAULT_DETECTOR = "google/owlv2-base-patch16-ensemble"  # the same as sdaug.engine.detect's (no torch here)
PRESET = "autolabel"  # the job items' preset column
ProgressCallback = Callable[[JobProgress], None]


@dataclass(frozen=True)
class AutolabelSpec:
    """What a proposal job does. ``batch_size`` is not part of its :attr:`key`."""

    detector: str = DEFAULT_DETECTOR
    threshold: float = 0.2
    only_unlabelled: bool = True
    batch_size: int = 4

    def validate(self) -> None:
        if not self.detector.strip():
            raise InputError("autolabel.no_detector")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float) or not 0 < self.threshold <= 1:
            raise InputError("autolabel.threshold", value=self.threshold)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 64:
            raise InputError("value.whole_range", field="batch size", low=1, high=64, value=self.batch_size)

    @property
    def key(self) -> str:
        identity = {k: v for k, v in asdict(self).items() if k != "batch_size"}
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"autolabel-{digest[:20]}"


def create_autolabel_job(project: Project, spec: AutolabelSpec) -> Job:
    """The job of ``spec`` with one item per image, or the existing one (resume)."""
    spec.validate()
    if not project.classes():
        raise InputError("autolabel.no_classes")
    if spec.detector.startswith(TRAINED_PREFIX):
        _trained_folder(project, spec.detector.removeprefix(TRAINED_PREFIX))
    existing = project.job_by_key(spec.key)
    if existing is not None:
        return existing
    where = ImageFilter(kind="source", status=("unlabelled",) if spec.only_unlabelled else None)
    images = project.list_images(0, max(1, project.count_images(where)), where)
    if not images:
        raise InputError("autolabel.no_images")
    items = [JobItemSpec(source_image_id=image.id, preset=PRESET, variant_index=0, seed=0) for image in images]
    return project.create_job(spec.key, {**asdict(spec), "kind": PRESET}, items)


def _trained_folder(project: Project, name: str) -> Path:
    folder = detector_folder(project, name)
    if not (folder / "lineage.json").is_file():
        raise InputError("autolabel.no_trained", name=name)
    return folder


def trained_detector(project: Project, name: str) -> object:
    """A detector trained on ``project`` (``sdaug train-detector``), checked against its classes."""
    from sdaug.engine.finetune import TrainedDetector

    folder = _trained_folder(project, name)
    lineage = json.loads((folder / "lineage.json").read_text(encoding="utf-8"))
    if lineage["classes"] != [c.name for c in project.classes()]:
        raise InputError("autolabel.classes_changed", name=name, classes=str(lineage["classes"]))
    return TrainedDetector.load(folder)


def run_autolabel(project: Project, job_id: int, manager: object, on_progress: ProgressCallback | None = None,
                  stop: threading.Event | None = None) -> JobProgress:
    """Propose boxes for every pending image of the job; returns the job's progress."""
    from sdaug.augment.making import load_source
    from sdaug.engine.detect import ZeroShotDetector
    from sdaug.engine.semantic import class_prompt

    # 1. The detector and what it looks for.
    job = project.get_job(job_id)
    spec = AutolabelSpec(**{k: v for k, v in job.config.items() if k != "kind"})
    classes = project.classes()
    if spec.detector.startswith(TRAINED_PREFIX):  # fine-tuned on this project: its classes, in order
        detector = trained_detector(project, spec.detector.removeprefix(TRAINED_PREFIX))
    else:
        detector = ZeroShotDetector.load(spec.detector, manager)  # type: ignore[arg-type]
    texts = [class_prompt(c.name, c.description) for c in classes]
    project.set_job_state(job_id, "running")

    # 2. Batches of pending images: propose, then store each image with its item in one transaction.
    while stop is None or not stop.is_set():
        items = project.pending_items(job_id, limit=spec.batch_size)
        if not items:
            break
        readable = []
        for item in items:
            try:
                readable.append((item, load_source(project, project.get_image(item.source_image_id))))
            except ValueError as exc:
                project.mark_item_failed(item.id, record(failure(exc)))
        images = [image for _, image in readable]
        found = detector.propose(images, texts, spec.threshold) if images else []
        for (item, _), proposals in zip(readable, found, strict=True):
            boxes = [Box(classes[p.class_index].id, *p.box, score=p.score) for p in proposals.boxes]
            project.add_proposals(item.source_image_id, boxes, detector=detector.name,
                                  uncertainty=proposals.uncertainty, job_item_id=item.id)
        if on_progress is not None:
            on_progress(project.job_progress(job_id))

    # 3. The job's state.
    progress = project.job_progress(job_id)
    state = "stopped" if progress.pending else ("failed" if progress.failed else "done")
    project.set_job_state(job_id, state)
    return progress
