"""Project statistics: counts per split, status, class and condition, boxes per image, tiny boxes.

``project_stats(project)`` runs a handful of aggregate queries (fast with 10,000 images) and
returns a :class:`ProjectStats`; ``as_rows()`` flattens it for a table (the Dataset tab and
``sdaug stats`` print the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdaug.dataset.store import SPLITS, STATUSES, Project

# A box is "tiny" below this many pixels on its short side or this fraction of the image area:
# detectors at usual input sizes cannot learn such boxes, and they are often mis-clicks.
TINY_PIXELS = 8.0
TINY_AREA_FRACTION = 0.0001
# Boxes-per-image histogram: 0, 1, ..., HISTOGRAM_MAX - 1, then "HISTOGRAM_MAX+".
HISTOGRAM_MAX = 10


@dataclass(frozen=True)
class TinyBox:
    image_id: int
    box_id: int
    class_name: str
    width: float
    height: float


@dataclass
class ProjectStats:
    images: int = 0
    boxes: int = 0
    per_split: dict[str, int] = field(default_factory=dict)
    per_status: dict[str, int] = field(default_factory=dict)
    # class name -> (boxes, images with at least one such box)
    per_class: dict[str, tuple[int, int]] = field(default_factory=dict)
    # condition ("weather/fog", "original" for imported photos) -> images
    per_condition: dict[str, int] = field(default_factory=dict)
    # "0", "1", ..., "10+" -> images with that many boxes
    boxes_per_image: dict[str, int] = field(default_factory=dict)
    tiny_boxes: int = 0
    tiny_examples: list[TinyBox] = field(default_factory=list)

    def as_rows(self) -> list[tuple[str, str, int]]:
        """(group, name, count) rows: totals, then each breakdown, then the tiny-box warning."""
        rows: list[tuple[str, str, int]] = [("total", "images", self.images), ("total", "boxes", self.boxes)]
        rows += [("split", k, v) for k, v in self.per_split.items()]
        rows += [("status", k, v) for k, v in self.per_status.items()]
        for name, (boxes, images) in self.per_class.items():
            rows += [("class boxes", name, boxes), ("class images", name, images)]
        rows += [("condition", k, v) for k, v in self.per_condition.items()]
        rows += [("boxes per image", k, v) for k, v in self.boxes_per_image.items()]
        rows.append(("warning", f"tiny boxes (< {TINY_PIXELS:g} px or < {TINY_AREA_FRACTION:.2%} of the image)",
                     self.tiny_boxes))
        return rows


def project_stats(project: Project, max_examples: int = 50) -> ProjectStats:
    """Compute the statistics of ``project``; lists up to ``max_examples`` tiny boxes."""
    stats = ProjectStats()
    stats.images = project.read("SELECT COUNT(*) FROM images")[0][0]
    stats.boxes = project.read("SELECT COUNT(*) FROM boxes")[0][0]
    stats.per_split = _counts(project, "split", SPLITS)
    stats.per_status = _counts(project, "status", STATUSES)
    for name, boxes, images in project.read(
            "SELECT c.name, COUNT(b.id), COUNT(DISTINCT b.image_id) FROM classes c "
            "LEFT JOIN boxes b ON b.class_id = c.id GROUP BY c.id ORDER BY c.position"):
        stats.per_class[name] = (boxes, images)
    for condition, count in project.read(
            "SELECT COALESCE(condition, CASE WHEN preset IS NULL THEN 'original' ELSE preset END), COUNT(*) "
            "FROM images GROUP BY 1 ORDER BY 1"):
        stats.per_condition[condition] = count
    stats.boxes_per_image = {str(n): 0 for n in range(HISTOGRAM_MAX)} | {f"{HISTOGRAM_MAX}+": 0}
    for n, count in project.read(
            "SELECT n, COUNT(*) FROM (SELECT (SELECT COUNT(*) FROM boxes b WHERE b.image_id = i.id) AS n "
            "FROM images i) GROUP BY n"):
        key = str(n) if n < HISTOGRAM_MAX else f"{HISTOGRAM_MAX}+"
        stats.boxes_per_image[key] += count
    tiny_sql = ("FROM boxes b JOIN images i ON i.id = b.image_id JOIN classes c ON c.id = b.class_id "
                "WHERE MIN(b.x2 - b.x1, b.y2 - b.y1) < ? OR (b.x2 - b.x1) * (b.y2 - b.y1) < ? * i.width * i.height")
    limits = (TINY_PIXELS, TINY_AREA_FRACTION)
    stats.tiny_boxes = project.read(f"SELECT COUNT(*) {tiny_sql}", limits)[0][0]
    stats.tiny_examples = [TinyBox(*row) for row in project.read(
        f"SELECT b.image_id, b.id, c.name, b.x2 - b.x1, b.y2 - b.y1 {tiny_sql} ORDER BY b.image_id, b.id LIMIT ?",
        (*limits, max_examples))]
    return stats


def _counts(project: Project, column: str, keys: tuple[str, ...]) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for key, count in project.read(f"SELECT {column}, COUNT(*) FROM images GROUP BY {column}"):
        counts[key] = count
    return counts
