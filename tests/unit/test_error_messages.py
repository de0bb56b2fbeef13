"""Every refusal of the core has an English and a Chinese text (issue 14, "Complete Chinese").

- The message table: both languages name the same placeholders, both format with any values,
  and the Chinese text is Chinese (no English phrase of ours, see ``chinese_problems``).
- No module whose refusals reach a user raises a ``ValueError`` with a bare English text: an
  AST scan finds every ``raise ValueError("...")`` there, and each must be on the commented list
  of developer-only checks (``DEVELOPER_CHECKS`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from sdaug import errors

ROOT = Path(__file__).resolve().parents[2]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name} - {"option_upper"}


@pytest.mark.parametrize("key", sorted(errors.MESSAGES))
def test_message_has_the_same_placeholders_in_both_languages_and_formats(key, chinese_problems):
    en, zh = errors.MESSAGES[key]
    assert _fields(en) == _fields(zh)
    dummy = {name: 7 for name in _fields(en)}
    for lang in ("en", "zh"):
        assert errors.render(key, dummy, lang).strip()
    assert not chinese_problems(errors.InputError(key, **dummy))


def test_a_chinese_message_translates_our_words_but_not_the_users():
    error = errors.InputError("value.choice", field="split", allowed="train, val, test", value="train")
    assert str(error) == "split must be one of train, val, test, got 'train'"
    assert errors.describe(error, "zh") == "数据划分必须是 train, val, test 之一，当前为 'train'。"
    nested = errors.InputError("error.in_file", where="fog.toml", error=errors.InputError("preset.empty", setting="prompt"))
    assert errors.describe(nested, "zh") == "文件 fog.toml 有误：prompt 不能为空。"
    option = errors.InputError("value.whole", field="SDAUG_MAX_CLASSES", value="lots")
    assert errors.describe(option, "zh") == "SDAUG_MAX_CLASSES 必须是整数，当前为 'lots'。"
    photo = errors.InputError("image.unreadable", where="街道1.jpg", reason="truncated")
    assert errors.describe(photo, "zh") == "街道1.jpg：不是可读取的图片（truncated）。"  # a file name stays as it is
    counts = errors.InputError("export.nothing", counts={"unlabelled": 3, "review": 1})
    assert "3 unlabelled, 1 review" in str(counts) and "未标注 3、待审核 1" in errors.describe(counts, "zh")


def _literal_start(node: ast.expr) -> str | None:
    """The text a ``raise ValueError(<literal>)`` starts with, up to its first placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        start = ""
        for part in node.values:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                break
            start += part.value
        return start
    return None


def _bare_refusals(keyed_modules: tuple[str, ...]) -> list[tuple[str, int, str]]:
    files = sorted({path for module in keyed_modules
                    for path in ([ROOT / module] if module.endswith(".py") else (ROOT / module).rglob("*.py"))})
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "ValueError" \
                    and call.args and (start := _literal_start(call.args[0])) is not None:
                found.append((path.relative_to(ROOT).as_posix(), node.lineno, start))
    return found


def test_no_bare_english_refusal_outside_the_developer_checks(keyed_modules, developer_checks):
    found = _bare_refusals(keyed_modules)
    assert found, "the scan found no raise at all: is it looking at the right files?"
    bare = [f"{path}:{line}: raise ValueError({start!r}...)" for path, line, start in found
            if not any(path == module and start.startswith(prefix) for module, prefix in developer_checks)]
    assert not bare, "refusals a user can meet need InputError(key, ...) with a Chinese text:\n" + "\n".join(bare)
    stale = [check for check in developer_checks
             if not any(path == check[0] and start.startswith(check[1]) for path, _, start in found)]
    assert not stale, f"developer checks that no longer exist: {stale}"


def test_the_scan_finds_a_bare_refusal(tmp_path, monkeypatch):
    """The scan itself works: a module with a bare refusal is found."""
    (tmp_path / "bad.py").write_text('def f(x):\n    raise ValueError(f"x is {x}, which is wrong")\n')
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _bare_refusals(("bad.py",)) == [("bad.py", 2, "x is ")]


def test_no_message_key_is_in_two_parts_of_the_table() -> None:
    from sdaug.error_messages import dataset, general, generation

    parts = (general.MESSAGES, dataset.MESSAGES, generation.MESSAGES)
    assert len(errors.MESSAGES) == sum(map(len, parts))
