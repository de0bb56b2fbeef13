"""Jobs with label-safe variants: region strength from the preset, the CLIP check per box."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sdaug.augment import presets
from sdaug.augment.jobs import JobRunner, JobSpec, create_job
from sdaug.dataset.store import ImageFilter
from sdaug.prompts import parse_infotext
from sdaug.settings import Settings
from tests.engine.test_augment_jobs import make_project


@pytest.fixture
def safe_fog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The built-in fog preset with region strength (boxes 0.1, background 0.5)."""
    fog = replace(presets.get_preset("fog"), box_strength=0.1, background_strength=0.5, box_feather=4, steps=4)
    original = presets.get_preset
    monkeypatch.setattr("sdaug.augment.jobs.get_preset",
                        lambda name, settings=None: fog if name == "fog" else original(name, settings))


@pytest.mark.usefixtures("safe_fog")
@pytest.mark.parametrize("engine", ["classic", "diffusion"])
def test_region_strength_reaches_the_variants_infotext(tmp_path: Path, engine: str) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    settings = Settings(home=tmp_path / "home", device="cpu")
    job = create_job(project, JobSpec(presets=("fog",), engine=engine, model="tiny" if engine == "diffusion" else ""))
    status = JobRunner(project, job.id, settings=settings).run()
    assert (status.done, status.failed) == (2, 0)
    for record in project.list_images(where=ImageFilter(kind="variant")):
        params = parse_infotext(record.params)
        assert (params["Box strength"], params["Background strength"], params["Box feather"]) == ("0.1", "0.5", "4")


def test_semantic_check_scores_every_carried_box(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", n_images=2)
    bin_class = project.classes()[0]
    project.set_class_description(bin_class.id, "  green   wheelie bin ")
    assert project.get_class(bin_class.id).description == "green wheelie bin"
    settings = Settings(home=tmp_path / "home", device="cpu")
    job = create_job(project, JobSpec(presets=("haze",), engine="classic", semantic_model="tiny"))
    assert job.key != create_job(project, JobSpec(presets=("haze",), engine="classic")).key
    assert JobRunner(project, job.id, settings=settings).run().done == 2
    for record in project.list_images(where=ImageFilter(kind="variant")):
        boxes = project.boxes(record.id)
        assert len(boxes) == 2
        for box in boxes:
            note = json.loads(box.semantic_note)
            assert 0.0 <= box.semantic <= 1.0 and set(note) == {"source", "best", "rule", "reason"}
            assert box.needs_review == bool(note["reason"]) or box.drift < 0.45
        if any(json.loads(box.semantic_note)["reason"] for box in boxes):
            assert record.status == "review"


def test_semantic_check_flags_a_box_whose_class_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sdaug.engine.semantic import SemanticChecker, SemanticScore

    def verdicts(self, source, variant, boxes, classes, descriptions=None, max_drop=0.5):  # noqa: ANN001, ANN202
        return [SemanticScore(name, 0.8, 0.1, "garbage", name != "bin",
                              "the bin looks like garbage now" if name == "bin" else "") for name, _ in boxes]

    monkeypatch.setattr(SemanticChecker, "check", verdicts)
    project = make_project(tmp_path / "p", n_images=1)
    job = create_job(project, JobSpec(presets=("haze",), engine="classic", semantic_model="tiny"))
    JobRunner(project, job.id, settings=Settings(home=tmp_path / "home", device="cpu")).run()
    (variant,) = project.list_images(where=ImageFilter(kind="variant"))
    assert variant.status == "review"
    flagged = {project.get_class(b.class_id).name: json.loads(b.semantic_note)["reason"]
               for b in project.boxes(variant.id) if b.needs_review}
    assert flagged == {"bin": "the bin looks like garbage now"}
