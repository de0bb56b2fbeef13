"""The project store: one folder with ``project.sqlite`` and ``images/``.

A project holds images (copied in, named by content hash), ordered classes with colours,
boxes, review status, lineage of generated variants and augmentation jobs. Every public
method that changes something is ONE committed SQLite transaction, so a crash (``kill -9``)
never loses an edit the caller was told about and never leaves half an edit behind.

Open a project (the folder is created when missing; ``create=False`` refuses instead)::

    from sdaug.dataset.store import Project, Box, ImageFilter
    project = Project.open("~/sdaug/projects/bins")      # also a context manager: close()

Images (``ImageRecord``: id, file_name, sha256, width, height, split, status,
source_image_id, preset, condition, seed, params, original_name, created_at, box_count)::

    added = project.add_image(path_or_prepared, split="train", boxes=[...], original_name=None)
    added.record, added.duplicate          # a duplicate is reported, never added twice
    prepare_image(path) -> PreparedImage; project.store_file(prepared)   # thread-safe, for bulk imports
    project.get_image(image_id) -> ImageRecord          # ValueError when missing
    project.image_path(image_or_id) -> Path
    project.count_images(where: ImageFilter | None = None) -> int
    project.list_images(offset=0, limit=100, where=None) -> list[ImageRecord]   # ordered by id
    project.image_ids(where=None) -> list[int]
    project.image_index(image_id, where=None) -> int    # 0-based position inside the filter
    project.next_image(image_id, where=None) / previous_image(image_id, where=None)
        -> ImageRecord | None                           # neighbours inside the filter
    project.next_unlabelled(after_id=None, where=None) -> ImageRecord | None  # wraps around
    project.set_status(image_id, status)                # "reviewed" also clears needs_review
    project.set_split(image_id, split)                  # variants follow their source
    project.delete_image(image_id)

``ImageFilter(status=None | str | tuple, split=None | str | tuple, class_id=None,
condition=None, kind=None | "source" | "variant")``; every field narrows the list.

Classes (``ClassRecord``: id, name, position (0-based, = the YOLO index), color "#rrggbb")::

    project.classes() -> list[ClassRecord]               # in order
    project.add_class(name, color=None) -> ClassRecord   # appended; allowed after the lock too
    project.ensure_classes(names) -> list[ClassRecord]   # get-or-create by name, in that order
    project.rename_class(class_id, name)                 # always allowed
    project.set_class_color(class_id, color)
    project.reorder_classes(class_ids)                   # ValueError once locked
    project.delete_class(class_id)                       # ValueError once locked or while boxes use it
    project.classes_locked() -> bool; project.lock_classes()   # export locks the order

Boxes (``Box``: class_id, x1, y1, x2, y2 in pixels of the stored image, origin
manual|carried|auto, drift float|None, needs_review bool, id, image_id). Coordinates are
clamped to the image and sorted (x1 < x2, y1 < y2); a box with no area after clamping is
refused with ``ValueError``::

    project.boxes(image_id) -> list[Box]
    project.boxes_by_image(image_ids=None) -> dict[int, list[Box]]   # one query, for export
    project.set_boxes(image_id, boxes, status=None) -> list[Box]     # replaces all, one transaction
    project.add_box(image_id, box) -> Box
    project.update_box(box_id, **fields) -> Box          # class_id, x1..y2, origin, drift, needs_review
    project.delete_box(box_id)

Setting boxes on an ``unlabelled`` image marks it ``labelled`` (unless ``status`` is given).

Augmentation jobs (``Job``: id, key, config dict, created_at, state; ``JobItem``: id, job_id,
source_image_id, preset, variant_index, seed, state pending|done|failed, image_id, error)::

    project.create_job(key, config, items: Iterable[JobItemSpec]) -> Job   # idempotent on key
    project.get_job(job_id) / job_by_key(key) -> Job | None; project.jobs() -> list[Job]
    project.set_job_state(job_id, state)
    project.pending_items(job_id, limit=None) -> list[JobItem]
    project.job_items(job_id, state=None) -> list[JobItem]
    project.job_progress(job_id) -> JobProgress(total, pending, done, failed)
    project.mark_item_failed(item_id, error)
    project.retry_failed(job_id) -> int                  # failed items back to pending
    project.add_variant(source_id, image, *, preset, seed, params, boxes, status,
                        job_item_id=None, condition=None) -> ImageRecord
    project.variants(source_id) -> list[ImageRecord]

``add_variant`` writes the PNG (with the infotext in its ``parameters`` chunk, through
:func:`sdaug.prompts.metadata.save_png`) atomically,
then inserts the image row, its boxes and marks the job item done in one transaction. Calling
it again for a job item that is already done returns the recorded image instead of adding a
second one. Variants inherit their source's split.

Statuses: ``unlabelled`` (nobody has labelled it), ``labelled``, ``review`` (waiting for a
person, e.g. the drift check failed), ``reviewed`` (a person checked it), ``rejected``.

Threads and processes: each thread gets its own connection (WAL, foreign keys on, a 30 s busy
timeout); writes start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing. ``synchronous=NORMAL``: every committed edit survives a crash of the process; only a
power cut can lose the last few. Sibling modules read with :meth:`Project.read`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from sdaug.prompts.metadata import save_png

logger = logging.getLogger(__name__)

DB_NAME = "project.sqlite"
IMAGES_DIR = "images"
EXPORTS_DIR = "exports"

STATUSES = ("unlabelled", "labelled", "review", "reviewed", "rejected")
SPLITS = ("train", "val", "test")
ORIGINS = ("manual", "carried", "auto")
ITEM_STATES = ("pending", "done", "failed")
JOB_STATES = ("pending", "running", "stopped", "done")
KINDS = ("source", "variant")

# Pillow format -> file extension of the stored copy. Formats every trainer reads.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}

# Distinct, readable on photos; cycled when there are more classes.
DEFAULT_PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)

# MIGRATIONS[i] brings a database from user_version i to i + 1. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE classes (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            position INTEGER NOT NULL,
            color TEXT NOT NULL)""",
        """CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            file_name TEXT NOT NULL UNIQUE,
            sha256 TEXT NOT NULL UNIQUE,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            split TEXT NOT NULL DEFAULT 'train' CHECK (split IN ('train', 'val', 'test')),
            status TEXT NOT NULL DEFAULT 'unlabelled'
                CHECK (status IN ('unlabelled', 'labelled', 'review', 'reviewed', 'rejected')),
            source_image_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
            preset TEXT,
            condition TEXT,
            seed INTEGER,
            params TEXT,
            original_name TEXT,
            created_at REAL NOT NULL)""",
        "CREATE INDEX images_status ON images(status, id)",
        "CREATE INDEX images_split ON images(split, id)",
        "CREATE INDEX images_source ON images(source_image_id, id)",
        "CREATE INDEX images_condition ON images(condition, id)",
        """CREATE TABLE boxes (
            id INTEGER PRIMARY KEY,
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            class_id INTEGER NOT NULL REFERENCES classes(id),
            x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
            origin TEXT NOT NULL DEFAULT 'manual' CHECK (origin IN ('manual', 'carried', 'auto')),
            drift REAL,
            needs_review INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX boxes_image ON boxes(image_id)",
        "CREATE INDEX boxes_class ON boxes(class_id, image_id)",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            config TEXT NOT NULL,
            created_at REAL NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending')""",
        """CREATE TABLE job_items (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            source_image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            preset TEXT NOT NULL,
            variant_index INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
            image_id INTEGER REFERENCES images(id) ON DELETE SET NULL,
            error TEXT,
            UNIQUE (job_id, source_image_id, preset, variant_index))""",
        "CREATE INDEX job_items_state ON job_items(job_id, state, id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_CLASSES_LOCKED = "classes_locked_at"


