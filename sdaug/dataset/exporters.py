"""Export a project as YOLO, COCO or Pascal VOC: ``export_project(project, fmt, out, ...)``.

Which images: status ``labelled`` and ``reviewed``. ``review`` (waiting for a person, e.g.
carried boxes that failed the drift check) is left out on purpose: its boxes are not trusted
yet and would teach the detector wrong boxes. ``unlabelled`` and ``rejected`` are left out too.
The report counts what was left out and why.

Splits: by default each image keeps its stored split (a variant always takes its source's).
With ``ratios`` (train, val, test) the images are split at random with ``seed``, by group:
a source image and all its variants form one group, so near-identical pictures never sit on
both sides of the train/val line. The random split applies to the export only; the
splits stored in the project do not change. ``variants_train_only`` leaves out the variants whose
source is in val or test, so val and test hold only real photos.

The export is written into a temporary folder beside ``out`` and renamed into place when
complete, so a failed export leaves nothing half-written. An existing ``out`` is replaced only
when it is an earlier sdaug export (it holds ``sdaug-export.json``); any other non-empty folder
is refused. The first export locks the class order (the exported class numbers depend on it).
"""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sdaug.dataset.archive import make_zip
from sdaug.dataset.coco import write_coco
from sdaug.dataset.common import ExportItem, ExportPlan
from sdaug.dataset.store import ImageRecord, Project
from sdaug.dataset.voc import write_voc
from sdaug.dataset.yolo import write_yolo

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("yolo", "coco", "voc")
EXPORTED_STATUSES = ("labelled", "reviewed")
MARKER = "sdaug-export.json"

_WRITERS: dict[str, Callable[[ExportPlan, Path, Path], None]] = {
    "yolo": write_yolo, "coco": write_coco, "voc": write_voc,
}


@dataclass
class ExportReport:
    """What an export wrote and what it left out (reason -> number of images)."""

    format: str
    out: Path
    images: dict[str, int]
    boxes: int
    left_out: dict[str, int] = field(default_factory=dict)
    zip_path: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        per_split = ", ".join(f"{n} {s}" for s, n in self.images.items() if n)
        text = f"{sum(self.images.values())} images ({per_split}), {self.boxes} boxes written to {self.out}"
        if self.left_out:
            text += "\nleft out: " + ", ".join(f"{n} {reason}" for reason, n in self.left_out.items())
        if self.zip_path:
            text += f"\nzip: {self.zip_path}"
        return text


def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` (or 2 values, test = 0) -> normalised (train, val, test) ratios."""
    try:
        values = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError as exc:
        raise ValueError(f"split must be numbers like 0.8,0.1,0.1, got {text!r}") from exc
    if len(values) == 2:
        values.append(0.0)
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"split needs 2 or 3 ratios (train,val[,test]) of 0 or more, got {text!r}")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def split_groups(group_ids: Sequence[int], ratios: tuple[float, float, float], seed: int) -> dict[int, str]:
    """Assign each group to a split at random (reproducible with ``seed``) by the ratios."""
    groups = sorted(set(group_ids))
    random.Random(seed).shuffle(groups)
    n_train = round(ratios[0] * len(groups))
    n_val = round(ratios[1] * len(groups)) if ratios[2] > 0 else len(groups) - n_train
    result = {}
    for i, group in enumerate(groups):
        result[group] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return result


def _safe_stem(text: str) -> str:
    stem = re.sub(r"[^\w\-]+", "_", Path(text).stem, flags=re.UNICODE).strip("_")
    return stem[:60] or "image"


def export_name(record: ImageRecord) -> str:
    """File name in the export: the image id (unique, stable) and the readable original name."""
    stem = _safe_stem(record.original_name or "image")
    if record.preset:
        stem += "_" + _safe_stem(record.preset)
    return f"{record.id:06d}_{stem}{Path(record.file_name).suffix}"


def plan_export(project: Project, *, ratios: tuple[float, float, float] | None = None, seed: int = 0,
                variants_train_only: bool = False) -> tuple[ExportPlan, dict[str, int]]:
    """Choose the images and their splits; returns the plan and the left-out counts."""
    stored_split = {row[0]: row[1] for row in project.read("SELECT id, split FROM images")}
    left_out: dict[str, int] = {}
    for status, count in project.read("SELECT status, COUNT(*) FROM images GROUP BY status"):
        if status not in EXPORTED_STATUSES:
            left_out[status] = count
    records: list[ImageRecord] = []
    offset = 0
    while page := project.list_images(offset, 5000):
        records.extend(r for r in page if r.status in EXPORTED_STATUSES)
        offset += len(page)

    def group(record: ImageRecord) -> int:
        return record.source_image_id if record.source_image_id is not None else record.id

    if ratios is not None:
        splits = split_groups([group(r) for r in records], ratios, seed)
    else:
        splits = {group(r): stored_split.get(group(r), r.split) for r in records}
    # A detector's proposals (origin auto) are not labels until a person accepts them.
    boxes = {image_id: [box for box in image_boxes if box.origin != "auto"]
             for image_id, image_boxes in project.boxes_by_image(r.id for r in records).items()}
    items = []
    for record in records:
        split = splits[group(record)]
        if variants_train_only and record.is_variant and split != "train":
            left_out["variants of val/test images"] = left_out.get("variants of val/test images", 0) + 1
            continue
        items.append(ExportItem(record=record, source=project.image_path(record), split=split,
                                name=export_name(record), boxes=boxes.get(record.id, [])))
    return ExportPlan(classes=project.classes(), items=items), left_out


def export_project(project: Project, fmt: str, out: str | Path, *, ratios: tuple[float, float, float] | None = None,
                   seed: int = 0, zip_output: bool = False, variants_train_only: bool = False) -> ExportReport:
    """Export ``project`` in format ``fmt`` into the folder ``out`` (see the module docstring)."""
    # 1. Check the inputs before touching anything.
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise ValueError(f"{out} exists and is not an earlier sdaug export; choose a new or empty folder")
    if not project.classes():
        raise ValueError("the project has no classes; add classes and label images before exporting")
    started = time.perf_counter()
    # 2. Lock the class order: exported class numbers depend on it from now on.
    project.lock_classes()
    plan, left_out = plan_export(project, ratios=ratios, seed=seed, variants_train_only=variants_train_only)
    if not plan.items:
        raise ValueError("nothing to export: no image is labelled or reviewed yet "
                         f"({', '.join(f'{n} {s}' for s, n in left_out.items()) or 'the project is empty'})")
    # 3. Write into a temporary folder beside the target, then swap it into place.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _WRITERS[fmt](plan, tmp, out)
        per_split = {s: len(v) for s, v in plan.by_split().items()}
        report = ExportReport(format=fmt, out=out, images=per_split,
                              boxes=sum(len(i.boxes) for i in plan.items), left_out=left_out)
        marker = {"format": fmt, "exported_at": time.time(), "seed": seed, "ratios": ratios,
                  "variants_train_only": variants_train_only, "images": per_split, "boxes": report.boxes,
                  "left_out": left_out, "classes": [asdict(c) for c in plan.classes]}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1, ensure_ascii=False), encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # 4. The zip is made from the finished folder.
    if zip_output:
        report.zip_path = make_zip(out, out.with_name(out.name + ".zip"))
    report.seconds = time.perf_counter() - started
    logger.info("export %s: %s", fmt, report.summary())
    return report


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{time.time_ns()}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)

