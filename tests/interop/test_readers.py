"""Every export, from its folder and from its zip unpacked elsewhere, read by the libraries people
train and convert with; every box compared with the project.

Expected values come from the project (``conftest.expected``) and the formats' own rules: YOLO
and COCO keep fractional pixels; VOC holds whole 1-based pixels enclosing the box (the devkit's
convention: ``xmin = floor(x1) + 1``, ``xmax = ceil(x2)``), which datumaro reads back exactly with
``coordinate_mode="voc-one-based"`` and globox as raw numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest

LOCATIONS = ["folder", "moved"]


def image_id(path: str | Path) -> int:
    """The store image id that starts an export file name (``000012_photo.jpg`` -> 12)."""
    return int(Path(path).name[:6])


def _root(export, where: str) -> Path:
    return export.folder if where == "folder" else export.moved


def _assert_boxes(found: dict[int, list[tuple]], export, ids: set[int] | None = None, tol: float = 1e-3,
                  transform=None) -> None:
    """``found`` (image id -> [(class name, x1, y1, x2, y2)]) equals the project's boxes."""
    ids = set(export.expected) if ids is None else ids
    assert set(found) == ids, f"images read: {sorted(found)}, expected {sorted(ids)}"
    for key in ids:
        want = sorted(transform(b) if transform else b for b in export.expected[key])
        got = sorted(found[key])
        assert [b[0] for b in got] == [b[0] for b in want], f"image {key}: classes {got} != {want}"
        for g, w in zip(got, want, strict=True):
            assert all(math.isclose(a, b, abs_tol=tol) for a, b in zip(g[1:], w[1:], strict=True)), \
                f"image {key}: box {g} != {w}"


def _voc_pixels(box: tuple) -> tuple:
    """The devkit's whole pixels as 0-based edges: (floor(x1), floor(y1), ceil(x2), ceil(y2))."""
    name, x1, y1, x2, y2 = box
    return name, math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)


def _split_ids(export, *splits: str) -> set[int]:
    return {k for k, s in export.splits.items() if s in splits}


# pycocotools ------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", LOCATIONS)
def test_coco_in_pycocotools(exports, where):
    coco_mod = pytest.importorskip("pycocotools.coco")
    export = exports["coco"]
    root = _root(export, where)
    found = {}
    for split in ("train", "val", "test"):
        with contextlib.redirect_stdout(io.StringIO()):
            coco = coco_mod.COCO(str(root / "annotations" / f"instances_{split}.json"))
        cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        # Category ids are 1-based in class order, like the YOLO class numbers + 1.
        assert [cats[i] for i in sorted(cats)] == export.classes
        for img in coco.loadImgs(coco.getImgIds()):
            assert (root / "images" / split / img["file_name"]).is_file()
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            assert all(a["segmentation"] == [] for a in anns)
            found[image_id(img["file_name"])] = [
                (cats[a["category_id"]], a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                 a["bbox"][1] + a["bbox"][3]) for a in anns]
    _assert_boxes(found, export)


# supervision ------------------------------------------------------------------------------------
def _supervision_boxes(dataset) -> dict[int, list[tuple]]:
    found = {}
    for path, _image, detections in dataset:
        found[image_id(path)] = [(dataset.classes[int(c)], *map(float, xyxy))
                                 for xyxy, c in zip(detections.xyxy, detections.class_id, strict=True)]
        # A box is no mask: supervision must not build full-image masks from the export.
        assert detections.mask is None
    return found


def _supervision_datasets(sv, export, root: Path):
    """(image ids, supervision dataset) per split; VOC is read whole (supervision ignores ImageSets)."""
    if export.fmt == "voc":
        yield set(export.expected), sv.DetectionDataset.from_pascal_voc(str(root / "JPEGImages"),
                                                                         str(root / "Annotations"))
        return
    for split in ("train", "val", "test"):
        if export.fmt == "coco":
            ds = sv.DetectionDataset.from_coco(str(root / "images" / split),
                                               str(root / "annotations" / f"instances_{split}.json"))
        else:
            ds = sv.DetectionDataset.from_yolo(str(root / "images" / split), str(root / "labels" / split),
                                               str(root / "data.yaml"))
        yield _split_ids(export, split), ds


@pytest.mark.parametrize("where", LOCATIONS)
def test_all_exports_in_supervision(exports, where):
    sv = pytest.importorskip("supervision")
    for fmt in ("coco", "yolo", "voc"):
        export = exports[fmt]
        for ids, ds in _supervision_datasets(sv, export, _root(export, where)):
            found = _supervision_boxes(ds)
            # supervision reads VOC as the devkit's 1-based pixels, the way the export writes them.
            _assert_boxes(found, export, ids, transform=_voc_pixels if fmt == "voc" else None)
            if fmt == "voc":  # classes in order of appearance; the order is in labelmap.txt
                assert set(ds.classes) <= set(export.classes)
            else:
                assert ds.classes == export.classes


