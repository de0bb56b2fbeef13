"""What the Auto-label sub-tab of the Annotate tab does, without gradio (the tests call it directly).

- :func:`propose`: a proposal job (:mod:`sdaug.autolabel.jobs`) run with a progress report of
  done / total / failed and an ETA from the per-image times measured in this run; the same
  settings again resume the job. The detector is checked before anything loads
  (:func:`check_model`): a missing model is one line that says how to get it.
- :func:`train`: ``Train a detector on my labels`` (:mod:`sdaug.autolabel.train`), refusing
  plainly when the train split has no labelled image; resumes from the last checkpoint.
- :func:`next_rows`: the images to label first (:meth:`~sdaug.dataset.proposals.ProposalStore.labelling_order`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sdaug.augment.jobs import measured_seconds_per_item
from sdaug.autolabel.jobs import DEFAULT_DETECTOR, AutolabelSpec, create_autolabel_job, run_autolabel
from sdaug.autolabel.train import (
    DETECTORS_DIR,
    TRAINED_PREFIX,
    TRAINED_STATUSES,
    TrainResult,
    TrainSpec,
    train_detector,
)
from sdaug.dataset.records import ImageFilter, JobProgress
from sdaug.dataset.store import Project
from sdaug.errors import KeyedError
from sdaug.settings import Settings

DEFAULT_BASE = TrainSpec.base
TINY = "tiny"
NEXT_ROWS = 50

MESSAGES = {
    "no_classes": "the project has no classes: add the classes the detector should look for in Draw boxes first",
    "no_train": "no labelled images in the train split: label some images (or mark them reviewed) whose split "
                "is train, then train again",
    "no_images": "no images without labels: untick “only images without labels” to get proposals for the "
                 "labelled images too",
    "no_proposals": "this image has no proposals",
}


class AutolabelError(KeyedError):
    """A refused action of the Auto-label sub-tab (see :data:`MESSAGES`)."""

    messages = MESSAGES
    prefix = "al.err."


# Detectors -----------------------------------------------------------------------------------
def trained_detectors(project: Project) -> list[str]:
    """Names of the detectors trained in ``project`` (each has a ``lineage.json``)."""
    folder = Path(project.folder) / DETECTORS_DIR
    return sorted(p.name for p in folder.iterdir() if (p / "lineage.json").is_file()) if folder.is_dir() else []


def detector_choices(project: Project | None, tiny: bool) -> list[str]:
    """The zero-shot default, ``tiny`` (an app started with ``--model tiny``), then each detector
    trained in ``project`` as ``trained:NAME``."""
    trained = trained_detectors(project) if project is not None else []
    return [DEFAULT_DETECTOR, *([TINY] if tiny else []), *(TRAINED_PREFIX + name for name in trained)]


def base_choices(tiny: bool) -> list[str]:
    return [DEFAULT_BASE, *([TINY] if tiny else [])]


def check_model(name: str, settings: Settings, what: str = "detector") -> None:
    """Raise a one-line ``ValueError`` before anything loads when model ``name`` cannot be had: not
    a folder or hub id, or a hub id not in the cache while offline (the message says how to get it,
    with the mirror hint). A trained detector is checked by the job itself."""
    from huggingface_hub import is_offline_mode, try_to_load_from_cache

    from sdaug.engine import sources
    from sdaug.engine.errors import ModelNotFoundError

    if name.startswith(TRAINED_PREFIX):
        return
    source = sources.resolve_transformers(name, settings, what)
    if source.kind == "hub" and is_offline_mode() and not isinstance(
            try_to_load_from_cache(source.location, "config.json"), str):
        raise ModelNotFoundError.for_hub(source.location, settings.models_dir, "HF_HUB_OFFLINE is set")


# Timing --------------------------------------------------------------------------------------
@dataclass
class Pace:
    """Seconds per item measured from progress reports; the first batch (it loads the model) is
    left out once there is a second one."""

    finished: int = 0
    last: float = field(default_factory=time.monotonic)
    batches: list[tuple[float, int]] = field(default_factory=list)

    def report(self, finished: int) -> None:
        now = time.monotonic()
        if finished > self.finished:
            self.batches.append((now - self.last, finished - self.finished))
        self.finished, self.last = finished, now

    def eta(self, remaining: int) -> float | None:
        per_item = measured_seconds_per_item(self.batches)
        return remaining * per_item if per_item is not None else None


# Proposals -----------------------------------------------------------------------------------
@dataclass
class ProposeStatus:
    """Where a proposal job stands; ``boxes`` proposals wait on ``images`` images."""

    job_id: int
    done: int
    total: int
    failed: int
    eta_s: float | None = None
    boxes: int = 0
    images: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return (self.done + self.failed) / self.total if self.total else 1.0


def set_descriptions(project: Project, descriptions: dict[str, str]) -> None:
    """Store the descriptions (by class name) that differ from the stored ones."""
    for record in project.classes():
        text = " ".join(str(descriptions.get(record.name, record.description) or "").split())
        if text != record.description:
            project.set_class_description(record.id, text)


def propose(project: Project, spec: AutolabelSpec, manager: Callable[[], object], settings: Settings,
            on_progress: Callable[[ProposeStatus], None] | None = None,
            stop: threading.Event | None = None) -> ProposeStatus:
    """Run (or resume) the proposal job of ``spec``; returns its status with the proposal counts.
    ``manager()`` gives the pipeline manager; it is called after the checks (it may import torch)."""
    # 1. Check everything that can be checked before a model loads.
    spec.validate()
    if not project.classes():
        raise AutolabelError("no_classes")
    check_model(spec.detector, settings)
    where = ImageFilter(kind="source", status=("unlabelled",) if spec.only_unlabelled else None)
    if project.job_by_key(spec.key) is None and not project.count_images(where):
        raise AutolabelError("no_images")
    job = create_autolabel_job(project, spec)

    # 2. Run it, reporting each batch with the ETA measured so far.
    pace = Pace(finished=sum(_counts(project.job_progress(job.id))[:2]))

    def report(progress: JobProgress) -> None:
        done, failed, total = _counts(progress)
        pace.report(done + failed)
        if on_progress is not None:
            on_progress(ProposeStatus(job.id, done, total, failed, pace.eta(total - done - failed)))

    run_autolabel(project, job.id, manager(), on_progress=report, stop=stop)
    return propose_status(project, job.id)


def _counts(progress: JobProgress) -> tuple[int, int, int]:
    return progress.done, progress.failed, progress.total


def propose_status(project: Project, job_id: int) -> ProposeStatus:
    """The stored status of proposal job ``job_id``: how many boxes wait on how many images."""
    done, failed, total = _counts(project.job_progress(job_id))
    counts = [project.proposal_count(item.source_image_id) for item in project.job_items(job_id, "done")]
    failures = [f"{project.get_image(item.source_image_id).original_name}: {item.error}"
                for item in project.job_items(job_id, "failed")]
    return ProposeStatus(job_id, done, total, failed, None, sum(counts), sum(1 for c in counts if c), failures)


# Training ------------------------------------------------------------------------------------
def labelled_counts(project: Project) -> tuple[int, int]:
    """Labelled (or reviewed) source images of the train and the val split."""
    return tuple(project.count_images(ImageFilter(status=TRAINED_STATUSES, split=split, kind="source"))
                 for split in ("train", "val"))  # type: ignore[return-value]


def train(project: Project, spec: TrainSpec, manager: Callable[[], object], settings: Settings,
          on_epoch: Callable[[object], None] | None = None, stop: threading.Event | None = None) -> TrainResult:
    """Train (or resume) detector ``spec.name``; refuses before ``manager()`` is called (and
    anything loads) when there is nothing to train on or the base model cannot be had."""
    spec.validate()
    if not project.classes():
        raise AutolabelError("no_classes")
    if labelled_counts(project)[0] == 0:
        raise AutolabelError("no_train")
    check_model(spec.base, settings)
    return train_detector(project, spec, manager(), on_epoch=on_epoch, stop=stop)


# Next to label -------------------------------------------------------------------------------
def next_rows(project: Project, limit: int = NEXT_ROWS) -> list[list[object]]:
    """[file, uncertainty, proposals, status] of the images to label first, least sure first."""
    rows = []
    for image_id, uncertainty in project.labelling_order(limit):
        record = project.get_image(image_id)
        rows.append([record.original_name, f"{uncertainty:.2f}" if uncertainty is not None else "—",
                     project.proposal_count(image_id), record.status])
    return rows


def next_to_label(project: Project) -> int | None:
    """The image to label first (None when every source image is labelled)."""
    order = project.labelling_order(1)
    return order[0][0] if order else None
