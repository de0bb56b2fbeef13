"""Making variants: the part of an augment job that turns source images into checked variants.

Shared by the in-process runner (:mod:`sdaug.augment.jobs`) and the Ray workers
(:mod:`sdaug.augment.ray_backend`), so a variant made on any worker is byte-identical to the
in-process one:

- :func:`make_variants`: the classic effect or one diffusion request for a batch of
  :class:`WorkItem` (a failing batch is tried image by image, so only the image that cannot be
  processed fails; errors about the model stop the job), then the carried boxes
  (:func:`carry_and_check`), the optional CLIP check (:func:`check_semantics`) and the encoded
  file, as :class:`MadeVariant` ready for ``Project.record_variants``;
- reading a source image so that every failure names its file (:func:`read_source`,
  :func:`decode_source`, :func:`load_source`).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from PIL import Image

from sdaug.augment.classic import apply_classic
from sdaug.augment.drift import DriftReport, check_variant
from sdaug.augment.presets import DriftThresholds, Preset
from sdaug.dataset.job_store import NewVariant, encode_variant
from sdaug.dataset.store import Box, ClassRecord, ImageRecord, JobItem, Project
from sdaug.engine.errors import ModelNotFoundError, UnsafeCheckpointError
from sdaug.errors import InputError, Phrase, failure, record
from sdaug.prompts import format_infotext
from sdaug.prompts.params import VERSION

logger = logging.getLogger(__name__)


# Engine errors about the model (e.g. a download that failed), not the image: they stop the job
# and fail no item.
JOB_ERRORS = (ModelNotFoundError, UnsafeCheckpointError)


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


@dataclass(frozen=True)
class WorkItem:
    """One item to make: the job item, its decoded source image, the source's boxes, and the
    source named for messages (:func:`describe_source`)."""

    item: JobItem
    image: Image.Image
    boxes: Sequence[Box]
    where: str | Phrase = Phrase("where.source_image")


@dataclass(frozen=True)
class MadeVariant:
    """One item's outcome, ready for the driver to record: the encoded variant and its drift
    report, or why it failed. Picklable: Ray workers send it back to the driver."""

    item: JobItem
    variant: NewVariant | None
    report: DriftReport | None = None
    error: str | None = None


@dataclass(frozen=True)
class VariantOptions:
    """How a job's variants are checked and stored, the same on every backend: the CLIP model
    of the semantic check ("" = none) with the project's classes, and the file format."""

    semantic_model: str = ""
    classes: tuple[ClassRecord, ...] = ()
    image_format: str = "png"
    quality: int = 95


# ``render(source, preset, seed) -> variant`` replaces the classic effect (benchmarks, tests).
Render = Callable[[Image.Image, Preset, int], Image.Image]


def make_variants(engine: str, preset: Preset, work: Sequence[WorkItem], *, model: str = "",
                  manager: Callable[[], object] | None = None, cancel: threading.Event | None = None,
                  on_progress: Callable[[object], None] | None = None, render: Render | None = None,
                  options: VariantOptions | None = None) -> list[MadeVariant]:
    """Make, check and encode the variants of ``work`` (one preset; for diffusion one size).

    ``manager()`` returns the :class:`~sdaug.engine.manager.PipelineManager` (diffusion and the
    semantic check). A source the engine cannot process fails its own item (a
    :class:`MadeVariant` with an error naming the file); a failing diffusion batch is tried
    again image by image; errors about the model (:data:`JOB_ERRORS`) are raised. Stops early
    when ``cancel`` is set: the result then has fewer entries than ``work``.
    """
    cancel = cancel or threading.Event()
    options = options or VariantOptions()
    # 1. Classic: one image at a time.
    if engine == "classic":
        made = []
        for one in work:
            if cancel.is_set():
                break
            try:
                if render is not None:
                    variant = render(one.image, preset, one.item.seed)
                else:
                    variant = apply_classic(one.image, preset, one.item.seed, boxes=_xyxy(one.boxes))
            except Exception as exc:  # one image that cannot be processed never stops the job
                made.append(_source_failed(one, exc))
                continue
            infotext = _classic_infotext(preset, one.item.seed, variant.size)
            made.append(_finish(one, preset, variant, infotext, options, manager))
        return made
    # 2. Diffusion: one img2img / ControlNet request for the batch.
    return _diffuse_batch(preset, work, model, manager, cancel, on_progress, options)


def _diffuse_batch(preset: Preset, work: Sequence[WorkItem], model: str, manager: Callable[[], object] | None,
                   cancel: threading.Event, on_progress: Callable[[object], None] | None,
                   options: VariantOptions) -> list[MadeVariant]:
    """Diffuse a batch. When it fails, each image is tried alone, so that only the one that
    cannot be processed fails; an error about the model stops the job instead."""
    try:
        finished = _diffuse(preset, work, model, manager, cancel, on_progress)
    except JOB_ERRORS:
        raise
    except Exception as exc:
        if len(work) == 1:
            return [_source_failed(work[0], exc)]
        logger.warning("a batch of %d failed (%s); trying its images one by one", len(work), exc)
        made = []
        for one in work:
            if cancel.is_set():
                break
            made += _diffuse_batch(preset, [one], model, manager, cancel, on_progress, options)
        return made
    return [_finish(one, preset, variant, infotext, options, manager)
            for one, (variant, infotext) in zip(work, finished, strict=False)]


