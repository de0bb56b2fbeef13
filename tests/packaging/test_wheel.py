"""``pip install .`` (a wheel, not editable), used from another folder, finds everything it ships."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
from pathlib import Path
import sdaug
from sdaug.resources import package_path
from sdaug.augment.presets import load_presets

home = Path(sdaug.__file__).resolve().parent
assert str(home).startswith(sys.argv[1]), f"sdaug imported from {home}, not the wheel install"
names = {kind: sorted(p.name for p in load_presets(kind)) for kind in ("weather", "lighting")}
print(len(names["weather"]), len(names["lighting"]))
for parts in (("assets", "style.css"), ("assets", "diffusers-configs", "v1", "unet", "config.json"),
              ("assets", "diffusers-configs", "v1", "tokenizer", "vocab.json"),
              ("assets", "diffusers-configs", "controlnet-v1", "config.json"),
              ("assets", "sd15", "unet", "config.json"), ("presets", "README.md")):
    assert package_path(*parts).is_file(), parts
"""


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the sdaug wheel; its dependencies come from this environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(ROOT)],
                   check=True, timeout=300, capture_output=True)
    wheel = next((tmp / "dist").glob("sdaug-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=300, capture_output=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # The dependencies (torch, diffusers, ...) from this environment, after the wheel's own files.
    Path(site, "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv


def test_wheel_install_finds_presets_configs_and_css(wheel_venv: Path, tmp_path: Path) -> None:
    python = wheel_venv / "bin" / "python"
    done = subprocess.run([str(python), "-c", CHECK, str(wheel_venv)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    shipped = {kind: len(list((ROOT / "sdaug" / "presets" / kind).glob("*.toml"))) for kind in ("weather", "lighting")}
    assert done.stdout.split() == [str(shipped["weather"]), str(shipped["lighting"])]


def test_wheel_install_generates_from_another_folder(wheel_venv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run([str(wheel_venv / "bin" / "python"), "-m", "sdaug", "generate", "--model", "tiny",
                           "--prompt", "snowy street", "--steps", "2", "--width", "64", "--height", "64",
                           "--seed", "7", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.glob("*.png")] == ["00000-7.png"]
