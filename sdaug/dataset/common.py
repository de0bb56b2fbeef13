"""What the format modules (:mod:`.yolo`, :mod:`.coco`, :mod:`.voc`) share: the import report,
finding image files and their split, adding images (files prepared in parallel), the export
items and writing their files (copied, or converted to one image format).

EXIF-rotated photos (:func:`pixel_box`): a tool that ignores EXIF (LabelImg) draws on the raw
pixels and declares the raw size; Label Studio and CVAT draw on the upright picture but Label
Studio still declares the raw size. The rule, per image: a declared size equal to the upright
size means upright boxes. A declared size equal to the raw size means raw-pixel boxes (turned
upright here), unless the boxes only fit the upright picture or the file was written by a tool
known to draw upright (``upright_writer``, e.g. Label Studio). A flip or half turn keeps the
size, so nothing tells; such boxes are taken as upright.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from sdaug import limits
from sdaug.dataset.inputs import file_problem
from sdaug.dataset.store import (
    SPLITS,
    Box,
    ClassRecord,
    ImageRecord,
    PreparedImage,
    Project,
    orient_box,
    prepare_image,
)
from sdaug.errors import InputError, Phrase, as_line

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
# Folder names that name a split, as used by Ultralytics, Roboflow, CVAT and COCO (train2017).
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "test", "testing": "test"}
# Ignore folders made by macOS zip and hidden folders.
_SKIP_DIRS = {"__MACOSX"}
# Boxes may overshoot the image by this much (pixels) from rounding in other tools; they are clamped.
PIXEL_TOLERANCE = 1.0

# Files prepared and written in parallel during an import; chunks bound the memory held.
IMPORT_THREADS = 8
IMPORT_CHUNK = 64

ProgressFn = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did. ``problems`` lines read ``file[:line]: what is wrong``."""

    images_added: int = 0
    duplicates: int = 0
    boxes: int = 0
    skipped: int = 0
    classes_added: list[str] = field(default_factory=list)
    duplicate_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Images imported as "review" because some of their labels were refused (file names).
    needs_review: list[str] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        """Add ``where: message``; a :class:`~sdaug.errors.Phrase` message keeps its translation."""
        self.problems.append(Phrase("import.problem", where=where, message=message) if isinstance(message, Phrase)
                             else f"{where}: {message}")
        logger.debug("import problem: %s: %s", where, message)

    def summary(self) -> str:
        lines = [f"{self.images_added} images added, {self.boxes} boxes, {self.duplicates} duplicates "
                 f"not added again, {self.skipped} files skipped, {len(self.problems)} problems"]
        if self.needs_review:
            lines.append(f"{len(self.needs_review)} images need review (some of their labels were refused, "
                         "see the problems): " + ", ".join(self.needs_review[:20])
                         + (" ..." if len(self.needs_review) > 20 else ""))
        if self.classes_added:
            lines.append("new classes: " + ", ".join(self.classes_added))
        return "\n".join(lines)


def split_of(path: Path, root: Path, default: str = "train") -> str:
    """The split named by the nearest folder between ``root`` and ``path`` (train2017 and CVAT's
    obj_train_data count)."""
    for part in reversed(path.relative_to(root).parts[:-1]):
        name = part.lower().rstrip("0123456789")
        if name.startswith("obj_") and name.endswith("_data"):
            name = name[4:-5]
        if name in SPLIT_ALIASES:
            return SPLIT_ALIASES[name]
    return default