# Records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassRecord:
    id: int
    name: str
    position: int
    color: str


@dataclass(frozen=True)
class Box:
    """One box in pixel xyxy of the stored image. ``id``/``image_id`` are None until stored."""

    class_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    origin: str = "manual"
    drift: float | None = None
    needs_review: bool = False
    id: int | None = None
    image_id: int | None = None

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True)
class ImageRecord:
    id: int
    file_name: str
    sha256: str
    width: int
    height: int
    split: str
    status: str
    source_image_id: int | None
    preset: str | None
    condition: str | None
    seed: int | None
    params: str | None
    original_name: str | None
    created_at: float
    box_count: int = 0

    @property
    def is_variant(self) -> bool:
        return self.source_image_id is not None or self.preset is not None


@dataclass(frozen=True)
class AddedImage:
    """What :meth:`Project.add_image` did: the stored record and whether it was already there."""

    record: ImageRecord
    duplicate: bool
    boxes_added: int = 0


@dataclass(frozen=True)
class ImageFilter:
    """Narrows image lists. A status or split may be one value or a tuple of values."""

    status: str | tuple[str, ...] | None = None
    split: str | tuple[str, ...] | None = None
    class_id: int | None = None
    condition: str | None = None
    kind: str | None = None

    def sql(self) -> tuple[str, list[object]]:
        """The WHERE clause (without the keyword; "1" when empty) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value, allowed in (("status", self.status, STATUSES), ("split", self.split, SPLITS)):
            if value is None:
                continue
            values = (value,) if isinstance(value, str) else tuple(value)
            for v in values:
                _check_choice(column, v, allowed)
            clauses.append(f"images.{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        if self.class_id is not None:
            clauses.append("EXISTS (SELECT 1 FROM boxes b WHERE b.image_id = images.id AND b.class_id = ?)")
            params.append(self.class_id)
        if self.condition is not None:
            clauses.append("images.condition = ?")
            params.append(self.condition)
        if self.kind is not None:
            _check_choice("kind", self.kind, KINDS)
            clauses.append("images.source_image_id IS NULL AND images.preset IS NULL"
                           if self.kind == "source" else
                           "(images.source_image_id IS NOT NULL OR images.preset IS NOT NULL)")
        return (" AND ".join(clauses) or "1"), params


@dataclass(frozen=True)
class PreparedImage:
    """An image read, EXIF-oriented and encoded, ready to be stored (see :func:`prepare_image`)."""

    data: bytes
    sha256: str
    extension: str
    width: int
    height: int
    original_name: str
    # EXIF orientation of the source (1 = none). Boxes from tools that ignore EXIF may need
    # :func:`orient_box` with the raw size.
    orientation: int = 1
    raw_size: tuple[int, int] = (0, 0)

    @property
    def file_name(self) -> str:
        return self.sha256 + self.extension


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    config: dict
    created_at: float
    state: str


@dataclass(frozen=True)
class JobItemSpec:
    """One work item to create: a source image, a preset and the variant's index and seed."""

    source_image_id: int
    preset: str
    variant_index: int
    seed: int


