"""Import images and labels into a project: ``import_path(project, path, fmt)``.

Formats: ``images`` (a folder of photos or one photo, no labels), ``yolo``, ``coco``, ``voc`` (see their
modules), each from a folder, an annotation file (COCO) or a ``.zip`` of any of these. A zip
is checked and extracted by :mod:`sdaug.dataset.archive` into a temporary folder inside the
project, which is removed afterwards.

A bad line or file never stops the import: it is reported in ``ImportReport.problems`` as
``file[:line]: what is wrong`` and skipped; an image some of whose labels were refused is
imported with status ``review`` (listed in ``ImportReport.needs_review``). Only regular files
inside the folder are read (:mod:`sdaug.dataset.inputs`), within the limits of
:mod:`sdaug.limits`. Splits are taken from the source layout (``images/train``, ``valid/``,
``ImageSets/Main/val.txt``, ``instances_val.json``), else train.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sdaug.dataset.archive import extract_zip
from sdaug.dataset.coco import import_coco
from sdaug.dataset.common import ImageTask, ImportReport, ProgressFn, add_images, find_images, split_of
from sdaug.dataset.store import Project
from sdaug.dataset.voc import import_voc
from sdaug.dataset.yolo import import_yolo
from sdaug.errors import InputError

FORMATS = ("images", "yolo", "coco", "voc")


def import_images(project: Project, root: Path, report: ImportReport, on_progress: ProgressFn | None = None) -> None:
    """Import every image below ``root`` (or the one image file ``root``) as ``unlabelled``."""
    if root.is_file():
        add_images(project, report, root.parent, [ImageTask(root, "train")], on_progress)
        return
    tasks = [ImageTask(image, split_of(image, root)) for image in find_images(root, report)]
    add_images(project, report, root, tasks, on_progress)


_IMPORTERS = {"images": import_images, "yolo": import_yolo, "coco": import_coco, "voc": import_voc}


def import_path(project: Project, path: str | Path, fmt: str, on_progress: ProgressFn | None = None) -> ImportReport:
    """Import ``path`` (folder, COCO ``.json`` or ``.zip``) in format ``fmt`` into ``project``.

    ``on_progress(done, total)`` is called after each image. Raises ``ValueError`` only when
    nothing can be imported at all (missing path, unknown format, unsafe zip).
    """
    if fmt not in FORMATS:
        raise InputError("value.choice", field="format", allowed=", ".join(FORMATS), value=fmt)
    source = Path(path).expanduser()
    if not source.exists():
        raise InputError("path.missing", path=source)
    if not source.is_dir() and not source.is_file():
        raise InputError("file.not_regular", where=str(source))
    report = ImportReport()
    if source.is_file() and source.suffix.lower() == ".zip":
        tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=project.folder))
        try:
            root = _single_folder(extract_zip(source, tmp))
            _IMPORTERS[fmt](project, root, report, on_progress)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return report
    if source.is_file() and fmt == "yolo" and source.suffix.lower() in (".yaml", ".yml"):
        source = source.parent
    if source.is_file() and fmt in ("yolo", "voc"):
        raise InputError("import.file_not_folder", path=source, format=fmt)

    _IMPORTERS[fmt](project, source, report, on_progress)
    return report


def _single_folder(root: Path) -> Path:
    """Step into the one folder a zip often wraps its content in."""
    entries = [p for p in root.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root
