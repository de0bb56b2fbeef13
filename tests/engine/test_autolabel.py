"""Auto-label: the tiny OWLv2, proposals in the store, resumable jobs, exports without proposals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sdaug.autolabel.jobs import AutolabelSpec, create_autolabel_job, run_autolabel
from sdaug.dataset.exporters import export_project
from sdaug.dataset.store import Box, ImageFilter, Project
from sdaug.engine.detect import ZeroShotDetector, entropy, suppress, tiny_detector, tiny_detector_processor
from sdaug.engine.tiny import tiny_tokenizer


def make_project(folder: Path, n_images: int = 4) -> Project:
    project = Project.open(folder)
    project.ensure_classes(["bin", "garbage"])
    sources = folder.parent / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    for index in range(n_images):
        path = sources / f"photo_{index}.png"
        Image.fromarray(np.random.default_rng(index).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
        project.add_image(path)
    return project


def test_tiny_detector_proposes_boxes_inside_each_image() -> None:
    detector = ZeroShotDetector(tiny_detector(), tiny_tokenizer(), tiny_detector_processor(), "tiny")
    images = [Image.new("RGB", (80, 48), (i * 60, 100, 30)) for i in range(2)]
    found = detector.propose(images, ["a photo of a bin", "a photo of garbage"], threshold=0.05)
    assert len(found) == 2
    for proposals in found:
        assert 0.0 <= proposals.uncertainty <= 1.0
        for p in proposals.boxes:
            x0, y0, x1, y1 = p.box
            assert 0 <= x0 <= x1 <= 80 and 0 <= y0 <= y1 <= 48 and p.score >= 0.05 and p.class_index in (0, 1)
    with pytest.raises(ValueError, match="threshold must be above 0"):
        detector.propose(images, ["a bin"], threshold=0)
    with pytest.raises(ValueError, match="at least one class"):
        detector.propose(images, [], threshold=0.2)


def test_suppression_keeps_the_best_of_overlapping_boxes_per_class() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30]], dtype=torch.float)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    labels = torch.tensor([0, 0, 1, 0])
    assert suppress(boxes, scores, labels) == [0, 2, 3]  # box 1 overlaps box 0 (IoU 0.81) in class 0


def test_uncertainty_is_highest_at_a_score_of_one_half() -> None:
    values = entropy(torch.tensor([0.5, 0.1, 0.9, 0.999]))
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(values[2]) and values[3] < 0.02


def test_proposals_are_never_labels_until_accepted(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    first, second = project.image_ids()
    bin_class = project.classes()[0]
    project.add_proposals(first, [Box(bin_class.id, 5, 5, 30, 30, score=0.8)], detector="tiny", uncertainty=0.3)
    project.add_proposals(second, [Box(bin_class.id, 1, 1, 9, 9, score=0.5)], detector="tiny", uncertainty=0.9)
    # Run again: the proposals are replaced, not added to.
    (box,) = project.add_proposals(first, [Box(bin_class.id, 6, 6, 30, 30, score=0.7)], detector="tiny",
                                   uncertainty=0.4)
    assert [b.x1 for b in project.boxes(first)] == [6] and box.origin == "auto" and box.detector == "tiny"
    assert project.get_image(first).status == "review"
    assert project.labelling_order() == [(second, 0.9), (first, 0.4)]
    # Nothing proposed is exported.
    project.set_status(first, "labelled")
    export_project(project, "yolo", tmp_path / "out")
    labels = list((tmp_path / "out" / "labels").rglob("*.txt"))
    assert labels and all(label.read_text().strip() == "" for label in labels)
    # Accepting makes labels; an image with none left becomes labelled.
    project.set_status(first, "review")
    assert project.accept_proposals(first) == 1
    (accepted,) = project.boxes(first)
    assert accepted.origin == "manual" and accepted.score == pytest.approx(0.7) and not accepted.needs_review
    assert project.get_image(first).status == "labelled"
    assert project.labelling_order() == [(second, 0.9)]


def test_autolabel_job_resumes_without_duplicates(tmp_path: Path) -> None:
    from sdaug.engine.manager import PipelineManager
    from sdaug.settings import Settings

    project = make_project(tmp_path / "p", n_images=5)
    manager = PipelineManager(Settings(home=tmp_path / "home", device="cpu"))
    spec = AutolabelSpec(detector="tiny", threshold=0.05, batch_size=2)
    job = create_autolabel_job(project, spec)
    seen = []
    progress = run_autolabel(project, job.id, manager, on_progress=lambda p: seen.append(p.done))
    assert (progress.done, progress.failed, progress.pending) == (5, 0, 0) and seen == [2, 4, 5]
    counts = {i: project.proposal_count(i) for i in project.image_ids()}
    assert sum(counts.values()) > 0
    # The same spec is the same job; running it again changes nothing.
    assert create_autolabel_job(project, spec).id == job.id
    run_autolabel(project, job.id, manager)
    assert {i: project.proposal_count(i) for i in project.image_ids()} == counts
    assert project.jobs("augment") == [] and [j.id for j in project.jobs("autolabel")] == [job.id]
    assert project.count_images(ImageFilter(status="review")) == sum(1 for c in counts.values() if c)


def test_cli_autolabel_with_the_tiny_detector(tmp_path: Path) -> None:
    make_project(tmp_path / "p", n_images=3).close()
    done = subprocess.run([sys.executable, "-m", "sdaug", "autolabel", "--project", str(tmp_path / "p"),
                           "--detector", "tiny", "--threshold", "0.05", "--home", str(tmp_path / "home")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 of 3 images done, 0 failed" in done.stdout and "label these first" in done.stdout
    again = subprocess.run([sys.executable, "-m", "sdaug", "autolabel", "--project", str(tmp_path / "p"),
                            "--detector", "tiny", "--threshold", "0.05", "--only-unlabelled",
                            "--home", str(tmp_path / "home")],
                           capture_output=True, text=True, timeout=300)
    assert "3 already done" in again.stdout  # --only-unlabelled (the spelling) is the default: same job


def test_autolabel_needs_classes(tmp_path: Path) -> None:
    project = Project.open(tmp_path / "p")
    with pytest.raises(ValueError, match="no classes"):
        create_autolabel_job(project, AutolabelSpec(detector="tiny"))
