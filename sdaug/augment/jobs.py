"""Augmentation jobs: sources × presets × variants, run by a background worker.

A job is recorded in the project (``jobs`` and ``job_items`` tables, see
:mod:`sdaug.dataset.store`); this module decides what goes into it and runs it.

- :class:`JobSpec` says what to make: preset names, variants per source and preset, engine,
  model and the source filter (split, review status, class). Its :attr:`JobSpec.key` is a hash
  of all that, so :func:`create_job` with the same spec returns the same job: running the same
  command again resumes it. (Sources added to the project after the job was created are not
  added to it; a new spec, e.g. another variant count, makes a new job.)
- Every item has a deterministic seed (:func:`item_seed`: job key, source sha256, preset,
  variant index), so a stopped, killed or resumed job makes exactly the images it would have
  made in one go, with no duplicates and no gaps: an item is marked done in the same
  transaction that records its variant (``Project.add_variant``).
- Items are ordered preset by preset, so a batch is several sources with one preset: one
  img2img / ControlNet request with several init images and explicit ``seeds``.
- :class:`JobRunner` runs a job in a daemon thread, independent of any browser tab, with
  cooperative :meth:`JobRunner.stop` and :meth:`JobRunner.status` (done/total, failed, images
  per second, ETA). :func:`runner_for` returns the one runner of a job in this process, so
  every tab (and the CLI) sees the same one.
- A source image that cannot be processed (missing, undecodable, changed on disk, too large
  for the engine) fails its own items, with a message naming the file; the rest of the job
  goes on. Each run first puts the failed items back that failed fewer than
  :data:`MAX_ITEM_ATTEMPTS` times; ``retry_failed=True`` (``--retry-failed``, the UI's retry
  button) puts back all of them. A job ends ``done`` only when every item is done; with
  failed items it ends ``failed``.
- What a killed run leaves in ``images/`` (temp files of its writes) is removed when the next
  run starts or a run ends (:func:`clean_stale_temp_files`).
- Each variant gets every source box, scaled when its size differs, with a drift score
  (:mod:`sdaug.augment.drift`) and, with :attr:`JobSpec.semantic_model`, a CLIP score; it is
  stored ``labelled`` when every box and the whole image pass the preset's thresholds, else
  ``review``.
- :func:`~sdaug.augment.making.make_variants` (make, check, encode; :mod:`sdaug.augment.making`) and the recording (``JobRunner._record_made`` ->
  :meth:`Project.record_variants`) are shared by both backends: in-process, and Ray
  (:mod:`sdaug.augment.ray_backend`, imported only when used; :func:`new_runner` picks one).
  A source that cannot be processed fails its own items the same way on both.
- One runner per job at a time, in any process: a runner takes the job's lock
  (:meth:`Project.job_lock`) when it starts; a second one is refused with a ``ValueError``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from sdaug.augment.drift import DriftReport
from sdaug.augment.making import (
    MadeVariant,
    VariantOptions,
    WorkItem,
    carry_and_check,
    describe_source,
    load_source,
    make_variants,
)
from sdaug.augment.presets import DriftThresholds, Preset, get_preset
from sdaug.dataset.store import (
    SPLITS,
    STATUSES,
    Box,
    ImageFilter,
    ImageRecord,
    Job,
    JobItem,
    JobItemSpec,
    Project,
)
from sdaug.engine.sources import resolve_model
from sdaug.errors import InputError, Phrase, describe, failure, from_record, record, render
from sdaug.prompts.metadata import TEMP_PREFIX, temp_file_is_orphaned
from sdaug.settings import Settings

logger = logging.getLogger(__name__)

ENGINES = ("diffusion", "classic")
BACKENDS = ("in-process", "ray")  # where a job's batches run (see sdaug.augment.ray_backend)
# Sources used when no status filter is given: images a person has labelled.
DEFAULT_SOURCE_STATUSES = ("labelled", "reviewed")
# A run puts failed items back to pending until they failed this many times (then only a
# forced retry does).
MAX_ITEM_ATTEMPTS = 3
# Temp files of variants written by sdaug versions before write_atomic named them by process.
_LEGACY_VARIANT_TEMP = ".variant-"
_CLASSIC_BATCH = 16  # items fetched at a time for the classic engine (it works one by one)
_SOURCE_CACHE = 64  # decoded source images kept in memory


@dataclass(frozen=True)
class JobSpec:
    """What a job makes. Everything but ``batch_size`` is part of its :attr:`key`."""

    presets: tuple[str, ...]
    variants: int = 1
    engine: str = "diffusion"
    model: str = ""
    split: str | None = None
    status: str | None = None
    class_name: str | None = None
    batch_size: int = 4
    # A CLIP model for the semantic check of every carried box ("" = edge drift check only).
    semantic_model: str = ""

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field and what is allowed."""
        if not self.presets:
            raise InputError("job.no_preset")
        if len(set(self.presets)) != len(self.presets):
            raise InputError("job.preset_twice", presets=", ".join(self.presets))
        if isinstance(self.variants, bool) or not isinstance(self.variants, int) or not 1 <= self.variants <= 1000:
            raise InputError("value.whole_range", field="variants", low=1, high=1000, value=self.variants)
        if self.engine not in ENGINES:
            raise InputError("value.choice", field="engine", allowed=", ".join(ENGINES), value=self.engine)
        if self.split is not None and self.split not in SPLITS:
            raise InputError("value.choice", field="split", allowed=", ".join(SPLITS), value=self.split)
        if self.status is not None and self.status not in STATUSES:
            raise InputError("value.choice", field="status", allowed=", ".join(STATUSES), value=self.status)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 64:
            raise InputError("value.whole_range", field="batch size", low=1, high=64, value=self.batch_size)

    @property
    def key(self) -> str:
        """Stable identity of the job: the same spec always gives the same key."""
        identity = {k: v for k, v in asdict(self).items() if k != "batch_size"}
        if not self.semantic_model:  # added later: jobs made before it keep their key
            identity.pop("semantic_model")
        identity["presets"] = list(self.presets)
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"augment-{digest[:20]}"

    def to_config(self) -> dict[str, object]:
        return {**asdict(self), "presets": list(self.presets)}

    @classmethod
    def from_config(cls, config: dict[str, object]) -> JobSpec:
        values = dict(config)
        values["presets"] = tuple(values.get("presets", ()))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def item_seed(job_key: str, source_sha256: str, preset: str, variant_index: int) -> int:
    """The seed of one work item: deterministic, different for every item, in [0, 2**32)."""
    text = f"{job_key}|{source_sha256}|{preset}|{variant_index}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def source_filter(project: Project, spec: JobSpec) -> ImageFilter:
    """The :class:`ImageFilter` of a job's source images (originals only, never variants)."""
    class_id = None
    if spec.class_name is not None:
        classes = {c.name: c.id for c in project.classes()}
        if spec.class_name not in classes:
            raise (InputError("job.no_class", name=spec.class_name, classes=", ".join(classes)) if classes
                   else InputError("job.no_class_none", name=spec.class_name))
        class_id = classes[spec.class_name]
    return ImageFilter(status=spec.status or DEFAULT_SOURCE_STATUSES, split=spec.split, class_id=class_id,
                       kind="source")


