"""split_and(), extract_networks(), unknown_networks(), expand_wildcards()."""

import pytest

from sdaug.prompts import ExtraNetwork, expand_wildcards, extract_networks, split_and, unknown_networks


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a cat AND a dog", [("a cat", 1.0), ("a dog", 1.0)]),
        ("a cat:1.5 AND a dog:0.5", [("a cat", 1.5), ("a dog", 0.5)]),
        ("photo of cat:2", [("photo of cat", 2.0)]),  # the weight rule without AND
        ("cat : 2.", [("cat", 2.0)]),
        ("cat:.5", [("cat", 0.5)]),
        ("cat:-1", [("cat", -1.0)]),
        ("(cat:1.2)", [("(cat:1.2)", 1.0)]),  # emphasis, not a part weight
        ("[a:b:2]", [("[a:b:2]", 1.0)]),
        ("a:b", [("a:b", 1.0)]),
        ("ANDROID and ANDes", [("ANDROID and ANDes", 1.0)]),
        ("AND a", [("", 1.0), ("a", 1.0)]),
        ("", [("", 1.0)]),
        ("x AND y:3 AND z", [("x", 1.0), ("y", 3.0), ("z", 1.0)]),
    ],
)
def test_split_and(prompt, expected):
    assert split_and(prompt) == expected


def test_extract_networks_spec_example():
    prompt = "snowy,winter,(snowfall in background:1.2),<lora:snowfall:0.8>,"
    text, networks = extract_networks(prompt)
    assert text == "snowy,winter,(snowfall in background:1.2),,"
    assert networks == [ExtraNetwork("lora", "snowfall", ("0.8",))]
    assert networks[0].te_weight == 0.8
    assert networks[0].tag == "<lora:snowfall:0.8>"


@pytest.mark.parametrize(
    ("prompt", "text", "tags", "weights"),
    [
        ("<lora:a>", "", ["<lora:a>"], [1.0]),
        ("x <lora:a:0.5> y <lora:b:1>", "x  y ", ["<lora:a:0.5>", "<lora:b:1>"], [0.5, 1.0]),
        ("<lora:a:te=0.3:unet=1>", "", ["<lora:a:te=0.3:unet=1>"], [0.3]),
        ("<lora:a:0.5:0.7>", "", ["<lora:a:0.5:0.7>"], [0.5]),
        ("<lora: spaced : 0.5 >", "", ["<lora: spaced : 0.5 >"], [0.5]),  # the name keeps its spaces
        ("no tags <here> or <a b:c>", "no tags <here> or <a b:c>", [], []),
        ("(<lora:a:2>:1.2)", "(:1.2)", ["<lora:a:2>"], [2.0]),
    ],
)
def test_extract_networks(prompt, text, tags, weights):
    result, networks = extract_networks(prompt)
    assert result == text
    assert [network.tag for network in networks] == tags
    assert [network.te_weight for network in networks] == weights


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("a <lora:snow:abc>", r"<lora:snow:abc>: weight 'abc' is not a number.*at position 2"),
        ("<lora:snow:1:x>", r"<lora:snow:1:x>: weight 'x'"),
        ("<lora:snow:unet=>", "weight ''"),
        ("<lyco::1>", "no name"),
        ("<lora: :1>", "no name"),
        ("<lora:snow:inf>", "weight 'inf'"),
        ("<lora::0.5>", "no name"),
        ("<lora:snow:te=x>", "weight 'x'"),
    ],
)
def test_extract_networks_bad_lora(prompt, message):
    with pytest.raises(ValueError, match=message):
        extract_networks(prompt)


