"""Bring photos and datasets into a project from a browser: uploaded files, or a folder the person
who started the server allowed (``--import-root DIR``).

- :func:`import_uploads` takes the files a browser uploaded (many photos, a dropped folder, a
  ``.zip`` of photos, or a labelled YOLO / COCO / VOC dataset as a ``.zip``) and imports them with
  :mod:`sdaug.dataset.importers`; duplicates and refused files are in the report.
- :class:`ImportRoots` lists what may be imported from the server's own disk, as choices that
  name a root and a path inside it; a choice is resolved and checked again after following
  links, so a client cannot name anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

from sdaug.dataset.common import IMAGE_EXTENSIONS, ImageTask, ImportReport, ProgressFn, add_images
from sdaug.dataset.importers import FORMATS, import_path
from sdaug.dataset.projects import ProjectError
from sdaug.dataset.store import Project
from sdaug.errors import InputError, Phrase

ARCHIVES = frozenset({".zip"})
ROOT_DEPTH = 2          # folder levels below an import root offered as choices
ROOT_CHOICES = 500      # at most this many choices per root


def merge_reports(into: ImportReport, other: ImportReport) -> None:
    """Add the counts and lists of ``other`` to ``into``."""
    for f in fields(ImportReport):
        value = getattr(other, f.name)
        setattr(into, f.name, getattr(into, f.name) + value)


def import_uploads(project: Project, files: Sequence[str | Path], fmt: str,
                   on_progress: ProgressFn | None = None) -> ImportReport:
    """Import uploaded ``files`` in format ``fmt`` (``images``, ``yolo``, ``coco`` or ``voc``).

    Photos: image files and ``.zip`` files of photos. A labelled dataset: one ``.zip`` each (or a
    COCO ``.json`` together with its images). Other files are reported and skipped.
    """
    # 1. Check the request.
    if fmt not in FORMATS:
        raise InputError("value.choice", field="format", allowed=", ".join(FORMATS), value=fmt)
    paths = [Path(f) for f in files or []]
    if not paths:
        raise ProjectError("no_upload")
    report = ImportReport()
    archives = [p for p in paths if p.suffix.lower() in ARCHIVES]
    photos = [p for p in paths if p.suffix.lower() in IMAGE_EXTENSIONS]
    others = [p for p in paths if p not in archives and p not in photos]
    if fmt != "images" and not archives and not (fmt == "coco" and others):
        raise ProjectError("zip_needed", format=fmt.upper())
    # 2. Archives, each with the importer of the format.
    for archive in archives:
        merge_reports(report, import_path(project, archive, fmt, on_progress))
    # 3. Loose files (many photos, a folder; or COCO .json files with their photos), side by side.
    annotations = [p for p in others if fmt == "coco" and p.suffix.lower() == ".json"]
    for other in others:
        if other not in annotations:
            report.skipped += 1
            report.problem(other.name, Phrase("report.not_a_photo"))
    if not photos and not annotations:
        return report
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=project.folder))
    try:
        staged = _stage(staging, [*annotations, *photos])
        if annotations:
            for annotation in staged[: len(annotations)]:
                merge_reports(report, import_path(project, annotation, "coco", on_progress))
        else:
            add_images(project, report, staging, [ImageTask(p, "train") for p in staged], on_progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _stage(staging: Path, files: Sequence[Path]) -> list[Path]:
    """Link (or copy) uploads side by side into ``staging`` under their own names: the browser
    uploads each file into a folder of its own. Two uploads of one name get `` (2)``."""
    staged = []
    for path in files:
        target = staging / path.name
        number = 1
        while target.exists():
            number += 1
            target = staging / f"{path.stem} ({number}){path.suffix}"
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)
        staged.append(target)
    return staged


@dataclass(frozen=True)
class ImportRoots:
    """Folders on the server that users may import from (``--import-root``), by label."""

    roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        for root in self.roots:
            if not root.is_dir():
                raise InputError("import.root_not_folder", root=root)


    @classmethod
    def of(cls, folders: Sequence[str | Path]) -> ImportRoots:
        return cls(tuple(Path(f).expanduser().resolve() for f in folders))

    def labels(self) -> dict[str, Path]:
        """``{label: root}``: each root by its folder name (numbered when two share a name)."""
        labels: dict[str, Path] = {}
        for root in self.roots:
            label = root.name or str(root)
            while label in labels:
                label = f"{label}+"
            labels[label] = root
        return labels

    def choices(self) -> list[str]:
        """What may be imported: each root, its folders to :data:`ROOT_DEPTH` levels, and the
        ``.zip`` / ``.json`` files in them, as ``label/relative/path``."""
        found = []
        for label, root in self.labels().items():
            found.append(label)
            count = 0
            for folder, dirs, files in os.walk(root):
                here = Path(folder)
                depth = len(here.relative_to(root).parts)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < ROOT_DEPTH else []
                entries = [here / d for d in dirs]
                entries += [here / f for f in sorted(files) if Path(f).suffix.lower() in (".zip", ".json")]
                for entry in entries:
                    if count >= ROOT_CHOICES:
                        break
                    if self._inside(entry, root):
                        found.append(f"{label}/{entry.relative_to(root).as_posix()}")
                        count += 1
        return found

    def resolve(self, choice: str) -> Path:
        """The path of a choice from :meth:`choices`, checked to lie in its root after
        following links; ``ValueError`` for anything else."""
        label, _, rest = (choice or "").partition("/")
        roots = self.labels()
        if label not in roots:
            raise ProjectError("not_root", choice=choice)
        relative = PurePosixPath(rest)
        if relative.is_absolute() or ".." in relative.parts or "\\" in rest:
            raise ProjectError("not_root", choice=choice)
        root = roots[label]
        path = root / relative
        if not self._inside(path, root) or not path.exists():
            raise ProjectError("not_root", choice=choice)
        return path.resolve()

    @staticmethod
    def _inside(path: Path, root: Path) -> bool:
        return path.resolve().is_relative_to(root.resolve())
