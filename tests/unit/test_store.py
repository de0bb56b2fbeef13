"""The project store: schema, images, classes, boxes, filters, jobs and variants."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PIL import Image

from sdaug.dataset.store import (
    DEFAULT_PALETTE,
    MIGRATIONS,
    SCHEMA_VERSION,
    Box,
    ImageFilter,
    JobItemSpec,
    Project,
    orient_box,
    prepare_image,
)
from sdaug.prompts.metadata import read_infotext


def _picture(seed: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture
def project(tmp_path):
    with Project.open(tmp_path / "proj") as p:
        yield p


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for i in range(5):
        path = folder / f"p{i}.png"
        _picture(i).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def classes(project):
    return project.ensure_classes(["bin not full", "bin overflowing", "garbage"])


def test_open_creates_schema_and_pragmas(project):
    conn = sqlite3.connect(project.db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert project.read("PRAGMA foreign_keys")[0][0] == 1
    assert project.read("PRAGMA busy_timeout")[0][0] == 30000
    assert (project.folder / "images").is_dir()


def test_reopen_keeps_data_and_newer_schema_is_refused(tmp_path, photos):
    with Project.open(tmp_path / "p") as p:
        p.add_image(photos[0])
    with Project.open(tmp_path / "p") as p:
        assert p.count_images() == 1
    conn = sqlite3.connect(tmp_path / "p" / "project.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ValueError, match="newer sdaug"):
        Project.open(tmp_path / "p")


def test_open_without_create_refuses_missing_project(tmp_path):
    with pytest.raises(ValueError, match="not a project folder"):
        Project.open(tmp_path / "nothing", create=False)


def test_add_image_hash_name_size_and_duplicate(project, photos):
    added = project.add_image(photos[0], split="val")
    record = added.record
    assert not added.duplicate
    assert (record.width, record.height, record.split, record.status) == (64, 48, "val", "unlabelled")
    assert record.file_name == record.sha256 + ".png"
    assert project.image_path(record).read_bytes() == photos[0].read_bytes()
    again = project.add_image(photos[0])
    assert again.duplicate and again.record.id == record.id
    assert project.count_images() == 1


def test_exif_orientation_is_applied(tmp_path, project):
    raw = _picture(7, (40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    raw.save(path, exif=exif, quality=95)
    record = project.add_image(path).record
    assert (record.width, record.height) == (30, 40)
    with Image.open(project.image_path(record)) as stored:
        assert stored.size == (30, 40)
        assert stored.getexif().get(0x0112, 1) == 1
    prepared = prepare_image(path)
    assert prepared.raw_size == (40, 30) and prepared.orientation == 6
    # The raw top-left corner lands at the top-right of the upright image.
    assert orient_box((0, 0, 10, 5), 6, (40, 30)) == (25, 0, 30, 10)


def test_not_an_image_is_refused(tmp_path, project):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="notes.jpg: not a readable image"):
        project.add_image(bad)
    assert project.count_images() == 0


def test_classes_palette_rename_and_lock(project, classes, photos):
    assert [c.color for c in classes] == list(DEFAULT_PALETTE[:3])
    assert [c.position for c in project.classes()] == [0, 1, 2]
    with pytest.raises(ValueError, match="already exists"):
        project.add_class("garbage")
    with pytest.raises(ValueError, match="#rrggbb"):
        project.set_class_color(classes[0].id, "red")
    reordered = project.reorder_classes([classes[2].id, classes[0].id, classes[1].id])
    assert [c.name for c in reordered] == ["garbage", "bin not full", "bin overflowing"]
    image = project.add_image(photos[0]).record
    project.add_box(image.id, Box(classes[1].id, 1, 1, 10, 10))
    with pytest.raises(ValueError, match="used by 1 boxes"):
        project.delete_class(classes[1].id)
    project.lock_classes()
    assert project.classes_locked()
    with pytest.raises(ValueError, match="locked"):
        project.reorder_classes([c.id for c in classes])
    with pytest.raises(ValueError, match="locked"):
        project.delete_class(classes[0].id)
    assert project.rename_class(classes[0].id, "bin ok").name == "bin ok"
    assert project.add_class("cat").position == 3


def test_delete_class_closes_the_gap(project, classes):
    project.delete_class(classes[0].id)
    assert [(c.name, c.position) for c in project.classes()] == [("bin overflowing", 0), ("garbage", 1)]


def test_boxes_clamped_sorted_and_zero_area_refused(project, classes, photos):
    image = project.add_image(photos[0]).record
    box = project.add_box(image.id, Box(classes[0].id, 70, -5, 10, 20))
    assert (box.x1, box.y1, box.x2, box.y2) == (10, 0, 64, 20)
    assert project.get_image(image.id).status == "labelled"
    with pytest.raises(ValueError, match="no area"):
        project.add_box(image.id, Box(classes[0].id, 5, 5, 5, 20))
    with pytest.raises(ValueError, match="no area inside"):
        project.add_box(image.id, Box(classes[0].id, 100, 100, 120, 120))
    with pytest.raises(ValueError, match="class id 999"):
        project.add_box(image.id, Box(999, 1, 1, 5, 5))
    with pytest.raises(ValueError, match="origin"):
        project.add_box(image.id, Box(classes[0].id, 1, 1, 5, 5, origin="magic"))
    assert len(project.boxes(image.id)) == 1


def test_set_boxes_replaces_in_one_transaction(project, classes, photos):
    image = project.add_image(photos[0]).record
    first = project.set_boxes(image.id, [Box(classes[0].id, 1, 1, 10, 10), Box(classes[1].id, 2, 2, 20, 20)])
    assert [b.class_id for b in first] == [classes[0].id, classes[1].id]
    with pytest.raises(ValueError):
        project.set_boxes(image.id, [Box(classes[2].id, 3, 3, 30, 30), Box(classes[0].id, 4, 4, 4, 4)])
    assert project.boxes(image.id) == first  # the failed replacement changed nothing
    assert project.set_boxes(image.id, []) == []
    assert project.set_boxes(image.id, [Box(classes[2].id, 0, 0, 8, 8)], status="reviewed")[0].class_id == classes[2].id
    assert project.get_image(image.id).status == "reviewed"


def test_update_and_delete_box(project, classes, photos):
    image = project.add_image(photos[0]).record
    box = project.add_box(image.id, Box(classes[0].id, 1, 1, 10, 10, needs_review=True))
    changed = project.update_box(box.id, class_id=classes[2].id, x2=99.0, needs_review=False)
    assert (changed.class_id, changed.x2, changed.needs_review) == (classes[2].id, 64.0, False)
    assert project.boxes(image.id) == [changed]
    with pytest.raises(ValueError, match="unknown box fields"):
        project.update_box(box.id, colour="red")
    project.delete_box(box.id)
    assert project.boxes(image.id) == []
    with pytest.raises(ValueError, match="does not exist"):
        project.delete_box(box.id)


def test_list_filter_and_navigation(project, classes, photos):
    ids = [project.add_image(p, split="val" if i % 2 else "train").record.id for i, p in enumerate(photos)]
    project.add_box(ids[1], Box(classes[2].id, 1, 1, 9, 9))
    project.add_box(ids[3], Box(classes[0].id, 1, 1, 9, 9))
    project.set_status(ids[4], "rejected")
    assert [r.id for r in project.list_images(0, 2)] == ids[:2]
    assert [r.id for r in project.list_images(2, 2)] == ids[2:4]
    assert project.count_images(ImageFilter(split="val")) == 2
    assert project.count_images(ImageFilter(status=("labelled", "rejected"))) == 3
    assert [r.id for r in project.list_images(where=ImageFilter(class_id=classes[2].id))] == [ids[1]]
    assert project.list_images(0, 10, ImageFilter(split="val"))[1].box_count == 1
    val = ImageFilter(split="val")
    assert project.next_image(ids[1], val).id == ids[3]
    assert project.next_image(ids[3], val) is None
    assert project.previous_image(ids[3], val).id == ids[1]
    assert project.image_index(ids[3], val) == 1
    assert project.next_unlabelled().id == ids[0]
    assert project.next_unlabelled(ids[0]).id == ids[2]
    assert project.next_unlabelled(ids[2]).id == ids[0]  # wraps around
    with pytest.raises(ValueError, match="split must be one of"):
        project.count_images(ImageFilter(split="holdout"))


def test_status_split_and_delete(project, classes, photos):
    image = project.add_image(photos[0]).record
    project.add_box(image.id, Box(classes[0].id, 1, 1, 9, 9, needs_review=True))
    assert project.set_status(image.id, "reviewed").status == "reviewed"
    assert not project.boxes(image.id)[0].needs_review
    with pytest.raises(ValueError, match="status must be one of"):
        project.set_status(image.id, "done")
    path = project.image_path(image)
    project.delete_image(image.id)
    assert not path.exists() and project.count_images() == 0
    assert project.read("SELECT COUNT(*) FROM boxes")[0][0] == 0


def _job(project, source_id, n=3):
    items = [JobItemSpec(source_id, "fog", i, 1000 + i) for i in range(n)]
    return project.create_job("job-fog", {"presets": ["fog"], "variants": n}, items)


def test_jobs_are_idempotent_on_key(project, photos):
    source = project.add_image(photos[0]).record
    job = _job(project, source.id)
    again = project.create_job("job-fog", {"other": True}, [])
    assert again == job and again.config == {"presets": ["fog"], "variants": 3}
    assert project.job_progress(job.id).total == 3
    assert [i.variant_index for i in project.pending_items(job.id, limit=2)] == [0, 1]
    project.set_job_state(job.id, "running")
    assert project.get_job(job.id).state == "running"
    assert project.job_by_key("job-fog").id == job.id and project.job_by_key("nope") is None


def test_add_variant_records_everything_once(project, classes, photos):
    source = project.add_image(photos[0], split="val").record
    job = _job(project, source.id)
    item = project.pending_items(job.id)[0]
    carried = [Box(classes[0].id, 1, 1, 20, 20, origin="carried", drift=0.4, needs_review=True)]
    variant = project.add_variant(source.id, _picture(99), preset="fog", seed=item.seed,
                                  params="fog\nSteps: 2, Seed: 1000", boxes=carried, status="review",
                                  job_item_id=item.id, condition="weather/fog")
    assert (variant.split, variant.source_image_id, variant.condition, variant.status) == ("val", source.id, "weather/fog", "review")
    assert read_infotext(project.image_path(variant)) == "fog\nSteps: 2, Seed: 1000"
    stored = project.boxes(variant.id)
    assert [(b.origin, b.drift, b.needs_review) for b in stored] == [("carried", 0.4, True)]
    assert project.job_progress(job.id) == type(project.job_progress(job.id))(total=3, pending=2, done=1, failed=0)
    repeat = project.add_variant(source.id, _picture(99), preset="fog", seed=item.seed, params="x",
                                 boxes=carried, status="review", job_item_id=item.id)
    assert repeat.id == variant.id and project.count_images() == 2
    assert [v.id for v in project.variants(source.id)] == [variant.id]
    assert project.count_images(ImageFilter(kind="variant")) == 1
    project.set_split(source.id, "test")
    assert project.get_image(variant.id).split == "test"
    assert not list(project.images_dir.glob(".*"))  # no temp files left


def test_failed_variant_records_nothing(project, classes, photos):
    source = project.add_image(photos[0]).record
    job = _job(project, source.id)
    item = project.pending_items(job.id)[0]
    with pytest.raises(ValueError, match="no area"):
        project.add_variant(source.id, _picture(5), preset="fog", seed=1, params="p",
                            boxes=[Box(classes[0].id, 3, 3, 3, 9)], status="labelled", job_item_id=item.id)
    assert project.count_images() == 1 and project.job_progress(job.id).pending == 3
    project.mark_item_failed(item.id, "out of memory")
    assert project.job_items(job.id, "failed")[0].error == "out of memory"
    assert project.retry_failed(job.id) == 1
    assert project.job_progress(job.id).pending == 3


def test_failed_attempts_are_counted_per_item_and_limit_the_retry(project, photos):
    source = project.add_image(photos[0]).record
    job = _job(project, source.id)
    first, second, _ = project.pending_items(job.id)
    for _ in range(3):
        project.mark_item_failed(first.id, "cannot be decoded")
    project.mark_item_failed(second.id, "cannot be decoded")
    assert {i.id: i.attempts for i in project.job_items(job.id, "failed")} == {first.id: 3, second.id: 1}
    assert project.retry_failed(job.id, max_attempts=3) == 1  # the first reached the limit
    assert [i.id for i in project.job_items(job.id, "failed")] == [first.id]
    assert project.retry_failed(job.id) == 1  # no limit: all of them, their count kept
    assert [i.attempts for i in project.job_items(job.id)] == [3, 1, 0]
    assert project.job_progress(job.id).pending == 3


def test_a_version_1_project_gains_attempts_and_its_failed_items_count_one(tmp_path, photos):
    conn = sqlite3.connect(tmp_path / "project.sqlite")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO images (file_name, sha256, width, height, created_at) VALUES ('a.png', 'a', 8, 8, 0)")
    conn.execute("INSERT INTO jobs (key, config, created_at) VALUES ('k', '{}', 0)")
    conn.executemany("INSERT INTO job_items (job_id, source_image_id, preset, variant_index, seed, state, error) "
                     "VALUES (1, 1, 'fog', ?, 0, ?, ?)", [(0, "failed", "out of memory"), (1, "pending", None)])
    conn.commit()
    conn.close()
    with Project.open(tmp_path) as p:
        assert p.read("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert [(i.state, i.error, i.attempts) for i in p.job_items(1)] == [
            ("failed", "out of memory", 1), ("pending", None, 0)]
