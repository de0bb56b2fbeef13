"""Export a project as YOLO, COCO or Pascal VOC: ``export_project(project, fmt, out, ...)``.

Which images: status ``labelled`` and ``reviewed``. ``review`` (waiting for a person, e.g.
carried boxes that failed the drift check) is left out on purpose: its boxes are not trusted
yet and would teach the detector wrong boxes. ``unlabelled`` and ``rejected`` are left out too.
The report counts what was left out and why.

Splits: by default each image keeps its stored split (a variant always takes its source's).
With ``ratios`` (train, val, test) the images are split at random with ``seed``, by group:
a source image and all its variants form one group, so near-identical pictures never sit on
both sides of the train/val line. The random split applies to the export only; the
splits stored in the project do not change. Every split with a ratio above 0 gets at least one
group when there are enough groups; otherwise, and when an export has no val images at all, the
report's ``warnings`` say so plainly. ``variants_train_only`` leaves out the variants whose
source is in val or test, so val and test hold only real photos.

Images: ``image_format="jpeg"`` (default) writes every image as ``.jpg`` (JPEG files copied as
they are, others converted at ``jpeg_quality``), ``"png"`` writes every image as ``.png``,
``"keep"`` copies each stored file as it is (mixed extensions break some readers, e.g. globox).
VOC is always JPEG (its readers build ``JPEGImages/<id>.jpg``).

The export is written into a temporary folder beside ``out`` and renamed into place when
complete, so a failed export leaves nothing half-written; what a killed export left beside
``out`` (``.out.tmp-*``, ``.out.old-*``) is removed by the next export to ``out``. Folders and files
are readable by the team (mode from the umask, like any file the user makes). An existing
``out`` is replaced only when it is an earlier sdaug export: it holds the hidden marker
``.sdaug-export`` (JSON; hidden and without a ``.json`` name so that no format detector, e.g.
datumaro's, takes it for an annotation file; ``sdaug-export.json`` of older exports counts too).
Any other non-empty folder is refused. The first export that succeeds locks the class order (the
exported class numbers depend on it); an export that fails leaves the classes editable.
"""

from __future__ import annotations

import glob
import json
import logging
import os
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
from sdaug.dataset.common import (
    DEFAULT_JPEG_QUALITY,
    EXPORT_IMAGE_FORMATS,
    ExportItem,
    ExportPlan,
    check_image_format,
)
from sdaug.dataset.store import ImageRecord, Project
from sdaug.dataset.voc import write_voc
from sdaug.dataset.yolo import write_yolo
from sdaug.errors import InputError, Phrase

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("yolo", "coco", "voc")
EXPORTED_STATUSES = ("labelled", "reviewed")
MARKER = ".sdaug-export"
_LEGACY_MARKER = "sdaug-export.json"

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
    warnings: list[str] = field(default_factory=list)
    zip_path: Path | None = None
    seconds: float = 0.0

    def summary(self, lang: str = "en") -> str:
        per_split = {split: n for split, n in self.images.items() if n}
        lines = [Phrase("export.summary", count=sum(self.images.values()), splits=per_split, boxes=self.boxes,
                        out=self.out)]
        lines += [Phrase("export.warning", warning=warning) for warning in self.warnings]
        if self.left_out:
            lines.append(Phrase("export.left_out", counts=self.left_out))
        if self.zip_path:
            lines.append(Phrase("export.zip", path=self.zip_path))
        return "\n".join(line.text(lang) for line in lines)


