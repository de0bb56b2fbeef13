"""Fine-tuning RT-DETR on a project's labels (tiny model, synthetic shapes), and using it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from sdaug.autolabel.jobs import AutolabelSpec, create_autolabel_job, run_autolabel
from sdaug.autolabel.shapes import CLASSES, shapes_image
from sdaug.autolabel.train import TrainSpec, examples, train_detector
from sdaug.dataset.store import Box, Project
from sdaug.settings import Settings


def shapes_project(folder: Path, n_images: int, val_every: int = 5) -> Project:
    project = Project.open(folder)
    classes = project.ensure_classes(CLASSES)
    files = folder.parent / "shapes-files"
    files.mkdir(parents=True, exist_ok=True)
    for index in range(n_images):
        image, boxes, labels = shapes_image(index)
        path = files / f"shape_{index:03d}.png"
        image.save(path)
        project.add_image(path, split="val" if index % val_every == 0 else "train",
                          boxes=[Box(classes[label].id, *box) for box, label in zip(boxes, labels, strict=True)])
    return project


@pytest.fixture
def manager(tmp_path: Path):
    from sdaug.engine.manager import PipelineManager

    return PipelineManager(Settings(home=tmp_path / "home", device="cpu"))


def test_training_saves_lineage_resumes_and_feeds_autolabel(tmp_path: Path, manager) -> None:
    project = shapes_project(tmp_path / "p", n_images=10)
    first = project.image_ids()[1]
    project.add_proposals(first, [Box(project.classes()[0].id, 1, 1, 20, 20, score=0.9)], detector="x",
                          uncertainty=0.5)
    train_set, _ = examples(project, "train")
    assert sum(len(e.boxes) for e in train_set) == sum(
        1 for i in project.image_ids() for b in project.boxes(i) if b.origin != "auto" and
        project.get_image(i).split == "train")  # proposals are not training labels
    spec = TrainSpec(base="tiny", epochs=2, batch_size=4, image_size=64)
    seen: list[int] = []
    result = train_detector(project, spec, manager, on_epoch=lambda r: seen.append(r.epoch))
    assert seen == [1, 2] and result.epochs == 2 and (result.train_images, result.val_images) == (8, 2)
    lineage = json.loads((result.folder / "lineage.json").read_text())
    assert lineage["classes"] == list(CLASSES) and lineage["epochs_done"] == 2 and lineage["base"] == "tiny"
    assert len(lineage["train_image_ids"]) == 8 and 0.0 <= lineage["map50"] <= 1.0
    # The same command with more epochs resumes: one more epoch, not three.
    seen.clear()
    assert train_detector(project, TrainSpec(base="tiny", epochs=3, batch_size=4, image_size=64), manager,
                          on_epoch=lambda r: seen.append(r.epoch)).epochs == 3
    assert seen == [3]
    # Another base under the same name is refused.
    with pytest.raises(ValueError, match="give another --name"):
        train_detector(project, TrainSpec(base="tiny", epochs=3, image_size=96), manager)
    # Its proposals use the project's classes.
    job = create_autolabel_job(project, AutolabelSpec(detector="trained:detector", threshold=0.05,
                                                      only_unlabelled=False))
    assert run_autolabel(project, job.id, manager).done == 10
    class_ids = {c.id for c in project.classes()}
    assert all(b.class_id in class_ids for i in project.image_ids() for b in project.boxes(i))


def test_stop_after_an_epoch_keeps_it(tmp_path: Path, manager) -> None:
    project = shapes_project(tmp_path / "p", n_images=6)
    stop = threading.Event()
    result = train_detector(project, TrainSpec(base="tiny", epochs=5, batch_size=4, image_size=64), manager,
                            on_epoch=lambda r: stop.set(), stop=stop)
    assert result.epochs == 1


def test_bad_training_requests_say_what_is_wrong(tmp_path: Path, manager) -> None:
    project = Project.open(tmp_path / "empty")
    project.ensure_classes(["bin"])
    with pytest.raises(ValueError, match="no labelled images in the train split"):
        train_detector(project, TrainSpec(base="tiny"), manager)
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        TrainSpec(epochs=0).validate()
    with pytest.raises(ValueError, match="no trained detector 'nope'"):
        create_autolabel_job(project, AutolabelSpec(detector="trained:nope"))


@pytest.mark.slow
def test_fine_tuned_detector_beats_an_untrained_one_on_held_out_shapes(tmp_path: Path, manager) -> None:
    from sdaug.engine.finetune import build_detector, evaluate

    project = shapes_project(tmp_path / "p", n_images=200)
    val, _ = examples(project, "val")
    untrained = evaluate(build_detector("tiny", CLASSES), val, 128)["map50"]
    trained = train_detector(project, TrainSpec(base="tiny", epochs=20, image_size=128), manager).map50
    assert trained > untrained + 0.3, (untrained, trained)