def create_job(project: Project, spec: JobSpec, settings: Settings | None = None) -> Job:
    """Create the job of ``spec`` with all its items, or return it if it exists (resume)."""
    # 1. Check the spec and that every preset exists.
    spec.validate()
    for name in spec.presets:
        get_preset(name, settings)
    existing = project.job_by_key(spec.key)
    if existing is not None:
        return existing

    # 2. The sources.
    where = source_filter(project, spec)
    sources = project.list_images(0, max(1, project.count_images(where)), where)
    if not sources:
        if spec.class_name:
            raise InputError("job.no_sources", status=where.status, split=spec.split or "any",
                             class_name=spec.class_name)
        raise InputError("job.no_sources_any", status=where.status, split=spec.split or "any")

    # 3. The items, preset by preset, so that a batch shares one preset.
    items = [JobItemSpec(source_image_id=source.id, preset=preset, variant_index=index,
                         seed=item_seed(spec.key, source.sha256, preset, index))
             for preset in spec.presets for index in range(spec.variants) for source in sources]
    job = project.create_job(spec.key, spec.to_config(), items)
    logger.info("job %d (%s): %d items", job.id, spec.key, len(items))
    return job


def record_variant(project: Project, source: ImageRecord, source_image: Image.Image, source_boxes: Sequence[Box],
                   variant: Image.Image, *, preset: str, thresholds: DriftThresholds, seed: int | None, params: str,
                   job_item_id: int | None = None) -> tuple[ImageRecord, DriftReport]:
    """Store ``variant`` of ``source`` with the source's boxes carried and checked for drift
    (:func:`carry_and_check`): status ``labelled`` when every box passes, else ``review``.
    Jobs and the Weather / Lighting tabs' "add to project" both record variants this way."""
    boxes, report = carry_and_check(source_image, source_boxes, variant, thresholds)
    record = project.add_variant(source.id, variant, preset=preset, seed=seed, params=params, boxes=boxes,
                                 status="labelled" if report.passed else "review", job_item_id=job_item_id,
                                 condition=preset)
    return record, report


