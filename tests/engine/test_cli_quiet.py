"""The README's tiny-model commands as a user runs them (``sdaug`` in a subprocess): they use the
tiny model's own size and step count, and the terminal shows sdaug's output only; ``-v`` shows
the log and the libraries' notices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from sdaug.cli import build_parser
from sdaug.commands.generate import build_requests
from sdaug.engine.sources import TINY_SIZE, TINY_STEPS
from sdaug.prompts import parse_infotext, read_infotext

# Library chatter that must not reach the terminal at the default verbosity.
CHATTER = ("should be kept in float32", "[transformers]", "Warning", "warn(", "it/s]", "%|")
BENCH = ["bench", "--model", "tiny", "--workloads", "txt2img", "--batch-sizes", "1", "--repeats", "1",
         "--peak-tflops", "1", "--no-baseline"]
SDE_GENERATE = ["generate", "--model", "tiny", "--prompt", "snow", "--sampler", "DPM++ SDE", "--seed", "1", "--steps",
                "3"]


def sdaug(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DIFFUSERS_VERBOSITY", "TRANSFORMERS_VERBOSITY")}
    env.update(SDAUG_HOME=str(home), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "sdaug", *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def test_readme_generate_example_is_quick_and_quiet(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = sdaug("generate", "--model", "tiny", "--prompt", "snowy street, (heavy snowfall:1.2)", "--n", "2",
                 "--seed", "7", "--out", str(out), home=tmp_path / "home")

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    paths = [Path(line) for line in done.stdout.splitlines()]
    assert [path.name for path in paths] == ["00000-7.png", "00001-8.png"]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (TINY_SIZE, TINY_SIZE)
        params = parse_infotext(read_infotext(path))
        assert (params["Steps"], params["Size"]) == (str(TINY_STEPS), f"{TINY_SIZE}x{TINY_SIZE}")


def test_library_warnings_stay_off_the_terminal(tmp_path: Path) -> None:
    # torchsde (the DPM++ SDE sampler) warns about float rounding on every run.
    done = sdaug(*SDE_GENERATE, "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 1


def test_generate_flags_override_the_tiny_defaults(settings) -> None:
    args = build_parser().parse_args(["generate", "--model", "tiny", "--prompt", "fog", "--steps", "2", "--width",
                                      "40"])
    (request,) = build_requests(args, settings)
    assert (request.steps, request.width, request.height) == (2, 40, TINY_SIZE)
    other = build_parser().parse_args(["generate", "--model", "some/model", "--prompt", "fog"])
    (request,) = build_requests(other, settings)
    assert (request.steps, request.width, request.height) == (20, 512, 512)


def test_bench_on_the_tiny_model_is_quick_and_quiet(tmp_path: Path) -> None:
    # It printed diffusers' "modules that should be kept in float32: []" three times.
    report = tmp_path / "bench.json"
    done = sdaug(*BENCH, "--json", str(report), home=tmp_path / "home")

    assert done.returncode == 0, done.stderr
    assert not [word for word in CHATTER if word in done.stdout + done.stderr], done.stdout + done.stderr
    assert done.stderr == ""
    assert "compute floor" in done.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert (data["size"], data["steps"]) == (TINY_SIZE, TINY_STEPS)


@pytest.mark.slow
def test_verbose_shows_the_log_and_the_library_warnings(tmp_path: Path) -> None:
    done = sdaug("-v", *SDE_GENERATE, "--out", str(tmp_path / "out"), home=tmp_path / "home")

    assert done.returncode == 0, done.stderr
    assert "INFO sdaug." in done.stderr
    assert "WARNING py.warnings:" in done.stderr and "Should have ta>=t0" in done.stderr
