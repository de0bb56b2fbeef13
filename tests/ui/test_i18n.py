"""English and 简体中文: every string in both languages, placeholders that match, translated core
messages, and the language of a request."""

from __future__ import annotations

import re
import string
from types import SimpleNamespace

import pytest

from sdaug.engine.request import GenerationRequest
from sdaug.ui import i18n

CJK = re.compile(r"[\u4e00-\u9fff]")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.STRINGS))
def test_every_string_has_both_languages(key: str) -> None:
    en, zh = i18n.STRINGS[key]
    assert en.strip() and zh.strip()
    assert placeholders(en) == placeholders(zh)


def test_chinese_strings_are_chinese() -> None:
    # Names that read the same in both languages are the only exceptions.
    same = {key for key, (en, zh) in i18n.STRINGS.items() if en == zh}
    assert same <= {"set.loras", "lang.en", "lang.zh"}
    untranslated = [key for key, (_, zh) in i18n.STRINGS.items() if key not in same and not CJK.search(zh)]
    assert not untranslated


@pytest.mark.parametrize(("request_kwargs", "message", "english", "chinese"), [
    ({"steps": 0}, "steps must be from 1 to 150, got 0", "Steps must be from 1 to 150; got 0.",
     "步数必须在 1 到 150 之间，当前为 0。"),
    ({"steps": 2.5}, "steps must be a whole number from 1 to 150, got 2.5",
     "Steps must be a whole number from 1 to 150; got 2.5.", "步数必须是 1 到 150 之间的整数，当前为 2.5。"),
    ({"cfg_scale": "x"}, "cfg_scale must be a number, got 'x'", "CFG scale must be a number; got 'x'.",
     "CFG 引导强度必须是数字，当前为 'x'。"),
])
def test_request_errors_are_translated(request_kwargs: dict, message: str, english: str, chinese: str) -> None:
    with pytest.raises(ValueError) as raised:
        GenerationRequest(**request_kwargs).validate()
    assert str(raised.value) == message
    assert i18n.translate_error(message, "en") == english
    assert i18n.translate_error(message, "zh") == chinese


def test_other_errors_keep_their_text() -> None:
    assert i18n.translate_error("LoRA 'x' not found", "en") == "LoRA 'x' not found"
    assert i18n.translate_error("LoRA 'x' not found", "zh") == "出错了：LoRA 'x' not found"


def test_engine_phases_are_translated() -> None:
    assert i18n.translate_phase("loading model tiny …", "zh") == "正在加载模型 tiny …"
    assert i18n.translate_phase("out of GPU memory: retrying with batch size 2", "zh") == "显存不足：改为每批 2 张重试"
    assert i18n.translate_phase("loading model tiny …", "en") == "loading model tiny …"
    assert i18n.translate_phase("something new", "zh") == "something new"


@pytest.mark.parametrize(("cookies", "headers", "expected"), [
    ({"sdaug_lang": "zh-CN"}, {"accept-language": "en-US"}, "zh"),
    ({"sdaug_lang": "en"}, {"accept-language": "zh-CN,zh;q=0.9"}, "en"),
    ({}, {"accept-language": "zh-TW,zh;q=0.9"}, "zh"),
    ({}, {"accept-language": "fr-FR,fr;q=0.9"}, "en"),
    ({}, {}, "zh"),  # the default
])
def test_request_language(cookies: dict, headers: dict, expected: str) -> None:
    request = SimpleNamespace(cookies=cookies, headers=headers)
    assert i18n.request_lang(request, default="zh") == expected  # type: ignore[arg-type]
    assert i18n.request_lang(None, default="en") == "en"


def test_gradio_translations_cover_both_locales() -> None:
    table = i18n.build_i18n({"preset.weather.x": ("Rain", "雨")}).translations_dict
    assert table["en"]["tab.generate"] == "Generate" and table["zh-CN"]["tab.generate"] == "生成"
    assert table["zh"]["preset.weather.x"] == "雨"
    with pytest.raises(KeyError, match="no translation"):
        i18n.label("no.such.key")
