"""YOLO (Ultralytics) detection format: import and export.

Import reads the layouts Ultralytics and Roboflow write: ``images/{split}`` + ``labels/{split}``,
``{split}/images`` + ``{split}/labels``, flat folders with a ``.txt`` beside each image, and
CVAT's "YOLO 1.1" (``obj_train_data/``, ``obj_valid_data/``, listed in ``train.txt`` /
``valid.txt``). The split of an image comes from such a list file when one names it, else from
its folders. Class names come from ``data.yaml`` (``names`` as a list or a ``{index: name}``
dict) or ``classes.txt`` / ``obj.names``; an unused ``background`` placeholder is no class. A
label line is ``class cx cy w h`` normalised to 0..1 (a polygon ``class x1 y1 x2 y2 ...`` becomes
its bounding box). An image without a label file is imported ``unlabelled``; an empty label file
means "labelled, no objects".

Export writes ``images/{split}``, ``labels/{split}`` and a ``data.yaml`` that Ultralytics
trains from as it is, wherever the folder is moved: it has no ``path:`` key, so Ultralytics
resolves ``train``/``val`` against the yaml's own folder (an absolute ``path:`` breaks a moved
or unzipped copy, and ``path: .`` means the working directory).
"""

from __future__ import annotations

import math
import os
from functools import partial
from pathlib import Path

import yaml

from sdaug import limits
from sdaug.dataset.common import (
    ExportPlan,
    ImageTask,
    ImportReport,
    ProgressFn,
    add_images,
    copy_images,
    find_images,
    is_placeholder_name,
    rel,
    split_of,
    to_project_classes,
)
from sdaug.dataset.inputs import load_yaml, read_text
from sdaug.dataset.store import Box, PreparedImage, Project
from sdaug.errors import InputError, Phrase, as_line

# Normalised coordinates may overshoot 0..1 this much from float rounding in other tools.
NORM_TOLERANCE = 1e-6
DECIMALS = 8
_NAME_FILES = ("classes.txt", "obj.names", "labels/classes.txt")
# Image list files (Darknet, CVAT "YOLO 1.1") and the split they name.
_LIST_FILES = {"train.txt": "train", "valid.txt": "val", "val.txt": "val", "test.txt": "test"}

# A parsed label line: (line number, class index, cx, cy, w, h), all normalised.
Label = tuple[int, int, float, float, float, float]


def read_names(root: Path, report: ImportReport) -> list[str] | None:
    """Class names from data.yaml (or another yaml with ``names``) or classes.txt; None if absent."""
    yamls = sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml"))
    yamls.sort(key=lambda p: p.name not in ("data.yaml", "dataset.yaml"))
    for path in yamls:
        where = rel(path, root)
        try:
            data = load_yaml(read_text(path, root, where, "max_yaml_bytes"), where)
        except InputError as exc:
            report.problems.append(as_line(exc))
            continue
        except yaml.YAMLError as exc:
            report.problem(where, Phrase("report.yaml", reason=str(exc)))
            continue
        if isinstance(data, dict) and "names" in data:
            return _names_from_yaml(data["names"], where)
    for name in _NAME_FILES:
        path = root / name
        if path.exists():
            return [line.strip() for line in read_text(path, root, name).splitlines() if line.strip()]
    return None


def _names_from_yaml(names: object, where: str) -> list[str]:
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        try:
            indexed = {int(k): str(v) for k, v in names.items()}
        except (TypeError, ValueError) as exc:
            raise InputError("yolo.names_keys", where=where) from exc
        if sorted(indexed) != list(range(len(indexed))):
            raise InputError("yolo.names_gaps", where=where, last=len(indexed) - 1, got=str(sorted(indexed)))
        return [indexed[i] for i in range(len(indexed))]
    raise InputError("yolo.names_type", where=where, kind=type(names).__name__)



