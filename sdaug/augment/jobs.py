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
- Each variant gets every source box, scaled when its size differs, with a drift score
  (:mod:`sdaug.augment.drift`); it is stored ``labelled`` when every box and the whole image
  pass the preset's thresholds, else ``review``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from PIL import Image

from sdaug.augment.classic import apply_classic
from sdaug.augment.drift import DriftReport, check_variant
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
from sdaug.prompts import format_infotext
from sdaug.prompts.params import VERSION
from sdaug.settings import Settings

logger = logging.getLogger(__name__)

ENGINES = ("diffusion", "classic")
# Sources used when no status filter is given: images a person has labelled.
DEFAULT_SOURCE_STATUSES = ("labelled", "reviewed")
# Temp files of interrupted atomic writes (kill -9) older than this are removed when a job
# starts or ends. A live write renames its temp file within milliseconds of its last write.
STALE_TEMP_S = 2.0
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

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field and what is allowed."""
        if not self.presets:
            raise ValueError("give at least one preset (--preset NAME)")
        if len(set(self.presets)) != len(self.presets):
            raise ValueError(f"a preset is listed twice: {', '.join(self.presets)}")
        if isinstance(self.variants, bool) or not isinstance(self.variants, int) or not 1 <= self.variants <= 1000:
            raise ValueError(f"variants must be a whole number from 1 to 1000, got {self.variants!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.split is not None and self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 64:
            raise ValueError(f"batch size must be a whole number from 1 to 64, got {self.batch_size!r}")

    @property
    def key(self) -> str:
        """Stable identity of the job: the same spec always gives the same key."""
        identity = {k: v for k, v in asdict(self).items() if k != "batch_size"}
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
            raise ValueError(f"class {spec.class_name!r} is not in this project; classes: {', '.join(classes) or '(none)'}")
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
        raise ValueError(f"no source images match (status {where.status}, split {spec.split or 'any'}, "
                         f"class {spec.class_name or 'any'}); label some images first or change the filter")

    # 3. The items, preset by preset, so that a batch shares one preset.
    items = [JobItemSpec(source_image_id=source.id, preset=preset, variant_index=index,
                         seed=item_seed(spec.key, source.sha256, preset, index))
             for preset in spec.presets for index in range(spec.variants) for source in sources]
    job = project.create_job(spec.key, spec.to_config(), items)
    logger.info("job %d (%s): %d items", job.id, spec.key, len(items))
    return job


def carry_boxes(boxes: Sequence[Box], source_size: tuple[int, int], variant_size: tuple[int, int]) -> list[Box]:
    """The source's boxes on a variant: scaled when the size differs, origin ``carried``."""
    sx, sy = variant_size[0] / source_size[0], variant_size[1] / source_size[1]
    return [replace(box, x1=box.x1 * sx, y1=box.y1 * sy, x2=box.x2 * sx, y2=box.y2 * sy, origin="carried",
                    drift=None, needs_review=False, id=None, image_id=None) for box in boxes]


def carry_and_check(source: Image.Image, boxes: Sequence[Box], variant: Image.Image,
                    thresholds: DriftThresholds) -> tuple[list[Box], DriftReport]:
    """The source's ``boxes`` carried to ``variant`` (:func:`carry_boxes`), each with its drift
    score and ``needs_review`` set when it fails ``thresholds``; and the drift report."""
    carried = carry_boxes(boxes, source.size, variant.size)
    report = check_variant(source, variant, [(b.x1, b.y1, b.x2, b.y2) for b in carried], thresholds)
    checked = [replace(box, drift=score, needs_review=not ok)
               for box, score, ok in zip(carried, report.box_scores, report.box_passed, strict=True)]
    return checked, report


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


