"""The review queue says why the CLIP check flagged a box, in English and 中文, and shows both scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from sdaug.dataset.store import Box, Project
from sdaug.settings import Settings
from sdaug.ui import review
from sdaug.ui.context import AppContext


def flagged_variant(tmp_path: Path) -> tuple[Project, int]:
    project = Project.open(tmp_path / "p")
    bin_class, garbage = project.ensure_classes(["bin", "垃圾"])
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(photo)
    source = project.add_image(photo, boxes=[Box(bin_class.id, 2, 2, 30, 30), Box(garbage.id, 32, 8, 60, 40)]).record
    variant = Image.open(photo).rotate(180)
    boxes = [Box(bin_class.id, 2, 2, 30, 30, origin="carried", drift=0.9, needs_review=True, semantic=0.12,
                 semantic_note=json.dumps({"source": 0.8, "best": "垃圾", "rule": "best", "reason": "x"})),
             Box(garbage.id, 32, 8, 60, 40, origin="carried", drift=0.8, needs_review=True, semantic=0.1,
                 semantic_note=json.dumps({"source": 0.6, "best": "垃圾", "rule": "drop", "reason": "y"}))]
    record = project.add_variant(source.id, variant, preset="fog", seed=1, params="", boxes=boxes, status="review")
    return project, record.id


def test_review_info_says_why_in_both_languages(tmp_path: Path) -> None:
    project, variant_id = flagged_variant(tmp_path)
    ctx = AppContext(settings=Settings(home=tmp_path / "home"), model="tiny")
    ctx.add_translations(review.STRINGS)
    key, values = review.info(project, review.ReviewState(image_id=variant_id))
    assert values["why"] == [("rev.why.best", {"name": "bin", "other": "垃圾"}),
                             ("rev.why.drop", {"name": "垃圾", "before": "0.60", "after": "0.10"})]
    english = [ctx.tr(k, "en", **v) for k, v in values["why"]]
    assert english == ["the bin looks like 垃圾 now", "the 垃圾 is hard to recognise now (CLIP 0.60 → 0.10)"]
    chinese = [ctx.tr(k, "zh", **v) for k, v in values["why"]]
    assert chinese == ["bin现在看起来像垃圾", "垃圾现在难以辨认（CLIP 0.60 → 0.10）"]


def test_variant_panel_labels_show_drift_and_clip_scores(tmp_path: Path) -> None:
    project, variant_id = flagged_variant(tmp_path)
    _, shown = review.side_by_side(project, variant_id)
    assert [box["label"] for box in shown["boxes"]] == ["1 bin · 0.90 · CLIP 0.12", "2 垃圾 · 0.80 · CLIP 0.10"]
