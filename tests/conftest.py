"""Fixtures shared by all tests.

- ``settings``: :class:`~sdaug.settings.Settings` whose data folder is a fresh ``tmp_path/home``
  (sub-folders created, CPU device); ``SDAUG_HOME`` points there too, so CLI calls and
  subprocesses started by the test use the same folder.
- ``manager``: a :class:`~sdaug.engine.manager.PipelineManager` on those settings. Requests use
  ``model="tiny"`` (the random tiny pipeline: 64x64, 2-4 steps take well under a second per
  image on a CPU). One manager per test, so LoRAs or loaded models never leak between tests.

torch is imported only by tests that use ``manager``, so pure tests stay fast. Tests run torch
with one CPU thread (``OMP_NUM_THREADS=1`` unless set): tiny models gain nothing from threads,
and on a busy 2-core machine OpenMP threads spinning against other processes made the tiny
pipeline ten times slower.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sdaug.settings import Settings

if TYPE_CHECKING:
    from sdaug.engine.manager import PipelineManager

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before any test imports torch


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    home = tmp_path / "home"
    monkeypatch.setenv("SDAUG_HOME", str(home))
    settings = Settings(home=home, device="cpu")
    settings.ensure_dirs()
    return settings


@pytest.fixture
def manager(settings: Settings) -> PipelineManager:
    from sdaug.engine.manager import PipelineManager

    return PipelineManager(settings)