def _diffuse(preset: Preset, work: Sequence[WorkItem], model: str, manager: Callable[[], object] | None,
             cancel: threading.Event, on_progress: Callable[[object], None] | None) -> list[tuple[Image.Image, str]]:
    """One img2img / ControlNet request for the whole batch; returns the finished images."""
    if not work or manager is None:
        return []
    from sdaug.engine.run import run as run_engine

    width, height = work[0].image.size
    request = preset.to_request(
        init_images=[one.image for one in work], seeds=[one.item.seed for one in work],
        batch_size=len(work), batch_count=1, width=width, height=height, model=model,
        extra_params={"sdaug preset": preset.name},
        region_boxes=[_xyxy(one.boxes) for one in work] if preset.region is not None else [],
    )
    result = run_engine(request, manager(), on_progress=on_progress, cancel=cancel)
    return list(zip(result.images, result.infotexts, strict=False))


def _finish(one: WorkItem, preset: Preset, variant: Image.Image, infotext: str, options: VariantOptions,
            manager: Callable[[], object] | None) -> MadeVariant:
    """Carry the boxes, check drift (and meaning), and encode the variant's file."""
    try:
        boxes, report = carry_and_check(one.image, one.boxes, variant, preset.drift)
        if options.semantic_model and manager is not None:
            boxes = check_semantics(manager(), options, one.image, variant, boxes, preset.drift.semantic_drop)
        passed = report.passed and not any(box.needs_review for box in boxes)
        data, suffix = encode_variant(variant, infotext, options.image_format, options.quality)
    except JOB_ERRORS:
        raise
    except ValueError as exc:
        return MadeVariant(one.item, None, error=record(failure(exc)))
    new = NewVariant(one.item.source_image_id, data, variant.width, variant.height, preset=preset.name,
                     seed=one.item.seed, params=infotext, boxes=tuple(boxes),
                     status="labelled" if passed else "review", job_item_id=one.item.id, condition=preset.name,
                     suffix=suffix)
    return MadeVariant(one.item, new, report)


def check_semantics(manager: object, options: VariantOptions, source: Image.Image, variant: Image.Image,
                    boxes: list[Box], max_drop: float) -> list[Box]:
    """The CLIP check of each carried box: its score and note, and ``needs_review`` if it failed."""
    from sdaug.engine.semantic import SemanticChecker

    checker = SemanticChecker.load(options.semantic_model, manager)
    classes = {record.id: record for record in options.classes}
    scores = checker.check(
        source, variant, [(classes[box.class_id].name, (box.x1, box.y1, box.x2, box.y2)) for box in boxes],
        [record.name for record in classes.values()],
        {record.name: record.description for record in classes.values() if record.description},
        max_drop=max_drop)
    return [replace(box, semantic=score.variant_score, needs_review=box.needs_review or not score.passed,
                    semantic_note=json.dumps({"source": round(score.source_score, 4), "best": score.best_class,
                                              "rule": score.rule, "reason": score.reason}, ensure_ascii=False))
            for box, score in zip(boxes, scores, strict=True)]


def _source_failed(one: WorkItem, exc: Exception) -> MadeVariant:
    """``one``'s item failed because the engine could not process its source image."""
    if not isinstance(exc, ValueError):  # not an expected failure: keep the traceback in the log
        logger.error("item %d: unexpected error", one.item.id, exc_info=exc)
    return MadeVariant(one.item, None, error=record(failure(exc, one.where)))


def _xyxy(boxes: Sequence[Box]) -> list[tuple[float, float, float, float]]:
    return [(box.x1, box.y1, box.x2, box.y2) for box in boxes]


def describe_source(project: Project, record: ImageRecord) -> Phrase:
    """``source image 7 (bin_03.jpg, file /p/images/ab12….jpg)``: names the file for messages."""
    return Phrase("where.source", id=record.id, name=record.original_name, path=project.image_path(record))


def load_source(project: Project, record: ImageRecord) -> Image.Image:
    """The pixels of a job's source image, RGB. ``ValueError`` naming the file when it is too
    large (more pixels than Pillow's decompression-bomb limit), missing, not decodable, or not
    the image the project recorded (its size changed: it was replaced outside sdaug)."""
    return decode_source(read_source(project, record), record, describe_source(project, record))


def read_source(project: Project, record: ImageRecord) -> bytes:
    """The file of a job's source image (the Ray driver sends it to the workers). ``ValueError``
    naming the file when the image is too large (:func:`load_source`) or the file is missing."""
    where = describe_source(project, record)
    limit = Image.MAX_IMAGE_PIXELS
    if limit and record.width * record.height > limit:
        raise InputError("source.too_large", where=where, width=record.width, height=record.height, limit=limit)
    try:
        return project.image_path(record).read_bytes()
    except FileNotFoundError:
        raise InputError("source.missing", where=where) from None
    except OSError as exc:
        raise InputError("source.unreadable", where=where, reason=exc.strerror or str(exc)) from exc


def decode_source(data: bytes, record: ImageRecord, where: str) -> Image.Image:
    """The pixels of a source image's file ``data`` (see :func:`load_source`), RGB; ``where``
    (:func:`describe_source`) names it in the ``ValueError``."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.size != (record.width, record.height):
                raise InputError("source.changed", where=where, width=opened.width, height=opened.height,
                                 imported_width=record.width, imported_height=record.height)
            return opened.convert("RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError("source.undecodable", where=where, reason=str(exc)) from exc


def _classic_infotext(preset: Preset, seed: int, size: tuple[int, int]) -> str:
    params: dict[str, object] = {
        "Seed": seed,
        "Size": f"{size[0]}x{size[1]}",
        "sdaug engine": "classic",
        "sdaug preset": preset.name,
        "sdaug effect": json.dumps(preset.classic, sort_keys=True, ensure_ascii=False),
    }
    region = preset.region
    if region is not None:
        params.update({"Box strength": f"{region.box_strength:g}",
                       "Background strength": f"{region.background_strength:g}", "Box feather": region.feather})
    params["Version"] = VERSION
    return format_infotext(f"classic {preset.classic['effect']}: {preset.title_en}", "", params)
