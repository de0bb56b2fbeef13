"""Fixtures shared by all tests.

- ``settings``: :class:`~sdaug.settings.Settings` whose data folder is a fresh ``tmp_path/home``
  (sub-folders created, CPU device); ``SDAUG_HOME`` points there too, so CLI calls and
  subprocesses started by the test use the same folder.
- ``manager``: a :class:`~sdaug.engine.manager.PipelineManager` on those settings. Requests use
  ``model="tiny"`` (the random tiny pipeline: 64x64, 2-4 steps take well under a second per
  image on a CPU). One manager per test, so LoRAs or loaded models never leak between tests.

- ``chinese_refusals``: every refusal the test provokes (a ``ValueError`` of the core caught by
  ``pytest.raises``, or any error the in-process CLI prints as its line; the fixture's value is
  the list of the latter) is also checked in 中文 when the test ends: a keyed message whose Chinese text has no English phrase of ours (see
  :func:`chinese_problems`). ``tests/hostile`` and ``tests/unit`` use it for every test.

torch is imported only by tests that use ``manager``, so pure tests stay fast. Tests run torch
with one CPU thread (``OMP_NUM_THREADS=1`` unless set): tiny models gain nothing from threads,
and on a busy 2-core machine OpenMP threads spinning against other processes made the tiny
pipeline ten times slower.
"""

from __future__ import annotations

import contextlib
import os
import re
import string
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sdaug import errors
from sdaug.error_messages import ZH_WORDS
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


# Refusals in Chinese -------------------------------------------------------------------------------
# The modules whose refusals are keyed messages with a Chinese text (issue 14, "Complete Chinese").
KEYED_MODULES = ("sdaug/dataset/", "sdaug/augment/", "sdaug/autolabel/", "sdaug/prompts/", "sdaug/settings.py",
                 "sdaug/limits.py", "sdaug/engine/request.py", "sdaug/engine/sources.py", "sdaug/engine/samplers.py",
                 "sdaug/engine/region.py", "sdaug/engine/control.py", "sdaug/engine/conditioning.py",
                 "sdaug/engine/manager.py", "sdaug/engine/prompt_encoder.py", "sdaug/engine/finetune.py")
# Developer-only checks: plain ValueErrors no input of a user reaches (a programming error in a
# caller, an internal invariant), so they have no Chinese text. (module, start of the message)
DEVELOPER_CHECKS = (
    # The caller passes a wrong type: a programming error.
    ("sdaug/augment/classic.py", "preset must be a Preset or a [classic] table"),
    # Drift scores get crops and boxes that the store has clamped to the image already.
    ("sdaug/augment/drift.py", "the two crops differ in shape"),
    ("sdaug/augment/drift.py", "the crop is empty"),
    ("sdaug/augment/drift.py", "a box must be (x0, y0, x1, y1) in pixels"),
    ("sdaug/augment/drift.py", "box "),
    # Request overrides come from sdaug's own code (jobs, previews), never from a form.
    ("sdaug/augment/presets.py", "GenerationRequest has no field"),
    # Job keys are made by sdaug (a hash of the job's settings).
    ("sdaug/dataset/job_store.py", "a job needs a non-empty key"),
    # Proposals are stored by the auto-label job, which always names its detector.
    ("sdaug/dataset/proposals.py", "proposals need the name of the detector"),
    # Paging and box field names are chosen by sdaug's code, not typed.
    ("sdaug/dataset/store.py", "offset and limit must be 0 or more"),
    ("sdaug/dataset/store.py", "unknown box fields"),
    # Step counts and pipeline modes come from a GenerationRequest, checked before (engine.request).
    ("sdaug/prompts/schedule.py", "steps must be a whole number of at least 1"),
    ("sdaug/engine/conditioning.py", "steps must be at least 1"),
    ("sdaug/engine/manager.py", "mode must be one of"),
    # The prompt cache's size is set by sdaug's code.
    ("sdaug/engine/prompt_encoder.py", "max_entries must be at least 1"),
    # The detector's loader and epochs come from sdaug.autolabel.train, which checked the TrainSpec.
    ("sdaug/engine/finetune.py", "cannot load "),
    ("sdaug/engine/finetune.py", "epochs must be from 1 to 10000"),
    # An internal invariant of the denoising loop (what the UNet returned).
    ("sdaug/engine/conditioning.py", "the model got "),
)
# A word of ours in a placeholder (errors.WORD_PLACEHOLDERS: a field name, a status, a split)
# must be translated in Chinese (ZH_WORDS) unless it is an option or file key the user types.
_OPTION_LIKE = re.compile(r"[_\[\]=./\\:()0-9'\"-]|^[A-Z0-9 ]*$|^[A-Z]+[a-z]*$")
# Three or more English words in a row (what a person who reads only Chinese cannot act on).
_ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){2,}")
_NAMES = ("Hugging Face ID", "Stable Diffusion")  # proper names, kept in English on purpose


