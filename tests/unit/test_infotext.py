"""parse_infotext / format_infotext against the spec (spec/prompt-syntax.md, "Infotext")."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdaug.prompts import format_infotext, parse_infotext
from tests.spec import SPEC_EXAMPLE

BASIC = {"Steps": "20", "Sampler": "Euler a", "CFG scale": "7", "Seed": "1", "Size": "512x512"}


def _params(parsed):
    return {k: v for k, v in parsed.items() if k not in ("Prompt", "Negative prompt")}


def test_spec_example_parses_into_exact_values():
    parsed = parse_infotext(SPEC_EXAMPLE)
    assert parsed == {
        "Prompt": "snowy,winter,(snowfall in background:1.2),(heavyfall:1.15),snow,very snowy,"
        "photorealistic,<lora:snowfall:0.8>,",
        "Negative prompt": "Unrealistic,",
        "Steps": "20",
        "Sampler": "DPM++ 2M Karras",
        "CFG scale": "7",
        "Seed": "712934690",
        "Size": "500x375",
        "Model hash": "fe7578cb5e",
        "Model": "realisticVisionV60B1_v60B1VAE",
        "VAE hash": "735e4c3a44",
        "VAE": "vae-ft-mse-840000-ema-pruned.safetensors",
        "Denoising strength": "0.34",
        "Clip skip": "2",
        "Lora hashes": "snowfall: f8324b7af7d9",
        "Version": "v1.6.0-2-g4afaaf8a",
        # Spec: v1.6.0-2 is below v1.7.0-225, so the image needs this flag to reproduce.
        "Downcast alphas_cumprod": "True",
    }
    assert list(parsed)[:2] == ["Prompt", "Negative prompt"]


def test_spec_example_reproduces_exactly():
    parsed = parse_infotext(SPEC_EXAMPLE)
    params = _params(parsed)
    del params["Downcast alphas_cumprod"]  # implied by the Version, not written in the example
    assert format_infotext(parsed["Prompt"], parsed["Negative prompt"], params) == SPEC_EXAMPLE
    # Written with the flag it reads back the same.
    with_flag = format_infotext(parsed["Prompt"], parsed["Negative prompt"], _params(parsed))
    assert with_flag.endswith(", Downcast alphas_cumprod: True, Version: v1.6.0-2-g4afaaf8a")
    assert parse_infotext(with_flag) == parsed


def test_crlf_reads_like_lf():
    assert parse_infotext(SPEC_EXAMPLE.replace("\n", "\r\n")) == parse_infotext(SPEC_EXAMPLE)


@pytest.mark.parametrize(
    ("text", "prompt", "negative"),
    [
        ("a cat\nNegative prompt: ugly\nSteps: 2, Seed: 1, Size: 8x8", "a cat", "ugly"),
        ("line 1\nline 2\nNegative prompt: n1\nn2\nSteps: 2, Seed: 1, Size: 8x8", "line 1\nline 2", "n1\nn2"),
        ("a Negative prompt: b\nSteps: 2, Seed: 1, Size: 8x8", "a Negative prompt: b", ""),
        ("Negative prompt: only neg\nSteps: 2, Seed: 1, Size: 8x8", "", "only neg"),
        ("just a prompt", "just a prompt", ""),
        ("", "", ""),
        # Fewer than 3 pairs: the last line is prompt text.
        ("a cat\nSteps: 2, Seed: 1", "a cat\nSteps: 2, Seed: 1", ""),
        ("a cat\nNegative prompt: dog\nSteps: 2", "a cat", "dog\nSteps: 2"),
        # Spec: every prompt and negative-prompt line is stripped; leading empty lines are dropped.
        ("  a cat  \n   Negative prompt:   ugly  \nSteps: 2, Seed: 1, Size: 8x8", "a cat", "ugly"),
        ("\n \n\ta\n\n  b \nSteps: 2, Seed: 1, Size: 8x8", "a\n\nb", ""),
        ("a\nNegative prompt:\n\n  x\n\ny  \nSteps: 2, Seed: 1, Size: 8x8", "a", "x\n\ny"),
        ("line 1   \n\tline 2\nNegative prompt: n1 \n n2\nSteps: 2, Seed: 1, Size: 8x8", "line 1\nline 2", "n1\nn2"),
        ("  \n  \n", "", ""),
    ],
)
def test_prompt_and_negative_prompt_lines(text, prompt, negative):
    parsed = parse_infotext(text)
    assert parsed["Prompt"] == prompt
    assert parsed["Negative prompt"] == negative


def test_parameters_line_values():
    line = 'Steps: 2, Model: "a, b", Note: "say \\"hi\\"", Bad: "not json\\x", Empty: , End: x  '
    parsed = parse_infotext("p\n" + line)
    assert parsed["Steps"] == "2"
    assert parsed["Model"] == "a, b"
    assert parsed["Note"] == 'say "hi"'
    assert parsed["Bad"] == '"not json\\x"'  # json.loads fails: the raw text is kept
    assert "Empty" not in parsed  # spec: a key with an empty value is dropped
    assert parsed["End"] == "x"


def test_unquoted_value_ends_at_first_comma():
    parsed = parse_infotext("p\nSteps: 2, Lora hashes: a: 1, b: 2, Seed: 3")
    assert parsed["Lora hashes"] == "a: 1"
    assert parsed["Seed"] == "3"


def test_template_lines_after_parameters():
    text = (
        "a red car\nNegative prompt: blurry\nSteps: 20, Sampler: Euler, Seed: 5, Size: 64x64\n"
        "Template: a {red|blue} car\nmore template\nNegative Template: blurry"
    )
    parsed = parse_infotext(text)
    assert parsed["Prompt"] == "a red car"
    assert parsed["Negative prompt"] == "blurry"
    assert parsed["Steps"] == "20"
    assert parsed["Size"] == "64x64"
    assert parsed["Template"] == "a {red|blue} car\nmore template"
    assert parsed["Negative Template"] == "blurry"


def test_format_order_and_quoting():
    params = {
        "Version": "v1",
        "My key": "x",
        "Clip skip": 2,
        "Lora hashes": "snow: 0123456789ab",
        "Size": "64x64",
        "Steps": 4,
        "Seed": 7,
        "Note": "two\nlines",
        "Skipped": None,
    }
    text = format_infotext("p", "", params)
    assert text == (
        'p\nSteps: 4, Seed: 7, Size: 64x64, Clip skip: 2, My key: x, Lora hashes: "snow: 0123456789ab", '
        'Note: "two\\nlines", Version: v1'
    )


def test_format_writes_non_ascii_unescaped():
    text = format_infotext("雪", "模糊", {**BASIC, "Model": "模型, 一"})
    assert 'Model: "模型, 一"' in text
    assert parse_infotext(text)["Model"] == "模型, 一"


@pytest.mark.parametrize("key", ["x", "a.b", "Prompt", "Negative prompt", "", " lead"])
def test_format_rejects_unreadable_keys(key):
    with pytest.raises(ValueError, match="key"):
        format_infotext("p", "", {**BASIC, key: "1"})


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "a, b",
        "k: v",
        "multi\nline",
        'with "quotes"',
        '"starts quoted"',
        " padded ",
        "a\\b",
        "雪, 夜",
    ],
)
def test_value_round_trip(value):
    params = {**BASIC, "Extra": value}
    assert _params(parse_infotext(format_infotext("p", "n", params))) == params


@pytest.mark.parametrize(
    ("prompt", "negative"),
    [
        ("multi\nline prompt", "multi\nline negative"),
        ("a, b: (c:1.2)", ""),
        ("", "neg only"),
        ("quotes \"x\" and 'y'", 'neg "z"'),
    ],
)
def test_prompt_round_trip(prompt, negative):
    parsed = parse_infotext(format_infotext(prompt, negative, BASIC))
    assert parsed["Prompt"] == prompt
    assert parsed["Negative prompt"] == negative
    assert _params(parsed) == BASIC


def test_empty_values_are_not_written_and_not_read():
    text = format_infotext("p", "", {**BASIC, "Extra": "", "Hires upscaler": "None"})
    assert "Extra" not in text
    assert "Extra" not in parse_infotext("p\nSteps: 2, Extra: , Seed: 1, Size: 8x8, Other:")


# What A1111 reads back as written: lines without surrounding whitespace (CR and other line
# breaks Python splits on excluded), no leading empty line, no "Negative prompt:" line start.
_line_text = st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")), max_size=30).map(str.strip)
_text = (
    st.lists(_line_text, max_size=3)
    .map("\n".join)
    .map(str.lstrip)
    .filter(lambda text: all(not line.startswith("Negative prompt:") for line in text.split("\n")))
)
_value = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9 _/-]{1,12}[A-Za-z0-9]", fullmatch=True).filter(
    lambda key: key not in ("Prompt", "Negative prompt", "Version", "Template", "Negative Template"))


@given(prompt=_text, negative=_text, extra=st.dictionaries(_keys, _value, max_size=4), value=_value,
       version=st.sampled_from(["sdaug 0.1.0", "v1.10.1", "v1.8.0-RC"]))
def test_round_trip_property(prompt, negative, extra, value, version):
    """Issue 13: whatever the writer writes is read back identically (spec "Infotext")."""
    params = {**BASIC, **extra, "Extra value": value, "Version": version}
    text = format_infotext(prompt, negative, params)
    parsed = parse_infotext(text)
    assert _params(parsed) == params
    assert parsed["Negative prompt"] == negative
    assert parsed["Prompt"] == prompt


@given(st.text(max_size=200))
def test_parse_never_fails(text):
    parsed = parse_infotext(text)
    assert isinstance(parsed["Prompt"], str)
    assert isinstance(parsed["Negative prompt"], str)
    assert all(isinstance(value, str) for value in parsed.values())


def test_quoted_value_is_json():
    text = format_infotext("p", "", {**BASIC, "ControlNet 0": 'Module: canny, Model: "x"'})
    line = text.split("\n")[-1]
    quoted = line[line.index("ControlNet 0: ") + len("ControlNet 0: ") :]
    assert json.loads(quoted) == 'Module: canny, Model: "x"'