@pytest.mark.parametrize(
    ("tag", "kind", "name", "te", "unet", "dyn"),
    [
        # Spec "Extra-network arguments": NAME:TE:UNET:DYN or te= / unet= / dyn=; UNET defaults to TE.
        ("<lora:a>", "lora", "a", 1.0, 1.0, None),
        ("<lora:a:0.8>", "lora", "a", 0.8, 0.8, None),
        ("<lora:a:1:2>", "lora", "a", 1.0, 2.0, None),
        ("<lora:a:0.5:0.25:8>", "lora", "a", 0.5, 0.25, "8"),
        ("<lora:a:unet=2>", "lora", "a", 1.0, 2.0, None),
        ("<lora:a:te=0.3>", "lora", "a", 0.3, 0.3, None),
        ("<lora:a:te=0.3:unet=1>", "lora", "a", 0.3, 1.0, None),
        ("<lora:a:0.7:unet=0.2>", "lora", "a", 0.7, 0.2, None),
        ("<lora:a:1:dyn=16>", "lora", "a", 1.0, 1.0, "16"),
        ("<lyco:b:0.6>", "lyco", "b", 0.6, 0.6, None),  # lyco is another name for lora
        ("<lora: x :0.8>", "lora", " x ", 0.8, 0.8, None),  # another file than "x"
        ("<lora:a: 0.5 >", "lora", "a", 0.5, 0.5, None),
        ("<lora:my lora:1>", "lora", "my lora", 1.0, 1.0, None),
    ],
)
def test_lora_arguments(tag, kind, name, te, unet, dyn):
    text, (network,) = extract_networks(f"x {tag} y")
    assert text == "x  y"
    assert (network.kind, network.name, network.is_lora) == (kind, name, True)
    assert (network.te_weight, network.unet_weight, network.dyn) == (te, unet, dyn)
    assert network.tag == tag


def test_unknown_networks_are_reported_not_dropped():
    text, networks = extract_networks("a <hypernet:h:0.5> b <lora:l:1> <foo:bar:baz> <hypernet:h:0.5>")
    assert text == "a  b   "
    assert [network.kind for network in networks] == ["hypernet", "lora", "foo", "hypernet"]
    assert unknown_networks(networks) == ["<hypernet:h:0.5>", "<foo:bar:baz>"]
    assert unknown_networks(networks, known=("lora", "hypernet")) == ["<foo:bar:baz>"]
    with pytest.raises(ValueError, match="not a number"):
        _ = networks[2].te_weight  # unknown kinds are not checked until asked


@pytest.mark.parametrize(
    ("prompt", "allowed"),
    [
        ("{a|b|c}", {"a", "b", "c"}),
        ("x {a|b} y", {"x a y", "x b y"}),
        ("{2$$a|b|c}", {"a, b", "b, a", "a, c", "c, a", "b, c", "c, b"}),
        ("{1-2$$a|b}", {"a", "b", "a, b", "b, a"}),
        ("{5$$a|b}", {"a, b", "b, a"}),
        ("{0$$a|b}", {""}),
        ("{a|{b|c}}", {"a", "b", "c"}),
        ("{{x|y} z|w}", {"x z", "y z", "w"}),
        ("{[a|b]|c}", {"[a|b]", "c"}),
        ("{a|}", {"a", ""}),
        ("{}", {""}),
        ("{single}", {"single"}),
        ("\\{a|b\\}", {"\\{a|b\\}"}),
        ("{a\\|b|c}", {"a\\|b", "c"}),
        ("{a|b", {"{a|b"}),
        ("a}b|c", {"a}b|c"}),
    ],
)
def test_expand_wildcards(prompt, allowed):
    results = {expand_wildcards(prompt, seed) for seed in range(40)}
    assert results <= allowed
    if len(allowed) > 1 and "$$" not in prompt:
        assert len(results) > 1  # the seed changes the choice


def test_expand_wildcards_repeats_with_the_same_seed():
    prompt = "{red|green|blue} car, {2$$rain|snow|fog|dusk}, {a|{b|c|d}}"
    assert expand_wildcards(prompt, 123) == expand_wildcards(prompt, 123)
    assert len({expand_wildcards(prompt, seed) for seed in range(20)}) > 1


def test_expand_wildcards_picks_distinct_options():
    for seed in range(30):
        picked = expand_wildcards("{3$$a|b|c|d}", seed).split(", ")
        assert len(picked) == len(set(picked)) == 3