def chinese_problems(exc: BaseException) -> list[str]:
    """What a person reading only Chinese would miss in ``exc``'s message: an unkeyed message
    (shown as its English text), a Chinese text with an English phrase of ours, or one of our
    words (a field name, a status) left in English. The values that come from elsewhere (file
    names, an OS or library reason, the user's own text) are not checked."""
    if isinstance(exc, errors.KeyedError):
        return []  # the UI shows it by its translation key (sdaug.ui tables)
    key, values = errors.explain(exc)
    if key == "error.plain" and (_developer_check(exc) or isinstance(exc, errors.InputError)):
        return []  # a developer check, or the message table's own fallback
    if key == "error.plain":
        return [f"no Chinese text (an unkeyed ValueError): {exc}"]
    return _message_problems(key, values)


def _message_problems(key: str, values: dict[str, object]) -> list[str]:
    zh = errors.MESSAGES[key][1]
    problems = []
    literal = "".join(text for text, *_ in string.Formatter().parse(zh))
    literal = re.sub(r"`[^`]*`|'[^']*'", " ", literal)
    for name in _NAMES:
        literal = literal.replace(name, " ")
    if re.search("[A-Za-z]", literal) and not re.search("[\u4e00-\u9fff]", literal):  # "{where}：{message}" is fine
        problems.append(f"{key}: the Chinese text has no Chinese")
    problems += [f"{key}: English in the Chinese text: {run!r}" for run in _ENGLISH_RUN.findall(literal)]
    quoted = {name for _, name, _, conversion in string.Formatter().parse(zh) if conversion == "r"}
    for name, value in values.items():
        if isinstance(value, errors.InputError | errors.Phrase):
            problems += _message_problems(value.key, dict(value.values))
        elif name in errors.WORD_PLACEHOLDERS and name not in quoted and name != "format":
            words = value if isinstance(value, list | tuple) else [value]
            problems += [f"{key}: {name}={word!r} is not translated" for word in words
                         if isinstance(word, str) and word not in ZH_WORDS and not _OPTION_LIKE.search(word)
                         and (name not in ("where", "member") or " " in word)]  # a bare name is the user's
    return problems


def _developer_check(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    where = frames[-1].filename.replace(os.sep, "/") if frames else ""
    return any(where.endswith(module) and str(exc).startswith(start) for module, start in DEVELOPER_CHECKS)


def _raised_in_keyed_module(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and any(part in frames[-1].filename.replace(os.sep, "/") for part in KEYED_MODULES)


@pytest.fixture
def developer_checks() -> tuple[tuple[str, str], ...]:
    return DEVELOPER_CHECKS


@pytest.fixture
def keyed_modules() -> tuple[str, ...]:
    return KEYED_MODULES


@pytest.fixture(name="chinese_problems")
def _chinese_problems_fixture():
    return chinese_problems


@pytest.fixture
def chinese_refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[BaseException]]:
    """Record the refusals a test provokes (see the module docstring); check them at its end."""
    seen: list[BaseException] = []  # caught by pytest.raises: checked when raised by KEYED_MODULES
    lines: list[BaseException] = []  # shown as the CLI's error line: always checked
    real_raises = pytest.raises

    @contextlib.contextmanager
    def _recording(expected: object, **kwargs: object) -> Iterator[pytest.ExceptionInfo]:
        with real_raises(expected, **kwargs) as info:
            yield info
        seen.append(info.value)

    def raises(expected: object, *args: object, **kwargs: object) -> object:
        if args:  # pytest.raises(E, function, *args): the call form
            return real_raises(expected, *args, **kwargs)
        return _recording(expected, **kwargs)

    def describing(module: str) -> None:
        real = errors.describe

        def describe(exc: BaseException, lang: str = "en", where: str | None = None) -> str:
            lines.append(exc)
            return real(exc, lang, where)

        monkeypatch.setattr(f"{module}.describe", describe)

    monkeypatch.setattr(pytest, "raises", raises)
    for module in ("sdaug.cli", "sdaug.augment.jobs"):
        describing(module)
    yield lines
    checked = lines + [exc for exc in seen if isinstance(exc, ValueError) and _raised_in_keyed_module(exc)]
    problems = [problem for exc in checked for problem in chinese_problems(exc)]
    assert not problems, "\n".join(problems)
