"""The installed environment matches what the project declares.

A fresh machine resolves today's releases; these tests fail when an install drifts from the
tested bounds in ``pyproject.toml`` or from the exact set in ``constraints.txt``, and when the
README's commands and CI stop being the same commands.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def _declared(extras: tuple[str, ...] = ("test", "interop")) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[_normal(name)] = pinned
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _release(text: str) -> Version:
    """A version without its local label (torch's ``+cpu``)."""
    return Version(Version(text).public)


def test_installed_versions_satisfy_the_declared_bounds() -> None:
    wrong = []
    for req in _declared():
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            wrong.append(f"{req.name}: not installed (declared {req.specifier})")
            continue
        if not req.specifier.contains(_release(installed), prereleases=True):
            wrong.append(f"{req.name} {installed} is outside the declared {req.specifier}")
    assert not wrong, "\n".join(wrong)


def test_constraints_pin_every_declared_package_inside_its_bounds() -> None:
    pins = _constraints()
    for req in _declared():
        if req.marker is not None and not req.marker.evaluate():
            continue
        assert _normal(req.name) in pins, f"{req.name} has no pin in constraints.txt"
        assert req.specifier.contains(_release(pins[_normal(req.name)]), prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[_normal(req.name)]}, outside {req.specifier}")


def test_installed_declared_packages_are_the_pinned_ones() -> None:
    """An install made with the README's commands has exactly the tested versions."""
    pins = _constraints()
    drift = [f"{req.name}: installed {version(req.name)}, constraints.txt pins {pins[_normal(req.name)]}"
             for req in _declared()
             if (req.marker is None or req.marker.evaluate())
             and _release(version(req.name)) != _release(pins[_normal(req.name)])]
    assert not drift, "install with: pip install -c constraints.txt -e '.[test,interop]'\n" + "\n".join(drift)


def test_pip_check_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "README.md must open with a bash block of the two commands"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_the_install_and_the_test_command() -> None:
    install, test = _readme_commands()
    assert "constraints.txt" in install and "python app.py" in install
    assert "constraints.txt" in test and "python -m pytest" in test


def test_ci_runs_the_readme_test_command_in_a_fresh_venv() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    _, test = _readme_commands()
    assert test in ci, "the README's test command must appear in .ci/run as it is"
    fresh = ci.index("rm -rf .venv")
    assert fresh < ci.index(test), ".ci/run must remove any old .venv before the README's command"



def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "sdaug", "tests", "app.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
