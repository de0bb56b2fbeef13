"""Apply a source's boxes to its variants again, after a person fixed the source's boxes.

Each variant gets the source's boxes as an augment job gives them
(:func:`sdaug.augment.making.carry_and_check`): scaled to the variant's size, origin ``carried``, with a fresh drift score against the thresholds
of the variant's preset (the default thresholds when that preset is not known here, e.g. deleted
or made on another computer). The variant becomes ``labelled`` when every box and the whole
image pass, else ``review``; a ``rejected`` variant stays rejected (its boxes are updated all the
same). Each variant is one transaction.

Used by the review queue's "apply the source's boxes to all its variants again"; no gradio here.
"""

from __future__ import annotations

import logging

from PIL import Image

from sdaug.augment.making import carry_and_check
from sdaug.augment.presets import DriftThresholds, get_preset
from sdaug.dataset.store import ImageRecord, Project
from sdaug.errors import InputError
from sdaug.settings import Settings

logger = logging.getLogger(__name__)


def reapply_source_boxes(project: Project, source_id: int, settings: Settings | None = None) -> list[ImageRecord]:
    """Replace the boxes of every variant of ``source_id`` by the source's boxes, checked for
    drift (see the module docstring); returns the variants as stored now."""
    # 1. The source and its boxes.
    source = project.get_image(source_id)
    if source.source_image_id is not None:
        raise InputError("reapply.variant", id=source_id, source=source.source_image_id)
    boxes = project.boxes(source_id)
    with Image.open(project.image_path(source)) as opened:
        source_image = opened.convert("RGB")

    # 2. Each variant: carry, check against its preset's thresholds, store.
    thresholds: dict[str | None, DriftThresholds] = {}
    updated = []
    for variant in project.variants(source_id):
        if variant.preset not in thresholds:
            thresholds[variant.preset] = _thresholds(variant.preset, settings)
        with Image.open(project.image_path(variant)) as opened:
            variant_image = opened.convert("RGB")
        checked, report = carry_and_check(source_image, boxes, variant_image, thresholds[variant.preset])
        status = None if variant.status == "rejected" else "labelled" if report.passed else "review"
        project.set_boxes(variant.id, checked, status=status)
        updated.append(project.get_image(variant.id))
    return updated


def _thresholds(preset: str | None, settings: Settings | None) -> DriftThresholds:
    """The drift thresholds of ``preset``, or the defaults when it is not known here."""
    if not preset:
        return DriftThresholds()
    try:
        return get_preset(preset, settings).drift
    except ValueError as exc:
        logger.info("preset %r not found (%s); using the default drift thresholds", preset, exc)
        return DriftThresholds()