def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder becomes ``labels``; else beside the image."""
    parts = image.parts
    if "images" in parts[:-1]:
        i = len(parts) - 2 - parts[:-1][::-1].index("images")
        swapped = Path(*parts[:i], "labels", *parts[i + 1:]).with_suffix(".txt")
        if swapped.exists() or swapped.is_symlink():
            return swapped
    return image.with_suffix(".txt")


def parse_labels(path: Path, where: str, n_classes: int | None, report: ImportReport,
                 root: Path | None = None) -> list[Label]:
    """The good lines of a label file; each bad line is reported as ``file:line: ...``. The file
    must be a regular file inside ``root`` (default: its folder)."""
    labels: list[Label] = []
    try:
        text = read_text(path, root or path.parent, where)
    except InputError as exc:
        report.problems.append(as_line(exc))
        return labels
    except OSError as exc:
        report.problem(where, Phrase("report.label_unreadable", reason=exc.strerror or str(exc)))
        return labels
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = _parse_line(line.split(), n_classes)
        if isinstance(parsed, str):
            report.problem(f"{where}:{number}", parsed)
        else:
            labels.append((number, *parsed))
    return labels


def _parse_line(fields: list[str], n_classes: int | None) -> tuple[int, float, float, float, float] | str:
    if len(fields) != 5 and (len(fields) < 7 or len(fields) % 2 == 0):
        return Phrase("report.yolo_fields", count=len(fields))
    try:
        values = [float(v) for v in fields]
    except ValueError:
        return Phrase("report.yolo_numbers", text=" ".join(fields))
    if not all(math.isfinite(v) for v in values):
        return Phrase("report.yolo_finite")
    cls = values[0]
    if cls != int(cls) or cls < 0:
        return Phrase("report.yolo_class", text=fields[0])
    if n_classes is not None and cls >= n_classes:
        return Phrase("report.yolo_undefined", id=f"{cls:.0f}", count=n_classes, last=n_classes - 1)
    if cls >= limits.active().max_classes:
        return Phrase("report.yolo_over_limit", id=f"{cls:.0f}", limit=limits.active().max_classes)
    coords = values[1:]
    if any(v < -NORM_TOLERANCE or v > 1 + NORM_TOLERANCE for v in coords):
        return Phrase("report.yolo_pixels", text=" ".join(fields[1:]))
    coords = [min(max(v, 0.0), 1.0) for v in coords]
    if len(fields) == 5:
        cx, cy, w, h = coords
    else:
        xs, ys = coords[0::2], coords[1::2]
        w, h = max(xs) - min(xs), max(ys) - min(ys)
        cx, cy = min(xs) + w / 2, min(ys) + h / 2
    if w <= 0 or h <= 0:
        return Phrase("report.yolo_no_size", w=f"{w:g}", h=f"{h:g}")
    return int(cls), cx, cy, w, h


def _boxes(image: PreparedImage, labels: list[Label], class_ids: dict[int, int]) -> list[Box]:
    boxes = []
    for _, cls, cx, cy, w, h in labels:
        x1, y1 = (cx - w / 2) * image.width, (cy - h / 2) * image.height
        x2, y2 = (cx + w / 2) * image.width, (cy + h / 2) * image.height
        boxes.append(Box(class_ids[cls], max(x1, 0.0), max(y1, 0.0), min(x2, image.width), min(y2, image.height)))
    return boxes


def import_yolo(project: Project, root: Path, report: ImportReport, on_progress: ProgressFn | None = None) -> None:
    """Import a YOLO dataset folder (see the module docstring)."""
    names = read_names(root, report)
    if names is None:
        report.problem(rel(root, root.parent), Phrase("report.yolo_no_classes"))
    images = [p for p in find_images(root, report) if "labels" not in p.relative_to(root).parts[:-1]]
    used_labels: set[Path] = set()
    labels_per_image: list[tuple[Path, list[Label] | None, int]] = []
    used: set[int] = set()
    for image in images:
        path = label_path(image)
        if not path.exists() and not path.is_symlink():
            labels_per_image.append((image, None, 0))
            continue
        used_labels.add(path)
        before = len(report.problems)
        labels = parse_labels(path, rel(path, root), len(names) if names is not None else None, report, root)
        used.update(label[1] for label in labels)
        labels_per_image.append((image, labels, len(report.problems) - before))
    _report_orphan_labels(root, used_labels, report)
    if names is None:
        names = [str(i) for i in range(max(used, default=-1) + 1)]
    # An unused background placeholder (datumaro writes "background" as class 0) is no class.
    kept = [i for i, name in enumerate(names) if i in used or not is_placeholder_name(name)]
    records = to_project_classes(project, [names[i] for i in kept], report)
    class_ids = {i: record.id for i, record in zip(kept, records, strict=True)}
    listed = _listed_splits(root)
    tasks = [ImageTask(image, listed.get(_list_key(image), split_of(image, root)),
                       None if labels is None else partial(_boxes, labels=labels, class_ids=class_ids),
                       refused=refused)
             for image, labels, refused in labels_per_image]
    add_images(project, report, root, tasks, on_progress)


def _list_key(path: Path | str) -> str:
    """How list files and images are matched: the file and its folder (``obj_train_data/a.jpg``)."""
    return "/".join(Path(str(path).replace("\\", "/")).parts[-2:])


def _listed_splits(root: Path) -> dict[str, str]:
    """Image (see :func:`_list_key`) -> split, from ``train.txt`` / ``valid.txt`` / ``test.txt``."""
    result: dict[str, str] = {}
    for name, split in _LIST_FILES.items():
        path = root / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                result[_list_key(line.strip())] = split
    return result


def _report_orphan_labels(root: Path, used: set[Path], report: ImportReport) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if "labels" not in Path(folder).relative_to(root).parts:
            continue
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix == ".txt" and path not in used and name != "classes.txt":
                report.problem(rel(path, root), Phrase("report.yolo_no_image"))


# Export --------------------------------------------------------------------------------------
def write_yolo(plan: ExportPlan, out: Path, final_path: Path) -> None:
    """Write ``plan`` as an Ultralytics dataset into ``out`` (``final_path`` is where it will live)."""
    index = plan.class_index()
    splits = plan.by_split()
    for split, items in splits.items():
        if not items:
            continue
        copy_images(items, lambda item: out / "images" / item.split, plan.jpeg_quality)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for item in items:
            w, h = item.record.width, item.record.height
            lines = [f"{index[b.class_id]} {_n((b.x1 + b.x2) / 2 / w)} {_n((b.y1 + b.y2) / 2 / h)} "
                     f"{_n(b.width / w)} {_n(b.height / h)}\n" for b in item.boxes]
            (out / "labels" / split / f"{item.stem}.txt").write_text("".join(lines), encoding="utf-8")
    # Ultralytics needs a val set: fall back to train when there is none (said in a comment).
    # No "path:" key: the paths are relative to this file's folder (see the module docstring).
    val = "images/val" if splits["val"] else "images/train"
    data = {
        "train": "images/train",
        "val": val,
        "test": "images/test" if splits["test"] else None,
        "nc": len(plan.classes),
        "names": {c.position: c.name for c in plan.classes},
    }
    header = "# Written by sdaug. Train with: yolo detect train data=data.yaml\n"
    if not splits["val"]:
        header += "# This export has no val images, so val points at the train images.\n"
    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (out / "data.yaml").write_text(text, encoding="utf-8")


def _n(value: float) -> str:
    return f"{value:.{DECIMALS}f}"
