"""save_images: numbered PNGs with infotext, never overwriting, no temporary files left."""

from __future__ import annotations

from PIL import Image

from sdaug.engine.output import save_images
from sdaug.engine.request import Result
from sdaug.prompts import read_infotext


def result(seeds: list[int]) -> Result:
    return Result(images=[Image.new("RGB", (8, 8), (s, 0, 0)) for s in seeds], seeds=seeds,
                  infotexts=[f"a street\nSteps: 2, Seed: {s}, Size: 8x8" for s in seeds])


def test_numbered_names_infotext_and_no_overwrite(tmp_path) -> None:
    out = tmp_path / "out"
    first = save_images(result([7, 8]), out)
    assert [p.name for p in first] == ["00000-7.png", "00001-8.png"]
    assert read_infotext(first[1]) == "a street\nSteps: 2, Seed: 8, Size: 8x8"
    (out / "00005-1.png").write_bytes(b"someone else's")
    second = save_images(result([7]), out)
    assert [p.name for p in second] == ["00006-7.png"]
    assert (out / "00005-1.png").read_bytes() == b"someone else's"
    assert sorted(p.name for p in out.iterdir()) == ["00000-7.png", "00001-8.png", "00005-1.png", "00006-7.png"]


def test_a_name_taken_meanwhile_is_skipped(tmp_path, monkeypatch) -> None:
    import sdaug.engine.output as output

    monkeypatch.setattr(output, "_next_number", lambda out_dir: 0)
    (tmp_path / "00000-3.png").write_bytes(b"taken")
    [path] = save_images(result([3]), tmp_path)
    assert path.name == "00001-3.png"
    assert (tmp_path / "00000-3.png").read_bytes() == b"taken"
