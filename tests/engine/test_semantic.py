"""The CLIP box check with the tiny random-weight CLIP (and a saved copy loaded like a real one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sdaug.engine.semantic import SemanticChecker, SemanticScore, tiny_clip, tiny_clip_processor
from sdaug.engine.tiny import tiny_tokenizer

CLASSES = ["bin not full", "bin overflowing", "garbage"]
BOX = (10.0, 10.0, 50.0, 50.0)


@pytest.fixture
def checker() -> SemanticChecker:
    return SemanticChecker(tiny_clip(), tiny_tokenizer(), tiny_clip_processor(), "tiny")


@pytest.fixture
def photo() -> Image.Image:
    rng = np.random.default_rng(2)
    return Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((64, 64))


def test_unchanged_crop_passes_with_equal_scores(checker: SemanticChecker, photo: Image.Image) -> None:
    (score,) = checker.check(photo, photo.copy(), [("garbage", BOX)], CLASSES)
    assert score.passed and score.reason == ""
    assert score.source_score == pytest.approx(score.variant_score)
    assert 0.0 < score.source_score < 1.0


# Class probabilities of the source and variant crops ([3 classes, background]) -> the verdict of the
# module docstring's two rules, for a box of class "bin not full" and max_drop 0.5.
VERDICTS = [
    ([0.7, 0.2, 0.05, 0.05], [0.2, 0.1, 0.65, 0.05], "the bin not full looks like garbage now"),
    ([0.7, 0.2, 0.05, 0.05], [0.2, 0.1, 0.05, 0.65], "the bin not full looks like background now"),
    ([0.3, 0.25, 0.25, 0.2], [0.1, 0.05, 0.05, 0.05], "the bin not full is hard to recognise now: 0.30 -> 0.10"),
    ([0.6, 0.2, 0.1, 0.1], [0.5, 0.2, 0.2, 0.1], ""),  # fell by a sixth: passes
    ([0.1, 0.6, 0.2, 0.1], [0.08, 0.1, 0.8, 0.02], ""),  # never the best match, fell by a fifth: passes
    ([0.1, 0.6, 0.2, 0.1], [0.04, 0.1, 0.8, 0.06], "the bin not full is hard to recognise now: 0.10 -> 0.04"),
]


@pytest.mark.parametrize(("before", "after", "reason"), VERDICTS)
def test_verdicts_follow_the_rules(checker: SemanticChecker, photo: Image.Image, monkeypatch,
                                   before: list[float], after: list[float], reason: str) -> None:
    monkeypatch.setattr(checker, "_probabilities", lambda crops, names, descriptions: torch.tensor([before, after]))
    (score,) = checker.check(photo, photo, [("bin not full", BOX)], CLASSES, max_drop=0.5)
    assert (score.passed, score.reason) == (not reason, reason)
    assert score.rule == ("best" if "looks like" in reason else "drop" if reason else "")
    assert (score.source_score, score.variant_score) == pytest.approx((before[0], after[0]))


def test_bad_inputs_are_refused(checker: SemanticChecker, photo: Image.Image) -> None:
    with pytest.raises(ValueError, match="'cat' is not one of the classes"):
        checker.check(photo, photo, [("cat", BOX)], CLASSES)
    with pytest.raises(ValueError, match="max_drop must be from 0 to 1"):
        checker.check(photo, photo, [("garbage", BOX)], CLASSES, max_drop=2)
    assert checker.check(photo, photo, [], CLASSES) == []


def test_a_saved_clip_folder_loads_like_a_real_model(tmp_path, manager, photo: Image.Image) -> None:
    folder = manager.settings.models_dir / "my-clip"
    tiny_clip().save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    tiny_clip_processor().save_pretrained(folder)
    loaded = SemanticChecker.load("my-clip", manager)
    assert loaded is SemanticChecker.load(str(folder), manager)  # one copy in the manager's cache
    reference = SemanticChecker(tiny_clip(), tiny_tokenizer(), tiny_clip_processor(), "tiny")
    variant = photo.rotate(90)
    got = loaded.check(photo, variant, [("garbage", BOX)], CLASSES)
    want = reference.check(photo, variant, [("garbage", BOX)], CLASSES)
    assert [s.variant_score for s in got] == pytest.approx([s.variant_score for s in want], abs=1e-5)
    assert isinstance(got[0], SemanticScore)


def test_missing_hub_model_offline_says_how_to_get_it(manager, monkeypatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match="hf download openai/clip-vit-base-patch32.*HF_ENDPOINT"):
        SemanticChecker.load("openai/clip-vit-base-patch32", manager)
