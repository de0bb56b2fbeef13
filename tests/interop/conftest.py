"""A small project with the edge cases readers trip on, exported in every format, as the readers
meet it: the export folder, and its zip unpacked somewhere else after the folder is gone.

Edge cases: a PNG and an EXIF-rotated JPEG (stored upright), class names with spaces and in
Chinese, an unused class, a class deleted and the rest reordered (store ids differ from the class
order), an image labelled with no boxes, boxes with fractional and whole-pixel edges, boxes
touching the image border, variants (PNG-stored, and JPEG-stored), train, val and test splits.

``expected`` gives, per exported image (keyed by store image id, the 6 digits that start each
export file name), the boxes as (class name, x1, y1, x2, y2) in pixels of the upright image:
the ground truth every reader's result is compared with.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.dataset.exporters import export_project
from sdaug.dataset.store import Box, Project

CLASSES = ["bin not full", "垃圾 桶", "temporary", "cat", "unused class"]
Expected = dict[int, list[tuple[str, float, float, float, float]]]


@dataclass(frozen=True)
class Export:
    fmt: str
    folder: Path  # as written
    moved: Path  # the zip unpacked elsewhere, the written folder and zip removed
    expected: Expected
    splits: dict[int, str]  # image id -> split
    classes: list[str]  # class order


def _picture(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def build_project(folder: Path, sources: Path) -> Project:
    """The project described in the module docstring (files made in ``sources``)."""
    sources.mkdir(parents=True)
    project = Project.open(folder)
    records = project.ensure_classes(CLASSES)
    by_name = {r.name: r.id for r in records}
    # Delete one class and reorder the rest: store ids are no longer the class order.
    project.delete_class(by_name.pop("temporary"))
    project.reorder_classes([by_name["cat"], by_name["垃圾 桶"], by_name["bin not full"], by_name["unused class"]])
    cat, trash, bin_ = by_name["cat"], by_name["垃圾 桶"], by_name["bin not full"]
    # 1. A PNG with fractional boxes, one touching the right and bottom border (train).
    _picture((64, 48), 1).save(sources / "photo one.png")
    png = project.add_image(sources / "photo one.png", split="train").record
    project.set_boxes(png.id, [Box(cat, 3.25, 4.5, 20.75, 30.0), Box(trash, 40, 20, 64, 48)])
    # 2. An EXIF-rotated JPEG (raw 60x40, orientation 6: stored upright as 40x60) (train).
    exif = Image.Exif()
    exif[0x0112] = 6
    _picture((60, 40), 2).save(sources / "rotated.jpg", exif=exif, quality=95)
    rotated = project.add_image(sources / "rotated.jpg", split="train").record
    assert (rotated.width, rotated.height) == (40, 60)
    project.set_boxes(rotated.id, [Box(bin_, 0, 0, 12, 50), Box(cat, 10.5, 33.25, 39.5, 59.0)])
    # 3. A JPEG checked and found empty: labelled, no boxes (train).
    _picture((50, 50), 3).save(sources / "empty.jpg", quality=95)
    empty = project.add_image(sources / "empty.jpg", split="train").record
    project.set_status(empty.id, "labelled")
    # 4. Val and test photos.
    _picture((64, 48), 4).save(sources / "val.jpg", quality=95)
    val = project.add_image(sources / "val.jpg", split="val").record
    project.set_boxes(val.id, [Box(trash, 8, 8, 30, 40), Box(bin_, 33.5, 1.5, 60.5, 20.5)])
    _picture((48, 64), 5).save(sources / "test.png")
    test = project.add_image(sources / "test.png", split="test").record
    project.set_boxes(test.id, [Box(cat, 1, 2, 47, 63)])
    # 5. Variants of the PNG (they follow its split), stored as PNG (the default) and JPEG.
    boxes = project.boxes(png.id)
    project.add_variant(png.id, _picture((64, 48), 6), preset="fog", seed=1, params="fog", boxes=boxes,
                        status="labelled", condition="weather/fog")
    project.add_variant(png.id, _picture((64, 48), 7), preset="night", seed=2, params="night", boxes=boxes,
                        status="labelled", condition="lighting/night", image_format="jpeg")
    return project


def expected_boxes(project: Project) -> tuple[Expected, dict[int, str]]:
    names = {c.id: c.name for c in project.classes()}
    expected: Expected = {}
    splits = {}
    for record in project.list_images():
        expected[record.id] = sorted((names[b.class_id], b.x1, b.y1, b.x2, b.y2) for b in project.boxes(record.id))
        splits[record.id] = record.split
    return expected, splits


@pytest.fixture(scope="session")
def interop_project(tmp_path_factory) -> Project:
    root = tmp_path_factory.mktemp("interop")
    project = build_project(root / "project", root / "sources")
    yield project
    project.close()


def _export(project: Project, fmt: str, root: Path) -> Export:
    folder = root / f"{fmt}-export"
    report = export_project(project, fmt, folder, zip_output=True)
    moved = root / "elsewhere" / f"{fmt}-unzipped"
    with zipfile.ZipFile(report.zip_path) as zf:
        zf.extractall(moved)
    expected, splits = expected_boxes(project)
    # The "moved" copy must work without the original: keep a private copy of the folder for
    # the folder tests and remove the written one and its zip.
    kept = root / "kept" / f"{fmt}-export"
    shutil.copytree(folder, kept)
    shutil.rmtree(folder)
    report.zip_path.unlink()
    return Export(fmt=fmt, folder=kept, moved=moved, expected=expected, splits=splits,
                  classes=[c.name for c in project.classes()])


@pytest.fixture(scope="session")
def exports(interop_project, tmp_path_factory) -> dict[str, Export]:
    root = tmp_path_factory.mktemp("exports")
    return {fmt: _export(interop_project, fmt, root) for fmt in ("yolo", "coco", "voc")}

