"""``Project.record_variants``: many encoded variants in one transaction, all or nothing per
variant, files complete before their rows commit; and the job lock."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdaug.dataset.job_store import NewVariant
from sdaug.dataset.store import Box, ImageFilter, JobItemSpec, Project
from sdaug.prompts.metadata import encode_png, read_infotext


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    return encode_png(Image.fromarray(pixels), f"variant {seed}")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Project, int, list[int], int]:
    project = Project.open(tmp_path / "p")
    (cls,) = project.ensure_classes(["bin"])
    path = tmp_path / "photo.png"
    Image.new("RGB", (32, 24), (10, 20, 30)).save(path)
    source = project.add_image(path, split="val", boxes=[Box(cls.id, 1, 1, 10, 10)]).record
    job = project.create_job("k", {}, [JobItemSpec(source.id, "fog", i, i) for i in range(6)])
    return project, source.id, [item.id for item in project.pending_items(job.id)], cls.id


def _variant(source_id: int, item_id: int, data: bytes, boxes: tuple[Box, ...]) -> NewVariant:
    return NewVariant(source_id, data, 32, 24, preset="fog", seed=item_id, params=f"params {item_id}", boxes=boxes,
                      status="labelled", job_item_id=item_id, condition="fog")


def test_a_batch_records_the_good_variants_and_says_why_not_for_the_others(setup) -> None:
    project, source_id, items, class_id = setup
    box = (Box(class_id, 2, 2, 20, 20, origin="carried", drift=0.5),)
    batch = [
        _variant(source_id, items[0], _png(0), box),
        _variant(source_id, items[1], _png(1), (Box(class_id, 5, 5, 5, 9),)),  # no area
        _variant(source_id, items[2], _png(0), box),  # same pixels as the first
        _variant(source_id, items[3], _png(3), (Box(99, 2, 2, 20, 20),)),  # unknown class
        _variant(source_id, items[4], _png(4), box),
        _variant(source_id, items[0], _png(0), box),  # the first item again
    ]
    outcomes = project.record_variants(batch)
    assert [o.error is None for o in outcomes] == [True, False, False, False, True, True]
    assert "no area" in outcomes[1].error
    assert "pixel-identical to another variant of this batch" in outcomes[2].error
    assert "class id 99 does not exist" in outcomes[3].error
    assert outcomes[5].image_id == outcomes[0].image_id
    # Recorded ones: row, boxes, lineage, split, file with its infotext; the item is done.
    for outcome, item_id, seed in ((outcomes[0], items[0], 0), (outcomes[4], items[4], 4)):
        record = project.get_image(outcome.image_id)
        assert (record.source_image_id, record.split, record.status, record.seed) == (source_id, "val", "labelled",
                                                                                      item_id)
        assert read_infotext(project.image_path(record)) == f"variant {seed}"
        assert record.params == f"params {item_id}"
        assert [(b.origin, b.drift) for b in project.boxes(record.id)] == [("carried", 0.5)]
    states = {item.id: item.state for item in project.job_items(1)}
    assert [states[i] for i in items] == ["done", "pending", "pending", "pending", "done", "pending"]
    # Nothing of the failed ones: no row, no box, no file, no temp file.
    assert project.count_images(ImageFilter(kind="variant")) == 2
    assert sorted(os.listdir(project.images_dir)) == sorted(r.file_name for r in project.list_images(0, 10))
    # Again: already done, nothing added; a pixel-identical variant for another item is refused.
    again = project.record_variants([batch[4], _variant(source_id, items[5], _png(4), box)])
    assert again[0].image_id == outcomes[4].image_id
    assert again[1].error == f"this variant is pixel-identical to image id {outcomes[4].image_id}; not added twice"
    assert project.count_images(ImageFilter(kind="variant")) == 2


def test_a_failed_write_records_nothing_and_leaves_no_temp_file(setup, monkeypatch: pytest.MonkeyPatch) -> None:
    project, source_id, items, class_id = setup
    box = (Box(class_id, 2, 2, 20, 20),)

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        project.record_variants([_variant(source_id, items[0], _png(0), box), _variant(source_id, items[1], _png(1), box)])
    assert project.count_images() == 1 and project.job_progress(1).done == 0
    assert len(os.listdir(project.images_dir)) == 1


def test_one_runner_per_job(setup) -> None:
    project, *_ = setup
    with project.job_lock(1):
        with pytest.raises(ValueError, match=rf"job 1 is already running \(process {os.getpid()} on .* since "):
            project.job_lock(1).acquire()
        project.job_lock(2).acquire()  # another job is free
    with project.job_lock(1):  # released: taken again
        pass

