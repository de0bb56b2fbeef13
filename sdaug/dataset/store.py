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
refused with ``ValueError``, and so is an image with more than ``max_boxes_per_image``
(:mod:`sdaug.limits`)::

    project.boxes(image_id) -> list[Box]
    project.boxes_by_image(image_ids=None) -> dict[int, list[Box]]   # one query, for export
    project.set_boxes(image_id, boxes, status=None) -> list[Box]     # replaces all, one transaction
    project.add_box(image_id, box) -> Box
    project.update_box(box_id, **fields) -> Box          # class_id, x1..y2, origin, drift, needs_review
    project.delete_box(box_id)

Detector proposals (origin ``auto``, with ``score`` and ``detector``; never exported), see
:mod:`sdaug.dataset.proposals`::

    project.add_proposals(image_id, boxes, detector=..., uncertainty=..., job_item_id=None) -> list[Box]
    project.accept_proposals(image_id, box_ids=None) -> int
    project.labelling_order(limit=50) -> [(image_id, uncertainty), ...]   # least sure first

Setting boxes on an ``unlabelled`` image marks it ``labelled`` (unless ``status`` is given).

Augmentation jobs (``Job``: id, key, config dict, created_at, state; ``JobItem``: id, job_id,
source_image_id, preset, variant_index, seed, state pending|done|failed, image_id, error,
attempts: how many times it failed)::

    project.create_job(key, config, items: Iterable[JobItemSpec]) -> Job   # idempotent on key
    project.get_job(job_id) / job_by_key(key) -> Job | None; project.jobs() -> list[Job]
    project.set_job_state(job_id, state)
    project.pending_items(job_id, limit=None) -> list[JobItem]
    project.job_items(job_id, state=None) -> list[JobItem]
    project.job_progress(job_id) -> JobProgress(total, pending, done, failed)
    project.mark_item_failed(item_id, error, attempts=1) # counts the attempt(s)
    project.retry_failed(job_id, max_attempts=None) -> int   # failed items (under the limit) back to pending
    project.add_variant(source_id, image, *, preset, seed, params, boxes, status,
                        job_item_id=None, condition=None, image_format="png", quality=95) -> ImageRecord
    project.record_variants(list[NewVariant]) -> list[VariantOutcome]  # encoded files, one transaction
    project.variants(source_id) -> list[ImageRecord]
    project.job_lock(job_id) -> JobLock                  # one runner per job (raises ValueError when held)

``add_variant`` encodes the file (``job_store.encode_variant``: PNG with the infotext in its
``parameters`` chunk, or JPEG with it in the EXIF UserComment) and records it with
``record_variants``: the file is written and synced, then moved into place before the
transaction that inserts the image row and its boxes and marks the job item done commits. Calling
it again for a job item that is already done returns the recorded image instead of adding a
second one. Variants inherit their source's split.

Statuses: ``unlabelled`` (nobody has labelled it), ``labelled``, ``review`` (waiting for a
person, e.g. the drift check failed), ``reviewed`` (a person checked it), ``rejected``.

Threads and processes: each thread gets its own connection (WAL, foreign keys on, a 30 s busy
timeout); writes start with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing. ``synchronous=NORMAL``: every committed edit survives a crash of the process; only a
power cut can lose the last few. Sibling modules read with :meth:`Project.read`.

