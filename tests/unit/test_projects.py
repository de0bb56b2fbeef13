"""Projects by name and browser uploads: the registry confines every name to the projects folder."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from sdaug.dataset.projects import ProjectRegistry, check_name, parse_classes
from sdaug.dataset.uploads import ImportRoots, import_uploads


@pytest.fixture
def registry(tmp_path: Path) -> ProjectRegistry:
    return ProjectRegistry(tmp_path / "home" / "projects")


def photo(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.mark.parametrize("name", ["", "   ", "../evil", "a/b", "a\\b", ".hidden", "..", "x" * 65, "nul\x00",
                                  "/etc", "C:evil", "tab\tname"])
def test_bad_names_are_refused_with_the_reason(registry: ProjectRegistry, tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="project name"):
        registry.create(name)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "home" / "evil").exists()


def test_names_may_be_chinese_and_have_spaces() -> None:
    assert check_name("  垃圾桶 bins 2 ") == "垃圾桶 bins 2"


def test_create_with_a_pasted_class_list_and_list(registry: ProjectRegistry) -> None:
    classes = parse_classes("bin not full, bin overflowing,garbage\n垃圾；bin not full")
    assert classes == ["bin not full", "bin overflowing", "garbage", "垃圾"]
    project = registry.create("bins", classes)
    assert project.folder == (registry.root / "bins").resolve()
    assert [c.name for c in project.classes()] == classes
    with pytest.raises(ValueError, match="exists already"):
        registry.create("bins")
    registry.create("empty")
    infos = registry.infos()
    assert [i.name for i in infos][:2] == ["empty", "bins"] or {i.name for i in infos} == {"bins", "empty"}
    bins = registry.info("bins")
    assert (bins.images, bins.boxes, bins.thumbnail, bins.classes) == (0, 0, None, classes)
    assert bins.last_opened is not None


def test_rename_and_delete_stay_inside(registry: ProjectRegistry, tmp_path: Path) -> None:
    registry.create("bins", ["bin"])
    with pytest.raises(ValueError, match="project name"):
        registry.rename("bins", "../outside")
    registry.rename("bins", "bins 2")
    assert registry.names() == ["bins 2"]
    assert [c.name for c in registry.open("bins 2").classes()] == ["bin"]
    with pytest.raises(ValueError, match="no project named"):
        registry.open("bins")
    registry.delete("bins 2")
    assert registry.names() == [] and registry.root.is_dir()


def test_a_link_leaving_the_projects_folder_is_refused(registry: ProjectRegistry, tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    registry.root.mkdir(parents=True)
    os.symlink(outside, registry.root / "sneaky")
    with pytest.raises(ValueError, match="outside the projects folder"):
        registry.create("sneaky")
    with pytest.raises(ValueError, match="outside the projects folder"):
        registry.delete("sneaky")
    assert registry.names() == [] and list(outside.iterdir()) == []


def test_upload_many_photos_reports_duplicates_and_refused_files(registry: ProjectRegistry, tmp_path: Path) -> None:
    project = registry.create("bins")
    # gradio stores each upload in a folder of its own, under its own name.
    uploads = [photo(tmp_path / "up" / str(i) / f"IMG_{i}.jpg", (10 * i, 50, 90)) for i in range(3)]
    uploads.append(photo(tmp_path / "up" / "9" / "IMG_0.jpg", (0, 50, 90)))  # same picture again
    notes = tmp_path / "up" / "7" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("hello")
    report = import_uploads(project, [*uploads, notes], "images")
    assert (report.images_added, report.duplicates, report.skipped) == (3, 1, 1)
    assert "IMG_0.jpg" in report.duplicate_files[0]
    assert any("notes.txt" in p for p in report.problems)
    assert sorted(r.original_name for r in project.list_images()) == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert not [p for p in project.folder.iterdir() if p.name.startswith(".upload-")]


def test_upload_a_zipped_yolo_dataset(registry: ProjectRegistry, tmp_path: Path) -> None:
    project = registry.create("bins")
    archive = tmp_path / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(2):
            image = photo(tmp_path / "ds" / f"{i}.png", (i * 90, 10, 10), (40, 20))
            zf.write(image, f"ds/images/train/{i}.png")
            zf.writestr(f"ds/labels/train/{i}.txt", "0 0.5 0.5 0.5 0.5\n")
        zf.writestr("ds/data.yaml", "names: [bin]\n")
    report = import_uploads(project, [archive], "yolo")
    assert (report.images_added, report.boxes) == (2, 2)
    with pytest.raises(ValueError, match=r"one \.zip"):
        import_uploads(project, [tmp_path / "ds" / "0.png"], "yolo")
    with pytest.raises(ValueError, match="no file was uploaded"):
        import_uploads(project, [], "images")


def test_import_roots_offer_only_what_is_inside(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    photo(root / "site-a" / "1.jpg", (1, 2, 3))
    (root / "site-a" / "set.zip").write_bytes(b"PK")
    secret = photo(tmp_path / "secret" / "me.jpg", (9, 9, 9))
    os.symlink(secret.parent, root / "escape")
    roots = ImportRoots.of([root])
    choices = roots.choices()
    assert choices == ["shared", "shared/site-a", "shared/site-a/set.zip"]
    assert roots.resolve("shared/site-a") == (root / "site-a").resolve()
    for hostile in ["shared/escape", "shared/../secret", "/etc", "other/x", "shared//etc/passwd", "shared/nope"]:
        with pytest.raises(ValueError, match="not one of the folders"):
            roots.resolve(hostile)
    with pytest.raises(ValueError, match="is not a folder"):
        ImportRoots.of([tmp_path / "missing"])


def test_upload_a_coco_json_with_its_photos(registry: ProjectRegistry, tmp_path: Path) -> None:
    """A COCO file and its photos uploaded together (each lands in a folder of its own)."""
    import json

    project = registry.create("bins")
    photos = [photo(tmp_path / "up" / str(i) / f"{i}.png", (i * 90, 10, 10), (40, 20)) for i in range(2)]
    coco = {"images": [{"id": i + 1, "file_name": f"{i}.png", "width": 40, "height": 20} for i in range(2)],
            "categories": [{"id": 1, "name": "bin"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 8]}]}
    annotation = tmp_path / "up" / "9" / "instances.json"
    annotation.parent.mkdir(parents=True)
    annotation.write_text(json.dumps(coco))
    report = import_uploads(project, [annotation, *photos], "coco")
    assert (report.images_added, report.boxes) == (2, 1), report.problems
