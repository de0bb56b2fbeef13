"""Issue 12's format problems, each reproduced (plus the export items of issues 10 and 14).

The readers themselves are exercised in ``tests/interop``; these tests need only sdaug's own
dependencies and check the files against the formats' rules.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from sdaug.dataset import exporters
from sdaug.dataset.exporters import export_project, split_groups
from sdaug.dataset.importers import import_path
from sdaug.dataset.store import Box, Project
from sdaug.prompts.metadata import read_infotext

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_dataset"


def _picture(path: Path, size: tuple[int, int], seed: int, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, **save)
    return path


@pytest.fixture
def project(tmp_path):
    with Project.open(tmp_path / "proj") as p:
        assert import_path(p, SAMPLE, "yolo").problems == []
        yield p


def _boxes(project: Project) -> dict[str, list[tuple]]:
    names = {c.id: c.name for c in project.classes()}
    return {r.sha256: sorted((names[b.class_id], round(b.x1, 3), round(b.y1, 3), round(b.x2, 3), round(b.y2, 3))
                             for b in project.boxes(r.id)) for r in project.list_images()}


# 1. COCO from a zip (unpacked into <project>/.import-*) and under a dot-folder ----------------
def test_coco_export_zip_and_dot_folder_import(project, tmp_path):
    report = export_project(project, "coco", tmp_path / "coco", zip_output=True, image_format="keep")
    hidden = tmp_path / ".cache" / "coco"
    hidden.parent.mkdir()
    (tmp_path / "coco").rename(hidden)
    for source in (report.zip_path, hidden):
        with Project.open(tmp_path / f"back-{source.name}") as back:
            result = import_path(back, source, "coco")
            assert (result.images_added, result.boxes, result.problems) == (6, 16, [])
            assert _boxes(back) == _boxes(project)


# 2. data.yaml without an absolute path ---------------------------------------------------------
def test_data_yaml_is_relative_to_its_folder(project, tmp_path):
    report = export_project(project, "yolo", tmp_path / "y", zip_output=True)
    with zipfile.ZipFile(report.zip_path) as zf:
        inside = yaml.safe_load(zf.read("data.yaml"))
    for data in (inside, yaml.safe_load((tmp_path / "y" / "data.yaml").read_text()),
                 yaml.safe_load((SAMPLE / "data.yaml").read_text())):
        assert "path" not in data
        assert not Path(data["train"]).is_absolute() and not Path(data["val"]).is_absolute()
    assert str(tmp_path) not in (tmp_path / "y" / "data.yaml").read_text()


# 3. EXIF-rotated photos: Label Studio declares the raw size with upright boxes -----------------
def _rotated_coco(root: Path, bbox: list, info: dict | None = None) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # raw 40x30, upright 30x40
    _picture(root / "images" / "r.jpg", (40, 30), 1, exif=exif)
    doc = {"images": [{"id": 1, "file_name": "r.jpg", "width": 40, "height": 30}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": bbox}],
           "categories": [{"id": 1, "name": "a"}]}
    if info is not None:
        doc["info"] = info
    (root / "train.json").write_text(json.dumps(doc))
    return root / "train.json"


def test_label_studio_upright_box_on_rotated_photo_stays(tmp_path):
    # A box that only fits the upright 30x40 picture (y up to 38 > raw height 30).
    with Project.open(tmp_path / "p1") as p:
        report = import_path(p, _rotated_coco(tmp_path / "ls1", [2, 20, 25, 18]), "coco")
        assert report.problems == []
        [box] = p.boxes(p.list_images()[0].id)
        assert (box.x1, box.y1, box.x2, box.y2) == (2, 20, 27, 38)
    # A small box from Label Studio (it says so in "info"): upright as well.
    with Project.open(tmp_path / "p2") as p:
        import_path(p, _rotated_coco(tmp_path / "ls2", [0, 0, 10, 5], {"contributor": "Label Studio"}), "coco")
        [box] = p.boxes(p.list_images()[0].id)
        assert (box.x1, box.y1, box.x2, box.y2) == (0, 0, 10, 5)
    # The same small box from a tool that draws on raw pixels (LabelImg): turned upright.
    with Project.open(tmp_path / "p3") as p:
        import_path(p, _rotated_coco(tmp_path / "raw", [0, 0, 10, 5]), "coco")
        [box] = p.boxes(p.list_images()[0].id)
        assert (box.x1, box.y1, box.x2, box.y2) == (25, 0, 30, 10)


def test_image_with_a_skipped_box_goes_to_review_not_labelled(tmp_path):
    # Before: the unusable box was skipped and the image kept "labelled" with 0 boxes, so an
    # export taught the detector that nothing is there.
    root = tmp_path / "voc"
    _voc(root, "a.jpg", [("cat", 1, 1, 10, 10), ("cat", 50, 50, 500, 500)])
    _voc(root, "b.jpg", [("cat", 1, 1, 10, 10)], seed=2)
    with Project.open(tmp_path / "p") as p:
        report = import_path(p, root, "voc")
        assert len(report.problems) == 1 and "outside" in report.problems[0]
        statuses = {Path(r.original_name).name: r.status for r in p.list_images()}
        assert statuses == {"a.jpg": "review", "b.jpg": "labelled"}


def test_yolo_background_placeholder_is_not_a_class(tmp_path):
    root = tmp_path / "y"
    _picture(root / "images" / "train" / "a.jpg", (40, 40), 1)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text("names: [background, thing]\n")
    with Project.open(tmp_path / "p") as p:
        assert import_path(p, root, "yolo").problems == []
        assert [c.name for c in p.classes()] == ["thing"]
        [box] = p.boxes(p.list_images()[0].id)
        assert box.class_id == p.classes()[0].id


# 4. + 9. COCO: no rectangle segmentation; category ids 1-based in class order -----------------
def test_coco_categories_follow_class_order_and_boxes_have_no_mask(project, tmp_path):
    extra = project.add_class("extra")
    project.delete_class(extra.id)
    order = [c.id for c in reversed(project.classes())]
    project.reorder_classes(order)
    export_project(project, "coco", tmp_path / "c")
    yolo_names = [c.name for c in project.classes()]
    for path in (tmp_path / "c" / "annotations").glob("*.json"):
        doc = json.loads(path.read_text())
        assert [(c["id"], c["name"]) for c in doc["categories"]] == list(enumerate(yolo_names, start=1))
        assert doc["annotations"] and all(a["segmentation"] == [] for a in doc["annotations"])


# 5. + 6. VOC: labelmap.txt, JPEG only, trainval.txt; labelmap/class_names read back ------------
def test_voc_export_layout(project, tmp_path):
    png = project.list_images()[0]
    project.add_variant(png.id, Image.new("RGB", (160, 120), "white"), preset="fog", seed=1, params="fog",
                        boxes=project.boxes(png.id), status="labelled")
    export_project(project, "voc", tmp_path / "v")
    images = list((tmp_path / "v" / "JPEGImages").iterdir())
    assert len(images) == 7
    for path in images:
        with Image.open(path) as image:
            assert path.suffix == ".jpg" and image.format == "JPEG"
    main = tmp_path / "v" / "ImageSets" / "Main"
    train, val = (main / "train.txt").read_text().split(), (main / "val.txt").read_text().split()
    assert sorted((main / "trainval.txt").read_text().split()) == sorted(train + val)
    lines = (tmp_path / "v" / "labelmap.txt").read_text(encoding="utf-8").splitlines()
    assert lines[1] == "background:0,0,0::"
    assert [line.split(":")[0] for line in lines[2:]] == [c.name for c in project.classes()]
    with pytest.raises(ValueError, match="VOC exports hold JPEG"):
        export_project(project, "voc", tmp_path / "v2", image_format="png")


_XML = ("<annotation><source><database>{db}</database></source><filename>{name}</filename>"
        "<size><width>80</width><height>60</height><depth>3</depth></size>{objects}</annotation>")
_OBJ = "<object><name>{0}</name><bndbox><xmin>{1}</xmin><ymin>{2}</ymin><xmax>{3}</xmax><ymax>{4}</ymax></bndbox></object>"


def _voc(root: Path, name: str, objects: list[tuple], db: str = "sdaug", seed: int = 1) -> None:
    _picture(root / "JPEGImages" / name, (80, 60), seed)
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    xml = _XML.format(db=db, name=name, objects="".join(_OBJ.format(*o) for o in objects))
    (root / "Annotations" / f"{Path(name).stem}.xml").write_text(xml, encoding="utf-8")


@pytest.mark.parametrize("list_file, text", [
    ("labelmap.txt", "# label:color_rgb:parts:actions\nbackground:0,0,0::\nzebra:1,2,3::\napple:4,5,6::\n"),
    ("class_names.txt", "_background_\nzebra\napple\n"),
])
def test_voc_class_list_files_set_the_order(tmp_path, list_file, text):
    root = tmp_path / "voc"
    _voc(root, "a.jpg", [("apple", 1, 1, 10, 10), ("zebra", 2, 2, 20, 20)])
    (root / list_file).write_text(text, encoding="utf-8")
    with Project.open(tmp_path / "p") as p:
        assert import_path(p, root, "voc").problems == []
        assert [c.name for c in p.classes()] == ["zebra", "apple"]


# 7. The export marker is hidden from format detectors ------------------------------------------
def test_marker_is_hidden_and_old_marker_still_counts(project, tmp_path):
    for fmt in ("yolo", "coco", "voc"):
        export_project(project, fmt, tmp_path / fmt)
        assert not list((tmp_path / fmt).glob("*.json")), "no json at the root for detectors to find"
        assert json.loads((tmp_path / fmt / ".sdaug-export").read_text())["format"] == fmt
    old = tmp_path / "old"
    old.mkdir()
    (old / "sdaug-export.json").write_text("{}")
    (old / "data.yaml").write_text("names: [x]\n")
    export_project(project, "yolo", old)
    assert not (old / "sdaug-export.json").exists()


# 8. Placeholder categories (Roboflow workspace, labelme _background_) are not classes ---------
def test_placeholder_categories_are_not_classes(tmp_path):
    root = tmp_path / "rf"
    _picture(root / "train" / "a.jpg", (50, 40), 1)
    doc = {"images": [{"id": 0, "file_name": "a.jpg", "width": 50, "height": 40}],
           "annotations": [{"id": 0, "image_id": 0, "category_id": 1, "bbox": [1, 1, 10, 10]},
                           {"id": 1, "image_id": 0, "category_id": 2, "bbox": [5, 5, 10, 10]}],
           "categories": [{"id": 0, "name": "bins-Ab3x", "supercategory": "none"},
                          {"id": 1, "name": "bin", "supercategory": "bins-Ab3x"},
                          {"id": 2, "name": "garbage", "supercategory": "bins-Ab3x"},
                          {"id": 3, "name": "_background_", "supercategory": "bins-Ab3x"}]}
    (root / "train" / "_annotations.coco.json").write_text(json.dumps(doc))
    with Project.open(tmp_path / "p") as p:
        assert import_path(p, root, "coco").problems == []
        assert [c.name for c in p.classes()] == ["bin", "garbage"]
        export_project(p, "yolo", tmp_path / "y")
    assert yaml.safe_load((tmp_path / "y" / "data.yaml").read_text())["nc"] == 2


# 10. CVAT YOLO 1.1 splits; VOC backgrounds; VOC 0-based files; one image extension -----------
def test_cvat_yolo_1_1_layout_keeps_splits(tmp_path):
    root = tmp_path / "cvat"
    for split, seed in (("train", 1), ("valid", 2)):
        _picture(root / f"obj_{split}_data" / f"{split}.jpg", (40, 40), seed)
        (root / f"obj_{split}_data" / f"{split}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
        (root / f"{split}.txt").write_text(f"data/obj_{split}_data/{split}.jpg\n")
    (root / "obj.names").write_text("thing\n")
    (root / "obj.data").write_text("classes = 1\ntrain = data/train.txt\nvalid = data/valid.txt\nnames = data/obj.names\n")
    with Project.open(tmp_path / "p") as p:
        assert import_path(p, root, "yolo").problems == []
        assert sorted(r.split for r in p.list_images()) == ["train", "val"]


def test_voc_background_listed_without_xml_is_imported(tmp_path):
    root = tmp_path / "voc"
    _voc(root, "a.jpg", [("cat", 1, 1, 10, 10)])
    _picture(root / "JPEGImages" / "empty.jpg", (80, 60), 2)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("empty\n")
    with Project.open(tmp_path / "p") as p:
        report = import_path(p, root, "voc")
        assert (report.images_added, report.problems) == (2, [])
        empty = next(r for r in p.list_images() if "empty" in r.original_name)
        assert (empty.status, empty.split, p.boxes(empty.id)) == ("labelled", "val", [])


@pytest.mark.parametrize("db, coords, expected", [
    ("sdaug", (11, 21, 30, 40), (10, 20, 30, 40)),  # the devkit's 1-based pixels
    ("Unknown", (11, 21, 30, 40), (11, 21, 30, 40)),  # datumaro / CVAT / LabelImg: 0-based edges
    ("MyDatabase", (11, 21, 30, 40), (11, 21, 30, 40)),  # Label Studio
    ("sdaug", (10.5, 20, 30, 40), (10.5, 20, 30, 40)),  # fractional: 0-based edges
])
def test_voc_coordinate_convention(tmp_path, db, coords, expected):
    root = tmp_path / "voc"
    _voc(root, "a.jpg", [("cat", *coords)], db=db)
    with Project.open(tmp_path / "p") as p:
        assert import_path(p, root, "voc").problems == []
        [box] = p.boxes(p.list_images()[0].id)
        assert (box.x1, box.y1, box.x2, box.y2) == expected


def test_export_images_share_one_extension(tmp_path):
    with Project.open(tmp_path / "p") as p:
        cls = p.add_class("a")
        for i, name in enumerate(("a.png", "b.jpg", "c.webp")):
            record = p.add_image(_picture(tmp_path / "src" / name, (32, 24), i)).record
            p.set_boxes(record.id, [Box(cls.id, 1, 1, 10, 10)])
        export_project(p, "yolo", tmp_path / "jpeg")
        export_project(p, "yolo", tmp_path / "png", image_format="png")
        export_project(p, "yolo", tmp_path / "keep", image_format="keep")
    assert {f.suffix for f in (tmp_path / "jpeg" / "images" / "train").iterdir()} == {".jpg"}
    assert {f.suffix for f in (tmp_path / "png" / "images" / "train").iterdir()} == {".png"}
    assert {f.suffix for f in (tmp_path / "keep" / "images" / "train").iterdir()} == {".png", ".jpg", ".webp"}
    with Image.open(next((tmp_path / "jpeg" / "images" / "train").glob("*_a.jpg"))) as image:
        assert image.format == "JPEG"


def test_variants_can_be_stored_as_jpeg_with_infotext(project):
    source = project.list_images()[0]
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8))
    png = project.add_variant(source.id, picture, preset="fog", seed=1, params="fog, Seed: 1", boxes=[],
                              status="labelled")
    jpeg = project.add_variant(source.id, picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT), preset="fog", seed=2,
                               params="fog, Seed: 2", boxes=[], status="labelled", image_format="jpeg", quality=80)
    assert png.file_name.endswith(".png") and jpeg.file_name.endswith(".jpg")
    assert read_infotext(project.image_path(jpeg)) == "fog, Seed: 2"
    assert project.image_path(jpeg).stat().st_size < project.image_path(png).stat().st_size / 2
    with pytest.raises(ValueError, match="image_format"):
        project.add_variant(source.id, picture, preset="fog", seed=3, params="", boxes=[], status="labelled",
                            image_format="gif")


# Issue 10 items 6 and 7; issue 14 item 8 -------------------------------------------------------
def test_killed_export_leftovers_are_removed_by_the_next_export(project, tmp_path):
    for leftover in (".out.old-123", ".out.tmp-abc"):
        (tmp_path / leftover / "images").mkdir(parents=True)
    export_project(project, "yolo", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "proj"]


def test_failed_or_empty_export_leaves_classes_editable(project, tmp_path, monkeypatch):
    def broken(plan, out, final):
        raise OSError("disk full")

    monkeypatch.setitem(exporters._WRITERS, "yolo", broken)
    with pytest.raises(OSError):
        export_project(project, "yolo", tmp_path / "out")
    assert not project.classes_locked()
    with Project.open(tmp_path / "empty") as empty:
        empty.add_class("a")
        with pytest.raises(ValueError, match="nothing to export"):
            export_project(empty, "yolo", tmp_path / "out2")
        assert not empty.classes_locked()


def test_every_asked_split_gets_a_group():
    assert sorted(split_groups(range(4), (0.8, 0.1, 0.1), seed=0).values()) == ["test", "train", "train", "val"]
    assert sorted(split_groups(range(2), (0.5, 0.5, 0), seed=0).values()) == ["train", "val"]
    for n in range(1, 40):
        for ratios in ((0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (0.7, 0.0, 0.3), (1.0, 0.0, 0.0)):
            counts = [list(split_groups(range(n), ratios, seed=n).values()).count(s) for s in ("train", "val", "test")]
            assert sum(counts) == n
            assert all(c == 0 for c, r in zip(counts, ratios, strict=True) if r == 0), (n, ratios, counts)
            if n >= sum(r > 0 for r in ratios):
                assert all(c > 0 for c, r in zip(counts, ratios, strict=True) if r > 0), (n, ratios, counts)


def test_export_without_val_says_so_and_is_readable(project, tmp_path):
    for record in project.list_images():
        project.set_split(record.id, "train")
    old = os.umask(0o022)
    try:
        report = export_project(project, "yolo", tmp_path / "out", zip_output=True)
    finally:
        os.umask(old)
    assert "no validation images" in report.summary()
    report = export_project(project, "yolo", tmp_path / "two", ratios=(0.9, 0.1, 0))
    assert report.images["val"] and not report.warnings
    for path in [tmp_path / "out", *(tmp_path / "out").rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), f"{path}: {oct(mode)}"


def test_augment_job_stores_variants_as_the_settings_say(tmp_path):
    from sdaug.augment.jobs import JobRunner, JobSpec, create_job
    from sdaug.settings import Settings

    settings = Settings.from_env({"SDAUG_VARIANT_FORMAT": "jpeg", "SDAUG_VARIANT_QUALITY": "80"}, home=tmp_path)
    assert (settings.variant_format, settings.variant_quality) == ("jpeg", 80)
    with pytest.raises(ValueError, match="SDAUG_VARIANT_QUALITY must be a whole number"):
        Settings.from_env({"SDAUG_VARIANT_QUALITY": "high"})
    with Project.open(tmp_path / "p") as p:
        cls = p.add_class("a")
        source = p.add_image(_picture(tmp_path / "src" / "a.png", (64, 48), 1)).record
        p.set_boxes(source.id, [Box(cls.id, 8, 8, 40, 40)])
        job = create_job(p, JobSpec(presets=("fog",), variants=1, engine="classic"))
        assert JobRunner(p, job.id, settings=settings).run().done == 1
        [variant] = p.variants(source.id)
        assert variant.file_name.endswith(".jpg")
        assert read_infotext(p.image_path(variant))