def clean_stale_temp_files(project: Project) -> int:
    """Remove the temp files that interrupted writes (``kill -9``) left in ``images/``.

    A temp file of :func:`~sdaug.prompts.metadata.write_atomic` is removed when the process
    that wrote it has ended (:func:`~sdaug.prompts.metadata.temp_file_is_orphaned`), however
    young it is; one of a live process (another import or job writing now) is kept. A
    ``.variant-*`` file is a leftover of an older sdaug (variants are no longer written under
    that name) and is always removed. Returns how many were removed.
    """
    removed = 0
    for path in [*project.images_dir.glob(f"{TEMP_PREFIX}*"), *project.images_dir.glob(f"{_LEGACY_VARIANT_TEMP}*")]:
        if path.name.startswith(_LEGACY_VARIANT_TEMP) or temp_file_is_orphaned(path):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                continue
    if removed:
        logger.info("removed %d temp file(s) left by an interrupted write in %s", removed, project.images_dir)
    return removed


# Reports ----------------------------------------------------------------------------------------

@dataclass
class PresetReport:
    """Outcome of one preset of a job. ``passed``: variants stored ``labelled`` (every box passed)."""

    preset: str
    total: int = 0
    done: int = 0
    failed: int = 0
    passed: int = 0
    review: int = 0

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.done if self.done else None


def job_report(project: Project, job_id: int) -> list[PresetReport]:
    """Per preset: items, done, failed, and how many variants passed the drift check.

    A variant a person has since accepted or rejected counts by its status at generation:
    ``labelled`` passed; ``review``, ``reviewed`` and ``rejected`` went to review.
    """
    spec = JobSpec.from_config(project.get_job(job_id).config)
    reports = {name: PresetReport(name) for name in spec.presets}
    rows = project.read(
        "SELECT ji.preset, ji.state, images.status, COUNT(*) FROM job_items ji "
        "LEFT JOIN images ON images.id = ji.image_id WHERE ji.job_id = ? GROUP BY 1, 2, 3", (job_id,))
    for preset, state, status, count in rows:
        report = reports.setdefault(preset, PresetReport(preset))
        report.total += count
        if state == "failed":
            report.failed += count
        elif state == "done":
            report.done += count
            if status == "labelled":
                report.passed += count
            else:
                report.review += count
    return list(reports.values())


# Running ----------------------------------------------------------------------------------------

