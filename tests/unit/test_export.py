"""Export: YOLO round trip, COCO in pycocotools, VOC read back, splits, statuses, atomicity."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from defusedxml import ElementTree as SafeET
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from sdaug.cli import main
from sdaug.dataset import exporters
from sdaug.dataset.exporters import export_project, parse_ratios, split_groups
from sdaug.dataset.importers import import_path
from sdaug.dataset.store import Box, Project

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_dataset"


@pytest.fixture
def project(tmp_path):
    with Project.open(tmp_path / "proj") as p:
        assert import_path(p, SAMPLE, "yolo").problems == []
        yield p


def _read_yolo_labels(folder: Path) -> dict[str, list[list[float]]]:
    """Label file stem (without the export's id prefix) -> rows of numbers."""
    labels = {}
    for path in folder.rglob("labels/*/*.txt"):
        stem = path.stem.split("_", 1)[1] if path.stem[:6].isdigit() else path.stem
        labels[stem] = sorted([float(v) for v in line.split()] for line in path.read_text().splitlines())
    return labels


def test_yolo_round_trip_keeps_boxes(project, tmp_path):
    report = export_project(project, "yolo", tmp_path / "out")
    assert report.images == {"train": 4, "val": 2, "test": 0} and report.boxes == 16
    exported, original = _read_yolo_labels(tmp_path / "out"), _read_yolo_labels(SAMPLE)
    assert exported.keys() == original.keys()
    for stem, rows in original.items():
        np.testing.assert_allclose(exported[stem], rows, atol=1e-6, rtol=0)
    data = yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())
    assert "path" not in data  # relative to the yaml's folder: the export can be moved or unzipped anywhere
    assert (data["train"], data["val"], data["test"]) == ("images/train", "images/val", None)
    assert data["names"] == {0: "bin not full", 1: "bin overflowing", 2: "garbage"}
    for split in ("train", "val"):
        images = sorted(p.stem for p in (tmp_path / "out" / "images" / split).iterdir())
        assert images == sorted(p.stem for p in (tmp_path / "out" / "labels" / split).iterdir())


def test_yolo_export_imports_back_unchanged(project, tmp_path):
    export_project(project, "yolo", tmp_path / "out")
    with Project.open(tmp_path / "again") as again:
        report = import_path(again, tmp_path / "out", "yolo")
        assert (report.images_added, report.boxes, report.problems) == (6, 16, [])
        before = {r.sha256: [(b.x1, b.y1, b.x2, b.y2) for b in project.boxes(r.id)] for r in project.list_images()}
        after = {r.sha256: [(b.x1, b.y1, b.x2, b.y2) for b in again.boxes(r.id)] for r in again.list_images()}
    assert before.keys() == after.keys()
    for sha, boxes in before.items():
        np.testing.assert_allclose(sorted(after[sha]), sorted(boxes), atol=1e-4)


def test_coco_loads_in_pycocotools_and_scores_ap_1(project, tmp_path):
    export_project(project, "coco", tmp_path / "coco")
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / "coco" / "annotations" / "instances_train.json"))
        detections = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
                      for a in gt.dataset["annotations"]]
        dt = gt.loadRes(detections)
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)
    assert evaluator.stats[1] == pytest.approx(1.0)
    doc = gt.dataset
    assert {"info", "licenses", "images", "annotations", "categories"} <= doc.keys()
    assert all(a["iscrowd"] == 0 and a["area"] == pytest.approx(a["bbox"][2] * a["bbox"][3]) for a in doc["annotations"])
    for image in doc["images"]:
        assert (tmp_path / "coco" / "images" / "train" / image["file_name"]).is_file()


def test_coco_ids_are_stable_across_exports(project, tmp_path):
    export_project(project, "coco", tmp_path / "one")
    project.set_boxes(project.list_images()[0].id, [])
    export_project(project, "coco", tmp_path / "two", ratios=(1, 0, 0))
    first = json.loads((tmp_path / "one" / "annotations" / "instances_train.json").read_text())
    second = json.loads((tmp_path / "two" / "annotations" / "instances_train.json").read_text())
    ids = {(a["id"], a["image_id"], a["category_id"]) for a in first["annotations"]}
    assert {(a["id"], a["image_id"], a["category_id"]) for a in second["annotations"]} & ids
    assert second["categories"] == first["categories"]
    assert {i["id"] for i in first["images"]} <= {i["id"] for i in second["images"]}


