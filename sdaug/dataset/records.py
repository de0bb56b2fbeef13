"""The records of a project (:mod:`sdaug.dataset.store`): frozen dataclasses for classes, images,
boxes and augmentation jobs, the allowed values of their fields, and the checks every write
applies (names, colours, choices, boxes clamped to their image). No database access here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sdaug.errors import InputError

STATUSES = ("unlabelled", "labelled", "review", "reviewed", "rejected")
SPLITS = ("train", "val", "test")
ORIGINS = ("manual", "carried", "auto")
ITEM_STATES = ("pending", "done", "failed")
# "failed": every item was tried, some failed (a job is "done" only when all its items are).
JOB_STATES = ("pending", "running", "stopped", "done", "failed")
KINDS = ("source", "variant")

# Distinct, readable on photos; cycled when there are more classes.
MAX_DESCRIPTION = 300  # characters of a class description
DEFAULT_PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)


# Records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassRecord:
    id: int
    name: str
    position: int
    color: str
    description: str = ""  # what the class looks like, for the CLIP box check (optional)


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
    semantic: float | None = None  # CLIP probability of its class in a variant (None: not checked)
    semantic_note: str = ""  # JSON when checked: {"source": score, "best": class, "rule": "best"|"drop"|"", "reason": words}
    score: float | None = None  # a proposal's detector score (origin "auto"; kept once accepted)
    detector: str = ""  # the detector that proposed it

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


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
    origin: str | None = None  # only images with at least one box of this origin ("auto": proposals)

    def sql(self) -> tuple[str, list[object]]:
        """The WHERE clause (without the keyword; "1" when empty) and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value, allowed in (("status", self.status, STATUSES), ("split", self.split, SPLITS)):
            if value is None:
                continue
            values = (value,) if isinstance(value, str) else tuple(value)
            for v in values:
                check_choice(column, v, allowed)
            clauses.append(f"images.{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        if self.class_id is not None:
            clauses.append("EXISTS (SELECT 1 FROM boxes b WHERE b.image_id = images.id AND b.class_id = ?)")
            params.append(self.class_id)
        if self.condition is not None:
            clauses.append("images.condition = ?")
            params.append(self.condition)
        if self.kind is not None:
            check_choice("kind", self.kind, KINDS)
            clauses.append("images.source_image_id IS NULL AND images.preset IS NULL"
                           if self.kind == "source" else
                           "(images.source_image_id IS NOT NULL OR images.preset IS NOT NULL)")
        if self.origin is not None:
            check_choice("origin", self.origin, ORIGINS)
            clauses.append("EXISTS (SELECT 1 FROM boxes b WHERE b.image_id = images.id AND b.origin = ?)")
            params.append(self.origin)
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
    attempts: int = 0  # how many times the item failed


@dataclass(frozen=True)
class JobProgress:
    total: int
    pending: int
    done: int
    failed: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


# Checks -------------------------------------------------------------------------------------
def check_choice(name: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise InputError("value.choice", field=name, allowed=", ".join(allowed), value=value)


def check_color(color: str) -> str:
    text = str(color).strip().lower()
    if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
        raise InputError("class.color", value=color)
    return text


def check_name(name: str) -> str:
    text = str(name).strip()
    if not text:
        raise InputError("class.empty")
    if any(c in text for c in "\n\r\t"):
        raise InputError("class.one_line", name=name)
    return text


def clamp_box(box: Box, width: int, height: int) -> Box:
    """Sort and clamp ``box`` to the image; ``ValueError`` when nothing of it is left."""
    check_choice("origin", box.origin, ORIGINS)
    coords = (box.x1, box.y1, box.x2, box.y2)
    if not all(isinstance(v, int | float) and v == v and abs(v) != float("inf") for v in coords):
        raise InputError("box.not_finite", coords=str(coords))
    x1, x2 = sorted((min(max(float(box.x1), 0.0), width), min(max(float(box.x2), 0.0), width)))
    y1, y2 = sorted((min(max(float(box.y1), 0.0), height), min(max(float(box.y2), 0.0), height)))
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise InputError("box.no_area", coords=str(coords), width=width, height=height)

    return replace(box, x1=x1, y1=y1, x2=x2, y2=y2)


# Rows -> records -----------------------------------------------------------------------------
def box_from_row(row: sqlite3.Row) -> Box:
    return Box(class_id=row["class_id"], x1=row["x1"], y1=row["y1"], x2=row["x2"], y2=row["y2"],
               origin=row["origin"], drift=row["drift"], needs_review=bool(row["needs_review"]),
               id=row["id"], image_id=row["image_id"], semantic=row["semantic"],
               semantic_note=row["semantic_note"], score=row["score"], detector=row["detector"])


def job_from_row(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], key=row["key"], config=json.loads(row["config"]), created_at=row["created_at"],
               state=row["state"])

