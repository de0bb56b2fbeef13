"""The Auto-label sub-tab's logic (sdaug.autolabel.panel) and the review queue's auto-labelled view,
called directly with the tiny detector on small projects."""

from __future__ import annotations

import threading
from pathlib import Path

import huggingface_hub.constants
import pytest

from sdaug.autolabel import panel
from sdaug.autolabel.jobs import AutolabelSpec
from sdaug.autolabel.train import TrainSpec
from sdaug.dataset.exporters import export_project
from sdaug.dataset.store import Box
from sdaug.engine.errors import ModelNotFoundError
from sdaug.errors import describe
from sdaug.settings import Settings
from sdaug.ui import review
from tests.engine.test_autolabel import make_project
from tests.engine.test_train_detector import shapes_project

SPEC = AutolabelSpec(detector="tiny", threshold=0.05, batch_size=2)


def no_manager() -> object:
    raise AssertionError("the pipeline manager (torch) was asked for before the checks were done")


def test_propose_reports_eta_and_resumes_without_duplicates(tmp_path: Path, settings: Settings, manager) -> None:
    project = make_project(tmp_path / "p", n_images=6)
    # 1. Stopped before it starts: nothing done, the job waits.
    stop = threading.Event()
    stop.set()
    first = panel.propose(project, SPEC, lambda: manager, settings, stop=stop)
    assert (first.done, first.total, first.boxes) == (0, 6, 0)
    # 2. The same settings again resume the same job; each batch is reported, with an ETA from the second on.
    seen: list[panel.ProposeStatus] = []
    status = panel.propose(project, SPEC, lambda: manager, settings, on_progress=seen.append)
    assert status.job_id == first.job_id and (status.done, status.failed, status.total) == (6, 0, 6)
    assert [s.done for s in seen] == [2, 4, 6] and seen[0].eta_s is not None and seen[-1].eta_s == 0
    stored = {i: project.proposal_count(i) for i in project.image_ids()}
    assert status.boxes == sum(stored.values()) > 0 and status.images == sum(1 for c in stored.values() if c)
    assert all(b.origin == "auto" and b.detector == "tiny" for i in stored for b in project.boxes(i))
    # 3. Once more: no duplicate proposals.
    again = panel.propose(project, SPEC, lambda: manager, settings)
    assert again.job_id == status.job_id and {i: project.proposal_count(i) for i in project.image_ids()} == stored


def test_class_descriptions_are_stored_and_refusals_come_before_any_model(tmp_path: Path, settings: Settings) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    panel.set_descriptions(project, {"bin": "  overflowing trash bin,\n lid open ", "nope": "ignored"})
    assert [c.description for c in project.classes()] == ["overflowing trash bin, lid open", ""]
    project.set_status(project.image_ids()[0], "labelled")
    with pytest.raises(panel.AutolabelError, match="untick"):
        panel.propose(project, SPEC, no_manager, settings)
    empty = make_project(tmp_path / "q", n_images=1)
    for record in empty.classes():
        empty.delete_class(record.id)
    with pytest.raises(panel.AutolabelError, match="no classes"):
        panel.propose(empty, SPEC, no_manager, settings)
    with pytest.raises(ValueError, match="no trained detector 'gone'"):
        panel.propose(project, AutolabelSpec(detector="trained:gone", only_unlabelled=False), no_manager, settings)


def test_a_model_that_cannot_be_had_is_one_line_with_the_mirror_hint(tmp_path: Path, settings: Settings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotFoundError) as missing:
        panel.propose(project, AutolabelSpec(detector="nobody/no-such-owlv2"), no_manager, settings)
    text = str(missing.value)
    assert "\n" not in text and "nobody/no-such-owlv2" in text and "HF_ENDPOINT" in text and "offline" in text.lower()
    chinese = describe(missing.value, "zh")  # what the UI shows in 中文 (sdaug.ui.context.AppContext.error)
    assert "不在本地 Hugging Face 缓存中" in chinese and "HF_ENDPOINT=https://hf-mirror.com" in chinese
    assert "hf download nobody/no-such-owlv2" in chinese and str(settings.models_dir) in chinese
    with pytest.raises(ModelNotFoundError, match="'owl-folder' not found"):
        panel.check_model("owl-folder", settings)
    with pytest.raises(ModelNotFoundError, match="HF_ENDPOINT"):
        panel.check_model("nobody/no-such-rtdetr", settings)
    panel.check_model("tiny", settings)