def test_voc_parses_back_to_the_same_boxes(project, tmp_path):
    image = project.list_images()[0]
    whole_pixels = [Box(project.classes()[0].id, 0, 0, 10, 20), Box(project.classes()[2].id, 33, 44, 160, 120)]
    project.set_boxes(image.id, whole_pixels)
    export_project(project, "voc", tmp_path / "voc")
    xml_files = sorted((tmp_path / "voc" / "Annotations").glob("*.xml"))
    assert len(xml_files) == 6
    root = SafeET.parse(xml_files[0]).getroot()
    assert root.findtext("size/width") == "160" and root.findtext("size/height") == "120"
    objects = [(o.findtext("name"), *(int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")))
               for o in root.findall("object")]
    assert objects == [("bin not full", 1, 1, 10, 20), ("garbage", 34, 45, 160, 120)]
    assert (tmp_path / "voc" / "ImageSets" / "Main" / "val.txt").read_text().count("\n") == 2
    with Project.open(tmp_path / "back") as back:
        report = import_path(back, tmp_path / "voc", "voc")
        assert (report.images_added, report.boxes, report.problems) == (6, project.read("SELECT COUNT(*) FROM boxes")[0][0], [])
        record = next(r for r in back.list_images() if r.sha256 == image.sha256)
        assert [(b.x1, b.y1, b.x2, b.y2) for b in back.boxes(record.id)] == [(0, 0, 10, 20), (33, 44, 160, 120)]
        assert back.count_images() == 6 and {r.split for r in back.list_images()} == {"train", "val"}


def _add_variants(project: Project) -> None:
    for source in project.list_images():
        for n in range(2):
            picture = Image.fromarray(np.full((120, 160, 3), source.id * 10 + n, dtype=np.uint8))
            project.add_variant(source.id, picture, preset="fog", seed=n, params="fog",
                                boxes=project.boxes(source.id), status="labelled", condition="weather/fog")


def test_ratio_split_keeps_variants_with_their_source(project, tmp_path):
    _add_variants(project)
    report = export_project(project, "yolo", tmp_path / "out", ratios=parse_ratios("0.5,0.5,0"), seed=3)
    assert sum(report.images.values()) == 18
    split_of = {}
    for path in (tmp_path / "out" / "images").rglob("*.*"):
        split_of[int(path.name[:6])] = path.parent.name
    for record in project.list_images():
        if record.source_image_id is not None:
            assert split_of[record.id] == split_of[record.source_image_id]
    again = export_project(project, "yolo", tmp_path / "out", ratios=parse_ratios("0.5,0.5,0"), seed=3)
    assert again.images == report.images


def test_variants_train_only_and_statuses(project, tmp_path):
    _add_variants(project)
    sources = [r for r in project.list_images() if r.source_image_id is None]
    project.set_status(sources[0].id, "review")
    project.set_status(sources[1].id, "rejected")
    report = export_project(project, "coco", tmp_path / "out", variants_train_only=True)
    # Train: 2 labelled sources + 8 variants; the 4 variants of the 2 val sources are left out.
    assert report.images == {"train": 2 + 8, "val": 2, "test": 0}
    assert report.left_out == {"review": 1, "rejected": 1, "variants of val/test images": 4}


def test_split_groups_ratios_and_seed():
    groups = list(range(100))
    one = split_groups(groups, (0.8, 0.1, 0.1), seed=1)
    assert sorted(one.values()).count("train") == 80 and list(one.values()).count("test") == 10
    assert split_groups(groups, (0.8, 0.1, 0.1), seed=1) == one
    assert split_groups(groups, (0.8, 0.1, 0.1), seed=2) != one
    with pytest.raises(ValueError, match="split needs"):
        parse_ratios("0.8,-0.1,0.3")
    with pytest.raises(ValueError, match="numbers"):
        parse_ratios("most,some")


def test_first_export_locks_the_class_order(project, tmp_path):
    assert not project.classes_locked()
    export_project(project, "voc", tmp_path / "out")
    assert project.classes_locked()
    with pytest.raises(ValueError, match="locked"):
        project.reorder_classes([c.id for c in reversed(project.classes())])


def test_failed_export_leaves_nothing(project, tmp_path, monkeypatch):
    def broken(plan, out, final):
        (out / "half.txt").write_text("half")
        raise OSError("disk full")

    monkeypatch.setitem(exporters._WRITERS, "yolo", broken)
    with pytest.raises(OSError, match="disk full"):
        export_project(project, "yolo", tmp_path / "exports" / "out")
    assert list((tmp_path / "exports").iterdir()) == []


def test_export_refuses_foreign_folder_and_replaces_own(project, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(ValueError, match="not an earlier sdaug export"):
        export_project(project, "yolo", foreign)
    assert (foreign / "thesis.docx").read_text() == "precious"
    export_project(project, "yolo", tmp_path / "out")
    report = export_project(project, "coco", tmp_path / "out", zip_output=True)
    assert not (tmp_path / "out" / "data.yaml").exists()
    with zipfile.ZipFile(report.zip_path) as zf:
        assert "annotations/instances_train.json" in zf.namelist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "out", "out.zip", "proj"]


def test_nothing_to_export_says_why(tmp_path):
    with Project.open(tmp_path / "empty") as p:
        p.add_class("a")
        with pytest.raises(ValueError, match="nothing to export"):
            export_project(p, "yolo", tmp_path / "out")


def test_cli_export_and_stats(project, tmp_path, capsys):
    folder = str(project.folder)
    assert main(["export", "--project", folder, "--format", "yolo", "--out", str(tmp_path / "y"),
                 "--split", "0.8,0.1,0.1", "--seed", "1", "--zip"]) == 0
    assert "6 images" in capsys.readouterr().out
    assert (tmp_path / "y.zip").is_file()
    assert main(["export", "--project", folder, "--format", "yolo", "--out", str(tmp_path / "z"),
                 "--split", "nonsense"]) == 1
    assert "split must be numbers" in capsys.readouterr().err
    assert main(["export", "--project", str(tmp_path / "none"), "--format", "coco", "--out", str(tmp_path / "c")]) == 1
    assert "not a project folder" in capsys.readouterr().err
