"""Control images: canny with thresholds, none, and controlnet-aux types reported when missing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sdaug.engine.control import CONTROL_TYPES, available_control_types, make_control_image


def square() -> Image.Image:
    image = Image.new("RGB", (64, 48), (20, 20, 20))
    ImageDraw.Draw(image).rectangle([16, 12, 44, 36], fill=(230, 230, 230))
    return image


def test_canny_finds_the_edges_of_a_square() -> None:
    edges = np.asarray(make_control_image(square(), "canny"))
    assert edges.shape == (48, 64, 3)
    assert set(np.unique(edges)) == {0, 255}
    assert edges[11:14, 30].any() and not edges[24, 30].any() and not edges[2, 2].any()


def test_canny_thresholds_matter_and_are_checked() -> None:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 80, (48, 64, 3), dtype=np.uint8))
    loose = np.asarray(make_control_image(noisy, "canny", low_threshold=10, high_threshold=30)).sum()
    strict = np.asarray(make_control_image(noisy, "canny", low_threshold=200, high_threshold=250)).sum()
    assert loose > strict
    with pytest.raises(ValueError, match="high_threshold must be from 0 to 255, got 300"):
        make_control_image(noisy, "canny", high_threshold=300)
    with pytest.raises(ValueError, match=r"low_threshold \(120\) must not be above high_threshold \(100\)"):
        make_control_image(noisy, "canny", low_threshold=120, high_threshold=100)


def test_none_uses_the_image_as_given() -> None:
    image = square().convert("L")
    assert np.array_equal(np.asarray(make_control_image(image, "none")), np.asarray(image.convert("RGB")))


def test_availability_is_reported_not_raised() -> None:
    available = available_control_types()
    assert tuple(available) == CONTROL_TYPES
    assert available["canny"] is None and available["none"] is None
    for kind in ("depth", "lineart", "softedge"):
        reason = available[kind]
        if reason is not None:
            assert "pip install 'sdaug[gpu]'" in reason
            with pytest.raises(ValueError, match=f"control type '{kind}' is not available"):
                make_control_image(square(), kind)


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="control type must be one of canny, none, depth"):
        make_control_image(square(), "scribble")
