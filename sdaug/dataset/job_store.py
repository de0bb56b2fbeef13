"""The augmentation-job part of :class:`sdaug.dataset.store.Project`: jobs and their work items,
and the generated variants they record (see the store's module docstring for the API).

:class:`JobStore` is a mixin: it uses the project's connection helpers (``_write``, ``read``),
``get_image``, ``folder`` and ``images_dir``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from sdaug.dataset.job_lock import JobLock
from sdaug.dataset.records import (
    ITEM_STATES,
    JOB_STATES,
    STATUSES,
    Box,
    ImageRecord,
    Job,
    JobItem,
    JobItemSpec,
    JobProgress,
    check_choice,
    clamp_box,
    job_from_row,
)
from sdaug.dataset.schema import IMAGE_COLUMNS, ITEM_COLUMNS
from sdaug.errors import InputError, Phrase
from sdaug.limits import check_boxes
from sdaug.prompts.metadata import encode_png, exif_with_infotext, write_temp

# How a variant's file is stored: PNG (lossless, infotext in a text chunk) or JPEG (a tenth of
# the size; infotext in the EXIF UserComment).
VARIANT_FORMATS = {"png": ".png", "jpeg": ".jpg"}

# Files of a batch are synced to disk in parallel: the file system then commits them together
# (one journal commit for many fsyncs), several times faster than one after the other.
_SYNC_THREADS = 32
_sync_pool: ThreadPoolExecutor | None = None
_sync_pool_lock = threading.Lock()


@dataclass(frozen=True)
class NewVariant:
    """A generated variant ready to record: its encoded file and its rows' values."""

    source_id: int
    data: bytes
    width: int
    height: int
    preset: str
    seed: int | None
    params: str
    boxes: tuple[Box, ...]
    status: str
    job_item_id: int | None = None
    condition: str | None = None
    suffix: str = ".png"  # VARIANT_FORMATS' suffix of the encoding (encode_variant)


@dataclass(frozen=True)
class VariantOutcome:
    """What :meth:`JobStore.record_variants` did with one variant: its image id, or why not."""

    image_id: int | None
    error: str | None
    refusal: ValueError | None = None  # the refusal behind ``error``, to show in the user's language


def encode_variant(image: Image.Image, infotext: str, image_format: str = "png", quality: int = 95,
                   ) -> tuple[bytes, str]:
    """A variant's file and its suffix: PNG with ``infotext`` in its ``parameters`` chunk, or
    JPEG at ``quality`` (1-100) with it in the EXIF UserComment (see :data:`VARIANT_FORMATS`)."""
    check_choice("image_format", image_format, tuple(VARIANT_FORMATS))
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise InputError("value.whole_range", field="JPEG quality", low=1, high=100, value=quality)
    if image_format == "png":
        return encode_png(image, infotext), VARIANT_FORMATS["png"]
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, exif=exif_with_infotext(infotext))
    return buffer.getvalue(), VARIANT_FORMATS["jpeg"]


class _FileBatch:
    """Files written into ``folder`` in the background: each goes to a temp name
    (:func:`~sdaug.prompts.metadata.write_temp`: ``.tmp-<pid>-<name>.*``) and is synced to disk,
    all in parallel (the file system then commits them together, several times faster than one
    after the other). :meth:`finish` waits and moves them into place; :meth:`abandon` removes
    the temp files."""

    def __init__(self, folder: Path, files: dict[str, bytes]) -> None:
        self.folder = folder
        self.futures = [_pool().submit(self._write, name, data) for name, data in files.items()]

    def _write(self, name: str, data: bytes) -> tuple[str, str]:
        return write_temp(self.folder / name, lambda handle: handle.write(data)), name

    def finish(self) -> None:
        temps = [future.result() for future in self.futures]
        for temp_name, name in temps:
            os.replace(temp_name, self.folder / name)

    def abandon(self) -> None:
        for future in self.futures:
            with contextlib.suppress(Exception):
                temp_name, _ = future.result()
                os.unlink(temp_name)


def _pool() -> ThreadPoolExecutor:
    global _sync_pool
    with _sync_pool_lock:
        if _sync_pool is None:
            _sync_pool = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="sdaug-files")
        return _sync_pool


def _rows_in(conn: sqlite3.Connection, sql: str, values: set) -> list[sqlite3.Row]:
    """``sql`` with its ``IN ({})`` filled for ``values``, 500 at a time (SQLite's limit on
    parameters)."""
    ordered, rows = sorted(values, key=str), []
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


