"""Projects by name: every project is a folder ``<data folder>/projects/<name>``.

A browser never sends a path, only a project *name*; :class:`ProjectRegistry` checks the name
(:func:`check_name`), joins it to the projects folder, and checks again after following
symbolic links that the folder is a direct child of the projects folder. So nothing a client
sends can open, create, rename or delete anything outside it.

The registry also lists the projects for the picker (:class:`ProjectInfo`: image and box
counts, a thumbnail, when it was last opened), creates one with a class list (typed or pasted,
``bin not full, bin overflowing, garbage``), renames and deletes. Open :class:`Project` objects
are shared by the whole server (:func:`shared_project`), so every browser session and the job
runner use one set of connections per project; rename and delete close it first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sdaug.dataset.store import DB_NAME, Project
from sdaug.errors import InputError, KeyedError
from sdaug.settings import Settings

logger = logging.getLogger(__name__)

NAME_MAX = 64
OPENED_MARK = ".last-opened"   # touched when a project is opened; its mtime is "last opened"
# Characters refused in a project name: path separators, Windows-reserved and control characters.
_BAD_CHARS = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
# Class lists are typed or pasted: commas, semicolons, Chinese commas or one per line.
_CLASS_SEPARATORS = re.compile(r"[,;，；、\n\r]+")


# Messages of the refusals, by key: the UI translates them by key (``prj.err.<key>``).
MESSAGES = {
    "empty": "the project name is empty: type a name such as bins",
    "long": "the project name is too long ({length} characters); use at most {limit}",
    "dot": "the project name {name!r} starts with a dot; start it with a letter or a digit",
    "char": "the project name {name!r} contains {char!r}; use letters, digits, spaces, - and _",
    "link": "the project {name!r} is a link to a folder outside the projects folder; it cannot be opened from the app",
    "missing": "there is no project named {name!r}; create it first",
    "taken": "a project named {name!r} exists already; choose another name",
    "no_upload": "no file was uploaded: choose photos, a folder or a .zip first",
    "zip_needed": "a {format} dataset is uploaded as one .zip of its folder; zip the dataset folder and upload the .zip",
    "not_root": "{choice!r} is not one of the folders this server allows importing from",
}


class ProjectError(KeyedError):
    """A refused project name or upload; ``key`` names the message (see :data:`MESSAGES`)."""

    messages = MESSAGES
    prefix = "prj.err."


def check_name(name: str) -> str:
    """``name`` stripped, or a ``ValueError`` saying what is wrong with it."""
    text = (name or "").strip()
    if not text:
        raise ProjectError("empty")
    if len(text) > NAME_MAX:
        raise ProjectError("long", length=len(text), limit=NAME_MAX)
    if text.startswith("."):
        raise ProjectError("dot", name=text)
    bad = _BAD_CHARS.search(text)
    if bad:
        raise ProjectError("char", name=text, char=bad.group())
    return text


def parse_classes(text: str) -> list[str]:
    """Class names from a typed or pasted list (``a, b; c`` or one per line), in order, once each."""
    names = [part.strip() for part in _CLASS_SEPARATORS.split(text or "")]
    return list(dict.fromkeys(name for name in names if name))


# Open projects, shared by the server ---------------------------------------------------------
_open: dict[Path, Project] = {}
_open_lock = threading.Lock()


def shared_project(folder: str | Path, create: bool = True) -> Project:
    """The one open :class:`Project` of ``folder`` (opened, and created when ``create``, on first use)."""
    path = Path(folder).expanduser().resolve()
    with _open_lock:
        project = _open.get(path)
        if project is None:
            if not create and not (path / DB_NAME).is_file():
                raise ProjectError("missing", name=path.name)  # renamed or deleted meanwhile
            project = Project.open(path, create=create)
            _open[path] = project
        return project


def release(folder: str | Path) -> None:
    """Close the shared :class:`Project` of ``folder`` if it is open (before a rename or delete)."""
    with _open_lock:
        project = _open.pop(Path(folder).expanduser().resolve(), None)
    if project is not None:
        project.close()


@dataclass(frozen=True)
class ProjectInfo:
    """One row of the project picker."""

    name: str
    images: int
    boxes: int
    classes: list[str]
    thumbnail: Path | None
    last_opened: float | None   # seconds since the epoch; None when never opened from the app


class ProjectRegistry:
    """The projects of one data folder, by name (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    # Names -> folders ------------------------------------------------------------------------
    def folder(self, name: str) -> Path:
        """The folder of project ``name`` (which need not exist yet), checked to lie in the
        projects folder after following links."""
        name = check_name(name)
        root = self.root.resolve()
        folder = (root / name).resolve()
        if folder.parent != root or folder.name != name:
            raise ProjectError("link", name=name)
        return folder

    def name_of(self, folder: str | Path) -> str:
        """The name of a project folder that lies in the projects folder (else ``ValueError``)."""
        path = Path(folder).expanduser().resolve()
        if path.parent != self.root.resolve():
            raise InputError("project.outside", path=path, root=self.root)

        return check_name(path.name)

    def exists(self, name: str) -> bool:
        return (self.folder(name) / DB_NAME).is_file()

    def names(self) -> list[str]:
        """Names of the projects (folders with a project database), sorted."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            try:
                if self.exists(entry.name):
                    found.append(entry.name)
            except ValueError:
                continue  # a hidden folder or a link leaving the projects folder: not a project here
        return sorted(found, key=str.casefold)

    # Opening ---------------------------------------------------------------------------------
    def open(self, name: str) -> Project:
        """The open project ``name``; ``ValueError`` when there is none of that name."""
        if not self.exists(name):
            raise ProjectError("missing", name=check_name(name))
        project = shared_project(self.folder(name), create=False)
        (project.folder / OPENED_MARK).touch()
        return project

    def create(self, name: str, classes: Iterable[str] = ()) -> Project:
        """A new project ``name`` with ``classes`` (in order); ``ValueError`` if the name is taken."""
        folder = self.folder(name)
        if folder.exists():
            raise ProjectError("taken", name=folder.name)
        self.root.mkdir(parents=True, exist_ok=True)
        project = shared_project(folder)
        try:
            project.ensure_classes(list(classes))
        except ValueError:
            release(folder)
            shutil.rmtree(folder)  # a bad class name leaves no half-made project behind
            raise
        (folder / OPENED_MARK).touch()
        logger.info("created project %s", folder)
        return project

    def rename(self, name: str, new_name: str) -> Path:
        """Rename project ``name`` to ``new_name``; returns the new folder."""
        old, new = self.folder(name), self.folder(new_name)
        if not (old / DB_NAME).is_file():
            raise ProjectError("missing", name=old.name)
        if new.exists():
            raise ProjectError("taken", name=new.name)
        release(old)
        os.rename(old, new)
        logger.info("renamed project %s to %s", old, new)
        return new

    def delete(self, name: str) -> None:
        """Delete project ``name`` with its images and exports."""
        folder = self.folder(name)
        if not (folder / DB_NAME).is_file():
            raise ProjectError("missing", name=folder.name)
        release(folder)
        shutil.rmtree(folder)
        logger.info("deleted project %s", folder)

    # The picker -------------------------------------------------------------------------------
    def info(self, name: str) -> ProjectInfo:
        project = shared_project(self.folder(name), create=False)
        boxes = project.read("SELECT COUNT(*) FROM boxes")[0][0]
        first = project.next_image(0)
        try:
            opened: float | None = (project.folder / OPENED_MARK).stat().st_mtime
        except FileNotFoundError:
            opened = None
        return ProjectInfo(name=project.folder.name, images=project.count_images(), boxes=boxes,
                           classes=[c.name for c in project.classes()],
                           thumbnail=project.image_path(first) if first else None, last_opened=opened)

    def infos(self) -> list[ProjectInfo]:
        """Every project, the one opened last first."""
        found = [self.info(name) for name in self.names()]
        return sorted(found, key=lambda p: -(p.last_opened or 0.0))


def project_folder(value: str, home: str | Path | None = None) -> Path:
    """The folder of the CLI's ``--project``: a name (``bins``) is the project in the data folder's
    ``projects/`` (the one the app lists); what looks like a path (``./bins``, ``/data/bins``,
    ``~/bins``) is that folder."""
    text = str(value).strip()
    if "/" in text or os.sep in text or text.startswith(("~", ".")):
        return Path(text).expanduser()
    return ProjectRegistry(Settings.from_env(home=home).projects_dir).folder(text)


def format_time(seconds_since_epoch: float | None) -> str:
    """``"2026-11-30 07:15"`` for the picker (local time), ``"—"`` when never opened."""
    if seconds_since_epoch is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds_since_epoch))
