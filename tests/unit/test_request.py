import re

import pytest
from PIL import Image

from sdaug.engine.request import GenerationRequest


def test_seed_minus_one_is_resolved_and_recorded() -> None:
    request = GenerationRequest(seed=-1, batch_size=2, batch_count=2)
    seeds = request.image_seeds()
    assert request.seed != -1
    assert seeds == [request.seed + i for i in range(4)]
    assert request.image_seeds() == seeds


def test_explicit_seeds_win() -> None:
    request = GenerationRequest(seed=5, batch_size=2, seeds=[11, 3])
    request.validate()
    assert request.image_seeds() == [11, 3]


@pytest.mark.parametrize(("width", "height", "work"), [(500, 375, (504, 376)), (512, 512, (512, 512)), (9, 3, (8, 8))])
def test_work_size_is_nearest_multiple_of_eight(width: int, height: int, work: tuple[int, int]) -> None:
    assert GenerationRequest(width=width, height=height).work_size == work


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mode": "inpaint"}, "mode must be one of txt2img, img2img, controlnet"),
        ({"steps": 0}, "steps must be from 1 to 150, got 0"),
        ({"steps": 2.5}, "steps must be a whole number"),
        ({"cfg_scale": 31}, "cfg_scale must be from 0.0 to 30.0"),
        ({"denoising_strength": 1.5}, "denoising_strength must be from 0.0 to 1.0"),
        ({"seed": -2}, "seed must be -1"),
        ({"control_start": 0.8, "control_end": 0.2}, "control_start"),
        ({"mode": "img2img"}, "img2img needs an input image"),
        ({"mode": "controlnet"}, "controlnet needs a control image"),
        ({"batch_size": 2, "seeds": [1]}, "seeds lists 1 seeds for 2 images"),
        ({"steps": "20"}, "steps must be a number"),
    ],
)
def test_validation_names_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GenerationRequest(**fields).validate()


def test_init_images_count_must_match_batch() -> None:
    images = [Image.new("RGB", (8, 8))] * 3
    with pytest.raises(ValueError, match="init_images holds 3 images"):
        GenerationRequest(mode="img2img", init_images=images, batch_size=2).validate()
    GenerationRequest(mode="img2img", init_images=images[:2], batch_size=2).validate()


@pytest.mark.parametrize(("steps", "strength", "expected"), [(2, 0.4, 0.5), (20, 0.35, 0.35), (10, 0.0, 0.1)])
def test_sampling_strength_runs_at_least_one_step(steps: int, strength: float, expected: float) -> None:
    request = GenerationRequest(steps=steps, denoising_strength=strength)
    assert request.sampling_strength == pytest.approx(expected)
    assert int(request.steps * request.sampling_strength) >= 1


def test_numbers_are_converted_once_at_the_request() -> None:
    # What sliders and JSON send: whole numbers for float fields, floats for int fields.
    request = GenerationRequest(mode="controlnet", control_image=Image.new("RGB", (8, 8)), control_weight=1,
                                cfg_scale=7, denoising_strength=1, control_start=0, control_end=1, steps=20.0,
                                width=64.0, height=64.0, batch_size=2.0, batch_count=1.0, clip_skip=2.0, seed=5.0,
                                seeds=[3.0, 4])
    request.validate()
    for name in ("control_weight", "cfg_scale", "denoising_strength", "control_start", "control_end"):
        assert type(getattr(request, name)) is float, name
    for name in ("steps", "width", "height", "batch_size", "batch_count", "clip_skip", "seed"):
        assert type(getattr(request, name)) is int, name
    assert request.seeds == [3, 4] and all(type(seed) is int for seed in request.seeds)


def test_numpy_numbers_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    request = GenerationRequest(steps=np.int64(4), cfg_scale=np.float32(6.5))
    request.validate()
    assert (type(request.steps), type(request.cfg_scale)) == (int, float)
    assert request.cfg_scale == 6.5


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"control_weight": True}, "control_weight must be a number, got True"),
        ({"cfg_scale": "7"}, "cfg_scale must be a number, got '7'"),
        ({"width": float("nan")}, "width must be a whole number from 8 to 4096, got nan"),
        ({"seed": 1.5}, "seed must be a whole number from -1 to 4294967295, got 1.5"),
        ({"batch_size": 2, "seeds": [1, 2.5]}, "seeds must be a whole number from 0 to 4294967295, got 2.5"),
        ({"prompt": None}, "prompt must be text, got None"),
        ({"sampler": 3}, "sampler must be text, got 3"),
    ],
)
def test_bad_types_name_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        GenerationRequest(**fields).validate()
