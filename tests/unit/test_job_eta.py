"""Issue 14 item 7: a job's ETA comes from measured per-item times, not from the time since the
start (which counts loading the model: the ETA was off several times on a CPU)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from sdaug.augment.jobs import JobSpec, JobStatus, create_job, runner_for
from sdaug.dataset.store import Box, Project

LOAD_S, PER_IMAGE_S = 1.0, 0.05


def test_eta_leaves_out_the_model_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sdaug.engine.run

    calls: list[int] = []

    def fake_engine(request: object, manager: object, on_progress: object = None, cancel: object = None) -> object:
        """The engine with a model that takes LOAD_S to load on the first call."""
        time.sleep((LOAD_S if not calls else 0) + PER_IMAGE_S * len(request.init_images))
        calls.append(len(request.init_images))
        images = [image.point(lambda v: 255 - v) for image in request.init_images]
        return SimpleNamespace(images=images, infotexts=["fake"] * len(images))

    monkeypatch.setattr(sdaug.engine.run, "run", fake_engine)
    project = Project.open(tmp_path / "project")
    person = project.add_class("person")
    for i in range(6):
        Image.new("RGB", (32, 32), (i * 40, 100, 50)).save(tmp_path / f"{i}.png")
        project.add_image(tmp_path / f"{i}.png", boxes=[Box(person.id, 4, 4, 20, 20)])
    job = create_job(project, JobSpec(presets=("fog",), variants=1, engine="diffusion", batch_size=1))
    runner = runner_for(project, job.id, manager=object())
    seen: list[JobStatus] = []
    runner.on_variant = lambda item, record, report: seen.append(runner.status())
    runner.run()
    assert len(seen) == 6
    third = seen[2]  # 2 batches measured: the first (with the load) is left out
    assert third.pending == 3
    assert third.eta_s == pytest.approx(3 * PER_IMAGE_S, abs=0.1)  # was 3 × (load + 2 images) / 2 ≈ 1.6 s
    assert 1 / third.images_per_s == pytest.approx(PER_IMAGE_S, abs=0.03)
