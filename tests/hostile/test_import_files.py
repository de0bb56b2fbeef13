"""Hostile dataset folders and files, imported with ``sdaug import`` in a subprocess under a
memory limit and a timeout: resource exhaustion (YAML alias bomb, huge class id, FIFO,
``/dev/zero``, pixel bomb, deep JSON), escapes (symlinks out of the folder), and labels that
used to be lost silently (all lines refused, BOMs, duplicate COCO ids, truncated JPEG)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

SECRET = "TOPSECRET-4711 do not echo me"


def _yolo(picture, root: Path, labels: dict[str, str], classes: str | None = "car\n") -> Path:
    for i, (stem, text) in enumerate(labels.items()):
        picture(root / "images" / f"{stem}.png", seed=i)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"{stem}.txt").write_text(text)
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return root


def _images(project: Path) -> list[tuple]:
    """(file name, status, box count) of every image, by name."""
    with sqlite3.connect(project / "project.sqlite") as conn:
        rows = conn.execute("SELECT original_name, status, (SELECT COUNT(*) FROM boxes b WHERE b.image_id = i.id) "
                            "FROM images i").fetchall()
    return sorted((Path(name).name, status, boxes) for name, status, boxes in rows)


def _classes(project: Path) -> list[str]:
    with sqlite3.connect(project / "project.sqlite") as conn:
        return [row[0] for row in conn.execute("SELECT name FROM classes ORDER BY position")]


# Resource exhaustion -----------------------------------------------------------------------------
def test_yaml_alias_bomb_is_refused_at_once(tmp_path, run_cli, picture):
    root = _yolo(picture, tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n"}, classes=None)
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},'
              f'*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]' for i in range(9)]
    (root / "data.yaml").write_text("\n".join(lines) + "\nnames: *j\n")
    done = run_cli("import", "--project", tmp_path / "p", "--format", "yolo", root, timeout=30)
    assert "data.yaml: uses YAML aliases (*name), which sdaug refuses" in done.stdout
    assert "Traceback" not in done.stderr
    (root / "data.yaml").write_text("names: " + "[" * 100_000)
    done = run_cli("import", "--project", tmp_path / "p", "--format", "yolo", root, timeout=30)
    assert "data.yaml: the data is nested more than a few hundred levels deep" in done.stdout


def test_huge_class_id_is_refused_not_50_million_classes(tmp_path, run_cli, picture):
    root = _yolo(picture, tmp_path / "ds", {"a": "50000000 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.1 0.1\n"}, classes=None)
    done = run_cli("import", "--project", tmp_path / "p", "--format", "yolo", root, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "labels/a.txt:1: class 50000000 is more than the limit of 10000 classes" in done.stdout
    assert _classes(tmp_path / "p") == ["0"]
    assert _images(tmp_path / "p") == [("a.png", "review", 1)]


def test_a_class_list_over_the_limit_is_refused_before_anything_changes(tmp_path, cli, project_dir, picture,
                                                                        unchanged, one_line_error):
    root = _yolo(picture, tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n"},
                 classes="".join(f"class{i}\n" for i in range(20_000)))
    with unchanged(tmp_path, project_dir):
        done = cli("import", "--project", project_dir, "--format", "yolo", root)
    assert "the imported class list: 20001 classes, more than the limit of 10000" in one_line_error(done)


def test_fifo_and_dev_zero_in_the_folder_are_skipped(tmp_path, run_cli, picture):
    root = tmp_path / "photos"
    picture(root / "ok.png")
    os.mkfifo(root / "pipe.png")
    (root / "zero.jpg").symlink_to("/dev/zero")
    os.mkfifo(root / "ok.txt")  # a label file that is a pipe
    done = run_cli("import", "--project", tmp_path / "p", "--format", "images", root, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "problem: pipe.png: not a regular file (a pipe, device or socket); skipped." in done.stdout
    assert "problem: zero.jpg: a link to a file outside the folder being imported; skipped." in done.stdout
    assert _images(tmp_path / "p") == [("ok.png", "unlabelled", 0)]
    done = run_cli("import", "--project", tmp_path / "q", "--format", "yolo", root, timeout=30)
    assert "ok.txt: not a regular file" in done.stdout and "Traceback" not in done.stderr


def test_symlinks_out_of_the_folder_are_not_followed_nor_echoed(tmp_path, run_cli, picture):
    outside = tmp_path / "private"
    picture(outside / "holiday.png", seed=9)
    (outside / "secret.txt").write_text(SECRET + "\n")
    root = _yolo(picture, tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n"})
    (root / "images" / "holiday.png").symlink_to(outside / "holiday.png")
    picture(root / "images" / "b.png", seed=3)
    (root / "labels" / "b.txt").symlink_to(outside / "secret.txt")
    done = run_cli("import", "--project", tmp_path / "p", "--format", "yolo", root, timeout=30)
    assert "images/holiday.png: a link to a file outside the folder being imported; skipped." in done.stdout
    assert "labels/b.txt: a link to a file outside the folder being imported; skipped." in done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert [name for name, *_ in _images(tmp_path / "p")] == ["a.png", "b.png"]
    assert _images(tmp_path / "p")[1] == ("b.png", "review", 0)  # its labels could not be read


def test_pixel_bomb_png_is_refused_with_its_size(tmp_path, run_cli):
    root = tmp_path / "photos"
    root.mkdir()
    Image.new("1", (12_000, 12_000)).save(root / "bomb.png")  # 144 megapixels in ~18 kB
    assert (root / "bomb.png").stat().st_size < 100_000
    done = run_cli("import", "--project", tmp_path / "p", "--format", "images", root, timeout=30)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ("bomb.png: the image is 12000x12000 pixels (144 megapixels), more than the limit of 60 megapixels"
            in done.stdout)
    info = run_cli("info", root / "bomb.png", timeout=30)  # PNG Info would decode it for late text chunks
    assert "bomb.png: the image is 12000x12000 pixels (144 megapixels)" in info.stderr and info.returncode == 1
    done = run_cli("import", "--limit", "max_image_pixels=200000000", "--project", tmp_path / "p",
                   "--format", "images", root, timeout=60)
    assert done.returncode == 0 and "1 images added" in done.stdout


def test_deep_json_is_refused(tmp_path, run_cli):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    done = run_cli("import", "--project", tmp_path / "p", "--format", "coco", path, timeout=30)
    assert "deep.json: the data is nested more than 64 levels deep" in done.stdout
    assert "Traceback" not in done.stderr


def test_one_coco_json_does_not_walk_its_parent_folder(tmp_path, run_cli, picture):
    downloads = tmp_path / "Downloads"
    picture(downloads / "unrelated" / "deep" / "a.png")  # same name, somewhere else
    (downloads / "ann.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}]}))
    os.mkfifo(downloads / "unrelated" / "x.png")  # walking the folder would meet this
    done = run_cli("import", "--project", tmp_path / "p", "--format", "coco", downloads / "ann.json", timeout=30)
    assert "image file 'a.png' not found beside the annotation file" in done.stdout
    assert _images(tmp_path / "p") == []


# Nothing lost silently ----------------------------------------------------------------------------
def test_image_with_every_label_refused_needs_review_not_labelled(tmp_path, cli, picture):
    root = _yolo(picture, tmp_path / "ds", {"bad": "0 120 80 30 40\n0 x y\n", "good": "0 0.5 0.5 0.2 0.2\n",
                                   "empty": ""})
    done = cli("import", "--project", tmp_path / "p", "--format", "yolo", root)
    assert "labels/bad.txt:1: coordinates must be normalised to 0..1" in done.stdout
    assert "1 images need review (some of their labels were refused, see the problems): images/bad.png" in done.stdout
    assert _images(tmp_path / "p") == [("bad.png", "review", 0), ("empty.png", "labelled", 0),
                                       ("good.png", "labelled", 1)]
    out = tmp_path / "export"
    assert cli("export", "--project", tmp_path / "p", "--format", "yolo", "--out", out).returncode == 0
    exported = sorted(p.name.split("_", 1)[1] for p in (out / "labels" / "train").iterdir())
    assert exported == ["empty.txt", "good.txt"]  # the image that needs review is not exported


@pytest.mark.parametrize("where", ["label", "classes", "yaml"])
def test_byte_order_marks_are_stripped(tmp_path, cli, where, picture):
    bom = "\ufeff"
    root = _yolo(picture, tmp_path / "ds", {"a": (bom if where == "label" else "") + "0 0.5 0.5 0.2 0.2\n"},
                 classes=None if where == "yaml" else (bom if where == "classes" else "") + "car\n")
    if where == "yaml":
        (root / "data.yaml").write_text(bom + "names: [car]\n", encoding="utf-8")
    done = cli("import", "--project", tmp_path / "p", "--format", "yolo", root)
    assert done.returncode == 0 and "problem:" not in done.stdout, done.stdout
    assert _classes(tmp_path / "p") == ["car"]
    assert _images(tmp_path / "p") == [("a.png", "labelled", 1)]


def test_coco_with_bom_imports(tmp_path, cli, picture):
    root = tmp_path / "coco"
    picture(root / "a.png")
    text = json.dumps({"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "car"}],
                       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}]})
    (root / "ann.json").write_text("\ufeff" + text, encoding="utf-8")
    done = cli("import", "--project", tmp_path / "p", "--format", "coco", root / "ann.json")
    assert done.returncode == 0 and "problem:" not in done.stdout, done.stdout
    assert _images(tmp_path / "p") == [("a.png", "labelled", 1)]


@pytest.mark.parametrize("what", ["image", "category"])
def test_duplicate_coco_ids_are_errors_naming_both(tmp_path, cli, what, picture, unchanged):
    root = tmp_path / "coco"
    picture(root / "a.png", seed=1)
    picture(root / "b.png", seed=2)
    images = [{"id": 1, "file_name": "a.png"}, {"id": 1 if what == "image" else 2, "file_name": "b.png"}]
    categories = [{"id": 1, "name": "car"}, {"id": 1 if what == "category" else 2, "name": "bus"}]
    (root / "ann.json").write_text(json.dumps({"images": images, "categories": categories, "annotations": []}))
    with unchanged(tmp_path / "coco"):
        done = cli("import", "--project", tmp_path / "p", "--format", "coco", root / "ann.json")
    first, second = (images if what == "image" else categories)
    assert (f"ann.json: {what} id 1 is used twice ({first!r} and {second!r}); the file was not imported"
            in done.stdout), done.stdout
    assert done.returncode == 1 and _images(tmp_path / "p") == [] and _classes(tmp_path / "p") == []


def test_coco_ids_that_are_lists_or_400_digits_are_refused(tmp_path, cli, picture):
    root = tmp_path / "coco"
    picture(root / "a.png")
    huge = int("9" * 400)
    (root / "ann.json").write_text(json.dumps({
        "images": [{"id": [1], "file_name": "x.png"}, {"id": huge, "file_name": "y.png"},
                   {"id": 1, "file_name": "a.png", "width": huge, "height": 48}],
        "categories": [{"id": [2], "name": "bus"}, {"id": 1, "name": "car"}],
        "annotations": [{"id": 1, "image_id": [1], "category_id": 1, "bbox": [1, 1, 10, 10]},
                        {"id": 2, "image_id": 1, "category_id": [1], "bbox": [1, 1, 10, 10]},
                        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [huge, 1, 10, 10]}]}))
    done = cli("import", "--project", tmp_path / "p", "--format", "coco", root / "ann.json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "image {'id': [1], 'file_name': 'x.png'} needs a whole-number 'id' from 0 to 2^63-1" in done.stdout
    assert "needs a whole-number 'id' from 0 to 2^63-1, got 9999" in done.stdout
    assert "annotation id 1: image_id [1] is not in 'images'" in done.stdout
    assert "annotation id 2: category_id [1] is not in 'categories'" in done.stdout
    assert "annotation id 3: bbox must be [x, y, width, height] numbers" in done.stdout
    assert _images(tmp_path / "p") == [("a.png", "review", 0)]


def test_truncated_jpeg_is_refused_with_its_name(tmp_path, cli, picture):
    root = tmp_path / "photos"
    picture(root / "whole.jpg", seed=1, size=(256, 256))
    data = picture(root / "cut.jpg", seed=2, size=(256, 256)).read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 2])
    done = cli("import", "--project", tmp_path / "p", "--format", "images", root)
    assert "problem: cut.jpg: not a readable image (image file is truncated" in done.stdout, done.stdout
    assert _images(tmp_path / "p") == [("whole.jpg", "unlabelled", 0)]


def test_too_many_boxes_keep_the_limit_and_need_review(tmp_path, cli, picture):
    root = _yolo(picture, tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n" * 50_000})
    done = cli("import", "--project", tmp_path / "p", "--format", "yolo", root)
    assert "a.png: 50000 boxes, more than the limit of 2000 per image" in done.stdout
    assert "The first 2000 were kept." in done.stdout
    assert _images(tmp_path / "p") == [("a.png", "review", 2000)]


def test_hostile_imports_leave_an_existing_project_unchanged(tmp_path, run_cli, project_dir, unchanged, one_line_error):
    """The refused inputs above, into a project that has work in it: nothing changes."""
    (tmp_path / "deep.json").write_text("{\"a\":" * 10_000 + "1" + "}" * 10_000)
    (tmp_path / "photos").mkdir()
    Image.new("1", (12_000, 12_000)).save(tmp_path / "photos" / "bomb.png")
    os.mkfifo(tmp_path / "photos" / "pipe.png")
    with unchanged(tmp_path, project_dir):
        for fmt, path in (("coco", "deep.json"), ("images", "photos"), ("coco", "missing.json")):
            done = run_cli("import", "--project", project_dir, "--format", fmt, tmp_path / path, timeout=30)
            assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "does not exist" in one_line_error(done)


@pytest.mark.parametrize(("file", "limit"), [("data.yaml", "SDAUG_MAX_YAML_BYTES"),
                                             ("labels/a.txt", "SDAUG_MAX_TEXT_BYTES")])
def test_annotation_files_over_their_size_limit_are_not_read(tmp_path, cli, picture, file, limit):
    root = _yolo(picture, tmp_path / "ds", {"a": "0 0.5 0.5 0.2 0.2\n" * 20})
    (root / "data.yaml").write_text("names: [car]\n# padding" + "." * 400 + "\n")
    done = cli("import", "--project", tmp_path / "p", "--format", "yolo", root, env={limit: "300"})
    size = (root / file).stat().st_size
    assert f"{file}: the file is {size} bytes, more than the limit of 300 bytes for this kind of file; it was " \
           f"not read." in done.stdout, done.stdout


def test_a_coco_file_over_the_json_size_limit_is_not_read(tmp_path, cli, picture):
    picture(tmp_path / "coco" / "a.png")
    (tmp_path / "coco" / "ann.json").write_text(json.dumps({"images": [], "categories": [], "pad": "x" * 500}))
    done = cli("import", "--project", tmp_path / "p", "--format", "coco", tmp_path / "coco" / "ann.json",
               env={"SDAUG_MAX_JSON_BYTES": "300"})
    size = (tmp_path / "coco" / "ann.json").stat().st_size
    assert f"ann.json: the file is {size} bytes, more than the limit of 300 bytes" in done.stdout, done.stdout


def test_voc_with_a_refused_object_needs_review_and_links_out_are_not_read(tmp_path, cli, picture):
    root = tmp_path / "voc"
    picture(root / "JPEGImages" / "a.jpg", size=(64, 48))
    picture(root / "JPEGImages" / "b.jpg", seed=2, size=(64, 48))
    (root / "Annotations").mkdir()
    good = "<object><name>car</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>"
    bad = "<object><name>car</name><bndbox><xmin>two</xmin></bndbox></object>"
    (root / "Annotations" / "a.xml").write_text(f"<annotation><filename>a.jpg</filename>{good}{bad}</annotation>")
    (tmp_path / "private.xml").write_text(f"<annotation><filename>{SECRET}</filename>{good}</annotation>")
    (root / "Annotations" / "b.xml").symlink_to(tmp_path / "private.xml")
    done = cli("import", "--project", tmp_path / "p", "--format", "voc", root)
    assert "Annotations/a.xml: object 2 (car): needs <bndbox> with numbers" in done.stdout
    assert "Annotations/b.xml: a link to a file outside the folder being imported; skipped." in done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert _images(tmp_path / "p") == [("a.jpg", "review", 1)]