@dataclass(frozen=True)
class JobItem:
    id: int
    job_id: int
    source_image_id: int
    preset: str
    variant_index: int
    seed: int
    state: str
    image_id: int | None
    error: str | None


@dataclass(frozen=True)
class JobProgress:
    total: int
    pending: int
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


# Images on disk -----------------------------------------------------------------------------
def prepare_image(source: str | Path | bytes, original_name: str | None = None) -> PreparedImage:
    """Read an image, apply its EXIF orientation and return the bytes to store with their hash.

    An image without an EXIF rotation is stored byte for byte; a rotated one is re-encoded
    upright (JPEG quality 95 for JPEG, otherwise its own format). Raises ``ValueError`` for
    files that are not images in a supported format.
    """
    if isinstance(source, bytes):
        data, name = source, original_name or "image"
    else:
        path = Path(source)
        name = original_name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            if fmt not in IMAGE_FORMATS:
                raise ValueError(f"{name}: format {fmt or 'unknown'} is not supported; "
                                 f"use one of {', '.join(IMAGE_FORMATS)}")
            raw_size = img.size
            orientation = int(img.getexif().get(ExifTags.Base.Orientation, 1) or 1)
            if orientation not in (1, 2, 3, 4, 5, 6, 7, 8):
                orientation = 1
            if orientation != 1:
                upright = ImageOps.exif_transpose(img)
                data = _encode(upright, fmt)
            width, height = (raw_size[1], raw_size[0]) if orientation >= 5 else raw_size
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"{name}: not a readable image ({exc})") from exc
    if width < 1 or height < 1:
        raise ValueError(f"{name}: image has no pixels ({width}x{height})")
    return PreparedImage(data=data, sha256=hashlib.sha256(data).hexdigest(), extension=IMAGE_FORMATS[fmt],
                         width=width, height=height, original_name=name, orientation=orientation,
                         raw_size=raw_size)