@dataclass
class JobStatus:
    """A snapshot of a job's progress, for progress bars and the CLI."""

    job_id: int
    state: str
    total: int
    done: int
    failed: int
    pending: int
    images_per_s: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0
    message: str = ""
    error: str | None = None
    failure: Exception | None = None  # what stopped the run, for a message in the user's language
    gave_up: int = 0  # failed items that reached MAX_ITEM_ATTEMPTS: only a forced retry runs them again
    workers: dict[str, int] = field(default_factory=dict)  # variants made per worker (Ray backend)

    @property
    def fraction(self) -> float:
        return (self.done + self.failed) / self.total if self.total else 1.0

    def line(self) -> str:
        """One line such as ``12/80 done, 0 failed, 9.5 images/s, ETA 0:06``."""
        parts = [f"{self.done}/{self.total} done", f"{self.failed} failed"]
        if self.images_per_s:
            parts.append(f"{self.images_per_s:.2f} images/s")
        if self.eta_s is not None:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        if self.message:
            parts.append(self.message)
        if self.workers:
            parts.append("workers: " + " ".join(f"{name} {count}" for name, count in self.workers.items()))
        return ", ".join(parts)


def status_of(project: Project, job_id: int) -> JobStatus:
    """The stored progress of a job (no rate or ETA: for a job no runner of this process runs)."""
    progress = project.job_progress(job_id)
    gave_up = sum(item.attempts >= MAX_ITEM_ATTEMPTS for item in project.job_items(job_id, "failed"))
    return JobStatus(job_id=job_id, state=project.get_job(job_id).state, total=progress.total, done=progress.done,
                     failed=progress.failed, pending=progress.pending, gave_up=gave_up)


def failure_lines(project: Project, job_id: int, limit: int = 10, lang: str = "en") -> list[str]:
    """One line per failed item of a job (the first ``limit``, then how many more) in ``lang``,
    each with its error, which names the file when the source image was the problem."""
    failed = project.job_items(job_id, "failed")
    lines = [render("job.failed_item", {"preset": item.preset, "number": item.variant_index + 1,
                                        "image": item.source_image_id, "attempts": item.attempts,
                                        "tries": MAX_ITEM_ATTEMPTS, "error": from_record(item.error, lang)}, lang)
             for item in failed[:limit]]
    if len(failed) > limit:
        lines.append(render("job.failed_more", {"count": len(failed) - limit}, lang))
    return lines


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def measured_seconds_per_item(batches: Sequence[tuple[float, int]]) -> float | None:
    """Mean seconds per item of ``(seconds, items)`` batches, leaving out the first (it includes
    loading the model) once there is a second one; None before any item."""
    measured = batches[1:] or batches
    items = sum(n for _, n in measured)
    return sum(seconds for seconds, _ in measured) / items if items else None


def next_batch(pending: Sequence[JobItem], engine: str, batch_size: int,
               size_of: Callable[[int], tuple[int, int]]) -> list[JobItem]:
    """The next batch from the first of ``pending``: the items sharing its preset (diffusion:
    and its source size, ``size_of(source_image_id)``), at most ``batch_size`` for diffusion."""
    if not pending:
        return []
    if engine == "classic":
        return [item for item in pending if item.preset == pending[0].preset]

    def group(item: JobItem) -> tuple[str, int, int]:
        return (item.preset, *size_of(item.source_image_id))

    first = group(pending[0])
    return [item for item in pending if group(item) == first][:batch_size]


def batch_window(engine: str, batch_size: int) -> int:
    """How many pending items :func:`next_batch` looks at."""
    return _CLASSIC_BATCH if engine == "classic" else batch_size * 8


@dataclass
class _Source:
    record: ImageRecord
    image: Image.Image
    boxes: list[Box] = field(default_factory=list)


VariantCallback = Callable[[JobItem, ImageRecord, DriftReport], None]