class JobStore:
    """Jobs, work items and variants of a project (mixed into ``Project``)."""

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
            raise InputError("job.missing", id=job_id)
        return job_from_row(rows[0])

    def job_by_key(self, key: str) -> Job | None:
        rows = self.read("SELECT id, key, config, created_at, state FROM jobs WHERE key = ?", (key,))
        return job_from_row(rows[0]) if rows else None

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Every job, or those of one ``kind`` (the start of their key: "augment", "autolabel")."""
        if kind is None:
            rows = self.read("SELECT id, key, config, created_at, state FROM jobs ORDER BY id")
        else:
            rows = self.read("SELECT id, key, config, created_at, state FROM jobs WHERE key LIKE ? ORDER BY id",
                             (f"{kind}-%",))
        return [job_from_row(row) for row in rows]

    def set_job_state(self, job_id: int, state: str) -> None:
        check_choice("job state", state, JOB_STATES)
        with self._write() as conn:
            if conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, job_id)).rowcount == 0:
                raise InputError("job.missing", id=job_id)

    def job_items(self, job_id: int, state: str | None = None) -> list[JobItem]:
        if state is None:
            rows = self.read(f"SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = ? ORDER BY id", (job_id,))
        else:
            check_choice("item state", state, ITEM_STATES)
            rows = self.read(f"SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND state = ? ORDER BY id",
                             (job_id, state))
        return [JobItem(*row) for row in rows]

    def pending_items(self, job_id: int, limit: int | None = None) -> list[JobItem]:
        rows = self.read(f"SELECT {ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND state = 'pending' "
                         "ORDER BY id LIMIT ?", (job_id, -1 if limit is None else limit))
        return [JobItem(*row) for row in rows]

    def job_progress(self, job_id: int) -> JobProgress:
        counts = dict.fromkeys(ITEM_STATES, 0)
        for state, count in self.read("SELECT state, COUNT(*) FROM job_items WHERE job_id = ? GROUP BY state",
                                      (job_id,)):
            counts[state] = count
        return JobProgress(total=sum(counts.values()), pending=counts["pending"], done=counts["done"],
                           failed=counts["failed"])

    def mark_item_failed(self, item_id: int, error: str, attempts: int = 1) -> None:
        """Mark a job item failed with ``error`` and count ``attempts`` failed tries (the Ray
        backend tries an item twice in one run before it marks it failed)."""
        with self._write() as conn:
            if conn.execute("UPDATE job_items SET state = 'failed', error = ?, attempts = attempts + ? "
                            "WHERE id = ? AND state != 'done'", (str(error), attempts, item_id)).rowcount == 0:
                raise InputError("job.item_done", id=item_id)

    def retry_failed(self, job_id: int, max_attempts: int | None = None) -> int:
        """Put the failed items of a job back to pending, only those that failed fewer than
        ``max_attempts`` times when it is given; returns how many. Their attempts are kept."""
        with self._write() as conn:
            return conn.execute("UPDATE job_items SET state = 'pending', error = NULL "
                                "WHERE job_id = ? AND state = 'failed' AND (? IS NULL OR attempts < ?)",
                                (job_id, max_attempts, max_attempts)).rowcount

    def add_variant(self, source_id: int, image: Image.Image, *, preset: str, seed: int | None, params: str,
                    boxes: Iterable[Box], status: str, job_item_id: int | None = None,
                    condition: str | None = None, image_format: str = "png", quality: int = 95) -> ImageRecord:
        """Store a generated variant of ``source_id`` with its carried boxes (see module docstring):
        :func:`encode_variant` (``image_format`` ``png`` or ``jpeg`` at ``quality``), then
        :meth:`record_variants`. ``ValueError`` when it cannot be recorded."""
        if job_item_id is not None:
            done = self.read("SELECT image_id FROM job_items WHERE id = ? AND state = 'done'", (job_item_id,))
            if done and done[0][0] is not None:
                return self.get_image(done[0][0])
        data, suffix = encode_variant(image, params, image_format, quality)
        variant = NewVariant(source_id, data, image.width, image.height, preset=preset, seed=seed, params=params,
                             boxes=tuple(boxes), status=status, job_item_id=job_item_id, condition=condition,
                             suffix=suffix)
        outcome = self.record_variants([variant])[0]
        if outcome.refusal is not None:
            raise outcome.refusal
        return self.get_image(outcome.image_id)

    def record_variants(self, variants: Sequence[NewVariant]) -> list[VariantOutcome]:
        """Store already-encoded variants: their files and, in one transaction, their rows.

        All or nothing per variant: a variant that cannot be recorded (bad box, unknown class,
        pixel-identical to another image) is left out and its :class:`VariantOutcome` says why;
        the others are recorded. A variant whose job item is already done is not added again
        (its outcome names the recorded image). Every check is made before anything is written,
        and the files are written and synced to disk while the rows are inserted; they are moved
        into place before the commit, so a committed row always has its whole file.
        """
        outcomes: list[VariantOutcome | None] = [None] * len(variants)
        with self._write() as conn:
            # 1. Checks, with one query per kind for the whole batch.
            repeats: list[tuple[int, int]] = []
            accepted = self._check_variants(conn, variants, outcomes, repeats)
            # 2. The files (named by their hash) are written and synced in the background ...
            files = _FileBatch(self.images_dir, {sha + variant.suffix: variant.data for _, variant, _, sha in accepted})
            try:
                # 3. ... while the rows, boxes and job items are inserted.
                for index, image_id in self._insert_variants(conn, accepted).items():
                    outcomes[index] = VariantOutcome(image_id, None)
                files.finish()
            except BaseException:
                files.abandon()
                raise
        for index, first in repeats:
            outcomes[index] = outcomes[first]
        return [outcome for outcome in outcomes if outcome is not None]

    def _check_variants(self, conn: sqlite3.Connection, variants: Sequence[NewVariant],
                        outcomes: list[VariantOutcome | None], repeats: list[tuple[int, int]],
                        ) -> list[tuple[int, NewVariant, list[Box], str]]:
        """Fill ``outcomes`` for the variants that are not to be inserted and ``repeats`` with
        (index, index of the first) for a job item given twice; return the others as (index,
        variant, clamped boxes, sha256)."""
        items = {row["id"]: row for row in _rows_in(conn, "SELECT id, state, image_id FROM job_items WHERE id IN ({})",
                                                    {v.job_item_id for v in variants if v.job_item_id is not None})}
        sources = {row["id"] for row in _rows_in(conn, "SELECT id FROM images WHERE id IN ({})",
                                                 {v.source_id for v in variants})}
        classes = {row["id"] for row in conn.execute("SELECT id FROM classes")}
        hashes = [hashlib.sha256(v.data).hexdigest() for v in variants]
        taken = {row["sha256"]: row["id"] for row in _rows_in(
            conn, "SELECT id, sha256 FROM images WHERE sha256 IN ({})", set(hashes))}
        accepted, first_of_item = [], {}
        for index, (variant, sha) in enumerate(zip(variants, hashes, strict=True)):
            if variant.job_item_id in first_of_item:  # the same item twice: recorded once
                repeats.append((index, first_of_item[variant.job_item_id]))
                continue
            try:
                check_choice("status", variant.status, STATUSES)
                boxes = [clamp_box(b, variant.width, variant.height) for b in variant.boxes]
                check_boxes(len(boxes), Phrase("where.variant", id=variant.source_id))
                item = items.get(variant.job_item_id) if variant.job_item_id is not None else None
                if variant.job_item_id is not None and item is None:
                    raise InputError("job.item_missing", id=variant.job_item_id)
                if item is not None and item["state"] == "done" and item["image_id"] is not None:
                    outcomes[index] = VariantOutcome(item["image_id"], None)
                    continue
                if variant.source_id not in sources:
                    raise InputError("image.missing", id=variant.source_id)
                for class_id in {box.class_id for box in boxes} - classes:
                    raise InputError("class.missing_add", id=class_id)
                if sha in taken:
                    raise (InputError("variant.same_image", id=taken[sha]) if taken[sha] is not None
                           else InputError("variant.same_batch"))
            except ValueError as exc:
                outcomes[index] = VariantOutcome(None, str(exc), exc)
                continue
            taken[sha] = None
            if variant.job_item_id is not None:
                first_of_item[variant.job_item_id] = index
            accepted.append((index, variant, boxes, sha))
        return accepted

    def _insert_variants(self, conn: sqlite3.Connection, accepted: list[tuple[int, NewVariant, list[Box], str]],
                         ) -> dict[int, int]:
        """Insert checked variants' rows and boxes and mark their job items done, three
        statements for the whole batch; returns {index: image id}. The ids are the ones SQLite
        would give (max + 1, ...): the write transaction keeps every other writer out."""
        if not accepted:
            return {}
        sources = {row["id"]: row for row in _rows_in(conn, "SELECT id, split, original_name FROM images WHERE id IN ({})",
                                                      {variant.source_id for _, variant, _, _ in accepted})}
        first_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM images").fetchone()[0]
        ids, images, boxes, items = {}, [], [], []
        now = time.time()
        for image_id, (index, variant, variant_boxes, sha) in enumerate(accepted, start=first_id):
            source = sources[variant.source_id]
            ids[index] = image_id
            images.append((image_id, sha + variant.suffix, sha, variant.width, variant.height, source["split"],
                           variant.status, variant.source_id, variant.preset, variant.condition, variant.seed,
                           variant.params, source["original_name"], now))
            boxes += [(image_id, b.class_id, b.x1, b.y1, b.x2, b.y2, b.origin, b.drift, int(b.needs_review),
                       b.semantic, b.semantic_note, b.score, b.detector) for b in variant_boxes]
            if variant.job_item_id is not None:
                items.append((image_id, variant.job_item_id))
        conn.executemany(
            "INSERT INTO images (id, file_name, sha256, width, height, split, status, source_image_id, preset, "
            "condition, seed, params, original_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            images)
        conn.executemany("INSERT INTO boxes (image_id, class_id, x1, y1, x2, y2, origin, drift, needs_review, "
                         "semantic, semantic_note, score, detector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         boxes)
        conn.executemany("UPDATE job_items SET state = 'done', image_id = ?, error = NULL WHERE id = ?", items)
        return ids

    def job_lock(self, job_id: int) -> JobLock:
        """The lock that lets one runner at a time work on ``job_id`` (see :mod:`.job_lock`)."""
        return JobLock(self.folder, job_id)

    def variants(self, source_id: int) -> list[ImageRecord]:
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE source_image_id = ? ORDER BY id",
                         (source_id,))
        return [ImageRecord(*row) for row in rows]
