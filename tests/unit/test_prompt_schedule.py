"""schedules(): prompt editing and alternation (spec: "Prompt editing and alternation")."""

import pytest

from sdaug.prompts import schedules

CASES = [
    # Spec examples.
    ("a[b:[c:d:2]:1]e", 10, [(1, "abe"), (2, "ace"), (10, "ade")]),
    ("[(a:2):3]", 10, [(3, ""), (10, "(a:2)")]),
    ("[a:b:0.5]", 10, [(5, "a"), (10, "b")]),
    ("[a:b:1]", 10, [(1, "a"), (10, "b")]),
    ("[a:b:1.0]", 10, [(10, "a")]),
    ("[a:b:c]", 10, [(10, "[a:b:c]")]),
    ("[fe|]male", 4, [(1, "female"), (2, "male"), (3, "female"), (4, "male")]),
    # [to:when] and [from::when].
    ("a [dog:3] b", 5, [(3, "a  b"), (5, "a dog b")]),
    ("a [dog::3] b", 5, [(3, "a dog b"), (5, "a  b")]),
    # Fractions: int(when * steps); absolute steps clamp to steps; <= 0 already switched.
    ("[a:b:0.25]", 10, [(2, "a"), (10, "b")]),
    ("[a:b:.5]", 4, [(2, "a"), (4, "b")]),
    ("[a:b:25]", 10, [(10, "a")]),
    ("[a:b:0]", 10, [(10, "b")]),
    ("[a:b:-3]", 10, [(10, "b")]),
    ("[a:b:0.01]", 10, [(10, "b")]),
    ("[a:b:1e400]", 10, [(10, "a")]),
    # Spaces around the number are allowed and dropped; spaces in the texts are kept.
    ("[ a : b : 2 ]", 4, [(2, " a "), (4, " b ")]),
    # Alternation: option (k - 1) % n at step k; alternation inside editing and emphasis.
    ("[cat|dog|cow]", 4, [(1, "cat"), (2, "dog"), (3, "cow"), (4, "cat")]),
    ("[[a|b]:c:2]", 3, [(1, "a"), (2, "b"), (3, "c")]),
    ("([a|b])", 2, [(1, "(a)"), (2, "(b)")]),
    # Emphasis stays literal text, and its ":" does not end an edit.
    ("(x:[a:b:2])", 4, [(2, "(x:a)"), (4, "(x:b)")]),
    ("[(a:1.2):(b:0.8):2] c", 3, [(2, "(a:1.2) c"), (3, "(b:0.8) c")]),
    ("[x] (y) (z:1.5)", 3, [(3, "[x] (y) (z:1.5)")]),
    # Escaped brackets are plain text, copied with their backslash.
    ("\\[a:b:1\\]", 4, [(4, "\\[a:b:1\\]")]),
    ("\\([a:b:1]\\)", 4, [(1, "\\(a\\)"), (4, "\\(b\\)")]),
    # Stray brackets and colons at the top level are literal; the rest still schedules.
    ("[a:[b:c:1]", 4, [(1, "[a:b"), (4, "[a:c")]),
    ("(a:b:c) [x:y:2]", 4, [(2, "(a:b:c) x"), (4, "(a:b:c) y")]),
    ("a] b) c: [d:e:1]", 2, [(1, "a] b) c: d"), (2, "a] b) c: e")]),
    # Not parsing as a whole: returned unchanged.
    ("a | b", 5, [(5, "a | b")]),
    ("[a:b:1] (x|y)", 5, [(5, "[a:b:1] (x|y)")]),
    ("[a:b:1] \\", 5, [(5, "[a:b:1] \\")]),
    ("[a:b", 5, [(5, "[a:b")]),
    # Plain text, empty text.
    ("a photo of a cat, 4k", 20, [(20, "a photo of a cat, 4k")]),
    ("", 3, [(3, "")]),
    # AND and BREAK are not special here.
    ("a AND [b:c:1] BREAK d", 2, [(1, "a AND b BREAK d"), (2, "a AND c BREAK d")]),
]


@pytest.mark.parametrize(("prompt", "steps", "expected"), CASES)
def test_schedules(prompt, steps, expected):
    assert schedules(prompt, steps) == expected


def test_nested_edits_collect_every_step():
    # Steps of edits inside an inactive branch are still boundaries (as in A1111).
    assert schedules("[[a:b:3]:c:1]", 5) == [(1, "a"), (3, "c"), (5, "c")]


@pytest.mark.parametrize("steps", [0, -1, 2.5, True, "10"])
def test_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        schedules("a", steps)


def test_deep_nesting_is_a_value_error_with_position():
    with pytest.raises(ValueError, match="position"):
        schedules("[" * 500 + "a", 10)


def test_long_prompt_is_fast():
    prompt = "[a:b:3] (x:1.2) [c|d], " * 500
    result = schedules(prompt, 30)
    assert len(result) == 30
    assert result[0][1].startswith("a (x:1.2) c, ")
