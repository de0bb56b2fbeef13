"""What supervision, datumaro and globox write (from sdaug's exports) imports into a new project
with every box, the class order and the splits.

Images are matched by the store id that starts each exported file name (the writers re-encode
some images, so the content hash cannot match). Expected boxes are the first project's.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from sdaug.dataset.importers import import_path
from sdaug.dataset.store import Project


def _source_id(original_name: str) -> int:
    return int(Path(original_name).name[:6])


def _imported(folder: Path, source: Path, fmt: str) -> tuple[dict[int, list[tuple]], dict[int, str], list[str]]:
    """Import ``source`` into a new project: image id of the export -> boxes, splits, class names."""
    with Project.open(folder) as project:
        report = import_path(project, source, fmt)
        assert report.problems == [], report.problems
        names = {c.id: c.name for c in project.classes()}
        boxes, splits = {}, {}
        for record in project.list_images():
            key = _source_id(record.original_name)
            boxes[key] = sorted((names[b.class_id], b.x1, b.y1, b.x2, b.y2) for b in project.boxes(record.id))
            splits[key] = record.split
        return boxes, splits, [c.name for c in project.classes()]


def _compare(found: dict[int, list[tuple]], export, ids: set[int], tol: float) -> None:
    assert set(found) == ids
    for key in ids:
        want = sorted(export.expected[key])
        got = found[key]
        assert [b[0] for b in got] == [b[0] for b in want], f"image {key}: {got} != {want}"
        for g, w in zip(got, want, strict=True):
            assert all(math.isclose(a, b, abs_tol=tol) for a, b in zip(g[1:], w[1:], strict=True)), \
                f"image {key}: {g} != {w}"


def test_supervision_writes_coco_yolo_voc_that_import(exports, tmp_path):
    sv = pytest.importorskip("supervision")
    export = exports["coco"]
    ids = {k for k, s in export.splits.items() if s == "train"}
    ds = sv.DetectionDataset.from_coco(str(export.moved / "images" / "train"),
                                       str(export.moved / "annotations" / "instances_train.json"))
    ds.as_coco(str(tmp_path / "coco" / "train"), str(tmp_path / "coco" / "train" / "_annotations.coco.json"))
    ds.as_yolo(str(tmp_path / "yolo" / "train" / "images"), str(tmp_path / "yolo" / "train" / "labels"),
               str(tmp_path / "yolo" / "data.yaml"))
    ds.as_pascal_voc(str(tmp_path / "voc" / "JPEGImages"), str(tmp_path / "voc" / "Annotations"))
    for fmt, tol in (("coco", 1e-3), ("yolo", 1e-3), ("voc", 1.0)):
        boxes, splits, classes = _imported(tmp_path / f"p-{fmt}", tmp_path / fmt, fmt)
        # Whole pixels in VOC: each edge within a pixel.
        _compare(boxes, export, ids, tol)
        assert set(splits.values()) == {"train"}
        assert [c for c in classes if c in export.classes] == [c for c in export.classes if c in classes]


def test_datumaro_writes_coco_yolo_voc_that_import(exports, tmp_path):
    dm = pytest.importorskip("datumaro")
    export = exports["voc"]
    dataset = dm.Dataset.import_from(str(export.moved), "voc_detection", coordinate_mode="voc-one-based")
    dataset = dataset.filter(lambda item: item.subset != "trainval")
    # Written as CVAT writes (datumaro's defaults: VOC in 0-based pixel edges).
    for fmt, dm_format in (("coco", "coco_instances"), ("yolo", "yolo_ultralytics"), ("voc", "voc_detection")):
        dataset.export(str(tmp_path / fmt), dm_format, save_media=True)
        boxes, splits, classes = _imported(tmp_path / f"p-{fmt}", tmp_path / fmt, fmt)
        want = {k: [(n, math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)) for n, x1, y1, x2, y2 in v]
                for k, v in export.expected.items()}
        _compare(boxes, type(export)(**{**export.__dict__, "expected": want}), set(export.expected), 1e-3)
        assert splits == export.splits
        assert classes == export.classes


def test_globox_writes_coco_yolo_voc_that_import(exports, tmp_path):
    globox = pytest.importorskip("globox")
    export = exports["coco"]
    root = export.moved
    annotations = globox.AnnotationSet.from_coco(root / "annotations" / "instances_train.json")
    ids = {k for k, s in export.splits.items() if s == "train"}
    images = root / "images" / "train"
    # COCO: one json beside the images.
    shutil.copytree(images, tmp_path / "coco")
    annotations.save_coco(tmp_path / "coco" / "train.json", auto_ids=True)
    # YOLO: labels beside copies of the images, classes in a classes.txt.
    shutil.copytree(images, tmp_path / "yolo")
    annotations.save_yolo_v5(tmp_path / "yolo", label_to_id={n: i for i, n in enumerate(export.classes)})
    (tmp_path / "yolo" / "classes.txt").write_text("\n".join(export.classes) + "\n", encoding="utf-8")
    # VOC: XML files, images in JPEGImages.
    (tmp_path / "voc" / "Annotations").mkdir(parents=True)
    annotations.save_pascal_voc(tmp_path / "voc" / "Annotations")
    shutil.copytree(images, tmp_path / "voc" / "JPEGImages")
    for fmt in ("coco", "yolo", "voc"):
        boxes, _splits, _classes = _imported(tmp_path / f"p-{fmt}", tmp_path / fmt, fmt)
        _compare(boxes, export, ids, 1e-3)
