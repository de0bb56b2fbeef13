"""Values the tests take from the spec beside the checkout (``../shared/spec``), not from our code.

A test module that imports this is skipped when the spec is not there (a checkout on its own).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"


def _read(name: str) -> str:
    path = SPEC / name
    if not path.is_file():
        pytest.skip(f"needs {path} (the shared spec beside the checkout)", allow_module_level=True)
    return path.read_text(encoding="utf-8")


def _example_infotext() -> str:
    """The infotext of "Example from a real weather-augmentation run" in prompt-syntax.md."""
    text = _read("prompt-syntax.md")
    found = re.search(r"Example from a real weather-augmentation run.*?\n```\n(.*?)\n```", text, re.S)
    assert found, "prompt-syntax.md has no example infotext block"
    return found.group(1)


SPEC_EXAMPLE = _example_infotext()