def find_images(root: Path, report: ImportReport | None = None) -> list[Path]:
    """Image files under ``root`` (sorted), leaving out hidden and macOS metadata folders, and
    anything that is not a regular file inside ``root`` (reported to ``report`` when given)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in files:
            path = Path(folder) / name
            if name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            problem = file_problem(path, root, rel(path, root))
            if problem is None:
                found.append(path)
            elif report is not None:
                report.skipped += 1
                report.problems.append(as_line(problem))
    return sorted(found)


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` for messages (as given when outside it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class ImageIndex:
    """Finds an image named in an annotation file: by relative path, else by unique file name
    anywhere below ``root`` (only when ``search`` is true: not for a lone annotation file)."""

    def __init__(self, root: Path, search: bool = True) -> None:
        self.root = root
        self.search = search
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, name: str, folders: Iterable[Path]) -> Path | str:
        """The image's path, or a message saying why it was not found."""
        relative = Path(name.replace("\\", "/"))
        if not relative.is_absolute() and ".." not in relative.parts:
            for folder in folders:
                candidate = folder / relative
                if candidate.is_file():
                    problem = file_problem(candidate, self.root, rel(candidate, self.root))
                    return candidate if problem is None else as_line(problem)
        if not self.search:
            return Phrase("report.not_found_beside", name=name)
        if self._by_name is None:
            self._by_name = {}
            for path in find_images(self.root):
                self._by_name.setdefault(path.name, []).append(path)
        matches = self._by_name.get(relative.name, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            return Phrase("report.same_name", count=len(matches), name=relative.name)
        return Phrase("report.not_found_under", name=name, root=self.root)


# Names tools give to "no object" entries of their class lists (labelme, datumaro, Detectron).
PLACEHOLDER_NAMES = frozenset({"_background_", "__background__", "background", "__ignore__"})


def is_placeholder_name(name: str) -> bool:
    """Whether a class list entry is a background/ignore placeholder rather than a class."""
    return name.strip().lower() in PLACEHOLDER_NAMES


def to_project_classes(project: Project, names: list[str], report: ImportReport) -> list[ClassRecord]:
    """Project classes for ``names`` (same order), recording the ones that were created; more
    classes than ``max_classes`` in all are refused before any is created."""
    before = {c.name for c in project.classes()}
    limits.check_classes(len(before | {name.strip() for name in names}), Phrase("where.class_list"))
    records = project.ensure_classes(names)
    report.classes_added.extend(r.name for r in records if r.name not in before)
    return records


XYXY = tuple[float, float, float, float]


def drawn_on_raw_pixels(image: PreparedImage, declared: tuple[int, int] | None, boxes: Iterable[XYXY],
                        upright_writer: bool = False) -> bool:
    """Whether the boxes of an EXIF-rotated photo were drawn on its raw pixels (see the module
    docstring for the rule)."""
    if (image.orientation == 1 or upright_writer or declared != image.raw_size
            or image.raw_size == (image.width, image.height)):  # a flip or half turn: the size cannot tell
        return False
    tol = PIXEL_TOLERANCE

    def fits(box: XYXY, size: tuple[int, int]) -> bool:
        return box[0] >= -tol and box[1] >= -tol and box[2] <= size[0] + tol and box[3] <= size[1] + tol

    listed = list(boxes)
    upright_only = (all(fits(b, (image.width, image.height)) for b in listed)
                    and not all(fits(b, image.raw_size) for b in listed))
    return not upright_only


def pixel_box(class_id: int, xyxy: XYXY, image: PreparedImage, raw_pixels: bool = False) -> Box | str:
    """A box given in pixels of an annotation tool, mapped onto the stored (upright) image.

    ``raw_pixels``: the box was drawn on the raw pixels of an EXIF-rotated photo
    (:func:`drawn_on_raw_pixels`). Returns a message when the box is unusable.
    """
    if not all(math.isfinite(v) for v in xyxy):
        return Phrase("report.box_not_numbers", coords=str(list(xyxy)))
    if raw_pixels:
        xyxy = orient_box(xyxy, image.orientation, image.raw_size)
    x1, y1, x2, y2 = xyxy
    if x2 <= x1 or y2 <= y1:
        return Phrase("report.box_no_area", box=_fmt(xyxy))
    tol = PIXEL_TOLERANCE
    if x1 < -tol or y1 < -tol or x2 > image.width + tol or y2 > image.height + tol:
        return Phrase("report.box_outside", box=_fmt(xyxy), width=image.width, height=image.height)
    if min(x2, image.width) - max(x1, 0) <= 0 or min(y2, image.height) - max(y1, 0) <= 0:
        return Phrase("report.box_no_area_inside", box=_fmt(xyxy), width=image.width, height=image.height)
    return Box(class_id, x1, y1, x2, y2)


def _fmt(xyxy: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in xyxy) + "]"


def check_declared_size(image: PreparedImage, declared: tuple[int, int] | None) -> str | None:
    """A message when an annotation file's image size matches neither the raw nor the upright image."""
    if not declared or not all(declared):
        return None
    if declared in ((image.width, image.height), image.raw_size):
        return None
    return Phrase("report.size_mismatch", declared_width=declared[0], declared_height=declared[1], width=image.width,
                  height=image.height)


@dataclass(frozen=True)
class ImageTask:
    """One image to import: its file, split and how to make its boxes (None: no labels).

    ``annotations``: how many boxes the annotation file gives for the image. When fewer come
    through (a box was unusable and reported), the image goes to ``review`` instead of
    ``labelled``: exported as it is, its missing boxes would teach "nothing here".
    """

    path: Path
    split: str
    make_boxes: Callable[[PreparedImage], list[Box]] | None = None
    annotations: int = 0
    # Labels of this image refused before it was read (bad lines or annotations): it needs review.
    refused: int = 0


def add_images(project: Project, report: ImportReport, root: Path, tasks: list[ImageTask],
               on_progress: ProgressFn | None = None) -> None:
    """Add ``tasks`` in order. Reading, hashing and writing the files (fsync is the slow part)
    runs in a thread pool, a chunk ahead; the database rows are added here, one image (with
    its boxes) per transaction.
    """

    def prepare(task: ImageTask) -> PreparedImage | ValueError:
        try:
            prepared = prepare_image(task.path, rel(task.path, root))
        except ValueError as exc:
            return exc
        project.store_file(prepared)
        return prepared

    with ThreadPoolExecutor(max_workers=IMPORT_THREADS) as pool:
        for start in range(0, len(tasks), IMPORT_CHUNK):
            chunk = tasks[start:start + IMPORT_CHUNK]
            for done, (task, prepared) in enumerate(zip(chunk, pool.map(prepare, chunk), strict=True), start + 1):
                _add_prepared(project, report, task, prepared)
                if on_progress is not None:
                    on_progress(done, len(tasks))


def _add_prepared(project: Project, report: ImportReport, task: ImageTask,
                  prepared: PreparedImage | ValueError) -> None:
    if isinstance(prepared, ValueError):
        report.skipped += 1
        report.problems.append(as_line(prepared))  # already "file: what is wrong"
        return
    # Labels refused while reading the annotations (task.refused) or while mapping them onto the
    # image (problems added by make_boxes) make the image "review", never silently "labelled".
    before = len(report.problems)
    boxes = task.make_boxes(prepared) if task.make_boxes is not None else []
    refused = task.refused + len(report.problems) - before + max(0, task.annotations - len(boxes))
    box_limit = limits.active().max_boxes_per_image
    if len(boxes) > box_limit:
        report.problems.append(Phrase("limit.boxes_kept", where=prepared.original_name, count=len(boxes),
                                      limit=box_limit, option="max_boxes_per_image"))
        boxes, refused = boxes[:box_limit], refused + len(boxes) - box_limit
    status = "unlabelled" if task.make_boxes is None else "review" if refused else "labelled"
    added = project.add_image(prepared, split=task.split, boxes=boxes, status=status)
    if added.duplicate:
        report.duplicates += 1
        report.duplicate_files.append(f"{prepared.original_name} (same picture as image {added.record.id}, "
                                      f"{added.record.original_name})")
    else:
        report.images_added += 1
        report.boxes += added.boxes_added
        if status == "review":
            report.needs_review.append(prepared.original_name)


# Export --------------------------------------------------------------------------------------
# How exported images are written: all as JPEG (one extension, small; JPEG files are copied as
# they are), all as PNG (lossless), or each file as stored.
EXPORT_IMAGE_FORMATS = {"jpeg": ".jpg", "png": ".png", "keep": ""}
DEFAULT_JPEG_QUALITY = 95


def check_image_format(image_format: str, jpeg_quality: int) -> None:
    """``ValueError`` for an unknown export image format or a JPEG quality outside 1..100."""
    if image_format not in EXPORT_IMAGE_FORMATS:
        raise InputError("value.choice", field="image format", allowed=", ".join(EXPORT_IMAGE_FORMATS),
                         value=image_format)
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise InputError("value.whole_range", field="JPEG quality", low=1, high=100, value=jpeg_quality)



@dataclass(frozen=True)
class ExportItem:
    """One image to export: its record, file, split, export file name and boxes."""

    record: ImageRecord
    source: Path
    split: str
    name: str
    boxes: list[Box]

    @property
    def stem(self) -> str:
        return Path(self.name).stem


@dataclass(frozen=True)
class ExportPlan:
    """Everything a format writer needs: classes in order, the items per split and how to write
    the image files."""

    classes: list[ClassRecord]
    items: list[ExportItem]
    jpeg_quality: int = DEFAULT_JPEG_QUALITY

    def by_split(self) -> dict[str, list[ExportItem]]:
        result: dict[str, list[ExportItem]] = {s: [] for s in SPLITS}
        for item in self.items:
            result[item.split].append(item)
        return result

    def class_index(self) -> dict[int, int]:
        """Store class id -> 0-based position (the YOLO class number)."""
        return {c.id: c.position for c in self.classes}


def write_image(source: Path, dest: Path, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> None:
    """Copy ``source`` to ``dest``, converting it when the file extensions differ (stored
    images are upright already, so no EXIF orientation is carried)."""
    if source.suffix.lower() == dest.suffix.lower():
        shutil.copyfile(source, dest)
        return
    with Image.open(source) as image:
        if dest.suffix.lower() in (".jpg", ".jpeg"):
            image.convert("RGB").save(dest, format="JPEG", quality=jpeg_quality)
        else:
            (image.convert("RGB") if image.mode == "CMYK" else image).save(dest)


def copy_images(items: Iterable[ExportItem], folder: Callable[[ExportItem], Path],
                jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> None:
    """Write each item's image to ``folder(item) / item.name`` (:func:`write_image`), several at a time."""
    pairs = [(item.source, folder(item) / item.name) for item in items]
    for target in {dest.parent for _, dest in pairs}:
        target.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=IMPORT_THREADS) as pool:
        list(pool.map(lambda pair: write_image(*pair, jpeg_quality), pairs))