The parts live in their own modules and are imported from here: the records and their checks
(:mod:`~sdaug.dataset.records`), the SQLite schema and migrations (:mod:`~sdaug.dataset.schema`),
image files entering a project (:mod:`~sdaug.dataset.image_files`) and the job and variant
methods of :class:`Project` (:mod:`~sdaug.dataset.job_store`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from sdaug.dataset.image_files import IMAGE_FORMATS, orient_box, prepare_image
from sdaug.dataset.job_store import JobStore
from sdaug.dataset.proposals import ProposalStore
from sdaug.dataset.records import (
    DEFAULT_PALETTE,
    ITEM_STATES,
    JOB_STATES,
    KINDS,
    MAX_DESCRIPTION,
    ORIGINS,
    SPLITS,
    STATUSES,
    AddedImage,
    Box,
    ClassRecord,
    ImageFilter,
    ImageRecord,
    Job,
    JobItem,
    JobItemSpec,
    JobProgress,
    PreparedImage,
    box_from_row,
    check_choice,
    check_color,
    check_name,
    clamp_box,
)
from sdaug.dataset.schema import (
    BOX_COLUMNS,
    CLASS_COLUMNS,
    CLASSES_LOCKED,
    IMAGE_COLUMNS,
    MIGRATIONS,
    SCHEMA_VERSION,
    migrate,
)
from sdaug.errors import InputError, Phrase
from sdaug.limits import check_boxes
from sdaug.prompts.metadata import write_atomic

# The public API, wherever each name lives (records, schema, image files, jobs: one module each).
__all__ = [
    "DB_NAME", "DEFAULT_PALETTE", "EXPORTS_DIR", "IMAGES_DIR", "IMAGE_FORMATS", "ITEM_STATES", "JOB_STATES",
    "KINDS", "MIGRATIONS", "ORIGINS", "SCHEMA_VERSION", "SPLITS", "STATUSES", "AddedImage", "Box",
    "ClassRecord", "ImageFilter", "ImageRecord", "Job", "JobItem", "JobItemSpec", "JobProgress",
    "PreparedImage", "Project", "clamp_box", "orient_box", "prepare_image",
]

DB_NAME = "project.sqlite"
# How long a writer waits for another one before giving up ("database is locked").
BUSY_TIMEOUT_S = 30.0
IMAGES_DIR = "images"
EXPORTS_DIR = "exports"


class Project(JobStore, ProposalStore):
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
            raise InputError("project.is_file", path=path)
        if not create and not (path / DB_NAME).is_file():
            raise InputError("project.not_project", path=path, db=DB_NAME)
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
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
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
            migrate(conn, self.db_path)

    # Classes -------------------------------------------------------------------------------
    def classes(self) -> list[ClassRecord]:
        rows = self.read(f"SELECT {CLASS_COLUMNS} FROM classes ORDER BY position")
        return [ClassRecord(*row) for row in rows]

    def get_class(self, class_id: int) -> ClassRecord:
        rows = self.read(f"SELECT {CLASS_COLUMNS} FROM classes WHERE id = ?", (class_id,))
        if not rows:
            raise InputError("class.missing", id=class_id)
        return ClassRecord(*rows[0])

    def add_class(self, name: str, color: str | None = None) -> ClassRecord:
        """Append a class. Appending keeps the locked order of the existing classes, so it is allowed."""
        with self._write() as conn:
            return self._insert_class(conn, check_name(name), color)

    def ensure_classes(self, names: Iterable[str]) -> list[ClassRecord]:
        """Return the classes named ``names`` (in that order), appending the missing ones."""
        with self._write() as conn:
            result = []
            for name in names:
                text = check_name(name)
                row = conn.execute(f"SELECT {CLASS_COLUMNS} FROM classes WHERE name = ?",
                                   (text,)).fetchone()
                result.append(ClassRecord(*row) if row else self._insert_class(conn, text, None))
            return result

    def _insert_class(self, conn: sqlite3.Connection, name: str, color: str | None) -> ClassRecord:
        if conn.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
            raise InputError("class.exists", name=name)
        position = conn.execute("SELECT COUNT(*) FROM classes").fetchone()[0]
        color = check_color(color) if color else DEFAULT_PALETTE[position % len(DEFAULT_PALETTE)]
        cursor = conn.execute("INSERT INTO classes (name, position, color) VALUES (?, ?, ?)",
                              (name, position, color))
        return ClassRecord(cursor.lastrowid, name, position, color)

    def rename_class(self, class_id: int, name: str) -> ClassRecord:
        text = check_name(name)
        with self._write() as conn:
            other = conn.execute("SELECT id FROM classes WHERE name = ?", (text,)).fetchone()
            if other and other[0] != class_id:
                raise InputError("class.exists", name=text)
            if conn.execute("UPDATE classes SET name = ? WHERE id = ?", (text, class_id)).rowcount == 0:
                raise InputError("class.missing", id=class_id)
        return self.get_class(class_id)

    def set_class_color(self, class_id: int, color: str) -> ClassRecord:
        return self._set_class_field(class_id, "color", check_color(color))

    def set_class_description(self, class_id: int, description: str) -> ClassRecord:
        """What the class looks like in words ("overflowing bin, lid open"), for the CLIP check."""
        text = " ".join(str(description).split())
        if len(text) > MAX_DESCRIPTION:
            raise InputError("class.description_long", limit=MAX_DESCRIPTION, count=len(text))
        return self._set_class_field(class_id, "description", text)

    def _set_class_field(self, class_id: int, column: str, value: str) -> ClassRecord:
        with self._write() as conn:
            if conn.execute(f"UPDATE classes SET {column} = ? WHERE id = ?", (value, class_id)).rowcount == 0:
                raise InputError("class.missing", id=class_id)
        return self.get_class(class_id)

    def reorder_classes(self, class_ids: Sequence[int]) -> list[ClassRecord]:
        """Set the class order (``class_ids`` lists every class once)."""
        with self._write() as conn:
            self._refuse_if_locked(conn, "reorder")
            existing = {row[0] for row in conn.execute("SELECT id FROM classes")}
            if sorted(class_ids) != sorted(existing):
                raise InputError("class.reorder", expected=str(sorted(existing)), got=str(list(class_ids)))
            for position, class_id in enumerate(class_ids):
                conn.execute("UPDATE classes SET position = ? WHERE id = ?", (position, class_id))
        return self.classes()

    def delete_class(self, class_id: int) -> None:
        """Delete an unused class; refused once the order is locked or while boxes use it."""
        with self._write() as conn:
            self._refuse_if_locked(conn, "delete")
            used = conn.execute("SELECT COUNT(*) FROM boxes WHERE class_id = ?", (class_id,)).fetchone()[0]
            if used:
                raise InputError("class.in_use", id=class_id, count=used)
            row = conn.execute("SELECT position FROM classes WHERE id = ?", (class_id,)).fetchone()
            if row is None:
                raise InputError("class.missing", id=class_id)
            conn.execute("DELETE FROM classes WHERE id = ?", (class_id,))
            conn.execute("UPDATE classes SET position = position - 1 WHERE position > ?", (row[0],))

    def classes_locked(self) -> bool:
        return bool(self.read("SELECT 1 FROM meta WHERE key = ?", (CLASSES_LOCKED,)))

    def lock_classes(self) -> None:
        """Freeze the class order (called by the first export). Renaming stays allowed."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                         (CLASSES_LOCKED, str(time.time())))

    def _refuse_if_locked(self, conn: sqlite3.Connection, action: str) -> None:
        if conn.execute("SELECT 1 FROM meta WHERE key = ?", (CLASSES_LOCKED,)).fetchone():
            raise InputError("class.locked", action=action)

    # Images --------------------------------------------------------------------------------
    def add_image(self, source: str | Path | PreparedImage, *, split: str = "train", status: str | None = None,
                  boxes: Iterable[Box] = (), original_name: str | None = None) -> AddedImage:
        """Copy an image (and its boxes) into the project in one transaction.

        A file whose content is already stored is not added again: the existing record comes
        back with ``duplicate=True`` and ``boxes`` are ignored. ``status`` defaults to
        ``labelled`` when boxes are given, else ``unlabelled``.
        """
        check_choice("split", split, SPLITS)
        prepared = source if isinstance(source, PreparedImage) else prepare_image(source, original_name)
        box_list = [clamp_box(b, prepared.width, prepared.height) for b in boxes]
        status = status or ("labelled" if box_list else "unlabelled")
        check_choice("status", status, STATUSES)
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
            write_atomic(path, lambda handle: handle.write(prepared.data))
        return path

    def get_image(self, image_id: int) -> ImageRecord:
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise InputError("image.missing", id=image_id)
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
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE {clause} ORDER BY images.id "
                         "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [ImageRecord(*row) for row in rows]

    def find_image(self, sha256: str) -> ImageRecord | None:
        """The image whose stored bytes have this SHA-256, or None."""
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE sha256 = ?", (sha256,))
        return ImageRecord(*rows[0]) if rows else None

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
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE {clause} AND images.id {op} ? "
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
        check_choice("status", status, STATUSES)
        with self._write() as conn:
            if conn.execute("UPDATE images SET status = ? WHERE id = ?", (status, image_id)).rowcount == 0:
                raise InputError("image.missing", id=image_id)
            if status == "reviewed":
                conn.execute("UPDATE boxes SET needs_review = 0 WHERE image_id = ?", (image_id,))
        return self.get_image(image_id)

    def set_split(self, image_id: int, split: str) -> ImageRecord:
        """Move an image (and its variants, which always share their source's split) to ``split``."""
        check_choice("split", split, SPLITS)
        with self._write() as conn:
            if conn.execute("UPDATE images SET split = ? WHERE id = ?", (split, image_id)).rowcount == 0:
                raise InputError("image.missing", id=image_id)
            conn.execute("UPDATE images SET split = ? WHERE source_image_id = ?", (split, image_id))
        return self.get_image(image_id)

    def delete_image(self, image_id: int) -> None:
        """Delete an image with its boxes and its file. Its variants stay (their source is cleared)."""
        record = self.get_image(image_id)
        with self._write() as conn:
            conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
        with contextlib.suppress(FileNotFoundError):
            self.image_path(record).unlink()

    # Boxes ---------------------------------------------------------------------------------
    def boxes(self, image_id: int) -> list[Box]:
        rows = self.read(f"SELECT {BOX_COLUMNS} FROM boxes WHERE image_id = ? ORDER BY id", (image_id,))
        return [box_from_row(row) for row in rows]

    def boxes_by_image(self, image_ids: Iterable[int] | None = None) -> dict[int, list[Box]]:
        """Boxes of many images at once (all images when ``image_ids`` is None)."""
        if image_ids is None:
            rows = self.read(f"SELECT {BOX_COLUMNS} FROM boxes ORDER BY image_id, id")
            result: dict[int, list[Box]] = {}
        else:
            ids = sorted(set(image_ids))
            result = {i: [] for i in ids}
            rows = []
            for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
                chunk = ids[start:start + 500]
                rows += self.read(f"SELECT {BOX_COLUMNS} FROM boxes WHERE image_id IN ({', '.join('?' * len(chunk))}) "
                                  "ORDER BY image_id, id", chunk)
        for row in rows:
            result.setdefault(row["image_id"], []).append(box_from_row(row))
        return result

    def set_boxes(self, image_id: int, boxes: Iterable[Box], status: str | None = None) -> list[Box]:
        """Replace all boxes of an image in one transaction (undo/redo and autosave use this).

        An image waiting for review because of proposals is labelled once none is left (each
        was accepted or deleted), or unlabelled when no box is left at all."""
        if status is not None:
            check_choice("status", status, STATUSES)
        with self._write() as conn:
            image = self._image_row(conn, image_id)
            box_list = [clamp_box(b, image["width"], image["height"]) for b in boxes]
            had_proposals = conn.execute("SELECT COUNT(*) FROM boxes WHERE image_id = ? AND origin = 'auto'",
                                         (image_id,)).fetchone()[0]
            if (status is None and had_proposals and image["status"] == "review"
                    and not any(b.origin == "auto" for b in box_list)):
                status = "labelled" if box_list else "unlabelled"
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
        """Change some fields of a box: class_id, x1, y1, x2, y2, origin, drift, needs_review,
        semantic, semantic_note."""
        allowed = {"class_id", "x1", "y1", "x2", "y2", "origin", "drift", "needs_review", "semantic", "semantic_note"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown box fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self._write() as conn:
            row = conn.execute(f"SELECT {BOX_COLUMNS} FROM boxes WHERE id = ?", (box_id,)).fetchone()
            if row is None:
                raise InputError("box.missing", id=box_id)
            image = self._image_row(conn, row["image_id"])
            box = clamp_box(replace(box_from_row(row), **fields), image["width"], image["height"])
            self._check_class(conn, box.class_id)
            conn.execute("UPDATE boxes SET class_id = ?, x1 = ?, y1 = ?, x2 = ?, y2 = ?, origin = ?, drift = ?, "
                         "needs_review = ?, semantic = ?, semantic_note = ? WHERE id = ?",
                         (box.class_id, box.x1, box.y1, box.x2, box.y2, box.origin, box.drift,
                          int(box.needs_review), box.semantic, box.semantic_note, box_id))
        return box

    def delete_box(self, box_id: int) -> None:
        with self._write() as conn:
            if conn.execute("DELETE FROM boxes WHERE id = ?", (box_id,)).rowcount == 0:
                raise InputError("box.missing", id=box_id)

    def _image_row(self, conn: sqlite3.Connection, image_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT id, width, height, status FROM images WHERE id = ?", (image_id,)).fetchone()
        if row is None:
            raise InputError("image.missing", id=image_id)
        return row

    def _check_class(self, conn: sqlite3.Connection, class_id: int) -> None:
        if conn.execute("SELECT 1 FROM classes WHERE id = ?", (class_id,)).fetchone() is None:
            raise InputError("class.missing_add", id=class_id)

    def _insert_boxes(self, conn: sqlite3.Connection, image_id: int, boxes: list[Box]) -> list[Box]:
        if boxes:
            existing = conn.execute("SELECT COUNT(*) FROM boxes WHERE image_id = ?", (image_id,)).fetchone()[0]
            check_boxes(existing + len(boxes), Phrase("where.image", id=image_id))
        for class_id in {box.class_id for box in boxes}:
            self._check_class(conn, class_id)
        stored = []
        for box in boxes:
            box_id = conn.execute(
                "INSERT INTO boxes (image_id, class_id, x1, y1, x2, y2, origin, drift, needs_review, semantic, "
                "semantic_note, score, detector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (image_id, box.class_id, box.x1, box.y1, box.x2, box.y2, box.origin, box.drift,
                 int(box.needs_review), box.semantic, box.semantic_note, box.score, box.detector)).lastrowid
            stored.append(replace(box, id=box_id, image_id=image_id))
        return stored

    def _update_status(self, conn: sqlite3.Connection, image: sqlite3.Row, status: str | None,
                       has_boxes: bool) -> None:
        if status is None and image["status"] == "unlabelled" and has_boxes:
            status = "labelled"
        if status is not None:
            conn.execute("UPDATE images SET status = ? WHERE id = ?", (status, image["id"]))
