"""Every string the built app shows, in both languages: no icon that needs an emoji font (they
render as empty boxes on machines without one), matching placeholders, Chinese in 中文 mode."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from sdaug.settings import Settings
from sdaug.ui import i18n
from sdaug.ui.app import build_app
from sdaug.ui.context import AppContext

# Emoji: the supplementary pictographs, the emoji presentation selector, and the few dingbats no
# text font has (➕ ➖ ➗ ✅ ❌ ❓ ❗).
EMOJI = re.compile("[\U0001f000-\U0001faff\ufe0f\u2795-\u2797\u2705\u274c\u2753\u2757]")


@pytest.fixture(scope="module")
def strings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    ctx = AppContext(settings=Settings(home=tmp_path_factory.mktemp("home")), model="tiny")
    build_app(ctx)
    return {**i18n.STRINGS, **ctx.extra_translations}


def test_no_text_needs_an_emoji_font(strings: dict[str, tuple[str, str]]) -> None:
    found = {key: text for key, pair in strings.items() for text in pair if EMOJI.search(text)}
    assert not found


def test_every_string_has_both_languages_with_the_same_placeholders(strings: dict[str, tuple[str, str]]) -> None:
    def names(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert not [key for key, (en, zh) in strings.items() if not en.strip() or not zh.strip() or names(en) != names(zh)]


def test_sources_use_no_emoji() -> None:
    """Markdown and labels built in code (not from the tables) too."""
    root = Path(__file__).resolve().parents[2] / "sdaug"
    found = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if EMOJI.search(line)]
    assert not found