def test_training_says_plainly_when_a_split_has_no_labelled_image(tmp_path: Path, settings: Settings,
                                                                  manager) -> None:
    project = make_project(tmp_path / "unlabelled", n_images=2)
    assert panel.labelled_counts(project) == (0, 0)
    with pytest.raises(panel.AutolabelError, match="no labelled images in the train split"):
        panel.train(project, TrainSpec(base="tiny"), no_manager, settings)
    shapes = shapes_project(tmp_path / "shapes", n_images=4)
    shapes.set_split(shapes.image_ids()[0], "train")  # no val image left
    assert panel.labelled_counts(shapes) == (4, 0)
    epochs: list[int] = []
    result = panel.train(shapes, TrainSpec(name="mine", base="tiny", epochs=1, batch_size=4, image_size=64),
                         lambda: manager, settings, on_epoch=lambda report: epochs.append(report.epoch))
    assert epochs == [1] and (result.train_images, result.val_images) == (4, 0)
    assert panel.trained_detectors(shapes) == ["mine"]
    assert panel.detector_choices(shapes, tiny=True)[1:] == ["tiny", "trained:mine"]
    assert "tiny" not in panel.detector_choices(shapes, tiny=False)


def test_next_to_label_is_the_least_sure_image(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=4)
    a, b, c, d = project.image_ids()
    bin_id = project.classes()[0].id
    project.add_proposals(a, [Box(bin_id, 1, 1, 9, 9, score=0.9)], detector="tiny", uncertainty=0.2)
    project.add_proposals(b, [Box(bin_id, 1, 1, 9, 9, score=0.5), Box(bin_id, 20, 20, 30, 30, score=0.6)],
                          detector="tiny", uncertainty=0.95)
    project.set_status(c, "labelled")
    assert panel.next_to_label(project) == b
    assert panel.next_rows(project) == [["photo_1.png", "0.95", 2, "review"], ["photo_0.png", "0.20", 1, "review"],
                                        ["photo_3.png", "—", 0, "unlabelled"]]
    assert d == project.labelling_order()[-1][0]


def test_review_auto_scope_accepts_and_deletes_proposals(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=3)
    a, b, c = project.image_ids()
    bin_id, garbage_id = (k.id for k in project.classes())
    project.add_proposals(a, [Box(bin_id, 1, 1, 20, 20, score=0.8), Box(garbage_id, 30, 5, 60, 40, score=0.3)],
                          detector="tiny", uncertainty=0.4)
    project.add_proposals(c, [Box(bin_id, 2, 2, 10, 10, score=0.5)], detector="tiny", uncertainty=0.9)
    rs = review.ReviewState()
    review.start(project, rs, "auto")
    assert rs.image_id == a
    key, values = review.info(project, rs)
    assert key == "rev.info.auto" and (values["index"], values["count"], values["proposals"]) == (1, 2, 2)
    _, shown = review.side_by_side(project, a)
    assert [box["label"] for box in shown["boxes"]] == ["bin 0.80", "garbage 0.30"]
    # Y: all of a's proposals become labels; the queue moves on to c.
    assert review.decide(project, rs, accept=True) == ("rev.msg.accepted_auto", {"id": a, "count": 2})
    assert rs.image_id == c and project.get_image(a).status == "labelled"
    assert {box.origin for box in project.boxes(a)} == {"manual"}
    # X: c's proposals are deleted; it is unlabelled again and the queue is empty.
    assert review.decide(project, rs, accept=False) == ("rev.msg.rejected_auto", {"id": c, "count": 1})
    assert rs.image_id is None and project.boxes(c) == [] and project.get_image(c).status == "unlabelled"
    assert review.info(project, rs) == ("rev.empty", {})
    # The variant scopes still work.
    review.start(project, rs, "review")
    assert rs.image_id is None and project.get_image(b).status == "unlabelled"


def test_deleting_proposals_keeps_a_persons_boxes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=1)
    (image,) = project.image_ids()
    bin_id = project.classes()[0].id
    project.add_proposals(image, [Box(bin_id, 1, 1, 20, 20, score=0.8), Box(bin_id, 30, 5, 60, 40, score=0.3)],
                          detector="tiny", uncertainty=0.4)
    strong, weak = project.boxes(image)
    assert project.accept_proposals(image, [strong.id]) == 1 and project.get_image(image).status == "review"
    assert project.reject_proposals(image, [weak.id]) == 1
    assert project.get_image(image).status == "labelled" and [b.origin for b in project.boxes(image)] == ["manual"]
    export_project(project, "yolo", tmp_path / "out")
    (labels,) = (tmp_path / "out" / "labels").rglob("*.txt")
    # Only the accepted box, in YOLO terms of the 64x48 photo: centre (10.5, 10.5), size 19x19.
    ((cls, *xywh),) = [line.split() for line in labels.read_text().splitlines()]
    assert cls == "0" and [float(v) for v in xywh] == pytest.approx([10.5 / 64, 10.5 / 48, 19 / 64, 19 / 48])