def clean_stale_temp_files(project: Project, older_than_s: float = STALE_TEMP_S) -> int:
    """Remove temp files that an interrupted atomic write (``kill -9``) left in ``images/``.

    A write takes milliseconds, so a temp file older than ``older_than_s`` belongs to no
    running writer. Returns how many were removed.
    """
    removed = 0
    now = time.time()
    for path in project.images_dir.glob(".tmp-*"):
        try:
            if now - path.stat().st_mtime > older_than_s:
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
        return ", ".join(parts)


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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

    # Control ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return not self._idle.is_set()

    def start(self) -> None:
        """Run the job in a daemon thread; does nothing while it already runs."""
        if self.running:
            return
        self._stop.clear()
        self._idle.clear()
        threading.Thread(target=self.run, name=f"sdaug-job-{self.job_id}", daemon=True).start()

    def stop(self, wait: bool = False, timeout: float | None = None) -> None:
        """Ask the worker to stop after the current item (diffusion: within one step)."""
        self._stop.set()
        if wait:
            self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when no run is in progress."""
        return self._idle.wait(timeout)

    def status(self) -> JobStatus:
        progress = self.project.job_progress(self.job_id)
        state = self.project.get_job(self.job_id).state
        if self.running and self._stop.is_set():
            state = "stopping"
        elapsed = time.monotonic() - self._started_at if self._started_at is not None else 0.0
        per_item = self.seconds_per_item()
        rate = 1.0 / per_item if per_item else 0.0
        eta = progress.pending * per_item if per_item is not None else None
        return JobStatus(job_id=self.job_id, state=state, total=progress.total, done=progress.done,
                         failed=progress.failed, pending=progress.pending, images_per_s=rate, eta_s=eta,
                         elapsed_s=elapsed, message=self._message, error=self._error)

    def seconds_per_item(self) -> float | None:
        """Measured seconds per variant in this run (None before the first batch ends)."""
        measured = self._batches[1:] or self._batches
        items = sum(n for _, n in measured)
        return sum(seconds for seconds, _ in measured) / items if items else None

    # Work ---------------------------------------------------------------------------------
    def run(self) -> JobStatus:
        """Work through the pending items until none is left or :meth:`stop` is called."""
        self._idle.clear()
        try:
            return self._run()
        finally:
            self._idle.set()

    def _run(self) -> JobStatus:
        # 1. Presets (a preset file may have changed or gone since the job was created).
        self._error, self._made, self._started_at, self._batches = None, 0, time.monotonic(), []
        try:
            presets = {name: get_preset(name, self.settings) for name in self.spec.presets}
        except ValueError as exc:
            self._error = str(exc)
            self.project.set_job_state(self.job_id, "stopped")
            return self.status()
        self.project.set_job_state(self.job_id, "running")
        clean_stale_temp_files(self.project)

        # 2. Batches until done or stopped.
        try:
            while not self._stop.is_set():
                batch = self._next_batch()
                if not batch:
                    break
                self._run_batch(presets[batch[0].preset], batch)
        except Exception as exc:  # the worker thread reports every error, it never dies silently
            logger.exception("job %d stopped by an error", self.job_id)
            self._error = str(exc) or type(exc).__name__

        # 3. Final state.
        clean_stale_temp_files(self.project)
        finished = self.project.job_progress(self.job_id).finished
        self.project.set_job_state(self.job_id, "done" if finished and not self._error else "stopped")
        self._message = ""
        return self.status()

    def _next_batch(self) -> list[JobItem]:
        """Pending items sharing the first one's preset (and, for diffusion, its size)."""
        limit = _CLASSIC_BATCH if self.spec.engine == "classic" else self.spec.batch_size * 8
        pending = self.project.pending_items(self.job_id, limit=limit)
        if not pending:
            return []
        if self.spec.engine == "classic":
            return [item for item in pending if item.preset == pending[0].preset]

        def group(item: JobItem) -> tuple[str, int, int]:
            record = self._record(item.source_image_id)
            return item.preset, record.width, record.height

        first = group(pending[0])
        return [item for item in pending if group(item) == first][: self.spec.batch_size]

    def _run_batch(self, preset: Preset, items: list[JobItem]) -> None:
        started, made = time.monotonic(), self._made
        self._make_batch(preset, items)
        if self._made > made:
            self._batches.append((time.monotonic() - started, self._made - made))

    def _make_batch(self, preset: Preset, items: list[JobItem]) -> None:
        sources: list[tuple[JobItem, _Source]] = []
        for item in items:
            try:
                sources.append((item, self._source(item.source_image_id)))
            except (OSError, ValueError) as exc:
                self._fail(item, f"cannot read the source image: {exc}")
        if self.spec.engine == "classic":
            for item, source in sources:
                if self._stop.is_set():
                    return
                variant = apply_classic(source.image, preset, item.seed)
                self._store(item, preset, source, variant, _classic_infotext(preset, item.seed, variant.size))
            return
        for (item, source), (variant, infotext) in zip(sources, self._diffuse(preset, sources), strict=False):
            self._store(item, preset, source, variant, infotext)

    def _diffuse(self, preset: Preset, sources: list[tuple[JobItem, _Source]]) -> list[tuple[Image.Image, str]]:
        """One img2img / ControlNet request for the whole batch; returns the finished images."""
        if not sources:
            return []
        from sdaug.engine.run import run as run_engine

        if self.manager is None:
            from sdaug.engine.manager import PipelineManager

            self.manager = PipelineManager(self.settings or Settings.from_env())
        width, height = sources[0][1].record.width, sources[0][1].record.height
        request = preset.to_request(
            init_images=[source.image for _, source in sources], seeds=[item.seed for item, _ in sources],
            batch_size=len(sources), batch_count=1, width=width, height=height, model=self.spec.model,
            extra_params={"sdaug preset": preset.name},
        )
        self._message = f"{preset.name}: generating {len(sources)} image(s)"
        result = run_engine(request, self.manager, on_progress=self._on_progress, cancel=self._stop)
        self._message = ""
        return list(zip(result.images, result.infotexts, strict=False))

    def _on_progress(self, progress: object) -> None:
        message = getattr(progress, "message", "")
        self._message = message or f"step {getattr(progress, 'step', 0)}/{getattr(progress, 'total_steps', 0)}"

    def _store(self, item: JobItem, preset: Preset, source: _Source, variant: Image.Image, infotext: str) -> None:
        """Carry the boxes, check drift, and record the variant (marks the item done)."""
        try:
            record, report = record_variant(self.project, source.record, source.image, source.boxes, variant,
                                            preset=preset.name, thresholds=preset.drift, seed=item.seed,
                                            params=infotext, job_item_id=item.id)
        except ValueError as exc:
            self._fail(item, str(exc))
            return
        self._made += 1
        if self.on_variant is not None:
            self.on_variant(item, record, report)

    def _fail(self, item: JobItem, error: str) -> None:
        logger.warning("job %d item %d (%s) failed: %s", self.job_id, item.id, item.preset, error)
        self.project.mark_item_failed(item.id, error)

    def _record(self, image_id: int) -> ImageRecord:
        source = self._sources.get(image_id)
        return source.record if source is not None else self.project.get_image(image_id)

    def _source(self, image_id: int) -> _Source:
        if image_id not in self._sources:
            if len(self._sources) >= _SOURCE_CACHE:
                self._sources.pop(next(iter(self._sources)))
            record = self.project.get_image(image_id)
            with Image.open(self.project.image_path(record)) as opened:
                image = opened.convert("RGB")
            self._sources[image_id] = _Source(record, image, self.project.boxes(image_id))
        return self._sources[image_id]


