"""The hostile suite's refusals as a person who reads only Chinese sees them (issue 14,
"Complete Chinese"): each case builds its hostile input (small: limits are lowered instead of
writing 20 MB files), runs the CLI in this process with the error line in 中文, and checks the
line: one line, Chinese, no English phrase of ours (``chinese_problems``; file names, paths,
option names and a library's own reason may stay as they are).

The other hostile cases are checked in Chinese as they run (``chinese_refusals``, autouse in this
suite); these are the ones the suite otherwise meets only in a subprocess, plus a few refusals
of ordinary mistakes (a missing folder, an unknown preset, nothing to export).
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

import sdaug.cli


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _unlabelled_project(tmp_path: Path, picture) -> Path:
    picture(tmp_path / "photos" / "a.png")
    assert sdaug.cli.main(["import", "--project", str(tmp_path / "u"), "--format", "images",
                           str(tmp_path / "photos")]) == 0
    return tmp_path / "u"


def _corrupt(tmp_path, project, picture):
    (project / "project.sqlite").write_bytes(b"this is not a database " * 200)
    return ["stats", "--project", project]


def _infotext_png(tmp_path, project, picture):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a photo of a street, " * 20)
    Image.new("RGB", (8, 8)).save(tmp_path / "big.png", pnginfo=info)
    return ["info", "--limit", "max_infotext_chars=100", tmp_path / "big.png"]


def _pixel_limit(tmp_path, project, picture):
    return ["info", "--limit", "max_image_pixels=1000", picture(tmp_path / "big.png")]


def _class_list(tmp_path, project, picture):
    picture(tmp_path / "ds" / "images" / "a.png")
    (tmp_path / "ds" / "classes.txt").write_text("".join(f"class{i}\n" for i in range(5)))
    return ["import", "--limit", "max_classes=3", "--project", project, "--format", "yolo", tmp_path / "ds"]


def _zip_import(members: dict[str, bytes], *limit: str):
    def build(tmp_path, project, picture):
        return ["import", *limit, "--project", project, "--format", "images", _zip(tmp_path / "in.zip", members)]

    return build


def _not_a_zip(tmp_path, project, picture):
    (tmp_path / "in.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    return ["import", "--project", project, "--format", "images", tmp_path / "in.zip"]


def _missing(tmp_path, project, picture):
    return ["import", "--project", project, "--format", "yolo", tmp_path / "nowhere"]


def _empty_folder(fmt: str):
    def build(tmp_path, project, picture):
        (tmp_path / "empty").mkdir()
        return ["import", "--project", project, "--format", fmt, tmp_path / "empty"]

    return build


def _deleted_image(tmp_path, project, picture):
    next((project / "images").iterdir()).unlink()
    return ["export", "--project", project, "--format", "yolo", "--out", tmp_path / "out"]


def _not_empty_out(tmp_path, project, picture):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    return ["export", "--project", project, "--format", "yolo", "--out", tmp_path / "out"]


def _nothing_to_export(tmp_path, project, picture):
    unlabelled = _unlabelled_project(tmp_path, picture)
    with sqlite3.connect(unlabelled / "project.sqlite") as conn:
        conn.execute("INSERT INTO classes (name, position, color) VALUES ('car', 0, '#ff0000')")
    return ["export", "--project", unlabelled, "--format", "yolo", "--out", tmp_path / "out"]


def _bad_split(tmp_path, project, picture):
    return ["export", "--project", project, "--format", "yolo", "--split", "0.8,lots", "--out", tmp_path / "out"]


def _unknown_preset(tmp_path, project, picture):
    return ["augment", "--project", project, "--preset", "drizle", "--engine", "classic"]


def _no_sources(tmp_path, project, picture):
    return ["augment", "--project", _unlabelled_project(tmp_path, picture), "--preset", "drizzle",
            "--engine", "classic"]


def _bad_limit(tmp_path, project, picture):
    return ["stats", "--limit", "max_nonsense=3", "--project", project]


def _disk_full(tmp_path, project, picture):
    picture(tmp_path / "new" / "n.png", seed=7)
    return ["import", "--project", project, "--format", "images", tmp_path / "new"]


CASES = {
    "corrupt_database": (_corrupt, {}),
    "infotext_over_the_limit": (_infotext_png, {}),
    "pixels_over_the_limit": (_pixel_limit, {}),
    "class_list_over_the_limit": (_class_list, {}),
    "zip_dotdot": (_zip_import({"../evil.png": b"x"}), {}),
    "zip_absolute": (_zip_import({"/etc/evil.png": b"x"}), {}),
    "zip_too_many": (_zip_import({f"{i}.txt": b"" for i in range(5)}, "--limit", "max_zip_members=3"), {}),
    "zip_too_deep": (_zip_import({"a/" * 5 + "a.png": b"x"}, "--limit", "max_path_depth=3"), {}),
    "not_a_zip": (_not_a_zip, {}),
    "folder_missing": (_missing, {}),
    "coco_without_json": (_empty_folder("coco"), {}),
    "voc_without_xml": (_empty_folder("voc"), {}),
    "image_deleted": (_deleted_image, {}),
    "export_into_a_used_folder": (_not_empty_out, {}),
    "nothing_to_export": (_nothing_to_export, {}),
    "bad_split": (_bad_split, {}),
    "unknown_preset": (_unknown_preset, {}),
    "no_source_images": (_no_sources, {}),
    "bad_limit_option": (_bad_limit, {}),
    "limit_not_a_number": (lambda tmp_path, project, picture: ["stats", "--project", project],
                           {"SDAUG_MAX_CLASSES": "lots"}),
    "disk_full": (_disk_full, {"fsync": errno.ENOSPC}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_error_line_is_chinese(tmp_path, project_dir, picture, cli, one_line_error, monkeypatch,
                                   chinese_refusals, chinese_problems, case):
    build, env = CASES[case]
    args = build(tmp_path, project_dir, picture)
    if "fsync" in env:
        def full(*args: object) -> None:
            raise OSError(env["fsync"], os.strerror(env["fsync"]))

        monkeypatch.setattr("sdaug.prompts.metadata.os.fsync", full)
    recording = sdaug.cli.describe  # chinese_refusals' recorder: the line in Chinese instead
    monkeypatch.setattr(sdaug.cli, "describe", lambda exc, lang="en", where=None: recording(exc, "zh", where))
    done = cli(*args, env={k: v for k, v in env.items() if k.startswith("SDAUG_")})
    line = one_line_error(done).removeprefix("sdaug: error: ")
    assert re.search("[\u4e00-\u9fff]", line), line
    assert chinese_refusals, "the line did not come from describe()"
    assert not chinese_problems(chinese_refusals[-1]), line


# Import reports: the hostile files that an import skips are reported line by line; the lines of
# keyed refusals keep their Chinese text (sdaug.errors.Phrase) for the UI's report.
def _yaml_alias(root: Path) -> None:
    (root / "data.yaml").write_text('a: &a ["x","x"]\nb: &b [*a,*a]\nnames: *b\n')


def _yaml_deep(root: Path) -> None:
    (root / "data.yaml").write_text("names: " + "[" * 100_000)


def _fifo(root: Path) -> None:
    os.mkfifo(root / "images" / "pipe.png")


def _link_out(root: Path) -> None:
    (root.parent / "secret.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "labels" / "a.txt").unlink()
    (root / "labels" / "a.txt").symlink_to(root.parent / "secret.txt")


def _too_many_boxes(root: Path) -> None:
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n" * 5)


def _pixels(root: Path) -> None:
    Image.new("1", (200, 200)).save(root / "images" / "big.png")


def _yolo_lines(root: Path) -> None:
    (root / "labels" / "a.txt").write_text("0 120 80 30 40\n5 0.5 0.5 0.1 0.1\n0 x y\n0 0.5\n")
    (root / "labels" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")


def _coco(root: Path) -> None:
    import json

    (root / "ann.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "images/a.png", "width": 64, "height": 48},
                   {"id": 2, "file_name": "gone.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 5]},
                        {"id": 2, "image_id": 9, "category_id": 1, "bbox": [1, 1, 5, 5]},
                        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [500, 500, 5, 5]}]}))


def _voc_dtd(root: Path) -> None:
    (root / "Annotations").mkdir()
    (root / "Annotations" / "a.xml").write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><annotation/>')


REPORTS = {
    "yaml_alias": (_yaml_alias, {}),
    "yaml_too_deep": (_yaml_deep, {}),
    "fifo": (_fifo, {}),
    "link_out_of_the_folder": (_link_out, {}),
    "too_many_boxes": (_too_many_boxes, {"SDAUG_MAX_BOXES_PER_IMAGE": "2"}),
    "pixels_over_the_limit": (_pixels, {"SDAUG_MAX_IMAGE_PIXELS": "10000"}),
    "bad_yolo_lines": (_yolo_lines, {}),
    "bad_coco_entries": (_coco, {"format": "coco"}),
    "voc_with_a_dtd": (_voc_dtd, {"format": "voc"}),
}


@pytest.mark.parametrize("case", REPORTS)
def test_the_import_report_lines_are_chinese(tmp_path, picture, monkeypatch, chinese_problems, case):
    from sdaug import errors, limits
    from sdaug.dataset.importers import import_path
    from sdaug.dataset.store import Project

    build, env = REPORTS[case][0], dict(REPORTS[case][1])
    fmt = env.pop("format", "yolo")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(limits, "_active", None)
    root = tmp_path / "ds"
    picture(root / "images" / "a.png")
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "classes.txt").write_text("car\n")
    build(root)
    with Project.open(tmp_path / "p") as project:
        problems = import_path(project, root, fmt).problems
    assert problems, "the hostile file was not reported"
    for line in problems:
        assert isinstance(line, errors.Phrase), f"a report line without a Chinese text: {line}"
        assert re.search("[\u4e00-\u9fff]", line.text("zh")), line.text("zh")
        assert not chinese_problems(errors.InputError(line.key, **line.values)), line.text("zh")


def test_the_export_summary_is_chinese(tmp_path, project_dir):
    from sdaug.dataset.exporters import export_project
    from sdaug.dataset.store import Project

    with Project.open(project_dir, create=False) as project:
        report = export_project(project, "yolo", tmp_path / "out", ratios=(1.0, 0.0, 0.0), zip_output=True)
    english, chinese = report.summary(), report.summary("zh")
    assert "no validation images" in english and "2 train" in english
    lines = chinese.splitlines()
    assert len(lines) == len(english.splitlines()) == 3, chinese
    assert lines[0].startswith("已写出 2 张图片（训练集 2）、2 个框") and lines[1].startswith("警告：没有验证集图片")
    for line in lines:
        text = re.sub(r"/\S*", " ", line)  # paths
        assert re.search("[\u4e00-\u9fff]", text) and not re.search(r"[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}", text), line