def parse_ratios(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` (or 2 values, test = 0) -> normalised (train, val, test) ratios."""
    try:
        values = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError as exc:
        raise InputError("export.split_numbers", text=text) from exc
    if len(values) == 2:
        values.append(0.0)
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise InputError("export.split_ratios", text=text)
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def split_groups(group_ids: Sequence[int], ratios: tuple[float, float, float], seed: int) -> dict[int, str]:
    """Assign each group to a split at random (reproducible with ``seed``) by the ratios.

    A split with a ratio above 0 gets at least one group while the others keep one too (taken
    from the split with the most groups).
    """
    groups = sorted(set(group_ids))
    random.Random(seed).shuffle(groups)
    n = len(groups)
    n_train = round(ratios[0] * n)
    n_val = min(round(ratios[1] * n), n - n_train) if ratios[2] > 0 else n - n_train
    counts = [n_train, n_val, n - n_train - n_val]
    for i in range(3):
        if ratios[i] > 0 and counts[i] == 0:
            donor = max(range(3), key=lambda j: counts[j])
            if counts[donor] > 1:
                counts[donor] -= 1
                counts[i] = 1
    names = ["train"] * counts[0] + ["val"] * counts[1] + ["test"] * counts[2]
    return dict(zip(groups, names, strict=True))


def split_warnings(images: dict[str, int], ratios: tuple[float, float, float] | None) -> list[str]:
    """Plain words for a split that is empty although asked for, and for an export without val."""
    warnings = []
    if ratios is not None:
        for split, ratio in zip(("train", "val", "test"), ratios, strict=True):
            if ratio > 0 and not images[split]:
                warnings.append(Phrase("export.split_empty", split=split, ratio=f"{ratio:.2f}"))
    if not images["val"]:
        warnings.append(Phrase("export.no_val"))
    return warnings


def _safe_stem(text: str) -> str:
    stem = re.sub(r"[^\w\-]+", "_", Path(text).stem, flags=re.UNICODE).strip("_")
    return stem[:60] or "image"


def export_name(record: ImageRecord, image_format: str = "keep") -> str:
    """File name in the export: the image id (unique, stable), the readable original name and the
    extension of ``image_format`` (``keep``: the stored file's)."""
    stem = _safe_stem(record.original_name or "image")
    if record.preset:
        stem += "_" + _safe_stem(record.preset)
    return f"{record.id:06d}_{stem}{EXPORT_IMAGE_FORMATS[image_format] or Path(record.file_name).suffix}"


def plan_export(project: Project, *, ratios: tuple[float, float, float] | None = None, seed: int = 0,
                variants_train_only: bool = False, image_format: str = "keep",
                jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> tuple[ExportPlan, dict[str, int]]:
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
                                name=export_name(record, image_format), boxes=boxes.get(record.id, [])))
    return ExportPlan(classes=project.classes(), items=items, jpeg_quality=jpeg_quality), left_out


def _is_earlier_export(folder: Path) -> bool:
    return (folder / MARKER).is_file() or (folder / _LEGACY_MARKER).is_file()


def export_project(project: Project, fmt: str, out: str | Path, *, ratios: tuple[float, float, float] | None = None,
                   seed: int = 0, zip_output: bool = False, variants_train_only: bool = False,
                   image_format: str = "jpeg", jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> ExportReport:
    """Export ``project`` in format ``fmt`` into the folder ``out`` (see the module docstring)."""
    # 1. Check the inputs before touching anything.
    if fmt not in EXPORT_FORMATS:
        raise InputError("value.choice", field="format", allowed=", ".join(EXPORT_FORMATS), value=fmt)
    check_image_format(image_format, jpeg_quality)
    if fmt == "voc" and image_format != "jpeg":
        raise InputError("export.voc_jpeg", format=image_format)
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_earlier_export(out))):
        raise InputError("export.not_empty", path=out)
    if not project.classes():
        raise InputError("export.no_classes")
    started = time.perf_counter()
    plan, left_out = plan_export(project, ratios=ratios, seed=seed, variants_train_only=variants_train_only,
                                 image_format=image_format, jpeg_quality=jpeg_quality)
    if not plan.items:
        raise InputError("export.nothing", counts=left_out) if left_out else InputError("export.empty")

    # 2. Write into a temporary folder beside the target (after removing what a killed export
    #    left there), then swap it into place.
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _WRITERS[fmt](plan, tmp, out)
        per_split = {s: len(v) for s, v in plan.by_split().items()}
        report = ExportReport(format=fmt, out=out, images=per_split, boxes=sum(len(i.boxes) for i in plan.items),
                              left_out=left_out, warnings=split_warnings(per_split, ratios))
        marker = {"format": fmt, "exported_at": time.time(), "seed": seed, "ratios": ratios,
                  "variants_train_only": variants_train_only, "image_format": image_format,
                  "images": per_split, "boxes": report.boxes, "left_out": left_out,
                  "classes": [asdict(c) for c in plan.classes]}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1, ensure_ascii=False), encoding="utf-8")
        _make_readable(tmp)
        _swap_into_place(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            exc.filename = str(out)  # a failed write() names no file: say which export failed
        raise
    # 3. Lock the class order: exported class numbers depend on it from now on (a failed
    # export changes nothing in the project).
    project.lock_classes()
    # 4. The zip is made from the finished folder.
    if zip_output:
        report.zip_path = make_zip(out, out.with_name(out.name + ".zip"))
    report.seconds = time.perf_counter() - started
    logger.info("export %s: %s", fmt, report.summary())
    return report


def _remove_leftovers(out: Path) -> None:
    """Remove the temporary and replaced folders a killed export to ``out`` left beside it."""
    name = glob.escape(out.name)
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for path in out.parent.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """Give the export the modes of a folder the user makes (``mkdtemp`` makes it private).

    The umask is read from a probe file: ``os.umask`` can only be read by setting it, which
    would race with other threads creating files.
    """
    probe = folder / ".umask-probe"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    file_mode = probe.stat().st_mode & 0o666
    probe.unlink()
    dir_mode = file_mode | ((file_mode & 0o444) >> 2)  # x wherever r
    folder.chmod(dir_mode)
    for path in folder.rglob("*"):
        path.chmod(dir_mode if path.is_dir() else file_mode)


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{time.time_ns()}")
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)