class JobRunner:
    """Runs one job in a background thread (or in the caller's thread with :meth:`run`).

    ``manager`` is the app's :class:`sdaug.engine.manager.PipelineManager` (the diffusion
    engine makes one from ``settings`` when none is given). ``on_variant(item, record, report)``
    is called after each variant is stored.
    """

    backend = "in-process"

    def __init__(self, project: Project, job_id: int, settings: Settings | None = None, manager: object = None,
                 on_variant: VariantCallback | None = None) -> None:
        self.project = project
        self.job_id = job_id
        self.spec = JobSpec.from_config(project.get_job(job_id).config)
        self.settings = settings
        self.manager = manager
        self.on_variant = on_variant
        self._stop = threading.Event()
        # Set while no run is in progress. (Not Thread.is_alive: a KeyboardInterrupt inside
        # Thread.join can leave a live thread reported as finished on CPython < 3.13.)
        self._idle = threading.Event()
        self._idle.set()
        self._sources: dict[int, _Source] = {}
        self._started_at: float | None = None
        self._made = 0  # variants stored by this run
        # (seconds, items) of each finished batch of this run: the ETA comes from these measured
        # per-item times, leaving out the first batch (it includes loading the model) once there
        # is a second one.
        self._batches: list[tuple[float, int]] = []
        self._message = ""
        self._error: str | None = None
        self._failure: Exception | None = None
        self._lock = project.job_lock(job_id)
        self._workers: dict[str, int] = {}  # variants recorded per worker (Ray backend)

    # Control ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return not self._idle.is_set()

    def start(self, retry_failed: bool = False) -> None:
        """Run the job in a daemon thread; does nothing while it already runs (see :meth:`run`)."""
        if self.running:
            return
        self._lock.acquire()  # another runner on this job: ValueError, nothing started
        self._stop.clear()
        self._idle.clear()
        threading.Thread(target=self._run_holding_lock, args=(retry_failed,), name=f"sdaug-job-{self.job_id}",
                         daemon=True).start()

    def stop(self, wait: bool = False, timeout: float | None = None) -> None:
        """Ask the worker to stop after the current item (diffusion: within one step)."""
        self._stop.set()
        if wait:
            self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when no run is in progress."""
        return self._idle.wait(timeout)

    def status(self) -> JobStatus:
        status = status_of(self.project, self.job_id)
        if self.running and self._stop.is_set():
            status.state = "stopping"
        status.elapsed_s = time.monotonic() - self._started_at if self._started_at is not None else 0.0
        per_item = self.seconds_per_item()
        status.images_per_s = 1.0 / per_item if per_item else 0.0
        status.eta_s = status.pending * per_item if per_item is not None else None
        status.message, status.error, status.workers = self._message, self._error, dict(self._workers)
        status.failure = self._failure
        return status

    def seconds_per_item(self) -> float | None:
        """Measured seconds per variant in this run (None before the first batch ends)."""
        measured = measured_seconds_per_item(self._batches)
        if measured is not None:
            return measured
        if self._made and self._started_at is not None:  # a backend that does not time batches (Ray)
            return (time.monotonic() - self._started_at) / self._made
        return None

    # Work ---------------------------------------------------------------------------------
    def run(self, retry_failed: bool = False) -> JobStatus:
        """Work through the pending items until none is left or :meth:`stop` is called.

        Failed items that failed fewer than :data:`MAX_ITEM_ATTEMPTS` times are tried again;
        with ``retry_failed`` every failed item is. The job ends ``done`` when every item is,
        ``failed`` when all were tried and some failed, ``stopped`` when stopped or on an error.
        Raises ``ValueError`` when another runner (this process or another) works on the job.
        """
        self._lock.acquire()
        self._idle.clear()
        return self._run_holding_lock(retry_failed)

    def _run_holding_lock(self, retry_failed: bool) -> JobStatus:
        try:
            return self._run(retry_failed)
        finally:
            self._lock.release()
            self._idle.set()

    def _run(self, retry_failed: bool) -> JobStatus:
        # 1. Presets (a preset file may have changed or gone since the job was created) and the
        #    model: errors about them stop the job, they are no image's fault.
        self._error, self._made, self._started_at, self._batches = None, 0, time.monotonic(), []
        self._failure = None
        try:
            presets = {name: get_preset(name, self.settings) for name in self.spec.presets}
            if self.spec.engine == "diffusion":
                resolve_model(self.spec.model, self.settings or Settings.from_env())
        except ValueError as exc:
            self._error, self._failure = str(exc), exc
            self.project.set_job_state(self.job_id, "stopped")
            return self.status()
        self.project.set_job_state(self.job_id, "running")
        clean_stale_temp_files(self.project)
        retried = self.project.retry_failed(self.job_id, None if retry_failed else MAX_ITEM_ATTEMPTS)
        if retried:
            logger.info("job %d: trying %d failed item(s) again", self.job_id, retried)

        # 2. Batches until done or stopped.
        try:
            self._work(presets)
        except Exception as exc:  # the worker thread reports every error, it never dies silently
            logger.exception("job %d stopped by an error", self.job_id)
            self._error, self._failure = describe(exc), exc

        # 3. Final state: done only when every item is.
        clean_stale_temp_files(self.project)
        progress = self.project.job_progress(self.job_id)
        complete = "failed" if progress.failed else "done"
        self.project.set_job_state(self.job_id, "stopped" if self._error or not progress.finished else complete)
        self._message = ""
        return self.status()

    def _work(self, presets: dict[str, Preset]) -> None:
        """Run batches in this process until no item is pending or :meth:`stop` is called."""
        while not self._stop.is_set():
            pending = self.project.pending_items(self.job_id, limit=batch_window(self.spec.engine,
                                                                                 self.spec.batch_size))
            batch = next_batch(pending, self.spec.engine, self.spec.batch_size, self._size)
            if not batch:
                break
            self._run_batch(presets[batch[0].preset], batch)

    def _run_batch(self, preset: Preset, items: list[JobItem]) -> None:
        started, made = time.monotonic(), self._made
        self._make_batch(preset, items)
        if self._made > made:
            self._batches.append((time.monotonic() - started, self._made - made))

    def _make_batch(self, preset: Preset, items: list[JobItem]) -> None:
        # 1. The sources: one that cannot be read fails its own items only.
        work: list[WorkItem] = []
        for item in items:
            try:
                source = self._source(item.source_image_id)
            except ValueError as exc:
                self._fail(item, exc)
                continue
            work.append(WorkItem(item, source.image, source.boxes, describe_source(self.project, source.record)))
        options = self._options()
        # 2. Classic: one image at a time, each recorded as soon as it is made.
        if self.spec.engine == "classic":
            for one in work:
                if self._stop.is_set():
                    return
                self._record_made(make_variants("classic", preset, [one], manager=self._engine, options=options))
            return
        # 3. Diffusion: one request for the batch (image by image when it fails).
        if not work:
            return
        self._message = f"{preset.name}: generating {len(work)} image(s)"
        made = make_variants("diffusion", preset, work, model=self.spec.model, manager=self._engine,
                             cancel=self._stop, on_progress=self._on_progress, options=options)
        self._message = ""
        self._record_made(made)

    def _on_progress(self, progress: object) -> None:
        message = getattr(progress, "message", "")
        self._message = message or f"step {getattr(progress, 'step', 0)}/{getattr(progress, 'total_steps', 0)}"

    def _options(self) -> VariantOptions:
        """The semantic check (with the project's classes as they are now) and the file format
        (``Settings.variant_format``; PNG without settings)."""
        classes = tuple(self.project.classes()) if self.spec.semantic_model else ()
        if self.settings is None:
            return VariantOptions(self.spec.semantic_model, classes)
        return VariantOptions(self.spec.semantic_model, classes, self.settings.variant_format,
                              self.settings.variant_quality)

    def _record_made(self, made: Sequence[MadeVariant]) -> list[MadeVariant]:
        """Record made variants (files, then one transaction; each marks its item done) and
        mark the items that failed; returns those recorded."""
        ready = [one for one in made if one.variant is not None]
        for one in made:
            if one.variant is None:
                self._fail(one.item, one.error or Phrase("job.no_variant"))
        outcomes = self.project.record_variants([one.variant for one in ready if one.variant is not None])
        recorded = []
        for one, outcome in zip(ready, outcomes, strict=True):
            if outcome.error is not None or outcome.image_id is None:
                self._fail(one.item, outcome.refusal or outcome.error or Phrase("job.not_recorded"))
                continue
            recorded.append(one)
            self._made += 1
            if self.on_variant is not None and one.report is not None:
                self.on_variant(one.item, self.project.get_image(outcome.image_id), one.report)
        return recorded

    def _engine(self) -> object:
        """The model cache: the app's, or one made for this runner on first use."""
        if self.manager is None:
            from sdaug.engine.manager import PipelineManager

            self.manager = PipelineManager(self.settings or Settings.from_env())
        return self.manager

    def _fail(self, item: JobItem, error: str | BaseException, attempts: int = 1) -> None:
        """Mark ``item`` failed with ``error``: an exception, a :class:`~sdaug.errors.Phrase` or a
        stored line (see :func:`sdaug.errors.record`), stored so that it shows in any language."""
        line = record(failure(error)) if isinstance(error, BaseException) else record(error)
        logger.info("job %d item %d (%s) failed: %s", self.job_id, item.id, item.preset,  # reported by status
                    from_record(line, "en"))
        self.project.mark_item_failed(item.id, line, attempts)

    def _size(self, image_id: int) -> tuple[int, int]:
        source = self._sources.get(image_id)
        record = source.record if source is not None else self.project.get_image(image_id)
        return record.width, record.height

    def _source(self, image_id: int) -> _Source:
        if image_id not in self._sources:
            record = self.project.get_image(image_id)
            image = load_source(self.project, record)
            if len(self._sources) >= _SOURCE_CACHE:
                self._sources.pop(next(iter(self._sources)))
            self._sources[image_id] = _Source(record, image, self.project.boxes(image_id))
        return self._sources[image_id]


# One runner per job in this process -------------------------------------------------------------

_RUNNERS: dict[tuple[Path, int], JobRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def runner_for(project: Project, job_id: int, settings: Settings | None = None, manager: object = None,
               backend: str | None = None, address: str | None = None) -> JobRunner:
    """The runner of ``job_id`` in this process (made on first use), shared by every caller.

    A ``settings`` or ``manager`` given later fills in one the runner was made without, so
    the app's one model cache is used even when a status poll made the runner first.
    ``backend`` (``in-process`` or ``ray``; ``None``: the existing runner's, else in-process)
    and the Ray ``address`` replace an idle runner made with other ones.
    """
    key = (Path(project.folder).resolve(), job_id)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        other = backend is not None and runner is not None and not runner.running and (
            runner.backend != backend or getattr(runner, "address", None) != ray_address(address))
        if runner is None or other:
            runner = new_runner(project, job_id, settings=settings, manager=manager, backend=backend or "in-process",
                                address=address)
            _RUNNERS[key] = runner
        runner.settings = runner.settings or settings
        runner.manager = runner.manager or manager
        return runner


def ray_address(address: str | None) -> str | None:
    """The address to pass to Ray: ``None`` (start a local instance) for ``""`` or ``local``."""
    return None if address in (None, "", "local") else address


def new_runner(project: Project, job_id: int, settings: Settings | None = None, manager: object = None,
               backend: str = "in-process", address: str | None = None, workers: int | None = None) -> JobRunner:
    """A runner for ``job_id`` on ``backend``: ``in-process``, or ``ray`` (at ``address``: ``None``
    or ``local`` starts a local Ray instance, ``auto`` or ``HOST:PORT`` joins a cluster; ``workers`` caps
    the number of Ray workers)."""
    if backend not in BACKENDS:
        raise InputError("value.choice", field="backend", allowed=", ".join(BACKENDS), value=backend)
    address = ray_address(address)
    if backend == "in-process":
        return JobRunner(project, job_id, settings=settings, manager=manager)
    from sdaug.augment.ray_backend import RayJobRunner  # ray is imported only here

    return RayJobRunner(project, job_id, settings=settings, address=address, workers=workers)


def running_jobs(folder: str | Path) -> list[int]:
    """Ids of the jobs of the project in ``folder`` that run in this process now."""
    path = Path(folder).resolve()
    with _RUNNERS_LOCK:
        return sorted(job for (where, job), runner in _RUNNERS.items() if where == path and runner.running)
