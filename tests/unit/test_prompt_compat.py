"""A1111's compatibility flags from an infotext's Version (issue 13 item 1; spec "Infotext":
"Compatibility flags from Version"), and the old prompt-editing timelines they switch on."""

import pytest

from sdaug.prompts import parse_infotext, schedules
from sdaug.prompts.compat import parse_version, version_flags

OLD = "Old prompt editing timelines"
PAD = "Pad conds v0"
DOWNCAST = "Downcast alphas_cumprod"
REFINER = "Refiner switch by sampling steps"


@pytest.mark.parametrize(
    ("prompt", "line", "flags"),
    [
        # Expected flags from the spec's four rules.
        ("a cat", "Version: v1.6.0-2-g4afaaf8a", [DOWNCAST]),  # the spec's example
        ("a [cat:dog:0.5]", "Version: v1.6.0-2-g4afaaf8a", [DOWNCAST]),  # 1.6.0.post2 is not below 1.6.0
        ("a [cat:dog:0.5]", "Version: v1.5.2", [OLD, DOWNCAST]),
        ("a cat", "Version: v1.5.2", [DOWNCAST]),
        ("a cat", "Sampler: DDIM, Version: v1.5.1", [PAD, DOWNCAST]),
        ("[a|b]", "Sampler: PLMS, Version: 1.4.0", [OLD, PAD, DOWNCAST]),
        ("a cat", "Sampler: DDIM, Version: v1.6.0", [DOWNCAST]),
        ("a cat", "Version: v1.7.0", [DOWNCAST]),  # 1.7.0 < 1.7.0.post225
        ("a cat", "Version: v1.7.0-224-g12345678", [DOWNCAST]),
        ("a cat", "Version: v1.7.0-225-g12345678", []),
        ("a cat", "Version: v1.7.0-RC-5-gf92d6149", [DOWNCAST]),  # v1.7.0-RC: a pre-release
        ("a cat", "Refiner: sdxl_refiner, Version: v1.7.0-300-gabc", [REFINER]),
        ("a cat", "Refiner: sdxl_refiner, Version: v1.8.0", []),
        ("a cat", "Version: v1.10.1", []),
        ("a [x]", "Version: sdaug 0.1.0", []),  # not an A1111 version
        ("a cat", "Version: f2.0.1v1.10.1-previous-313-g8a042934", []),  # Forge: does not parse
        ("a [cat:dog:0.5]", "Sampler: DDIM, CFG scale: 7", []),  # no Version, no flag
    ],
)
def test_version_flags(prompt, line, flags):
    params = parse_infotext(f"{prompt}\nSteps: 20, Seed: 1, {line}")
    assert version_flags(params) == flags
    assert [flag for flag in (OLD, PAD, DOWNCAST, REFINER) if params.get(flag) == "True"] == flags


def test_a_flag_written_in_the_infotext_stays_as_written():
    params = parse_infotext("a\nSteps: 20, Seed: 1, Downcast alphas_cumprod: False, Version: v1.6.0")
    assert params[DOWNCAST] == "False"


@pytest.mark.parametrize(
    ("text", "version"),
    [("v1.6.0-2-g4afaaf8a", "1.6.0.post2"), ("v1.10.1", "1.10.1"), ("1.5.0", "1.5.0"), ("", None), ("sdaug 0.1", None)],
)
def test_parse_version(text, version):
    parsed = parse_version(text)
    assert (str(parsed) if parsed else None) == version


@pytest.mark.parametrize(
    ("prompt", "new", "old"),
    [
        # Spec: old timelines read a `when` below 1 as a fraction and 1 or more as a step.
        ("[a:b:1.0]", [(10, "a")], [(1, "a"), (10, "b")]),
        ("[a:b:2.0]", [(10, "a")], [(2, "a"), (10, "b")]),
        ("[a:b:0.5]", [(5, "a"), (10, "b")], [(5, "a"), (10, "b")]),
        ("[a:b:3]", [(3, "a"), (10, "b")], [(3, "a"), (10, "b")]),
        ("[a:b:0]", [(10, "b")], [(10, "b")]),
        ("[a:b:0.05]", [(10, "b")], [(10, "b")]),
        ("x[:y:1.5]", [(10, "x")], [(1, "x"), (10, "xy")]),
    ],
)
def test_old_prompt_editing_timelines(prompt, new, old):
    assert schedules(prompt, 10) == new
    assert schedules(prompt, 10, old_timelines=True) == old
