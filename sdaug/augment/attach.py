"""Variants made outside a job (the Weather and Lighting tabs) added to a project like a job's.

Each (input photo, variant) pair is recorded with :func:`sdaug.augment.jobs.record_variant`: the
input photo is found in the project by its content (a photo the project already holds is
recognised byte for byte, with its boxes) or added as a new, unlabelled source; the source's
boxes are carried to the variant and checked for drift, so a variant whose boxes drifted waits
in the review queue exactly as a job's would.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from sdaug.augment.jobs import record_variant
from sdaug.augment.presets import DriftThresholds
from sdaug.dataset.store import Project, prepare_image
from sdaug.errors import InputError
from sdaug.prompts import parse_infotext

logger = logging.getLogger(__name__)


@dataclass
class AttachReport:
    """What :func:`add_variants_to_project` did."""

    added: int = 0            # variants stored
    review: int = 0           # of them, waiting for review (a carried box failed the drift check)
    new_sources: int = 0      # input photos the project did not hold (added, without boxes)
    skipped: list[str] = field(default_factory=list)  # "<file>: <why>" for pairs not added


def boxes_of_photo(project: Project, path: str | Path) -> list[tuple[float, float, float, float]]:
    """The boxes (pixel xyxy, labels a person made or accepted) of the project's image that is this
    photo, recognised by content as the import would; [] when the project does not hold it."""
    try:
        record = project.find_image(prepare_image(path).sha256)
    except ValueError:
        return []
    if record is None:
        return []
    return [(b.x1, b.y1, b.x2, b.y2) for b in project.boxes(record.id) if b.origin != "auto"]


def add_variants_to_project(project: Project, pairs: Sequence[tuple[str | Path, str | Path]], *, preset: str,
                            thresholds: DriftThresholds) -> AttachReport:
    """Record each ``(input photo, variant file)`` pair in ``project`` (see the module docstring).

    ``preset`` names the condition the variants were made with; the seed and parameters come
    from each variant's PNG infotext.
    """
    # 1. Check the inputs.
    if not pairs:
        raise InputError("attach.no_variants")
    if not preset:
        raise InputError("attach.no_preset")
    report = AttachReport()
    for source_path, variant_path in pairs:
        # 2. The source: the project's own image when it holds this photo, else a new source.
        try:
            added = project.add_image(source_path)
            with Image.open(project.image_path(added.record)) as opened:
                source_image = opened.convert("RGB")
            with Image.open(variant_path) as opened:
                params = str(opened.info.get("parameters", ""))
                variant = opened.convert("RGB")
        except (OSError, ValueError) as exc:
            report.skipped.append(f"{Path(variant_path).name}: {exc}")
            continue
        report.new_sources += not added.duplicate
        # 3. The variant, with the source's boxes carried and checked (as a job records it).
        seed_text = parse_infotext(params).get("Seed", "") if params else ""
        try:
            record, drift = record_variant(project, added.record, source_image, project.boxes(added.record.id),
                                           variant, preset=preset, thresholds=thresholds,
                                           seed=int(seed_text) if seed_text.isdigit() else None, params=params)
        except ValueError as exc:
            report.skipped.append(f"{Path(variant_path).name}: {exc}")
            continue
        report.added += 1
        report.review += record.status == "review"
        logger.info("added variant %d of source %d (%s, drift %s)", record.id, added.record.id, preset,
                    "passed" if drift.passed else "review")
    return report
