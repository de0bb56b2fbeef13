"""The augmentation-job part of :class:`sdaug.dataset.store.Project`: jobs and their work items,
and the generated variants they record (see the store's module docstring for the API).

:class:`JobStore` is a mixin: it uses the project's connection helpers (``_write``, ``read``),
``get_image``, ``_insert_boxes`` and ``images_dir``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
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
from sdaug.prompts.metadata import encode_png

# Files of a batch are synced to disk in parallel: the file system then commits them together
# (one journal commit for many fsyncs), several times faster than one after the other.
_SYNC_THREADS = 16


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
    suffix: str = ".png"


@dataclass(frozen=True)
class VariantOutcome:
    """What :meth:`JobStore.record_variants` did with one variant: its image id, or why not."""

    image_id: int | None
    error: str | None


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> bytes) into ``folder``, each durably and atomically: every file
    goes to a temp name (``.tmp-<name>.*``), all are synced to disk, then each is moved into place."""
    if not files:
        return
    temps: list[tuple[int, str, str]] = []
    try:
        for name, data in files.items():
            descriptor, temp_name = tempfile.mkstemp(dir=folder, prefix=f".tmp-{name}.", suffix=".tmp")
            temps.append((descriptor, temp_name, name))
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
        if len(temps) == 1:
            os.fsync(temps[0][0])
        else:
            with ThreadPoolExecutor(min(_SYNC_THREADS, len(temps))) as pool:
                list(pool.map(os.fsync, [descriptor for descriptor, _, _ in temps]))
        for descriptor, temp_name, name in temps:
            os.close(descriptor)
            os.replace(temp_name, folder / name)
        temps = []
    finally:
        for descriptor, temp_name, _ in temps:
            with contextlib.suppress(OSError):
                os.close(descriptor)
            with contextlib.suppress(OSError):
                os.unlink(temp_name)


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
            raise ValueError(f"job id {job_id} does not exist in this project")
        return job_from_row(rows[0])

    def job_by_key(self, key: str) -> Job | None:
        rows = self.read("SELECT id, key, config, created_at, state FROM jobs WHERE key = ?", (key,))
        return job_from_row(rows[0]) if rows else None

    def jobs(self) -> list[Job]:
        rows = self.read("SELECT id, key, config, created_at, state FROM jobs ORDER BY id")
        return [job_from_row(row) for row in rows]

    def set_job_state(self, job_id: int, state: str) -> None:
        check_choice("job state", state, JOB_STATES)
        with self._write() as conn:
            if conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, job_id)).rowcount == 0:
                raise ValueError(f"job id {job_id} does not exist in this project")

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
        check_choice("status", status, STATUSES)
        if job_item_id is not None:
            done = self.read("SELECT image_id FROM job_items WHERE id = ? AND state = 'done'", (job_item_id,))
            if done and done[0][0] is not None:
                return self.get_image(done[0][0])
        variant = NewVariant(source_id, encode_png(image, params), image.width, image.height, preset=preset,
                             seed=seed, params=params, boxes=tuple(boxes), status=status, job_item_id=job_item_id,
                             condition=condition)
        outcome = self.record_variants([variant])[0]
        if outcome.error is not None:
            raise ValueError(outcome.error)
        return self.get_image(outcome.image_id)

    def record_variants(self, variants: Sequence[NewVariant]) -> list[VariantOutcome]:
        """Store already-encoded variants: all files first, then one transaction for all rows.

        All or nothing per variant: a variant that fails (bad box, pixel-identical to another
        image) is rolled back alone and reported in its :class:`VariantOutcome`; the others are
        recorded. A variant whose job item is already done is not added again (its outcome
        names the recorded image).
        """
        # 1. Checks that need no database: a bad variant writes no file.
        outcomes: list[VariantOutcome | None] = []
        checked: list[tuple[NewVariant, list[Box], str] | None] = []
        for variant in variants:
            try:
                check_choice("status", variant.status, STATUSES)
                box_list = [clamp_box(b, variant.width, variant.height) for b in variant.boxes]
            except ValueError as exc:
                outcomes.append(VariantOutcome(None, str(exc)))
                checked.append(None)
                continue
            outcomes.append(None)
            checked.append((variant, box_list, hashlib.sha256(variant.data).hexdigest()))

        # 2. The files, named by their hash: a crash after this leaves at most unreferenced
        #    files, which the retried items replace (same seed, same bytes, same name).
        write_files(self.images_dir, {sha + variant.suffix: variant.data for variant, _, sha in filter(None, checked)})

        # 3. Rows, boxes and job items in one transaction, one savepoint per variant.
        sources: dict[int, sqlite3.Row] = {}
        with self._write() as conn:
            for index, entry in enumerate(checked):
                if entry is None:
                    continue
                conn.execute("SAVEPOINT variant")
                try:
                    outcomes[index] = VariantOutcome(self._insert_variant(conn, sources, *entry), None)
                except ValueError as exc:
                    conn.execute("ROLLBACK TO variant")
                    outcomes[index] = VariantOutcome(None, str(exc))
                conn.execute("RELEASE variant")
        return [outcome for outcome in outcomes if outcome is not None]

    def _insert_variant(self, conn: sqlite3.Connection, sources: dict[int, sqlite3.Row], variant: NewVariant,
                        boxes: list[Box], sha: str) -> int:
        """Insert one variant's row and boxes and mark its job item done; returns the image id."""
        if variant.job_item_id is not None:
            item = conn.execute("SELECT state, image_id FROM job_items WHERE id = ?", (variant.job_item_id,)).fetchone()
            if item is None:
                raise ValueError(f"job item {variant.job_item_id} does not exist in this project")
            if item["state"] == "done" and item["image_id"] is not None:
                return item["image_id"]
        if variant.source_id not in sources:
            source = conn.execute("SELECT split, original_name FROM images WHERE id = ?", (variant.source_id,)).fetchone()
            if source is None:
                raise ValueError(f"image id {variant.source_id} does not exist in this project")
            sources[variant.source_id] = source
        source = sources[variant.source_id]
        other = conn.execute("SELECT id FROM images WHERE sha256 = ?", (sha,)).fetchone()
        if other is not None:
            raise ValueError(f"this variant is pixel-identical to image id {other[0]}; not added twice")
        image_id = conn.execute(
            "INSERT INTO images (file_name, sha256, width, height, split, status, source_image_id, preset, "
            "condition, seed, params, original_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sha + variant.suffix, sha, variant.width, variant.height, source["split"], variant.status,
             variant.source_id, variant.preset, variant.condition, variant.seed, variant.params,
             source["original_name"], time.time())).lastrowid
        self._insert_boxes(conn, image_id, boxes)
        if variant.job_item_id is not None:
            conn.execute("UPDATE job_items SET state = 'done', image_id = ?, error = NULL WHERE id = ?",
                         (image_id, variant.job_item_id))
        return image_id

    def job_lock(self, job_id: int) -> JobLock:
        """The lock that lets one runner at a time work on ``job_id`` (see :mod:`.job_lock`)."""
        return JobLock(self.folder, job_id)

    def variants(self, source_id: int) -> list[ImageRecord]:
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE source_image_id = ? ORDER BY id",
                         (source_id,))
        return [ImageRecord(*row) for row in rows]
