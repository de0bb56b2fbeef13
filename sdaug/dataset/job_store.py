"""The augmentation-job part of :class:`sdaug.dataset.store.Project`: jobs and their work items,
and the generated variants they record (see the store's module docstring for the API).

:class:`JobStore` is a mixin: it uses the project's connection helpers (``_write``, ``read``),
``get_image``, ``_insert_boxes`` and ``images_dir``.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterable

from PIL import Image

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
from sdaug.prompts.metadata import encode_png, exif_with_infotext, write_atomic

# How a variant's file is stored: PNG (lossless, infotext in a text chunk) or JPEG (a tenth of
# the size; infotext in the EXIF UserComment).
VARIANT_FORMATS = {"png": ".png", "jpeg": ".jpg"}


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
        """Mark a job item failed with ``error`` and count the attempt."""
        with self._write() as conn:
            if conn.execute("UPDATE job_items SET state = 'failed', error = ?, attempts = attempts + 1 "
                            "WHERE id = ? AND state != 'done'", (str(error), item_id)).rowcount == 0:
                raise ValueError(f"job item {item_id} does not exist or is already done")

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
        """Store a generated variant of ``source_id`` with its carried boxes (see module docstring).

        ``image_format``: ``png`` or ``jpeg`` (at ``quality``, 1-100), see :data:`VARIANT_FORMATS`.
        """
        check_choice("status", status, STATUSES)
        check_choice("image_format", image_format, tuple(VARIANT_FORMATS))
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}")
        if job_item_id is not None:
            done = self.read("SELECT image_id FROM job_items WHERE id = ? AND state = 'done'", (job_item_id,))
            if done and done[0][0] is not None:
                return self.get_image(done[0][0])
        source = self.get_image(source_id)
        box_list = [clamp_box(b, image.width, image.height) for b in boxes]
        # 1. The file first, named by its hash: a crash after this leaves at most an unreferenced
        #    file, which the retried item replaces (same seed, same bytes, same name).
        if image_format == "png":
            data = encode_png(image, params)
        else:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=quality, exif=exif_with_infotext(params))
            data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        file_name = sha + VARIANT_FORMATS[image_format]
        write_atomic(self.images_dir / file_name, lambda handle: handle.write(data))
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
        rows = self.read(f"SELECT {IMAGE_COLUMNS} FROM images WHERE source_image_id = ? ORDER BY id",
                         (source_id,))
        return [ImageRecord(*row) for row in rows]