# datumaro ---------------------------------------------------------------------------------------
def _datumaro_boxes(dataset, dm) -> dict[tuple[str, int], list[tuple]]:
    labels = dataset.categories()[dm.AnnotationType.label]
    found = {}
    for item in dataset:
        boxes = []
        for ann in item.annotations:
            assert ann.type == dm.AnnotationType.bbox, f"{item.id}: {ann.type} (each object exactly once, as a box)"
            x, y, w, h = ann.get_bbox()
            boxes.append((labels[ann.label].name, x, y, x + w, y + h))
        found[(item.subset, image_id(item.id))] = boxes
    return found


@pytest.mark.parametrize("where", LOCATIONS)
def test_all_exports_in_datumaro(exports, where):
    dm = pytest.importorskip("datumaro")
    env = dm.Environment()
    for fmt, dm_format, kwargs in (("coco", "coco_instances", {}), ("yolo", "yolo", {}),
                                   ("voc", "voc_detection", {"coordinate_mode": "voc-one-based"})):
        export = exports[fmt]
        root = _root(export, where)
        # Format detection finds the format (sdaug's marker is hidden from it).
        detected = env.detect_dataset(str(root))
        assert dm_format in detected if fmt == "voc" else detected == [dm_format], detected
        dataset = dm.Dataset.import_from(str(root), dm_format, **kwargs)
        names = [c.name for c in dataset.categories()[dm.AnnotationType.label]]
        assert [n for n in names if n != "background"] == export.classes
        found = _datumaro_boxes(dataset, dm)
        for split in ("train", "val", "test"):
            per_split = {k: v for (s, k), v in found.items() if s == split}
            ids = _split_ids(export, split)
            _assert_boxes(per_split, export, ids, transform=_voc_pixels if fmt == "voc" else None)
        if fmt == "voc":
            assert {k for (s, k) in found if s == "trainval"} == _split_ids(export, "train", "val")


# globox -----------------------------------------------------------------------------------------
def _globox_voc(box: tuple) -> tuple:
    name, x1, y1, x2, y2 = _voc_pixels(box)
    return name, x1 + 1, y1 + 1, x2, y2


def _globox_boxes(annotations) -> dict[int, list[tuple]]:
    return {image_id(a.image_id): [(b.label, *b.ltrb) for b in a.boxes] for a in annotations}


@pytest.mark.parametrize("where", LOCATIONS)
def test_all_exports_in_globox(exports, where):
    globox = pytest.importorskip("globox")
    for fmt in ("coco", "yolo", "voc"):
        export = exports[fmt]
        root = _root(export, where)
        if fmt == "coco":
            found = {}
            for split in ("train", "val", "test"):
                found |= _globox_boxes(globox.AnnotationSet.from_coco(root / "annotations" / f"instances_{split}.json"))
            _assert_boxes(found, export)
        elif fmt == "yolo":
            names = export.classes
            found = {}
            for split in ("train", "val", "test"):
                # One image extension per export: globox reads every image of a folder by it.
                extensions = {p.suffix for p in (root / "images" / split).iterdir()}
                assert extensions == {".jpg"}
                annotations = globox.AnnotationSet.from_yolo_v5(root / "labels" / split,
                                                                image_folder=root / "images" / split)
                annotations = annotations.map_labels({str(i): n for i, n in enumerate(names)})
                found |= _globox_boxes(annotations)
            _assert_boxes(found, export)
        else:
            found = _globox_boxes(globox.AnnotationSet.from_pascal_voc(root / "Annotations"))
            # globox reads the numbers as they are: 1-based xmin/ymin are one more than the edge.
            _assert_boxes(found, export, transform=_globox_voc)


def test_voc_reads_in_torchvision_layout(exports):
    """What torchvision's ``VOCDetection`` builds: ``ImageSets/Main/<set>.txt`` ids, each with
    ``JPEGImages/<id>.jpg`` (a real JPEG) and ``Annotations/<id>.xml`` (torchvision itself is
    checked in the Ultralytics environment, where torchvision may be installed)."""
    from PIL import Image

    root = exports["voc"].moved
    for image_set in ("train", "val", "trainval", "test"):
        ids = (root / "ImageSets" / "Main" / f"{image_set}.txt").read_text(encoding="utf-8").split()
        assert ids
        for stem in ids:
            with Image.open(root / "JPEGImages" / f"{stem}.jpg") as image:
                assert image.format == "JPEG"
            assert (root / "Annotations" / f"{stem}.xml").is_file()
    assert json.loads((root / ".sdaug-export").read_text(encoding="utf-8"))["format"] == "voc"
