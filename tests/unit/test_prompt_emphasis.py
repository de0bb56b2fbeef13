"""attention(): emphasis weights and BREAK (spec: "Emphasis")."""

import pytest

from sdaug.prompts import attention

W = 1 / 1.1

CASES = [
    # Spec examples: exact float products, not rounded.
    ("((x))", [("x", 1.2100000000000002)]),
    ("[[x]]", [("x", 0.8264462809917354)]),
    ("(unnecessary)(parens)", [("unnecessaryparens", 1.1)]),
    ("(a:b)", [("a:b", 1.1)]),
    ("", [("", 1.0)]),
    # One rule each.
    ("plain text", [("plain text", 1.0)]),
    ("a (b) c", [("a ", 1.0), ("b", 1.1), (" c", 1.0)]),
    ("a [b] c", [("a ", 1.0), ("b", W), (" c", 1.0)]),
    ("(b:1.5)", [("b", 1.5)]),
    ("(b: 0.5 )", [("b", 0.5)]),
    ("(b:.5)", [("b", 0.5)]),
    ("(b:-1)", [("b", -1.0)]),
    ("((b:1.5))", [("b", 1.5 * 1.1)]),
    ("[(b:2)]", [("b", 2 * W)]),
    ("(a (b) c)", [("a ", 1.1), ("b", 1.1 * 1.1), (" c", 1.1)]),
    # Escapes are literal characters.
    ("\\(a\\)", [("(a)", 1.0)]),
    ("\\[a\\]", [("[a]", 1.0)]),
    ("a\\\\b", [("a\\b", 1.0)]),
    ("(\\(x\\))", [("(x)", 1.1)]),
    # Free choice: a lone backslash before another character is dropped.
    ("a\\b", [("ab", 1.0)]),
    ("end\\", [("end", 1.0)]),
    # Unmatched closers are literal; unclosed openers apply to the end.
    ("a)b]c", [("a)b]c", 1.0)]),
    ("(unclosed", [("unclosed", 1.1)]),
    ("a [unclosed", [("a ", 1.0), ("unclosed", W)]),
    ("((x", [("x", 1.1 * 1.1)]),
    # A weight without an open "(" is text; a bad number leaves ":" as text.
    ("x:1.2)", [("x:1.2)", 1.0)]),
    ("(a:1.2.3)", [("a:1.2.3", 1.1)]),
    ("(a:)", [("a:", 1.1)]),
    # BREAK: whole upper-case word, surrounding whitespace eaten, never merged.
    ("a BREAK b", [("a", 1.0), ("BREAK", -1), ("b", 1.0)]),
    ("a\nBREAK\nb", [("a", 1.0), ("BREAK", -1), ("b", 1.0)]),
    ("BREAK", [("BREAK", -1)]),
    ("a BREAK BREAK b", [("a", 1.0), ("BREAK", -1), ("BREAK", -1), ("b", 1.0)]),
    ("a break b BREAKfast", [("a break b BREAKfast", 1.0)]),
    # Spec: inside brackets the weight of BREAK is multiplied like any piece's (then it is text).
    ("(a BREAK b)", [("a", 1.1), ("BREAK", -1.1), ("b", 1.1)]),
    ("[a BREAK b]", [("a", W), ("BREAK", -W), ("b", W)]),
    ("(a BREAK b:2)", [("a", 2.0), ("BREAK", -2.0), ("b", 2.0)]),
    ("x (BREAK) y", [("x ", 1.0), ("BREAK", -1.1), (" y", 1.0)]),
    # A weight of exactly -1 on text is a weight, not a BREAK.
    ("(cat:-1)", [("cat", -1.0)]),
    ("a (cat:-1) BREAK b", [("a ", 1.0), ("cat", -1.0), ("BREAK", -1.0), ("b", 1.0)]),
    # Equal weights merge, BREAK included: only weight 0 makes a BREAK equal to its neighbours.
    ("(a BREAK b:0)", [("aBREAKb", 0.0)]),
    # A colon outside "(...)" is text.
    ("a: b", [("a: b", 1.0)]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_attention(text, expected):
    assert attention(text) == expected


def test_weights_are_floats():
    for _, weight in attention("a (b:2) BREAK [c]"):
        assert isinstance(weight, float)


def test_a1111_style_mixture():
    assert attention("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
        ("a ", 1.0),
        ("house", 1.3 * 1.1 * 1.1),
        (" ", 1.1),
        ("on", 1.1 * W),
        (" a ", 1.1),
        ("hill", 0.55),
        (", sun, ", 1.1),
        ("sky", 1.1 * 1.1 * 1.1 * 1.1),
        (".", 1.1),
    ]
