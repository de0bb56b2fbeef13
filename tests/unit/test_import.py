"""Import: images, YOLO, COCO, VOC and zip, including malformed and hostile inputs."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug import limits
from sdaug.cli import main
from sdaug.dataset.archive import extract_zip
from sdaug.dataset.importers import import_path
from sdaug.dataset.store import ImageFilter, Project

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_dataset"


def _save_picture(path: Path, seed: int, size: tuple[int, int] = (80, 60)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def project(tmp_path):
    with Project.open(tmp_path / "proj") as p:
        yield p


def _all_boxes(project: Project) -> list:
    return [b for boxes in project.boxes_by_image().values() for b in boxes]


# Images and YOLO ------------------------------------------------------------------------------
def test_import_images_folder_with_split_and_duplicates(tmp_path, project):
    _save_picture(tmp_path / "photos" / "a.png", 1)
    _save_picture(tmp_path / "photos" / "val" / "b.png", 2)
    shutil.copy(tmp_path / "photos" / "a.png", tmp_path / "photos" / "a_copy.png")
    (tmp_path / "photos" / "readme.txt").write_text("not an image")
    report = import_path(project, tmp_path / "photos", "images")
    assert (report.images_added, report.duplicates, report.boxes) == (2, 1, 0)
    assert "a_copy.png" in report.duplicate_files[0]
    assert project.count_images(ImageFilter(status="unlabelled")) == 2
    assert project.count_images(ImageFilter(split="val")) == 1


def test_import_one_image_file(tmp_path, project):
    report = import_path(project, _save_picture(tmp_path / "one.png", 5), "images")
    assert report.images_added == 1 and project.list_images()[0].original_name == "one.png"
    with pytest.raises(ValueError, match="is a file; give the dataset folder"):
        import_path(project, tmp_path / "one.png", "yolo")


def test_import_sample_yolo(project):
    report = import_path(project, SAMPLE, "yolo")
    assert report.problems == []
    assert (report.images_added, report.boxes) == (6, 16)
    assert [c.name for c in project.classes()] == ["bin not full", "bin overflowing", "garbage"]
    assert project.count_images(ImageFilter(split="train")) == 4
    assert project.count_images(ImageFilter(split="val")) == 2
    assert project.count_images(ImageFilter(status="labelled")) == 6


def _yolo_dataset(root: Path, lines: str, names: str = "names: [a, b]\n") -> None:
    _save_picture(root / "images" / "train" / "one.png", 1, (100, 50))
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "one.txt").write_text(lines)
    (root / "data.yaml").write_text(names)


def test_bad_yolo_lines_are_reported_and_the_rest_imports(tmp_path, project):
    lines = ("0 0.5 0.5 0.2 0.4\n"
             "0 0.5 0.5 0.2\n"
             "1 0.5 abc 0.2 0.2\n"
             "7 0.5 0.5 0.2 0.2\n"
             "1 50 25 10 10\n"
             "0 0.5 0.5 0 0.2\n"
             "\n"
             "1 0.1 0.1 0.3 0.1 0.3 0.5\n")
    _yolo_dataset(tmp_path / "ds", lines)
    report = import_path(project, tmp_path / "ds", "yolo")
    where = "labels/train/one.txt"
    assert report.problems == [
        f"{where}:2: expected 'class cx cy w h' (5 values) or a polygon, got 4 values",
        f"{where}:3: values must be numbers, got '1 0.5 abc 0.2 0.2'",
        f"{where}:4: class 7 is not defined (the names list has 2 classes: 0..1)",
        f"{where}:5: coordinates must be normalised to 0..1, got 50 25 10 10 "
        "(pixel coordinates? divide by the image width and height)",
        f"{where}:6: box has no width or height (w=0, h=0.2)",
    ]
    boxes = sorted(_all_boxes(project), key=lambda b: b.x1)
    np.testing.assert_allclose([(b.x1, b.y1, b.x2, b.y2) for b in boxes], [(10, 5, 30, 25), (40, 15, 60, 35)])


def test_yolo_roboflow_layout_names_dict_and_unlabelled(tmp_path, project):
    root = tmp_path / "rf"
    _save_picture(root / "train" / "images" / "a.jpg", 1)
    _save_picture(root / "valid" / "images" / "b.jpg", 2)
    _save_picture(root / "test" / "images" / "c.jpg", 3)
    (root / "train" / "labels").mkdir(parents=True)
    (root / "train" / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (root / "valid" / "labels").mkdir(parents=True)
    (root / "valid" / "labels" / "b.txt").write_text("")
    (root / "valid" / "labels" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "data.yaml").write_text("names:\n  0: cat\n  1: dog\n")
    report = import_path(project, root / "data.yaml", "yolo")
    assert report.problems == ["valid/labels/ghost.txt: no image with this name; skipped"]
    records = {r.original_name: r for r in project.list_images()}
    assert records["train/images/a.jpg"].split == "train"
    assert records["train/images/a.jpg"].status == "labelled"
    assert records["valid/images/b.jpg"].split == "val"
    assert records["valid/images/b.jpg"].status == "labelled"  # empty label file: checked, no objects
    assert records["test/images/c.jpg"].status == "unlabelled"  # no label file
    assert project.boxes(records["train/images/a.jpg"].id)[0].class_id == project.classes()[1].id


def test_yolo_flat_with_classes_txt_and_broken_image(tmp_path, project):
    root = tmp_path / "flat"
    _save_picture(root / "a.png", 1)
    (root / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    (root / "classes.txt").write_text("garbage\n")
    report = import_path(project, root, "yolo")
    assert report.images_added == 1 and report.skipped == 1
    assert report.problems[0].startswith("broken.jpg: not a readable image")
    assert [c.name for c in project.classes()] == ["garbage"]


def test_yolo_without_names_numbers_the_classes(tmp_path, project):
    root = tmp_path / "nonames"
    _save_picture(root / "a.png", 1)
    (root / "a.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    report = import_path(project, root, "yolo")
    assert "no data.yaml or classes.txt" in report.problems[0]
    assert [c.name for c in project.classes()] == ["0", "1", "2"]


# COCO -----------------------------------------------------------------------------------------
def _coco(root: Path, annotations: list, images: list | None = None) -> Path:
    _save_picture(root / "images" / "a.png", 1, (100, 80))
    _save_picture(root / "images" / "b.png", 2, (100, 80))
    doc = {
        "images": images or [{"id": 1, "file_name": "a.png", "width": 100, "height": 80},
                             {"id": 2, "file_name": "b.png", "width": 100, "height": 80}],
        "annotations": annotations,
        "categories": [{"id": 3, "name": "garbage"}, {"id": 1, "name": "bin"}],
    }
    path = root / "annotations" / "instances_val.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    return path


def test_coco_import_reports_missing_image_ids_and_bad_boxes(tmp_path, project):
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 30], "area": 600, "iscrowd": 0},
        {"id": 2, "image_id": 99, "category_id": 1, "bbox": [10, 10, 20, 30]},
        {"id": 3, "image_id": 1, "category_id": 5, "bbox": [10, 10, 20, 30]},
        {"id": 4, "image_id": 2, "category_id": 3, "bbox": [10, 10, -5, 30]},
        {"id": 5, "image_id": 2, "category_id": 3, "bbox": [90, 10, 50, 30]},
        {"id": 6, "image_id": 2, "category_id": 3, "bbox": [0, 0, 100, 80], "iscrowd": 1},
        {"id": 7, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3, 4]},
    ]
    path = _coco(tmp_path / "coco", anns)
    report = import_path(project, path, "coco")
    where = "annotations/instances_val.json"
    assert report.problems == [
        f"{where}: annotation id 2: image_id 99 is not in 'images'; skipped",
        f"{where}: annotation id 3: category_id 5 is not in 'categories'; skipped",
        f"{where}: annotation id 4: bbox [10, 10, -5, 30] has no width or height; skipped",
        f"{where}: 1 crowd annotations (iscrowd=1) skipped: they mark a region of many objects",
        f"{where}: annotation id 5: box [90, 10, 140, 40] lies outside the 100x80 image; skipped",
    ]
    assert [c.name for c in project.classes()] == ["bin", "garbage"]  # category id order
    assert project.count_images(ImageFilter(split="val")) == 2
    boxes = sorted(_all_boxes(project), key=lambda b: b.x1)
    assert [(b.x1, b.y1, b.x2, b.y2) for b in boxes] == [(1, 2, 4, 6), (10, 10, 30, 40)]


def test_coco_missing_image_file_and_invalid_json(tmp_path, project):
    images = [{"id": 1, "file_name": "a.png", "width": 100, "height": 80},
              {"id": 2, "file_name": "lost.png", "width": 100, "height": 80}]
    path = _coco(tmp_path / "coco", [], images)
    (path.parent / "broken.json").write_text('{"images": [\n  1,\n  oops]}')
    report = import_path(project, tmp_path / "coco", "coco")
    assert "annotations/broken.json:3: not valid JSON" in report.problems[0]
    assert "image id 2: image file 'lost.png' not found" in report.problems[1]
    assert report.images_added == 1 and report.skipped == 1


def test_coco_box_on_raw_pixels_of_rotated_photo_is_rotated(tmp_path, project):
    raw = tmp_path / "coco" / "images" / "r.jpg"
    raw.parent.mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 30), "gray").save(raw, exif=exif)
    doc = {"images": [{"id": 1, "file_name": "r.jpg", "width": 40, "height": 30}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 5]}],
           "categories": [{"id": 1, "name": "a"}]}
    (tmp_path / "coco" / "train.json").write_text(json.dumps(doc))
    import_path(project, tmp_path / "coco" / "train.json", "coco")
    box = _all_boxes(project)[0]
    assert (box.x1, box.y1, box.x2, box.y2) == (25, 0, 30, 10)


# VOC ------------------------------------------------------------------------------------------
_VOC = """<annotation><filename>{name}</filename><size><width>80</width><height>60</height><depth>3</depth></size>
{objects}</annotation>"""
_OBJ = "<object><name>{cls}</name><bndbox><xmin>{0}</xmin><ymin>{1}</ymin><xmax>{2}</xmax><ymax>{3}</ymax></bndbox></object>"


def _voc(root: Path, name: str, objects: list[tuple[str, tuple]], seed: int) -> None:
    _save_picture(root / "JPEGImages" / name, seed)
    xml = _VOC.format(name=name, objects="".join(_OBJ.format(*box, cls=c) for c, box in objects))
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{Path(name).stem}.xml").write_text(xml)


def test_voc_import_one_based_coordinates_and_splits(tmp_path, project):
    root = tmp_path / "voc"
    _voc(root, "a.png", [("bin", (1, 1, 20, 30)), ("garbage", (5, 6, 7, 8))], 1)
    _voc(root, "b.png", [("garbage", (11, 12, 90, 40)), ("cat", ("x", 1, 2, 3))], 2)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "val.txt").write_text("b\n")
    report = import_path(project, root, "voc")
    assert report.problems == [
        "Annotations/b.xml: object 2 (cat): needs <bndbox> with numbers <xmin> <ymin> <xmax> <ymax>; skipped",
        "Annotations/b.xml: object 1 (garbage): box [10, 11, 90, 40] lies outside the 80x60 image; skipped",
    ]
    records = {r.original_name: r for r in project.list_images()}
    assert records["JPEGImages/b.png"].split == "val" and records["JPEGImages/a.png"].split == "train"
    boxes = project.boxes(records["JPEGImages/a.png"].id)
    assert [(b.x1, b.y1, b.x2, b.y2) for b in boxes] == [(0, 0, 20, 30), (4, 5, 7, 8)]


_BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>a.png</filename><object><name>&lol3;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""

_EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file://{secret}">]>
<annotation><filename>a.png</filename><object><name>&xxe;</name>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""


@pytest.mark.parametrize("attack", ["billion_laughs", "external_entity"])
def test_voc_entity_attacks_are_refused(tmp_path, project, attack):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    root = tmp_path / "voc"
    _voc(root, "good.png", [("bin", (1, 1, 10, 10))], 3)
    _save_picture(root / "JPEGImages" / "a.png", 4)
    text = _BILLION_LAUGHS if attack == "billion_laughs" else _EXTERNAL_ENTITY.format(secret=secret)
    (root / "Annotations" / "a.xml").write_text(text)
    report = import_path(project, root, "voc")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("Annotations/a.xml: refused: the XML declares a DTD or entities")
    assert report.images_added == 1
    assert [c.name for c in project.classes()] == ["bin"]
    assert "TOP-SECRET" not in json.dumps([c.name for c in project.classes()])


def test_voc_invalid_xml_names_the_line(tmp_path, project):
    root = tmp_path / "voc"
    _voc(root, "good.png", [("bin", (1, 1, 10, 10))], 3)
    (root / "Annotations" / "bad.xml").write_text("<annotation>\n<filename>x</filename>\n<object>\n</annotation>")
    report = import_path(project, root, "voc")
    assert report.problems[0].startswith("Annotations/bad.xml:4: not valid XML")
    assert report.images_added == 1


# Zip ------------------------------------------------------------------------------------------
def test_zip_of_a_yolo_dataset_imports(tmp_path, project):
    archive = shutil.make_archive(str(tmp_path / "sample"), "zip", root_dir=SAMPLE.parent, base_dir=SAMPLE.name)
    report = import_path(project, archive, "yolo")
    assert (report.images_added, report.boxes, report.problems) == (6, 16, [])
    assert not [p for p in project.folder.iterdir() if p.name.startswith(".import-")]


@pytest.mark.parametrize("name, message", [
    ("../evil.txt", "points outside the archive"),
    ("a/../../evil.txt", "points outside the archive"),
    ("/tmp/evil.txt", "absolute path"),
    ("C:/evil.txt", "absolute path"),
])
def test_zip_with_unsafe_paths_is_refused(tmp_path, project, name, message):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("images/ok.png", b"x")
        zf.writestr(name, b"evil")
    with pytest.raises(ValueError, match=message):
        import_path(project, archive, "images")
    assert not (tmp_path / "evil.txt").exists()
    assert project.count_images() == 0


def test_zip_with_symlink_or_too_big_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        extract_zip(archive, tmp_path / "out1")
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 200_000)
    monkeypatch.setattr(limits, "_active", limits.Limits(max_zip_bytes=100_000))
    with pytest.raises(ValueError, match="more than the limit"):
        extract_zip(big, tmp_path / "out2")
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out2").exists()


# CLI ------------------------------------------------------------------------------------------
def test_cli_import(tmp_path, capsys):
    assert main(["import", "--project", str(tmp_path / "p"), "--format", "yolo", str(SAMPLE)]) == 0
    assert "6 images added, 16 boxes" in capsys.readouterr().out
    assert main(["import", "--project", str(tmp_path / "p"), "--format", "coco", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err
