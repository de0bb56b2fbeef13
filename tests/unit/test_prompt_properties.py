"""Property tests: any text gives a result or a ValueError; plain text passes unchanged."""

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from sdaug.prompts import attention, expand_wildcards, extract_networks, schedules, split_and

SPECIAL = "()[]{}:|\\<>"
# Text made mostly of the syntax characters, so that malformed prompts are common.
TOKENS = [*SPECIAL, *"ab 0.5,$-", "AND", "BREAK", "lora"]
syntax_text = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=80), syntax_text)
plain_text = st.text(
    alphabet=st.characters(blacklist_characters=SPECIAL, blacklist_categories=("Cs",)), max_size=60
).filter(lambda text: "AND" not in text and "BREAK" not in text)


def _result_or_value_error(function, *args):
    try:
        return function(*args)
    except ValueError as error:
        assert str(error)
        return None


@settings(max_examples=300, deadline=None)
@given(text=any_text, steps=st.integers(1, 40))
def test_schedules_total(text, steps):
    result = _result_or_value_error(schedules, text, steps)
    if result is not None:
        ends = [end for end, _ in result]
        assert ends == sorted(set(ends))
        assert ends[-1] == steps and ends[0] >= 1
        assert all(isinstance(piece, str) for _, piece in result)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_attention_total(text):
    result = attention(text)
    assert result
    assert all(isinstance(piece, str) and isinstance(weight, float) for piece, weight in result)
    # Neighbours never share a weight (they would have merged), except BREAKs.
    for (_, left), (_, right) in pairwise(result):
        assert left != right or left == -1.0


@settings(max_examples=200, deadline=None)
@given(any_text)
def test_other_parsers_total(text):
    assert all(isinstance(weight, float) for _, weight in split_and(text))
    _result_or_value_error(extract_networks, text)
    assert isinstance(expand_wildcards(text, 1), str)


@settings(max_examples=200, deadline=None)
@given(text=plain_text, steps=st.integers(1, 40))
def test_plain_text_unchanged(text, steps):
    assert schedules(text, steps) == [(steps, text)]
    assert attention(text) == [(text, 1.0)]
    assert expand_wildcards(text, 7) == text
    assert extract_networks(text) == (text, [])