def _classic_infotext(preset: Preset, seed: int, size: tuple[int, int]) -> str:
    params = {
        "Seed": seed,
        "Size": f"{size[0]}x{size[1]}",
        "sdaug engine": "classic",
        "sdaug preset": preset.name,
        "sdaug effect": json.dumps(preset.classic, sort_keys=True, ensure_ascii=False),
        "Version": VERSION,
    }
    return format_infotext(f"classic {preset.classic['effect']}: {preset.title_en}", "", params)


# One runner per job in this process -------------------------------------------------------------

_RUNNERS: dict[tuple[Path, int], JobRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def runner_for(project: Project, job_id: int, settings: Settings | None = None, manager: object = None) -> JobRunner:
    """The runner of ``job_id`` in this process (made on first use), shared by every caller.

    A ``settings`` or ``manager`` given later fills in one the runner was made without, so
    the app's one model cache is used even when a status poll made the runner first.
    """
    key = (Path(project.folder).resolve(), job_id)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = JobRunner(project, job_id, settings=settings, manager=manager)
            _RUNNERS[key] = runner
        runner.settings = runner.settings or settings
        runner.manager = runner.manager or manager
        return runner


def running_jobs(folder: str | Path) -> list[int]:
    """Ids of the jobs of the project in ``folder`` that run in this process now."""
    path = Path(folder).resolve()
    with _RUNNERS_LOCK:
        return sorted(job for (where, job), runner in _RUNNERS.items() if where == path and runner.running)
