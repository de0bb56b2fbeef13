"""The CLI's --project: a name is the project the app lists; a path is that folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdaug.cli import main
from sdaug.dataset.projects import project_folder

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample_dataset"


def test_a_name_is_a_project_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    assert main(["import", "--project", "bins", "--home", str(home), "--format", "yolo", str(SAMPLE)]) == 0
    assert (home / "projects" / "bins" / "project.sqlite").is_file()
    assert not (tmp_path / "bins").exists()  # not made in the working folder
    capsys.readouterr()
    assert main(["stats", "--project", "bins", "--home", str(home)]) == 0
    assert "total: images" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["./bins", "sub/bins", "~/bins"])
def test_a_path_is_that_folder(tmp_path: Path, value: str) -> None:
    assert project_folder(value, tmp_path / "home") == Path(value).expanduser()


def test_a_bad_name_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="contains ':'"):
        project_folder("a:b", tmp_path)
