"""Project statistics: counts, histogram, conditions, tiny boxes, table rows and the CLI."""

from __future__ import annotations

import pytest
from PIL import Image

from sdaug.cli import main
from sdaug.dataset.stats import project_stats
from sdaug.dataset.store import Box, Project


@pytest.fixture
def project(tmp_path):
    with Project.open(tmp_path / "proj") as p:
        a, b = p.ensure_classes(["bin", "garbage"])
        ids = []
        for i, split in enumerate(("train", "train", "val")):
            path = tmp_path / f"{i}.png"
            Image.new("RGB", (200, 100), (i, 0, 0)).save(path)
            ids.append(p.add_image(path, split=split).record.id)
        p.set_boxes(ids[0], [Box(a.id, 0, 0, 50, 50), Box(b.id, 10, 10, 14, 60), Box(b.id, 60, 60, 90, 90)])
        p.set_boxes(ids[1], [Box(a.id, 0, 0, 100, 100)])
        p.add_variant(ids[1], Image.new("RGB", (200, 100), "white"), preset="fog", seed=1, params="fog",
                      boxes=p.boxes(ids[1]), status="review", condition="weather/fog")
        yield p


def test_counts_and_histogram(project):
    stats = project_stats(project)
    assert (stats.images, stats.boxes) == (4, 5)
    assert stats.per_split == {"train": 3, "val": 1, "test": 0}
    assert stats.per_status == {"unlabelled": 1, "labelled": 2, "review": 1, "reviewed": 0, "rejected": 0}
    assert stats.per_class == {"bin": (3, 3), "garbage": (2, 1)}
    assert stats.per_condition == {"original": 3, "weather/fog": 1}
    assert stats.boxes_per_image["0"] == 1 and stats.boxes_per_image["1"] == 2 and stats.boxes_per_image["3"] == 1
    assert sum(stats.boxes_per_image.values()) == 4


def test_tiny_boxes_and_rows(project):
    stats = project_stats(project)
    assert stats.tiny_boxes == 1
    tiny = stats.tiny_examples[0]
    assert (tiny.class_name, tiny.width, tiny.height) == ("garbage", 4, 50)
    rows = stats.as_rows()
    assert ("split", "val", 1) in rows and ("class boxes", "garbage", 2) in rows
    assert rows[-1][0] == "warning" and rows[-1][2] == 1


def test_cli_stats(project, capsys):
    assert main(["stats", "--project", str(project.folder)]) == 0
    out = capsys.readouterr().out
    assert "condition: weather/fog" in out and "tiny box" in out
