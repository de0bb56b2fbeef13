"""``sdaug generate`` and ``sdaug info`` end to end with the tiny model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from sdaug.cli import build_parser, main
from sdaug.commands.generate import build_requests
from sdaug.prompts import parse_infotext, read_infotext

ARGS = ["generate", "--model", "tiny", "--prompt", "snowy street", "--n", "2", "--seed", "7", "--steps", "2",
        "--width", "64", "--height", "64"]


def written(output: str) -> list[Path]:
    return [Path(line) for line in output.splitlines() if line.strip()]


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_generate_writes_pngs_with_seeds_and_repeats(settings, tmp_path, capsys) -> None:
    assert main([*ARGS, "--out", str(tmp_path / "a")]) == 0
    first = written(capsys.readouterr().out)
    assert [p.name for p in first] == ["00000-7.png", "00001-8.png"]
    params = [parse_infotext(read_infotext(p)) for p in first]
    assert [p["Seed"] for p in params] == ["7", "8"]
    assert params[0]["Prompt"] == "snowy street" and params[0]["Size"] == "64x64"

    # The same command again, in a subprocess this time: identical pixels.
    env = {**os.environ, "SDAUG_HOME": str(settings.home)}
    done = subprocess.run([sys.executable, "-m", "sdaug", *ARGS, "--out", str(tmp_path / "b")], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    second = written(done.stdout)
    assert [p.name for p in second] == ["00000-7.png", "00001-8.png"]
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(pixels(a), pixels(b))

    # Never overwrites: a third run into the first folder takes the next numbers.
    assert main([*ARGS, "--n", "1", "--out", str(tmp_path / "a")]) == 0
    assert written(capsys.readouterr().out)[0].name == "00002-7.png"


def test_generate_n_not_a_multiple_of_the_batch_size(settings, tmp_path, capsys) -> None:
    assert main([*ARGS, "--n", "3", "--batch-size", "2", "--out", str(tmp_path)]) == 0
    paths = written(capsys.readouterr().out)
    assert [parse_infotext(read_infotext(p))["Seed"] for p in paths] == ["7", "8", "9"]


def test_generate_img2img_controlnet_and_infotext(settings, tmp_path, capsys) -> None:
    source = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (44, 60, 3), dtype=np.uint8)).save(source)
    assert main([*ARGS, "--n", "1", "--init", str(source), "--strength", "0.5", "--control", "canny",
                 "--width", "60", "--height", "44", "--out", str(tmp_path / "c")]) == 0
    [path] = written(capsys.readouterr().out)
    params = parse_infotext(read_infotext(path))
    assert params["Denoising strength"] == "0.5" and "Module: canny" in params["ControlNet 0"]
    assert Image.open(path).size == (60, 44)

    # --infotext starts from that image's parameters; flags override.
    assert main(["generate", "--model", "tiny", "--infotext", str(path), "--seed", "11", "--out",
                 str(tmp_path / "d")]) == 0
    [again] = written(capsys.readouterr().out)
    params = parse_infotext(read_infotext(again))
    assert params["Seed"] == "11" and params["Steps"] == "2" and params["Size"] == "60x44"


def test_bad_input_is_a_message_not_a_traceback(settings, tmp_path, capsys) -> None:
    assert main(["generate", "--model", "tiny", "--out", str(tmp_path)]) == 1
    assert "give --prompt" in capsys.readouterr().err
    assert main([*ARGS, "--sampler", "Eulerr", "--out", str(tmp_path)]) == 1
    assert "unknown sampler 'Eulerr'" in capsys.readouterr().err
    assert main([*ARGS, "--init", str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 1
    assert "--init: file not found" in capsys.readouterr().err


def test_info_prints_the_infotext_or_exits_1(settings, tmp_path, capsys) -> None:
    assert main([*ARGS, "--n", "1", "--out", str(tmp_path)]) == 0
    [path] = written(capsys.readouterr().out)
    assert main(["info", str(path)]) == 0
    assert capsys.readouterr().out.startswith("snowy street\nSteps: 2, Sampler: DPM++ 2M")
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert main(["info", str(plain)]) == 1
    assert "has no generation parameters" in capsys.readouterr().err


def test_infotext_model_warning_is_dropped_when_model_is_given(settings, tmp_path, capsys) -> None:
    text = tmp_path / "params.txt"
    text.write_text("a bin\nSteps: 2, Seed: 3, Size: 64x64, Model: notHereV1", encoding="utf-8")
    [request] = build_requests(build_parser().parse_args(["generate", "--infotext", str(text), "--model", "tiny"]),
                               settings)
    assert request.model == "tiny" and "default model" not in capsys.readouterr().err
    [request] = build_requests(build_parser().parse_args(["generate", "--infotext", str(text)]), settings)
    assert request.model == "" and "'notHereV1'" in capsys.readouterr().err


def test_generate_rng_nv_writes_the_source_and_reproduces_from_the_image(settings, tmp_path) -> None:
    """Issue 13 item 7 from the command line: --rng NV is written as RNG: NV, and the image's own
    infotext makes the same pixels again."""
    env = {**os.environ, "SDAUG_HOME": str(settings.home)}
    args = ["generate", "--model", "tiny", "--prompt", "snowy street", "--seed", "712934690", "--steps", "2",
            "--width", "64", "--height", "64", "--sampler", "Euler a"]
    made = subprocess.run([sys.executable, "-m", "sdaug", *args, "--rng", "NV", "--out", str(tmp_path / "a")],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert made.returncode == 0, made.stderr
    [first] = written(made.stdout)
    assert parse_infotext(read_infotext(first))["RNG"] == "NV"
    assert main(["generate", "--infotext", str(first), "--out", str(tmp_path / "b")]) == 0
    again = next((tmp_path / "b").glob("*.png"))
    assert np.array_equal(pixels(first), pixels(again))
    assert build_parser().parse_args([*args, "--rng", "CPU"]).rng == "CPU"
