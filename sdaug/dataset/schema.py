"""The SQLite schema of a project: migrations (``PRAGMA user_version`` counts the ones applied)
and the column lists the store selects. Opening a project applies the missing migrations in
one transaction (:func:`migrate`); a database made by a newer sdaug is refused.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sdaug.errors import InputError

logger = logging.getLogger(__name__)

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
    (
        # How many times a job item failed: a run retries failed items until the limit
        # (sdaug.augment.jobs.MAX_ITEM_ATTEMPTS). An item failed before counts as one attempt.
        "ALTER TABLE job_items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "UPDATE job_items SET attempts = 1 WHERE state = 'failed'",
    ),
    (
        # The CLIP check of a carried box (sdaug.engine.semantic): its class's probability in the
        # variant, and a JSON note (source score, best class, reason); a class's description
        # (what the check compares the crops with, beside the class name).
        "ALTER TABLE boxes ADD COLUMN semantic REAL",
        "ALTER TABLE boxes ADD COLUMN semantic_note TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE classes ADD COLUMN description TEXT NOT NULL DEFAULT ''",
        # Proposals of a detector (origin 'auto'): their score and the detector's name; and how
        # unsure the detector was about an image (the order of "next image to label").
        "ALTER TABLE boxes ADD COLUMN score REAL",
        "ALTER TABLE boxes ADD COLUMN detector TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE images ADD COLUMN uncertainty REAL",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


# The meta key set when the class order is locked (by the first export).
CLASSES_LOCKED = "classes_locked_at"

IMAGE_COLUMNS = ("images.id, file_name, sha256, width, height, split, status, source_image_id, preset, "
                 "condition, seed, params, original_name, created_at, "
                 "(SELECT COUNT(*) FROM boxes b WHERE b.image_id = images.id) AS box_count")
CLASS_COLUMNS = "id, name, position, color, description"
BOX_COLUMNS = "class_id, x1, y1, x2, y2, origin, drift, needs_review, id, image_id, semantic, semantic_note, score, detector"
ITEM_COLUMNS = "id, job_id, source_image_id, preset, variant_index, seed, state, image_id, error, attempts"


def migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Bring the database of ``conn`` to :data:`SCHEMA_VERSION` (call inside a write transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise InputError("project.newer", path=db_path, version=version, known=SCHEMA_VERSION)

    for index in range(version, SCHEMA_VERSION):
        for statement in MIGRATIONS[index]:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {index + 1}")
        logger.info("project %s: schema migrated to version %d", db_path.parent, index + 1)
