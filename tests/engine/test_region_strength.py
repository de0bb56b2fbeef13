"""Region-aware strength: boxes denoised less than the background; equal strengths = img2img."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sdaug.engine.region import RegionStrength, box_mask, strength_map
from sdaug.engine.request import GenerationRequest
from sdaug.engine.run import run
from sdaug.prompts import parse_infotext

BOX = (16.0, 16.0, 48.0, 40.0)


def request(**fields: object) -> GenerationRequest:
    values: dict[str, object] = {"model": "tiny", "mode": "img2img", "prompt": "heavy fog", "steps": 5,
                                 "sampler": "Euler", "width": 64, "height": 64, "seed": 3}
    values.update(fields)
    return GenerationRequest(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((64, 64), Image.Resampling.BICUBIC)


def test_mask_is_one_inside_and_ramps_to_zero_over_the_feather() -> None:
    mask = box_mask((64, 64), [BOX], feather=8)
    assert mask[20:40, 16:48].min() == 1.0
    assert mask[28, 16 - 4] == pytest.approx(0.5, abs=0.05)  # half way through the ramp
    assert mask[28, 0:7].max() == 0.0 and mask[0:7, 0:7].max() == 0.0


def test_strength_map_is_exact_at_both_ends() -> None:
    strength = strength_map((64, 64), [BOX], RegionStrength(0.1, 0.7, feather=4))
    assert strength[30, 30] == 0.1 and strength[0, 0] == 0.7


@pytest.mark.parametrize("sampler", ["Euler", "DDIM", "DPM++ 2M"])
def test_equal_strengths_reproduce_plain_img2img_pixel_for_pixel(manager, photo, sampler: str) -> None:
    plain = run(request(sampler=sampler, init_images=[photo], denoising_strength=0.5), manager)
    same = run(request(sampler=sampler, init_images=[photo], box_strength=0.5, background_strength=0.5,
                       region_boxes=[[BOX]]), manager)
    assert np.array_equal(np.asarray(plain.images[0]), np.asarray(same.images[0]))


@pytest.fixture
def latents(manager, monkeypatch):
    """The latents each run decodes (the tiny model's random VAE mixes pixels, so compare these)."""
    seen: list[torch.Tensor] = []
    vae = manager.pipeline("txt2img", "tiny").vae
    decode = vae.decode

    def spy(latent: torch.Tensor, *args: object, **kwargs: object) -> object:
        seen.append(latent.detach().clone())
        return decode(latent, *args, **kwargs)

    monkeypatch.setattr(vae, "decode", spy)
    return seen


def latent_box(shape: torch.Size, box: tuple[float, ...]) -> np.ndarray:
    scale = 64 / shape[-1]
    return box_mask((shape[-1], shape[-2]), [tuple(c / scale for c in box)]) > 0


@pytest.mark.parametrize("mode", ["img2img", "controlnet"])
def test_boxes_change_less_than_the_background(manager, photo, latents, mode: str) -> None:
    boxes = [[BOX], [(0, 0, 24, 24)]]
    common = {"mode": mode, "init_images": [photo, photo], "batch_size": 2, "box_feather": 0, "region_boxes": boxes}
    # Strength 0 in the boxes: there the source latents themselves.
    run(request(box_strength=0.0, background_strength=0.2, **common), manager)
    result = run(request(box_strength=0.1, background_strength=0.8, **common), manager)
    source, varied = latents
    for index, (box,) in enumerate(boxes):
        inside = torch.from_numpy(latent_box(source.shape, box))
        delta = (varied[index] - source[index]).abs().mean(0)
        assert delta[inside].mean() < 0.2 * delta[~inside].mean()
    params = parse_infotext(result.infotexts[0])
    assert (params["Box strength"], params["Background strength"], params["Box feather"]) == ("0.1", "0.8", "0")


def test_zero_box_strength_keeps_the_source_latent(manager, photo, latents) -> None:
    for background in (0.2, 0.9):
        run(request(init_images=[photo], box_strength=0.0, background_strength=background, box_feather=0,
                    region_boxes=[[BOX]]), manager)
    source, varied = latents  # inside the box both are the source latents
    inside = torch.from_numpy(latent_box(source.shape, BOX))
    assert torch.equal(varied[0][:, inside], source[0][:, inside])
    assert not torch.equal(varied[0][:, ~inside], source[0][:, ~inside])


@pytest.mark.parametrize(("fields", "message"), [
    ({"box_strength": 1.5}, "box_strength must be a number from 0 to 1"),
    ({"box_strength": 0.1, "region_boxes": [[BOX], [BOX], [BOX]]}, "one list per input image"),
    ({"box_strength": 0.1, "region_boxes": [[(5, 5, 1, 9)]]}, "x0 < x1"),
    ({"background_strength": 0.3}, "background_strength needs box_strength"),
    ({"box_strength": 0.1, "box_feather": -1}, "box feather"),
])
def test_bad_region_fields_are_refused(photo, fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request(init_images=[photo], **fields).validate()