def orient_box(box: tuple[float, float, float, float], orientation: int,
               raw_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Map an xyxy box drawn on the raw (not EXIF-rotated) pixels onto the upright image."""
    w, h = raw_size
    x1, y1, x2, y2 = box
    # Each orientation as a map of a raw point (x, y) to the upright image.
    maps = {
        1: lambda x, y: (x, y),
        2: lambda x, y: (w - x, y),
        3: lambda x, y: (w - x, h - y),
        4: lambda x, y: (x, h - y),
        5: lambda x, y: (y, x),
        6: lambda x, y: (h - y, x),
        7: lambda x, y: (h - y, w - x),
        8: lambda x, y: (y, w - x),
    }
    (ax, ay), (bx, by) = maps[orientation](x1, y1), maps[orientation](x2, y2)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _check_color(color: str) -> str:
    text = str(color).strip().lower()
    if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
        raise ValueError(f"colour must look like #rrggbb, got {color!r}")
    return text


def _check_name(name: str) -> str:
    text = str(name).strip()
    if not text:
        raise ValueError("class name must not be empty")
    if any(c in text for c in "\n\r\t"):
        raise ValueError(f"class name must be one line without tabs, got {name!r}")
    return text


def clamp_box(box: Box, width: int, height: int) -> Box:
    """Sort and clamp ``box`` to the image; ``ValueError`` when nothing of it is left."""
    _check_choice("origin", box.origin, ORIGINS)
    coords = (box.x1, box.y1, box.x2, box.y2)
    if not all(isinstance(v, int | float) and v == v and abs(v) != float("inf") for v in coords):
        raise ValueError(f"box coordinates must be finite numbers, got {coords}")
    x1, x2 = sorted((min(max(float(box.x1), 0.0), width), min(max(float(box.x2), 0.0), width)))
    y1, y2 = sorted((min(max(float(box.y1), 0.0), height), min(max(float(box.y2), 0.0), height)))
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise ValueError(f"box {coords} has no area inside the {width}x{height} image")
    return replace(box, x1=x1, y1=y1, x2=x2, y2=y2)


# The project --------------------------------------------------------------------------------
_IMAGE_COLUMNS = ("images.id, file_name, sha256, width, height, split, status, source_image_id, preset, "
                  "condition, seed, params, original_name, created_at, "
                  "(SELECT COUNT(*) FROM boxes b WHERE b.image_id = images.id) AS box_count")
_BOX_COLUMNS = "class_id, x1, y1, x2, y2, origin, drift, needs_review, id, image_id"
_ITEM_COLUMNS = "id, job_id, source_image_id, preset, variant_index, seed, state, image_id, error"


class Project:
    """A dataset project folder. Use :meth:`open`; safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.images_dir = folder / IMAGES_DIR
        self.exports_dir = folder / EXPORTS_DIR
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

    @classmethod
    def open(cls, folder: str | Path, create: bool = True) -> Project:
        """Open the project in ``folder``, creating the folder and database when missing.

        With ``create=False`` a folder without ``project.sqlite`` is refused with ``ValueError``.
        """
        path = Path(folder).expanduser()
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file; a project is a folder")
        if not create and not (path / DB_NAME).is_file():
            raise ValueError(f"{path} is not a project folder (no {DB_NAME}); import images into it first")
        path.mkdir(parents=True, exist_ok=True)
        (path / IMAGES_DIR).mkdir(exist_ok=True)
        project = cls(path)
        project._migrate()
        return project

    def close(self) -> None:
        """Close every connection this project opened (in any thread)."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.folder)!r})"

    # Connections ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Run a read-only query (for sibling modules such as stats and export)."""
        return self._conn().execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValueError(f"{self.db_path} was made by a newer sdaug (schema {version}, this "
                                 f"version knows {SCHEMA_VERSION}); update sdaug to open it")
            for index in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[index]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {index + 1}")
                logger.info("project %s: schema migrated to version %d", self.folder, index + 1)

    # Classes -------------------------------------------------------------------------------
    def classes(self) -> list[ClassRecord]:
        rows = self.read("SELECT id, name, position, color FROM classes ORDER BY position")
        return [ClassRecord(*row) for row in rows]

    def get_class(self, class_id: int) -> ClassRecord:
        rows = self.read("SELECT id, name, position, color FROM classes WHERE id = ?", (class_id,))
        if not rows:
            raise ValueError(f"class id {class_id} does not exist in this project")
        return ClassRecord(*rows[0])

    def add_class(self, name: str, color: str | None = None) -> ClassRecord:
        """Append a class. Appending keeps the locked order of the existing classes, so it is allowed."""
        with self._write() as conn:
            return self._insert_class(conn, _check_name(name), color)

    def ensure_classes(self, names: Iterable[str]) -> list[ClassRecord]:
        """Return the classes named ``names`` (in that order), appending the missing ones."""
        with self._write() as conn:
            result = []
            for name in names:
                text = _check_name(name)
                row = conn.execute("SELECT id, name, position, color FROM classes WHERE name = ?",
                                   (text,)).fetchone()
                result.append(ClassRecord(*row) if row else self._insert_class(conn, text, None))
            return result

    def _insert_class(self, conn: sqlite3.Connection, name: str, color: str | None) -> ClassRecord:
        if conn.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
            raise ValueError(f"a class named {name!r} already exists")
        position = conn.execute("SELECT COUNT(*) FROM classes").fetchone()[0]
        color = _check_color(color) if color else DEFAULT_PALETTE[position % len(DEFAULT_PALETTE)]
        cursor = conn.execute("INSERT INTO classes (name, position, color) VALUES (?, ?, ?)",
                              (name, position, color))
        return ClassRecord(cursor.lastrowid, name, position, color)

    def rename_class(self, class_id: int, name: str) -> ClassRecord:
        text = _check_name(name)
        with self._write() as conn:
            other = conn.execute("SELECT id FROM classes WHERE name = ?", (text,)).fetchone()
            if other and other[0] != class_id:
                raise ValueError(f"a class named {text!r} already exists")
            if conn.execute("UPDATE classes SET name = ? WHERE id = ?", (text, class_id)).rowcount == 0:
                raise ValueError(f"class id {class_id} does not exist in this project")
        return self.get_class(class_id)

    def set_class_color(self, class_id: int, color: str) -> ClassRecord:
        value = _check_color(color)
        with self._write() as conn:
            if conn.execute("UPDATE classes SET color = ? WHERE id = ?", (value, class_id)).rowcount == 0:
                raise ValueError(f"class id {class_id} does not exist in this project")
        return self.get_class(class_id)

    def reorder_classes(self, class_ids: Sequence[int]) -> list[ClassRecord]:
        """Set the class order (``class_ids`` lists every class once)."""
        with self._write() as conn:
            self._refuse_if_locked(conn, "reorder")
            existing = {row[0] for row in conn.execute("SELECT id FROM classes")}
            if sorted(class_ids) != sorted(existing):
                raise ValueError(f"reorder needs every class id exactly once: {sorted(existing)}, "
                                 f"got {list(class_ids)}")
            for position, class_id in enumerate(class_ids):
                conn.execute("UPDATE classes SET position = ? WHERE id = ?", (position, class_id))
        return self.classes()

    def delete_class(self, class_id: int) -> None:
        """Delete an unused class; refused once the order is locked or while boxes use it."""
        with self._write() as conn:
            self._refuse_if_locked(conn, "delete")
            used = conn.execute("SELECT COUNT(*) FROM boxes WHERE class_id = ?", (class_id,)).fetchone()[0]
            if used:
                raise ValueError(f"class id {class_id} is used by {used} boxes; change or delete those "
                                 "boxes first")
            row = conn.execute("SELECT position FROM classes WHERE id = ?", (class_id,)).fetchone()
            if row is None:
                raise ValueError(f"class id {class_id} does not exist in this project")
            conn.execute("DELETE FROM classes WHERE id = ?", (class_id,))
            conn.execute("UPDATE classes SET position = position - 1 WHERE position > ?", (row[0],))

    def classes_locked(self) -> bool:
        return bool(self.read("SELECT 1 FROM meta WHERE key = ?", (_CLASSES_LOCKED,)))

    def lock_classes(self) -> None:
        """Freeze the class order (called by the first export). Renaming stays allowed."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (_CLASSES_LOCKED, str(time.time())))

    def _refuse_if_locked(self, conn: sqlite3.Connection, action: str) -> None:
        if conn.execute("SELECT 1 FROM meta WHERE key = ?", (_CLASSES_LOCKED,)).fetchone():
            raise ValueError(f"cannot {action} classes: the class order is locked since the first export "
                             "(exported labels use it). Renaming and adding classes is still possible.")

    # Images --------------------------------------------------------------------------------
    def add_image(self, source: str | Path | PreparedImage, *, split: str = "train", status: str | None = None,
                  boxes: Iterable[Box] = (), original_name: str | None = None) -> AddedImage:
        """Copy an image (and its boxes) into the project in one transaction.

        A file whose content is already stored is not added again: the existing record comes
        back with ``duplicate=True`` and ``boxes`` are ignored. ``status`` defaults to
        ``labelled`` when boxes are given, else ``unlabelled``.
        """
        _check_choice("split", split, SPLITS)
        prepared = source if isinstance(source, PreparedImage) else prepare_image(source, original_name)
        box_list = [clamp_box(b, prepared.width, prepared.height) for b in boxes]
        status = status or ("labelled" if box_list else "unlabelled")
        _check_choice("status", status, STATUSES)
        # 1. The file first (a crash after this leaves at most an unreferenced file).
        self.store_file(prepared)
        # 2. The row and its boxes in one transaction, unless the content is already stored.
        with self._write() as conn:
            existing = conn.execute("SELECT id FROM images WHERE sha256 = ?", (prepared.sha256,)).fetchone()
            if existing is None:
                image_id = conn.execute(
                    "INSERT INTO images (file_name, sha256, width, height, split, status, original_name, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (prepared.file_name, prepared.sha256, prepared.width, prepared.height, split, status,
                     original_name or prepared.original_name, time.time())).lastrowid
                self._insert_boxes(conn, image_id, box_list)
        if existing is not None:
            return AddedImage(self.get_image(existing[0]), duplicate=True)
        return AddedImage(self.get_image(image_id), duplicate=False, boxes_added=len(box_list))

    def store_file(self, prepared: PreparedImage) -> Path:
        """Write a prepared image into ``images/`` (atomically, fsynced) unless it is already there.

        Safe to call from worker threads ahead of :meth:`add_image` (imports do, so that the
        slow part, writing and syncing files, runs in parallel). A stored file of the wrong
        size (cut short by a power failure) is written again.
        """
        path = self.images_dir / prepared.file_name
        try:
            intact = path.stat().st_size == len(prepared.data)
        except FileNotFoundError:
            intact = False
        if not intact:
            _write_atomic(path, prepared.data)
        return path

    def get_image(self, image_id: int) -> ImageRecord:
        rows = self.read(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise ValueError(f"image id {image_id} does not exist in this project")
        return ImageRecord(*rows[0])

    def image_path(self, image: ImageRecord | int) -> Path:
        record = image if isinstance(image, ImageRecord) else self.get_image(image)
        return self.images_dir / record.file_name

    def count_images(self, where: ImageFilter | None = None) -> int:
        clause, params = (where or ImageFilter()).sql()
        return self.read(f"SELECT COUNT(*) FROM images WHERE {clause}", params)[0][0]

    def list_images(self, offset: int = 0, limit: int = 100, where: ImageFilter | None = None) -> list[ImageRecord]:
        """One page of images (ordered by id) matching ``where``."""
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit must be 0 or more, got offset={offset}, limit={limit}")
        clause, params = (where or ImageFilter()).sql()
        rows = self.read(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE {clause} ORDER BY images.id "
                         "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [ImageRecord(*row) for row in rows]

    def image_ids(self, where: ImageFilter | None = None) -> list[int]:
        clause, params = (where or ImageFilter()).sql()
        return [row[0] for row in self.read(f"SELECT id FROM images WHERE {clause} ORDER BY id", params)]

    def image_index(self, image_id: int, where: ImageFilter | None = None) -> int:
        """Position (0-based) of ``image_id`` among the images matching ``where``."""
        clause, params = (where or ImageFilter()).sql()
        return self.read(f"SELECT COUNT(*) FROM images WHERE {clause} AND images.id < ?",
                         [*params, image_id])[0][0]

    def next_image(self, image_id: int, where: ImageFilter | None = None) -> ImageRecord | None:
        return self._neighbour(image_id, where, ">", "ASC")

    def previous_image(self, image_id: int, where: ImageFilter | None = None) -> ImageRecord | None:
        return self._neighbour(image_id, where, "<", "DESC")

    def _neighbour(self, image_id: int, where: ImageFilter | None, op: str, order: str) -> ImageRecord | None:
        clause, params = (where or ImageFilter()).sql()
        rows = self.read(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE {clause} AND images.id {op} ? "
                         f"ORDER BY images.id {order} LIMIT 1", [*params, image_id])
        return ImageRecord(*rows[0]) if rows else None

    def next_unlabelled(self, after_id: int | None = None, where: ImageFilter | None = None) -> ImageRecord | None:
        """The first unlabelled image after ``after_id`` (wrapping to the start), or None."""
        base = where or ImageFilter()
        only = replace(base, status="unlabelled")
        found = self.next_image(after_id if after_id is not None else 0, only)
        return found or self.next_image(0, only)

    def set_status(self, image_id: int, status: str) -> ImageRecord:
        """Set the review status; ``reviewed`` also clears every box's ``needs_review``."""
        _check_choice("status", status, STATUSES)
        with self._write() as conn:
            if conn.execute("UPDATE images SET status = ? WHERE id = ?", (status, image_id)).rowcount == 0:
                raise ValueError(f"image id {image_id} does not exist in this project")
            if status == "reviewed":
                conn.execute("UPDATE boxes SET needs_review = 0 WHERE image_id = ?", (image_id,))
        return self.get_image(image_id)

    def set_split(self, image_id: int, split: str) -> ImageRecord:
        """Move an image (and its variants, which always share their source's split) to ``split``."""
        _check_choice("split", split, SPLITS)
        with self._write() as conn:
            if conn.execute("UPDATE images SET split = ? WHERE id = ?", (split, image_id)).rowcount == 0:
                raise ValueError(f"image id {image_id} does not exist in this project")
            conn.execute("UPDATE images SET split = ? WHERE source_image_id = ?", (split, image_id))
        return self.get_image(image_id)

    def set_splits(self, splits: dict[int, str]) -> None:
        """Set many images' splits in one transaction (used by a ratio split)."""
        for split in splits.values():
            _check_choice("split", split, SPLITS)
        with self._write() as conn:
            conn.executemany("UPDATE images SET split = ? WHERE id = ?",
                             [(split, image_id) for image_id, split in splits.items()])

    def delete_image(self, image_id: int) -> None:
        """Delete an image with its boxes and its file. Its variants stay (their source is cleared)."""
        record = self.get_image(image_id)
        with self._write() as conn:
            conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
        with contextlib.suppress(FileNotFoundError):
            self.image_path(record).unlink()

    # Boxes ---------------------------------------------------------------------------------
    def boxes(self, image_id: int) -> list[Box]:
        rows = self.read(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE image_id = ? ORDER BY id", (image_id,))
        return [_box(row) for row in rows]

    def boxes_by_image(self, image_ids: Iterable[int] | None = None) -> dict[int, list[Box]]:
        """Boxes of many images at once (all images when ``image_ids`` is None)."""
        if image_ids is None:
            rows = self.read(f"SELECT {_BOX_COLUMNS} FROM boxes ORDER BY image_id, id")
            result: dict[int, list[Box]] = {}
        else:
            ids = sorted(set(image_ids))
            result = {i: [] for i in ids}
            rows = []
            for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
                chunk = ids[start:start + 500]
                rows += self.read(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE image_id IN ({', '.join('?' * len(chunk))}) "
                                  "ORDER BY image_id, id", chunk)
        for row in rows:
            result.setdefault(row["image_id"], []).append(_box(row))
        return result

    def set_boxes(self, image_id: int, boxes: Iterable[Box], status: str | None = None) -> list[Box]:
        """Replace all boxes of an image in one transaction (undo/redo and autosave use this)."""
        if status is not None:
            _check_choice("status", status, STATUSES)
        with self._write() as conn:
            image = self._image_row(conn, image_id)
            box_list = [clamp_box(b, image["width"], image["height"]) for b in boxes]
            conn.execute("DELETE FROM boxes WHERE image_id = ?", (image_id,))
            self._insert_boxes(conn, image_id, box_list)
            self._update_status(conn, image, status, bool(box_list))
        return self.boxes(image_id)

    def add_box(self, image_id: int, box: Box) -> Box:
        with self._write() as conn:
            image = self._image_row(conn, image_id)
            stored = self._insert_boxes(conn, image_id, [clamp_box(box, image["width"], image["height"])])
            self._update_status(conn, image, None, True)
        return stored[0]

    def update_box(self, box_id: int, **fields: object) -> Box:
        """Change some fields of a box: class_id, x1, y1, x2, y2, origin, drift, needs_review."""
        allowed = {"class_id", "x1", "y1", "x2", "y2", "origin", "drift", "needs_review"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown box fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self._write() as conn:
            row = conn.execute(f"SELECT {_BOX_COLUMNS} FROM boxes WHERE id = ?", (box_id,)).fetchone()
            if row is None:
                raise ValueError(f"box id {box_id} does not exist in this project")
            image = self._image_row(conn, row["image_id"])
            box = clamp_box(replace(_box(row), **fields), image["width"], image["height"])
            self._check_class(conn, box.class_id)
            conn.execute("UPDATE boxes SET class_id = ?, x1 = ?, y1 = ?, x2 = ?, y2 = ?, origin = ?, drift = ?, "
                         "needs_review = ? WHERE id = ?",
                         (box.class_id, box.x1, box.y1, box.x2, box.y2, box.origin, box.drift,
                          int(box.needs_review), box_id))
        return box

    def delete_box(self, box_id: int) -> None:
        with self._write() as conn:
            if conn.execute("DELETE FROM boxes WHERE id = ?", (box_id,)).rowcount == 0:
                raise ValueError(f"box id {box_id} does not exist in this project")

    def _image_row(self, conn: sqlite3.Connection, image_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT id, width, height, status FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise ValueError(f"image id {image_id} does not exist in this project")
        return row

    def _check_class(self, conn: sqlite3.Connection, class_id: int) -> None:
        if conn.execute("SELECT 1 FROM classes WHERE id = ?", (class_id,)).fetchone() is None:
            raise ValueError(f"class id {class_id} does not exist in this project; add the class first")

    def _insert_boxes(self, conn: sqlite3.Connection, image_id: int, boxes: list[Box]) -> list[Box]:
        for class_id in {box.class_id for box in boxes}:
            self._check_class(conn, class_id)
        stored = []
        for box in boxes:
            box_id = conn.execute(
                "INSERT INTO boxes (image_id, class_id, x1, y1, x2, y2, origin, drift, needs_review) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (image_id, box.class_id, box.x1, box.y1, box.x2, box.y2, box.origin, box.drift,
                 int(box.needs_review))).lastrowid
            stored.append(replace(box, id=box_id, image_id=image_id))
        return stored

    def _update_status(self, conn: sqlite3.Connection, image: sqlite3.Row, status: str | None,
                       has_boxes: bool) -> None:
        if status is None and image["status"] == "unlabelled" and has_boxes:
            status = "labelled"
        if status is not None:
            conn.execute("UPDATE images SET status = ? WHERE id = ?", (status, image["id"]))

    # Jobs ----------------------------------------------------------------------------------
    def create_job(self, key: str, config: dict, items: Iterable[JobItemSpec]) -> Job:
        """Create a job with its items; if a job with ``key`` exists, return it unchanged."""
        if not key:
            raise ValueError("a job needs a non-empty key")
        config_json = json.dumps(config, sort_keys=True)
        with self._write() as conn:
            row = conn.execute("SELECT id FROM jobs WHERE key = ?", (key,)).fetchone()
            if row is not None:
                job_id = row[0]
            else:
                job_id = conn.execute("INSERT INTO jobs (key, config, created_at) VALUES (?, ?, ?)",
                                      (key, config_json, time.time())).lastrowid
                conn.executemany(
                    "INSERT INTO job_items (job_id, source_image_id, preset, variant_index, seed) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(job_id, i.source_image_id, i.preset, i.variant_index, i.seed) for i in items])
        return self.get_job(job_id)

    def get_job(self, job_id: int) -> Job:
        rows = self.read("SELECT id, key, config, created_at, state FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise ValueError(f"job id {job_id} does not exist in this project")
        return _job(rows[0])

    def job_by_key(self, key: str) -> Job | None:
        rows = self.read("SELECT id, key, config, created_at, state FROM jobs WHERE key = ?", (key,))
        return _job(rows[0]) if rows else None

    def jobs(self) -> list[Job]:
        return [_job(row) for row in self.read("SELECT id, key, config, created_at, state FROM jobs ORDER BY id")]

    def set_job_state(self, job_id: int, state: str) -> None:
        _check_choice("job state", state, JOB_STATES)
        with self._write() as conn:
            if conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, job_id)).rowcount == 0:
                raise ValueError(f"job id {job_id} does not exist in this project")

    def job_items(self, job_id: int, state: str | None = None) -> list[JobItem]:
        if state is None:
            rows = self.read(f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ? ORDER BY id", (job_id,))
        else:
            _check_choice("item state", state, ITEM_STATES)
            rows = self.read(f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND state = ? ORDER BY id",
                             (job_id, state))
        return [JobItem(*row) for row in rows]

    def pending_items(self, job_id: int, limit: int | None = None) -> list[JobItem]:
        rows = self.read(f"SELECT {_ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND state = 'pending' "
                         "ORDER BY id LIMIT ?", (job_id, -1 if limit is None else limit))
        return [JobItem(*row) for row in rows]

    def job_progress(self, job_id: int) -> JobProgress:
        counts = dict.fromkeys(ITEM_STATES, 0)
        for state, count in self.read("SELECT state, COUNT(*) FROM job_items WHERE job_id = ? GROUP BY state",
                                      (job_id,)):
            counts[state] = count
        return JobProgress(total=sum(counts.values()), pending=counts["pending"], done=counts["done"],
                           failed=counts["failed"])

    def mark_item_failed(self, item_id: int, error: str) -> None:
        with self._write() as conn:
            if conn.execute("UPDATE job_items SET state = 'failed', error = ? WHERE id = ? AND state != 'done'",
                            (str(error), item_id)).rowcount == 0:
                raise ValueError(f"job item {item_id} does not exist or is already done")

    def retry_failed(self, job_id: int) -> int:
        """Put the failed items of a job back to pending; returns how many."""
        with self._write() as conn:
            return conn.execute("UPDATE job_items SET state = 'pending', error = NULL "
                                "WHERE job_id = ? AND state = 'failed'", (job_id,)).rowcount

    def add_variant(self, source_id: int, image: Image.Image, *, preset: str, seed: int | None, params: str,
                    boxes: Iterable[Box], status: str, job_item_id: int | None = None,
                    condition: str | None = None) -> ImageRecord:
        """Store a generated variant of ``source_id`` with its carried boxes (see module docstring)."""
        _check_choice("status", status, STATUSES)
        if job_item_id is not None:
            done = self.read("SELECT image_id FROM job_items WHERE id = ? AND state = 'done'", (job_item_id,))
            if done and done[0][0] is not None:
                return self.get_image(done[0][0])
        source = self.get_image(source_id)
        box_list = [clamp_box(b, image.width, image.height) for b in boxes]
        # 1. The file first, named by its hash: a crash after this leaves at most an unreferenced
        #    file, which the retried item replaces (same seed, same bytes, same name).
        tmp = self.images_dir / f".variant-{uuid.uuid4().hex}.png"
        save_png(image, tmp, params)
        sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
        file_name = sha + ".png"
        os.replace(tmp, self.images_dir / file_name)
        # 2. Row, boxes and job item in one transaction.
        with self._write() as conn:
            if job_item_id is not None:
                item = conn.execute("SELECT state, image_id FROM job_items WHERE id = ?", (job_item_id,)).fetchone()
                if item is None:
                    raise ValueError(f"job item {job_item_id} does not exist in this project")
                if item["state"] == "done" and item["image_id"] is not None:
                    image_id = item["image_id"]
                    return self.get_image(image_id)
            other = conn.execute("SELECT id FROM images WHERE sha256 = ?", (sha,)).fetchone()
            if other is not None:
                raise ValueError(f"this variant is pixel-identical to image id {other[0]}; not added twice")
            image_id = conn.execute(
                "INSERT INTO images (file_name, sha256, width, height, split, status, source_image_id, preset, "
                "condition, seed, params, original_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (file_name, sha, image.width, image.height, source.split, status, source_id, preset, condition,
                 seed, params, source.original_name, time.time())).lastrowid
            self._insert_boxes(conn, image_id, box_list)
            if job_item_id is not None:
                conn.execute("UPDATE job_items SET state = 'done', image_id = ?, error = NULL WHERE id = ?",
                             (image_id, job_item_id))
        return self.get_image(image_id)

    def variants(self, source_id: int) -> list[ImageRecord]:
        rows = self.read(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE source_image_id = ? ORDER BY id",
                         (source_id,))
        return [ImageRecord(*row) for row in rows]


def _box(row: sqlite3.Row) -> Box:
    return Box(class_id=row["class_id"], x1=row["x1"], y1=row["y1"], x2=row["x2"], y2=row["y2"],
               origin=row["origin"], drift=row["drift"], needs_review=bool(row["needs_review"]),
               id=row["id"], image_id=row["image_id"])


def _job(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], key=row["key"], config=json.loads(row["config"]), created_at=row["created_at"],
               state=row["state"])

